"""The row count a Parquet file's footer declares, read without a Parquet library.

The landing gate needs one number per file, `FileMetaData.num_rows`, and the runtime image carries no
Parquet library for it (pyarrow alone is larger than dbt, the Redshift adapter and boto3 together). A
Parquet file ends with its footer:

    <FileMetaData, Thrift compact protocol> <its length: 4 bytes, little endian> "PAR1"

FileMetaData is a Thrift struct (apache/parquet-format, parquet.thrift) whose field 3 is `required i64
num_rows`; every other field (the schema, the row groups with their column chunks and statistics, key-value
metadata, ...) is skipped by its wire type, as the Thrift compact protocol spec
(apache/thrift, doc/specs/thrift-compact-protocol.md) encodes it. The whole struct is read, so a footer cut
short or not Thrift at all is refused rather than half-trusted.
"""

from __future__ import annotations

import os
import struct
from enum import IntEnum
from pathlib import Path

MAGIC = b"PAR1"
ENCRYPTED_MAGIC = b"PARE"  # a Parquet file whose footer is encrypted: its FileMetaData cannot be read in clear
TAIL_SIZE = 8  # the footer's length (4 bytes) and the magic
SMALLEST_FILE = len(MAGIC) + TAIL_SIZE  # the leading magic, then the tail: no footer fits in less
NUM_ROWS_FIELD = 3
MAX_DEPTH = 64  # structs and containers nested deeper than this are garbage, not a Parquet footer
MAX_VARINT_BYTES = 10  # an i64 takes at most 10 groups of 7 bits


class ParquetFooterError(ValueError):
    """The bytes are not a Parquet footer this reader can read: too short, no `PAR1` magic, a length beyond the
    file, an encrypted footer, or a FileMetaData that is not well-formed Thrift or lacks `num_rows`."""


class WireType(IntEnum):
    """The Thrift compact protocol's types, as a field header's low nibble (and a container's element type)."""

    BOOLEAN_TRUE = 1  # as an element type: some writers name `bool` by 1, the spec by 2
    BOOLEAN_FALSE = 2
    I8 = 3
    I16 = 4
    I32 = 5
    I64 = 6
    DOUBLE = 7
    BINARY = 8
    LIST = 9
    SET = 10
    MAP = 11
    STRUCT = 12
    UUID = 13


def footer_length(tail: bytes) -> int:
    """The FileMetaData's length, from the last 8 bytes of a Parquet file."""
    if len(tail) < TAIL_SIZE:
        raise ParquetFooterError(f"{len(tail)} bytes: too short for a Parquet file (it ends in 8 bytes of footer)")
    if tail[-4:] == ENCRYPTED_MAGIC:
        raise ParquetFooterError("its footer is encrypted (PARE): its row count cannot be read")
    if tail[-4:] != MAGIC:
        raise ParquetFooterError("it does not end with PAR1")
    (length,) = struct.unpack("<I", tail[-8:-4])
    return int(length)


def num_rows(metadata: bytes) -> int:
    """`FileMetaData.num_rows` from a footer's FileMetaData bytes (what lies before its length and magic)."""
    try:
        rows = _file_metadata_rows(metadata)
    except IndexError:  # a read past the last byte: the struct has not ended
        raise ParquetFooterError(f"its footer ends inside its FileMetaData ({len(metadata):,} bytes)") from None
    if rows is None:
        raise ParquetFooterError(f"its footer has no num_rows (FileMetaData field {NUM_ROWS_FIELD})")
    if rows < 0:
        raise ParquetFooterError(f"its footer says {rows} rows")
    return rows


def check_fits(length: int, size: int) -> None:
    """Refuse a file of `size` bytes too short for a Parquet file, or for the footer `length` its tail declares
    (checked before the footer is read: a damaged length must not make the reader fetch gigabytes)."""
    if size < SMALLEST_FILE:
        raise ParquetFooterError(f"{size} bytes: too short for a Parquet file (at least {SMALLEST_FILE})")
    if length > size - SMALLEST_FILE:
        raise ParquetFooterError(f"its footer length {length:,} exceeds the file's {size:,} bytes")


def file_rows(path: Path) -> int:
    """The row count of the Parquet file at `path`: its leading magic, its last 8 bytes, then its footer (three
    reads). This is the one rule of what a Parquet landing file is: the gate reads each file's count with it, and
    a plain `dbt build` on the local target checks each file of its window with it (orchestrator/local/
    duckdb_functions.py). In S3 the gate reads the tail alone (`tail_rows`: one ranged read per file)."""
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        check_fits(0, size)
        if file.read(len(MAGIC)) != MAGIC:
            raise ParquetFooterError("it does not start with PAR1")
        file.seek(size - TAIL_SIZE)
        length = footer_length(file.read(TAIL_SIZE))
        check_fits(length, size)
        file.seek(size - TAIL_SIZE - length)
        return num_rows(file.read(length))


