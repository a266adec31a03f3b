"""Docket end to end in Debian's Chromium: the API and web in threads, a real worker process, on loopback.

The stack is started once per module on a fresh database; each test gets its own browser context (its
own cookies), and signs up its own users, so tests do not see each other's documents.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from apikit import api_settings
from servers import ThreadedServer, worker_process

# browserkit (next to this file) holds the helpers the tests import; webkit is in tests/support
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browserkit import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Stack
from webkit import web_settings

from docket_api.app import create_app as create_api
from docket_web.app import create_app as create_web


@pytest.fixture(scope="module")
def stack(make_database: Callable[[bool], str], redis_url: str) -> Iterator[Stack]:
    """API, worker and web on loopback, on a database of their own."""
    database = make_database(True)
    flush: Any = redis.Redis.from_url(redis_url)
    flush.flushdb()
    flush.close()
    settings = api_settings(database, redis_url, trusted_proxies=("127.0.0.1/32",))
    with (
        ThreadedServer(create_api(settings)) as api,
        worker_process(database, redis_url, WORKER_EXTRACT_TIMEOUT_SECONDS="20"),
        ThreadedServer(create_web(web_settings(api.url, redis_url))) as web,
    ):
        yield Stack(web=web.url, api=api.url, redis_url=redis_url)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium: Any, stack: Stack) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh context (its own cookies); console errors and CSP reports fail the test."""
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page(**options: Any) -> Any:
        context = chromium.new_context(
            base_url=stack.web, viewport={"width": 1200, "height": 860}, accept_downloads=True, **options
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()
    csp = [text for text in problems if "Content Security Policy" in text or "Refused to" in text]
    assert not csp, f"the CSP blocked something: {csp}"
    crashes = [text for text in problems if "Uncaught" in text or "Error:" in text]
    assert not crashes, f"script errors: {crashes}"


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot under tests/artifacts/browser/ (gitignored), on every run."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):  # this run's pictures only
        old.unlink()

    def take(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
