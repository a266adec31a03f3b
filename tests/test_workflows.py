"""The GitHub Actions workflows: actionlint-clean, actions pinned, least privilege, and the things that
made the first runs fail: the kind node inside the charts' kubeVersion, the value names the e2e install
sets, lowercase GHCR names, digest deploys, registry logins before registry use, outputs read through
`needs`, a real browser for the UI tests, and a trivy-action that does not call a deleted tag."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHARTS = ROOT / "charts"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\s*$")
SERVICES = ("api", "worker", "web")

Job = dict[str, Any]
Step = dict[str, Any]


def _load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def _workflow(name: str) -> dict[Any, Any]:
    return _load(ROOT / ".github" / "workflows" / name)


def _jobs(name: str) -> dict[str, Job]:
    return _workflow(name)["jobs"]  # type: ignore[no-any-return]


def _uses(step: Step) -> str:
    return str(step.get("uses", "")).split("@")[0]


def _step_using(job: Job, action: str) -> Step:
    found = [step for step in job["steps"] if _uses(step) == action]
    assert len(found) == 1, f"expected one {action} step, found {len(found)}"
    return found[0]


def _command_lines(script: str) -> list[str]:
    """A run: block's shell lines, with backslash continuations joined."""
    return re.sub(r"\\\n\s*", " ", script).splitlines()


def _helm_commands(script: str, verb: str, release: str = "docket") -> list[list[str]]:
    commands = []
    for line in _command_lines(script):
        words = shlex.split(line, comments=True)
        if words[:3] == ["helm", verb, release]:
            commands.append(words)
    return commands


def _flag_values(words: list[str], *flags: str) -> list[str]:
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word in flags]


# ---------------------------------------------------------------------------------------------
# Semantic-version constraints, read as Helm reads kubeVersion (Masterminds semver): comparators
# joined by commas or spaces (and), alternatives by "||" (or). A version with a pre-release (1.30.0-0)
# sorts before its release, which is why ">=1.30.0-0" also admits vendors' 1.30.2-eks-… builds.

_SEMVER = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_OPERATORS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "=>": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=<": lambda a, b: a <= b,
}


def _semver_key(version: str) -> tuple[Any, ...]:
    match = _SEMVER.match(version)
    if not match:
        raise ValueError(f"not a semantic version: {version!r}")
    major, minor, patch = (int(part or 0) for part in match.groups()[:3])
    if match[4] is None:
        return (major, minor, patch, 1, ())
    identifiers = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in match[4].split("."))
    return (major, minor, patch, 0, identifiers)


def _comparators(constraint: str) -> list[list[tuple[str, tuple[Any, ...]]]]:
    """The alternatives of ``constraint``, each a list of (operator, version key) that must all hold."""
    alternatives = []
    for alternative in constraint.split("||"):
        alternative = re.sub(r"(!=|>=|=>|<=|=<|>|<|=)\s+", r"\1", alternative.strip())
        terms = [term for term in re.split(r"[,\s]+", alternative) if term]
        if not terms:
            raise ValueError(f"empty alternative in {constraint!r}")
        comparators = []
        for term in terms:
            match = re.match(r"^(!=|>=|=>|<=|=<|>|<|=)?(v?\d[0-9A-Za-z.+-]*)$", term)
            if not match or re.search(r"(^|\.)[xX*](\.|$)", match[2]):
                raise ValueError(f"unsupported constraint {term!r} in {constraint!r}")
            comparators.append((match[1] or "=", _semver_key(match[2])))
        alternatives.append(comparators)
    return alternatives


