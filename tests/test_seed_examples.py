"""Every example of the seed document, run as written (sleeps shortened).

The seed imports from ``tools.tracer``, ``tools.logger`` and ``tools.config``;
here everything comes from ``pytest_tracer``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sqlite3
import time
import unittest
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

import pytest_tracer._timer as timer_module
from pytest_tracer import Logger, Settings, Timer

SLEEP = 0.002
TIMER_LINE = re.compile(r"executed in (\d+\.\d{6}) ms")


def timer_ms(message: str) -> float:
    match = TIMER_LINE.fullmatch(message)
    assert match, message
    return float(match.group(1))


def lines(caplog: pytest.LogCaptureFixture, *names: str) -> list[tuple[str, int, str]]:
    return [record for record in caplog.record_tuples if record[0] in names]


def timer_names(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.name for r in caplog.records if TIMER_LINE.fullmatch(r.getMessage())]


@pytest.fixture(autouse=True)
def _no_outside_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    # The examples are about logging; keep the pytest plugin's receivers out.
    monkeypatch.setattr(timer_module, "_receivers", ())
    monkeypatch.setattr(timer_module, "_sinks", ())


@pytest.fixture(autouse=True)
def ask_for_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Under pytest, timer lines are records only when DEBUG is asked for."""
    caplog.set_level(logging.DEBUG)


def test_as_a_context_manager(caplog: pytest.LogCaptureFixture) -> None:
    with Timer("database_query"):
        time.sleep(SLEEP)  # Simulate database query

    ((name, level, message),) = caplog.record_tuples
    assert (name, level) == ("database_query", logging.DEBUG)
    assert timer_ms(message) >= SLEEP * 1000


def test_as_a_decorator(caplog: pytest.LogCaptureFixture) -> None:
    @Timer("process_data")
    def process_data(data: list[int]) -> list[int]:
        time.sleep(SLEEP)  # Simulate processing
        return data

    result = process_data([1, 2, 3])

    assert result == [1, 2, 3]
    ((name, level, message),) = caplog.record_tuples
    assert (name, level) == ("process_data", logging.DEBUG)
    assert timer_ms(message) >= SLEEP * 1000


@dataclass
class User:
    id: int
    name: str

    def dict(self) -> dict[str, Any]:
        return asdict(self)


class FakeDatabase:
    async def get_user(self, user_id: int) -> User:
        await asyncio.sleep(SLEEP)
        return User(user_id, f"user {user_id}")


def test_api_endpoint_monitoring(caplog: pytest.LogCaptureFixture) -> None:
    from fastapi import FastAPI

    with warnings.catch_warnings():
        # Starlette's test client prefers httpx2 to the installed httpx.
        warnings.filterwarnings("ignore", message="Using `httpx` with")
        from fastapi.testclient import TestClient

    db = FakeDatabase()
    app = FastAPI()

    @app.get("/users/{user_id}")
    @Timer("get_user_endpoint")
    async def get_user(user_id: int) -> dict[str, Any]:
        with Timer("database_lookup"):
            user = await db.get_user(user_id)

        with Timer("user_serialization"):
            return user.dict()

    with TestClient(app) as client:
        response = client.get("/users/7")

    assert response.json() == {"id": 7, "name": "user 7"}
    assert timer_names(caplog) == [
        "database_lookup",
        "user_serialization",
        "get_user_endpoint",
    ]


def validate_data(data: list[int]) -> list[int]:
    time.sleep(SLEEP)
    return [item for item in data if item >= 0]


def transform_data(data: list[int]) -> list[int]:
    return [item * 2 for item in data]


def enrich_data(data: list[int]) -> list[dict[str, int]]:
    return [{"value": item} for item in data]


def test_data_processing_pipeline(caplog: pytest.LogCaptureFixture) -> None:
    logger = Logger(__name__)
    saved: list[list[dict[str, int]]] = []

    @Timer("full_pipeline")
    def process_dataset(data: list[int]) -> list[dict[str, int]]:
        logger.info(f"Processing {len(data)} records")  # noqa: G004 - as in the seed

        with Timer("data_validation"):
            validated = validate_data(data)

        with Timer("data_transformation"):
            transformed = transform_data(validated)

        with Timer("data_enrichment"):
            enriched = enrich_data(transformed)

        with Timer("data_storage"):
            saved.append(enriched)

        logger.info("Pipeline complete")
        return enriched

    assert process_dataset([1, -1, 2]) == [{"value": 2}, {"value": 4}]
    assert saved == [[{"value": 2}, {"value": 4}]]
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert [(name, level) for name, level, _ in records] == [
        (__name__, "INFO"),
        ("data_validation", "DEBUG"),
        ("data_transformation", "DEBUG"),
        ("data_enrichment", "DEBUG"),
        ("data_storage", "DEBUG"),
        (__name__, "INFO"),
        ("full_pipeline", "DEBUG"),
    ]
    assert records[0][2] == "Processing 3 records"
    assert records[5][2] == "Pipeline complete"


