"""The web's settings: safe defaults, and production refuses to start without its own secrets."""

from __future__ import annotations

import pytest

from docket_core.settings import SettingsError, load_settings
from docket_web.settings import DEV_CSRF_SECRET, WebSettings

PROD = {"ENVIRONMENT": "production"}
STRONG = "k" * 40


def test_local_defaults_need_no_set_up() -> None:
    settings = load_settings(WebSettings, {})
    assert settings.port == 8080
    assert settings.csrf_signing_secret == DEV_CSRF_SECRET
    assert not settings.secure_cookies
    assert settings.trusted_proxies == ()


@pytest.mark.parametrize("secret", ["", "short", DEV_CSRF_SECRET])
def test_production_refuses_a_missing_or_weak_csrf_secret_and_names_it(secret: str) -> None:
    with pytest.raises(SettingsError, match="CSRF_SECRET"):
        load_settings(WebSettings, {**PROD, "CSRF_SECRET": secret})


def test_production_with_a_strong_secret_starts_with_secure_cookies() -> None:
    settings = load_settings(
        WebSettings, {**PROD, "CSRF_SECRET": STRONG, "TRUSTED_PROXIES": "10.0.0.0/8, ::1"}
    )
    assert settings.secure_cookies
    assert settings.csrf_signing_secret == STRONG
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")
    assert load_settings(WebSettings, {"ENVIRONMENT": "staging", "CSRF_SECRET": STRONG}).secure_cookies


@pytest.mark.parametrize("secret", ["", "short", DEV_CSRF_SECRET])
def test_staging_refuses_a_missing_or_weak_csrf_secret_and_names_it(secret: str) -> None:
    with pytest.raises(SettingsError, match="CSRF_SECRET"):
        load_settings(WebSettings, {"ENVIRONMENT": "staging", "CSRF_SECRET": secret})
    assert WebSettings(environment="staging").csrf_signing_secret == ""


def test_production_needs_no_database_url_because_the_web_never_opens_the_database() -> None:
    settings = load_settings(WebSettings, {**PROD, "CSRF_SECRET": STRONG})
    assert settings.database_url == ""


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("API_URL", "ftp://api"),
        ("API_TIMEOUT_SECONDS", "0"),
        ("SESSION_TTL_SECONDS", "5"),
        ("UPLOAD_MAX_FILES", "0"),
        ("SESSION_MAX_AGE_SECONDS", "0"),
        ("UPLOAD_SPOOL_MEMORY_BYTES", "-1"),
        ("UPLOAD_MIN_BYTES_PER_SECOND", "0"),
        ("UPLOAD_GRACE_SECONDS", "-1"),
        ("UPLOAD_MAX_SECONDS", "0"),
        ("MANAGEMENT_PORT", "8080"),
        ("MANAGEMENT_PORT", "70000"),
    ],
)
def test_nonsense_values_are_refused_by_name(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable.split("_")[0]):
        load_settings(WebSettings, {variable: value})
