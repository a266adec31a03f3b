"""The release before the newest migration: its checkout (charts and rehearsal values) and its images,
for upgrades from it (scenario 8); and an image whose migrations break the phase rule on purpose.

The previous release is the parent of the newest commit that added a migration file, unless
REHEARSE_PREVIOUS names a commit; the broken-phase case asks for the release before one given
migration instead (a contract step is only a hazard to a release that has not applied it yet).
Its images are built once per commit, with the same base as `make images` (BASE_IMAGE), and kept:
docket-{api,worker,web}:prev-<commit>.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.log import say
from harness.render import ROOT

MIGRATIONS = "services/api/src/docket_api/db/migrations"
SERVICES = ("api", "worker", "web")


@dataclass(frozen=True)
class Release:
    commit: str
    tree: Path  # a detached worktree of the commit
    tag: str


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def previous_commit(before: str | None = None) -> str:
    """The parent of the commit that added migration file ``before``; without it REHEARSE_PREVIOUS, or
    the parent of the newest commit that added a migration."""
    if before is None and (named := os.environ.get("REHEARSE_PREVIOUS")):
        return _git("rev-parse", "--verify", f"{named}^{{commit}}")
    added = _git("log", "-1", "--diff-filter=A", "--format=%H", "--", f"{MIGRATIONS}/{before or ''}")
    return _git("rev-parse", f"{added}^")


def _has_image(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def previous_release(before: str | None = None) -> Release:
    """The previous release (or the one before migration ``before``) checked out in a temporary
    worktree, its three images built if missing."""
    commit = previous_commit(before)
    tag = f"prev-{commit[:10]}"
    tree = Path(tempfile.mkdtemp(prefix="docket-previous-")) / "tree"
    _git("worktree", "add", "--detach", str(tree), commit)
    missing = [s for s in SERVICES if not _has_image(f"docket-{s}:{tag}")]
    if missing:
        say(f"previous release {commit[:10]}: building {', '.join(missing)} images")
        base = os.environ.get("BASE_IMAGE", "docket-local/python-base:bookworm")
        subprocess.run(
            ["make", "-C", str(tree), "images", f"IMAGE_TAG={tag}", f"BASE_IMAGE={base}",
             f"IMAGE_SERVICES={' '.join(missing)}"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return Release(commit, tree, tag)


def forget(release: Release) -> None:
    """Remove the worktree (the images stay for the next run)."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(release.tree)], check=False)


def phase_breaking_api_image(tag: str, migration: str) -> str:
    """docket-api:<tag> with ``migration``'s first line made `-- phase: expand`: a contract step that
    the pre-upgrade hook would then apply while the previous release still serves. Its tag."""
    broken = f"{tag}-broken-phase"
    dockerfile = f"""FROM docket-api:{tag}
USER 0
RUN file=$(/opt/venv/bin/python -c "import docket_api.db.migrate as m, pathlib; \\
print(pathlib.Path(m.__file__).parent / 'migrations' / '{migration}')") \\
 && head -n 1 "$file" | grep -q '^-- phase: contract' \\
 && sed -i '1s/.*/-- phase: expand/' "$file"
USER 10001:10001
"""
    subprocess.run(
        ["docker", "build", "-q", "-t", f"docket-api:{broken}", "-"],
        input=dockerfile.encode(), check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for service in ("worker", "web"):
        subprocess.run(["docker", "tag", f"docket-{service}:{tag}", f"docket-{service}:{broken}"], check=True)
    return broken
