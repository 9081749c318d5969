"""The landing gate: no model reads a day until every extract of that day has landed, complete.

A producer signals that an extract of a day is complete by writing `_SUCCESS` in the day's folder, after
its data files (the Spark/Hadoop convention; Redshift Spectrum and DuckDB's `*.parquet` globs skip it):

    DIR/landing/<extract>/load_date=YYYY-MM-DD/_SUCCESS        (or the same key under the landing S3 URI)

The marker is empty (presence is the signal) or JSON naming the day's files and their row counts:

    {"files": [{"name": "data_0.parquet", "rows": 1520}]}

A day with nothing to deliver (no changed items) has a folder with only its marker (`{"files": []}`).
With counts, the gate checks that exactly those files are there (no extra Parquet file) and that each
file's Parquet footer holds that many rows: a file still being copied, truncated or replaced shows up.

The runner calls `check_window` before dbt in every task whose models read an extract, for the extracts that
task reads (no task fails for an extract it does not read): a missing or short delivery fails that task with
`LandingIncomplete` before its models change, naming the extract, the day, the file (its full path or S3 URI),
what is wrong and what to do, which depends on the kind of problem (`ProblemKind`): a delivery not there yet
is waited for (or accepted by `--allow-missing`), a corrupt or mismatching file is replaced and the same window
run again. `allow_missing` lists extracts whose days may have no marker and no files at all (a day known to
have no delivery); such days are returned so the run can report them. Files without a marker are never
accepted: the delivery may still be in progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from orchestrator import settings
from orchestrator.errors import LandingIncomplete, LandingTimedOut, UsageError
from orchestrator.landing import parquet_footer
from orchestrator.landing.contract import EXTRACTS, LANDING_DIR, PARTITION_COLUMN
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

LANDING_S3_URI_ENV = settings.LANDING_S3_URI.name  # on AWS: the S3 folder holding landing/ (as for dbt)
MARKER_FILE = "_SUCCESS"
DATA_SUFFIX = ".parquet"
PROBLEMS_SHOWN = 5


@dataclass(frozen=True)
class Delivery:
    """What one extract's folder for one day holds: its marker's bytes (None: no marker) and data files,
    when the marker was written, and the entries named like data files that are no file (a folder, a broken
    link): DuckDB's glob would skip those without a word, losing their rows even under an empty marker.
    `folder` is where the day's files are (a local path or an s3:// URI), so a problem names a file in full."""

    extract: str
    day: date
    marker: bytes | None
    files: tuple[str, ...]
    landed_at: datetime | None = None
    not_files: tuple[str, ...] = ()
    folder: str = ""

    def where(self, name: str) -> str:
        return f"{self.folder}/{name}" if self.folder else name


class ProblemKind(StrEnum):
    """What kind of wrong a delivery is, which decides what the user should do about it."""

    NOT_DELIVERED = "not delivered"  # no marker and no file: wait, or --allow-missing for a day with none
    IN_PROGRESS = "in progress"  # files but no marker yet: wait (never accepted by --allow-missing)
    MISMATCH = "mismatch"  # corrupt, or not what its marker says: replace it and run the same window again


@dataclass(frozen=True)
class Problem:
    """One extract of one day that has not fully landed: "<extract> <day>: <text>"."""

    extract: str
    day: date
    kind: ProblemKind
    text: str

    def __str__(self) -> str:
        return f"{self.extract} {self.day}: {self.text}"


class LandingStore(Protocol):
    """Where the landing lives: the local data directory or the landing S3 folder."""

    def deliveries(self, extract: str, window: RefreshWindow) -> list[Delivery]: ...

    def folder(self, extract: str, day: date) -> str:
        """Where the day's files of `extract` are: a local path or an s3:// URI."""
        ...

    def row_count(self, extract: str, day: date, name: str) -> int: ...

    def marker_days(self, extract: str, after: date | None = None) -> set[date]:
        """The days of `extract` that have their `_SUCCESS` marker (only those after `after`, when given: a
        daily run asks for the days after the last loaded one, so its listing does not grow with the history)."""
        ...


def folder_name(day: date) -> str:
    return f"{PARTITION_COLUMN}={day.isoformat()}"


def marker_document(files: Mapping[str, int]) -> str:
    """The `_SUCCESS` content naming `files` (file name -> rows), as the sample generator writes it."""
    listed = [{"name": name, "rows": rows} for name, rows in sorted(files.items())]
    return json.dumps({"files": listed}, sort_keys=True) + "\n"


