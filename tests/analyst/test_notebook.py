"""The analyst's side on a dbt-built warehouse (real TPC-DS extracts, SF 0.01): the reports library equals
the CLI, the CLI's charts, and the notebook executed by nbclient with this environment's own kernel, on the
local warehouse and (its connection cell) against the moto Data API with a Secrets Manager login.
"""

from __future__ import annotations

import json
import shutil
import struct
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import boto3
import nbformat
import pytest
from models_harness import BUILD_WITHOUT_TESTS, Warehouse
from nbclient import NotebookClient

from orchestrator import cli, reports
from orchestrator.errors import ExitCode
from orchestrator.local import sample_data

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[2]
NOTEBOOK = PROJECT_DIR / "notebooks" / "store_sales_checks.ipynb"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FIRST, LAST = date(1998, 1, 2), date(2002, 12, 31)
PASSWORD = uuid.uuid4().hex  # a fresh value each run: no literal for the repository secrets scan


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """Five years of SF 0.01 history loaded by dbt in one window, as a backfill does, then copied to
    `<root>/data/warehouse.duckdb`: in-process dbt keeps its own file open, as no user's dbt would."""
    built = Warehouse(tmp_path_factory.mktemp("analyst"))
    sample_data.generate(scale=0.01, data_dir=built.data_dir)
    built.run(*BUILD_WITHOUT_TESTS, start=FIRST, end=LAST)
    built.query("checkpoint")
    shutil.copy(built.duckdb_path, built.data_dir / "warehouse.duckdb")
    return built


@pytest.fixture
def local(warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """The commands, the library and a kernel started now all find this warehouse, and no Redshift."""
    monkeypatch.setenv("STORE_SALES_DATA_DIR", str(warehouse.data_dir))
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(warehouse.data_dir / "warehouse.duckdb"))
    empty_config = warehouse.root / "store-sales.toml"
    empty_config.write_text("")
    monkeypatch.setenv("STORE_SALES_CONFIG", str(empty_config))
    for name in ("STORE_SALES_REDSHIFT_CLUSTER_ID", "STORE_SALES_REDSHIFT_WORKGROUP", "STORE_SALES_STATE_MACHINE_ARN"):
        monkeypatch.delenv(name, raising=False)
    return warehouse


def busiest_store(warehouse: Warehouse) -> tuple[str, str]:
    """City and state of the store with the most sales on the last day."""
    [(city, state)] = warehouse.query(
        f"select s_city, s_state from main.rpt_daily_store_sales where sold_date = date '{LAST}' "
        "and s_city is not null order by sales_amount desc limit 1"
    )
    return city, state


def cli_csv(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = cli.main(["report", *args, "--format", "csv"])
    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    return captured.out


def test_the_library_returns_what_the_cli_prints(local: Warehouse, capsys: pytest.CaptureFixture[str]) -> None:
    city, state = busiest_store(local)
    conn = reports.connect()
    daily = conn.daily_store_sales(date=LAST, city=city, state=state)
    [(stores,)] = local.query(
        f"select count(distinct ss_store_sk) from main.fct_store_sales join main.stg_tpcds__stores"
        f" on ss_store_sk = s_store_sk where ss_sold_date = date '{LAST}' and s_city = '{city}' and s_state = '{state}'"
    )
    assert len(daily) == stores
    assert cli_csv(capsys, "daily", "--date", LAST.isoformat(), "--city", city, "--state", state) == (
        daily.to_csv(index=False) + "\n"
    )
    weekly = conn.weekly_region_sales(weeks=8, date=LAST)
    assert len(weekly) == 8
    assert cli_csv(capsys, "weekly", "--date", LAST.isoformat(), "--weeks", "8") == weekly.to_csv(index=False) + "\n"
    assert conn.last_loaded_day() == LAST
    assert conn.weekly_region_sales(weeks=8).equals(weekly)  # without a date: up to the last week loaded


def north_america_sales(warehouse: Warehouse, condition: str) -> Any:
    """Sales of North America's stores from the fact, an independent sum to check the report with."""
    [(total,)] = warehouse.query(
        "select sum(ss_ext_sales_price) from main.fct_store_sales as sales"
        " join main.stg_tpcds__stores as stores on sales.ss_store_sk = stores.s_store_sk"
        " join main.country_regions as regions on stores.s_country = regions.country"
        f" where regions.region = 'North America' and {condition}"
    )
    return total


def test_columns_are_typed_dates_decimals_and_nullable_integers(local: Warehouse) -> None:
    weekly = reports.connect().weekly_region_sales(weeks=3, date=LAST)
    assert {type(value) for value in weekly["week_start_date"]} == {date}
    assert str(weekly["orders"].dtype) == "Int64"
    assert str(weekly["is_partial_week"].dtype) == "boolean"
    assert str(weekly["region"].dtype) == "string"
    total = north_america_sales(local, "ss_sold_date between date '2002-12-23' and date '2002-12-29'")
    assert weekly.set_index("week_start_date").loc[date(2002, 12, 23), "sales_amount"] == total  # Decimal == Decimal


def test_the_week_still_loading_is_partial_and_compared_like_for_like(local: Warehouse) -> None:
    last_weeks = reports.connect().weekly_region_sales(weeks=2, date=LAST)
    previous, current = last_weeks.to_dict(orient="records")
    days = [row[0] for row in local.query("select distinct ss_sold_date from main.fct_store_sales order by 1")]
    this_week = [day for day in days if day >= date(2002, 12, 30)]
    assert current["week_start_date"] == date(2002, 12, 30)
    assert (current["days_loaded"], current["is_partial_week"]) == (len(this_week), True)
    assert 0 < len(this_week) <= 2  # the history ends on Tuesday 2002-12-31
    same_days_before = ", ".join(f"date '{day - timedelta(days=7)}'" for day in this_week)
    expected = north_america_sales(local, f"ss_sold_date in ({same_days_before})")
    assert current["prior_week_sales_amount"] == expected
    assert previous["prior_week_sales_amount"] != expected  # the full week before is compared with its full prior week


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


@pytest.mark.parametrize(
    ("kind", "arguments"),
    [
        ("weekly", ("--date", LAST.isoformat(), "--weeks", "8")),
        ("daily", ("--start", "2002-12-01", "--end", LAST.isoformat())),
    ],
)
def test_the_cli_draws_each_report_as_a_png_1200_px_wide(
    local: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, arguments: tuple[str, ...]
) -> None:
    chart = tmp_path / f"{kind}.png"
    assert cli.main(["report", kind, *arguments, "--plot", str(chart)]) == ExitCode.OK
    assert f"chart: {chart}" in capsys.readouterr().err
    width, height = png_size(chart)
    assert (width, height) == (1200, 675)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(chart, ARTIFACTS / f"report_{kind}.png")


def test_a_plot_needs_a_png_name_and_rows(local: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "weekly", "--plot", str(tmp_path / "chart.svg")]) == ExitCode.USAGE
    assert "--plot writes PNG" in capsys.readouterr().err
    code = cli.main(
        ["report", "daily", "--date", LAST.isoformat(), "--city", "Nowhere", "--plot", str(tmp_path / "x.png")]
    )
    assert code == ExitCode.USAGE
    assert "nothing to plot" in capsys.readouterr().err


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code cells"
    assert [(cell.outputs, cell.execution_count) for cell in code] == [([], None)] * len(code)


