"""Data tests scoped to the refresh window (macros/window_tests.sql), proven with seeded defects.

A warehouse is loaded day by day; then one defect at a time is written straight into a mart, and
`dbt test` runs three ways: scoped to the last day (what a daily run does), whole-table
(STORE_SALES_FULL_TESTS=true, `run --full-tests`), and scoped to an older day that does not contain
the defect. Each defect written by the window must fail the scoped test exactly as it fails the
whole-table one; a fact defect outside the window must not fail the scoped run (so the scope is real).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from models_harness import Warehouse, node_results
from window_history import FIRST_DAY, LAST_DAY, copy

MARTS = ("dim_customer_address", "dim_item", "fct_store_sales")


@dataclass(frozen=True)
class Defect:
    name: str
    sql: Callable[[Warehouse], str]
    failing_test: str  # a prefix of the dbt test's name
    in_fact: bool  # the fact's scope is its days alone; a dimension's also takes every row sharing a key


def _one_window_sale(warehouse: Warehouse) -> str:
    """A WHERE clause matching exactly one fact row of the window's day."""
    ticket, item, line = warehouse.query(
        "select ss_ticket_number, ss_item_id, ss_line_number from fct_store_sales "
        f"where ss_sold_date = '{LAST_DAY}' order by 1, 2, 3 limit 1"
    )[0]
    return f"where ss_ticket_number = {int(ticket)} and ss_item_id = '{item}' and ss_line_number = {int(line)}"


def _duplicate_sales_line(warehouse: Warehouse) -> str:
    return f"insert into fct_store_sales select * from fct_store_sales {_one_window_sale(warehouse)}"


def _null_ticket(warehouse: Warehouse) -> str:
    return f"update fct_store_sales set ss_ticket_number = null {_one_window_sale(warehouse)}"


def _orphan_address_key(warehouse: Warehouse) -> str:
    return f"update fct_store_sales set ss_addr_sk = 999999 {_one_window_sale(warehouse)}"


def _overlapping_item_version(warehouse: Warehouse) -> str:
    # a version the window writes (last load = the window's day) over the first version of an old item
    item_id, start = warehouse.query(
        "select i_item_id, min(i_rec_start_date) from dim_item where i_item_sk <> -1 group by 1 order by 1 limit 1"
    )[0]
    return (
        "insert into dim_item select * replace ("
        "(select max(i_item_sk) + 1 from dim_item) as i_item_sk, "
        f"cast('{start}' as date) as i_rec_start_date, cast('{LAST_DAY}' as date) as i_rec_end_date, "
        f"cast('{LAST_DAY}' as date) as i_last_load_date) "
        f"from dim_item where i_item_id = '{item_id}' and i_rec_start_date = '{start}'"
    )


def _colliding_address_key(warehouse: Warehouse) -> str:
    # a new address written by the window that reuses the surrogate key of an address loaded long before
    return (
        "insert into dim_customer_address select * replace ("
        "'NEWADDRESS000001' as ca_address_id, "
        f"cast('{LAST_DAY}' as date) as ca_first_load_date, cast('{LAST_DAY}' as date) as ca_last_load_date) "
        "from dim_customer_address where ca_address_sk = 1"
    )


DEFECTS = (
    Defect(
        "a duplicated sales line in the window", _duplicate_sales_line, "fct_store_sales_one_row_per_sales_line", True
    ),
    Defect("a NULL key in the window", _null_ticket, "not_null_fct_store_sales_ss_ticket_number", True),
    Defect(
        "a fact row pointing to no dimension row", _orphan_address_key, "relationships_fct_store_sales_ss_addr_sk", True
    ),
    Defect("an overlapping item version", _overlapping_item_version, "scd2_no_overlap_dim_item", False),
    Defect(
        "a new surrogate key equal to an old one",
        _colliding_address_key,
        "unique_dim_customer_address_ca_address_sk",
        False,
    ),
)


def _failed_tests(warehouse: Warehouse, day: date | None, full: bool) -> set[str]:
    extra = {"STORE_SALES_FULL_TESTS": "true" if full else "false"}
    warehouse.extra_env.update(extra)
    result = warehouse.invoke("test", "--select", *MARTS, start=day, end=day)
    assert result.exception is None, f"dbt test crashed: {result.exception}"
    return {str(r.node.name) for r in node_results(result) if str(r.status) in {"fail", "error"}}


def _named(failed: set[str], prefix: str) -> bool:
    return any(name.startswith(prefix) for name in failed)


def test_a_clean_warehouse_passes_scoped_and_whole_table_tests(loaded: Warehouse, tmp_path: Path) -> None:
    warehouse = copy(loaded, tmp_path / "clean")
    assert _failed_tests(warehouse, LAST_DAY, full=False) == set()
    assert _failed_tests(warehouse, LAST_DAY, full=True) == set()


@pytest.mark.slow
@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name.replace(" ", "-"))
def test_a_defect_the_window_wrote_fails_the_scoped_test_as_it_fails_the_whole_table_one(
    loaded: Warehouse, tmp_path: Path, defect: Defect
) -> None:
    warehouse = copy(loaded, tmp_path / "defect")
    warehouse.query(defect.sql(warehouse))

    whole_table = _failed_tests(warehouse, LAST_DAY, full=True)
    scoped = _failed_tests(warehouse, LAST_DAY, full=False)
    older_window = _failed_tests(warehouse, FIRST_DAY, full=False)

    assert _named(whole_table, defect.failing_test), f"whole-table tests missed {defect.name}: {whole_table}"
    assert _named(scoped, defect.failing_test), f"the window's tests missed {defect.name}: {scoped}"
    if defect.in_fact:  # (a dimension defect shares a key with rows of the first day, so that day sees it too)
        assert not _named(older_window, defect.failing_test), (
            f"a window that did not write {defect.name} still failed: the scope does not filter ({older_window})"
        )


def test_the_scoped_test_reads_only_the_window_and_the_rows_sharing_its_keys(loaded: Warehouse) -> None:
    result = loaded.invoke("compile", "--select", "unique_dim_customer_address_ca_address_sk", start=LAST_DAY)
    assert result.success, result.exception
    sql = next(iter(node_results(result))).node.compiled_code
    assert f"ca_last_load_date between cast('{LAST_DAY}' as date) and cast('{LAST_DAY}' as date)" in sql
    assert "ca_address_sk in (select ca_address_sk from" in sql
    assert "ca_address_id in (select ca_address_id from" in sql


def test_full_tests_takes_true_false_1_or_0_and_refuses_anything_else(loaded: Warehouse, tmp_path: Path) -> None:
    warehouse = copy(loaded, tmp_path / "flag")
    test = "unique_dim_customer_address_ca_address_sk"
    warehouse.extra_env["STORE_SALES_FULL_TESTS"] = "1"
    result = warehouse.invoke("compile", "--select", test, start=LAST_DAY)
    assert result.success, result.exception
    assert "ca_last_load_date between" not in next(iter(node_results(result))).node.compiled_code  # whole table
    warehouse.extra_env["STORE_SALES_FULL_TESTS"] = "maybe"  # was taken as false
    result = warehouse.invoke("compile", "--select", test, start=LAST_DAY)
    assert not result.success
    assert "STORE_SALES_FULL_TESTS='maybe' must be true, false, 1 or 0" in str(result.exception), result.exception
