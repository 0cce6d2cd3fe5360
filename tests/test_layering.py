from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest_tracer

PACKAGE = Path(pytest_tracer.__file__).parent
# The plugin's own modules; everything else is core or pure and never
# imports pytest.
MAY_IMPORT_PYTEST = {
    "plugin.py",
    "_options.py",
    "_session.py",
    "_summary.py",
    "_confirm.py",
    "_xdist.py",
    "_outputs.py",
    "_hookspecs.py",
    "_history/hooks.py",
    "_ab/probe.py",
}


def modules() -> list[Path]:
    found = sorted(PACKAGE.rglob("*.py"))
    assert found, PACKAGE
    return found


def name_of(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


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


def test_only_the_plugin_modules_import_pytest() -> None:
    importing = {
        name_of(path)
        for path in modules()
        if imported_top_levels(path) & {"pytest", "_pytest"}
    }
    assert importing <= MAY_IMPORT_PYTEST
    assert "plugin.py" in importing


def test_nothing_imports_the_entry_point() -> None:
    """Imports run one way: from plugin.py to the rest, never back."""
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(alias.name for alias in node.names)]
                assert "plugin" not in names, name_of(path)


PLAIN_RUN = """
import sys
import pytest

code = pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]])
loaded = sorted(
    name
    for name in sys.modules
    if name.startswith(
        ("pytest_tracer._history", "pytest_tracer._ab", "pytest_tracer._xdist")
    )
)
print("LOADED", loaded)
sys.exit(code)
"""


def run_pytest(directory: Path, *args: str) -> str:
    """Run pytest in a fresh interpreter; its output, with the modules it loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PLAIN_RUN, *args],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_plain_run_loads_no_history(tmp_path: Path) -> None:
    """Thresholds, the report and the fixture work without the history."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest-tracer.thresholds]\nwork = "10s"\n'
    )
    (tmp_path / "test_it.py").write_text(
        "from pytest_tracer import Timer\n"
        "def test_it(timer):\n"
        "    with Timer('work'):\n"
        "        pass\n"
        "    timer.assert_under('work', '10s')\n"
    )
    output = run_pytest(tmp_path, "--timer-report", "--timer-report-per-test")
    assert "LOADED []" in output
    assert "timer report" in output


def test_only_xdist_loads_the_xdist_contract(tmp_path: Path) -> None:
    """A serial run (checked above) loads no xdist code; a distributing one does."""
    (tmp_path / "test_it.py").write_text("def test_it():\n    pass\n")
    assert "'pytest_tracer._xdist'" in run_pytest(tmp_path, "-n", "2")


def test_saving_loads_the_history(tmp_path: Path) -> None:
    """The check above can fail: asking for the history does load it."""
    (tmp_path / "test_it.py").write_text("def test_it():\n    pass\n")
    assert "'pytest_tracer._history.store'" in run_pytest(tmp_path, "--timer-save")


def test_the_scan_sees_pytest_imports(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("import os\nfrom _pytest.config import Config\nimport pytest\n")
    assert imported_top_levels(module) == {"os", "_pytest", "pytest"}


def test_the_result_types_are_public_and_imported_on_first_use() -> None:
    """Hook implementations annotate with them; production imports stay cheap."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pytest_tracer; "
            "print('pytest_tracer._results' in sys.modules); "
            "from pytest_tracer import FinishedTest, RunResults; "
            "print(FinishedTest.__module__, RunResults.__module__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "False",
        "pytest_tracer._results",
        "pytest_tracer._results",
    ]
