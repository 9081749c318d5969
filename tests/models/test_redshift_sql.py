"""What Redshift will run, seen before a user deploys: every statement dbt-redshift sends for a first load and
for a daily run, every data test and the landing operation, recorded offline (tests/models/redshift_offline.py),
kept as golden files, parsed with sqlfluff's Redshift grammar and scanned for what Redshift does not support.

Goldens: tests/golden/redshift/{first_load,daily,data_tests,operations}.sql. After an intended change,
regenerate them with STORE_SALES_UPDATE_GOLDEN=1 and read the diff it reports: it is exactly what changes on Redshift.
"""

from __future__ import annotations

import os
import re
from argparse import Namespace
from collections.abc import Iterator
from datetime import date
from typing import Any

import dbt.adapters.redshift.connections as redshift_connections
import pytest
import yaml
from dbt.config.profile import Profile
from dbt.config.renderer import ProfileRenderer
from dbt.flags import get_flags, set_flags
from dbt_common.context import set_invocation_context
from engine_support import ROOT
from golden_support import GOLDEN_DIR, assert_matches_golden
from models_harness import Warehouse, describe_failure, node_results
from redshift_offline import HOOKS, Catalog, Recording, offline_redshift
from sqlfluff.core import Linter

pytestmark = pytest.mark.slow

DAY = date(2002, 12, 31)
SCHEMA = "store_sales"
REDSHIFT_GOLDEN = GOLDEN_DIR / "redshift"
TEMPORARY_NAME = re.compile(r"__dbt_tmp\d+")
INVOCATION_ROW = re.compile(r"'dbt-[0-9a-f-]{36}'")
RUN_CLOCK = re.compile(r"'\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}'")

# Statements Redshift documents but sqlfluff's `redshift` dialect (4.x) cannot parse, each checked instead
# against the documented syntax: ALTER TABLE on an external (Spectrum) table,
# https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE_external-table.html
GRAMMAR_GAPS = (
    re.compile(
        r"alter table landing\.\w+ add if not exists partition \(load_date = '\d{4}-\d{2}-\d{2}'\) "
        r"location 's3://[^']+/'"
    ),
)

# PostgreSQL features Redshift does not support (and DuckDB-only syntax, which must never reach Redshift).
# Sources: "Unsupported PostgreSQL features", "... functions" and "... data types" in the Amazon Redshift
# Database Developer Guide (docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html,
# c_unsupported-postgresql-functions.html, c_unsupported-postgresql-datatypes.html); "Window functions":
# an aggregate window function with ORDER BY needs a frame clause (r_Window_function_synopsis.html).
UNSUPPORTED: dict[str, re.Pattern[str]] = {
    "EXCEPT ALL / INTERSECT ALL": re.compile(r"\b(except|intersect)\s+all\b"),
    "DISTINCT ON": re.compile(r"\bdistinct\s+on\s*\("),
    "FILTER (WHERE ...) on an aggregate": re.compile(r"\)\s*filter\s*\(\s*where\b"),
    "generate_series (leader node only)": re.compile(r"\bgenerate_series\s*\("),
    "IS [NOT] DISTINCT FROM": re.compile(r"\bis\s+(not\s+)?distinct\s+from\b"),
    "ON CONFLICT / RETURNING": re.compile(r"\bon\s+conflict\b|\breturning\b"),
    "CREATE INDEX": re.compile(r"\bcreate\s+(unique\s+)?index\b"),
    "array_agg / string_agg / arrays": re.compile(r"\b(array_agg|string_agg|unnest|array)\s*[\(\[]"),
    "serial, jsonb, uuid, interval, bytea, hugeint columns": re.compile(
        r"\b(big)?serial\b|\bjsonb\b|\buuid\b|\bbytea\b|\bhugeint\b|::interval\b|\binterval\s+'"
    ),
    "regexp_matches / to_tsvector / ts_ functions": re.compile(r"\b(regexp_matches|to_tsvector|ts_\w+)\s*\("),
    "DuckDB: read_parquet / glob / struct_pack / list_ functions": re.compile(
        r"\b(read_parquet|glob|struct_pack|list_\w+|epoch_ms|strftime)\s*\("
    ),
    "DuckDB: SELECT * EXCLUDE / REPLACE": re.compile(r"\*\s*(exclude|replace)\s*\("),
    "DuckDB: memory_limit / threads settings": re.compile(r"\bset\s+(memory_limit|threads|temp_directory)\b"),
    "aggregate window function with ORDER BY and no frame": re.compile(
        r"\b(sum|count|avg|min|max)\s*\([^()]*\)\s*over\s*\((?:(?!\brows\b|\brange\b)[^()])*\border\s+by\b"
        r"(?:(?!\brows\b|\brange\b)[^()])*\)"
    ),
}


