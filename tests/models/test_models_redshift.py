"""The project for a Redshift target, offline: parse, compile and the Redshift-only DDL.

There is no cluster here: the target points at an unresolvable host. Parsing needs no connection;
`compile --no-populate-cache` compiles every node that does not introspect the warehouse; inline compiles
render the DDL pieces: dbt-redshift's own `dist`/`sort` clause macros applied to each model's resolved
configuration, the Spectrum DDL and the window's partition statements. Every statement of a first load and
of a daily run, with the models that introspect (is_incremental()), is recorded in tests/models/test_redshift_sql.py.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from models_harness import Warehouse, node_results
from redshift_offline import S3_URI

pytestmark = pytest.mark.slow


def inline(warehouse: Warehouse, code: str, start: date | None = None) -> str:
    result = warehouse.run("compile", "--no-populate-cache", "--inline", code, start=start)
    return str(node_results(result)[0].node.compiled_code)


def test_redshift_physical_design_is_in_the_resolved_configs_and_the_ddl(redshift: Warehouse) -> None:
    nodes = redshift.manifest().nodes
    config = {node.name: node.config for node in nodes.values() if node.resource_type == "model"}
    fact = config["fct_store_sales"]
    assert (fact.get("dist"), fact.get("sort")) == ("ss_item_sk", "ss_sold_date")
    for name in ("dim_item", "dim_customer_address", "rpt_daily_store_sales", "rpt_weekly_region_sales"):
        assert config[name].get("dist") == "all", name
    for name in config:
        if name.startswith("stg_"):
            assert config[name].get("backup") is False, name

    clauses = inline(
        redshift,
        "{% for name in ['fct_store_sales', 'dim_item'] %}"
        "{% set c = graph.nodes['model.store_sales.' ~ name].config %}"
        "{{ name }}: {{ dist(c.dist) }} {{ sort(c.sort_type, c.sort) }};{% endfor %}",
    )
    fact, item = (" ".join(part.split()) for part in clauses.split(";")[:2])
    assert fact == "fct_store_sales: diststyle key distkey (ss_item_sk) compound sortkey(ss_sold_date)"
    assert item == "dim_item: diststyle all compound sortkey(i_item_id,i_rec_start_date)"


def test_models_that_need_no_introspection_compile_for_redshift(redshift: Warehouse) -> None:
    redshift.run("compile", "--no-populate-cache", "--select", "staging", "fct_store_sales", start=date(2002, 12, 30))
    compiled = Path(redshift.root / "target" / "compiled" / "store_sales" / "models")
    staging = (compiled / "staging" / "tpcds" / "stg_tpcds__store_sales.sql").read_text()
    assert "load_date between cast('2002-12-30' as date) and cast('2002-12-30' as date)" in staging
    assert '"dev"."landing"."store_sales"' in staging
    fact = (compiled / "marts" / "fct_store_sales.sql").read_text()
    assert "is not distinct from" not in fact
    assert '"dev"."store_sales"."dim_item"' in fact
    assert "redshift" in inline(redshift, "{{ target.type }}")
    assert " ".join(inline(redshift, "{{ add_days('d', -1) }}").split()) == "cast(dateadd(day, -1, d) as date)"


def test_spectrum_landing_ddl_and_window_partitions(redshift: Warehouse) -> None:
    statements = inline(redshift, "{% for s in landing_external_table_statements() %}{{ s }}\n{% endfor %}")
    lines = statements.strip().splitlines()
    assert lines[0].startswith("create external schema if not exists landing from data catalog")
    assert "iam_role 'arn:aws:iam::123456789012:role/store-sales-spectrum'" in lines[0]
    sales = next(line for line in lines if line.startswith("create external table landing.store_sales"))
    assert sales.endswith(f"partitioned by (load_date date) stored as parquet location '{S3_URI}/landing/store_sales/'")
    assert "(sold_date date, i_item_id varchar(256), " in sales
    store = next(line for line in lines if line.startswith("create external table landing.store "))
    assert store.endswith(f"stored as parquet location '{S3_URI}/reference/store/'")

    partitions = inline(
        redshift,
        "{% set w = refresh_window() %}"
        "{% for s in landing_partition_statements(w.start, w.end) %}{{ s }}\n{% endfor %}",
        start=date(2002, 12, 31),
    )
    item = next(line for line in partitions.splitlines() if line.startswith("alter table landing.item"))
    assert item == (
        "alter table landing.item add if not exists "
        f"partition (load_date = '2002-12-31') location '{S3_URI}/landing/item/load_date=2002-12-31/'"
    )
