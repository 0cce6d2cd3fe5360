"""A data pipeline with a timer per stage."""

from __future__ import annotations

from pytest_tracer import Logger, Timer

logger = Logger(__name__)

Record = dict[str, object]


def validate_data(data: list[Record]) -> list[Record]:
    return [row for row in data if isinstance(row.get("amount"), (int, float))]


def transform_data(data: list[Record]) -> list[Record]:
    return [{**row, "amount_cents": round(float(row["amount"]) * 100)} for row in data]  # type: ignore[arg-type]


def enrich_data(data: list[Record]) -> list[Record]:
    return [{**row, "currency": "EUR"} for row in data]


@Timer("full_pipeline")
def process_dataset(data: list[Record], sink: list[Record]) -> list[Record]:
    logger.info("Processing %d records", len(data))
    with Timer("data_validation"):
        validated = validate_data(data)
    with Timer("data_transformation"):
        transformed = transform_data(validated)
    with Timer("data_enrichment"):
        enriched = enrich_data(transformed)
    with Timer("data_storage"):
        sink.extend(enriched)
    logger.info("Pipeline complete")
    return enriched
