from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import unittest
from collections.abc import Iterator

import pytest

from pytest_tracer import LINE_FORMAT, Logger, Timer
from pytest_tracer._log import set_fallback

LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| (?P<level>[A-Z]+) \| "
    r"(?P<name>[\w.]+):(?P<function>[\w<>]+):(?P<line>\d+) - (?P<message>.*)$"
)
EXIT_LINE = inspect.getsourcelines(Timer.__exit__)[1]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run *code* in a fresh interpreter, so no logging setup leaks in or out."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        timeout=60,
    )


class TestLineFormat:
    def test_a_timer_prints_the_seed_line_when_the_application_set_up_nothing(
        self,
    ) -> None:
        result = run_python(
            """
            import time
            from pytest_tracer import Timer

            with Timer("database_query"):
                time.sleep(0.001)
            """
        )
        (line,) = result.stderr.splitlines()
        match = LINE.match(line)
        assert match, line
        assert match["level"] == "DEBUG"
        assert match["name"] == "database_query"
        assert match["function"] == "__exit__"
        assert int(match["line"]) == EXIT_LINE
        assert re.fullmatch(r"executed in \d+\.\d{6} ms", match["message"])
        assert result.stdout == ""

    def test_the_line_matches_the_seed_exactly_at_the_seed_moment(self) -> None:
        result = run_python(
            """
            from freezegun import freeze_time
            from pytest_tracer import Timer
            from pytest_tracer._clock import Clocks

            readings = iter([10.0, 11.0])
            Clocks.wall = lambda: next(readings)
            with freeze_time("2038-01-19 03:14:07"):
                with Timer("database_query"):
                    pass
            """,
            TZ="UTC",
        )
        assert result.stderr.splitlines() == [
            "2038-01-19 03:14:07,000 | DEBUG | "
            f"database_query:__exit__:{EXIT_LINE} - executed in 1000.000000 ms"
        ]

    def test_a_logger_names_the_calling_function_and_line(self) -> None:
        result = run_python(
            """
            from pytest_tracer import Logger

            def load():
                Logger("app.loader").info("Processing %d records", 3)

            load()
            """
        )
        (line,) = result.stderr.splitlines()
        match = LINE.match(line)
        assert match, line
        assert match.group("level", "name", "function", "line", "message") == (
            "INFO",
            "app.loader",
            "load",
            "5",
            "Processing 3 records",
        )

    def test_the_format_is_public(self) -> None:
        assert LINE_FORMAT == (
            "%(asctime)s | %(levelname)s | %(name)s:%(funcName)s:%(lineno)d"
            " - %(message)s"
        )


