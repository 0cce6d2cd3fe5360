"""Invoice rendering: slower than its limit, to show how a breach reads."""

from __future__ import annotations

import time

from pytest_tracer import Timer


@Timer("render_invoice")
def render_invoice(lines: list[tuple[str, int]]) -> str:
    time.sleep(0.02)  # a slow template engine
    return "\n".join(f"{item}: {cents / 100:.2f}" for item, cents in lines)
