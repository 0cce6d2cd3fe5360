"""The command-line options, and their precedence over ``[tool.pytest-tracer]``.

A command-line option wins over its pyproject key, which wins over the
default written once in :class:`~pytest_tracer._config.TracerConfig`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Final, NamedTuple

import pytest

from ._config import (
    DEFAULT_STORE,
    STORE_VARIABLE,
    ConfigError,
    TracerConfig,
    load_config,
    resolve_store,
)

BASELINE_HELP: Final = (
    "latest (default), last[:N], branch:NAME[:N], file:PATH (a run's JSON), or a label"
)

REPORT_HELP: Final = "Print a table of every timer's statistics after the run"
_ROWS: Final = TracerConfig._field_defaults["report_rows"]
REPORT_ROWS_HELP: Final = (
    f"Show at most N rows in the timer report and N unchanged comparisons "
    f"(0: all; default {_ROWS})"
)
REPORT_PER_TEST_HELP: Final = "Print each test's timers after the run"
NO_ENFORCE_HELP: Final = "Report timers over their limits without failing the tests"
SAVE_HELP: Final = "Save this run's timings in the history, with an optional label"
COMPARE_HELP: Final = (
    f"Compare this run with saved runs and fail regressions: {BASELINE_HELP}"
)
STORE_HELP: Final = (
    "The history: a SQLite file or a postgresql:// URL (default: "
    f"${STORE_VARIABLE}, else [tool.pytest-tracer] store, else {DEFAULT_STORE} "
    "in the rootdir)"
)
CONFIRM_HELP: Final = (
    "Re-run a test whose timings broke a limit up to N times; "
    "fail only if every run breaks it (default: no re-runs)"
)
NORMALIZE_HELP: Final = (
    "Time a reference loop around each test and scale comparisons by the "
    "machine's speed against the baseline's"
)


class Options(NamedTuple):
    """Every setting of one run, command line and pyproject resolved.

    :param save_label: ``None``: do not save; ``""``: save without a label.
    :param compare: The baseline asked for, or ``None``.
    """

    settings: TracerConfig
    report: bool
    report_rows: int
    per_test: bool
    enforce: bool
    confirm: int
    normalize: bool
    save_label: str | None
    compare: str | None
    #: None: git's branch, or the CI's in a detached HEAD.
    branch: str | None
    #: A SQLite file, or a ``postgresql://`` URL.
    store: Path | str
    require_baseline: bool = False
    json_path: Path | None = None
    markdown_path: Path | None = None
    html_path: Path | None = None

    @property
    def writes_files(self) -> bool:
        """Whether the run writes a JSON, Markdown or HTML file."""
        return (
            self.json_path is not None
            or self.markdown_path is not None
            or self.html_path is not None
        )

    @property
    def uses_history(self) -> bool:
        return self.save_label is not None or self.compare is not None


BRANCH_HELP: Final = (
    "The branch to save this run under (default: git's, or in a detached HEAD "
    "the one the CI's variables name)"
)
REQUIRE_BASELINE_HELP: Final = (
    "Make a --timer-compare that finds no saved run a usage error, not a note"
)
JSON_HELP: Final = (
    "Write every timing, limit, breach and comparison of the run to PATH as "
    "JSON (schema in the README)"
)
HTML_HELP: Final = (
    "Write a self-contained HTML report with plots to PATH (with the history's "
    "trends when saving or comparing)"
)
MARKDOWN_HELP: Final = (
    "Write a Markdown summary to PATH (appended when PATH is $GITHUB_STEP_SUMMARY)"
)


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        msg = f"expected a whole number >= 0, got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def add_options(parser: pytest.Parser) -> None:
    """Register the ``--timer-*`` options."""
    group = parser.getgroup("tracer", "performance checks (pytest-tracer)")
    flag = {"action": "store_true", "default": None}
    group.addoption("--timer-report", **flag, help=REPORT_HELP)
    group.addoption(
        "--timer-report-rows",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=REPORT_ROWS_HELP,
    )
    group.addoption("--timer-report-per-test", **flag, help=REPORT_PER_TEST_HELP)
    group.addoption(
        "--timer-no-enforce",
        action="store_false",
        dest="timer_enforce",
        default=None,
        help=NO_ENFORCE_HELP,
    )
    group.addoption(
        "--timer-save", nargs="?", const="", metavar="LABEL", help=SAVE_HELP
    )
    group.addoption(
        "--timer-compare",
        nargs="?",
        const="latest",
        metavar="BASELINE",
        help=COMPARE_HELP,
    )
    group.addoption("--timer-store", metavar="PATH|URL", help=STORE_HELP)
    group.addoption("--timer-branch", metavar="NAME", help=BRANCH_HELP)
    group.addoption("--timer-require-baseline", **flag, help=REQUIRE_BASELINE_HELP)
    group.addoption("--timer-json", metavar="PATH", help=JSON_HELP)
    group.addoption("--timer-markdown", metavar="PATH", help=MARKDOWN_HELP)
    group.addoption("--timer-html", metavar="PATH", help=HTML_HELP)
    group.addoption("--timer-normalize", **flag, help=NORMALIZE_HELP)
    group.addoption(
        "--timer-confirm",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=CONFIRM_HELP,
    )


def find_pyproject(config: pytest.Config) -> Path:
    """The pyproject.toml beside the inifile, or else the rootdir's."""
    if config.inipath is not None:
        return config.inipath.parent / "pyproject.toml"
    return config.rootpath / "pyproject.toml"


