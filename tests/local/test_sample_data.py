"""Sample data: the landing layout written from real TPC-DS data, checked against dsdgen itself.

One SF 0.1 generation is shared by the module; the expectations are computed independently from a
separate dsdgen run (`tpcds` fixture), in SQL or plain Python, following the rules of the
`orchestrator.local.sample_data` docstring.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from orchestrator.errors import DataDirError, ExitCode
from orchestrator.landing.contract import (
    ADDRESS_COLUMNS,
    EXTRACTS,
    ITEM_COLUMNS,
    REFERENCE_TABLES,
    SALES_COLUMNS,
    SALES_MEASURES,
)
from orchestrator.landing.date_range import landing_date_range
from orchestrator.local import sample_data
from orchestrator.local.sample_data import SampleSummary

SCALE = 0.1
SOURCE_SALES_LINES = 288_464  # dsdgen SF 0.1 store_sales, as measured by hand
PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Generated:
    root: Path
    summary: SampleSummary


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("sample")
    return Generated(root, sample_data.generate(SCALE, root))


@pytest.fixture(scope="module")
def tpcds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = sample_data.tpcds_database(SCALE, tmp_path_factory.mktemp("tpcds"))
    (lines,) = _one(connection, "select count(*) from store_sales")
    assert lines == SOURCE_SALES_LINES
    yield connection
    connection.close()


def _one(connection: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    row = connection.execute(query).fetchone()
    assert row is not None
    return row


def _extract(root: Path, extract: str) -> str:
    return f"read_parquet('{root}/landing/{extract}/*/*.parquet', hive_partitioning = true)"


def _schema(connection: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[Any, ...]]:
    return connection.execute(f"describe select * from {relation}").fetchall()


def _tree(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _md5_number(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode()).digest(), "little")


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "STORE_SALES_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "sample-data", *args],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_same_scale_gives_byte_identical_files_and_keeps_other_files(generated: Generated, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(b"not written by sample-data")

    sample_data.generate(SCALE, tmp_path)

    again = _tree(tmp_path)
    assert again.pop("warehouse.duckdb") == hashlib.sha256(b"not written by sample-data").hexdigest()
    assert again == _tree(generated.root)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["landing", "reference", "warehouse.duckdb"]


@pytest.mark.slow
def test_layout_is_the_landing_contract(generated: Generated) -> None:
    files = sorted(str(path.relative_to(generated.root)) for path in generated.root.rglob("*") if path.is_file())
    partition_file = re.compile(
        r"landing/(customer_address|item|store_sales)/load_date=\d{4}-\d{2}-\d{2}/data_0\.parquet"
    )
    marker_file = re.compile(r"landing/(customer_address|item|store_sales)/load_date=\d{4}-\d{2}-\d{2}/_SUCCESS")
    markers = Counter(name.split("/")[1] for name in files if marker_file.fullmatch(name))
    assert markers == dict.fromkeys(EXTRACTS, generated.summary.window.days)  # every extract, every day
    others = [name for name in files if not partition_file.fullmatch(name) and not marker_file.fullmatch(name)]
    assert others == [
        "landing/_sample.json",
        "reference/customer.parquet",
        "reference/date_dim.parquet",
        "reference/store.parquet",
    ]
    partitions = Counter(name.split("/")[1] for name in files if partition_file.fullmatch(name))
    assert partitions == generated.summary.partitions

    connection = duckdb.connect()
    for extract, columns in (
        ("customer_address", ADDRESS_COLUMNS),
        ("item", ITEM_COLUMNS),
        ("store_sales", SALES_COLUMNS),
    ):
        first = generated.root / "landing" / extract / "load_date=1998-01-02" / "data_0.parquet"
        stored = connection.execute(
            f"select name from parquet_schema('{first}') where name <> 'duckdb_schema'"
        ).fetchall()
        assert tuple(name for (name,) in stored) == columns
        (rows,) = _one(connection, f"select count(*) from {_extract(generated.root, extract)}")
        assert rows == generated.summary.rows[extract]


@pytest.mark.slow
def test_store_sales_are_the_tpcds_lines_of_each_day(generated: Generated, tpcds: duckdb.DuckDBPyConnection) -> None:
    tpcds.execute(f"create or replace temp table landing_sales as from {_extract(generated.root, 'store_sales')}")
    landing = "landing_sales"
    per_day = dict(tpcds.execute(f"select load_date, count(*) from {landing} group by all").fetchall())
    source_per_day = dict(
        tpcds.execute(
            "select d_date, count(*) from store_sales join date_dim on ss_sold_date_sk = d_date_sk group by all"
        ).fetchall()
    )
    assert per_day == source_per_day
    assert len(per_day) == 1822
    (dropped,) = _one(tpcds, "select count(*) from store_sales where ss_sold_date_sk is null")
    assert generated.summary.sales_lines_without_date == dropped > 0
    (mismatched,) = _one(tpcds, f"select count(*) from {landing} where sold_date <> load_date")
    assert mismatched == 0

    measures = ", ".join(f"s.{column}" for column in SALES_MEASURES)
    expected = f"""
        select d.d_date, i.i_item_id, c.c_customer_id, a.ca_address_id, st.s_store_id, s.ss_ticket_number, {measures},
        from store_sales as s
        join date_dim as d on s.ss_sold_date_sk = d.d_date_sk
        left join item as i on s.ss_item_sk = i.i_item_sk
        left join customer as c on s.ss_customer_sk = c.c_customer_sk
        left join customer_address as a on s.ss_addr_sk = a.ca_address_sk
        left join store as st on s.ss_store_sk = st.s_store_sk
    """
    written = f"select {', '.join(SALES_COLUMNS)} from {landing}"
    (missing,) = _one(tpcds, f"select count(*) from ({expected} except all {written})")
    (extra,) = _one(tpcds, f"select count(*) from ({written} except all {expected})")
    assert (missing, extra) == (0, 0)
    (null_items, null_stores) = _one(
        tpcds, f"select count(*) filter (i_item_id is null), count(*) filter (s_store_id is null) from {landing}"
    )
    assert null_items == 0
    assert null_stores > 0


@pytest.mark.slow
def test_item_versions_arrive_on_their_tpcds_start_date(generated: Generated, tpcds: duckdb.DuckDBPyConnection) -> None:
    window = generated.summary.window
    versions = tpcds.execute(
        f"select i_rec_start_date, i_rec_end_date, {', '.join(ITEM_COLUMNS)} from item order by i_item_sk"
    ).fetchall()
    history_start = min(start for start, *_ in versions if start is not None)
    by_item: dict[str, list[tuple[date, date | None, tuple[Any, ...]]]] = defaultdict(list)
    for start, end, *columns in versions:
        earlier = by_item[columns[0]]
        valid_from: date = start
        if start is None and earlier:
            previous_end = earlier[-1][1]
            assert previous_end is not None
            valid_from = previous_end + timedelta(days=1)
        elif start is None:
            valid_from = history_start
        earlier.append((valid_from, end, tuple(columns)))
    expected: Counter[tuple[Any, ...]] = Counter()
    for item_versions in by_item.values():
        initial = [values for valid_from, _, values in item_versions if valid_from <= window.start][-1]
        expected[(window.start, *initial)] += 1
        for valid_from, _, values in item_versions:
            if window.start < valid_from <= window.end:
                expected[(valid_from, *values)] += 1

    written = Counter(
        tpcds.execute(f"select load_date, {', '.join(ITEM_COLUMNS)} from {_extract(generated.root, 'item')}").fetchall()
    )

    assert written == expected
    per_day = Counter(row[0] for row in written.elements())
    tpcds_starts = Counter(start for start, *_ in versions if start is not None and start > window.start)
    repaired_later_starts = Counter({date(2000, 10, 27): 1, date(2001, 10, 27): 1})
    assert per_day == Counter({window.start: 900}) + tpcds_starts + repaired_later_starts
    arrivals = {(row[1], row[3]): row[0] for row in written}
    # the three versions whose i_rec_start_date dsdgen left blank at SF 0.1
    assert arrivals[("AAAAAAAAIBEAAAAA", Decimal("14.70"))] == window.start
    assert arrivals[("AAAAAAAAADFAAAAA", Decimal("0.63"))] == date(2000, 10, 27)
    assert arrivals[("AAAAAAAAMMBAAAAA", Decimal("5.94"))] == date(2001, 10, 27)


@pytest.mark.slow
def test_reference_tables_are_the_tpcds_tables(generated: Generated, tpcds: duckdb.DuckDBPyConnection) -> None:
    for table in REFERENCE_TABLES:
        written = f"read_parquet('{generated.root}/reference/{table}.parquet')"
        assert _schema(tpcds, written) == _schema(tpcds, table)
        (missing,) = _one(tpcds, f"select count(*) from (from {table} except all from {written})")
        (extra,) = _one(tpcds, f"select count(*) from (from {written} except all from {table})")
        (rows,) = _one(tpcds, f"select count(*) from {written}")
        assert (missing, extra) == (0, 0)
        assert rows > 0


@pytest.mark.slow
def test_addresses_move_as_documented(generated: Generated, tpcds: duckdb.DuckDBPyConnection) -> None:
    window = generated.summary.window
    addresses = tpcds.execute(
        f"select {', '.join(ADDRESS_COLUMNS)} from customer_address order by ca_address_sk"
    ).fetchall()
    count = len(addresses)
    moves_per_day = max(1, count // 1000)
    assert moves_per_day == 5
    expected: dict[date, set[tuple[Any, ...]]] = {window.start: set(addresses)}
    for offset in range(1, window.days):
        day = window.start + timedelta(days=offset)
        moved: set[tuple[Any, ...]] = set()
        for move in range(moves_per_day):
            mover = (_md5_number(f"mover/{day}") % count + move * (count // moves_per_day)) % count
            donor = (mover + 1 + _md5_number(f"donor/{day}/{move}") % (count - 1)) % count
            assert donor != mover
            moved.add((addresses[mover][0], *addresses[donor][1:]))
        expected[day] = moved

    written: dict[date, set[tuple[Any, ...]]] = defaultdict(set)
    rows = tpcds.execute(
        f"select load_date, {', '.join(ADDRESS_COLUMNS)} from {_extract(generated.root, 'customer_address')}"
    ).fetchall()
    for load_date, *columns in rows:
        written[load_date].add(tuple(columns))
    assert len(rows) == count + moves_per_day * (window.days - 1) == generated.summary.rows["customer_address"]
    assert written == expected
    changed = sum(
        1 for day, moved in written.items() if day > window.start for row in moved if row not in expected[window.start]
    )
    assert changed > 0.9 * moves_per_day * (window.days - 1)


@pytest.mark.slow
def test_same_scale_again_does_nothing(generated: Generated, capsys: pytest.CaptureFixture[str]) -> None:
    before = _tree(generated.root)

    summary = sample_data.generate(SCALE, generated.root)

    assert not summary.generated
    assert (summary.window, summary.rows, summary.partitions) == (
        generated.summary.window,
        generated.summary.rows,
        generated.summary.partitions,
    )
    assert "nothing to do" in capsys.readouterr().err
    assert _tree(generated.root) == before


def test_landing_date_range(generated: Generated, tmp_path: Path) -> None:
    assert landing_date_range(generated.root) == generated.summary.window
    assert str(generated.summary.window) == "1998-01-02..2003-01-02"
    with pytest.raises(DataDirError, match="run `python -m orchestrator sample-data` first"):
        landing_date_range(tmp_path)


def test_foreign_landing_data_is_replaced_only_with_force(tmp_path: Path) -> None:
    foreign = tmp_path / "landing" / "store_sales" / "mine.parquet"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"someone else's")
    (tmp_path / "warehouse.duckdb").write_bytes(b"warehouse")

    with pytest.raises(DataDirError, match="--force"):
        sample_data.generate(0.01, tmp_path)
    assert foreign.read_bytes() == b"someone else's"

    summary = sample_data.generate(0.01, tmp_path, force=True)

    assert summary.generated
    assert not foreign.exists()
    assert (tmp_path / "warehouse.duckdb").read_bytes() == b"warehouse"
    assert landing_date_range(tmp_path) == summary.window
    assert summary.partitions["store_sales"] == 1200


def test_cli_rejects_an_unknown_scale(tmp_path: Path) -> None:
    result = _run_cli("--scale", "0.5", "--data-dir", str(tmp_path / "data"))

    assert result.returncode == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: unsupported TPC-DS scale factor 0.5: choose --scale 0.01, 0.1, 1, 10")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("below_file", "message"),
    [("sub", "error: cannot create the data directory {path}: "), ("", "error: the data directory {path} is a file")],
)
def test_cli_rejects_a_data_dir_it_cannot_write(tmp_path: Path, below_file: str, message: str) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("a regular file: not even root can create a directory under it\n")
    data_dir = blocker / below_file if below_file else blocker

    result = _run_cli("--scale", "0.01", "--data-dir", str(data_dir))

    assert result.returncode == ExitCode.USAGE
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(message.format(path=data_dir))
    assert "Traceback" not in result.stderr
