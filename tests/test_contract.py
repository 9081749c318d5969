"""The landing contract is written once (orchestrator.contract); the dbt sources and the hand-made test
extracts must declare exactly its columns, in its order."""

from __future__ import annotations

from pathlib import Path

import landing
import pyarrow as pa
import pytest
import yaml

from orchestrator import contract

SOURCES = Path(__file__).resolve().parent.parent / "models" / "staging" / "tpcds" / "_tpcds__sources.yml"


def _source_tables() -> dict[str, list[str]]:
    document = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))
    [source] = [source for source in document["sources"] if source["name"] == "tpcds"]
    return {table["name"]: [column["name"] for column in table.get("columns", [])] for table in source["tables"]}


@pytest.mark.parametrize("extract", contract.EXTRACTS)
def test_dbt_sources_declare_the_contract_columns_plus_the_partition(extract: str) -> None:
    assert _source_tables()[extract] == [*contract.EXTRACT_COLUMNS[extract], contract.PARTITION_COLUMN]


def test_dbt_sources_cover_every_reference_table() -> None:
    assert set(contract.REFERENCE_TABLES) <= set(_source_tables())


@pytest.mark.parametrize(
    ("extract", "schema"),
    [
        ("customer_address", landing.ADDRESS_SCHEMA),
        ("item", landing.ITEM_SCHEMA),
        ("store_sales", landing.SALES_SCHEMA),
    ],
)
def test_hand_made_extracts_follow_the_contract(extract: str, schema: pa.Schema) -> None:
    assert tuple(schema.names) == contract.EXTRACT_COLUMNS[extract]
