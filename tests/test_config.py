from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tracer._config import (
    DEFAULT_SOURCE,
    EXPECTED_PERCENTAGE,
    KNOWN_KEYS,
    ConfigError,
    Limit,
    NameEntry,
    NameTable,
    RegressionRule,
    Thresholds,
    TracerConfig,
    _percentage,
    _specificity,
    describe_store,
    load_config,
    resolve_store,
)
from pytest_tracer._stats import STATISTICS
from pytest_tracer._units import EXPECTED_DURATION

Load = Callable[[str], TracerConfig]


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    return tmp_path / "pyproject.toml"


@pytest.fixture
def load(pyproject: Path) -> Load:
    """Write *text* under ``[tool.pytest-tracer]`` and load it."""

    def load(text: str) -> TracerConfig:
        pyproject.write_text("[tool.pytest-tracer]\n" + text, encoding="utf-8")
        return load_config(pyproject)

    return load


def error_of(load: Load, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(text)
    return str(info.value)


class TestDefaults:
    def test_no_path_gives_the_defaults_rooted_at_root(self, tmp_path: Path) -> None:
        """Without a file every setting has its documented default."""
        config = load_config(None, root=tmp_path)
        assert config == TracerConfig(
            path=None,
            thresholds=Thresholds(),
            report=False,
            report_rows=20,
            report_per_test=False,
            enforce=True,
            store=tmp_path / ".pytest-tracer" / "history.sqlite",
            tolerance=0.10,
            noise_floor=100e-6,
            p_value=0.01,
            min_samples=8,
            history_runs=10,
            confirm=0,
            foreign_baseline="warn",
            regression=NameTable(),
            clocks=NameTable(),
            source=DEFAULT_SOURCE,
        )

    def test_no_path_and_no_root_resolve_the_store_in_the_current_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The current directory stands in for a missing root."""
        monkeypatch.chdir(tmp_path)
        store = load_config(None).store
        assert store == tmp_path / ".pytest-tracer" / "history.sqlite"

    def test_a_missing_file_gives_the_defaults(self, tmp_path: Path) -> None:
        """A pyproject.toml that does not exist is not an error."""
        path = tmp_path / "sub" / "pyproject.toml"
        config = load_config(path)
        assert config.path == path
        assert config.store == tmp_path / "sub" / ".pytest-tracer/history.sqlite"
        assert not config.thresholds

    def test_a_file_without_the_table_gives_the_defaults(self, pyproject: Path) -> None:
        """Other tools' tables are none of our business."""
        pyproject.write_text('[tool.black]\nline-length = 88\n[project]\nname = "x"\n')
        defaults = load_config(None, root=pyproject.parent)
        assert load_config(pyproject) == defaults._replace(path=pyproject)

    def test_a_file_whose_tool_is_not_a_table_gives_the_defaults(
        self, pyproject: Path
    ) -> None:
        """Only ``tool.pytest-tracer`` is read, so a strange ``tool`` is ignored."""
        pyproject.write_text("tool = 5\n")
        assert load_config(pyproject).report_rows == 20

    def test_an_empty_table_gives_the_defaults(self, load: Load) -> None:
        """Every key is optional."""
        config = load("")
        assert config.report_rows == 20
        assert config.tolerance == 0.10
        assert config.source == DEFAULT_SOURCE

    def test_the_config_is_frozen(self, load: Load) -> None:
        """Nothing can change a loaded config behind the plugin's back."""
        config = load("")
        with pytest.raises(AttributeError):
            config.report = True  # type: ignore[misc]

    def test_known_keys_name_every_field_read_from_the_table(self) -> None:
        """KNOWN_KEYS is what the unknown-key message lists."""
        fields = set(TracerConfig._fields)
        outputs = {"json", "markdown", "html"}
        assert set(KNOWN_KEYS) - {"store", *outputs} <= fields
        assert {"store", *(f"{key}_path" for key in outputs)} <= fields


class TestScalarKeys:
    def test_every_scalar_key_is_read(self, load: Load) -> None:
        """Each key lands in its field, converted."""
        config = load(
            "report = true\n"
            "report_rows = 0\n"
            "report_per_test = true\n"
            "enforce = false\n"
            'tolerance = "12.5%"\n'
            'noise_floor = "2ms"\n'
            "p_value = 0.05\n"
            "min_samples = 3\n"
            "history_runs = 30\n"
            "confirm = 2\n"
            'foreign_baseline = "refuse"\n'
        )
        assert config.report is True
        assert config.report_rows == 0
        assert config.report_per_test is True
        assert config.enforce is False
        assert config.tolerance == pytest.approx(0.125)
        assert config.noise_floor == pytest.approx(0.002)
        assert config.p_value == 0.05
        assert config.min_samples == 3
        assert config.history_runs == 30
        assert config.confirm == 2
        assert config.foreign_baseline == "refuse"

    def test_a_bare_noise_floor_is_milliseconds(self, load: Load) -> None:
        """Durations read like thresholds: a bare number means ms."""
        assert load("noise_floor = 0.5\n").noise_floor == pytest.approx(0.0005)

    def test_a_wrong_value_names_the_file_key_value_and_expectation(
        self, load: Load, pyproject: Path
    ) -> None:
        """The message stands alone, as pytest shows it without a traceback."""
        assert error_of(load, "report_rows = -1\n") == (
            f'{pyproject}: [tool.pytest-tracer] "report_rows" = -1: '
            "expected an integer from 0 to 1,000,000,000 (0 shows all rows)"
        )

    @pytest.mark.parametrize(
        ("line", "shown", "expected"),
        [
            ("report = 1", "1", "true or false"),
            ('report = "yes"', '"yes"', "true or false"),
            ("report_per_test = 0", "0", "true or false"),
            ("enforce = []", "[]", "true or false"),
            ("report_rows = true", "true", "an integer from 0 to"),
            ("report_rows = 2.0", "2.0", "an integer from 0 to"),
            ("report_rows = -1", "-1", "an integer from 0 to"),
            ('report_rows = "20"', '"20"', "an integer from 0 to"),
            ("min_samples = 2", "2", "an integer from 3 to"),
            ("min_samples = true", "true", "an integer from 3 to"),
            ("history_runs = 2", "2", "an integer from 3 to"),
            ("history_runs = 10.5", "10.5", "an integer from 3 to"),
            (
                "history_runs = 99999999999999999999999",
                "99999999999999999999999",
                "an integer from 3 to 10,000 (runs)",
            ),
            ("min_samples = 1025", "1025", "an integer from 3 to 1,024"),
            ("confirm = 101", "101", "an integer from 0 to 100"),
            ("confirm = -1", "-1", "an integer from 0 to 100 (re-runs on a breach)"),
            ("confirm = false", "false", "an integer from 0 to"),
            ("p_value = 0", "0", "a number greater than 0 and at most 0.5"),
            ("p_value = 0.6", "0.6", "a number greater than 0 and at most 0.5"),
            ("p_value = -0.01", "-0.01", "a number greater than 0 and at most 0.5"),
            ("p_value = true", "true", "a number greater than 0 and at most 0.5"),
            ('p_value = "0.01"', '"0.01"', "a number greater than 0 and at most 0.5"),
            ("foreign_baseline = true", "true", '"warn" or "refuse"'),
            ('foreign_baseline = "ignore"', '"ignore"', '"warn" or "refuse"'),
            ("store = 5", "5", "a file path or a postgresql:// URL as a string"),
            ('store = ""', '""', "a file path or a postgresql:// URL as a string"),
            ("noise_floor = 0", "0", EXPECTED_DURATION),
            ("noise_floor = -1", "-1", EXPECTED_DURATION),
            ("noise_floor = true", "true", EXPECTED_DURATION),
            ('noise_floor = "5 parsecs"', '"5 parsecs"', EXPECTED_DURATION),
            ('tolerance = "0%"', '"0%"', EXPECTED_PERCENTAGE),
            ('tolerance = "-5%"', '"-5%"', EXPECTED_PERCENTAGE),
            ('tolerance = "10"', '"10"', EXPECTED_PERCENTAGE),
            ("tolerance = true", "true", EXPECTED_PERCENTAGE),
        ],
    )
    def test_a_wrong_value_is_refused(
        self, load: Load, pyproject: Path, line: str, shown: str, expected: str
    ) -> None:
        """Types are checked strictly: a bool is no int, an int is no bool."""
        key = line.split(" = ")[0]
        message = error_of(load, line + "\n")
        assert message.startswith(
            f'{pyproject}: [tool.pytest-tracer] "{key}" = {shown}: expected {expected}'
        )

    def test_a_misspelt_choice_suggests_the_near_miss(self, load: Load) -> None:
        """The closest allowed value is offered."""
        message = error_of(load, 'foreign_baseline = "refuze"\n')
        assert message.endswith(
            '"foreign_baseline" = "refuze": expected "warn" or "refuse"; '
            'did you mean "refuse"?'
        )

    def test_a_bare_tolerance_suggests_writing_a_percentage(self, load: Load) -> None:
        """``tolerance = 10`` is almost right; the message shows the fix."""
        message = error_of(load, "tolerance = 10\n")
        assert message.endswith(
            '"tolerance" = 10: expected a positive percentage as a string '
            '("10%", "2.5%"); write "10%"'
        )

    def test_a_bare_fraction_tolerance_offers_both_readings(self, load: Load) -> None:
        """0.1 may mean 10% or 0.1%, so both spellings are suggested."""
        message = error_of(load, "tolerance = 0.1\n")
        assert message.endswith('write "0.1%" (or "10%" if 0.1 is a fraction)')


class TestUnknownKeys:
    def test_an_unknown_key_suggests_the_near_miss(
        self, load: Load, pyproject: Path
    ) -> None:
        """A typo is the usual cause, so the message names the likely key."""
        assert error_of(load, "reprot_rows = 5\n") == (
            f'{pyproject}: [tool.pytest-tracer] unknown key "reprot_rows"; '
            'did you mean "report_rows"? Known keys: ' + ", ".join(KNOWN_KEYS)
        )

    def test_an_unknown_key_without_near_miss_lists_the_known_keys(
        self, load: Load
    ) -> None:
        """No suggestion is better than a wild one."""
        message = error_of(load, "zzzzzz = 1\n")
        assert "did you mean" not in message
        assert message.endswith(
            'unknown key "zzzzzz". Known keys: ' + ", ".join(KNOWN_KEYS)
        )

    def test_a_table_that_is_not_a_table_is_refused(self, pyproject: Path) -> None:
        """``tool.pytest-tracer`` must be a table."""
        pyproject.write_text('[tool]\n"pytest-tracer" = 5\n')
        with pytest.raises(ConfigError) as info:
            load_config(pyproject)
        assert str(info.value) == (
            f'{pyproject}: [tool] "pytest-tracer" = 5: '
            "expected a table [tool.pytest-tracer]"
        )

    @pytest.mark.parametrize("key", ["thresholds", "regression", "clocks"])
    def test_a_name_table_that_is_not_a_table_is_refused(
        self, load: Load, pyproject: Path, key: str
    ) -> None:
        """The message shows how the table is written."""
        message = error_of(load, f'{key} = "50ms"\n')
        assert message.startswith(
            f'{pyproject}: [tool.pytest-tracer] "{key}" = "50ms": '
            f"expected a table, e.g. [tool.pytest-tracer.{key}] db_query = "
        )


class TestFileErrors:
    def test_invalid_toml_names_the_file_and_the_position(
        self, pyproject: Path
    ) -> None:
        """tomllib's message carries the line and column."""
        pyproject.write_text("[tool.pytest-tracer]\nreport = \n")
        with pytest.raises(ConfigError) as info:
            load_config(pyproject)
        message = str(info.value)
        assert message.startswith(f"{pyproject}: invalid TOML: ")
        assert re.search(r"line 2, column \d+", message)

    def test_a_file_that_is_not_utf8_is_refused(self, pyproject: Path) -> None:
        """TOML files are UTF-8; anything else gets a readable message."""
        pyproject.write_bytes(b'[tool.pytest-tracer]\nstore = "\xff"\n')
        with pytest.raises(ConfigError, match=r"invalid TOML: not UTF-8") as info:
            load_config(pyproject)
        assert str(info.value).startswith(str(pyproject))

    def test_a_directory_in_place_of_the_file_is_refused(self, tmp_path: Path) -> None:
        """Unreadable paths fail loudly rather than silently using defaults."""
        path = tmp_path / "pyproject.toml"
        path.mkdir()
        with pytest.raises(ConfigError, match="cannot read the file") as info:
            load_config(path)
        assert str(info.value).startswith(str(path))


class TestStorePath:
    def test_a_relative_store_is_resolved_next_to_the_pyproject(
        self,
        load: Load,
        pyproject: Path,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The current directory does not matter."""
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        config = load('store = "data/times.sqlite"\n')
        assert config.store == pyproject.parent / "data" / "times.sqlite"

    def test_the_default_store_is_next_to_the_pyproject(
        self, load: Load, pyproject: Path
    ) -> None:
        """Each project keeps its own history."""
        expected = pyproject.parent / ".pytest-tracer" / "history.sqlite"
        assert load("").store == expected

    def test_an_absolute_store_is_kept(self, load: Load, tmp_path: Path) -> None:
        """Absolute paths are taken as written."""
        target = tmp_path / "abs" / "h.sqlite"
        assert load(f"store = '{target}'\n").store == target

    def test_a_home_relative_store_is_expanded(
        self, load: Load, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``~`` means the user's home, as in a shell."""
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        store = load('store = "~/h.sqlite"\n').store
        assert store == tmp_path / "home" / "h.sqlite"

    def test_a_relative_pyproject_path_still_gives_an_absolute_store(
        self, pyproject: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The store does not move when the process changes directory later."""
        pyproject.write_text("[tool.pytest-tracer]\n")
        monkeypatch.chdir(pyproject.parent)
        config = load_config(Path("pyproject.toml"))
        assert isinstance(config.store, Path)
        assert config.store.is_absolute()
        assert config.store == pyproject.parent / ".pytest-tracer/history.sqlite"

    def test_a_postgresql_url_is_kept_as_written(self, load: Load) -> None:
        """A URL is not a path: nothing is joined to it."""
        url = "postgresql://ci@db.internal:5432/perf?sslmode=require"
        assert load(f"store = '{url}'\n").store == url
        assert (
            load("store = 'postgres://ci@db/perf'\n").store == "postgres://ci@db/perf"
        )


class TestStorePrecedence:
    """The command line, then PYTEST_TRACER_STORE, then the pyproject."""

    def settings(self, tmp_path: Path) -> TracerConfig:
        return TracerConfig(store=tmp_path / "configured.sqlite")

    def test_the_pyproject_is_the_fallback(self, tmp_path: Path) -> None:
        settings = self.settings(tmp_path)
        found = resolve_store(None, cwd=tmp_path, settings=settings, environ={})
        assert found == tmp_path / "configured.sqlite"

    def test_the_environment_beats_the_pyproject(self, tmp_path: Path) -> None:
        settings = self.settings(tmp_path)
        environ = {"PYTEST_TRACER_STORE": "postgresql://ci@db/perf"}
        found = resolve_store(None, cwd=tmp_path, settings=settings, environ=environ)
        assert found == "postgresql://ci@db/perf"
        blank = {"PYTEST_TRACER_STORE": "  "}
        found = resolve_store(None, cwd=tmp_path, settings=settings, environ=blank)
        assert found == tmp_path / "configured.sqlite"

    def test_the_command_line_beats_both(self, tmp_path: Path) -> None:
        settings = self.settings(tmp_path)
        environ = {"PYTEST_TRACER_STORE": "postgresql://ci@db/perf"}
        found = resolve_store(
            "local.sqlite", cwd=tmp_path / "cwd", settings=settings, environ=environ
        )
        assert found == tmp_path / "cwd" / "local.sqlite"

    def test_a_blank_command_line_value_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="blank, expected a file path or a"):
            resolve_store(" ", cwd=tmp_path, settings=TracerConfig(), environ={})

    @pytest.mark.parametrize(
        ("location", "shown"),
        [
            ("postgresql://ci:s3cret@db:5432/perf", "postgresql://ci:***@db:5432/perf"),
            ("postgresql://ci@db/perf", "postgresql://ci@db/perf"),
            ("postgresql://:pw@db/perf", "postgresql://:***@db/perf"),
            (Path("/x/h.sqlite"), "/x/h.sqlite"),
        ],
    )
    def test_messages_never_show_a_password(
        self, location: Path | str, shown: str
    ) -> None:
        assert describe_store(location) == shown


class TestThresholds:
    def test_a_bare_number_limits_max_in_milliseconds(self, load: Load) -> None:
        """``slow_op = 20`` is the shortest way to write a limit."""
        config = load("[tool.pytest-tracer.thresholds]\nslow_op = 20\n")
        assert config.thresholds.limits_for("slow_op") == (
            Limit(
                "max",
                20 * 1e-3,
                "pyproject.toml [tool.pytest-tracer.thresholds] slow_op",
            ),
        )

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("2.5", 0.0025), ('"50ms"', 0.05), ('"1.5s"', 1.5), ('"250us"', 250e-6)],
    )
    def test_a_duration_may_be_a_float_or_carry_a_unit(
        self, load: Load, value: str, seconds: float
    ) -> None:
        """Units ns, us, ms and s are accepted."""
        config = load(f"[tool.pytest-tracer.thresholds]\nop = {value}\n")
        (limit,) = config.thresholds.limits_for("op")
        assert limit.seconds == pytest.approx(seconds)

    def test_an_inline_table_limits_each_statistic_in_order(self, load: Load) -> None:
        """Several statistics of one timer can be limited at once."""
        config = load(
            "[tool.pytest-tracer.thresholds]\n"
            'db_query = { p95 = "20ms", median = 5, total = "2s" }\n'
        )
        limits = config.thresholds.limits_for("db_query")
        assert [(limit.statistic, limit.seconds) for limit in limits] == [
            ("p95", 20 * 1e-3),
            ("median", 5 * 1e-3),
            ("total", 2.0),
        ]
        assert {limit.source for limit in limits} == {
            "pyproject.toml [tool.pytest-tracer.thresholds] db_query"
        }

    def test_every_statistic_can_be_limited(self, load: Load) -> None:
        """STATISTICS is the full list the table accepts."""
        inline = ", ".join(f"{s} = 1" for s in STATISTICS)
        config = load(f"[tool.pytest-tracer.thresholds]\nop = {{ {inline} }}\n")
        limits = config.thresholds.limits_for("op")
        assert tuple(limit.statistic for limit in limits) == STATISTICS

    def test_the_label_names_the_file_in_sources(self, pyproject: Path) -> None:
        """A label such as a path relative to the rootdir replaces the file name."""
        pyproject.write_text("[tool.pytest-tracer.thresholds]\nop = 1\n")
        config = load_config(pyproject, label="sub/pyproject.toml")
        (limit,) = config.thresholds.limits_for("op")
        assert limit.source == "sub/pyproject.toml [tool.pytest-tracer.thresholds] op"

    def test_thresholds_are_false_when_empty_and_true_otherwise(
        self, load: Load
    ) -> None:
        """The plugin skips the check when there is nothing to check."""
        assert not load("").thresholds
        assert not load("[tool.pytest-tracer.thresholds]\n").thresholds
        assert load("[tool.pytest-tracer.thresholds]\nop = 1\n").thresholds

    def test_a_name_without_a_limit_has_none(self, load: Load) -> None:
        """Unlisted timers are not limited."""
        config = load("[tool.pytest-tracer.thresholds]\nop = 1\n")
        assert config.thresholds.limits_for("other") == ()

    def test_a_boolean_is_refused_with_the_documented_message(
        self, load: Load, pyproject: Path
    ) -> None:
        """``true`` is not a number of milliseconds."""
        message = error_of(load, "[tool.pytest-tracer.thresholds]\ndb_query = true\n")
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.thresholds] "db_query" = true: '
            "expected a duration of at least 1 ns: a number of milliseconds (50) "
            'or a string with a unit ns, us, ms or s ("50ms", "1.5s")'
        )

    @pytest.mark.parametrize(
        ("value", "shown"),
        [
            ("0", "0"),
            ("-5", "-5"),
            ('"0ms"', '"0ms"'),
            ('"5 parsecs"', '"5 parsecs"'),
            ('"5 minutes"', '"5 minutes"'),
            ('"fast"', '"fast"'),
            ("nan", "nan"),
            ("inf", "inf"),
        ],
    )
    def test_a_value_that_is_not_a_positive_duration_is_refused(
        self, load: Load, pyproject: Path, value: str, shown: str
    ) -> None:
        """Zero, negative, unknown units and non-finite numbers all fail."""
        message = error_of(load, f"[tool.pytest-tracer.thresholds]\nop = {value}\n")
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.thresholds] "op" = {shown}: '
            f"expected {EXPECTED_DURATION}"
        )

    def test_a_value_of_the_wrong_type_mentions_the_inline_table(
        self, load: Load
    ) -> None:
        """A list is neither form, so both forms are shown."""
        message = error_of(load, "[tool.pytest-tracer.thresholds]\nop = [1, 2]\n")
        assert message.endswith(
            f'"op" = [1, 2]: expected {EXPECTED_DURATION}, or an inline table of '
            'statistic to duration ({ p95 = "20ms", max = "50ms" })'
        )

    def test_an_empty_inline_table_is_refused(
        self, load: Load, pyproject: Path
    ) -> None:
        """A timer listed without any limit is most likely a mistake."""
        message = error_of(load, "[tool.pytest-tracer.thresholds]\nop = {}\n")
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.thresholds] "op" = {{}}: expected '
            "at least one statistic (max, min, mean, median, p95, p99, total) "
            'with a duration, e.g. { p95 = "20ms" }'
        )

    def test_an_unknown_statistic_suggests_the_near_miss(
        self, load: Load, pyproject: Path
    ) -> None:
        """``meadian`` is a typo for ``median``."""
        message = error_of(
            load, "[tool.pytest-tracer.thresholds]\nop = { meadian = 5 }\n"
        )
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.thresholds] "op": unknown statistic '
            '"meadian"; did you mean "median"? Known statistics: '
            "max, min, mean, median, p95, p99, total"
        )

    def test_a_wrong_value_inside_an_inline_table_names_the_statistic(
        self, load: Load, pyproject: Path
    ) -> None:
        """The dotted key points at the exact value."""
        message = error_of(
            load, '[tool.pytest-tracer.thresholds]\nop = { max = 5, p95 = "5m" }\n'
        )
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.thresholds] "op"."p95" = "5m": '
            f"expected {EXPECTED_DURATION}"
        )

    def test_an_empty_name_is_refused(self, load: Load, pyproject: Path) -> None:
        """An empty key can never match a timer."""
        message = error_of(load, '[tool.pytest-tracer.thresholds]\n"" = 5\n')
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.thresholds] "" = 5: '
            "expected a timer name or pattern as the key"
        )

    def test_a_pattern_applies_to_every_matching_name(self, load: Load) -> None:
        """Glob patterns save listing similar timers one by one."""
        config = load('[tool.pytest-tracer.thresholds]\n"db_*" = 5\n')
        assert config.thresholds.limits_for("db_query")
        assert config.thresholds.limits_for("db_")
        assert not config.thresholds.limits_for("DB_query")
        assert not config.thresholds.limits_for("my_db_query")


def table(*patterns: str) -> NameTable[str]:
    """A table whose values are the patterns themselves."""
    return NameTable(tuple(NameEntry(p, p, f"source of {p}") for p in patterns))


class TestNameResolution:
    def test_an_exact_name_wins_over_any_pattern(self) -> None:
        """Even a pattern written first loses to the name itself."""
        assert table("db_quer?", "db_*", "db_query").lookup("db_query") == "db_query"

    def test_an_exact_name_with_glob_characters_matches_itself(self) -> None:
        """``t[1]`` as a glob would not match the name ``t[1]``."""
        names = table("t[1]", "t*")
        assert names.lookup("t[1]") == "t[1]"
        assert names.lookup("t1") == "t[1]"

    @pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
    def test_the_pattern_with_most_literal_characters_wins(
        self, order: tuple[int, ...]
    ) -> None:
        """Specificity, not the order written, decides."""
        patterns = ["*", "db_*", "db_q*y"]
        names = table(*(patterns[i] for i in order))
        assert names.lookup("db_query") == "db_q*y"

    def test_on_equal_literals_the_pattern_with_fewer_wildcards_wins(self) -> None:
        """``db_?*`` and ``db_*`` have three literals each; ``db_*`` is plainer."""
        assert table("db_?*", "db_*").lookup("db_x") == "db_*"
        assert table("db_*", "db_?*").lookup("db_x") == "db_*"

    def test_on_a_full_tie_the_pattern_written_first_wins(self) -> None:
        """Both have one literal and one wildcard."""
        assert table("a*", "*b").lookup("ab") == "a*"
        assert table("*b", "a*").lookup("ab") == "*b"

    def test_a_bracket_set_counts_as_one_wildcard(self) -> None:
        """``[qx]`` ties with ``?``, so the first written wins."""
        assert table("db_[qx]", "db_?").lookup("db_q") == "db_[qx]"
        assert table("db_?", "db_[qx]").lookup("db_q") == "db_?"
        assert table("db_*", "db_[!x]").lookup("db_q") == "db_*"
        assert table("db_[!x]*", "db_*").lookup("db_q") == "db_*"

    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("abc", (3, 0)),
            ("a*c", (2, 1)),
            ("a?*", (1, 2)),
            ("[ab]c", (1, 1)),
            ("[!ab]c", (1, 1)),
            ("[]]x", (1, 1)),
            ("[!]]x", (1, 1)),
            ("a[", (2, 0)),
            ("a[*", (2, 1)),
            ("a[!", (3, 0)),
            ("", (0, 0)),
        ],
    )
    def test_specificity_counts_as_fnmatch_reads_the_pattern(
        self, pattern: str, expected: tuple[int, int]
    ) -> None:
        """An unclosed ``[`` is literal; ``]`` first in a set is part of it."""
        assert _specificity(pattern) == expected

    def test_matching_is_case_sensitive_and_whole_name(self) -> None:
        """``fnmatchcase`` semantics, on every platform."""
        names = table("db_*")
        assert names.lookup("DB_query") is None
        assert names.lookup("x_db_query") is None

    def test_no_match_gives_none(self) -> None:
        """An empty or unrelated table applies to nothing."""
        assert NameTable[str]().lookup("x") is None
        assert table("a*").find("b") is None
        assert not NameTable[str]()
        assert len(table("a", "b")) == 2

    def test_find_returns_the_entry_with_its_source(self) -> None:
        """Callers show where the winning setting came from."""
        entry = table("a*").find("ab")
        assert entry == NameEntry("a*", "a*", "source of a*")

    def test_replacing_keeps_the_place_of_a_replaced_key(self) -> None:
        """The place breaks ties, so an override must not lose it."""
        replaced = table("a*", "*b").replaced([NameEntry("a*", "new", "override")])
        assert replaced.lookup("ab") == "new"
        assert [e.pattern for e in replaced.entries] == ["a*", "*b"]

    def test_replacing_appends_new_keys(self) -> None:
        """A new key goes last, losing full ties to keys written before it."""
        replaced = table("a*").replaced([NameEntry("*b", "new", "override")])
        assert [e.pattern for e in replaced.entries] == ["a*", "*b"]
        assert replaced.lookup("ab") == "a*"


names = st.text(alphabet="ab", min_size=0, max_size=5)
patterns = st.text(alphabet="ab*?", min_size=1, max_size=5)


class TestNameResolutionProperties:
    @given(name=names, others=st.lists(patterns, max_size=6), at=st.integers(0, 6))
    def test_the_exact_name_always_wins(
        self, name: str, others: list[str], at: int
    ) -> None:
        """Wherever it is written, the name beats every pattern."""
        keys = [p for p in dict.fromkeys(others) if p != name]
        keys.insert(min(at, len(keys)), name)
        entry = table(*keys).find(name)
        assert entry is not None
        assert entry.pattern == name

    @given(name=names, keys=st.lists(patterns, max_size=6, unique=True))
    def test_the_winner_matches_and_no_match_is_more_specific(
        self, name: str, keys: list[str]
    ) -> None:
        """The winner is a most specific match; a table with no match gives None."""
        from fnmatch import fnmatchcase

        matching = [k for k in keys if fnmatchcase(name, k) or k == name]
        entry = table(*keys).find(name)
        if not matching:
            assert entry is None
            return
        assert entry is not None
        assert entry.pattern in matching
        if entry.pattern != name:
            literal, wildcards = _specificity(entry.pattern)
            for other in matching:
                other_literal, other_wildcards = _specificity(other)
                assert (other_literal, -other_wildcards) <= (literal, -wildcards)

    @given(name=names, keys=st.lists(patterns, max_size=6, unique=True), data=st.data())
    def test_the_order_written_only_breaks_ties(
        self, name: str, keys: list[str], data: st.DataObject
    ) -> None:
        """Shuffling keys can change the winner only to an equally specific key."""
        shuffled = data.draw(st.permutations(keys))
        first = table(*keys).find(name)
        second = table(*shuffled).find(name)
        if first is None or second is None:
            assert first is second is None
        else:
            assert _specificity(first.pattern) == _specificity(second.pattern)


MARKER = "@pytest.mark.timer_thresholds(slow_op=...) on test_x"


class TestOverrides:
    @pytest.fixture
    def thresholds(self, load: Load) -> Thresholds:
        return load(
            "[tool.pytest-tracer.thresholds]\n"
            'slow_op = { max = "50ms", median = "10ms" }\n'
            '"db_*" = "5ms"\n'
        ).thresholds

    def test_an_override_replaces_the_limits_of_its_key(
        self, thresholds: Thresholds
    ) -> None:
        """The file's median limit goes too: the override is the whole entry."""
        overridden = thresholds.with_overrides({"slow_op": "200ms"}, MARKER)
        assert overridden.limits_for("slow_op") == (Limit("max", 200 * 1e-3, MARKER),)

    def test_other_keys_are_kept(self, thresholds: Thresholds) -> None:
        """Overriding one timer leaves the others as configured."""
        overridden = thresholds.with_overrides({"slow_op": 1}, MARKER)
        assert overridden.limits_for("db_query") == thresholds.limits_for("db_query")

    def test_the_original_is_unchanged(self, thresholds: Thresholds) -> None:
        """Overrides for one test must not leak into the next."""
        before = thresholds.limits_for("slow_op")
        thresholds.with_overrides({"slow_op": 1}, MARKER)
        assert thresholds.limits_for("slow_op") == before

    def test_an_override_may_add_a_more_specific_name(
        self, thresholds: Thresholds
    ) -> None:
        """An exact name beats the file's pattern."""
        overridden = thresholds.with_overrides({"db_query": {"p95": 1.5}}, MARKER)
        (limit,) = overridden.limits_for("db_query")
        assert (limit.statistic, limit.source) == ("p95", MARKER)
        assert overridden.limits_for("db_other") == thresholds.limits_for("db_other")

    def test_overrides_on_empty_thresholds_create_them(self) -> None:
        """A marker works without any pyproject.toml."""
        assert not Thresholds()
        overridden = Thresholds().with_overrides({"op": "1s"}, MARKER)
        assert overridden
        assert overridden.limits_for("op")[0].seconds == 1.0

    @pytest.mark.parametrize(
        ("entries", "message"),
        [
            (
                {"slow_op": True},
                f"{MARKER}: slow_op=True: expected {EXPECTED_DURATION}",
            ),
            (
                {"slow_op": -1},
                f"{MARKER}: slow_op=-1: expected {EXPECTED_DURATION}",
            ),
            (
                {"slow_op": {"median": "fast"}},
                f"{MARKER}: slow_op['median']='fast': expected {EXPECTED_DURATION}",
            ),
            (
                {"slow_op": {"meadian": 5}},
                f'{MARKER}: slow_op: unknown statistic "meadian"; did you mean '
                '"median"? Known statistics: max, min, mean, median, p95, p99, total',
            ),
            (
                {"slow_op": {}},
                f"{MARKER}: slow_op={{}}: expected at least one statistic",
            ),
            (
                {"slow_op": None},
                f"{MARKER}: slow_op=None: expected {EXPECTED_DURATION}, or an inline",
            ),
            (
                {"": 5},
                f"{MARKER}: =5: expected a timer name or pattern as the key",
            ),
        ],
    )
    def test_a_bad_override_names_its_source(
        self, thresholds: Thresholds, entries: dict[str, object], message: str
    ) -> None:
        """Values are shown as Python, since the marker is Python."""
        with pytest.raises(ConfigError) as info:
            thresholds.with_overrides(entries, MARKER)
        assert str(info.value).startswith(message)


class TestRegression:
    def test_the_global_rule_applies_without_an_entry(self, load: Load) -> None:
        """``tolerance`` and ``noise_floor`` are the defaults for every timer."""
        config = load('tolerance = "20%"\nnoise_floor = "1ms"\n')
        assert config.regression_for("op") == RegressionRule(
            20 / 100,
            1e-3,
            "pyproject.toml [tool.pytest-tracer]",
        )

    def test_the_default_rule_names_the_defaults(self) -> None:
        """Nothing configured: the source says so."""
        assert load_config(None).regression_for("op") == RegressionRule(
            0.10, 100e-6, DEFAULT_SOURCE
        )

    def test_a_percentage_sets_the_tolerance_only(self, load: Load) -> None:
        """The noise floor still comes from the global setting."""
        config = load(
            'noise_floor = "1ms"\n[tool.pytest-tracer.regression]\n"db_*" = "25%"\n'
        )
        rule = config.regression_for("db_query")
        assert rule.tolerance == pytest.approx(0.25)
        assert rule.noise_floor == pytest.approx(0.001)
        assert rule.source == "pyproject.toml [tool.pytest-tracer.regression] db_*"

    def test_an_inline_table_may_set_only_the_noise_floor(self, load: Load) -> None:
        """Each field falls back on its own."""
        config = load(
            'tolerance = "30%"\n'
            "[tool.pytest-tracer.regression]\n"
            'op = { noise_floor = "2ms" }\n'
        )
        rule = config.regression_for("op")
        assert rule.tolerance == pytest.approx(0.3)
        assert rule.noise_floor == pytest.approx(0.002)

    def test_an_inline_table_may_set_both(self, load: Load) -> None:
        """Both fields of the entry win over the global ones."""
        config = load(
            "[tool.pytest-tracer.regression]\n"
            'op = { tolerance = "5%", noise_floor = 3 }\n'
        )
        rule = config.regression_for("op")
        assert (rule.tolerance, rule.noise_floor) == (5 / 100, 3 * 1e-3)

    def test_the_most_specific_regression_entry_wins(self, load: Load) -> None:
        """Regression entries resolve names like thresholds."""
        config = load('[tool.pytest-tracer.regression]\n"*" = "50%"\n"db_*" = "25%"\n')
        assert config.regression_for("db_query").tolerance == pytest.approx(0.25)
        assert config.regression_for("other").tolerance == pytest.approx(0.5)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (
                "25",
                '"op" = 25: expected a positive percentage as a string '
                '("10%", "2.5%"); write "25%"',
            ),
            ('"25"', f'"op" = "25": expected {EXPECTED_PERCENTAGE}'),
            ("true", f'"op" = true: expected {EXPECTED_PERCENTAGE}'),
            (
                "[1]",
                f'"op" = [1]: expected {EXPECTED_PERCENTAGE}, or an inline table '
                '{ tolerance = "25%", noise_floor = "1ms" }',
            ),
            ("{}", '"op" = {}: expected tolerance ("10%") and/or noise_floor'),
            (
                "{ tolerance = 5 }",
                '"op"."tolerance" = 5: expected a positive percentage as a string',
            ),
            (
                '{ noise_floor = "1 parsec" }',
                f'"op"."noise_floor" = "1 parsec": expected {EXPECTED_DURATION}',
            ),
            (
                '{ tolerence = "5%" }',
                '"op": unknown key "tolerence"; did you mean "tolerance"? '
                "Known keys: tolerance, noise_floor",
            ),
        ],
    )
    def test_a_bad_regression_entry_is_refused(
        self, load: Load, pyproject: Path, value: str, message: str
    ) -> None:
        """Messages point at the entry, and at the inner key when there is one."""
        text = error_of(load, f"[tool.pytest-tracer.regression]\nop = {value}\n")
        assert text.startswith(f"{pyproject}: [tool.pytest-tracer.regression] ")
        assert message in text


class TestClocks:
    def test_the_wall_clock_is_the_default(self, load: Load) -> None:
        """Timers are judged by elapsed time unless told otherwise."""
        assert load("").clock_for("op") == "wall"

    def test_a_pattern_selects_the_cpu_clock(self, load: Load) -> None:
        """Clock entries resolve names like thresholds."""
        config = load('[tool.pytest-tracer.clocks]\n"cpu_*" = "cpu"\ncpu_io = "wall"\n')
        assert config.clock_for("cpu_hash") == "cpu"
        assert config.clock_for("cpu_io") == "wall"
        assert config.clock_for("other") == "wall"

    def test_an_unknown_clock_suggests_the_near_miss(
        self, load: Load, pyproject: Path
    ) -> None:
        """Only wall and cpu exist."""
        message = error_of(load, '[tool.pytest-tracer.clocks]\nop = "cpus"\n')
        assert message == (
            f'{pyproject}: [tool.pytest-tracer.clocks] "op" = "cpus": '
            'expected "wall" or "cpu"; did you mean "cpu"?'
        )

    def test_a_clock_of_the_wrong_type_is_refused(self, load: Load) -> None:
        """A boolean is not a clock name."""
        message = error_of(load, "[tool.pytest-tracer.clocks]\nop = true\n")
        assert message.endswith('"op" = true: expected "wall" or "cpu"')


class TestPercentages:
    """``tolerance`` takes a percentage string; the messages name the key."""

    @pytest.mark.parametrize(
        ("text", "fraction"),
        [
            ('"10%"', 0.10),
            ('"2.5%"', 0.025),
            ('" 10 % "', 0.10),
            ('"150%"', 1.5),
            ('".5%"', 0.005),
            ('"1e1%"', 0.10),
        ],
    )
    def test_a_percentage_becomes_a_fraction(
        self, load: Load, text: str, fraction: float
    ) -> None:
        """Over 100% is fine: it allows a timer to more than double."""
        assert load(f"tolerance = {text}\n").tolerance == pytest.approx(fraction)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("10", f'"tolerance" = 10: expected {EXPECTED_PERCENTAGE}; write "10%"'),
            (
                "0.5",
                f'"tolerance" = 0.5: expected {EXPECTED_PERCENTAGE}; '
                'write "0.5%" (or "50%" if 0.5 is a fraction)',
            ),
            ("-5", f'"tolerance" = -5: expected {EXPECTED_PERCENTAGE}'),
            ("0", f'"tolerance" = 0: expected {EXPECTED_PERCENTAGE}'),
            ("true", f'"tolerance" = true: expected {EXPECTED_PERCENTAGE}'),
            ('"0%"', f'"tolerance" = "0%": expected {EXPECTED_PERCENTAGE}'),
            ('"-5%"', f'"tolerance" = "-5%": expected {EXPECTED_PERCENTAGE}'),
            ('"10"', f'"tolerance" = "10": expected {EXPECTED_PERCENTAGE}'),
            ('"%"', f'"tolerance" = "%": expected {EXPECTED_PERCENTAGE}'),
            ('"ten%"', f'"tolerance" = "ten%": expected {EXPECTED_PERCENTAGE}'),
            ('"1e999%"', f'"tolerance" = "1e999%": expected {EXPECTED_PERCENTAGE}'),
        ],
    )
    def test_anything_else_is_refused_naming_the_key(
        self, load: Load, value: str, message: str
    ) -> None:
        """A bare number gets a hint; the rest get the expected form."""
        assert error_of(load, f"tolerance = {value}\n").endswith(message)

    @given(st.decimals(min_value="0.001", max_value="100000", places=3))
    def test_every_positive_decimal_percentage_round_trips(
        self, value: Decimal
    ) -> None:
        """What is written is what is used, divided by a hundred."""
        assert _percentage(f"{value}%") == pytest.approx(float(value) / 100)


