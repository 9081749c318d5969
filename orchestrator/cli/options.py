"""What each command was asked, typed: the command table (`orchestrator.cli.parser.COMMANDS`) turns argparse's
namespace into one of these, checking what it can alone (dates, the window's shape); the handlers never see
argparse."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.config import Mode
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from orchestrator.definition.state_machine import RenderOptions

DEFAULT_WATCH_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Target:
    """Where to act: --local/--aws (None: AWS when configured) and the configuration file (None: the default)."""

    mode: Mode | None = None
    config_file: Path | None = None


@dataclass(frozen=True)
class Watching:
    """How to watch an execution: --json (no progress lines) and --timeout (then stop watching)."""

    json: bool = False
    timeout: float = DEFAULT_WATCH_SECONDS


@dataclass(frozen=True)
class RunOptions:
    window: RefreshWindow | None  # None: catch up on every landed day after the last loaded one
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    full_refresh: bool = False
    full_tests: bool = False
    allow_missing: tuple[str, ...] = ()
    allow_gap: bool = False
    wait_for_landing: bool = False
    no_wait: bool = False
    watching: Watching = Watching()
    target: Target = Target()


@dataclass(frozen=True)
class WatchOptions:
    execution: str
    watching: Watching = Watching()
    target: Target = Target()


@dataclass(frozen=True)
class HistoryOptions:
    limit: int = 20
    json: bool = False
    target: Target = Target()


@dataclass(frozen=True)
class StatusOptions:
    day: date | None  # None: the newest day any extract landed for
    deadline: str = "09:00"
    json: bool = False
    plot: Path | None = None  # also draw the mornings of the PLOT_DAYS days up to `day`
    target: Target = Target()


@dataclass(frozen=True)
class BackfillOptions:
    window: RefreshWindow
    chunk_days: int = 0
    full_tests: bool = False
    allow_missing: tuple[str, ...] = ()
    allow_gap: bool = False
    watching: Watching = Watching()
    target: Target = Target()


@dataclass(frozen=True)
class ResumeOptions:
    execution: str
    watching: Watching = Watching()
    target: Target = Target()


@dataclass(frozen=True)
class ReportOptions:
    kind: str  # daily or weekly
    date: str | None = None
    start: str | None = None
    end: str | None = None
    city: str | None = None
    state: str | None = None
    region: str = "North America"
    weeks: int = 8
    format: str = "table"
    plot: Path | None = None
    timeout: float = 300
    secret_arn: str | None = None
    target: Target = Target()


@dataclass(frozen=True)
class SampleDataOptions:
    scale: float = 0.1
    data_dir: Path | None = None  # None: STORE_SALES_DATA_DIR or <project>/data
    force: bool = False


@dataclass(frozen=True)
class RenderFileOptions:
    out: Path
    render: RenderOptions
