"""`status --plot FILE.png`: the mornings of the last 30 days (extract arrivals, task runs, the deadline, the days
published late or with a warning), drawn from constructed mornings and from the command on real landing data."""

from __future__ import annotations

import os
import struct
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import assert_one_line_error, cli
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from orchestrator import charts
from orchestrator.cli import status
from orchestrator.landing.contract import EXTRACTS
from orchestrator.local import sample_data

DAY = date(2002, 12, 31)


def at(day: date, clock: str) -> datetime:
    """`clock` (HH:MM) on the morning after `day`, in the deadline's zone."""
    deadline = status.deadline_of(day, "09:00", "America/New_York")
    hour, minute = (int(part) for part in clock.split(":"))
    return deadline.replace(hour=hour, minute=minute)


def morning(day: date, outcome: charts.Outcome, fact_ends: str, landed: str = "06:30") -> charts.Morning:
    return charts.Morning(
        day=day,
        deadline=status.deadline_of(day, "09:00", "America/New_York"),
        landed=dict.fromkeys(EXTRACTS, at(day, landed)),
        tasks=[("item", at(day, "06:40"), at(day, "06:45")), ("store_sales", at(day, "06:45"), at(day, fact_ends))],
        outcome=outcome,
    )


def test_the_mornings_draw_each_task_each_arrival_the_deadline_and_each_outcome() -> None:
    days = [
        morning(DAY - timedelta(days=2), charts.Outcome.ON_TIME, "06:55"),
        morning(DAY - timedelta(days=1), charts.Outcome.LATE, "09:20"),
        morning(DAY, charts.Outcome.WARNED, "07:05", landed="05:00"),
    ]

    (axes,) = charts.mornings(list(reversed(days))).axes  # any order: drawn oldest at the bottom

    bars = [patch for patch in axes.patches if isinstance(patch, Rectangle)]
    assert len(bars) == 6
    late_row = [bar for bar in bars if bar.get_y() + bar.get_height() / 2 == pytest.approx(1)]  # the middle day
    fact_late = max(late_row, key=lambda bar: bar.get_x())
    assert fact_late.get_x() == pytest.approx(6.75) and fact_late.get_width() == pytest.approx(2.583, abs=0.01)
    assert [label.get_text() for label in axes.get_yticklabels()] == [d.day.isoformat() for d in days]
    assert [to_hex(label.get_color()) for label in axes.get_yticklabels()] == ["#000000", "#c62828", "#ef6c00"]
    assert [line.get_xdata()[0] for line in axes.get_lines() if line.get_label() == "deadline"] == [9.0]
    arrivals = [line for line in axes.get_lines() if line.get_label().endswith(" landed")]
    assert sorted({line.get_xdata()[0] for line in arrivals}) == [5.0, 6.5]
    assert "outside the axis" not in axes.get_xlabel()


def test_a_time_outside_the_axis_is_drawn_at_its_edge_and_said() -> None:
    days = [morning(DAY, charts.Outcome.NOT_PUBLISHED, "06:50", landed="06:30")]
    days[0] = charts.Morning(DAY, days[0].deadline, {"item": at(DAY, "06:30") + timedelta(days=3)}, [], days[0].outcome)

    (axes,) = charts.mornings(days).axes

    (arrival,) = [line for line in axes.get_lines() if line.get_label() == "item landed"]
    assert arrival.get_xdata()[0] == charts.HOURS_AFTER + 9
    assert "a time outside the axis is drawn at its edge" in axes.get_xlabel()


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real extracts whose markers of 1998-01-05..1998-01-09 landed at 06:30 the next morning, New York time."""
    data = tmp_path_factory.mktemp("plot") / "data"
    sample_data.generate(scale=0.01, data_dir=data)
    for offset in range(5):
        day = date(1998, 1, 5) + timedelta(days=offset)
        landed = status.deadline_of(day, "06:30", "America/New_York").timestamp()
        for extract in EXTRACTS:
            marker = data / "landing" / extract / f"load_date={day}" / "_SUCCESS"
            if marker.exists():
                os.utime(marker, (landed, landed))
    return data


def test_status_plot_draws_the_mornings_from_the_first_day_seen(landing: Path, tmp_path: Path) -> None:
    chart = tmp_path / "mornings.png"
    env = {"STORE_SALES_DATA_DIR": str(landing), "STORE_SALES_SCHEDULE_TIME_ZONE": "America/New_York"}

    result = cli("status", "--date", "1998-01-09", "--plot", str(chart), env=env)

    assert result.returncode == 1, result.stderr  # not started, deadline passed: nothing was ever run here
    assert result.stderr.strip() == f"chart: {chart}"
    width, height = struct.unpack(">II", chart.read_bytes()[16:24])  # the PNG's IHDR
    assert (width, height) == (1200, 675)


def test_status_plot_refuses_a_name_that_is_not_png_before_reading_anything(tmp_path: Path) -> None:
    result = cli("status", "--date", "1998-01-09", "--plot", str(tmp_path / "mornings.svg"),
                 env={"STORE_SALES_DATA_DIR": str(tmp_path / "nothing")})  # fmt: skip
    assert_one_line_error(result, 2, "--plot writes PNG")
