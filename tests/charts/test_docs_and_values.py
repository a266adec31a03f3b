"""The charts' generated files are current, every value is documented, the values map one for one to
the services' environment variables, and the READMEs say what operators must know."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from chartgen.cli import stale_files
from chartgen.values_file import parse_values
from chartlib import ALL_CHARTS, CHARTS, LIBRARY_CHARTS, PACKAGED_CHARTS, ROOT, SERVICE_CHARTS

SHARED_VALUE_NAMES = (
    "image",
    "replicaCount",
    "resources",
    "podSecurityContext",
    "containerSecurityContext",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "pdb",
    "autoscaling",
    "networkPolicy",
    "serviceAccount",
    "extraEnv",
    "existingSecret",
    "nodeSelector",
    "tolerations",
    "affinity",
)
# set by the chart itself rather than read from config/secrets (documented in the chart READMEs)
# HOST is every address in a container; ENVIRONMENT also follows global.environment; RELEASE defaults to
# the image tag; the web's API_URL defaults to the api Service of the release
CHART_OWNED = {"HOST": "0.0.0.0", "ENVIRONMENT": None, "RELEASE": None, "API_URL": None}  # noqa: S104
# defaults the charts choose on purpose, unlike the services' (each explained in the values' comments):
# TRUSTED_PROXIES names kind's pod network, so the default install on kind counts clients apart; the
# worker runs fewer and smaller parsing children, so they fit its memory limit
CHART_DEFAULTS = {
    "TRUSTED_PROXIES": ["10.244.0.0/16"],
    "WORKER_CONCURRENCY": 4,
    "WORKER_EXTRACT_MEMORY_MB": 512,
}
# Settings a service's settings object declares (they are common to every service) but its pods never
# read, so the chart gives them none: the web opens no PostgreSQL connection.
DECLARED_NOT_READ = {
    "api": set(),
    "web": {
        "DATABASE_URL",
        "DATABASE_POOLER",
        "READ_YOUR_WRITES_SECONDS",
        "DB_POOL_MIN_SIZE",
        "DB_POOL_MAX_SIZE",
        "DB_POOL_TIMEOUT",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        "DB_PLAN_CACHE_MODE",
    },
    "worker": set(),
}


def values(chart: str) -> dict[str, Any]:
    return yaml.safe_load((CHARTS / chart / "values.yaml").read_text())  # type: ignore[no-any-return]


def test_generated_files_are_current() -> None:
    stale = stale_files()
    assert not stale, f"run `make charts-docs`: stale {[str(p.relative_to(ROOT)) for p in stale]}"


DEFINED = re.compile(r'define "([^"]+)"')
INCLUDED = re.compile(r'(?:include|template) "([^"]+)"')


def _templates(chart: str) -> list[Path]:
    return sorted((CHARTS / chart / "templates").glob("*"))


def test_shared_templates_are_defined_once_in_the_library_chart() -> None:
    library = [name for path in _templates("common") for name in DEFINED.findall(path.read_text())]
    assert library, "charts/common defines no templates"
    assert all(name.startswith("docket.") for name in library)
    assert len(library) == len(set(library)), f"defined twice in charts/common: {library}"
    assert all(path.name.startswith("_") for path in _templates("common")), "a library only defines"
    own = {
        chart: [n for p in _templates(chart) for n in DEFINED.findall(p.read_text())] for chart in ALL_CHARTS
    }
    for chart, names in own.items():
        prefix = "umbrella." if chart == "docket" else f"{chart}."
        assert all(name.startswith(prefix) for name in names), (
            f"{chart} defines {names}: use the prefix {prefix}"
        )
    everything = library + [name for names in own.values() for name in names]
    assert len(everything) == len(set(everything)), "one template namespace per release: a name defined twice"


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_service_charts_carry_no_copied_helpers(chart: str) -> None:
    helpers = CHARTS / chart / "templates" / "_helpers.tpl"
    assert not helpers.exists() or len(helpers.read_text().splitlines()) <= 60
    library = {path.name: path.read_text() for path in _templates("common")}
    for path in _templates(chart):
        assert path.read_text() not in library.values(), f"{path} is a copy of a library file"


def test_every_included_template_is_defined() -> None:
    charts = (*LIBRARY_CHARTS, *ALL_CHARTS)
    defined = {
        name for chart in charts for path in _templates(chart) for name in DEFINED.findall(path.read_text())
    }
    for chart in charts:
        for path in _templates(chart):
            missing = set(INCLUDED.findall(path.read_text())) - defined
            assert not missing, f"{path.relative_to(CHARTS)} includes undefined {sorted(missing)}"


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_every_value_has_a_comment(chart: str) -> None:
    missing = [p.path for p in parse_values(CHARTS / chart / "values.yaml") if not p.description]
    assert not missing, f"charts/{chart}/values.yaml keys without a comment: {missing}"


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_readme_lists_every_parameter(chart: str) -> None:
    readme = (CHARTS / chart / "README.md").read_text()
    for param in parse_values(CHARTS / chart / "values.yaml"):
        if param.leaf:
            assert f"| `{param.path}` |" in readme, f"{chart} README lacks {param.path}"


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_service_charts_use_the_shared_value_names(chart: str) -> None:
    chart_values = values(chart)
    missing = [name for name in SHARED_VALUE_NAMES if name not in chart_values]
    assert not missing, f"{chart} lacks {missing}"
    assert set(chart_values["image"]) == {"repository", "tag", "pullPolicy"}


def test_charts_agree_on_versions() -> None:
    metadata = {
        chart: yaml.safe_load((CHARTS / chart / "Chart.yaml").read_text()) for chart in PACKAGED_CHARTS
    }
    assert len({m["version"] for m in metadata.values()}) == 1
    assert len({m["appVersion"] for m in metadata.values()}) == 1
    assert metadata["common"]["type"] == "library"
    library = {"name": "common", "version": metadata["common"]["version"], "repository": "file://../common"}
    dependencies = {d["name"]: d for d in metadata["docket"]["dependencies"]}
    assert set(dependencies) == {"common", *SERVICE_CHARTS}
    assert dependencies.pop("common") == library
    for chart, dependency in dependencies.items():
        assert dependency["repository"] == f"file://../{chart}"
        assert dependency["version"] == metadata[chart]["version"]
        assert dependency["condition"] == f"{chart}.enabled"
    for chart in SERVICE_CHARTS:
        assert metadata[chart]["dependencies"] == [library], f"{chart} takes its shared templates from common"


# ---------------------------------------------------------------------------------------------
# values <-> environment variables


def documented_variables() -> dict[str, dict[str, str]]:
    """docs/configuration.md: section heading -> {variable: default column}."""
    sections: dict[str, dict[str, str]] = {}
    current = ""
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            continue
        match = re.match(r"^\| `([A-Z][A-Z0-9_]*)` \| (.*?) \|", line)
        if match and current:
            sections.setdefault(current, {})[match[1]] = match[2]
    return sections


def section_for(chart: str, sections: dict[str, dict[str, str]]) -> dict[str, str]:
    label = {"api": "API", "web": "Web", "worker": "Worker"}[chart]
    common = sections["Every service"]
    own = next(v for k, v in sections.items() if k.startswith(label + " ") or k == label)
    return {**common, **own}


def settings_class(chart: str) -> type[msgspec.Struct]:
    module = __import__(f"docket_{chart}.settings", fromlist=["x"])
    return getattr(module, f"{chart.capitalize()}Settings")  # type: ignore[no-any-return]


def test_docs_sections_are_all_mapped() -> None:
    sections = documented_variables()
    known = {"Every service"}
    for chart in SERVICE_CHARTS:
        label = {"api": "API", "web": "Web", "worker": "Worker"}[chart]
        known |= {k for k in sections if k.startswith(label + " ") or k == label}
    backup = {k for k in sections if "backup" in k.lower()}
    assert set(sections) - known - backup == set(), "a documented section no chart maps"


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_values_map_one_for_one_to_the_documented_variables(chart: str) -> None:
    chart_values = values(chart)
    keys = set(chart_values["config"]) | set(chart_values["secrets"])
    assert not set(chart_values["config"]) & set(chart_values["secrets"])
    documented = set(section_for(chart, documented_variables()))
    backup_vars = set(chart_values.get("backup", {}).get("config", {})) | BACKUP_CHART_SET
    only_values = keys - documented
    only_documented = documented - keys - backup_vars - DECLARED_NOT_READ[chart]
    assert not only_values, f"{chart}: values only {sorted(only_values)}"
    assert not only_documented, f"{chart}: docs only {sorted(only_documented)}"


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_values_map_one_for_one_to_the_settings_the_service_reads(chart: str) -> None:
    chart_values = values(chart)
    keys = set(chart_values["config"]) | set(chart_values["secrets"])
    fields = {field.name.upper() for field in msgspec.structs.fields(settings_class(chart))}
    assert not keys - fields, f"{chart}: settings the service does not read"
    unmapped = fields - keys - DECLARED_NOT_READ[chart]
    assert not unmapped, f"{chart}: settings the chart does not map"
    assert not keys & DECLARED_NOT_READ[chart], f"{chart}: the chart maps settings its pods never read"
    assert DECLARED_NOT_READ[chart] <= fields, f"{chart}: an exception for a setting the service lacks"


@pytest.mark.parametrize("chart", SERVICE_CHARTS)
def test_defaults_match_the_documented_defaults(chart: str) -> None:
    config = values(chart)["config"]
    documented = section_for(chart, documented_variables())
    for name, default in documented.items():
        if name not in config or name in CHART_OWNED or config[name] is None:
            continue  # None: unset, so the service's default applies
        if name in CHART_DEFAULTS:
            assert config[name] == CHART_DEFAULTS[name], f"{chart}: config.{name} is {config[name]!r}"
            continue
        if name in ("PORT", "MANAGEMENT_PORT") and re.search(rf"{chart} `(\d+)`", default):
            expected: Any = int(re.search(rf"{chart} `(\d+)`", default)[1])  # type: ignore[index]
        elif default.startswith("*(empty"):
            expected = ""
        elif re.fullmatch(r"`[^`]*`", default):
            expected = yaml.safe_load(default.strip("`"))
        else:
            continue
        assert config[name] == expected, f"{chart}: config.{name} is {config[name]!r}, documented {default}"
    assert config["HOST"] == CHART_OWNED["HOST"], "containers listen on every address"


# the backup commands' variables the worker chart sets itself or that the image provides
BACKUP_CHART_SET = {
    "BACKUP_DIR",
    "BACKUP_S3_URL",
    "BACKUP_S3_ENDPOINT",
    "BACKUP_S3_REGION",
    "BACKUP_S3_CREDENTIALS_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "PG_DUMP",
    "PG_RESTORE",
}


def test_backup_values_map_to_the_backup_settings() -> None:
    try:
        from docket_worker.backup.settings import BackupSettings
    except ImportError:
        pytest.skip("the backup commands' settings are not there yet")
    from docket_worker.settings import WorkerSettings

    own = {f.name.upper() for f in msgspec.structs.fields(BackupSettings)} - {
        f.name.upper() for f in msgspec.structs.fields(WorkerSettings)
    }
    config = set(values("worker")["backup"]["config"])
    assert config <= own, f"backup.config keys the backup commands do not read: {config - own}"
    assert own <= config | BACKUP_CHART_SET, (
        f"backup settings the chart does not map: {own - config - BACKUP_CHART_SET}"
    )


# ---------------------------------------------------------------------------------------------
# what the READMEs must say


def _readme(chart: str) -> str:
    return re.sub(r"\s+", " ", (CHARTS / chart / "README.md").read_text())


@pytest.mark.parametrize(
    ("chart", "phrases"),
    [
        (
            "api",
            [
                "ingress-nginx has been retired upstream",
                "per controller replica",
                "The API's Redis rate limiter (`config.RATE_LIMIT_*`) is the global one",
                'limit-req-status-code: "429"',
                "the old pods keep serving the old version",
                "External Secrets Operator",
                "sealed-secrets",
                "before-hook-creation,hook-succeeded",
                "MAX_UPLOAD_BYTES",
                "generates one (48 random characters)",
                "`lookup`",
                "`config.TRUSTED_PROXIES`",
                "docket/postgresql-connections",
                "`management` (`config.MANAGEMENT_PORT`, 8001)",
            ],
        ),
        (
            "web",
            [
                "ingress-nginx has been retired upstream",
                "per controller replica",
                'limit-req-status-code: "429"',
                "no `DATABASE_URL`",
                "`management` (`config.MANAGEMENT_PORT`, 8081)",
            ],
        ),
        (
            "worker",
            [
                "helm.sh/resource-policy: keep",
                "existingClaim",
                "backup verify --latest --restore-test",
                "WaitForFirstConsumer",
                "hook-failed",
                "parentMemoryMB",
                "docket/postgresql-connections",
            ],
        ),
        (
            "docket",
            [
                "External Secrets Operator",
                "sealed-secrets",
                "old pods keep serving",
                "grafana_dashboard",
                "postgresql.maxConnections",
                "global.devServices",
            ],
        ),
    ],
)
def test_readme_says_what_operators_must_know(chart: str, phrases: list[str]) -> None:
    readme = _readme(chart)
    missing = [phrase for phrase in phrases if phrase not in readme]
    assert not missing, f"charts/{chart}/README.md does not say {missing}"


def test_dashboard_queries_docket_metrics() -> None:
    import json

    dashboard = json.loads((CHARTS / "docket" / "dashboards" / "docket.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    text = "\n".join(expressions)
    for metric in (
        "docket_http_requests_total",
        "docket_http_request_duration_seconds_bucket",
        "docket_db_pool_in_use",
        "docket_db_pool_waiting",
        "docket_jobs_oldest_pending_seconds",
    ):
        assert metric in text, f"the dashboard does not show {metric}"
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_built_dependencies_stay_out_of_git() -> None:
    for chart in PACKAGED_CHARTS:
        for built in (f"charts/{chart}/charts/common-0.1.0.tgz", f"charts/{chart}/Chart.lock"):
            ignored = subprocess.run(["git", "check-ignore", "-q", built], cwd=ROOT, check=False)
            assert ignored.returncode == 0, f"{built} is not ignored by git"
        assert "charts/" not in (CHARTS / chart / ".helmignore").read_text().split(), (
            "helm package needs charts/"
        )
