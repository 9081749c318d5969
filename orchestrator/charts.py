"""Charts (matplotlib, headless): the reports' (what `report ... --plot FILE.png` writes and the notebook shows) and
the mornings of the pipeline (what `status --plot FILE.png` writes).

Figures are built with matplotlib's object API on the Agg canvas, never through pyplot's global state, so
they render the same in a terminal without a display, in a test, and in Jupyter (which shows a returned
Figure). 12 x 6.75 inches at 100 dpi: 1200 px wide. Money is plotted in thousands of US dollars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from orchestrator.errors import UsageError

WIDTH_INCHES = 12.0
HEIGHT_INCHES = 6.75
DPI = 100
MOST_STORES = 8
_THOUSANDS = FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k")
_GAIN, _LOSS, _PARTIAL = "#2e7d32", "#c62828", "#9e9e9e"


def _figure() -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _require(frame: pd.DataFrame, what: str) -> None:
    if frame.empty:
        raise UsageError(f"nothing to plot: the {what} report has no rows for these arguments")


def weekly(frame: pd.DataFrame) -> Figure:
    """Sales per week (bars; a partial week hatched, with its days loaded) and the week-over-week change."""
    _require(frame, "weekly")
    weeks = [day.isoformat() for day in frame["week_start_date"]]
    sales = frame["sales_amount"].astype(float)
    change = frame["sales_amount_change_pct"].astype("Float64").fillna(0.0).astype(float)
    partial = frame["is_partial_week"].astype(bool).tolist()
    days = frame["days_loaded"].astype(int).tolist()
    region = ", ".join(sorted(set(frame["region"].astype(str))))

    figure = _figure()
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    bars = top.bar(weeks, sales, color=["#1565c0" if not p else _PARTIAL for p in partial])
    for bar, is_partial, loaded in zip(bars, partial, days, strict=True):
        if is_partial:
            bar.set_hatch("//")
            top.annotate(
                f"partial: {loaded} of 7 days",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=9,
            )
    top.set_title(f"Store sales per week, {region}")
    top.set_ylabel("sales (USD)")
    top.yaxis.set_major_formatter(_THOUSANDS)
    top.grid(axis="y", alpha=0.3)

    colours = [_PARTIAL if p else (_GAIN if value >= 0 else _LOSS) for p, value in zip(partial, change, strict=True)]
    bottom.bar(weeks, change, color=colours)
    bottom.axhline(0, color="black", linewidth=0.8)
    bottom.set_title("Week-over-week change (a partial week against the same weekdays of the week before)")
    bottom.set_ylabel("change (%)")
    bottom.set_xlabel("week starting (Monday)")
    bottom.grid(axis="y", alpha=0.3)
    bottom.tick_params(axis="x", labelrotation=30)
    return figure


def daily(frame: pd.DataFrame) -> Figure:
    """Sales per store: bars for one day, or one line per store (the largest ones) over several days."""
    _require(frame, "daily")
    labels = (
        frame["s_store_name"].astype(str)
        + " ("
        + frame["s_city"].astype(str)
        + ", "
        + frame["s_state"].astype(str)
        + ")"
    )
    data = frame.assign(store=labels.where(frame["s_store_id"].notna(), "unknown store"))
    data = data.assign(sales=data["sales_amount"].astype(float))
    days = sorted(set(data["sold_date"]))
    figure = _figure()
    axes = figure.subplots()
    if len(days) == 1:
        per_store = data.groupby("store")["sales"].sum().sort_values()
        axes.barh(per_store.index.tolist(), per_store.to_numpy(), color="#1565c0")
        axes.set_title(f"Store sales on {days[0].isoformat()}")
        axes.set_xlabel("sales (USD)")
        axes.set_ylabel("store")
        axes.xaxis.set_major_formatter(_THOUSANDS)
        axes.grid(axis="x", alpha=0.3)
        return figure
    totals = data.groupby("store")["sales"].sum().nlargest(MOST_STORES)
    for store in totals.index:
        rows = data[data["store"] == store].sort_values("sold_date")
        axes.plot(rows["sold_date"].tolist(), rows["sales"].tolist(), marker="o", markersize=3, label=store)
    shown = f"the {len(totals)} largest stores" if len(totals) < data["store"].nunique() else "every store"
    axes.set_title(f"Store sales per day, {days[0].isoformat()} to {days[-1].isoformat()} ({shown})")
    axes.set_xlabel("sale day")
    axes.set_ylabel("sales (USD)")
    axes.yaxis.set_major_formatter(_THOUSANDS)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    return figure


def save(figure: Figure, path: Path) -> Path:
    """Write the figure as PNG (1200 px wide); return the path written."""
    figure.savefig(path, format="png", dpi=DPI)
    return path.resolve()


class Outcome(StrEnum):
    """How a morning ended, as `status` judges it."""

    ON_TIME = "published on time"
    WARNED = "published with a warning"
    LATE = "published late"
    NOT_PUBLISHED = "not published"
    PENDING = "not published yet (before the deadline, or running)"


@dataclass(frozen=True)
class Morning:
    """One day's morning as `status --plot` draws it: when each extract landed (None: not yet), each task's run
    (start, end; end None while it runs), the deadline, and the outcome."""

    day: date
    deadline: datetime
    landed: Mapping[str, datetime | None]
    tasks: Sequence[tuple[str, datetime, datetime | None]]
    outcome: Outcome


HOURS_BEFORE = 12  # the axis: from the evening before the deadline ...
HOURS_AFTER = 3  # ... to a little after it; anything outside is drawn at the edge, with an arrow
_OUTCOME_COLOURS = {
    Outcome.ON_TIME: "black",
    Outcome.WARNED: "#ef6c00",
    Outcome.LATE: _LOSS,
    Outcome.NOT_PUBLISHED: "#6a1b9a",
    Outcome.PENDING: _PARTIAL,
}
_EXTRACT_MARKERS = ("o", "s", "^", "D")


def mornings(days: Sequence[Morning]) -> Figure:
    """The mornings of `days`, newest at the top: extract arrivals (markers), task runs (bars), the deadline (line),
    each day's label coloured by its outcome. Times are hours around the day's deadline, in its time zone."""
    if not days:
        raise UsageError("nothing to plot: no day to draw")
    ordered = sorted(days, key=lambda morning: morning.day)
    deadline_hour = ordered[-1].deadline.hour + ordered[-1].deadline.minute / 60
    low, high = deadline_hour - HOURS_BEFORE, deadline_hour + HOURS_AFTER

    def hour(morning: Morning, instant: datetime) -> float:
        return deadline_hour + (instant - morning.deadline).total_seconds() / 3600

    figure = _figure()
    axes = figure.subplots()
    task_names = sorted({task for morning in ordered for task, _, _ in morning.tasks})
    colours = {task: f"C{index % 10}" for index, task in enumerate(task_names)}  # matplotlib's colour cycle
    extracts = sorted({extract for morning in ordered for extract in morning.landed})
    clipped = False
    for row, morning in enumerate(ordered):
        now = datetime.now(morning.deadline.tzinfo)
        for task, started, ended in morning.tasks:
            start, end = hour(morning, started), hour(morning, ended or now)
            shown_start, shown_end = min(max(start, low), high), min(max(end, low), high)
            clipped |= shown_start != start or shown_end != end
            axes.barh(row, max(shown_end - shown_start, 0.05), left=shown_start, height=0.6, color=colours[task],
                      label=f"task {task}")  # fmt: skip
        for index, extract in enumerate(extracts):
            landed = morning.landed.get(extract)
            if landed is None:
                continue
            at = hour(morning, landed)
            shown = min(max(at, low), high)
            clipped |= shown != at
            axes.plot([shown], [row], linestyle="none", marker=_EXTRACT_MARKERS[index % len(_EXTRACT_MARKERS)],
                      markerfacecolor="white", markeredgecolor="black", label=f"{extract} landed")  # fmt: skip
    axes.axvline(deadline_hour, color=_LOSS, linewidth=1.2, label="deadline")
    axes.set_yticks(range(len(ordered)), [morning.day.isoformat() for morning in ordered], fontsize=7)
    for label, morning in zip(axes.get_yticklabels(), ordered, strict=True):
        label.set_color(_OUTCOME_COLOURS[morning.outcome])
    axes.set_xlim(low, high)
    ticks = list(range(int(low), int(high) + 1))
    axes.set_xticks(ticks, [f"{value % 24:02d}:00" for value in ticks])
    axes.set_title(f"Mornings {ordered[0].day.isoformat()} to {ordered[-1].day.isoformat()}: extracts, tasks, deadline")
    edge = "; a time outside the axis is drawn at its edge" if clipped else ""
    axes.set_xlabel(
        f"time of day ({ordered[-1].deadline.tzinfo}); day in red: published late, orange: with a warning, purple: "
        f"not published, grey: not yet{edge}"
    )
    axes.grid(axis="x", alpha=0.3)
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    axes.legend(unique.values(), unique.keys(), loc="lower left", fontsize=7)
    return figure
