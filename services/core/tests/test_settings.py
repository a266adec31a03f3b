"""Settings come from the environment, typed, and unsafe production values stop start-up."""

from __future__ import annotations

import pytest

from docket_api.settings import DEV_JWT_SECRET, ApiSettings
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


@pytest.mark.parametrize("environment", ["staging", "production"])
@pytest.mark.parametrize("secret", ["", "short", DEV_JWT_SECRET])
def test_outside_local_and_test_a_missing_weak_or_published_jwt_secret_is_refused(
    environment: str, secret: str
) -> None:
    env = {"ENVIRONMENT": environment, "DATABASE_URL": "postgresql://db/docket", "JWT_SECRET": secret}
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load_settings(ApiSettings, env)


def test_staging_signs_with_its_own_key() -> None:
    staging = load_settings(ApiSettings, {"ENVIRONMENT": "staging", "JWT_SECRET": STRONG})
    assert staging.signing_secret == STRONG


def test_only_local_and_test_sign_with_the_development_key() -> None:
    for environment in ("local", "test"):
        assert load_settings(ApiSettings, {"ENVIRONMENT": environment}).signing_secret == DEV_JWT_SECRET
    # built without the start-up checks (as tests do), staging still never falls back to the public key
    assert ApiSettings(environment="staging").signing_secret == ""


def test_outside_production_swagger_is_on_and_in_production_it_follows_the_flag() -> None:
    local = load_settings(ApiSettings, {})
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


def test_sentinels_are_host_port_pairs_and_need_the_master_name() -> None:
    settings = load_settings(
        CommonSettings,
        {"REDIS_SENTINELS": "10.0.0.1:26379, [fd00::2]:26380", "REDIS_SENTINEL_MASTER": "docket"},
    )
    assert settings.redis_sentinels == ("10.0.0.1:26379", "[fd00::2]:26380")
    with pytest.raises(SettingsError, match="REDIS_SENTINEL_MASTER"):
        load_settings(CommonSettings, {"REDIS_SENTINELS": "10.0.0.1:26379"})


@pytest.mark.parametrize("address", ["sentinel", "sentinel:", ":26379", "sentinel:port", "sentinel:70000"])
def test_a_sentinel_that_is_not_host_port_is_refused_by_name(address: str) -> None:
    with pytest.raises(SettingsError, match=rf"REDIS_SENTINELS: '{address}'"):
        load_settings(CommonSettings, {"REDIS_SENTINELS": address, "REDIS_SENTINEL_MASTER": "docket"})


def test_the_pooler_mode_is_none_or_transaction() -> None:
    assert load_settings(CommonSettings, {}).database_pooler == "none"
    assert load_settings(CommonSettings, {"DATABASE_POOLER": "transaction"}).database_pooler == "transaction"
    with pytest.raises(SettingsError, match="DATABASE_POOLER"):
        load_settings(CommonSettings, {"DATABASE_POOLER": "session"})


def test_the_worker_behind_a_transaction_pooler_needs_a_direct_listen_url() -> None:
    from docket_worker.settings import WorkerSettings

    pooled = {"DATABASE_URL": "postgresql://pooler/docket", "DATABASE_POOLER": "transaction"}
    with pytest.raises(SettingsError, match="DATABASE_LISTEN_URL"):
        load_settings(WorkerSettings, pooled)
    worker = load_settings(WorkerSettings, {**pooled, "DATABASE_LISTEN_URL": "postgresql://rw/docket"})
    assert worker.listen_url == "postgresql://rw/docket"
    assert (
        load_settings(WorkerSettings, {"DATABASE_URL": "postgresql://db/x"}).listen_url == "postgresql://db/x"
    )


def test_read_your_writes_cannot_be_negative() -> None:
    with pytest.raises(SettingsError, match="READ_YOUR_WRITES_SECONDS"):
        load_settings(CommonSettings, {"READ_YOUR_WRITES_SECONDS": "-1"})