class LocalLanding:
    """`DIR/landing/<extract>/load_date=D/` folders on this machine."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / LANDING_DIR

    def folder(self, extract: str, day: date) -> str:
        return str(self.root / extract / folder_name(day))

    def deliveries(self, extract: str, window: RefreshWindow) -> list[Delivery]:
        found = []
        for day in window.dates():
            folder = self.root / extract / folder_name(day)
            try:
                with os.scandir(folder) as listing:
                    entries = {entry.name: entry.is_file() for entry in listing}
            except FileNotFoundError:
                entries = {}
            except OSError as error:
                raise LandingIncomplete(f"{extract} {day}: cannot list {folder}: {error.strerror}") from None
            names = sorted(name for name, is_file in entries.items() if is_file)
            not_files = tuple(sorted(n for n, is_file in entries.items() if not is_file and n.endswith(DATA_SUFFIX)))
            marker, landed_at = None, None
            if MARKER_FILE in names:
                marker = (folder / MARKER_FILE).read_bytes()
                landed_at = datetime.fromtimestamp((folder / MARKER_FILE).stat().st_mtime, tz=UTC)
            data_files = tuple(n for n in names if n.endswith(DATA_SUFFIX))
            found.append(Delivery(extract, day, marker, data_files, landed_at, not_files, self.folder(extract, day)))
        return found

    def marker_days(self, extract: str, after: date | None = None) -> set[date]:
        days = set()
        with contextlib.suppress(FileNotFoundError), os.scandir(self.root / extract) as entries:
            for entry in entries:
                day = _folder_day(entry.name)
                if day is not None and (after is None or day > after) and (Path(entry.path) / MARKER_FILE).is_file():
                    days.add(day)
        return days

    def row_count(self, extract: str, day: date, name: str) -> int:
        return parquet_footer.file_rows(self.root / extract / folder_name(day) / name)


class S3Landing:
    """`s3://bucket/prefix/landing/<extract>/load_date=D/` keys: one listing per extract, footers by range."""

    def __init__(self, uri: str, s3: S3Client) -> None:
        if not uri.startswith("s3://"):
            raise UsageError(
                f"landing URI {uri!r} must be the S3 folder holding landing/, e.g. s3://bucket/store-sales"
            )
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.bucket = bucket
        self.prefix = "/".join(p for p in (prefix.strip("/"), LANDING_DIR) if p)
        self.s3 = s3

    def _folder(self, extract: str, day: date) -> str:
        return f"{self.prefix}/{extract}/{folder_name(day)}"

    def folder(self, extract: str, day: date) -> str:
        return f"s3://{self.bucket}/{self._folder(extract, day)}"

    def deliveries(self, extract: str, window: RefreshWindow) -> list[Delivery]:
        names: dict[date, list[str]] = {day: [] for day in window.dates()}
        landed: dict[date, datetime] = {}
        start_after = f"{self.prefix}/{extract}/{folder_name(window.start)}"
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}/{extract}/", StartAfter=start_after)
        for page in pages:
            last_day = None
            for item in page.get("Contents", ()):
                folder, _, name = str(item["Key"]).rpartition("/")
                last_day = _folder_day(folder.rpartition("/")[2])
                if last_day in names:
                    names[last_day].append(name)
                    if name == MARKER_FILE:
                        landed[last_day] = item["LastModified"]
            if last_day is not None and last_day > window.end:
                break  # keys come sorted, so by date: the rest lies after the window
        found = []
        for day, listed in names.items():
            marker = None
            if MARKER_FILE in listed:
                body = self.s3.get_object(Bucket=self.bucket, Key=f"{self._folder(extract, day)}/{MARKER_FILE}")
                marker = body["Body"].read()
            files = tuple(sorted(n for n in listed if n.endswith(DATA_SUFFIX)))
            found.append(Delivery(extract, day, marker, files, landed.get(day), folder=self.folder(extract, day)))
        return found

    def marker_of(self, bucket: str, key: str) -> tuple[str, date] | None:
        """(extract, day) when s3://bucket/key is an extract's `_SUCCESS` marker in this landing, else None."""
        parts = key.removeprefix(f"{self.prefix}/").split("/")
        if bucket != self.bucket or not key.startswith(f"{self.prefix}/") or len(parts) != 3:
            return None
        extract, folder, name = parts
        day = _folder_day(folder) if folder.startswith(f"{PARTITION_COLUMN}=") else None
        if extract not in EXTRACTS or name != MARKER_FILE or day is None:
            return None
        return extract, day

    def marker_days(self, extract: str, after: date | None = None) -> set[date]:
        days = set()
        prefix = f"{self.prefix}/{extract}/"
        # keys come sorted by name, so by day: the days after `after` start at its next day's folder
        start_after = prefix if after is None else prefix + folder_name(after + timedelta(days=1))
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix, StartAfter=start_after
        ):
            for item in page.get("Contents", ()):
                folder, _, name = str(item["Key"]).rpartition("/")
                day = _folder_day(folder.rpartition("/")[2])
                if name == MARKER_FILE and day is not None:
                    days.add(day)
        return days

    def row_count(self, extract: str, day: date, name: str) -> int:
        """Two ranged reads: the last 8 bytes (with the object's size), then the footer they declare. An S3 error
        (the object deleted since the listing, a range an empty object cannot serve) is an OSError."""
        key = f"{self._folder(extract, day)}/{name}"
        try:
            end = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=-{parquet_footer.TAIL_SIZE}")
            size = _object_size(end)
            length = parquet_footer.footer_length(end["Body"].read())
            parquet_footer.check_fits(length, size)
            footer_range = f"bytes=-{length + parquet_footer.TAIL_SIZE}"
            tail = self.s3.get_object(Bucket=self.bucket, Key=key, Range=footer_range)
        except ClientError as error:
            raise OSError(f"S3 {error.response.get('Error', {}).get('Code', 'error')} reading {key}") from None
        return parquet_footer.tail_rows(tail["Body"].read(), length)


