"""``docket-api``: serve the API or manage the schema."""

from __future__ import annotations

import argparse
import sys

from docket_api.settings import ApiSettings
from docket_core.cli import settings_or_exit
from docket_core.settings import CommonSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docket-api", description="Docket's JSON API")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve HTTP until SIGTERM")
    migrate_cmd = commands.add_parser("migrate", help="apply pending schema migrations")
    migrate_cmd.add_argument("--status", action="store_true", help="show applied and pending migrations")
    migrate_cmd.add_argument("--dry-run", action="store_true", help="list what would be applied")
    migrate_cmd.add_argument(
        "--phase",
        choices=("expand", "contract"),
        help="expand: only the steps the previous release survives (pre-upgrade); "
        "contract: everything pending (post-upgrade); default: everything pending",
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        from docket_core.server import serve

        api_settings = settings_or_exit(ApiSettings, "docket-api")
        serve("docket_api.app:create_app", api_settings, api_settings.management_port)
        return 0
    # migrations need only the database: the Job that runs them gets no JWT or Redis settings
    settings = settings_or_exit(CommonSettings, "docket-api")
    return _migrate(settings, status_only=args.status, dry_run=args.dry_run, phase=args.phase)


def _migrate(settings: CommonSettings, *, status_only: bool, dry_run: bool, phase: str | None) -> int:
    import psycopg

    from docket_api.db import migrate

    if not settings.database_url:
        print("docket-api: DATABASE_URL is not set", file=sys.stderr)
        return 2
    try:
        if status_only:
            states = migrate.status(settings.database_url)
            for state in states:
                mark = "applied" if state.applied else "pending"
                migration = state.migration
                print(f"{migration.version:04d}  {mark:8}  {migration.phase:8}  {migration.name}")
            pending = sum(not s.applied for s in states)
            print(f"schema is {'current' if not pending else f'behind by {pending} migration(s)'}")
            return 0 if not pending else 3
        done = migrate.migrate(settings.database_url, dry_run=dry_run, phase=phase)
    except (migrate.MigrationError, psycopg.Error) as exc:
        print(f"docket-api: migration failed: {exc}", file=sys.stderr)
        return 1
    verb = "would apply" if dry_run else "applied"
    for migration in done:
        print(f"{verb} {migration.version:04d}_{migration.name} ({migration.phase})")
    if phase == "expand":
        print(f"{verb} {len(done)} expand migration(s); contract steps wait for the post-upgrade hook")
    else:
        print(f"{verb} {len(done)} migration(s); schema {'would be' if dry_run else 'is'} current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