@pytest.fixture(scope="module")
def declared(redshift: Warehouse) -> dict[str, list[tuple[str, str]]]:
    """Every model's and seed's declared columns (the contracts): what the tables hold on Redshift."""
    return {
        node.name: [(column.name, column.data_type or "varchar") for column in node.columns.values()]
        for node in redshift.manifest().nodes.values()
        if node.resource_type in {"model", "seed"}
    }


def record(redshift: Warehouse, catalog: Catalog, declared: dict[str, list[tuple[str, str]]], *args: str) -> Recording:
    with offline_redshift(catalog, declared) as recording:
        result = redshift.invoke(*args, start=DAY)
    assert result.success, describe_failure(result)
    return recording


@pytest.fixture(scope="module")
def first_load(redshift: Warehouse, declared: dict[str, list[tuple[str, str]]]) -> Recording:
    """An empty schema: the seed, then every model created (is_incremental() false)."""
    catalog = Catalog(SCHEMA)
    recording = record(redshift, catalog, declared, "seed")
    recording.statements = [
        (f"{node} of dbt seed" if node == HOOKS else node, sql) for node, sql in recording.statements
    ]
    catalog.relations["country_regions"] = declared["country_regions"]
    recording.statements.extend(record(redshift, catalog, declared, "run").statements)
    return recording


@pytest.fixture(scope="module")
def daily(redshift: Warehouse, declared: dict[str, list[tuple[str, str]]]) -> Recording:
    """Every table exists: the daily run's incremental statements (is_incremental() true)."""
    return record(redshift, Catalog(SCHEMA, dict(declared)), declared, "run")


@pytest.fixture(scope="module")
def operations(redshift: Warehouse, declared: dict[str, list[tuple[str, str]]]) -> Recording:
    return record(redshift, Catalog(SCHEMA), declared, "run-operation", "create_landing_external_tables")


