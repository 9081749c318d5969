"""Landing extracts and reference tables made from real TPC-DS data.

`generate(scale, data_dir)` runs TPC-DS `dsdgen` through DuckDB's tpcds extension (loaded from the
file shipped in the `duckdb-extension-tpcds` package, never downloaded) into a DuckDB database file in
the build directory, with DuckDB's memory bounded (`GENERATION_MEMORY_LIMIT`; what does not fit spills
to that file and the build directory), and writes the project's landing layout under `data_dir`:

    landing/<extract>/load_date=YYYY-MM-DD/data_0.parquet   extracts customer_address, item, store_sales
    landing/_sample.json                                    what was generated (scale, dates, row counts)
    reference/<table>.parquet                               full TPC-DS customer, store, date_dim

`load_date` is the hive partition column; it is not stored in the files. The load dates run from the
first to the last TPC-DS sale date (1998-01-02..2003-01-02 at every supported scale). A day without
rows in an extract has no partition for that extract.

store_sales
    The TPC-DS sales lines of day D (the sold date, `sold_date`, equals the load date) with natural ids
    looked up from the TPC-DS dimensions: `i_item_id` through ss_item_sk, `c_customer_id` through
    ss_customer_sk, `ca_address_id` through ss_addr_sk, `s_store_id` through ss_store_sk. A NULL
    TPC-DS foreign key gives a NULL natural id. Lines with a NULL ss_sold_date_sk have no day: they are
    dropped and counted in `SampleSummary.sales_lines_without_date`.

item
    TPC-DS `item` carries real type-2 history: several versions per i_item_id, each valid from
    i_rec_start_date. dsdgen blanks a few of these dates at random (3 versions at SF 0.1, 46 at SF 1),
    so each version gets a `valid from` date: its i_rec_start_date; when that is NULL, the earliest
    i_rec_start_date of the whole table (the start of TPC-DS history) for an item's first version
    (lowest i_item_sk), else the day after the previous version's i_rec_end_date. This restores the
    TPC-DS pattern exactly (first versions start 1997-10-27, later ones the day after their
    predecessor ends) and resolves every blank date at the supported scales.
    The first load date carries a full extract: per item, the version valid on that date (the latest
    `valid from` on or before it). Day D > first load date carries the versions valid from D. Versions
    superseded before the first load date and versions starting after the last load date are not
    extracted (there are none at the supported scales: TPC-DS versions start on 1997-10-27,
    1999-10-28, 2000-10-27 and 2001-10-27).

customer_address
    The first load date carries every TPC-DS address. Each later day D up to the last load date
    carries k = max(1, N // 1000) simulated moves, N being the number of TPC-DS addresses (k is 1, 5,
    50 and 250 at SF 0.01, 0.1, 1 and 10). Number the addresses 0..N-1 in ca_address_sk order and let
    h(text) be the MD5 digest of `text` read as a little-endian unsigned integer (DuckDB's
    md5_number). Move j (0 <= j < k) of day D moves the address at position
    p = (h("mover/D") mod N + j * (N // k)) mod N, so the k movers of a day are distinct; it moves to
    the address at position (p + 1 + h("donor/D/j") mod (N - 1)) mod N, never itself. The extract row
    keeps the mover's ca_address_id and takes every other column (street number, name, type, suite,
    city, county, state, zip, country, gmt offset, location type) from the TPC-DS row of that donor
    address. D is written YYYY-MM-DD. Every row therefore describes an address as TPC-DS has it; no
    state is carried between days.

The same scale factor always gives byte-identical files: dsdgen is deterministic, every COPY orders
its rows completely and runs on one DuckDB thread (more threads split a partition over several
files), and the marker holds no timestamps. Whether dsdgen's tables sit in memory or on disk does not
change a byte (checked at SF 0.1 and SF 1 against the former in-memory generation, and at SF 10 between
runs). The result is built in a hidden temporary directory inside `data_dir` and swapped in when
complete; `landing/` and `reference/` are the only entries of `data_dir` this module replaces (the
warehouse file and anything else there are left alone).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from orchestrator.errors import DataDirError, EnvironmentProblem, UsageError
from orchestrator.landing import gate as landing_gate
from orchestrator.landing.contract import (
    ADDRESS_COLUMNS,
    EXTRACTS,
    ITEM_COLUMNS,
    LANDING_DIR,
    PARTITION_COLUMN,
    REFERENCE_DIR,
    REFERENCE_TABLES,
    SALES_MEASURES,
)
from orchestrator.settings import DATA_DIR
from orchestrator.window import RefreshWindow

SUPPORTED_SCALES: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
# DuckDB's buffer pool while generating. An in-memory database held SF 10 in 20 GB; on disk with this bound,
# SF 10 takes 4 min with a process peak of 5.0 GB (DuckDB allocates some memory outside its buffer pool), and its
# database file in the build directory takes a few GB more of disk until the build ends.
GENERATION_MEMORY_LIMIT = "3GB"
MARKER_FILE = "_sample.json"
ADDRESSES_PER_DAILY_MOVE = 1000
TEMP_DIR_PREFIX = ".sample-data-"

# data of another generator (or of this one before arrival markers) is regenerated, not reused
_MARKER_GENERATOR = f"TPC-DS dsdgen, DuckDB {duckdb.__version__} tpcds extension, _SUCCESS arrival markers"

_SALES_MEASURES = ",\n        ".join(f"sales_lines.{column}" for column in SALES_MEASURES)

_STORE_SALES_SQL = f"""
with sales_lines as (
    select * from store_sales where ss_sold_date_sk is not null
),
dates as (
    select * from date_dim
),
items as (
    select * from item
),
customers as (
    select * from customer
),
addresses as (
    select * from customer_address
),
stores as (
    select * from store
),
final as (
    select
        dates.d_date as sold_date,
        items.i_item_id,
        customers.c_customer_id,
        addresses.ca_address_id,
        stores.s_store_id,
        sales_lines.ss_ticket_number,
        {_SALES_MEASURES},
        dates.d_date as load_date,
        sales_lines.ss_item_sk,
    from sales_lines
    inner join dates on sales_lines.ss_sold_date_sk = dates.d_date_sk
    left join items on sales_lines.ss_item_sk = items.i_item_sk
    left join customers on sales_lines.ss_customer_sk = customers.c_customer_sk
    left join addresses on sales_lines.ss_addr_sk = addresses.ca_address_sk
    left join stores on sales_lines.ss_store_sk = stores.s_store_sk
)
select * exclude (ss_item_sk) from final
order by load_date, ss_ticket_number, ss_item_sk
"""

_ITEM_COLUMNS = "".join(f"\n        {column}," for column in ITEM_COLUMNS) + "\n"

_ITEM_SQL = f"""
with items as (
    select * from item
),
load_dates as (
    select * from sample_load_dates
),
numbered_versions as (
    select
        *,
        row_number() over (partition by i_item_id order by i_item_sk) as version_number,
        lag(i_rec_end_date) over (partition by i_item_id order by i_item_sk) as previous_end_date,
        min(i_rec_start_date) over () as history_start_date,
    from items
),
dated_versions as (
    select
        *,
        case
            when i_rec_start_date is not null then i_rec_start_date
            when version_number = 1 then history_start_date
            else previous_end_date + 1
        end as valid_from,
    from numbered_versions
),
initial_versions as (
    select
        {_ITEM_COLUMNS}
        load_dates.first_load_date as load_date,
    from dated_versions
    cross join load_dates
    where dated_versions.valid_from <= load_dates.first_load_date
    qualify row_number() over (partition by i_item_id order by valid_from desc, i_item_sk desc) = 1
),
later_versions as (
    select
        {_ITEM_COLUMNS}
        dated_versions.valid_from as load_date,
    from dated_versions
    cross join load_dates
    where dated_versions.valid_from > load_dates.first_load_date
        and dated_versions.valid_from <= load_dates.last_load_date
),
final as (
    select * from initial_versions
    union all
    select * from later_versions
)
select * from final
order by load_date, i_item_id
"""

_ADDRESS_LOCATION_COLUMNS = ADDRESS_COLUMNS[1:]

_CUSTOMER_ADDRESS_SQL = f"""
with addresses as (
    select * from customer_address
),
load_dates as (
    select * from sample_load_dates
),
positioned_addresses as (
    select
        *,
        row_number() over (order by ca_address_sk) - 1 as address_position,
    from addresses
),
address_counts as (
    select
        count(*) as address_count,
        greatest(1, count(*) // {ADDRESSES_PER_DAILY_MOVE}) as moves_per_day,
    from addresses
),
move_days as (
    select
        dates.d_date as move_date,
        cast(dates.d_date as varchar) as move_day,
    from date_dim as dates
    cross join load_dates
    where dates.d_date > load_dates.first_load_date
        and dates.d_date <= load_dates.last_load_date
),
moves as (
    select
        move_days.move_date,
        move_days.move_day,
        address_counts.address_count,
        address_counts.moves_per_day,
        unnest(range(address_counts.moves_per_day)) as move_number,
    from move_days
    cross join address_counts
),
positioned_moves as (
    select
        *,
        (
            cast(md5_number('mover/' || move_day) % cast(address_count as uhugeint) as bigint)
            + move_number * (address_count // moves_per_day)
        ) % address_count as mover_position,
    from moves
),
donated_moves as (
    select
        move_date,
        mover_position,
        (
            mover_position
            + 1
            + cast(
                md5_number('donor/' || move_day || '/' || cast(move_number as varchar))
                % cast(address_count - 1 as uhugeint)
                as bigint
            )
        ) % address_count as donor_position,
    from positioned_moves
),
initial_addresses as (
    select
        addresses.ca_address_id,
        {", ".join(f"addresses.{column}" for column in _ADDRESS_LOCATION_COLUMNS)},
        load_dates.first_load_date as load_date,
    from addresses
    cross join load_dates
),
moved_addresses as (
    select
        movers.ca_address_id,
        {", ".join(f"donors.{column}" for column in _ADDRESS_LOCATION_COLUMNS)},
        donated_moves.move_date as load_date,
    from donated_moves
    inner join positioned_addresses as movers on donated_moves.mover_position = movers.address_position
    inner join positioned_addresses as donors on donated_moves.donor_position = donors.address_position
),
final as (
    select * from initial_addresses
    union all
    select * from moved_addresses
)
select * from final
order by load_date, ca_address_id
"""

_REFERENCE_ORDER: Mapping[str, str] = {
    "customer": "c_customer_sk",
    "store": "s_store_sk",
    "date_dim": "d_date_sk",
}

_STEPS: tuple[str, ...] = (
    "generating TPC-DS data with dsdgen",
    "writing reference tables",
    "writing store_sales extracts",
    "writing item extracts",
    "writing customer_address extracts",
    "swapping the new data in",
)


@dataclass(frozen=True)
class SampleSummary:
    """What `generate` produced (or found already there, when `generated` is False)."""

    scale: float
    first_load_date: date
    last_load_date: date
    rows: Mapping[str, int]
    partitions: Mapping[str, int]
    sales_lines_without_date: int
    seconds: float
    generated: bool

    @property
    def window(self) -> RefreshWindow:
        return RefreshWindow(self.first_load_date, self.last_load_date)

    def describe(self) -> str:
        """One line for people: scale, dates and row counts."""
        extracts = ", ".join(
            f"{extract} {self.rows[extract]:,} rows in {self.partitions[extract]:,} days" for extract in EXTRACTS
        )
        return (
            f"SF {self.scale:g}, load dates {self.window} ({extracts}; "
            f"{self.sales_lines_without_date:,} sales lines without a sold date dropped)"
        )

    def marker(self) -> dict[str, Any]:
        """The content of landing/_sample.json: everything but the timing, so it is reproducible."""
        return {
            "generator": _MARKER_GENERATOR,
            "scale": self.scale,
            "first_load_date": self.first_load_date.isoformat(),
            "last_load_date": self.last_load_date.isoformat(),
            "rows": dict(self.rows),
            "partitions": dict(self.partitions),
            "sales_lines_without_date": self.sales_lines_without_date,
        }


class _StepDisplay:
    """Which step runs: a rich progress bar when stderr is a terminal, plain lines otherwise."""

    def __init__(self, steps: Sequence[str]) -> None:
        self._steps = steps
        self._console = Console(stderr=True)
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> _StepDisplay:
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("sample-data"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._steps[0], total=len(self._steps))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, index: int, detail: str = "") -> None:
        description = self._steps[index] + (f" ({detail})" if detail else "")
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=index, description=description)
        else:
            _say(f"step {index + 1}/{len(self._steps)}: {description}")


def _say(text: str) -> None:
    print(f"sample-data: {text}", file=sys.stderr, flush=True)


def check_scale(scale: float) -> float:
    """The scale factor if dsdgen is supported for it here, else a UsageError listing the choices."""
    if scale in SUPPORTED_SCALES:
        return scale
    choices = ", ".join(f"{supported:g}" for supported in SUPPORTED_SCALES)
    raise UsageError(f"unsupported TPC-DS scale factor {scale:g}: choose --scale {choices}")


def tpcds_extension_path() -> Path:
    """The tpcds extension file inside the installed duckdb-extension-tpcds package."""
    wanted = f"duckdb-extension-tpcds=={duckdb.__version__}"
    try:
        import duckdb_extension_tpcds
    except ImportError:
        raise EnvironmentProblem(
            f"the Python package duckdb-extension-tpcds is not installed: `pip install '{wanted}'`"
        ) from None
    path = (
        Path(duckdb_extension_tpcds.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "tpcds.duckdb_extension"
    )
    if not path.is_file():
        raise EnvironmentProblem(
            f"no tpcds extension for DuckDB {duckdb.__version__} at {path}: `pip install '{wanted}'`"
        )
    return path


def tpcds_database(scale: float, build_dir: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB database file in `build_dir` holding the TPC-DS tables dsdgen made for `scale`, its memory
    bounded by GENERATION_MEMORY_LIMIT and spilling into `build_dir` (extensions never download)."""
    extension = tpcds_extension_path()
    connection = duckdb.connect(
        str(build_dir / "tpcds.duckdb"),
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    try:
        connection.execute("set enable_progress_bar = false")
        connection.execute("set memory_limit = $limit", {"limit": GENERATION_MEMORY_LIMIT})
        connection.execute("set temp_directory = $path", {"path": str(build_dir / "spill")})
        connection.execute("load " + _sql_string(str(extension)))
        connection.execute("call dsdgen(sf = $scale)", {"scale": check_scale(scale)})
    except BaseException:
        connection.close()
        raise
    return connection


def generate(scale: float, data_dir: Path, force: bool = False) -> SampleSummary:
    """Write the landing extracts and reference tables for TPC-DS scale factor `scale` into `data_dir`.

    Does nothing when `data_dir` already holds this generator's data for the same scale, unless
    `force`. Refuses to replace `landing/` or `reference/` it did not write (no marker) unless `force`.
    """
    started = time.perf_counter()
    check_scale(scale)
    data_dir = data_dir.resolve()
    _create_data_dir(data_dir)
    if not force:
        existing = _existing_marker(data_dir)
        if existing is None and _has_layout(data_dir):
            raise DataDirError(
                f"{data_dir} holds {LANDING_DIR}/ or {REFERENCE_DIR}/ data that sample-data did not write "
                f"(no {LANDING_DIR}/{MARKER_FILE}): pass --force to replace it, or choose another --data-dir"
            )
        if existing is not None and _same_generation(existing, scale):
            summary = _summary_from_marker(existing, time.perf_counter() - started)
            _say(f"{data_dir} already holds {summary.describe()}; nothing to do (--force regenerates)")
            return summary
        if existing is not None:
            _say(f"replacing the SF {existing.get('scale')} sample data in {data_dir} by SF {scale:g}")
    build_dir = _make_build_dir(data_dir)
    try:
        with _StepDisplay(_STEPS) as display:
            summary = _build(scale, build_dir, display, started)
            display.start(len(_STEPS) - 1)
            _swap_in(build_dir, data_dir)
    except (duckdb.IOException, OSError) as error:
        raise EnvironmentProblem(
            f"writing sample data into {data_dir} failed: {error}; "
            "fix the cause (disk space, permissions) and run sample-data again"
        ) from None
    except duckdb.OutOfMemoryException:
        raise EnvironmentProblem(
            f"generating SF {scale:g} ran out of memory (DuckDB's bound is {GENERATION_MEMORY_LIMIT}, the process "
            "needs about 5 GB at SF 10): free memory, or choose a smaller --scale"
        ) from None
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    summary = replace(summary, seconds=time.perf_counter() - started)
    _say(f"wrote {summary.describe()} into {data_dir} in {summary.seconds:.1f} s")
    return summary


def _build(scale: float, build_dir: Path, display: _StepDisplay, started: float) -> SampleSummary:
    display.start(0, f"scale factor {scale:g}")
    connection = tpcds_database(scale, build_dir)
    with connection:
        connection.execute("set threads = 1")
        connection.execute(
            """
            create temp table sample_load_dates as
            select
                min(dates.d_date) as first_load_date,
                max(dates.d_date) as last_load_date,
            from store_sales
            inner join date_dim as dates on store_sales.ss_sold_date_sk = dates.d_date_sk
            """
        )
        first_load_date, last_load_date = _one_row(connection, "select * from sample_load_dates")
        (sales_lines_without_date,) = _one_row(
            connection, "select count(*) from store_sales where ss_sold_date_sk is null"
        )

        display.start(1)
        reference_dir = build_dir / REFERENCE_DIR
        reference_dir.mkdir()
        for table in REFERENCE_TABLES:
            query = f"select * from {table} order by {_REFERENCE_ORDER[table]}"
            _copy(connection, query, reference_dir / f"{table}.parquet")

        landing_dir = build_dir / LANDING_DIR
        landing_dir.mkdir()
        rows: dict[str, int] = {}
        partitions: dict[str, int] = {}
        for step, (extract, query) in enumerate(
            (
                ("store_sales", _STORE_SALES_SQL),
                ("item", _ITEM_SQL),
                ("customer_address", _CUSTOMER_ADDRESS_SQL),
            ),
            start=2,
        ):
            display.start(step)
            rows[extract] = _copy(connection, query, landing_dir / extract, partitioned=True)
            partitions[extract] = sum(1 for _ in (landing_dir / extract).iterdir())
            _write_arrival_markers(connection, landing_dir / extract, RefreshWindow(first_load_date, last_load_date))

    summary = SampleSummary(
        scale=scale,
        first_load_date=first_load_date,
        last_load_date=last_load_date,
        rows={extract: rows[extract] for extract in EXTRACTS},
        partitions={extract: partitions[extract] for extract in EXTRACTS},
        sales_lines_without_date=sales_lines_without_date,
        seconds=time.perf_counter() - started,
        generated=True,
    )
    marker = json.dumps(summary.marker(), indent=2, sort_keys=True) + "\n"
    (landing_dir / MARKER_FILE).write_text(marker, encoding="utf-8")
    return summary


def _write_arrival_markers(connection: duckdb.DuckDBPyConnection, extract_dir: Path, window: RefreshWindow) -> None:
    """A `_SUCCESS` marker naming the files and their rows in every day's folder of the extract, the
    producer's signal that the day has landed (orchestrator.landing.gate); a day without rows gets a
    folder with only its marker: delivered, nothing changed."""
    rows = connection.execute(
        "select file_name, num_rows from parquet_file_metadata($files)", {"files": str(extract_dir / "*" / "*.parquet")}
    ).fetchall()
    files: dict[str, dict[str, int]] = {}
    for file_name, count in rows:
        path = Path(file_name)
        files.setdefault(path.parent.name, {})[path.name] = int(count)
    for day in window.dates():
        folder = extract_dir / landing_gate.folder_name(day)
        folder.mkdir(exist_ok=True)
        document = landing_gate.marker_document(files.get(folder.name, {}))
        (folder / landing_gate.MARKER_FILE).write_text(document, encoding="utf-8")


def _copy(connection: duckdb.DuckDBPyConnection, query: str, target: Path, partitioned: bool = False) -> int:
    """COPY a query to Parquet (hive-partitioned by load_date when asked); returns the rows written."""
    options = "format parquet"
    if partitioned:
        options += f", partition_by ({PARTITION_COLUMN}), filename_pattern 'data_{{i}}'"
    (count,) = _one_row(connection, f"copy ({query}) to {_sql_string(str(target))} ({options})")
    return int(count)


def _one_row(connection: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    row = connection.execute(query).fetchone()
    if row is None:
        raise EnvironmentProblem(f"DuckDB returned no row for: {query.strip()}")
    return row


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _create_data_dir(data_dir: Path) -> None:
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(
            f"the data directory {data_dir} is a file: choose a directory with --data-dir or {DATA_DIR.name}"
        )
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataDirError(
            f"cannot create the data directory {data_dir}: {error.strerror}; "
            f"choose a writable directory with --data-dir or {DATA_DIR.name}"
        ) from None


def _make_build_dir(data_dir: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=TEMP_DIR_PREFIX, dir=data_dir))
    except OSError as error:
        raise DataDirError(
            f"cannot write into the data directory {data_dir}: {error.strerror}; "
            f"choose a writable directory with --data-dir or {DATA_DIR.name}"
        ) from None


def _has_layout(data_dir: Path) -> bool:
    return (data_dir / LANDING_DIR).exists() or (data_dir / REFERENCE_DIR).exists()


def _existing_marker(data_dir: Path) -> dict[str, Any] | None:
    marker = data_dir / LANDING_DIR / MARKER_FILE
    if not marker.is_file():
        return None
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        content = None
    if not isinstance(content, dict):
        raise DataDirError(f"{marker} is unreadable: pass --force to regenerate the sample data")
    return content


def _same_generation(marker: Mapping[str, Any], scale: float) -> bool:
    return marker.get("generator") == _MARKER_GENERATOR and marker.get("scale") == scale


def _summary_from_marker(marker: Mapping[str, Any], seconds: float, generated: bool = False) -> SampleSummary:
    try:
        return SampleSummary(
            scale=float(marker["scale"]),
            first_load_date=date.fromisoformat(marker["first_load_date"]),
            last_load_date=date.fromisoformat(marker["last_load_date"]),
            rows={extract: int(marker["rows"][extract]) for extract in EXTRACTS},
            partitions={extract: int(marker["partitions"][extract]) for extract in EXTRACTS},
            sales_lines_without_date=int(marker["sales_lines_without_date"]),
            seconds=seconds,
            generated=generated,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise DataDirError(
            f"{LANDING_DIR}/{MARKER_FILE} lacks or garbles {error}: pass --force to regenerate the sample data"
        ) from None


def _swap_in(build_dir: Path, data_dir: Path) -> None:
    """Replace data_dir's landing/ and reference/ by the built ones, one rename each.

    The old marker goes first, so an interrupted swap leaves data that is not taken for complete.
    """
    (data_dir / LANDING_DIR / MARKER_FILE).unlink(missing_ok=True)
    for name in (REFERENCE_DIR, LANDING_DIR):
        current = data_dir / name
        if current.exists():
            current.rename(build_dir / f"replaced-{name}")
        (build_dir / name).rename(current)