class TestPrintedOnce:
    def test_no_line_is_printed_twice_however_many_loggers_are_made(self) -> None:
        result = run_python(
            """
            from pytest_tracer import Logger, Timer

            for _ in range(3):
                Logger("a")
                Logger("a.b")
                Logger("a.b.c")
            Logger("a.b").warning("once from a.b")
            Logger("a").info("once from a")
            with Timer("a.b.c"):
                pass
            with Timer("a.b.c"):
                pass
            """
        )
        messages = [LINE.match(line) for line in result.stderr.splitlines()]
        assert [(m["name"], m["message"][:12]) for m in messages if m] == [
            ("a.b", "once from a."),
            ("a", "once from a"),
            ("a.b.c", "executed in "),
            ("a.b.c", "executed in "),
        ]
        assert len(messages) == 4

    @pytest.mark.parametrize("configure_first", [True, False])
    def test_an_application_that_configures_logging_gets_lines_via_its_handlers_only(
        self, configure_first: bool
    ) -> None:
        result = run_python(
            f"""
            import logging
            from pytest_tracer import Logger, Timer

            def configure():
                logging.basicConfig(
                    level=logging.DEBUG, format="APP %(name)s %(message)s"
                )

            if {configure_first}:
                configure()
            logger = Logger("app")
            timer = Timer("query")
            if not {configure_first}:
                configure()
            logger.info("hello")
            with timer:
                pass
            """
        )
        lines = result.stderr.splitlines()
        assert lines[0] == "APP app hello"
        assert re.fullmatch(r"APP query executed in \d+\.\d{6} ms", lines[1])
        assert len(lines) == 2

    def test_an_application_whose_handlers_skip_debug_sees_no_timer_lines(
        self,
    ) -> None:
        result = run_python(
            """
            import logging
            from pytest_tracer import Timer

            handler = logging.StreamHandler()
            handler.setLevel(logging.INFO)
            logging.getLogger().addHandler(handler)
            with Timer("quiet"):
                pass
            logging.getLogger("loud").warning("kept")
            """
        )
        assert result.stderr.splitlines() == ["kept"]

    def test_a_full_dictconfig_replaces_the_default_output(self) -> None:
        result = run_python(
            """
            import logging.config
            from pytest_tracer import Timer

            timer = Timer("configured")
            logging.config.dictConfig({
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"plain": {"format": "CFG %(name)s %(levelname)s"}},
                "handlers": {"err": {
                    "class": "logging.StreamHandler", "formatter": "plain"
                }},
                "root": {"handlers": ["err"], "level": "DEBUG"},
            })
            with timer:
                pass
            """
        )
        assert result.stderr.splitlines() == ["CFG configured DEBUG"]


