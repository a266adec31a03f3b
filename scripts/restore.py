#!/usr/bin/env python3
"""Restore a backup in the cluster, following OPERATIONS.md: scale the writers down, run
`docket-worker restore` in a Job built from the backup CronJob, then scale back up.

    scripts/restore.py staging --backup NAME|--latest --target-secret-key DATABASE_URL [--clean] [--yes]

The target database is a key of the environment's Secret, named explicitly every time (no default).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploylib import checks
from deploylib.environments import load_environment
from deploylib.jobs import job_from_cronjob, job_name
from kubernetes.client import V1EnvVar, V1EnvVarSource, V1SecretKeySelector

TARGET_ENV = "RESTORE_DATABASE_URL"


def restore_args(backup: str | None, clean: bool) -> list[str]:
    """The worker CLI arguments of the restore Job. Kubernetes expands $(RESTORE_DATABASE_URL) from the
    container's environment, so the URL (and its password) never appears in the Job's spec."""
    args = ["restore", backup] if backup else ["restore", "--latest"]
    args += ["--target-url", f"$({TARGET_ENV})", "--yes"]
    if clean:
        args.append("--clean")
    return args


def target_env(secret: str, key: str) -> V1EnvVar:
    return V1EnvVar(
        name=TARGET_ENV, value_from=V1EnvVarSource(secret_key_ref=V1SecretKeySelector(name=secret, key=key))
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("environment")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--backup", help="backup name, from `docket-worker backup list`")
    which.add_argument("--latest", action="store_true")
    parser.add_argument("--target-secret-key", required=True, help="key of the Secret holding the target URL")
    parser.add_argument("--clean", action="store_true", help="drop existing objects in the target first")
    parser.add_argument("--yes", action="store_true")
    args = parser.parse_args(argv)
    env = load_environment(args.environment)
    from deploylib.cluster import Cluster, current_context

    if problems := checks.check_context(current_context(), env.kube_context):
        print("restore: " + "; ".join(problems), file=sys.stderr)
        return 1
    what = args.backup or "the latest backup"
    prompt = (
        f"Restore {what} into the database at {args.target_secret_key} of secret {env.secret} in {env.name}? "
        "Scale the api and worker to 0 first (OPERATIONS.md). Type the environment name to go on: "
    )
    if not args.yes and input(prompt) != env.name:
        print("restore: cancelled")
        return 1
    cluster = Cluster(env.kube_context)
    job = job_from_cronjob(
        cluster.cronjob(env.namespace, env.backup_cronjob),
        job_name("restore", dt.datetime.now(dt.UTC)),
        command=restore_args(args.backup, args.clean),
    )
    job.spec.template.spec.containers[0].env = [
        *(job.spec.template.spec.containers[0].env or []),
        target_env(env.secret, args.target_secret_key),
    ]
    cluster.create_job(env.namespace, job)
    print(f"restore: started job/{job.metadata.name}; follow it with "
          f"kubectl -n {env.namespace} logs -f job/{job.metadata.name}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