def satisfies(version: str, constraint: str) -> bool:
    """Whether ``version`` meets ``constraint``; raises ValueError on syntax this does not read (~, ^, x)."""
    key = _semver_key(version)
    return any(
        all(_OPERATORS[operator](key, bound) for operator, bound in comparators)
        for comparators in _comparators(constraint)
    )


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        ("v1.29.2", ">=1.30.0-0", False),
        ("v1.30.0", ">=1.30.0-0", True),
        ("v1.34.0", ">=1.30.0-0", True),
        ("1.30.2-eks-1234", ">=1.30.0-0", True),
        ("1.30.0-rc.1", ">=1.30.0", False),
        ("1.30", ">=1.30.0", True),
        ("1.31.4", ">=1.30.0-0, <1.35.0-0", True),
        ("1.35.0", ">= 1.30.0-0 < 1.35.0-0", False),
        ("1.28.0", "<1.29.0 || >=1.34.0", True),
        ("1.31.0", "<1.29.0 || >=1.34.0", False),
        ("1.31.0", "!=1.31.0", False),
    ],
)
def test_constraints_are_read_as_helm_reads_kube_version(
    version: str, constraint: str, expected: bool
) -> None:
    assert satisfies(version, constraint) is expected


@pytest.mark.parametrize("constraint", ["~1.30", "^1.30.0", "1.30.x", ">=1.30 ||", "1.30 - 1.34"])
def test_constraint_syntax_the_check_does_not_read_is_refused_not_passed(constraint: str) -> None:
    with pytest.raises(ValueError, match=r"unsupported constraint|empty alternative"):
        satisfies("1.30.0", constraint)


# ---------------------------------------------------------------------------------------------
# The kind cluster of e2e.yml

KIND_NODE = re.compile(r"^kindest/node:(?P<version>v\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}$")


def _kube_versions() -> dict[str, str]:
    """kubeVersion of every chart that declares one (a library chart may not)."""
    versions = {}
    for chart in sorted(CHARTS.glob("*/Chart.yaml")):
        meta = _load(chart)
        if meta.get("kubeVersion"):
            versions[chart.parent.name] = str(meta["kubeVersion"])
    return versions


def kube_version_problems(node_version: str) -> list[str]:
    """Charts whose kubeVersion refuses a cluster at ``node_version`` (`helm install` would)."""
    return [
        f"charts/{chart} requires kubeVersion {constraint!r}; kind starts {node_version}"
        for chart, constraint in _kube_versions().items()
        if not satisfies(node_version, constraint)
    ]


def _kind_step() -> Step:
    return _step_using(_jobs("e2e.yml")["kind"], "helm/kind-action")


def test_every_application_chart_declares_a_kube_version() -> None:
    versions = _kube_versions()
    assert {"api", "web", "worker", "docket"} <= set(versions), versions


def test_the_kind_node_image_is_pinned_by_digest_inside_every_charts_kube_version() -> None:
    node_image = _kind_step()["with"]["node_image"]
    match = KIND_NODE.match(node_image)
    assert match, f"pin the node image as kindest/node:vX.Y.Z@sha256:<digest>, not {node_image!r}"
    assert kube_version_problems(match["version"]) == []


def test_the_kube_version_check_fails_for_the_kubernetes_kind_v0_22_started() -> None:
    # helm/kind-action v1.10.0 ran kind v0.22.0, whose default node is v1.29.2: helm install refused it
    problems = kube_version_problems("v1.29.2")
    assert problems
    assert "charts/docket requires kubeVersion '>=1.30.0-0'; kind starts v1.29.2" in problems


def test_kind_and_kubectl_are_pinned_and_kubectl_is_within_one_minor_of_the_node() -> None:
    inputs = _kind_step()["with"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+", inputs["version"]), (
        "pin the kind release the node image is built for"
    )
    node = _semver_key(KIND_NODE.match(inputs["node_image"])["version"])  # type: ignore[index]
    kubectl = _semver_key(inputs["kubectl_version"])
    assert kubectl[0] == node[0]
    assert abs(kubectl[1] - node[1]) <= 1


def test_helm_is_one_version_in_every_workflow() -> None:
    versions = set()
    for path in WORKFLOWS:
        workflow = _load(path)
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if _uses(step) == "azure/setup-helm":
                    version = str(step["with"]["version"])
                    if version.startswith("${{ env."):
                        version = str(workflow["env"][version.removeprefix("${{ env.").removesuffix(" }}")])
                    versions.add(version)
    assert len(versions) == 1, versions


# ---------------------------------------------------------------------------------------------
# What e2e.yml installs


