"""A user repository on sqlite, each method timed."""

from __future__ import annotations

import sqlite3

from pytest_tracer import Timer


class UserRepository:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS users"
            " (id INTEGER PRIMARY KEY, name TEXT, email TEXT)"
        )

    @Timer("user_create")
    def create_user(self, user_data: dict[str, str]) -> int:
        cursor = self.db.execute(
            "INSERT INTO users (name, email) VALUES (:name, :email)", user_data
        )
        self.db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @Timer("user_bulk_import")
    def import_users(self, users_data: list[dict[str, str]]) -> int:
        with Timer("user_validation"):
            validated = [user for user in users_data if "@" in user["email"]]
        with Timer("user_db_insert"):
            self.db.executemany(
                "INSERT INTO users (name, email) VALUES (:name, :email)", validated
            )
            self.db.commit()
        return len(validated)

    def count(self) -> int:
        (count,) = self.db.execute("SELECT COUNT(*) FROM users").fetchone()
        return int(count)
