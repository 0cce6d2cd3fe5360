from __future__ import annotations

import asyncio

from shop.endpoint import get_user


def test_endpoint_returns_the_user() -> None:
    assert asyncio.run(get_user(1)) == {"id": 1, "name": "Ada"}


def test_concurrent_requests_are_timed_one_by_one() -> None:
    async def many() -> list[dict[str, object]]:
        return await asyncio.gather(*(get_user(1 + i % 2) for i in range(20)))

    assert len(asyncio.run(many())) == 20