@pytest.fixture(scope="module")
def data_tests(redshift: Warehouse, declared: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """Every data test compiled for the daily window (tests read the window's rows)."""
    with offline_redshift(Catalog(SCHEMA, dict(declared)), declared):
        result = redshift.invoke("compile", "--select", "resource_type:test", start=DAY)
    assert result.success, describe_failure(result)
    return {result.node.name: str(result.node.compiled_code) for result in node_results(result)}


def normalized(sql: str) -> str:
    """Stable text: temporary table names without their timestamp, a plain run's ledger row without its
    invocation id and clock (macros/catch_up.sql), no trailing spaces or blank runs."""
    stable = TEMPORARY_NAME.sub("__dbt_tmp", sql)
    stable = INVOCATION_ROW.sub("'dbt-<invocation id>'", RUN_CLOCK.sub("'<now>'", stable))
    lines = [line.rstrip() for line in stable.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def render(sections: dict[str, list[str]]) -> str:
    parts = []
    for name, statements in sections.items():
        body = "\n\n".join(f"{normalized(statement)};" for statement in statements)
        parts.append(f"-- ==== {name}\n{body}\n")
    return "\n".join(parts)


def statements(*recordings: Recording) -> Iterator[tuple[str, str]]:
    for recording in recordings:
        yield from recording.statements


@pytest.fixture(scope="module")
def compiled(
    first_load: Recording, daily: Recording, operations: Recording, data_tests: dict[str, str]
) -> dict[str, str]:
    return {
        "first_load.sql": render(first_load.by_node()),
        "daily.sql": render(daily.by_node()),
        "operations.sql": render({"run-operation create_landing_external_tables": operations.by_node()[HOOKS]}),
        "data_tests.sql": render({name: [sql] for name, sql in sorted(data_tests.items())}),
    }


def test_every_statement_matches_its_golden_file(compiled: dict[str, str]) -> None:
    assert_matches_golden({REDSHIFT_GOLDEN / name: text for name, text in compiled.items()})


def test_both_branches_compile_every_model_and_its_materialization(
    first_load: Recording, daily: Recording, declared: dict[str, list[tuple[str, str]]]
) -> None:
    models = {name for name in declared if name != "country_regions"}
    for recording in (first_load, daily):
        assert {node.rsplit(".", 1)[-1] for node in recording.by_node() if node != HOOKS} >= models
    daily_sql = daily.by_node()
    fact = [" ".join(sql.split()) for sql in daily_sql["model.store_sales.fct_store_sales"]]
    window = "ss_sold_date between cast('2002-12-31' as date) and cast('2002-12-31' as date)"
    assert f'delete from "dev"."store_sales"."fct_store_sales" where {window};' in fact
    dim = " ".join(" ".join(daily_sql["model.store_sales.dim_item"]).split())
    assert 'delete from "dev"."store_sales"."dim_item" where (i_item_sk) in (' in dim  # delete+insert on the key
    first = " ".join(" ".join(first_load.by_node()["model.store_sales.fct_store_sales"]).split())
    assert 'create table "dev"."store_sales"."fct_store_sales" (' in first
    assert "delete from" not in first


def test_the_window_is_replaced_in_one_transaction(daily: Recording) -> None:
    """dbt-redshift (autocommit on) sends BEGIN/COMMIT itself: the delete and the insert of a window sit
    between one BEGIN and its COMMIT, so a reader never sees the window empty."""
    for model in ("fct_store_sales", "rpt_daily_store_sales", "rpt_weekly_region_sales", "dim_item"):
        sent = [sql.split(None, 1)[0].lower() for sql in daily.by_node()[f"model.store_sales.{model}"]]
        begin = len(sent) - 1 - sent[::-1].index("begin")
        assert sent[begin:] == ["begin", "delete", "insert", "commit"], (model, sent)


def test_physical_design_is_in_the_ddl(first_load: Recording, daily: Recording) -> None:
    def create(recording: Recording, model: str) -> str:
        [ddl] = [sql for sql in recording.by_node()[f"model.store_sales.{model}"] if sql.startswith("create ")]
        return " ".join(ddl.split())

    for recording in (first_load, daily):
        assert create(recording, "fct_store_sales").endswith(
            ") diststyle key distkey (ss_item_sk) compound sortkey(ss_sold_date) ;"
        )
        for model in ("dim_item", "dim_customer_address", "rpt_daily_store_sales", "rpt_weekly_region_sales"):
            assert ") diststyle all compound sortkey(" in create(recording, model), model
    for model in ("stg_tpcds__store_sales", "stg_tpcds__items", "stg_tpcds__stores"):
        assert " backup no as (" in create(first_load, model), model


SPECTRUM_DDL = re.compile(r"^(alter table landing\.|create external |drop table if exists landing\.)")


def test_spectrum_statements_run_outside_any_transaction_block(daily: Recording, operations: Recording) -> None:
    """Redshift refuses ALTER/DROP TABLE on an external table and CREATE EXTERNAL TABLE inside a transaction
    block (BEGIN ... END): dbt-redshift's autocommit must send them on their own."""
    spectrum = 0
    for recording in (daily, operations):
        in_transaction = False
        for node, sql in recording.statements:
            word = sql.split(None, 1)[0].lower()
            if word in {"begin", "commit"}:
                in_transaction = word == "begin"
            elif SPECTRUM_DDL.match(sql.lower()):
                spectrum += 1
                assert not in_transaction, f"{node}: {sql}"
    assert spectrum == 3 + 1 + 2 * 6  # the daily run's 3 partitions; the schema, and 6 tables dropped and created


@pytest.fixture(scope="module")
def linter() -> Linter:
    return Linter(dialect="redshift")


def test_every_statement_parses_with_redshifts_grammar(
    linter: Linter,
    first_load: Recording,
    daily: Recording,
    operations: Recording,
    data_tests: dict[str, str],
) -> None:
    everything = [
        *statements(first_load, daily, operations),
        *(("test " + name, sql) for name, sql in data_tests.items()),
    ]
    unparsable = []
    for node, sql in everything:
        if any(gap.fullmatch(" ".join(sql.split())) for gap in GRAMMAR_GAPS):
            continue
        parsed = linter.parse_string(sql.replace("%s", "null"))  # seed rows are bound parameters
        if parsed.tree is None or any(True for _ in parsed.tree.recursive_crawl("unparsable")):
            unparsable.append(f"{node}: {' '.join(sql.split())[:160]}")
    assert not unparsable, "\n".join(unparsable)
    assert len(everything) > 100


def test_no_statement_uses_what_redshift_does_not_support(
    first_load: Recording, daily: Recording, operations: Recording, data_tests: dict[str, str]
) -> None:
    found = [
        f"{feature} in {node}: {' '.join(sql.split())[:160]}"
        for node, sql in [*statements(first_load, daily, operations), *data_tests.items()]
        for feature, pattern in UNSUPPORTED.items()
        if pattern.search(sql.lower())
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("sql", "feature"),
    [
        ("select a from x except all select a from y", "EXCEPT ALL / INTERSECT ALL"),
        ("select distinct on (a) a from x", "DISTINCT ON"),
        ("select count(*) filter (where a > 1) from x", "FILTER (WHERE ...) on an aggregate"),
        (
            "select sum(a) over (partition by b order by c) from x",
            "aggregate window function with ORDER BY and no frame",
        ),
        ("select * from read_parquet('x/*.parquet')", "DuckDB: read_parquet / glob / struct_pack / list_ functions"),
        ("select a is not distinct from b from x", "IS [NOT] DISTINCT FROM"),
    ],
)
def test_the_scan_finds_each_unsupported_feature(sql: str, feature: str) -> None:
    assert UNSUPPORTED[feature].search(sql)
    framed = "select sum(a) over (partition by b order by c rows unbounded preceding) from x"
    assert not UNSUPPORTED["aggregate window function with ORDER BY and no frame"].search(framed)


def test_hooks_declare_only_the_windows_partitions_on_redshift(daily: Recording) -> None:
    hooks = [" ".join(sql.split()) for sql in daily.by_node()[HOOKS]]
    partitions = [sql for sql in hooks if sql.startswith("alter table landing.")]
    assert [sql.split()[2] for sql in partitions] == [
        "landing.customer_address",
        "landing.item",
        "landing.store_sales",
    ]
    assert all("(load_date = '2002-12-31')" in sql for sql in partitions)
    assert not [sql for sql in hooks if "memory_limit" in sql or "read_parquet" in sql]


PROFILE_ENV = {
    "STORE_SALES_REDSHIFT_CLUSTER_ID": "analytics",
    "STORE_SALES_REDSHIFT_PASSWORD": "from-secrets-manager",
    "STORE_SALES_REDSHIFT_WORKGROUP": "analytics",
    "AWS_REGION": "eu-west-1",
}
PROVISIONED_HOST = "analytics.abc123xyz789.eu-west-1.redshift.amazonaws.com"
SERVERLESS_HOST = "analytics.123456789012.eu-west-1.redshift-serverless.amazonaws.com"


@pytest.mark.parametrize(
    ("target", "host", "expected"),
    [
        (
            "redshift",
            PROVISIONED_HOST,
            {"iam": True, "cluster_identifier": "analytics", "db_user": "dbt_store_sales", "is_serverless": False},
        ),
        (
            "redshift_secret",
            PROVISIONED_HOST,
            {
                "user": "dbt_store_sales",
                "password": PROFILE_ENV["STORE_SALES_REDSHIFT_PASSWORD"],
                "is_serverless": False,
            },
        ),
        (
            "redshift_serverless",
            SERVERLESS_HOST,
            {"iam": True, "serverless_work_group": "analytics", "cluster_identifier": None, "is_serverless": True},
        ),
    ],
)
def test_each_redshift_target_of_the_profiles_example_resolves_offline(
    redshift: Warehouse, monkeypatch: pytest.MonkeyPatch, target: str, host: str, expected: dict[str, Any]
) -> None:
    """profiles.yml.example as a user copies it: dbt renders the target from the environment, and
    dbt-redshift builds the driver's connection arguments (captured instead of connecting)."""
    for name, value in {**PROFILE_ENV, "STORE_SALES_REDSHIFT_HOST": host}.items():
        monkeypatch.setenv(name, value)
    credentials = example_credentials(target)
    captured: dict[str, Any] = {}
    monkeypatch.setattr(
        redshift_connections.redshift_connector, "connect", lambda **kwargs: captured.update(kwargs) or _Driver()
    )
    redshift_connections.get_connection_method(credentials)()
    assert {key: captured[key] for key in expected} == expected
    assert (captured["host"], captured["port"], captured["database"]) == (host, 5439, "dev")
    assert (captured["ssl"], captured["sslmode"]) == (True, "verify-ca")  # dbt-redshift's reading of `require`


def test_a_missing_password_variable_is_not_caught_by_dbt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pitfall to know (README, "Running on AWS"): dbt renders a password that fails to render as the
    literal text, so an unset STORE_SALES_REDSHIFT_PASSWORD reaches Redshift as the template itself and
    the login fails there ("password authentication failed"), not in dbt. If dbt starts refusing it,
    this test says so."""
    monkeypatch.setenv("STORE_SALES_REDSHIFT_HOST", PROVISIONED_HOST)
    monkeypatch.delenv("STORE_SALES_REDSHIFT_PASSWORD", raising=False)
    assert example_credentials("redshift_secret").password == "{{ env_var('STORE_SALES_REDSHIFT_PASSWORD') }}"


class _Driver:
    autocommit = False


def example_credentials(target: str) -> Any:
    if not hasattr(get_flags(), "LOG_CACHE_EVENTS"):  # outside a dbt invocation
        set_flags(Namespace(LOG_CACHE_EVENTS=False))
    set_invocation_context(dict(os.environ))
    raw = yaml.safe_load((ROOT / "profiles.yml.example").read_text(encoding="utf-8"))
    profile = Profile.from_raw_profile_info(
        raw["store_sales"], "store_sales", ProfileRenderer({}), target_override=target
    )
    return profile.credentials
