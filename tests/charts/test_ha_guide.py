"""docs/deployment/ha.md is true: the versions it installs are those of the CRD schemas the tests
validate against, it records no download address, and each of its `helm` commands (the cnpg install,
the point-in-time recovery, the move from an external database) renders what the text says it does."""

from __future__ import annotations

import argparse
import re
from typing import Any

import chartlib
import helm_python as helm
import pytest
import yaml
from chartlib import K8S, ROOT, Manifest, Renderer
from helm_commands import merge, split_commands

GUIDE = ROOT / "docs" / "deployment" / "ha.md"


def guide() -> str:
    return GUIDE.read_text()


def helm_upgrades() -> list[list[str]]:
    """Every `helm upgrade` command line of the guide's sh blocks, in order."""
    blocks = re.findall(r"```sh\n(.*?)```", guide(), re.DOTALL)
    return [argv for block in blocks for argv in split_commands(block) if argv[:2] == ["helm", "upgrade"]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helm upgrade", add_help=False, exit_on_error=False)
    parser.add_argument("release")
    parser.add_argument("chart")
    parser.add_argument("-n", "--namespace")
    parser.add_argument("-f", "--values", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--set-string", action="append", default=[])
    parser.add_argument("--timeout")
    for flag in ("--install", "--reuse-values", "--atomic", "--wait"):
        parser.add_argument(flag, action="store_true")
    return parser


# what the release holds when a command runs with --reuse-values: the cnpg install
INSTALLED = chartlib.PRODUCTION_CNPG_VALUES
# the guide's `-f values-production.yaml` is the operator's copy of the example
FILES = {
    "values-production.yaml": K8S / "examples" / "values-production.yaml",
    "k8s/examples/values-production-cnpg.yaml": K8S / "examples" / "values-production-cnpg.yaml",
}


def values_of(argv: list[str]) -> dict[str, Any]:
    options = _parser().parse_args(argv[2:])
    assert options.chart == "charts/docket", argv
    values: dict[str, Any] = dict(INSTALLED) if options.reuse_values else {}
    for path in options.values:
        values = merge(values, yaml.safe_load(FILES[path].read_text()))
    for expression in options.set:
        values = merge(values, helm.parse_set_string(expression))
    for expression in options.set_string:
        values = merge(values, helm.parse_set_string_values(expression))
    return values


def rendered(renderer: Renderer, argv: list[str]) -> list[Manifest]:
    return chartlib.manifests_of(renderer.render_values("docket", values_of(argv)))


def test_the_versions_are_those_of_the_crd_schemas() -> None:
    readme = (chartlib.CRD_SCHEMAS / "README.md").read_text()
    cnpg = re.search(r"\| CloudNativePG \| v([0-9.]+) ", readme)
    plugin = re.search(r"\| CloudNativePG plugin-barman-cloud \| v([0-9.]+) ", readme)
    assert cnpg
    assert plugin
    text = guide()
    assert f"| {cnpg[1]} |" in text, f"ha.md installs another CloudNativePG than {cnpg[1]}"
    assert f"| {plugin[1]} |" in text, f"ha.md installs another plugin than {plugin[1]}"
    assert f"cnpg-{cnpg[1]}.yaml" in text
    assert f"`v{plugin[1]}` release" in text


def test_the_guide_records_no_download_address() -> None:
    text = guide()
    for address in ("releases/download", "raw.githubusercontent", "https://github.com", "ghcr.io"):
        assert address not in text


def test_the_guide_has_its_four_helm_commands() -> None:
    commands = helm_upgrades()
    assert len(commands) == 4, [" ".join(c) for c in commands]


def test_the_install_renders_the_cluster_and_its_companions(renderer: Renderer) -> None:
    install = helm_upgrades()[0]
    assert "--install" in install
    kinds = {m.kind for m in rendered(renderer, install)}
    assert {"Cluster", "ObjectStore", "ScheduledBackup", "Pooler"} <= kinds


def test_the_recovery_command_makes_a_new_cluster_to_the_target_time(renderer: Renderer) -> None:
    command = helm_upgrades()[1]
    assert "--reuse-values" in command
    assert "--atomic" not in command, "a rollback in the middle of a recovery helps nobody"
    manifests = rendered(renderer, command)
    (cluster,) = [m for m in manifests if m.kind == "Cluster"]
    assert cluster.name == "docket-pg-20250504"
    recovery = cluster.obj["spec"]["bootstrap"]["recovery"]
    assert recovery["recoveryTarget"]["targetTime"] == "2025-05-04T09:30:00Z"
    (source,) = cluster.obj["spec"]["externalClusters"]
    assert source["plugin"]["parameters"]["serverName"] == "docket-postgresql"
    assert recovery["source"] == source["name"]
    assert cluster.obj["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    jobs = [m for m in manifests if m.kind == "Job" and m.name.startswith("docket-api-migrate")]
    assert jobs, "the migration Jobs (expand, then contract) render"
    assert not any(job.is_hook for job in jobs), "no hook can wait for a Cluster the same upgrade creates"
    api = next(m for m in manifests if m.kind == "Deployment" and m.name == "docket-api")
    assert "docket-pg-20250504-pooler-rw" in str(api.obj)
    assert "docket-postgresql-pooler-rw" not in str(api.obj)


def test_the_move_holds_the_services_at_zero_with_no_migration_then_starts_them(renderer: Renderer) -> None:
    hold, start = helm_upgrades()[2:]
    held = rendered(renderer, hold)
    deployments = {m.name: m.obj["spec"].get("replicas") for m in held if m.kind == "Deployment"}
    assert deployments["docket-api"] == 0
    assert deployments["docket-worker"] == 0
    assert not [m for m in held if m.kind == "Job"], "the new database stays empty for the restore"
    assert all(m.obj["spec"]["suspend"] is True for m in held if m.kind == "CronJob")
    assert "Cluster" in {m.kind for m in held}
    started = rendered(renderer, start)
    assert [
        m
        for m in started
        if m.kind == "Job" and m.obj["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    ]
    assert all(m.obj["spec"]["suspend"] is False for m in started if m.kind == "CronJob")
    backup = next(m for m in held if m.kind == "CronJob" and m.name == "docket-worker-backup")
    template = chartlib.pod_template(backup.obj)
    assert template is not None
    url = next(e["value"] for e in template["spec"]["containers"][0]["env"] if e["name"] == "DATABASE_URL")
    assert "@docket-postgresql-rw." in url, "the backup shell restores into the Cluster's primary"


@pytest.mark.parametrize("section", ["## Sizing: connections", "## Failover: what clients see"])
def test_the_guide_keeps_its_sections(section: str) -> None:
    assert section in guide()
