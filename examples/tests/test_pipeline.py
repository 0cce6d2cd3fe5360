from __future__ import annotations

from shop.pipeline import process_dataset


def test_pipeline_keeps_valid_rows_only() -> None:
    sink: list[dict[str, object]] = []
    rows = [{"amount": 1.5}, {"amount": "n/a"}, {"amount": 2}] * 200
    result = process_dataset(rows, sink)
    assert len(result) == 400
    assert sink[0] == {"amount": 1.5, "amount_cents": 150, "currency": "EUR"}


def test_pipeline_statistics_are_available_to_the_test(timer) -> None:  # type: ignore[no-untyped-def]
    for _ in range(20):
        process_dataset([{"amount": 1}] * 100, [])
    stats = timer.stats("full_pipeline")
    assert stats.count == 20
    timer.assert_under("full_pipeline", "300ms", statistic="median")
