"""Section 7 of bench/RESULTS.md: how the costs grow with the data, from one record per scale factor.

Every non-quick `python -m bench` run leaves its measurements in `<report folder>/results/sf<scale>.json`
(committed beside RESULTS.md) and rewrites this section from all the records there, so the table always
compares the latest run of each scale. `python -m bench.growth` rewrites it without running anything."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.sections import MarkedSection
from orchestrator.definition.graph import DEFAULT_LAMBDA_MAX_DAYS, LAMBDA_MAX_TIMEOUT_SECONDS

SECTION = MarkedSection("cost growth", "python -m bench (every scale's run)")
RECORDS_DIR = "results"
FACT_TASK = "store_sales"
LAMBDA_BUDGET_SHARE = 0.5  # a window runs on Lambda when its fact task needs at most half the function's time


def record_path(report: Path, scale: float) -> Path:
    """Where a run at `scale` leaves its measurements for the growth table of `report`."""
    return report.parent / RECORDS_DIR / f"sf{scale:g}.json"


@dataclass(frozen=True)
class ScaleCosts:
    """The figures of one scale's record the growth table compares (medians; peaks: max)."""

    scale: float
    runs: int
    finished: str
    sales_lines: int
    landing_mb: float
    warehouse_mb: float
    daily: dict[str, float]
    daily_c_over_b: float
    backfill: dict[str, float]
    backfill_c_over_a: float
    daily_peak_mb: float
    smallest_peak_mb: float
    ecs_backfill_peak_mb: float
    cli_backfill_peak_mb: float
    fact_daily_seconds: float
    fact_backfill_seconds: float
    window_days: int

    @classmethod
    def of(cls, document: dict[str, Any]) -> ScaleCosts:
        daily = [row for row in document["daily"] if row["history"] == "five_years"]
        backfill = document["backfill"]
        setup = document["setup"]
        return cls(
            scale=float(document["options"]["scale"]),
            runs=int(document["options"]["runs"]),
            finished=str(document["options"]["finished"]),
            sales_lines=int(setup["sales_lines"]),
            landing_mb=float(setup["landing_mb"]),
            warehouse_mb=float(setup["warehouse_mb"]),
            daily={variant: _median_seconds(daily, variant) for variant in ("a", "b", "c")},
            daily_c_over_b=_median(daily, lambda r: r["c"]["seconds"] / r["b"]["seconds"]),
            backfill={variant: _median_seconds(backfill, variant) for variant in ("a", "c")},
            backfill_c_over_a=_median(backfill, lambda r: r["c"]["seconds"] / r["a"]["seconds"]),
            daily_peak_mb=max(float(row["peak_rss_mb"]) for row in document["footprint"]),
            smallest_peak_mb=min(float(row["peak_rss_mb"]) for row in document["footprint"]),
            ecs_backfill_peak_mb=max(float(r["c"]["ecs_runner_peak_mb"]) for r in backfill),
            cli_backfill_peak_mb=max(float(r["c"]["cli_peak_mb"]) for r in backfill),
            # both in a new runner process, as the backfill's ECS task runs: section 5's cold daily fact task
            fact_daily_seconds=statistics.median(
                float(row["task_seconds"] or 0) for row in document["footprint"] if row["task"] == FACT_TASK
            ),
            fact_backfill_seconds=_median(backfill, lambda r: r["c"]["tasks"][FACT_TASK]["seconds"]),
            window_days=int(document["dates"]["full_window_days"]),
        )

    @property
    def fact_seconds_per_day(self) -> float:
        """What one more day of window adds to the fact task: the backfill's against the daily run's."""
        return max(self.fact_backfill_seconds - self.fact_daily_seconds, 0.0) / (self.window_days - 1)

    @property
    def lambda_window_days(self) -> int:
        """The longest window whose fact task, at this rate, needs at most half of a Lambda's time: one day, and
        each further day at the rate."""
        budget = LAMBDA_BUDGET_SHARE * LAMBDA_MAX_TIMEOUT_SECONDS - self.fact_daily_seconds
        return 1 + int(budget / self.fact_seconds_per_day) if self.fact_seconds_per_day > 0 else self.window_days


def load_costs(report: Path) -> list[ScaleCosts]:
    """Every scale's record beside `report`, smallest scale first."""
    folder = report.parent / RECORDS_DIR
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("sf*.json"))]
    return sorted((ScaleCosts.of(document) for document in documents), key=lambda costs: costs.scale)


