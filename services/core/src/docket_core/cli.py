"""What every service's command line shares."""

from __future__ import annotations

import sys

from docket_core.settings import S, SettingsError, load_settings

CONFIGURATION_ERROR_EXIT = 2


def settings_or_exit(cls: type[S], prog: str) -> S:
    """Load ``cls`` from the environment, or print what is wrong (naming the variable) and exit 2."""
    try:
        return load_settings(cls)
    except SettingsError as exc:
        print(f"{prog}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(CONFIGURATION_ERROR_EXIT) from None
