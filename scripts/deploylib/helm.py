"""The Helm command lines the deploy runs (built here so tests can read them)."""

from __future__ import annotations

import json

from deploylib.environments import Environment


def upgrade_command(env: Environment, tag: str, timeout: str = "10m") -> list[str]:
    command = [
        "helm", "upgrade", "--install", env.release, env.chart,
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
    ]  # fmt: skip
    return command


def history_command(env: Environment) -> list[str]:
    return ["helm", "history", env.release, "--namespace", env.namespace,
            "--kube-context", env.kube_context, "--output", "json"]  # fmt: skip


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


def image_exists_command(reference: str) -> list[str]:
    return ["docker", "buildx", "imagetools", "inspect", reference]
