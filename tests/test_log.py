from __future__ import annotations

import inspect
import logging
import os
import re
import subprocess
import sys
import textwrap
import unittest

import pytest

from pytest_tracer import LINE_FORMAT, Logger, Timer

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

            if {configure_first}:
                logging.basicConfig(format="APP %(name)s %(message)s")
            logger = Logger("app")
            timer = Timer("query")
            if not {configure_first}:
                logging.basicConfig(format="APP %(name)s %(message)s")
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

    def test_caplog_sees_timer_lines(self, caplog: pytest.LogCaptureFixture) -> None:
        with Timer("log.captured"):
            pass
        ((name, level, message),) = caplog.record_tuples
        assert (name, level) == ("log.captured", logging.DEBUG)
        assert re.fullmatch(r"executed in \d+\.\d{6} ms", message)

    def test_records_carry_the_timer_name_and_duration(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
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
    def test_a_timer_first_made_inside_assertlogs_still_logs_afterwards(
        self,
    ) -> None:
        """assertLogs restores the unset level it found; the timer re-arms."""
        name = "log.first_inside_assertlogs"
        with self.assertLogs(name, level="DEBUG"), Timer(name):
            pass
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
        # The root logger's own level (WARNING) would have hidden it.
        assert [record.name for record in seen] == [name]
        assert logging.getLogger(name).level == logging.DEBUG
