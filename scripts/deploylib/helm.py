"""The Helm command lines the deploy runs (built here so tests can read them); what `helm history` says."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from deploylib.environments import Environment

POST_RENDERER = Path(__file__).resolve().parent / "postrender.py"
RELEASE_NOT_FOUND = "release: not found"  # helm's storage driver error for a release with no history


def upgrade_command(env: Environment, tag: str, pins: Mapping[str, str], timeout: str = "10m") -> list[str]:
    """`helm upgrade --install` of the published chart at ``tag``, with the images pinned to digests."""
    command = [
        "helm", "upgrade", "--install", env.release, env.chart_ref, "--version", tag,
        "--namespace", env.namespace,
        "--kube-context", env.kube_context,
        "--atomic", "--wait", "--timeout", timeout,
    ]  # fmt: skip
    for values in env.values:
        command += ["--values", values]
    command += [
        "--set-string", f"global.image.registry={env.registry}",
        "--set-string", f"global.image.tag={tag}",
        "--set-string", f"global.existingSecret={env.secret}",
        "--set-json", f"global.imagePullSecrets={json.dumps(list(env.image_pull_secrets))}",
    ]  # fmt: skip
    if env.backup_claim:
        command += ["--set-string", f"worker.backup.persistence.existingClaim={env.backup_claim}"]
    command += [
        "--post-renderer", sys.executable,
        "--post-renderer-args", str(POST_RENDERER),
        "--post-renderer-args", json.dumps(dict(pins), sort_keys=True),
    ]  # fmt: skip
    return command


def history_command(env: Environment) -> list[str]:
    return ["helm", "history", env.release, "--namespace", env.namespace,
            "--kube-context", env.kube_context, "--output", "json"]  # fmt: skip


@dataclass(frozen=True)
class History:
    """The release's revisions; ``exists`` is False before its first install."""

    exists: bool
    revisions_json: str = "[]"


class HistoryUnavailableError(RuntimeError):
    """`helm history` failed for another reason than a release that does not exist yet."""


def read_history(returncode: int, stdout: str, stderr: str) -> History:
    """What `helm history -o json` answered: revisions, no release yet, or an error worth stopping for."""
    if returncode == 0:
        return History(exists=True, revisions_json=stdout or "[]")
    if RELEASE_NOT_FOUND in stderr:
        return History(exists=False)
    raise HistoryUnavailableError(stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {returncode}")


def rollback_command(env: Environment, revision: int, timeout: str = "10m") -> list[str]:
    return ["helm", "rollback", env.release, str(revision), "--namespace", env.namespace,
            "--kube-context", env.kube_context, "--wait", "--timeout", timeout]  # fmt: skip


def previous_good_revision(history_json: str, current: int | None = None) -> int | None:
    """The newest revision before ``current`` that deployed successfully (for the rollback)."""
    revisions = json.loads(history_json or "[]")
    good = [
        int(entry["revision"])
        for entry in revisions
        if entry.get("status") in ("deployed", "superseded")
        and (current is None or int(entry["revision"]) < current)
    ]
    return max(good) if good else None
