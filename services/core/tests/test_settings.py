"""Settings come from the environment, typed, and unsafe production values stop start-up."""

from __future__ import annotations

import pytest

from docket_api.settings import ApiSettings
from docket_core.settings import CommonSettings, SettingsError, load_settings

STRONG = "s" * 32
PROD = {"ENVIRONMENT": "production", "DATABASE_URL": "postgresql://db/docket", "JWT_SECRET": STRONG}


def test_values_are_converted_from_strings() -> None:
    settings = load_settings(
        ApiSettings, {"DB_POOL_MAX_SIZE": "7", "CORS_ORIGINS": "https://a.example, https://b.example"}
    )
    assert settings.db_pool_max_size == 7
    assert settings.cors_origins == ("https://a.example", "https://b.example")


def test_defaults_match_the_documentation() -> None:
    settings = load_settings(CommonSettings, {})
    assert (settings.db_pool_min_size, settings.db_pool_max_size) == (2, 10)
    assert settings.shutdown_grace_seconds == 30


def test_a_malformed_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="DB_POOL_MAX_SIZE"):
        load_settings(CommonSettings, {"DB_POOL_MAX_SIZE": "lots"})


def test_production_settings_that_are_safe_load() -> None:
    assert load_settings(ApiSettings, PROD).is_production


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"JWT_SECRET": ""}, "JWT_SECRET"),
        ({"JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "https://ok.example,*"}, "CORS_ORIGINS"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
    ],
)
def test_production_refuses_unsafe_values_naming_the_variable(
    override: dict[str, str], variable: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings(ApiSettings, {**PROD, **override})


def test_outside_production_a_dev_key_is_used_but_swagger_follows_the_flag() -> None:
    local = load_settings(ApiSettings, {})
    assert local.signing_secret
    assert local.swagger_enabled
    assert not load_settings(ApiSettings, PROD).swagger_enabled
    assert load_settings(ApiSettings, {**PROD, "ENABLE_SWAGGER": "true"}).swagger_enabled


def test_every_variable_is_documented_in_the_configuration_table() -> None:
    from pathlib import Path

    import msgspec

    from docket_api.settings import ApiSettings as Api
    from docket_web.settings import WebSettings
    from docket_worker.settings import WorkerSettings

    doc = (Path(__file__).resolve().parents[3] / "docs" / "configuration.md").read_text()
    for cls in (Api, WebSettings, WorkerSettings):
        for field in msgspec.structs.fields(cls):
            assert f"`{field.name.upper()}`" in doc, (
                f"{field.name.upper()} is missing from docs/configuration.md"
            )
