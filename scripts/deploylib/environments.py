"""Deploy targets, read from deploy/environments.yaml."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS_FILE = ROOT / "deploy" / "environments.yaml"
REQUIRED_SECRET_KEYS = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "CSRF_SECRET")
SERVICES = ("api", "worker", "web")


@dataclass(frozen=True)
class Environment:
    name: str
    kube_context: str
    namespace: str
    release: str
    values: tuple[str, ...]
    registry: str
    url: str
    secret: str
    chart: str = "docket"
    image_pull_secrets: tuple[str, ...] = ()
    backup_claim: str = ""
    max_backup_age_hours: float = 26.0
    required_keys: tuple[str, ...] = field(default=REQUIRED_SECRET_KEYS)

    @property
    def backup_cronjob(self) -> str:
        """The worker chart names its CronJob <release>-worker-backup."""
        return f"{self.release}-worker-backup"

    @property
    def registry_host(self) -> str:
        """The registry's host name, as a pull secret's `auths` names it."""
        return self.registry.split("/", 1)[0]

    @property
    def chart_ref(self) -> str:
        """The published chart: `make charts` packages, the deploy workflow pushes it next to the images."""
        return f"oci://{self.registry.rstrip('/')}/charts/{self.chart}"

    def image(self, service: str, tag: str) -> str:
        return f"{self.registry.rstrip('/')}/docket-{service}:{tag}"

    def with_registry(self, registry: str) -> Environment:
        return dataclasses.replace(self, registry=registry)


def load_environment(name: str, path: Path = ENVIRONMENTS_FILE) -> Environment:
    """The named environment; raises KeyError listing the known ones."""
    data = yaml.safe_load(path.read_text()) or {}
    if name not in data:
        raise KeyError(f"unknown environment {name!r}; known: {', '.join(sorted(data)) or 'none'}")
    entry = dict(data[name])
    for key in ("values", "image_pull_secrets", "required_keys"):
        if key in entry:
            entry[key] = tuple(entry[key] or ())
    return Environment(name=name, **entry)