def tagged(notebook: Any, tag: str) -> Any:
    [cell] = [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]
    return cell


def outputs_text(cell: Any) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.extend(str(value) for value in output.get("data", {}).values())
        parts.extend([output.get("ename", ""), output.get("evalue", "")])
    return "\n".join(parts)


def test_the_notebook_runs_its_three_checks_on_the_local_warehouse(local: Warehouse) -> None:
    city, state = busiest_store(local)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    tagged(notebook, "parameters").source = f'CITY = "{city}"\nSTATE = "{state}"\nREGION = "North America"\nWEEKS = 8'
    NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(PROJECT_DIR)}}
    ).execute()

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(output.output_type != "error" for cell in code for output in cell.outputs)
    assert "local DuckDB warehouse" in outputs_text(tagged(notebook, "connection"))
    comparison = next(cell for cell in code if "comparison" in cell.source)
    assert "False" not in outputs_text(comparison)
    chart = code[-1]
    assert any("image/png" in output.get("data", {}) for output in chart.outputs), "the weekly chart was not drawn"


def redshift_env(monkeypatch: pytest.MonkeyPatch, endpoint: str, secret_arn: str, config: Path) -> None:
    config.write_text("")
    values = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "STORE_SALES_CONFIG": str(config),
        "STORE_SALES_REDSHIFT_WORKGROUP": "analytics",
        "STORE_SALES_REDSHIFT_DATABASE": "dev",
        "STORE_SALES_REDSHIFT_SECRET_ARN": secret_arn,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def run_connection_cells(notebook: Any) -> Any:
    """The imports and the connection cell only: the moto Data API runs no SQL."""
    connection = tagged(notebook, "connection")
    cells = notebook.cells[: notebook.cells.index(connection) + 1]
    notebook.cells = [cell for cell in cells if cell.cell_type == "code"]
    NotebookClient(notebook, kernel_name="python3", timeout=120, allow_errors=True).execute()
    return connection


def test_the_connection_cell_logs_in_to_redshift_with_a_stored_secret(
    moto_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = boto3.client(
        "secretsmanager", endpoint_url=moto_server, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    good = secrets.create_secret(
        Name="reporter", SecretString=json.dumps({"username": "reporter", "password": PASSWORD})
    )
    redshift_env(monkeypatch, moto_server, good["ARN"], tmp_path / "store-sales.toml")
    connection = run_connection_cells(nbformat.read(NOTEBOOK, as_version=4))
    text = outputs_text(connection)
    assert "Redshift workgroup analytics, database dev, schema store_sales, login by a Secrets Manager secret" in text
    assert PASSWORD not in text

    garbled = secrets.create_secret(Name="garbled", SecretString=f"reporter:{PASSWORD}")
    redshift_env(monkeypatch, moto_server, garbled["ARN"], tmp_path / "store-sales.toml")
    connection = run_connection_cells(nbformat.read(NOTEBOOK, as_version=4))
    [error] = [output for output in connection.outputs if output.output_type == "error"]
    assert error.ename == "SecretUnreadable"
    assert garbled["ARN"] in error.evalue
    assert "username" in error.evalue
    assert PASSWORD not in outputs_text(connection)