HUGE = "1" + "0" * 400


class TestHostileValues:
    """Values that once escaped as tracebacks or silent nonsense."""

    @pytest.mark.parametrize(
        ("text", "key", "expected"),
        [
            (
                f"[tool.pytest-tracer.thresholds]\ndb_query = {HUGE}",
                "db_query",
                "a duration of at least 1 ns",
            ),
            (
                f"[tool.pytest-tracer.thresholds]\ndb_query = -{HUGE}",
                "db_query",
                "a duration of at least 1 ns",
            ),
            (
                f"[tool.pytest-tracer.thresholds]\ndb_query = {{ p95 = {HUGE} }}",
                "p95",
                "a duration",
            ),
            (
                "[tool.pytest-tracer.thresholds]\ndb_query = 1e-320",
                "db_query",
                "a duration of at least 1 ns",
            ),
            (
                '[tool.pytest-tracer.thresholds]\ndb_query = "0.1ns"',
                "db_query",
                "at least 1 ns",
            ),
            (
                f"[tool.pytest-tracer]\ntolerance = {HUGE}",
                "tolerance",
                "a positive percentage",
            ),
            (
                f"[tool.pytest-tracer]\nnoise_floor = {HUGE}",
                "noise_floor",
                "a duration",
            ),
            (
                f"[tool.pytest-tracer]\nhistory_runs = {HUGE}",
                "history_runs",
                "an integer from 3 to 10,000",
            ),
            (
                '[tool.pytest-tracer]\nstore = "a\\u0000b"',
                "store",
                "a NUL character cannot be part",
            ),
            (
                '[tool.pytest-tracer]\nstore = "~nosuchuser-x9/h.sqlite"',
                "store",
                "names no user",
            ),
        ],
    )
    def test_each_is_a_config_error_naming_the_key(
        self, pyproject: Path, text: str, key: str, expected: str
    ) -> None:
        pyproject.write_text(text + "\n", encoding="utf-8")

        with pytest.raises(ConfigError) as info:
            load_config(pyproject)

        message = str(info.value)
        assert message.startswith(f"{pyproject}: ")
        assert f'"{key}"' in message
        assert expected in message
        assert "0" * 50 not in message  # a huge number is named, not printed
        assert "\x00" not in message

    def test_an_integer_beyond_python_s_digit_limit_is_a_config_error(
        self, pyproject: Path
    ) -> None:
        pyproject.write_text(
            "[tool.pytest-tracer.thresholds]\ndb_query = 1" + "0" * 5000 + "\n"
        )
        with pytest.raises(ConfigError, match="a value cannot be read"):
            load_config(pyproject)

    def test_a_store_from_the_environment_is_checked_too(self, tmp_path: Path) -> None:
        settings = TracerConfig(store=tmp_path / "h.sqlite")
        for value, expected in (
            ("a\x00b", "NUL character"),
            ("~nosuchuser-x9/h", "names no user"),
        ):
            with pytest.raises(ConfigError, match=expected) as info:
                resolve_store(
                    None,
                    cwd=tmp_path,
                    settings=settings,
                    environ={"PYTEST_TRACER_STORE": value},
                )
            assert str(info.value).startswith("PYTEST_TRACER_STORE=")
            with pytest.raises(ConfigError, match=expected):
                resolve_store(value, cwd=tmp_path, settings=settings, environ={})

    def test_control_characters_in_keys_are_escaped_in_messages(
        self, pyproject: Path
    ) -> None:
        pyproject.write_text(
            '[tool.pytest-tracer.thresholds]\n"\\u001b[2Jdb" = true\n', encoding="utf-8"
        )
        with pytest.raises(ConfigError) as info:
            load_config(pyproject)
        assert "\x1b" not in str(info.value)
        assert '"\\u001B[2Jdb"' in str(info.value)