def _values_path_exists(key: str) -> bool:
    """Whether ``a.b.c`` names a value of the umbrella chart (global.*) or of a sub-chart (api.*, …)."""
    top, _, rest = key.partition(".")
    chart = "docket" if top == "global" else top
    node: Any = _load(CHARTS / chart / "values.yaml")
    for part in (key if chart == "docket" else rest).split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _e2e_helm_commands() -> list[list[str]]:
    commands = []
    for step in _jobs("e2e.yml")["kind"]["steps"]:
        for verb in ("install", "upgrade"):
            commands += _helm_commands(step.get("run", ""), verb)
    return commands


def test_every_value_the_e2e_sets_exists_in_the_charts() -> None:
    commands = _e2e_helm_commands()
    assert len(commands) == 2, "one install and one upgrade of the release docket"
    keys = [
        value.split("=", 1)[0] for words in commands for value in _flag_values(words, "--set", "--set-string")
    ]
    assert keys
    assert [key for key in keys if not _values_path_exists(key)] == []


def test_the_e2e_install_trusts_the_pod_network_and_uses_a_claim_made_before_it() -> None:
    steps = _jobs("e2e.yml")["kind"]["steps"]
    install_at = next(i for i, step in enumerate(steps) if _helm_commands(step.get("run", ""), "install"))
    install = _helm_commands(steps[install_at]["run"], "install")[0]
    values = dict(value.split("=", 1) for value in _flag_values(install, "--set", "--set-string"))
    # the ingress controller's and the web pods' addresses, read from the nodes' podCIDRs
    assert values["api.config.TRUSTED_PROXIES"] == values["web.config.TRUSTED_PROXIES"] == "{$pod_cidrs}"
    assert "spec.podCIDR" in steps[install_at]["run"]
    claim = values["worker.backup.persistence.existingClaim"]
    made_before = "\n".join(step.get("run", "") for step in steps[:install_at])
    manifests = re.findall(r"<<'EOF'\n(.*?)\nEOF", made_before, re.S)
    claims = [doc for text in manifests for doc in yaml.safe_load_all(text) if doc]
    assert {"kind": "PersistentVolumeClaim", "name": claim} in [
        {"kind": doc["kind"], "name": doc["metadata"]["name"]} for doc in claims
    ]


def test_the_e2e_installs_the_packaged_charts_and_upgrades_the_same_package() -> None:
    install, upgrade = _e2e_helm_commands()
    assert install[3] == upgrade[3] == "dist/charts/docket-0.0.0-e2e.tgz"
    run = "\n".join(step.get("run", "") for step in _jobs("e2e.yml")["kind"]["steps"])
    assert "make charts CHART_VERSION=0.0.0-e2e APP_VERSION=e2e" in run


# ---------------------------------------------------------------------------------------------
# deploy.yml


def test_ghcr_names_use_the_lowercased_owner_only() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        raw = re.findall(r"\$\{\{[^}]*github\.repository_owner[^}]*\}\}", text)
        assert raw == [], f"{path.name}: GHCR refuses the owner's capitals that {raw} keeps"
        for use in re.findall(r"\$\{?GITHUB_REPOSITORY_OWNER[^}\s\"/]*\}?", text):
            assert use == "${GITHUB_REPOSITORY_OWNER,,}", f"{path.name}: {use} is not lowercased"
    images = _jobs("deploy.yml")["images"]
    assert (
        _step_using(images, "docker/metadata-action")["with"]["images"] == "${{ steps.name.outputs.image }}"
    )
    name_step = next(step for step in images["steps"] if step.get("id") == "name")
    assert "ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/docket-$SERVICE" in name_step["run"]


