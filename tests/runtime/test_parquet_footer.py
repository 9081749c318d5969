"""The Parquet footer reader: the row count of real files written by pyarrow and DuckDB (and by the sample data
generator) equals pyarrow's; a footer cut short, garbage, or not what its Thrift says is refused with one error.

Edge cases no writer here produces (sets, maps, UUIDs, long-form field ids, booleans in lists) are encoded by hand
with the few Thrift compact protocol writers below.
"""

from __future__ import annotations

import contextlib
import struct
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrator.landing.parquet_footer import (
    MAX_DEPTH,
    ParquetFooterError,
    WireType,
    file_rows,
    footer_length,
    num_rows,
    tail_rows,
)
from orchestrator.local import sample_data


def pyarrow_table(rows: int) -> pa.Table:
    """Many column types: scalars, decimals, times, binary, and nested lists, structs and maps."""
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "small": pa.array([i % 100 for i in range(rows)], pa.int8()),
            "flag": pa.array([i % 3 == 0 for i in range(rows)], pa.bool_()),
            "price": pa.array([i / 7 for i in range(rows)], pa.float64()),
            "amount": pa.array([Decimal(i) / 100 for i in range(rows)], pa.decimal128(7, 2)),
            "city": pa.array([None if i % 5 == 0 else f"city {i % 13}" for i in range(rows)], pa.string()),
            "blob": pa.array([bytes([i % 256]) * (i % 4) for i in range(rows)], pa.binary()),
            "day": pa.array([date(2002, 1, 1 + i % 28) for i in range(rows)], pa.date32()),
            "at": pa.array([datetime(2002, 1, 1, i % 24) for i in range(rows)], pa.timestamp("us", tz="UTC")),
            "tags": pa.array([[f"t{j}" for j in range(i % 3)] for i in range(rows)], pa.list_(pa.string())),
            "point": pa.array(
                [{"x": i, "ys": [i, -i]} for i in range(rows)],
                pa.struct([("x", pa.int32()), ("ys", pa.list_(pa.int64()))]),
            ),
            "attributes": pa.array([[("k", i)] for i in range(rows)], pa.map_(pa.string(), pa.int32())),
        }
    )


PYARROW_OPTIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "row groups of 100": {"row_group_size": 100},
    "no statistics, no dictionary, zstd": {"write_statistics": False, "use_dictionary": False, "compression": "zstd"},
    "data page v2, page index, uncompressed": {
        "data_page_version": "2.0",
        "write_page_index": True,
        "compression": "none",
    },
}


@pytest.mark.parametrize("options", PYARROW_OPTIONS.values(), ids=PYARROW_OPTIONS.keys())
@pytest.mark.parametrize("rows", [0, 1, 7, 1_000])
def test_files_written_by_pyarrow(tmp_path: Path, rows: int, options: dict[str, Any]) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pyarrow_table(rows), path, **options)
    assert file_rows(path) == pq.read_metadata(path).num_rows == rows


def test_a_file_with_key_value_metadata_and_many_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    table = pyarrow_table(500).replace_schema_metadata({"producer": "x" * 300, "empty": ""})
    pq.write_table(table, path, row_group_size=10)
    metadata = pq.read_metadata(path)
    assert metadata.num_row_groups == 50 and metadata.metadata is not None
    assert file_rows(path) == metadata.num_rows == 500


DUCKDB_COLUMNS = """
    i as id, (i % 100)::tinyint as small, i % 3 = 0 as flag, i / 7 as price, (i / 100)::decimal(7, 2) as amount,
    (i::hugeint * 1000000000000) as huge, case when i % 5 = 0 then null else 'city ' || (i % 13) end as city,
    encode('blob ' || i) as blob, date '2002-01-01' + (i % 28)::integer as day,
    timestamptz '2002-01-01 00:00:00+00' + to_hours(i % 24) as at, to_days(i % 9) as span, uuid() as uuid,
    [i, -i] as ys, {'x': i, 'tags': ['a', 'b']} as point, map {'k': i} as attributes
"""