def tail_rows(tail: bytes, length: int) -> int:
    """The row count from a file's last `length + 8` bytes (`length` from `footer_length`), as a ranged read
    returns them: a file shorter than that comes back whole, and shorter than its footer is refused."""
    if len(tail) < length + TAIL_SIZE:
        raise ParquetFooterError(f"its footer length {length:,} exceeds the file's {len(tail):,} bytes")
    return num_rows(tail[-(length + TAIL_SIZE) : -TAIL_SIZE])


# The readers below take the bytes and a position and return what they read with the next position; a read past
# the end raises IndexError (num_rows turns it into ParquetFooterError). Plain ints and functions: a footer holds
# thousands of values and the gate may read thousands of footers (a backfill).
WIRE_TYPES: frozenset[int] = frozenset(WireType)
BOOLEANS: frozenset[int] = frozenset((WireType.BOOLEAN_TRUE, WireType.BOOLEAN_FALSE))
VARINTS: frozenset[int] = frozenset((WireType.I16, WireType.I32, WireType.I64))
FIXED_SIZES: dict[int, int] = {WireType.I8: 1, WireType.DOUBLE: 8, WireType.UUID: 16}
CONTAINERS: frozenset[int] = frozenset((WireType.LIST, WireType.SET))


def _file_metadata_rows(data: bytes) -> int | None:
    """Read the FileMetaData struct whole; its field 3 (`num_rows`), None when absent."""
    rows = None
    field_id, position = 0, 0
    while header := data[position]:
        field_id, wire_type, position = _field_header(data, position + 1, header, field_id)
        if field_id != NUM_ROWS_FIELD:
            position = _skip(data, position, wire_type, depth=1)
        elif wire_type == WireType.I64:
            zigzag, position = _varint(data, position)
            rows = (zigzag >> 1) ^ -(zigzag & 1)
        else:
            raise ParquetFooterError(f"its footer's num_rows is a Thrift {WireType(wire_type).name}, not an I64")
    return rows


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """An unsigned LEB128 integer."""
    value = 0
    for group in range(MAX_VARINT_BYTES):
        byte = data[position + group]
        value |= (byte & 0x7F) << (7 * group)
        if not byte & 0x80:
            return value, position + group + 1
    raise ParquetFooterError(f"its footer holds an integer longer than {MAX_VARINT_BYTES} bytes")


def _wire_type(nibble: int) -> int:
    if nibble not in WIRE_TYPES:
        raise ParquetFooterError(f"its footer holds Thrift type {nibble}, which does not exist")
    return nibble


def _field_header(data: bytes, position: int, header: int, previous_id: int) -> tuple[int, int, int]:
    """A field's id (the high nibble: a delta from the previous id; 0: a zigzag i16 follows) and type."""
    wire_type = _wire_type(header & 0x0F)
    if header >> 4:
        return previous_id + (header >> 4), wire_type, position
    zigzag, position = _varint(data, position)
    return (zigzag >> 1) ^ -(zigzag & 1), wire_type, position


def _skip(data: bytes, position: int, wire_type: int, depth: int) -> int:
    """The position after one value of `wire_type` at `position` (a field's: a boolean field's value is in its
    header)."""
    if wire_type in VARINTS:
        return _varint(data, position)[1]
    if wire_type == WireType.BINARY:
        length, position = _varint(data, position)
        return _past(data, position + length)
    if wire_type in BOOLEANS:
        return position
    if wire_type in FIXED_SIZES:
        return _past(data, position + FIXED_SIZES[wire_type])
    if depth > MAX_DEPTH:
        raise ParquetFooterError(f"its footer nests values deeper than {MAX_DEPTH} levels")
    if wire_type == WireType.STRUCT:
        field_id = 0
        while header := data[position]:
            field_id, field_type, position = _field_header(data, position + 1, header, field_id)
            position = _skip(data, position, field_type, depth + 1)
        return position + 1
    if wire_type in CONTAINERS:  # the size in the high nibble (15: a varint follows), the element type in the low
        header = data[position]
        size, position = (header >> 4, position + 1) if header >> 4 != 0x0F else _varint(data, position + 1)
        element = _wire_type(header & 0x0F)
        for _ in range(size):
            position = _skip_element(data, position, element, depth + 1)
        return position
    size, position = _varint(data, position)  # a MAP: its size (0: empty), then the key and value types
    if size:
        types = data[position]
        key, value = _wire_type(types >> 4), _wire_type(types & 0x0F)
        position += 1
        for _ in range(size):
            position = _skip_element(data, position, key, depth + 1)
            position = _skip_element(data, position, value, depth + 1)
    return position


def _skip_element(data: bytes, position: int, wire_type: int, depth: int) -> int:
    """The position after one element of a list, set or map: a boolean element is one byte, the rest as fields."""
    if wire_type in BOOLEANS:
        return _past(data, position + 1)
    return _skip(data, position, wire_type, depth)


def _past(data: bytes, position: int) -> int:
    """`position`, after checking that the bytes before it are there."""
    if position > len(data):
        raise IndexError(position)
    return position
