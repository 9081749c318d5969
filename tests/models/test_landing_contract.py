"""The landing contract is written once (orchestrator.landing.contract); the dbt sources and the hand-made test
extracts must declare exactly its columns, in its order.

The store sales measures are defined once, in dbt (macros/store_sales_measures.sql, which both models loop
over); the declarations YAML and Python cannot derive from it are held to it here, as dbt renders it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import landing
import pyarrow as pa
import pytest
import yaml
from models_harness import Warehouse, node_results

from orchestrator.landing import contract

SOURCES = Path(__file__).resolve().parents[2] / "models" / "staging" / "tpcds" / "_tpcds__sources.yml"
DUPLICATE_LINES_TEST = "stg_tpcds__store_sales_no_identical_duplicate_lines"


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


@pytest.fixture(scope="module")
def dbt_project(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return Warehouse(tmp_path_factory.mktemp("measures"))


@pytest.fixture(scope="module")
def measures(dbt_project: Warehouse) -> list[tuple[str, str]]:
    """The (name, modeled data type) pairs of macros/store_sales_measures.sql, as dbt renders them."""
    code = "{{ tojson(store_sales_measures()) }}"
    result = dbt_project.run("compile", "--no-populate-cache", "--inline", code)
    return [(name, data_type) for name, data_type in json.loads(node_results(result)[0].node.compiled_code)]


def _declared(node: Any) -> list[tuple[str, str | None]]:
    """A dbt node's declared columns (the YAML), in their order, with their data types."""
    return [(column.name, column.data_type) for column in node.columns.values()]


@pytest.mark.slow
def test_the_landing_contract_lists_the_dbt_measures_in_order(measures: list[tuple[str, str]]) -> None:
    assert tuple(name for name, _ in measures) == contract.SALES_MEASURES


@pytest.mark.slow
def test_the_yaml_declarations_list_the_dbt_measures_in_order(
    dbt_project: Warehouse, measures: list[tuple[str, str]]
) -> None:
    """The measures close the column list of the landing source (before its partition column), of the
    staging model, of its identical-duplicate-lines test and of the fact's enforced contract, which also
    declares each measure's modeled type."""
    manifest = dbt_project.manifest()
    names = [name for name, _ in measures]
    source = [name for name, _ in _declared(manifest.sources["source.store_sales.tpcds.store_sales"])]
    staging = [name for name, _ in _declared(manifest.nodes["model.store_sales.stg_tpcds__store_sales"])]
    [duplicate_lines] = [node for node in manifest.nodes.values() if node.name == DUPLICATE_LINES_TEST]
    fact = _declared(manifest.nodes["model.store_sales.fct_store_sales"])
    assert source[-len(names) - 1 :] == [*names, contract.PARTITION_COLUMN]
    assert staging[-len(names) :] == names
    assert duplicate_lines.test_metadata.kwargs["combination_of_columns"][-len(names) :] == names
    assert fact[-len(measures) :] == measures