@pytest.mark.parametrize("rows", [0, 1, 2_049, 10_000])
def test_files_written_by_duckdb(tmp_path: Path, rows: int) -> None:
    path = tmp_path / "data.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select {DUCKDB_COLUMNS} from range({rows}) t(i)) to '{path}' (format parquet, row_group_size 2048)"
        )
    metadata = pq.read_metadata(path)
    assert metadata.num_row_groups > 1 or rows <= 2_048
    assert file_rows(path) == metadata.num_rows == rows


@pytest.mark.slow
def test_every_file_the_sample_data_generator_writes(tmp_path: Path) -> None:
    sample_data.generate(scale=0.01, data_dir=tmp_path)
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) > 1_000
    assert [file_rows(path) for path in files] == [pq.read_metadata(path).num_rows for path in files]


def parquet_bytes(rows: int) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pyarrow_table(rows), sink)
    return bytes(sink.getvalue().to_pybytes())


def metadata_of(file: bytes) -> bytes:
    """The FileMetaData bytes of a whole Parquet file."""
    length = footer_length(file[-8:])
    return file[-8 - length : -8]


def test_a_ranged_tail_as_s3_returns_it() -> None:
    file = parquet_bytes(10)
    length = footer_length(file[-8:])
    assert tail_rows(file[-(length + 8) :], length) == 10
    assert tail_rows(file, length) == 10  # a range longer than the object: S3 returns it whole
    with pytest.raises(ParquetFooterError, match="exceeds the file's"):
        tail_rows(file[-(length + 7) :], length)


def test_every_cut_of_a_footer_is_refused() -> None:
    metadata = metadata_of(parquet_bytes(10))
    assert num_rows(metadata) == 10
    for end in range(len(metadata)):
        with pytest.raises(ParquetFooterError):
            num_rows(metadata[:end])


@pytest.mark.parametrize(
    ("keep", "match"),
    [
        (0, "0 bytes: too short for a Parquet file"),
        (11, "11 bytes: too short for a Parquet file"),
        (-1, "it does not end with PAR1"),
        (-100, "it does not end with PAR1"),
    ],
)
def test_a_file_cut_short_is_refused(tmp_path: Path, keep: int, match: str) -> None:
    file = parquet_bytes(10)
    path = tmp_path / "data.parquet"
    path.write_bytes(file[:keep])
    with pytest.raises(ParquetFooterError, match=match):
        file_rows(path)


def test_a_footer_longer_than_its_file_an_encrypted_footer_and_a_csv_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(b"PAR1" + struct.pack("<I", 5) + b"PAR1")
    with pytest.raises(ParquetFooterError, match="its footer length 5 exceeds the file's 12 bytes"):
        file_rows(path)
    path.write_bytes(b"PAR1" + b"\x00" * 20 + struct.pack("<I", 20) + b"PARE")
    with pytest.raises(ParquetFooterError, match="encrypted"):
        file_rows(path)
    path.write_bytes(b"ca_address_id,ca_city\nADDR1,Midway\n")
    with pytest.raises(ParquetFooterError, match="does not start with PAR1"):
        file_rows(path)


def test_a_file_whose_head_is_not_parquet_is_refused_even_with_a_readable_footer(tmp_path: Path) -> None:
    """The rule checks both ends, as DuckDB's reader does: a file overwritten at its start keeps its footer."""
    path = tmp_path / "data.parquet"
    path.write_bytes(b"XXXX" + parquet_bytes(10)[4:])
    with pytest.raises(ParquetFooterError, match="does not start with PAR1"):
        file_rows(path)


@given(st.binary(max_size=200))
def test_garbage_is_refused_with_the_one_error_or_read(garbage: bytes) -> None:
    """Any bytes: a count (the few that happen to be a well-formed struct holding field 3) or ParquetFooterError."""
    with contextlib.suppress(ParquetFooterError):
        assert num_rows(garbage) >= 0


# Hand-encoded FileMetaData: the Thrift compact protocol, written as its spec reads.


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def zigzag(value: int) -> bytes:
    return varint((value << 1) ^ (value >> 63))


