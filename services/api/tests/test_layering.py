"""The API's arrows point one way: ``server/`` and ``app.py`` wire the domain, and no domain module
imports them back. Checked by parsing every file's imports, so nothing has to run or be importable."""

from __future__ import annotations

import ast
from pathlib import Path

import docket_api

API_PACKAGE = Path(docket_api.__file__).parent
FORBIDDEN = ("docket_api.server", "docket_api.app")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in the file, relative imports resolved; for
    ``from a import b`` both ``a`` and ``a.b`` (``b`` may be a module)."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def layering_violations(domain: Path, root: Path) -> tuple[int, dict[str, list[str]]]:
    """How many files were read, and the forbidden imports of each file that has any."""
    files = sorted(domain.rglob("*.py"))
    bad: dict[str, list[str]] = {}
    for path in files:
        hits = sorted(
            name
            for name in imported_modules(path, root)
            if any(name == prefix or name.startswith(prefix + ".") for prefix in FORBIDDEN)
        )
        if hits:
            bad[str(path.relative_to(root))] = hits
    return len(files), bad


def test_no_domain_module_imports_the_server_layer() -> None:
    read, bad = layering_violations(API_PACKAGE / "domain", API_PACKAGE)
    assert read >= 20, f"only {read} files under domain/: the check is not looking where it should"
    assert bad == {}


PLANTED = {
    "absolute.py": "from docket_api.server.openapi import problem_spec\n",
    "plain.py": "import docket_api.server.gate\n",
    "package.py": "from docket_api import server\n",
    "relative.py": "from ...server import lifespan\n",
    "app.py": "from ... import app\n",
    "late.py": "def f() -> None:\n    from docket_api.server.ratelimit import RateLimiter\n",
}


def test_the_check_catches_each_way_of_planting_a_server_import(tmp_path: Path) -> None:
    root = tmp_path / "docket_api"
    context = root / "domain" / "documents"
    context.mkdir(parents=True)
    for folder in (root, root / "domain", context):
        (folder / "__init__.py").write_text("")
    (context / "clean.py").write_text("from docket_api.domain.auth.tokens import Principal\nimport uuid\n")
    for name, source in PLANTED.items():
        (context / name).write_text(source)
    read, bad = layering_violations(root / "domain", root)
    assert read == len(PLANTED) + 3
    assert sorted(Path(path).name for path in bad) == sorted(PLANTED)