def _object_size(response: Mapping[str, Any]) -> int:
    """An object's whole size from a ranged GetObject's answer: `ContentRange` ("bytes 5-12/13"), or its
    `ContentLength` when the object was served whole."""
    content_range = str(response.get("ContentRange") or "")
    total = content_range.rpartition("/")[2]
    return int(total) if total.isdigit() else int(response["ContentLength"])


def _folder_day(name: str) -> date | None:
    """The day of a `load_date=YYYY-MM-DD` folder name; None for any other name (Python also reads `20021231` or
    `2002-W52-1` as dates: such folders are not the layout's, and would not sort by date in an S3 listing)."""
    try:
        day = date.fromisoformat(name.removeprefix(f"{PARTITION_COLUMN}="))
    except ValueError:
        return None
    return day if name == folder_name(day) else None


@dataclass(frozen=True)
class WindowCheck:
    """The gate's findings for a window: what is wrong and what was accepted ("<extract> <day>")."""

    problems: tuple[Problem, ...]
    accepted: tuple[str, ...]

    def summary(self) -> str:
        shown = "; ".join(str(problem) for problem in self.problems[:PROBLEMS_SHOWN])
        more = len(self.problems) - PROBLEMS_SHOWN
        return shown + (f"; and {more} more" if more > 0 else "")

    def advice(self, window: RefreshWindow) -> str:
        """What to do, for each kind of problem found."""
        kinds = {problem.kind for problem in self.problems}
        steps = []
        if ProblemKind.MISMATCH in kinds:
            steps.append(f"replace the file(s) named and run the same window again ({window.run_command()})")
        if ProblemKind.IN_PROGRESS in kinds:
            steps.append(f"wait until the delivery in progress writes its {MARKER_FILE} marker")
        if ProblemKind.NOT_DELIVERED in kinds:
            missing = sorted({p.extract for p in self.problems if p.kind is ProblemKind.NOT_DELIVERED})
            options = " ".join(f"--allow-missing {extract}" for extract in missing)
            steps.append(
                f"wait for the delivery (its {MARKER_FILE} marker), or run the window again with {options} "
                "if that day has none"
            )
        return "; ".join(steps)


def inspect_window(
    store: LandingStore,
    window: RefreshWindow,
    allow_missing: Sequence[str] = (),
    extracts: Sequence[str] = EXTRACTS,
) -> WindowCheck:
    """Every day of `window` of `extracts` that has not fully landed, and the days `allow_missing` accepts."""
    unknown = sorted(set(allow_missing) - set(EXTRACTS))
    if unknown:
        raise UsageError(f"--allow-missing {', '.join(unknown)}: not an extract; choose from {', '.join(EXTRACTS)}")
    problems: list[Problem] = []
    accepted: list[str] = []
    for extract in (e for e in EXTRACTS if e in extracts):
        for delivery in store.deliveries(extract, window):
            problem = _problem(store, delivery)
            if problem is None:
                continue
            if problem.kind is ProblemKind.NOT_DELIVERED and extract in allow_missing:
                accepted.append(f"{extract} {delivery.day}")
                continue
            problems.append(problem)
    return WindowCheck(tuple(problems), tuple(accepted))


@dataclass(frozen=True)
class Arrival:
    """One extract of one day: when its marker landed (None: not yet) and what is wrong with it (None: fine)."""

    extract: str
    landed_at: datetime | None
    problem: str | None


