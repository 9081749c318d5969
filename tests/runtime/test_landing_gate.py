"""The landing gate on both stores: the local data directory and the landing S3 folder (through moto's S3).

The same deliveries are laid out in both; the gate must return the same verdicts: landed, not delivered,
files without a marker, counts that do not match, and days accepted by `allow_missing`. (The runner's use
of the gate, before any model and with the marts unchanged, is in tests/faults/test_faults_landing.py.)
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from orchestrator.errors import LandingIncomplete, UsageError
from orchestrator.landing.catch_up import landed_window
from orchestrator.landing.gate import (
    MARKER_FILE,
    LandingStore,
    LocalLanding,
    S3Landing,
    check_window,
    folder_name,
    marker_document,
)
from orchestrator.landing.parquet_footer import ParquetFooterError
from orchestrator.window import RefreshWindow

BUCKET = "landing-bucket"
DAYS = RefreshWindow(date(2002, 12, 29), date(2002, 12, 31))


def parquet(rows: int) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"ss_ticket_number": list(range(rows))}), buffer)
    return buffer.getvalue()


def full_delivery() -> dict[str, bytes]:
    """Every extract of every day of DAYS, landed with counted markers (item: nothing changed on the 30th)."""
    files: dict[str, bytes] = {}
    for day in DAYS.dates():
        for extract in ("customer_address", "item", "store_sales"):
            folder = f"landing/{extract}/{folder_name(day)}"
            rows = {"customer_address": 2, "item": 0 if day.day == 30 else 3, "store_sales": 40 + day.day}[extract]
            counts = {"data_0.parquet": rows} if rows else {}
            for name, count in counts.items():
                files[f"{folder}/{name}"] = parquet(count)
            files[f"{folder}/{MARKER_FILE}"] = marker_document(counts).encode()
    # a day after the window and a foreign key in the folder: neither is the window's business
    files["landing/store_sales/load_date=2003-01-01/data_0.parquet"] = b"not parquet"
    files["landing/store_sales/README"] = b"not a day"
    return files


Layout = Callable[[dict[str, bytes]], LandingStore]


@pytest.fixture(params=["local", "s3"])
def layout(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Layout]:
    """Writes a {key: bytes} landing and returns the store the gate reads it through."""
    if request.param == "local":

        def local(files: dict[str, bytes]) -> LandingStore:
            for key, body in files.items():
                (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / key).write_bytes(body)
            return LocalLanding(tmp_path)

        yield local
        return
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)

        def remote(files: dict[str, bytes]) -> LandingStore:
            for key, body in files.items():
                s3.put_object(Bucket=BUCKET, Key=f"store-sales/{key}", Body=body)
            return S3Landing(f"s3://{BUCKET}/store-sales", s3)

        yield remote


def test_a_fully_landed_window_passes(layout: Layout) -> None:
    assert check_window(layout(full_delivery()), DAYS) == []


def test_each_kind_of_incomplete_delivery_is_named(layout: Layout) -> None:
    files = full_delivery()
    del files[f"landing/item/{folder_name(date(2002, 12, 29))}/{MARKER_FILE}"]  # files, no marker
    for key in [k for k in files if k.startswith("landing/customer_address/load_date=2002-12-30/")]:
        del files[key]  # nothing at all
    files["landing/store_sales/load_date=2002-12-31/data_0.parquet"] = parquet(12)  # short: 71 expected
    store = layout(files)
    with pytest.raises(LandingIncomplete) as failure:
        check_window(store, DAYS)
    message = str(failure.value)
    item, sales = store.folder("item", date(2002, 12, 29)), store.folder("store_sales", date(2002, 12, 31))
    assert message == (
        "landing incomplete: customer_address 2002-12-30: not delivered (no _SUCCESS marker, no file); "
        f"item 2002-12-29: 1 file(s) in {item} but no _SUCCESS marker (the delivery may be in progress); "
        f"store_sales 2002-12-31: {sales}/data_0.parquet has 12 rows, _SUCCESS says 71 (truncated or still being "
        "written?). Nothing was loaded by this task: replace the file(s) named and run the same window again "
        "(python -m orchestrator run --start 2002-12-29 --end 2002-12-31); wait until the delivery in progress "
        "writes its _SUCCESS marker; wait for the delivery (its _SUCCESS marker), or run the window again with "
        "--allow-missing customer_address if that day has none"
    )


def test_a_wrong_file_is_to_be_replaced_not_waited_for(layout: Layout) -> None:
    """A file that is there but wrong is replaced and the window run again: no wait and no --allow-missing."""
    corrupt = full_delivery()
    corrupt["landing/store_sales/load_date=2002-12-30/data_0.parquet"] = parquet(3)
    with pytest.raises(LandingIncomplete) as failure:
        check_window(layout(corrupt), DAYS)
    assert str(failure.value).startswith("landing rejected: store_sales 2002-12-30: ")
    assert "replace the file(s) named and run the same window again" in str(failure.value)
    assert "wait" not in str(failure.value) and "--allow-missing" not in str(failure.value)


def test_a_missing_delivery_is_waited_for_or_accepted(layout: Layout) -> None:
    missing = full_delivery()
    for key in [k for k in missing if k.startswith("landing/item/load_date=2002-12-31/")]:
        del missing[key]
    with pytest.raises(LandingIncomplete) as failure:
        check_window(layout(missing), DAYS)
    assert str(failure.value).endswith(
        "Nothing was loaded by this task: wait for the delivery (its _SUCCESS marker), or run the window again "
        "with --allow-missing item if that day has none"
    )


def test_only_the_extracts_asked_for_are_checked(layout: Layout) -> None:
    """A task checks the extracts it reads: a broken sales file fails the fact's task, not the dimensions'."""
    files = full_delivery()
    files["landing/store_sales/load_date=2002-12-29/data_0.parquet"] = b"garbage"
    store = layout(files)
    assert check_window(store, DAYS, extracts=("customer_address", "item")) == []
    with pytest.raises(LandingIncomplete, match="store_sales 2002-12-29"):
        check_window(store, DAYS, extracts=("store_sales",))


def test_allow_missing_accepts_only_days_with_nothing_delivered(layout: Layout) -> None:
    files = full_delivery()
    for key in [k for k in files if k.startswith("landing/item/load_date=2002-12-3")]:
        del files[key]
    assert check_window(layout(files), DAYS, allow_missing=("item",)) == ["item 2002-12-30", "item 2002-12-31"]
    with pytest.raises(LandingIncomplete, match="item 2002-12-30: not delivered"):
        check_window(layout(files), DAYS, allow_missing=("store_sales",))
    with pytest.raises(UsageError, match="--allow-missing items: not an extract; choose from customer_address"):
        check_window(layout(files), DAYS, allow_missing=("items",))


def test_an_unreadable_file_is_named_not_raised(layout: Layout) -> None:
    files = full_delivery()
    files["landing/store_sales/load_date=2002-12-29/data_0.parquet"] = b"garbage"
    store = layout(files)
    with pytest.raises(LandingIncomplete) as failure:
        check_window(store, DAYS)
    path = store.folder("store_sales", date(2002, 12, 29)) + "/data_0.parquet"
    assert f"store_sales 2002-12-29: {path} is not a readable Parquet file" in str(failure.value)


def test_only_the_first_problems_are_spelled_out(layout: Layout) -> None:
    store = layout({})
    with pytest.raises(LandingIncomplete, match=r"; and 4 more\. Nothing was loaded by this task") as failure:
        check_window(store, DAYS)
    assert str(failure.value).count("not delivered") == 5


def test_marker_days_after_a_day_lists_only_the_days_after_it(layout: Layout) -> None:
    files = full_delivery()
    del files[f"landing/item/{folder_name(date(2002, 12, 31))}/{MARKER_FILE}"]
    store = layout(files)
    assert store.marker_days("store_sales") == set(DAYS.dates())
    assert store.marker_days("store_sales", after=date(2002, 12, 29)) == {date(2002, 12, 30), date(2002, 12, 31)}
    assert store.marker_days("store_sales", after=date(2002, 12, 31)) == set()
    assert store.marker_days("item", after=date(2002, 12, 28)) == {date(2002, 12, 29), date(2002, 12, 30)}
    assert landed_window(store, date(2002, 12, 28)) == RefreshWindow(date(2002, 12, 29), date(2002, 12, 30))
    assert landed_window(store, date(2002, 12, 30)) is None  # the 31st: item has not landed


def test_a_damaged_footer_length_is_refused_before_the_footer_is_read(layout: Layout) -> None:
    files = full_delivery()
    good = parquet(41)
    damaged = good[:-8] + (2**31).to_bytes(4, "little") + b"PAR1"  # a length far beyond the file
    files["landing/store_sales/load_date=2002-12-29/data_0.parquet"] = damaged
    with pytest.raises(LandingIncomplete, match=f"footer length 2,147,483,648 exceeds the file's {len(good):,} bytes"):
        check_window(layout(files), DAYS)


def test_only_load_date_folders_in_the_layout_count_as_days(layout: Layout) -> None:
    files = full_delivery()
    files[f"landing/store_sales/load_date=20030105/{MARKER_FILE}"] = b""  # Python reads it as a date; S3 sorts it
    files[f"landing/store_sales/load_date=2003-W01-1/{MARKER_FILE}"] = b""  # before every dated folder
    assert layout(files).marker_days("store_sales") == set(DAYS.dates())


def test_an_object_deleted_after_the_listing_is_named_not_raised() -> None:
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        store = S3Landing(f"s3://{BUCKET}/store-sales", s3)
        with pytest.raises(OSError, match="S3 NoSuchKey reading store-sales/landing/store_sales/load_date=2002-12-29"):
            store.row_count("store_sales", date(2002, 12, 29), "data_0.parquet")


def test_on_s3_a_damaged_footer_length_costs_one_small_read() -> None:
    good = parquet(41)
    with mock_aws():
        s3: Any = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="store-sales/landing/store_sales/load_date=2002-12-29/data_0.parquet",
                      Body=good[:-8] + (2**31).to_bytes(4, "little") + b"PAR1")  # fmt: skip
        ranges: list[str] = []
        s3.meta.events.register(
            "provide-client-params.s3.GetObject", lambda params, **_: ranges.append(params["Range"])
        )
        store = S3Landing(f"s3://{BUCKET}/store-sales", s3)
        with pytest.raises(ParquetFooterError, match="exceeds the file's"):
            store.row_count("store_sales", date(2002, 12, 29), "data_0.parquet")
    assert ranges == ["bytes=-8"]  # the tail only: the declared 2 GiB footer is never asked for