def render(costs: Sequence[ScaleCosts]) -> str:
    header = "| | " + " | ".join(f"SF {c.scale:g}" for c in costs) + " |"
    rule = "| --- |" + " --- |" * len(costs)

    def row(name: str, cell: Callable[[ScaleCosts], str]) -> str:
        return f"| {name} | " + " | ".join(cell(c) for c in costs) + " |"

    lines = [
        "## 7. How cost grows with the data",
        "",
        "One column per scale factor, each from the latest run at that scale (`bench/results/sf<scale>.json`; "
        "medians, peaks are maxima). Daily = one day on five years of history; backfill = the whole history "
        "from an empty warehouse.",
        "",
        header,
        rule,
        row("run", lambda c: f"{c.finished}, {c.runs} run(s)"),
        row("sales lines in the landing", lambda c: f"{c.sales_lines:,}"),
        row("landing on disk", lambda c: f"{c.landing_mb:,.0f} MB"),
        row("five-year warehouse on disk", lambda c: f"{c.warehouse_mb:,.0f} MB"),
        row("daily (a) / (b) / (c)", lambda c: f"{c.daily['a']:.1f} / {c.daily['b']:.1f} / {c.daily['c']:.1f} s"),
        row("daily c / b (per round)", lambda c: f"{c.daily_c_over_b:.2f} x"),
        row("backfill (a) / (c)", lambda c: f"{c.backfill['a']:.1f} / {c.backfill['c']:.1f} s"),
        row("backfill c / a (per round)", lambda c: f"{c.backfill_c_over_a:.1f} x"),
        row("runner peak, daily: the largest task (a new process)", lambda c: f"{c.daily_peak_mb:,.0f} MB"),
        row("runner peak, daily: the smallest task", lambda c: f"{c.smallest_peak_mb:,.0f} MB"),
        row("backfill peak: the ECS runner (the fact)", lambda c: f"{c.ecs_backfill_peak_mb:,.0f} MB"),
        row(
            "backfill peak: the CLI process (emulator, in-process Lambda tasks)",
            lambda c: f"{c.cli_backfill_peak_mb:,.0f} MB",
        ),
        row(
            f"fact task in a new runner process: one day / {costs[0].window_days if costs else 0} days",
            lambda c: f"{c.fact_daily_seconds:.1f} / {c.fact_backfill_seconds:.1f} s",
        ),
        row("fact task: seconds per day of window", lambda c: f"{c.fact_seconds_per_day * 1000:.1f} ms"),
        row(
            f"window that fits {LAMBDA_BUDGET_SHARE:.0%} of a Lambda's {LAMBDA_MAX_TIMEOUT_SECONDS} s",
            lambda c: f"{c.lambda_window_days:,} days",
        ),
        "",
        "**What the sizes follow from.**",
        "",
        "- Locally the warehouse engine runs inside the runner, so its memory grows with the window and the data "
        "(the peak rows). The local ECS container has the stack's 2 GB, and DuckDB gets half of it, spilling the "
        "rest; the in-process Lambda tasks have no bound, as the CLI's peak shows. On AWS the same runner sends "
        "SQL to Redshift and holds only dbt, the project and the connection: its memory does not grow with the "
        "data. The smallest task's peak (a dimension, the engine "
        "nearly idle) is the closest measure of it here.",
        "- Hence the stack's sizes (infra/template.yaml). The runner function gets 1,769 MB: the size at which "
        "Lambda gives one full vCPU, several times the runner's peak. A task's own CPU work (Python's imports, "
        "dbt's parse and compile) runs on one thread, and the second dbt thread waits on Redshift. The ECS task "
        "gets 1 vCPU and 2 GB, the smallest memory Fargate pairs with 1 vCPU.",
        f"- A window runs on ECS when it is longer than `lambda_max_days` (default {DEFAULT_LAMBDA_MAX_DAYS}). "
        "The last row is the longest window whose fact task needs at most half of a Lambda's time at the "
        "measured rate (the backfill's fact task against one day's, both in a new runner process, per day of "
        "window). On DuckDB every scale here allows far more than a month.",
        "- On Redshift the rate is the cluster's: measure it on your own. Take the fact task's seconds of a "
        "one-day run and of a month's backfill, both on ECS (d1, and dn over n days: `status --date D` shows each "
        "task's seconds); keep `lambda_max_days` under "
        f"1 + ({LAMBDA_BUDGET_SHARE * LAMBDA_MAX_TIMEOUT_SECONDS:.0f} - d1) / ((dn - d1) / (n - 1)).",
    ]
    return "\n".join(lines) + "\n"


def refresh(report: Path) -> None:
    """Rewrite the growth section of `report` from the records beside it (nothing when there is none)."""
    costs = load_costs(report)
    if costs:
        SECTION.write(report, render(costs))


def refresh_folder(folder: Path) -> None:
    """Rewrite the growth section of every RESULTS*.md in `folder`."""
    for report in sorted(folder.glob("RESULTS*.md")):
        refresh(report)


def _median(rows: Sequence[dict[str, Any]], getter: Callable[[dict[str, Any]], float]) -> float:
    return statistics.median(float(getter(row)) for row in rows)


def _median_seconds(rows: Sequence[dict[str, Any]], variant: str) -> float:
    return statistics.median(float(row[variant]["seconds"]) for row in rows)


if __name__ == "__main__":  # python -m bench.growth: section 7 of bench/RESULTS*.md again from bench/results/
    refresh_folder(Path(__file__).resolve().parent)
