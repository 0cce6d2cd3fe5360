"""An async endpoint: the handler and its stages are timed while awaited."""

from __future__ import annotations

import asyncio

from pytest_tracer import Timer

USERS = {1: {"id": 1, "name": "Ada"}, 2: {"id": 2, "name": "Grace"}}


async def fetch_user(user_id: int) -> dict[str, object]:
    await asyncio.sleep(0.002)  # a database round trip
    return USERS[user_id]


@Timer("get_user_endpoint")
async def get_user(user_id: int) -> dict[str, object]:
    with Timer("database_lookup"):
        user = await fetch_user(user_id)
    with Timer("user_serialization"):
        return dict(user)
