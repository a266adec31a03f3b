#!/usr/bin/env python3
"""Take a backup now: a Job from the backup CronJob (`kubectl create job --from=cronjob/…`), then wait.

scripts/backup-now.py staging [--yes] [--timeout 3600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploylib import checks
from deploylib.environments import load_environment
from deploylib.jobs import job_from_cronjob, job_name, job_outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("environment")
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    env = load_environment(args.environment)
    from deploylib.cluster import Cluster, current_context

    if problems := checks.check_context(current_context(), env.kube_context):
        print("backup-now: " + "; ".join(problems), file=sys.stderr)
        return 1
    if not args.yes and input(f"Start a backup of {env.name} now? [y/N] ").lower() != "y":
        return 1
    cluster = Cluster(env.kube_context)
    job = job_from_cronjob(
        cluster.cronjob(env.namespace, env.backup_cronjob), job_name("backup-now", dt.datetime.now(dt.UTC))
    )
    cluster.create_job(env.namespace, job)
    print(f"backup-now: started job/{job.metadata.name}; waiting", flush=True)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        outcome = job_outcome(cluster.job(env.namespace, job.metadata.name))
        if outcome:
            print(f"backup-now: job/{job.metadata.name} {outcome}")
            return 0 if outcome == "succeeded" else 1
        time.sleep(5)
    print(f"backup-now: job/{job.metadata.name} still running after {args.timeout:g}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
