#!/usr/bin/env python3
"""Deploy Docket to an environment: check, `helm upgrade --install --atomic --wait`, verify, or roll back.

scripts/deploy.py staging --tag 1.4.0 [--yes] [--skip-backup-check]
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from deploylib import checks, helm
from deploylib.environments import Environment, load_environment
from deploylib.smoke import smoke_problems

SERVICES = ("api", "worker", "web")


def preflight(env: Environment, tag: str, *, check_backup: bool) -> list[str]:
    from deploylib.cluster import Cluster, current_context

    problems = checks.check_context(current_context(), env.kube_context)
    if problems:
        return problems  # talking to any cluster would be talking to the wrong one
    cluster = Cluster(env.kube_context)
    problems += checks.check_namespace(cluster.namespace(env.namespace), env.namespace)
    problems += checks.check_secret(cluster.secret(env.namespace, env.secret), env.secret, env.required_keys)
    for service in SERVICES:
        image = env.image(service, tag)
        if subprocess.run(helm.image_exists_command(image), capture_output=True, check=False).returncode:
            problems.append(f"image {image} does not exist (or is not readable)")
    if check_backup:
        problems += checks.check_backup_age(
            cluster.jobs(env.namespace), env.backup_cronjob, env.max_backup_age_hours, dt.datetime.now(dt.UTC)
        )
    return problems


def postflight(env: Environment) -> list[str]:
    from deploylib.cluster import Cluster

    problems = checks.check_rollout(Cluster(env.kube_context).deployments(env.namespace, env.release))
    with httpx.Client(follow_redirects=False) as client:
        problems += smoke_problems(env.url, client)
    return problems


def current_revision(env: Environment) -> tuple[int | None, str]:
    result = subprocess.run(helm.history_command(env), capture_output=True, text=True, check=False)
    history = result.stdout if result.returncode == 0 else "[]"
    revision = helm.previous_good_revision(history)
    return revision, history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("environment")
    parser.add_argument("--tag", required=True, help="image tag of all three images")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--skip-backup-check", action="store_true", help="deploy even without a recent backup"
    )
    args = parser.parse_args(argv)
    try:
        env = load_environment(args.environment)
    except KeyError as exc:
        print(f"deploy: {exc.args[0]}", file=sys.stderr)
        return 2

    problems = preflight(env, args.tag, check_backup=not args.skip_backup_check)
    if problems:
        print("deploy: refusing to deploy:\n  - " + "\n  - ".join(problems), file=sys.stderr)
        return 1
    if not args.yes and input(f"Deploy {args.tag} to {env.name} ({env.kube_context})? [y/N] ").lower() != "y":
        print("deploy: cancelled")
        return 1
    before, _ = current_revision(env)
    command = helm.upgrade_command(env, args.tag)
    print("deploy: " + " ".join(command), flush=True)
    upgraded = subprocess.run(command, check=False).returncode == 0
    problems = postflight(env) if upgraded else ["helm upgrade failed (--atomic already rolled it back)"]
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
    return 1


if __name__ == "__main__":
    sys.exit(main())
