from __future__ import annotations

import pytest
from shop.invoices import render_invoice


@pytest.mark.xfail(
    reason="deliberate breach: render_invoice takes ~20 ms, its limit is 5 ms",
    strict=True,
)
def test_invoice_rendering_is_fast() -> None:
    # The body passes; the timing breaks [tool.pytest-tracer.thresholds]
    # render_invoice, and that alone fails the test.
    assert render_invoice([("tea", 350), ("cake", 420)]).startswith("tea")
