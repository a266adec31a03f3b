"""What start-up built is frozen out of the garbage collector's full collections (issue #16's tail):
a full collection of the API's start-up heap took 155 ms of CPU with the event loop stopped."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import httpx
import pytest

from docket_core.startup_heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Start from an empty permanent generation, and leave one behind (the freeze is process-wide)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def _collected_generations() -> list[object]:
    return gc.get_objects()  # generations 0-2: what collections traverse; frozen objects are not in it


def test_objects_alive_when_the_api_has_started_are_left_out_of_collections(
    unfrozen: None, serve_api: Callable[[], str]
) -> None:
    built_before = {"a start-up structure": ["that a full collection would traverse"]}
    assert any(obj is built_before for obj in _collected_generations())
    url = serve_api()
    assert gc.get_freeze_count() > 0
    assert not any(obj is built_before for obj in _collected_generations())
    # and what the API allocates afterwards is collected as usual
    assert httpx.get(f"{url.management}/healthz", timeout=10).status_code == 200  # type: ignore[attr-defined]
    built_after = {"a request's structure": []}
    assert any(obj is built_after for obj in _collected_generations())


class _Node:
    other: _Node


def test_start_up_garbage_is_collected_before_the_freeze(unfrozen: None) -> None:
    first, second = _Node(), _Node()
    first.other, second.other = second, first  # a cycle: only a collection frees it
    watched = weakref.ref(first)
    del first, second
    assert watched() is not None
    freeze_startup_heap()
    assert watched() is None, "start-up garbage is freed, not frozen for the life of the process"