class TestStandardLogging:
    def test_logger_returns_the_stdlib_logger_set_to_debug(self) -> None:
        logger = Logger("log.plain")
        assert logger is logging.getLogger("log.plain")
        assert logger.level == logging.DEBUG
        assert logger.propagate
        assert Logger("log.plain") is logger

    def test_a_level_set_before_is_kept(self) -> None:
        logging.getLogger("log.preset").setLevel(logging.WARNING)
        assert Logger("log.preset").level == logging.WARNING

    def test_caplog_sees_timer_lines_when_asked_for_debug(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.DEBUG), Timer("log.captured"):
            pass
        ((name, level, message),) = caplog.record_tuples
        assert (name, level) == ("log.captured", logging.DEBUG)
        assert re.fullmatch(r"executed in \d+\.\d{6} ms", message)

    def test_records_carry_the_timer_name_and_duration(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="log.fields")
        with Timer("log.fields") as timer:
            pass
        (record,) = caplog.records
        assert record.__dict__["timer_name"] == "log.fields"
        assert record.__dict__["timer_duration"] == timer._duration

    def test_logger_lines_reach_caplog_with_the_caller_location(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        Logger("log.caller").info("from the test")
        (record,) = caplog.records
        assert (
            record.funcName == "test_logger_lines_reach_caplog_with_the_caller_location"
        )
        assert record.getMessage() == "from the test"


class TestAssertLogs(unittest.TestCase):
    def test_assertlogs_on_the_timer_name_sees_the_line(self) -> None:
        with (
            self.assertLogs("database_query", level="DEBUG") as cm,
            Timer("database_query"),
        ):
            pass
        assert len(cm.output) == 1
        assert re.fullmatch(
            r"DEBUG:database_query:executed in \d+\.\d{6} ms", cm.output[0]
        )

    def test_assertlogs_on_the_root_logger_sees_the_line(self) -> None:
        with self.assertLogs(level=logging.DEBUG) as cm, Timer("test_operation"):
            pass
        assert "test_operation" in cm.output[0]
        assert "executed in" in cm.output[0]


class TestAfterAssertLogs(unittest.TestCase):
    def test_a_timer_first_made_inside_assertlogs_leaves_the_level_unset(
        self,
    ) -> None:
        """assertLogs restores the unset level it found, and the timer keeps it."""
        name = "log.first_inside_assertlogs"
        with self.assertLogs(name, level="DEBUG") as cm, Timer(name):
            pass
        assert len(cm.records) == 1
        assert logging.getLogger(name).level == logging.NOTSET
        seen: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                seen.append(record)

        handler = Keep()
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            with Timer(name):
                pass
        finally:
            root.removeHandler(handler)
        # The root logger's own level (WARNING) decides, as for any record.
        assert seen == []
        assert logging.getLogger(name).level == logging.NOTSET
        assert logging.getLogger(name).handlers == []


TIMER_SCRIPT = """
import logging
from pytest_tracer import Timer
from pytest_tracer._log import set_fallback

{setup}
with Timer("db_query"):
    pass
"""


class TestTimerFollowsTheApplication:
    """A Timer logs where and when the standard effective level says."""

    @pytest.mark.parametrize(
        "setup",
        [
            "logging.basicConfig(level=logging.WARNING)",
            "logging.basicConfig()",
            'logging.getLogger("db_query").setLevel(logging.INFO)',
            "logging.disable(logging.DEBUG)",
            'logging.getLogger("db_query").addHandler(logging.StreamHandler())',
            'logging.getLogger("db_query").disabled = True',
            "set_fallback(False)",
            "set_fallback(False); logging.root.setLevel(logging.DEBUG)",
        ],
    )
    def test_configured_or_silenced_it_prints_nothing(self, setup: str) -> None:
        result = run_python(TIMER_SCRIPT.format(setup=setup))
        assert result.stderr == ""

    def test_basicconfig_at_debug_gets_exactly_one_line_through_its_handler(
        self,
    ) -> None:
        result = run_python(
            TIMER_SCRIPT.format(setup="logging.basicConfig(level=logging.DEBUG)")
        )
        (line,) = result.stderr.splitlines()
        assert re.fullmatch(r"DEBUG:db_query:executed in \d+\.\d{6} ms", line)

    @pytest.mark.parametrize(
        "setup",
        [
            "",
            "set_fallback(True)",
            # Asked for DEBUG, but no handler would take it: lastResort drops
            # DEBUG records, the fallback prints them.
            "logging.root.setLevel(logging.DEBUG)",
            'logging.getLogger("db_query").setLevel(logging.DEBUG)',
        ],
    )
    def test_with_no_handler_anywhere_the_fallback_prints_the_line_once(
        self, setup: str
    ) -> None:
        result = run_python(TIMER_SCRIPT.format(setup=setup))
        (line,) = result.stderr.splitlines()
        match = LINE.match(line)
        assert match, line
        assert match.group("level", "name", "function") == (
            "DEBUG",
            "db_query",
            "__exit__",
        )
        assert int(match["line"]) == EXIT_LINE

    def test_a_timer_never_turns_on_debug_lines_of_the_loggers_below_it(
        self,
    ) -> None:
        result = run_python(
            """
            import logging
            from pytest_tracer import Timer

            logging.basicConfig(level=logging.INFO)
            with Timer("shop"):
                logging.getLogger("shop.db").debug("hidden")
            Timer("shop.db")
            logging.getLogger("shop.db").debug("hidden too")
            logging.getLogger("shop.db").info("shown")
            """
        )
        assert result.stderr.splitlines() == ["INFO:shop.db:shown"]

    def test_a_timer_named_root_leaves_the_root_logger_alone(self) -> None:
        result = run_python(
            """
            import logging
            from pytest_tracer import Timer

            root = logging.getLogger()
            before = (list(root.handlers), root.level)
            with Timer("root"):
                pass
            print(before == (list(root.handlers), root.level), root.handlers)
            """
        )
        assert result.stdout == "True []\n"
        (line,) = result.stderr.splitlines()
        match = LINE.match(line)
        assert match, line
        assert match["name"] == "root"

    @pytest.mark.parametrize(
        "setup", ["", "logging.basicConfig(level=logging.DEBUG, force=True)"]
    )
    def test_every_logger_keeps_its_level_and_handlers(self, setup: str) -> None:
        result = run_python(
            f"""
            import asyncio
            import json
            import logging
            from pytest_tracer import Timer

            {setup}

            def snapshot():
                loggers = [logging.root, *(
                    logger
                    for logger in logging.root.manager.loggerDict.values()
                    if isinstance(logger, logging.Logger)
                )]
                return {{
                    logger.name: [
                        logger.level,
                        len(logger.handlers),
                        logger.propagate,
                        logger.disabled,
                    ]
                    for logger in loggers
                }}

            logging.getLogger("app").setLevel(logging.INFO)
            logging.getLogger("app.db")
            before = snapshot()

            @Timer("app.db.query")
            def query():
                with Timer("app"), Timer("other"):
                    pass

            @Timer("app.db")
            async def fetch():
                query()

            @Timer("rows")
            def rows():
                yield 1

            query()
            asyncio.run(fetch())
            list(rows())
            after = snapshot()
            print(json.dumps({{
                "changed": {{
                    name: [levels, after[name]]
                    for name, levels in before.items()
                    if after[name] != levels
                }},
                "new": {{
                    name: levels
                    for name, levels in after.items()
                    if name not in before
                }},
            }}))
            """
        )
        report = json.loads(result.stdout)
        assert report["changed"] == {}
        assert set(report["new"]) >= {"app.db.query", "other", "rows"}
        assert all(levels == [0, 0, True, False] for levels in report["new"].values())


@contextlib.contextmanager
def logging_left_as_the_stdlib_leaves_it() -> Iterator[None]:
    """No handler on the root logger, which is at WARNING: a fresh interpreter.

    Put back before the test ends, so pytest's own handlers are unharmed.
    """
    root = logging.root
    handlers, level = root.handlers, root.level
    root.handlers = []
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.handlers = handlers
        root.setLevel(level)


@pytest.fixture
def fallback_on() -> Iterator[None]:
    """The fallback on, as outside pytest, whatever the plugin chose."""
    previous = set_fallback(True)
    yield
    set_fallback(previous)


def printed_timer_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "executed in" in line]