def read_settings(config: pytest.Config) -> TracerConfig:
    """``[tool.pytest-tracer]`` of the project; a bad value is a usage error."""
    path = find_pyproject(config)
    try:
        label = str(path.relative_to(config.rootpath))
    except ValueError:
        label = str(path)
    try:
        return load_config(path, label=label, root=config.rootpath)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None


def resolve(config: pytest.Config, settings: TracerConfig) -> Options:
    """The options of this run, each command-line value over its pyproject key."""

    def option(name: str, fallback: Any) -> Any:
        value = config.getoption(name)
        return fallback if value is None else value

    try:
        store = resolve_store(
            config.getoption("timer_store"),
            cwd=config.invocation_params.dir,
            settings=settings,
            environ=os.environ,
        )
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    return Options(
        settings=settings,
        report=option("timer_report", settings.report),
        report_rows=option("timer_report_rows", settings.report_rows),
        per_test=option("timer_report_per_test", settings.report_per_test),
        enforce=option("timer_enforce", settings.enforce),
        confirm=option("timer_confirm", settings.confirm),
        normalize=option("timer_normalize", settings.normalize),
        save_label=_label(_optional_value(config, "--timer-save", "timer_save")),
        compare=_optional_value(config, "--timer-compare", "timer_compare"),
        branch=_branch(config),
        store=store,
        require_baseline=option("timer_require_baseline", settings.require_baseline),
        json_path=_path(config, "timer_json", settings.json_path),
        markdown_path=_path(config, "timer_markdown", settings.markdown_path),
        html_path=_path(config, "timer_html", settings.html_path),
    )


#: Labels that --timer-compare reads as another baseline form.
RESERVED_LABELS: Final = ("latest", "last")
RESERVED_PREFIXES: Final = ("last:", "branch:", "file:")


def _label(label: str | None) -> str | None:
    """A label to save under, refusing one --timer-compare could never select."""
    if label and (label in RESERVED_LABELS or label.startswith(RESERVED_PREFIXES)):
        msg = (
            f"--timer-save={label}: --timer-compare={label} means another"
            " baseline, so no comparison could select a run with that label;"
            " choose another label"
        )
        raise pytest.UsageError(msg)
    return label


def _branch(config: pytest.Config) -> str | None:
    value: str | None = config.getoption("timer_branch")
    if value is not None and not value.strip():
        msg = f"--timer-branch: expected a branch name, got {value!r}"
        raise pytest.UsageError(msg)
    return value


def _path(config: pytest.Config, dest: str, fallback: Path | None) -> Path | None:
    """An output file: from the command line, relative to where pytest started."""
    value = config.getoption(dest)
    if value is None:
        return fallback
    if not value.strip():
        msg = f"--{dest.replace('_', '-')}: expected a file path, got {value!r}"
        raise pytest.UsageError(msg)
    return config.invocation_params.dir / Path(value).expanduser()


def _optional_value(config: pytest.Config, flag: str, dest: str) -> str | None:
    """The value of ``--flag[=VALUE]``, refusing a test path taken by mistake."""
    value: str | None = config.getoption(dest)
    if not value:
        return value
    args = config.invocation_params.args
    written_with_equals = any(str(arg).startswith(f"{flag}=") for arg in args)
    looks_like_path = (
        "::" in value
        or value.endswith(".py")
        or (config.invocation_params.dir / value).exists()
    )
    if looks_like_path and not written_with_equals:
        msg = (
            f"{flag} took {value!r} as its value, but it looks like a test path: "
            f"write {flag}={value} to mean it, or put {flag} after the paths"
        )
        raise pytest.UsageError(msg)
    return value