def test_the_build_hands_each_digest_to_the_deploys_which_pin_them() -> None:
    jobs = _jobs("deploy.yml")
    images = jobs["images"]
    build = _step_using(images, "docker/build-push-action")
    assert build["with"]["push"] is True
    digest_step = next(step for step in images["steps"] if step.get("id") == "digest")
    assert digest_step["env"]["DIGEST"] == f"${{{{ steps.{build['id']}.outputs.digest }}}}"
    assert images["outputs"] == {s: f"${{{{ steps.digest.outputs.{s} }}}}" for s in SERVICES}
    for name in ("staging", "production"):
        deploy = next(step for step in jobs[name]["steps"] if "scripts/deploy.py" in step.get("run", ""))
        words = shlex.split(_command_lines(deploy["run"])[-1])
        digests = dict(value.split("=", 1) for value in _flag_values(words, "--digest"))
        assert digests == {s: f"${s.upper()}_DIGEST" for s in SERVICES}, name
        assert {deploy["env"][f"{s.upper()}_DIGEST"] for s in SERVICES} == {
            f"${{{{ needs.images.outputs.{s} }}}}" for s in SERVICES
        }
        assert words[words.index("--registry") + 1] == "ghcr.io/${GITHUB_REPOSITORY_OWNER,,}"


@pytest.mark.parametrize("workflow", ["ci.yml", "deploy.yml"])
def test_each_image_is_built_as_its_target_of_the_one_dockerfile(workflow: str) -> None:
    images = _jobs(workflow)["images"]
    assert sorted(images["strategy"]["matrix"]["service"]) == sorted(SERVICES)
    build = _step_using(images, "docker/build-push-action")
    # the root Dockerfile (build-push-action's default file in the context), its stage named after the service
    assert build["with"]["context"] == "."
    assert build["with"].get("file", "Dockerfile") in ("Dockerfile", "./Dockerfile")
    assert build["with"]["target"] == "${{ matrix.service }}"
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)\s*$", (ROOT / "Dockerfile").read_text(), re.M | re.I)
    assert set(SERVICES) <= set(stages), stages


def test_the_charts_are_published_to_ghcr_at_the_release_version_before_any_deploy() -> None:
    jobs = _jobs("deploy.yml")
    run = "\n".join(step.get("run", "") for step in jobs["charts"]["steps"])
    assert 'make charts CHART_VERSION="${GITHUB_REF_NAME#v}" APP_VERSION="${GITHUB_REF_NAME#v}"' in run
    assert 'helm push "$chart" "oci://ghcr.io/${GITHUB_REPOSITORY_OWNER,,}/charts"' in run
    assert "charts" in jobs["staging"]["needs"]
    assert "staging" in jobs["production"]["needs"]


def _needs(job: Job) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_a_job_reads_only_outputs_of_jobs_it_needs(path: Path) -> None:
    for name, job in _load(path)["jobs"].items():
        read = set(re.findall(r"needs\.([\w-]+)\.", yaml.safe_dump(job)))
        assert read <= set(_needs(job)), f"{path.name}:{name} reads needs.{read - set(_needs(job))}"


def _logs_in_to_ghcr(step: Step) -> bool:
    return _uses(step) == "docker/login-action" and step["with"]["registry"] == "ghcr.io"


def _helm_logs_in(step: Step) -> bool:
    return "helm registry login ghcr.io" in step.get("run", "")


def test_every_registry_use_comes_after_a_login_to_it() -> None:
    for name, job in _jobs("deploy.yml").items():
        docker_login = helm_login = False
        for step in job["steps"]:
            run = step.get("run", "")
            if _uses(step) == "docker/build-push-action" and step["with"].get("push"):
                assert docker_login, f"{name}: pushes an image before docker logs in to ghcr.io"
            if "scripts/deploy.py" in run:  # docker reads the digests, helm pulls the chart
                assert docker_login, f"{name}: reads digests before docker logs in to ghcr.io"
                assert helm_login, f"{name}: pulls the chart before helm logs in to ghcr.io"
            if "helm push" in run:
                assert helm_login or run.index("helm registry login") < run.index("helm push"), name
            docker_login |= _logs_in_to_ghcr(step)
            helm_login |= _helm_logs_in(step)


def _needs_packages(job: Job) -> str | None:
    """The packages permission a job's steps use: write to push, read to pull (None: neither)."""
    steps = job.get("steps", [])
    if any(
        (_uses(s) == "docker/build-push-action" and s["with"].get("push")) or "helm push" in s.get("run", "")
        for s in steps
    ):
        return "write"
    if any(_logs_in_to_ghcr(s) or _helm_logs_in(s) for s in steps):
        return "read"
    return None