class Keep(logging.Handler):
    """Keeps what it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.usefixtures("fallback_on")
class TestNobodyConfigured:
    """In this process, with the root logger briefly as a fresh one."""

    def test_the_line_is_printed_through_the_fallback(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with logging_left_as_the_stdlib_leaves_it(), Timer("fresh.timer"):
            pass
        (line,) = printed_timer_lines(capsys.readouterr().err)
        match = LINE.match(line)
        assert match, line
        assert match.group("level", "name", "function") == (
            "DEBUG",
            "fresh.timer",
            "__exit__",
        )

    def test_a_handler_added_afterwards_is_configuration(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # addHandler leaves the level cache as it was: the answer is not cached.
        keep = Keep()
        timer = Timer("fresh.later")
        with logging_left_as_the_stdlib_leaves_it():
            with timer:
                pass
            assert len(printed_timer_lines(capsys.readouterr().err)) == 1
            logging.getLogger("fresh.later").addHandler(keep)
            try:
                with timer:
                    pass
            finally:
                logging.getLogger("fresh.later").removeHandler(keep)
            logging.root.addHandler(keep)
            with timer:
                pass
        assert printed_timer_lines(capsys.readouterr().err) == []
        assert keep.records == []

    @pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
    def test_a_level_on_a_parent_is_configuration(
        self, level: int, capsys: pytest.CaptureFixture[str]
    ) -> None:
        parent = logging.getLogger(f"fresh.parent_{level}")
        parent.setLevel(level)
        try:
            with logging_left_as_the_stdlib_leaves_it(), Timer(f"{parent.name}.child"):
                pass
        finally:
            parent.setLevel(logging.NOTSET)
        lines = printed_timer_lines(capsys.readouterr().err)
        # At DEBUG it was asked for; with no handler the fallback prints it.
        assert len(lines) == (1 if level == logging.DEBUG else 0)

    def test_the_fallback_handler_alone_is_not_configuration(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        name = "fresh.with_fallback"
        Logger(name).setLevel(logging.NOTSET)  # as assertLogs would leave it
        with logging_left_as_the_stdlib_leaves_it(), Timer(f"{name}.child"):
            pass
        assert len(printed_timer_lines(capsys.readouterr().err)) == 1

    def test_a_disabled_logger_prints_nothing(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        logger = logging.getLogger("fresh.disabled")
        logger.disabled = True
        try:
            with logging_left_as_the_stdlib_leaves_it(), Timer("fresh.disabled"):
                pass
        finally:
            logger.disabled = False
        assert printed_timer_lines(capsys.readouterr().err) == []

    def test_asked_for_debug_a_handler_on_the_way_takes_the_record(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        keep = Keep()
        logger = logging.getLogger("fresh.kept")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(keep)
        try:
            with logging_left_as_the_stdlib_leaves_it(), Timer("fresh.kept"):
                pass
        finally:
            logger.removeHandler(keep)
            logger.setLevel(logging.NOTSET)
        assert [record.name for record in keep.records] == ["fresh.kept"]
        assert printed_timer_lines(capsys.readouterr().err) == []

    def test_asked_for_debug_a_logger_that_does_not_propagate_gets_the_fallback(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        logger = logging.getLogger("fresh.alone")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        try:
            # A handler above it would not get the record: it counts for nothing.
            with logging_left_as_the_stdlib_leaves_it():
                logging.root.addHandler(Keep())
                with Timer("fresh.alone"):
                    pass
        finally:
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
        assert len(printed_timer_lines(capsys.readouterr().err)) == 1

    def test_the_timer_logger_filters_apply_to_the_fallback_too(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        logger = logging.getLogger("fresh.filtered")
        logger.addFilter(lambda record: False)
        try:
            with logging_left_as_the_stdlib_leaves_it(), Timer("fresh.filtered"):
                pass
        finally:
            logger.filters.clear()
        assert printed_timer_lines(capsys.readouterr().err) == []

    def test_with_the_fallback_off_nothing_is_printed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert set_fallback(False) is True
        try:
            with logging_left_as_the_stdlib_leaves_it():
                with Timer("fresh.off"):
                    pass
                logging.root.setLevel(logging.DEBUG)
                with Timer("fresh.off"):
                    pass
        finally:
            assert set_fallback(True) is False
        assert printed_timer_lines(capsys.readouterr().err) == []

    def test_turning_the_fallback_back_on_prints_again(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        # A timer remembers a quiet logger; the switch must make it forget.
        timer = Timer("fresh.switched")
        with logging_left_as_the_stdlib_leaves_it():
            set_fallback(False)
            try:
                with timer:
                    pass
            finally:
                set_fallback(True)
            with timer:
                pass
        assert len(printed_timer_lines(capsys.readouterr().err)) == 1

    def test_a_level_change_after_a_quiet_timing_is_seen(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Quiet is remembered in the level cache, which a new level clears.
        timer = Timer("fresh.relevelled")
        with timer:
            pass
        caplog.set_level(logging.DEBUG, logger="fresh.relevelled")
        with timer:
            pass
        assert [r.name for r in caplog.records] == ["fresh.relevelled"]


class TestTimerLeavesLoggingAlone:
    def test_no_level_and_no_handler_is_set_on_the_timer_logger(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        @Timer("log.untouched.decorated")
        def work() -> None:
            pass

        with Timer("log.untouched"):
            work()
        for name in ("log.untouched", "log.untouched.decorated", "log"):
            logger = logging.getLogger(name)
            assert (logger.level, logger.handlers) == (logging.NOTSET, [])
        assert caplog.records == []

    def test_under_pytest_a_timer_makes_a_record_only_when_asked_for_debug(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        with Timer("log.unasked"):
            pass
        assert caplog.records == []
        with caplog.at_level(logging.DEBUG, logger="log.unasked"), Timer("log.unasked"):
            pass
        assert [r.name for r in caplog.records] == ["log.unasked"]