def field(delta: int, wire_type: int, value: bytes = b"") -> bytes:
    return bytes([delta << 4 | wire_type]) + value


def long_field(field_id: int, wire_type: int, value: bytes = b"") -> bytes:
    return bytes([wire_type]) + zigzag(field_id) + value


STOP = b"\x00"
ROWS = field(3, WireType.I64, zigzag(12_345))  # the first field of its struct: the delta is its id


def test_every_wire_type_is_skipped() -> None:
    """Fields of every type before and after num_rows, containers of every element type, both field id forms."""
    struct_value = field(1, WireType.I32, zigzag(-7)) + field(1, WireType.BOOLEAN_FALSE) + STOP
    before = (
        field(1, WireType.I32, zigzag(2))  # version
        + field(1, WireType.LIST, bytes([2 << 4 | WireType.STRUCT]) + struct_value * 2)  # schema: 2 structs
        + field(1, WireType.I64, zigzag(12_345))  # num_rows, field 3
    )
    after = (
        field(1, WireType.BOOLEAN_TRUE)
        + field(1, WireType.I8, b"\xff")
        + field(1, WireType.I16, zigzag(-300))
        + field(1, WireType.DOUBLE, struct.pack("<d", 1.5))
        + field(1, WireType.BINARY, varint(3) + b"abc")
        + field(1, WireType.UUID, bytes(16))
        + field(1, WireType.STRUCT, field(1, WireType.STRUCT, STOP) + STOP)
        + field(1, WireType.SET, bytes([3 << 4 | WireType.BOOLEAN_FALSE]) + b"\x01\x00\x01")
        + field(1, WireType.LIST, bytes([2 << 4 | WireType.BOOLEAN_TRUE]) + b"\x01\x00")
        + field(1, WireType.LIST, bytes([0xF0 | WireType.I64]) + varint(20) + zigzag(-1) * 20)  # long form size
        + field(1, WireType.LIST, bytes([1 << 4 | WireType.LIST]) + bytes([1 << 4 | WireType.DOUBLE]) + bytes(8))
        + field(1, WireType.MAP, varint(0))  # empty
        + field(1, WireType.MAP, varint(2) + bytes([WireType.BINARY << 4 | WireType.STRUCT]) + (b"\x01k" + STOP) * 2)
        + long_field(300, WireType.BINARY, varint(1) + b"z")
        + long_field(-2, WireType.I64, zigzag(2**62))
    )
    assert num_rows(before + after + STOP) == 12_345
    assert num_rows(long_field(3, WireType.I64, zigzag(0)) + STOP) == 0


@pytest.mark.parametrize(
    ("metadata", "match"),
    [
        (b"", "its footer ends inside its FileMetaData \\(0 bytes\\)"),
        (ROWS, "ends inside"),  # no STOP
        (field(1, WireType.I32, zigzag(2)) + STOP, "has no num_rows"),
        (field(3, WireType.I32, zigzag(5)) + STOP, "num_rows is a Thrift I32, not an I64"),
        (field(3, WireType.I64, zigzag(-5)) + STOP, "says -5 rows"),
        (field(1, 14) + STOP, "Thrift type 14, which does not exist"),
        (field(1, WireType.BINARY, varint(50) + b"short") + field(2, WireType.I64, zigzag(1)) + STOP, "ends inside"),
        (
            field(1, WireType.I64, b"\xff" * 11) + field(2, WireType.I64, zigzag(1)) + STOP,
            "an integer longer than 10 bytes",
        ),
        (field(1, WireType.LIST, bytes([1 << 4])) + STOP, "Thrift type 0"),
        (field(1, WireType.STRUCT) * (MAX_DEPTH + 2), f"deeper than {MAX_DEPTH} levels"),
        (
            field(1, WireType.LIST, bytes([0xF0 | WireType.I32]) + varint(2**31))
            + field(2, WireType.I64, zigzag(1))
            + STOP,
            "ends inside",
        ),
    ],
)
def test_malformed_thrift_is_refused_saying_what(metadata: bytes, match: str) -> None:
    with pytest.raises(ParquetFooterError, match=match):
        num_rows(metadata)
