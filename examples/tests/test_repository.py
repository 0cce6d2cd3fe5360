from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from shop.repository import UserRepository


@pytest.fixture
def repository() -> Iterator[UserRepository]:
    db = sqlite3.connect(":memory:")
    yield UserRepository(db)
    db.close()


def test_create_user(repository: UserRepository) -> None:
    repository.create_user({"name": "Ada", "email": "ada@example.org"})
    assert repository.count() == 1


def test_bulk_import_skips_invalid_emails(repository: UserRepository) -> None:
    users = [{"name": f"user{i}", "email": f"user{i}@example.org"} for i in range(500)]
    users.append({"name": "broken", "email": "nowhere"})
    assert repository.import_users(users) == 500
    assert repository.count() == 500


@pytest.mark.timer_thresholds(user_create="250ms")
def test_many_creates_within_a_looser_per_test_limit(
    repository: UserRepository,
) -> None:
    for i in range(50):
        repository.create_user({"name": f"u{i}", "email": f"u{i}@example.org"})
    assert repository.count() == 50