def arrivals(store: LandingStore, window: RefreshWindow) -> dict[date, list[Arrival]]:
    """Every extract of each day of `window`, in EXTRACTS order (the landing part of `status` and of the at-risk
    check): one look at the store per extract for the whole window."""
    found: dict[date, list[Arrival]] = {day: [] for day in window.dates()}
    for extract in EXTRACTS:
        for delivery in store.deliveries(extract, window):
            problem = _problem(store, delivery)
            found[delivery.day].append(Arrival(extract, delivery.landed_at, None if problem is None else problem.text))
    return found


def check_window(
    store: LandingStore, window: RefreshWindow, allow_missing: Sequence[str] = (), extracts: Sequence[str] = EXTRACTS
) -> list[str]:
    """Raise `LandingIncomplete` naming every day of `window` of `extracts` that has not fully landed, and
    what to do about it.

    Returns the "<extract> <day>" deliveries accepted as missing because their extract is in `allow_missing`.
    """
    check = inspect_window(store, window, allow_missing, extracts)
    if check.problems:
        waiting = any(problem.kind is not ProblemKind.MISMATCH for problem in check.problems)
        raise LandingIncomplete(
            f"landing {'incomplete' if waiting else 'rejected'}: {check.summary()}. Nothing was loaded by this "
            f"task: {check.advice(window)}"
        )
    return list(check.accepted)


def wait_for_window(
    store: LandingStore,
    window: RefreshWindow,
    allow_missing: Sequence[str],
    timeout_seconds: float,
    say: Callable[[str], None],
    poll_seconds: float = 5.0,
) -> None:
    """Return once `window` has fully landed; say what is still missing whenever that changes; raise
    `LandingTimedOut` after `timeout_seconds`."""
    started = time.monotonic()
    last = ""
    while True:
        check = inspect_window(store, window, allow_missing)
        if not check.problems:
            return
        waited = time.monotonic() - started
        if waited >= timeout_seconds:
            raise LandingTimedOut(
                f"{window} had not landed after {timeout_seconds:g} s: {check.summary()}; nothing was started"
            )
        if check.summary() != last:
            last = check.summary()
            say(f"waiting for {window} to land ({waited:.0f} s): {last}")
        time.sleep(min(poll_seconds, timeout_seconds - waited))


def _problem(store: LandingStore, delivery: Delivery) -> Problem | None:
    """What is wrong with one delivery, or None when it has fully landed."""

    def wrong(kind: ProblemKind, text: str) -> Problem:
        return Problem(delivery.extract, delivery.day, kind, text)

    if delivery.not_files:
        listed = ", ".join(delivery.where(name) for name in delivery.not_files)
        return wrong(ProblemKind.MISMATCH, f"{listed} is not a readable file (a folder or a broken link)")
    marker = delivery.where(MARKER_FILE)
    if delivery.marker is None:
        if delivery.files:
            return wrong(
                ProblemKind.IN_PROGRESS,
                f"{len(delivery.files)} file(s) in {delivery.folder or 'its folder'} but no {MARKER_FILE} marker "
                "(the delivery may be in progress)",
            )
        return wrong(ProblemKind.NOT_DELIVERED, f"not delivered (no {MARKER_FILE} marker, no file)")
    if not delivery.marker.strip():
        return None
    try:
        document = json.loads(delivery.marker)
        expected = {str(f["name"]): int(f["rows"]) for f in document["files"]}
    except (ValueError, KeyError, TypeError):
        return wrong(
            ProblemKind.MISMATCH,
            f'{marker} is neither empty nor JSON like {{"files": [{{"name": "x.parquet", "rows": 10}}]}}',
        )
    missing = sorted(set(expected) - set(delivery.files))
    if missing:
        return wrong(ProblemKind.MISMATCH, f"{marker} names {', '.join(missing)}, which is not there")
    extra = sorted(set(delivery.files) - set(expected))
    if extra:
        listed = ", ".join(delivery.where(name) for name in extra)
        return wrong(ProblemKind.MISMATCH, f"{listed} is not named in {MARKER_FILE}")
    for name, rows in sorted(expected.items()):
        try:
            found = store.row_count(delivery.extract, delivery.day, name)
        except (OSError, parquet_footer.ParquetFooterError) as error:  # unreadable, or not a Parquet footer
            reason = " ".join(str(error).split())[:200]
            return wrong(ProblemKind.MISMATCH, f"{delivery.where(name)} is not a readable Parquet file ({reason})")
        if found != rows:
            return wrong(
                ProblemKind.MISMATCH,
                f"{delivery.where(name)} has {found:,} rows, {MARKER_FILE} says {rows:,} (truncated or still being "
                "written?)",
            )
    return None
