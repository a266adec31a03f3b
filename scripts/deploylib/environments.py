"""Deploy targets, read from deploy/environments.yaml."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS_FILE = ROOT / "deploy" / "environments.yaml"
REQUIRED_SECRET_KEYS = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "CSRF_SECRET")


@dataclass(frozen=True)
class Environment:
    name: str
    kube_context: str
    namespace: str
    release: str
    chart: str
    values: tuple[str, ...]
    registry: str
    url: str
    secret: str
    max_backup_age_hours: float = 26.0
    required_keys: tuple[str, ...] = field(default=REQUIRED_SECRET_KEYS)

    @property
    def backup_cronjob(self) -> str:
        """The worker chart names its CronJob <release>-worker-backup."""
        return f"{self.release}-worker-backup"

    def image(self, service: str, tag: str) -> str:
        return f"{self.registry.rstrip('/')}/docket-{service}:{tag}"


def load_environment(name: str, path: Path = ENVIRONMENTS_FILE) -> Environment:
    """The named environment; raises KeyError listing the known ones."""
    data = yaml.safe_load(path.read_text()) or {}
    if name not in data:
        raise KeyError(f"unknown environment {name!r}; known: {', '.join(sorted(data)) or 'none'}")
    entry = dict(data[name])
    entry["values"] = tuple(entry.get("values", ()))
    if "required_keys" in entry:
        entry["required_keys"] = tuple(entry["required_keys"])
    return Environment(name=name, **entry)