class UserRepository:
    """The seed's repository, on sqlite3 instead of SQLAlchemy."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @Timer("user_create")
    def create_user(self, user_data: dict[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO users (name, email) VALUES (:name, :email)", user_data
        )
        self.db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @Timer("user_bulk_import")
    def import_users(self, users_data: list[dict[str, Any]]) -> None:
        with Timer("user_validation"):
            validated = [u for u in users_data if "@" in u["email"]]

        with Timer("user_db_insert"):
            self.db.executemany(
                "INSERT INTO users (name, email) VALUES (:name, :email)", validated
            )
            self.db.commit()


@pytest.fixture
def database() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT)"
    )
    yield connection
    connection.close()


def test_database_operations(
    caplog: pytest.LogCaptureFixture, database: sqlite3.Connection
) -> None:
    repository = UserRepository(database)

    assert repository.create_user({"name": "ada", "email": "ada@example.org"}) == 1
    repository.import_users(
        [
            {"name": "bob", "email": "bob@example.org"},
            {"name": "eve", "email": "not an address"},
        ]
    )

    names = [row[0] for row in database.execute("SELECT name FROM users ORDER BY id")]
    assert names == ["ada", "bob"]
    assert timer_names(caplog) == [
        "user_create",
        "user_validation",
        "user_db_insert",
        "user_bulk_import",
    ]


def test_file_processing(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    def transform(data: dict[str, int]) -> dict[str, int]:
        return {key: value * 10 for key, value in data.items()}

    @Timer("process_json_file")
    def process_json_file(filepath: str) -> dict[str, int]:
        with Timer("file_read"), open(filepath) as f:
            data = json.load(f)

        with Timer("data_processing"):
            processed = transform(data)

        with Timer("file_write"), open(f"{filepath}.processed", "w") as f:
            json.dump(processed, f)

        return processed

    source = tmp_path / "input.json"
    source.write_text(json.dumps({"a": 1, "b": 2}))

    assert process_json_file(str(source)) == {"a": 10, "b": 20}
    written = json.loads((tmp_path / "input.json.processed").read_text())
    assert written == {"a": 10, "b": 20}
    assert timer_names(caplog) == [
        "file_read",
        "data_processing",
        "file_write",
        "process_json_file",
    ]


class Model:
    def __init__(self, weight: int) -> None:
        self.weight = weight

    def predict(self, dataset: list[int]) -> list[int]:
        time.sleep(SLEEP)
        return [item * self.weight for item in dataset]


def test_nested_timers_print_inner_lines_before_outer_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def load_model_a() -> Model:
        time.sleep(SLEEP)
        return Model(2)

    def load_model_b() -> Model:
        return Model(3)

    def combine(a: list[int], b: list[int]) -> list[int]:
        return [x + y for x, y in zip(a, b, strict=True)]

    @Timer("complete_analysis")
    def analyze_data(dataset: list[int]) -> list[int]:
        with Timer("load_models"):
            model_a = load_model_a()
            model_b = load_model_b()

        with Timer("run_models"):
            with Timer("model_a_inference"):
                results_a = model_a.predict(dataset)

            with Timer("model_b_inference"):
                results_b = model_b.predict(dataset)

        with Timer("combine_results"):
            final = combine(results_a, results_b)

        return final

    assert analyze_data([1, 2]) == [5, 10]
    assert timer_names(caplog) == [
        "load_models",
        "model_a_inference",
        "model_b_inference",
        "run_models",
        "combine_results",
        "complete_analysis",
    ]
    ms = {r.name: timer_ms(r.getMessage()) for r in caplog.records}
    assert ms["run_models"] >= ms["model_a_inference"] + ms["model_b_inference"]
    assert ms["complete_analysis"] >= (
        ms["load_models"] + ms["run_models"] + ms["combine_results"]
    )


def test_integration_with_logging(caplog: pytest.LogCaptureFixture) -> None:
    logger = Logger(__name__)

    def preprocess(items: list[int]) -> list[int]:
        return sorted(items)

    def process(items: list[int]) -> list[int]:
        return [item + 1 for item in items]

    @Timer("expensive_operation")
    def expensive_operation(items: list[int]) -> list[int]:
        logger.info(f"Starting operation with {len(items)} items")  # noqa: G004

        with Timer("preprocessing"):
            preprocessed = preprocess(items)
            logger.debug(f"Preprocessed {len(preprocessed)} items")  # noqa: G004

        with Timer("main_processing"):
            results = process(preprocessed)
            logger.debug(f"Processed into {len(results)} results")  # noqa: G004

        logger.info("Operation complete")
        return results

    assert expensive_operation([3, 1]) == [2, 4]
    assert [(r.name, r.levelname) for r in caplog.records] == [
        (__name__, "INFO"),
        (__name__, "DEBUG"),
        ("preprocessing", "DEBUG"),
        (__name__, "DEBUG"),
        ("main_processing", "DEBUG"),
        (__name__, "INFO"),
        ("expensive_operation", "DEBUG"),
    ]
    assert caplog.records[1].getMessage() == "Preprocessed 2 items"
    assert caplog.records[1].funcName == "expensive_operation"


@pytest.mark.parametrize("threshold_ms", [0, 60_000])
def test_combine_with_monitoring(
    caplog: pytest.LogCaptureFixture, database: sqlite3.Connection, threshold_ms: int
) -> None:
    logger = Logger(__name__)
    database.execute("INSERT INTO users (name, email) VALUES ('ada', 'a@b')")

    @Timer("database_query")
    def query_users(filters: dict[str, str]) -> list[tuple[Any, ...]]:
        start = time.time()

        with Timer("db_execution"):
            results = database.execute(
                "SELECT * FROM users WHERE name = :name", filters
            ).fetchall()

        duration_ms = (time.time() - start) * 1000

        if duration_ms >= threshold_ms:
            logger.warning(f"Slow query detected: {duration_ms:.2f}ms")  # noqa: G004

        return results

    assert query_users({"name": "ada"}) == [(1, "ada", "a@b")]
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == (1 if threshold_ms == 0 else 0)
    assert timer_names(caplog) == ["db_execution", "database_query"]


class Metrics:
    def __init__(self) -> None:
        self.timings: list[tuple[str, float]] = []

    def record_timing(self, name: str, milliseconds: float) -> None:
        self.timings.append((name, milliseconds))


metrics = Metrics()


class MetricsTimer(Timer):
    """Timer that also records metrics to a metrics system."""

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)

        # Record to metrics system
        assert self._duration is not None
        metrics.record_timing(self.name, self._duration * 1000)


def test_custom_timer_subclass(caplog: pytest.LogCaptureFixture) -> None:
    metrics.timings.clear()

    def call_api() -> str:
        time.sleep(SLEEP)
        return "response"

    with MetricsTimer("api_call"):
        response = call_api()

    @MetricsTimer("api_call_decorated")
    def decorated() -> str:
        return call_api()

    assert response == decorated() == "response"
    assert [name for name, _ in metrics.timings] == ["api_call", "api_call_decorated"]
    assert all(ms >= SLEEP * 1000 for _, ms in metrics.timings)
    logged = {r.name: timer_ms(r.getMessage()) for r in caplog.records}
    assert logged == {name: float(f"{ms:f}") for name, ms in metrics.timings}


@pytest.mark.parametrize(("raw", "timed"), [("true", True), ("false", False)])
def test_conditional_timing(
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    raw: str,
    timed: bool,
) -> None:
    monkeypatch.setenv("ENABLE_PROFILING", raw)
    settings = Settings()

    def maybe_timer(name: str) -> AbstractContextManager[object]:
        """Return Timer if profiling is enabled, else no-op."""
        if settings.ENABLE_PROFILING:
            return Timer(name)
        return nullcontext()

    def process_data() -> None:
        pass

    with maybe_timer("optional_timing") as context:
        process_data()

    assert isinstance(context, Timer) is timed
    assert timer_names(caplog) == (["optional_timing"] if timed else [])


class TestTimerLogging(unittest.TestCase):
    """The seed's Testing section, in the unittest.TestCase it needs."""

    def test_timer_logging(self) -> None:
        with self.assertLogs(level=logging.DEBUG) as cm, Timer("test_operation"):
            pass  # Instant operation

        assert "test_operation" in cm.output[0]
        assert "executed in" in cm.output[0]
        assert "ms" in cm.output[0]
        assert cm.output[0].startswith("DEBUG:test_operation:executed in ")


def test_timer_logging_with_caplog(caplog: pytest.LogCaptureFixture) -> None:
    with Timer("test_operation"):
        pass  # Instant operation

    ((name, level, message),) = lines(caplog, "test_operation")
    assert (name, level) == ("test_operation", logging.DEBUG)
    assert "executed in" in message
    assert message.endswith(" ms")


class TestWithoutAskingForDebug:
    @pytest.fixture(autouse=True)
    def ask_for_debug(self) -> None:
        """Ask for nothing: pytest leaves the root logger at WARNING."""

    def test_a_timer_makes_no_record(self, caplog: pytest.LogCaptureFixture) -> None:
        with Timer("test_operation"):
            pass  # Instant operation

        assert caplog.records == []
        assert logging.getLogger("test_operation").level == logging.NOTSET
