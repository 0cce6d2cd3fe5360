"""Fixtures shared by the history's tests: a history in each kind of store.

The PostgreSQL server comes from ``PYTEST_TRACER_TEST_POSTGRES``, a URL with
the right to create databases (``.ci/run`` starts a throwaway server and sets
it). Each test gets a database of its own, dropped afterwards. Without the
variable, the PostgreSQL cases skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from pytest_tracer._config import STORE_VARIABLE

pytest_plugins = ["pytester"]

# pytester's in-process runs drop the modules they imported: loaded there
# first, psycopg would come back as new module objects whose exception classes
# no longer match those of the connections already made. Load it once here.
with contextlib.suppress(ImportError):
    import psycopg  # noqa: F401

#: The server the PostgreSQL tests create their databases on.
POSTGRES_VARIABLE = "PYTEST_TRACER_TEST_POSTGRES"
#: The kinds of store the history's behaviours are tested against.
STORES = ("sqlite", "postgresql")


def postgres_server() -> str:
    """The test server's URL; skips the test when there is none."""
    url = os.environ.get(POSTGRES_VARIABLE, "").strip()
    if not url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_VARIABLE} (.ci/run does)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install -e '.[postgres]'")
    return url


def database_url(server: str, name: str) -> str:
    """*server*'s URL with its database replaced by *name*."""
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty database on the test server, dropped after the test."""
    import psycopg

    server = postgres_server()
    name = f"tracer_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield database_url(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


@pytest.fixture(params=STORES)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A history that does not exist yet: a SQLite file, or an empty database."""
    if request.param == "sqlite":
        return tmp_path / "history" / "history.sqlite"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A PYTEST_TRACER_STORE of the shell running the tests must not reach them.
    monkeypatch.delenv(STORE_VARIABLE, raising=False)
