"""The refresh window: the [start, end] range of load dates one run processes (a day is [D, D]).

dbt reads the window from two environment variables rather than `--vars`, because a new `--vars`
value forces dbt to re-parse the whole project while environment variables read at execution time
keep the parsed manifest valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from orchestrator import settings
from orchestrator.errors import UsageError

WINDOW_START_ENV = settings.WINDOW_START.name
WINDOW_END_ENV = settings.WINDOW_END.name
# `true`: the data tests check whole tables instead of the rows the window wrote (macros/window_tests.sql)
FULL_TESTS_ENV = settings.FULL_TESTS.name


def parse_date(text: str, what: str = "date") -> date:
    """Parse an ISO date (YYYY-MM-DD) or raise a UsageError naming the bad value."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise UsageError(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2002-12-31") from None


@dataclass(frozen=True, order=True)
class RefreshWindow:
    """An inclusive range of load dates."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise UsageError(f"refresh window is reversed: end {self.end} is before start {self.start}; swap them")

    @classmethod
    def day(cls, day: date) -> RefreshWindow:
        return cls(day, day)

    @classmethod
    def parse(cls, start: str, end: str | None = None) -> RefreshWindow:
        first = parse_date(start, "start date")
        return cls(first, parse_date(end, "end date") if end is not None else first)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def dates(self) -> Iterator[date]:
        for offset in range(self.days):
            yield self.start + timedelta(days=offset)

    def overlaps(self, other: RefreshWindow) -> bool:
        return self.start <= other.end and other.start <= self.end

    def as_env(self) -> dict[str, str]:
        """The environment variables the dbt models read the window from."""
        return {WINDOW_START_ENV: self.start.isoformat(), WINDOW_END_ENV: self.end.isoformat()}

    def run_command(self) -> str:
        """The command that runs this window: `python -m orchestrator run --date D` (or --start/--end)."""
        if self.start == self.end:
            return f"python -m orchestrator run --date {self.start.isoformat()}"
        return f"python -m orchestrator run --start {self.start.isoformat()} --end {self.end.isoformat()}"

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}..{self.end.isoformat()}"