OIDC_ACTIONS = {
    "actions/attest-build-provenance",
    "actions/attest-sbom",
    "actions/attest",
    "sigstore/cosign-installer",
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_job_is_granted_exactly_the_permissions_its_steps_use(path: Path) -> None:
    for name, job in _load(path)["jobs"].items():
        granted = dict(job.get("permissions", {"contents": "read"}))
        assert granted.pop("contents", None) == "read", f"{path.name}:{name}"
        assert granted.get("packages") == _needs_packages(job), f"{path.name}:{name}: packages"
        granted.pop("packages", None)
        uses = {_uses(step) for step in job.get("steps", [])}
        if "id-token" in granted or "attestations" in granted:
            assert uses & OIDC_ACTIONS, f"{path.name}:{name}: id-token/attestations granted and unused"
        granted.pop("id-token", None)
        granted.pop("attestations", None)
        assert granted == {}, f"{path.name}:{name}: {granted} granted; nothing uses it"


# ---------------------------------------------------------------------------------------------
# ci.yml


def test_the_ui_tests_drive_the_runners_chrome_through_docket_chromium() -> None:
    test = _jobs("ci.yml")["test"]
    assert test["env"]["DOCKET_CHROMIUM"] == "/usr/bin/google-chrome"
    for step in test["steps"]:
        assert not re.search(r"apt-get install[^\n]*\bchromium\b", step.get("run", "")), "the snap stub"
    check = subprocess.run(
        [sys.executable, "-c", "import browserkit; print(browserkit.CHROMIUM)"],
        cwd=ROOT / "tests" / "browser",
        env={**os.environ, "DOCKET_CHROMIUM": "/opt/some/chrome"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "/opt/some/chrome"


def test_trivy_action_is_a_release_that_pins_setup_trivy_by_commit() -> None:
    step = _step_using(_jobs("ci.yml")["images"], "aquasecurity/trivy-action")
    line = next(
        line
        for line in (ROOT / ".github/workflows/ci.yml").read_text().splitlines()
        if "trivy-action@" in line
    )
    version = _semver_key(line.rsplit("#", 1)[1].strip())
    # v0.28.0 called aquasecurity/setup-trivy@v0.2.1, a tag that no longer exists; from v0.31.0 on the
    # action's own action.yaml pins setup-trivy by commit
    assert version >= _semver_key("v0.31.0")
    assert re.fullmatch(r"v\d+\.\d+\.\d+", step["with"]["version"]), "pin the scanner, not 'latest'"


# ---------------------------------------------------------------------------------------------
# Every workflow


def test_the_three_workflows_exist() -> None:
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "e2e.yml", "deploy.yml"}


def test_actionlint_passes() -> None:
    # actionlint also runs shellcheck over every run: block when shellcheck is on PATH (.ci/run installs it)
    actionlint = Path(sys.executable).parent / "actionlint"
    result = subprocess.run([str(actionlint), *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(path: Path) -> None:
    lines = re.findall(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$", path.read_text(), re.M)
    assert lines, f"{path.name} uses no actions?"
    for ref, rest in lines:
        if ref.startswith("./"):
            continue
        assert PINNED.match(ref), f"{path.name}: {ref} is not pinned to a 40-character commit SHA"
        assert VERSION_COMMENT.search(rest), f"{path.name}: {ref} has no '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_blocks_use_bash_with_pipefail(path: Path) -> None:
    # `shell: bash` is `bash -eo pipefail`; the default without it has no pipefail
    assert _load(path).get("defaults", {}).get("run", {}).get("shell") == "bash"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least_privilege_and_runs_do_not_pile_up(path: Path) -> None:
    workflow = _load(path)
    assert workflow.get("permissions") in ({"contents": "read"}, {}), "top-level permissions are read-only"
    assert "concurrency" in workflow
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        assert "write-all" not in str(granted), name
        assert job.get("timeout-minutes"), f"{path.name}:{name} has no timeout"
