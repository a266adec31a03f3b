"""Backup settings: validated at start-up, every one documented, and the post-restore schema report."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from docket_core.settings import SettingsError, load_settings
from docket_worker.backup.schema_check import SchemaCheck, summarise
from docket_worker.backup.settings import BackupSettings

DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_every_backup_variable_is_documented_in_the_configuration_table() -> None:
    doc = DOCS.read_text()
    missing = [
        f.name.upper() for f in msgspec.structs.fields(BackupSettings) if f"`{f.name.upper()}`" not in doc
    ]
    assert missing == []


def test_defaults_keep_30_days_and_at_least_7_backups() -> None:
    settings = load_settings(BackupSettings, {})
    assert (settings.backup_retention_days, settings.backup_keep_min) == (30, 7)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"BACKUP_KEEP_MIN": "0"}, "BACKUP_KEEP_MIN"),
        ({"BACKUP_RETENTION_DAYS": "0"}, "BACKUP_RETENTION_DAYS"),
        ({"BACKUP_RETENTION_DAYS": "a month"}, "BACKUP_RETENTION_DAYS"),
        (
            {
                "BACKUP_S3_URL": "https://bucket/prefix",
                "AWS_ACCESS_KEY_ID": "k",
                "AWS_SECRET_ACCESS_KEY": "s",
            },
            "BACKUP_S3_URL",
        ),
        ({"BACKUP_S3_URL": "s3://bucket/prefix"}, "AWS_ACCESS_KEY_ID"),
    ],
)
def test_unsafe_or_malformed_backup_settings_stop_start_up_naming_the_variable(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(BackupSettings, environ)


def test_s3_url_splits_into_bucket_and_prefix() -> None:
    settings = load_settings(
        BackupSettings,
        {
            "BACKUP_S3_URL": "s3://backups/prod/docket/",
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
        },
    )
    assert settings.s3_location == ("backups", "prod/docket")


def test_without_docket_api_the_restore_report_gives_the_schema_version_and_says_the_check_was_skipped() -> (
    None
):
    summary, code = summarise(SchemaCheck(ran=False, exit_code=0, output=""), schema_version=2)
    assert code == 0
    assert "schema version 2" in summary
    assert "skipped" in summary


def test_a_schema_check_that_fails_makes_restore_exit_4_while_an_older_schema_is_fine() -> None:
    assert summarise(SchemaCheck(True, 1, "migration 0003 unknown"), 3)[1] == 4
    behind, code = summarise(SchemaCheck(True, 3, "schema is behind by 1 migration(s)"), 1)
    assert code == 0
    assert "docket-api migrate" in behind
