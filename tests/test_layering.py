from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest_tracer

PACKAGE = Path(pytest_tracer.__file__).parent
MAY_IMPORT_PYTEST = {"plugin.py", "_xdist.py"}


def imported_top_levels(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_importing_the_package_does_not_import_pytest() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pytest_tracer; "
            "print(sorted(m for m in ('pytest', '_pytest') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.strip() == "[]"


def test_only_the_plugin_and_xdist_modules_import_pytest() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert modules, PACKAGE
    importing = {
        path.name
        for path in modules
        if imported_top_levels(path) & {"pytest", "_pytest"}
    }
    assert importing <= MAY_IMPORT_PYTEST


def test_the_scan_sees_pytest_imports(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("import os\nfrom _pytest.config import Config\nimport pytest\n")
    assert imported_top_levels(module) == {"os", "_pytest", "pytest"}