class TestNearMisses:
    @pytest.mark.parametrize(
        "table", ["pytest_tracer", "pytest_tracer.thresholds", "Pytest-Tracer"]
    )
    def test_a_table_spelled_otherwise_is_refused(
        self, pyproject: Path, table: str
    ) -> None:
        pyproject.write_text(f"[tool.{table}]\ndb_query = 1\n")

        with pytest.raises(ConfigError) as info:
            load_config(pyproject)

        first = table.split(".")[0]
        assert str(info.value) == (
            f"{pyproject}: [tool.{first}] is not read: pytest-tracer reads"
            " [tool.pytest-tracer] (lower case, with a hyphen); rename the table"
        )

    def test_other_tools_tables_are_left_alone(self, pyproject: Path) -> None:
        pyproject.write_text("[tool.pytest]\nx = 1\n[tool.tracer]\ny = 2\n")
        assert load_config(pyproject).thresholds == Thresholds()


def test_an_inline_table_key_with_a_newline_is_escaped(pyproject: Path) -> None:
    """Found by the fuzz test: inline tables printed their keys raw."""
    pyproject.write_text('[tool.pytest-tracer]\nreport = { "\\n" = 0 }\n')
    with pytest.raises(ConfigError) as info:
        load_config(pyproject)
    assert "\n" not in str(info.value)
    assert '"report" = { "\\n" = 0 }: expected true or false' in str(info.value)
