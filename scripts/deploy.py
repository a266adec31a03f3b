#!/usr/bin/env python3
"""Deploy Docket to an environment: check, `helm upgrade --install --atomic --wait`, verify, or roll back.

scripts/deploy.py staging --tag 1.4.0 [--registry ghcr.io/acme] [--digest api=sha256:… …] [--yes]
                  [--skip-backup-check]

The chart is oci://<registry>/charts/docket at version TAG; the images are <registry>/docket-*:TAG, each
deployed by digest: the one --digest names (the deploy workflow passes the build's, and the tag must
still point at it), or else the digest the tag points at when the checks run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from deploylib import checks, helm, images
from deploylib.environments import SERVICES, Environment, load_environment
from deploylib.smoke import smoke_problems


@dataclass(frozen=True)
class Plan:
    """What the checks found out: the pinned image references, and the release's history."""

    pins: dict[str, str]
    history: helm.History


def registry_digest(reference: str) -> str | None:
    """The digest ``reference`` points at now, or None when it cannot be read."""
    result = subprocess.run(images.inspect_raw_command(reference), capture_output=True, check=False)
    return images.manifest_digest(result.stdout) if result.returncode == 0 and result.stdout else None


def preflight(
    env: Environment, tag: str, digests: dict[str, str], *, check_backup: bool
) -> tuple[list[str], Plan | None]:
    from deploylib.cluster import Cluster, current_context

    problems = checks.check_context(current_context(), env.kube_context)
    if problems:
        return problems, None  # talking to any cluster would be talking to the wrong one
    problems = checks.check_registry(env.registry)
    if problems:
        return problems, None  # every image and the chart live there
    cluster = Cluster(env.kube_context)
    problems += checks.check_namespace(cluster.namespace(env.namespace), env.namespace)
    problems += checks.check_secret(cluster.secret(env.namespace, env.secret), env.secret, env.required_keys)
    for name in env.image_pull_secrets:
        problems += checks.check_pull_secret(cluster.secret(env.namespace, name), name, env.registry_host)
    if env.backup_claim:
        claim = cluster.claim(env.namespace, env.backup_claim)
        problems += checks.check_backup_claim(claim, env.backup_claim)
    pins = {}
    if shutil.which("docker") is None:
        return [*problems, "docker (with buildx) is needed to read the images' digests"], None
    for service in SERVICES:
        reference = env.image(service, tag)
        found = registry_digest(reference)
        problems += images.check_digest(reference, found, digests.get(service))
        pins[reference] = images.pinned(reference, digests.get(service) or found or "")
    result = subprocess.run(helm.history_command(env), capture_output=True, text=True, check=False)
    try:
        history = helm.read_history(result.returncode, result.stdout, result.stderr)
    except helm.HistoryUnavailableError as exc:
        return [*problems, f"helm history {env.release} failed: {exc}"], None
    if not history.exists:
        print(
            f"deploy: no release {env.release} in namespace {env.namespace} yet: this is a first install, "
            "there is nothing to back up, so the backup-age check is skipped",
            flush=True,
        )
    if check_backup:
        jobs = cluster.jobs(env.namespace) if history.exists else []
        now = dt.datetime.now(dt.UTC)
        problems += checks.check_backup_before_deploy(
            history.exists, jobs, env.backup_cronjob, env.max_backup_age_hours, now
        )
    return problems, Plan(pins, history)


def postflight(env: Environment, plan: Plan) -> list[str]:
    from deploylib.cluster import Cluster

    deployments = Cluster(env.kube_context).deployments(env.namespace, env.release)
    problems = checks.check_rollout(deployments)
    problems += checks.check_pinned_images(deployments, env.registry, plan.pins.values())
    with httpx.Client(follow_redirects=False) as client:
        problems += smoke_problems(env.url, client)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("environment")
    parser.add_argument("--tag", required=True, help="release version: the chart version and the image tag")
    parser.add_argument("--registry", help="registry of the images and the chart (overrides the file's)")
    parser.add_argument(
        "--digest",
        action="append",
        default=[],
        metavar="SERVICE=sha256:…",
        help="the digest the build pushed for api, worker or web (repeat for each)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--skip-backup-check", action="store_true", help="deploy even without a recent backup"
    )
    args = parser.parse_args(argv)
    try:
        digests = images.parse_digests(args.digest, SERVICES)
        env = load_environment(args.environment)
    except (KeyError, ValueError) as exc:
        print(f"deploy: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.registry:
        env = env.with_registry(args.registry)

    problems, plan = preflight(env, args.tag, digests, check_backup=not args.skip_backup_check)
    if problems or plan is None:
        print("deploy: refusing to deploy:\n  - " + "\n  - ".join(problems), file=sys.stderr)
        return 1
    for pinned in plan.pins.values():
        print(f"deploy: image {pinned}")
    if not args.yes and input(f"Deploy {args.tag} to {env.name} ({env.kube_context})? [y/N] ").lower() != "y":
        print("deploy: cancelled")
        return 1
    before = helm.previous_good_revision(plan.history.revisions_json) if plan.history.exists else None
    command = helm.upgrade_command(env, args.tag, plan.pins)
    print("deploy: " + " ".join(command), flush=True)
    upgraded = subprocess.run(command, check=False).returncode == 0
    failed_upgrade = ["helm upgrade failed (--atomic already rolled it back)"]
    problems = postflight(env, plan) if upgraded else failed_upgrade
    if not problems:
        print(f"deploy: {args.tag} is live on {env.name}")
        return 0
    print("deploy: post-deploy checks failed:\n  - " + "\n  - ".join(problems), file=sys.stderr)
    if upgraded and before is not None:
        print(f"deploy: rolling back to revision {before}", file=sys.stderr)
        rolled = subprocess.run(helm.rollback_command(env, before), check=False).returncode == 0
        print(
            f"deploy: rollback {'done' if rolled else 'FAILED: act now (OPERATIONS.md, Rollback)'}",
            file=sys.stderr,
        )
    elif upgraded:
        print("deploy: no earlier revision to roll back to (OPERATIONS.md, Rollback)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
