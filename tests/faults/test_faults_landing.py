"""Landing data that is wrong or incomplete: each fault stops the pipeline in the task that reads the extract, before
its models run, with a message naming the file (its full path), the column and the rule, or is handled as the model
docs say; no task fails for an extract it does not read, and nothing already loaded is lost.

The pipeline's tasks run as the state machine runs them (the plan generated from the dbt graph, each task
through `orchestrator.runtime.runner.run_task`, the code inside Lambda and the ECS container), in stage order, on a
warehouse that already holds a good day (FIRST). The fault is on the next day (SECOND).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from engine_support import ROOT, dbt_command, project_parsed_dir
from faults_support import (
    FIRST,
    OUTSIDE_DATE_DIM,
    SECOND,
    extract_file,
    good_day,
    rewrite,
    snapshot,
    write_good_landing,
)
from landing import Landing, natural_id

from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.plan import build_plan
from orchestrator.errors import DbtCrashed, LandingIncomplete, RunnerError
from orchestrator.landing.gate import MARKER_FILE, marker_document
from orchestrator.protocol import TaskRequest, TaskSummary
from orchestrator.runtime.runner import RunnerConfig, run_task
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Landing data of two good days and a warehouse loaded with the first one."""
    root = tmp_path_factory.mktemp("faults-landing")
    write_good_landing(root / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORE_SALES_DATA_DIR", str(root / "data"))
        patch.setenv("STORE_SALES_DUCKDB", str(root / "data" / "warehouse.duckdb"))
        patch.delenv("STORE_SALES_TARGET", raising=False)
        run_pipeline(RefreshWindow.day(FIRST), root / "work")
    yield root / "data"


@pytest.fixture
def data_dir(loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the landing data and of the warehouse holding FIRST."""
    data = tmp_path / "data"
    shutil.copytree(loaded, data)
    monkeypatch.setenv("STORE_SALES_DATA_DIR", str(data))
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(data / "warehouse.duckdb"))
    monkeypatch.delenv("STORE_SALES_TARGET", raising=False)
    return data


def run_pipeline(window: RefreshWindow, work: Path, allow_missing: tuple[str, ...] = ()) -> dict[str, TaskSummary]:
    """Every task of the generated plan, stage by stage, as the state machine runs them."""
    graph = DbtGraph.from_manifest(load_manifest(ROOT, project_parsed_dir()))
    config = RunnerConfig(
        project_dir=ROOT, profiles_dir=ROOT, parsed_dir=project_parsed_dir(), target="local", work_root=work
    )
    summaries = {}
    for stage in build_plan(graph, graph.select()).stages:
        for task in stage:
            request = TaskRequest(
                task=task.key,
                models=task.models,
                window=window,
                execution="faults",
                extra_tests=task.extra_tests,
                allow_missing=allow_missing,
            )
            summaries[task.key] = run_task(request, config)
    return summaries


def fact_rows(data_dir: Path, day: date) -> list[tuple[object, ...]]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as connection:
        return connection.execute(
            "select ss_ticket_number, ss_item_id, ss_sold_date_sk, ss_item_sk, ss_quantity from main.fct_store_sales"
            " where ss_sold_date = ? order by all",
            [day],
        ).fetchall()


# the tasks in plan order (each named after the extract it reads, but the reports') and the tables they build
TASK_TABLES = {
    "customer_address": ("dim_customer_address",),
    "item": ("dim_item",),
    "store_sales": ("fct_store_sales",),
    "reports": ("rpt_daily_store_sales", "rpt_weekly_region_sales"),
}


def assert_rejected(
    data_dir: Path,
    tmp_path: Path,
    task: str,
    *words: str,
    error: type[RunnerError] = DbtCrashed,
    allow_missing: str = "",
) -> str:
    """The run of SECOND fails in `task` (the one that reads the bad extract), before its models, naming `words`;
    the tables of that task and of every later one keep FIRST's rows alone."""
    before = snapshot(data_dir / "warehouse.duckdb")
    with pytest.raises(RunnerError) as failure:
        run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work", tuple(allow_missing.split()))
    message = str(failure.value)
    assert isinstance(failure.value, error), message
    assert message.startswith(f"task {task} (2002-01-11): "), message
    for word in words:
        assert word in message, message
    assert "\n" not in message and "\x1b" not in message, message  # one plain line
    assert "> in macro" not in message and "Error in operation" not in message, message  # none of dbt's framing
    after = snapshot(data_dir / "warehouse.duckdb")
    untouched = [t for key in list(TASK_TABLES)[list(TASK_TABLES).index(task) :] for t in TASK_TABLES[key]]
    assert {t: after[t] for t in untouched} == {t: before[t] for t in untouched}
    return message


def test_a_missing_column_is_rejected_naming_the_file_and_the_column(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    rewrite(sales, "* exclude (ss_quantity)")
    assert_rejected(
        data_dir, tmp_path, "store_sales", str(sales), "column ss_quantity is missing", "rule:", "tpcds.store_sales"
    )


def test_a_wrong_type_is_rejected_naming_the_file_the_column_and_the_declared_type(
    data_dir: Path, tmp_path: Path
) -> None:
    items = extract_file(data_dir, "item", SECOND)
    rewrite(items, "* replace ('price ' || i_current_price as i_current_price)")
    assert_rejected(data_dir, tmp_path, "item", str(items), "column i_current_price is VARCHAR", "numeric(7,2)")


def test_an_unparseable_file_is_rejected_naming_the_file(data_dir: Path, tmp_path: Path) -> None:
    addresses = extract_file(data_dir, "customer_address", SECOND)
    addresses.write_bytes(b"ca_address_id,ca_city\nADDR1,Midway\n")  # a CSV named .parquet
    assert_rejected(data_dir, tmp_path, "customer_address", str(addresses), "Parquet", "run the same window again")


def test_a_truncated_or_empty_file_is_rejected_naming_the_file(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    good = sales.read_bytes()
    sales.write_bytes(good[: len(good) // 2])  # a copy cut short
    assert_rejected(data_dir, tmp_path, "store_sales", str(sales), "is not a Parquet file", "replace the file(s)")
    sales.write_bytes(b"")
    assert_rejected(data_dir, tmp_path, "store_sales", str(sales), "is not a Parquet file", "replace the file(s)")


def test_a_data_file_that_cannot_be_opened_is_rejected_not_skipped(data_dir: Path, tmp_path: Path) -> None:
    """DuckDB's glob skips a folder or a broken link named like a data file: its rows would be lost without a word.
    (A permission-denied file is the same fault for a user other than root; these tests run as root, who reads
    every file, so the broken link stands for it: both are entries the load cannot open.)"""
    sales = extract_file(data_dir, "store_sales", SECOND)
    sales.unlink()
    sales.symlink_to(tmp_path / "moved-away.parquet")
    expected = f"store_sales 2002-01-11: {sales} is not a readable file (a folder or a broken link)"
    assert_rejected(data_dir, tmp_path, "store_sales", expected, "replace", error=LandingIncomplete)
    sales.unlink()
    sales.mkdir()
    assert_rejected(data_dir, tmp_path, "store_sales", expected, "replace", error=LandingIncomplete)


def test_a_null_ticket_number_is_rejected_naming_the_file_and_the_rule(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    rewrite(
        sales, "* replace (case when ss_ticket_number = 202 then null else ss_ticket_number end as ss_ticket_number)"
    )
    assert_rejected(
        data_dir, tmp_path, "store_sales", str(sales), "column ss_ticket_number is NULL on 1 row(s)", "may not be NULL"
    )


def test_several_faults_are_listed_together(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    rewrite(sales, "* exclude (ss_net_profit, s_store_id) replace (ss_quantity::varchar as ss_quantity)")
    message = assert_rejected(
        data_dir, tmp_path, "store_sales", "column s_store_id is missing", "column ss_net_profit is missing"
    )
    assert "column ss_quantity is VARCHAR" in message


def test_null_natural_ids_are_handled_as_documented(data_dir: Path, tmp_path: Path) -> None:
    """A sales line's NULL ids map to the unknown member -1; a dimension row without its id is ignored."""
    rewrite(
        extract_file(data_dir, "item", SECOND),
        "* replace (case when i_item_id like '%3' then null else i_item_id end as i_item_id)",
    )
    rewrite(extract_file(data_dir, "customer_address", SECOND), "* replace (null::varchar as ca_address_id)")
    before = snapshot(data_dir / "warehouse.duckdb")

    summaries = run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work")

    assert {summary.status for summary in summaries.values()} == {"success"}
    # not_null on ca_address_id and one-row-per-address-and-day (every NULL id shares the day) warn
    assert summaries["customer_address"].tests == {"pass": 8, "warn": 2}
    after = snapshot(data_dir / "warehouse.duckdb")
    assert after["dim_customer_address"] == before["dim_customer_address"]  # rows without an id are ignored
    item_three = [row for row in after["dim_item"] if row[1] == natural_id("ITEM", 3)]
    assert [row[3] for row in item_three] == [None]  # ITEM 3's version of FIRST stays open: no row of SECOND
    sold = fact_rows(data_dir, SECOND)
    assert len(sold) == 4
    assert [row[3] for row in sold if row[1] is None] == [-1]  # the line with a NULL item id
    assert [row for row in after["fct_store_sales"] if row[0] == FIRST] == [
        row for row in before["fct_store_sales"] if row[0] == FIRST
    ]


def test_identical_duplicate_sales_lines_collapse_to_one(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    rewrite(sales, "* from read_parquet('" + str(sales) + "') union all select *")
    with duckdb.connect() as connection:
        assert connection.execute(f"select count(*) from read_parquet('{sales}')").fetchone() == (8,)

    summaries = run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work")

    # the duplicate-lines test reports them, beside the unknown-member counts (warn by design) of this fixture
    assert summaries["store_sales"].tests == {"pass": 43, "warn": 4}
    sold = fact_rows(data_dir, SECOND)
    assert len(sold) == 4
    assert len(set(sold)) == 4


def test_a_sale_date_missing_from_date_dim_maps_to_the_unknown_date(data_dir: Path, tmp_path: Path) -> None:
    Landing(data_dir).write_day(OUTSIDE_DATE_DIM, good_day(OUTSIDE_DATE_DIM, 300))
    before = snapshot(data_dir / "warehouse.duckdb")

    summaries = run_pipeline(RefreshWindow.day(OUTSIDE_DATE_DIM), tmp_path / "work")

    assert summaries["store_sales"].status == "success"
    sold = fact_rows(data_dir, OUTSIDE_DATE_DIM)
    assert len(sold) == 4
    assert {row[2] for row in sold} == {-1}
    after = snapshot(data_dir / "warehouse.duckdb")
    assert [row for row in after["fct_store_sales"] if row[0] == FIRST] == [
        row for row in before["fct_store_sales"] if row[0] == FIRST
    ]


def test_a_new_unexpected_column_is_ignored(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    clean = tmp_path / "clean"
    shutil.copytree(data_dir, clean)
    rewrite(sales, "*, 'pos-7' as ss_register_id")

    run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORE_SALES_DATA_DIR", str(clean))
        patch.setenv("STORE_SALES_DUCKDB", str(clean / "warehouse.duckdb"))
        run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work-clean")

    assert len(fact_rows(data_dir, SECOND)) == 4
    assert snapshot(data_dir / "warehouse.duckdb") == snapshot(clean / "warehouse.duckdb")


def test_a_day_with_no_sales_loads_the_dimensions_and_keeps_the_loaded_days(data_dir: Path, tmp_path: Path) -> None:
    day = good_day(SECOND, 200)
    day.sales = []
    Landing(data_dir).write_day(SECOND, day)
    extract_file(data_dir, "store_sales", SECOND).unlink()  # delivered (its _SUCCESS marker), nothing sold
    before = snapshot(data_dir / "warehouse.duckdb")

    summaries = run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work")

    assert {summary.status for summary in summaries.values()} == {"success"}
    assert fact_rows(data_dir, SECOND) == []
    after = snapshot(data_dir / "warehouse.duckdb")
    assert after["fct_store_sales"] == before["fct_store_sales"]
    assert len(after["dim_item"]) > len(before["dim_item"])  # SECOND's new prices opened versions


def test_broken_files_outside_the_window_are_never_read(data_dir: Path, tmp_path: Path) -> None:
    """The landing views read only the window's files: garbage in an already loaded day stops nothing."""
    clean = tmp_path / "clean"
    shutil.copytree(data_dir, clean)
    for extract in ("customer_address", "item", "store_sales"):
        extract_file(data_dir, extract, FIRST).write_bytes(b"not a parquet file")

    summaries = run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORE_SALES_DATA_DIR", str(clean))
        patch.setenv("STORE_SALES_DUCKDB", str(clean / "warehouse.duckdb"))
        run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work-clean")

    assert {summary.status for summary in summaries.values()} == {"success"}
    assert len(fact_rows(data_dir, SECOND)) == 4
    assert snapshot(data_dir / "warehouse.duckdb") == snapshot(clean / "warehouse.duckdb")


def dbt(target: Path, *args: str, window: RefreshWindow | None = None) -> subprocess.CompletedProcess[str]:
    """The dbt CLI in a subprocess on the data directory of the environment, writing under `target`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STORE_SALES_WINDOW_")}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    if window is not None:
        env |= {"STORE_SALES_WINDOW_START": window.start.isoformat(), "STORE_SALES_WINDOW_END": window.end.isoformat()}
    command = dbt_command(
        *args, "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
        "--target-path", str(target), "--log-path", str(target / "logs"),
    )  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_generating_the_docs_reads_no_landing_data(data_dir: Path, tmp_path: Path) -> None:
    """`dbt docs generate` (and `dbt compile`) declare no landing view: a broken file of a loaded day stops the load
    of a window holding it, never the docs, whose catalog still holds every model and landing source."""
    sales = extract_file(data_dir, "store_sales", FIRST)
    good = sales.read_bytes()
    sales.write_bytes(good[: len(good) // 2])  # a copy cut short

    docs = dbt(tmp_path / "docs", "docs", "generate")
    assert docs.returncode == 0, docs.stdout
    catalog = json.loads((tmp_path / "docs" / "catalog.json").read_text(encoding="utf-8"))
    manifest = json.loads((tmp_path / "docs" / "manifest.json").read_text(encoding="utf-8"))
    models = {key for key, node in manifest["nodes"].items() if node["resource_type"] in {"model", "seed"}}
    assert models <= set(catalog["nodes"]), models - set(catalog["nodes"])
    landing = {key for key, source in manifest["sources"].items() if source["source_name"] == "tpcds"}
    assert landing <= set(catalog["sources"]), landing - set(catalog["sources"])  # the views of the last load
    assert dbt(tmp_path / "compile", "compile").returncode == 0

    before = snapshot(data_dir / "warehouse.duckdb")
    build = dbt(tmp_path / "build", "build", window=RefreshWindow(FIRST, SECOND))
    assert build.returncode == 2, build.stdout
    assert f"{sales} is not a Parquet file" in build.stdout, build.stdout
    assert snapshot(data_dir / "warehouse.duckdb") == before


def test_a_day_not_delivered_stops_the_run_before_any_model(data_dir: Path, tmp_path: Path) -> None:
    shutil.rmtree(extract_file(data_dir, "store_sales", SECOND).parent)
    message = assert_rejected(
        data_dir,
        tmp_path,
        "store_sales",
        "store_sales 2002-01-11: not delivered",
        "--allow-missing store_sales",
        error=LandingIncomplete,
    )
    assert "customer_address 2002-01-11" not in message and "item 2002-01-11" not in message


def test_files_without_their_marker_are_a_delivery_in_progress(data_dir: Path, tmp_path: Path) -> None:
    (extract_file(data_dir, "item", SECOND).parent / MARKER_FILE).unlink()
    folder = extract_file(data_dir, "item", SECOND).parent
    expected = f"item 2002-01-11: 1 file(s) in {folder} but no _SUCCESS marker"
    message = assert_rejected(data_dir, tmp_path, "item", expected, error=LandingIncomplete)
    assert "--allow-missing" not in message  # which never accepts files that may be half copied:
    assert_rejected(data_dir, tmp_path, "item", "in progress", error=LandingIncomplete, allow_missing="item")


def test_a_short_file_fails_its_marker_counts(data_dir: Path, tmp_path: Path) -> None:
    sales = extract_file(data_dir, "store_sales", SECOND)
    (sales.parent / MARKER_FILE).write_text(marker_document({sales.name: 5}))
    replace = "replace the file(s) named and run the same window again (python -m orchestrator run --date 2002-01-11)"
    assert_rejected(
        data_dir,
        tmp_path,
        "store_sales",
        f"store_sales 2002-01-11: {sales} has 4 rows, _SUCCESS says 5",
        replace,
        error=LandingIncomplete,
    )
    (sales.parent / MARKER_FILE).write_text(marker_document({sales.name: 4, "part-1.parquet": 7}))
    assert_rejected(
        data_dir, tmp_path, "store_sales", "names part-1.parquet, which is not there", replace, error=LandingIncomplete
    )
    (sales.parent / MARKER_FILE).write_text(marker_document({sales.name: 4}))
    sales.with_name("part-1.parquet").write_bytes(sales.read_bytes())
    assert_rejected(
        data_dir, tmp_path, "store_sales", "part-1.parquet is not named in _SUCCESS", replace, error=LandingIncomplete
    )
    sales.with_name("part-1.parquet").unlink()
    (sales.parent / MARKER_FILE).write_text("done")
    assert_rejected(
        data_dir, tmp_path, "store_sales", "_SUCCESS is neither empty nor JSON", replace, error=LandingIncomplete
    )


def test_a_day_known_to_have_no_delivery_loads_with_allow_missing_and_is_recorded(
    data_dir: Path, tmp_path: Path
) -> None:
    shutil.rmtree(extract_file(data_dir, "item", SECOND).parent)

    summaries = run_pipeline(RefreshWindow.day(SECOND), tmp_path / "work", allow_missing=("item",))

    assert {summary.status for summary in summaries.values()} == {"success"}
    assert summaries["item"].landing_missing == ["item 2002-01-11"]
    assert summaries["item"].to_dict()["landing_missing"] == ["item 2002-01-11"]  # what the execution records
    assert summaries["reports"].landing_missing == []  # the reports read no extract: no gate
    assert len(fact_rows(data_dir, SECOND)) == 4
