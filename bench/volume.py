"""python -m bench.volume [--scale SF] [--work-dir DIR] [--days N] [--seed S]

Measures the volume check (models/monitoring/mon_store_sales_volume.sql) at the project's default
tolerances, on the whole TPC-DS history of a scale factor (default 1):

1. false alarms: the project is built over every load date in one window with plain `dbt build`; the
   share of judged days with an anomaly on any measure (target: at most 1 %);
2. detection: on N seeded random days (default 10) with a full year of history, 30 % of the day's fact
   rows are removed (a seeded hash picks them), the check is rebuilt for that day alone, and the day must
   come out as an anomaly (target: at least 9 of 10); the rows are put back after each day.

Writes `volume.json` in the work directory and the section "6. Volume anomalies" into bench/RESULTS.md
(`bench.report` keeps it when the rest of the report is regenerated).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from bench.errors import BenchmarkError
from bench.sections import MarkedSection
from bench.warehouse import fresh_run_dir
from orchestrator.errors import StoreSalesError
from orchestrator.landing.date_range import landing_date_range
from orchestrator.local import sample_data

BENCH_DIR = Path(__file__).resolve().parent
PROJECT = BENCH_DIR.parent
SECTION = MarkedSection("volume anomalies", "python -m bench.volume")
REMOVED_SHARE = 0.3
MONITOR = "mon_store_sales_volume"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.volume", description=__doc__.splitlines()[2])
    parser.add_argument("--scale", type=float, default=1.0, help="TPC-DS scale factor (default 1)")
    parser.add_argument("--work-dir", type=Path, help="data and warehouse (default bench/runs/sf<scale>)")
    parser.add_argument("--days", type=int, default=10, help="days with 30 %% of their lines removed (default 10)")
    parser.add_argument("--seed", type=int, default=20261203, help="seed of the day and row choice")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "RESULTS.md", help="report to update")
    args = parser.parse_args(argv)
    work = args.work_dir or BENCH_DIR / "runs" / f"sf{args.scale:g}"
    try:
        result = measure(args.scale, work, args.days, args.seed)
    except StoreSalesError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    (work / "volume.json").write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
    SECTION.write(args.out, render(result))
    print(render(result))
    return 0


def measure(scale: float, work: Path, days: int, seed: int) -> dict[str, Any]:
    data = work / "data"
    sample_data.generate(scale, data)
    window = landing_date_range(data)
    run = fresh_run_dir(work / "volume", data, None)
    started = time.perf_counter()
    _dbt(run.env(), window.start, window.end, "build", "--exclude-resource-type", "unit_test")
    build_seconds = time.perf_counter() - started
    with duckdb.connect(str(run.warehouse)) as connection:
        by_measure = connection.execute(
            f"select measure, volume_status, count(*) from main.{MONITOR} group by all order by all"
        ).fetchall()
        judged, flagged = connection.execute(
            f"""
            select count(*), count(*) filter (where anomalous)
            from (
                select sold_date, bool_or(volume_status = 'anomaly') as anomalous
                from main.{MONITOR}
                where volume_status <> 'no history'
                group by sold_date
            )
            """
        ).fetchone() or (0, 0)
        flagged_days = [
            row[0]
            for row in connection.execute(
                f"select anomaly from main.{MONITOR} where volume_status = 'anomaly' order by sold_date, measure"
            ).fetchall()
        ]
        candidates = [
            day
            for (day,) in connection.execute(
                f"""
                select sold_date from main.{MONITOR}
                group by sold_date
                having bool_and(volume_status <> 'no history') and not bool_or(volume_status = 'anomaly')
                order by sold_date
                """
            ).fetchall()
        ]
    chosen = sorted(random.Random(seed).sample(candidates, days))
    trials = [_remove_and_check(run.env(), run.warehouse, day, seed) for day in chosen]
    return {
        "scale": scale,
        "window": [window.start.isoformat(), window.end.isoformat()],
        "build_seconds": round(build_seconds, 1),
        "statuses": [[measure, status, count] for measure, status, count in by_measure],
        "judged_days": judged,
        "flagged_days": flagged,
        "flagged": flagged_days,
        "trials": trials,
        "detected": sum(1 for trial in trials if trial["detected"]),
        "seed": seed,
        "tolerance": _tolerances(),
        "command": "python -m bench.volume " + " ".join(sys.argv[1:]),
    }


def _remove_and_check(env: dict[str, str], warehouse: Path, day: date, seed: int) -> dict[str, Any]:
    """Remove 30 % of the day's fact rows, rebuild the check for the day, read its verdict, put them back."""
    picked = f"hash(ss_ticket_number, ss_item_id, ss_line_number, {seed}) % 1000 < {int(REMOVED_SHARE * 1000)}"
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            f"create or replace table main.bench_removed as select * from main.fct_store_sales "
            f"where ss_sold_date = $day and {picked}",
            {"day": day},
        )
        connection.execute(f"delete from main.fct_store_sales where ss_sold_date = $day and {picked}", {"day": day})
    _dbt(env, day, day, "run", "--select", MONITOR)
    with duckdb.connect(str(warehouse)) as connection:
        verdicts = connection.execute(
            f"select measure, volume_status, anomaly from main.{MONITOR} where sold_date = $day order by measure",
            {"day": day},
        ).fetchall()
        (removed,) = connection.execute("select count(*) from main.bench_removed").fetchone() or (0,)
        connection.execute("insert into main.fct_store_sales select * from main.bench_removed")
        connection.execute("drop table main.bench_removed")
    _dbt(env, day, day, "run", "--select", MONITOR)
    return {
        "day": day.isoformat(),
        "removed_lines": removed,
        "detected": any(status == "anomaly" for _, status, _ in verdicts),
        "anomalies": [line for _, _, line in verdicts if line],
    }


def _dbt(env: dict[str, str], start: date, end: date, *args: str) -> None:
    command = [str(Path(sys.executable).with_name("dbt")), "--quiet", *args, "--project-dir", str(PROJECT)]
    window = {"STORE_SALES_WINDOW_START": start.isoformat(), "STORE_SALES_WINDOW_END": end.isoformat()}
    # dbt's target and logs beside the warehouse: the project's own target/ stays the developer's
    scratch = Path(env["STORE_SALES_DATA_DIR"])
    paths = {"DBT_TARGET_PATH": str(scratch / "target"), "DBT_LOG_PATH": str(scratch / "logs")}
    completed = subprocess.run(
        command,
        env={**os.environ, **env, **window, **paths, "DBT_PROFILES_DIR": str(PROJECT)},
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT,
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"dbt {' '.join(args)} for {start}..{end} failed: {completed.stdout[-800:]}")


def _tolerances() -> dict[str, float]:
    import yaml

    project = yaml.safe_load((PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))
    return {key: float(value) for key, value in project["vars"]["volume_tolerance"].items()}


def render(result: dict[str, Any]) -> str:
    judged, flagged = result["judged_days"], result["flagged_days"]
    share = flagged / judged if judged else 0.0
    lines = [
        "## 6. Volume anomalies (issue 11)",
        "",
        f"`{result['command']}` at SF {result['scale']:g}, load dates {result['window'][0]}..{result['window'][1]}, "
        f"tolerances {result['tolerance']} (dbt_project.yml `volume_tolerance`).",
        "",
        "| figure | value | target |",
        "| --- | --- | --- |",
        f"| days flagged on the untouched history (any measure) | {flagged} of {judged} judged days = "
        f"{share:.2%} | ≤ 1 % |",
        f"| days with 30 % of their sales lines removed that are flagged | {result['detected']} of "
        f"{len(result['trials'])} | ≥ 9 of 10 |",
        "",
        "Status per measure on the untouched history (`no history`: the first 28 days for the rates, the "
        "first year and four weeks for orders):",
        "",
        "| measure | status | days |",
        "| --- | --- | --- |",
        *[f"| {measure} | {status} | {count} |" for measure, status, count in result["statuses"]],
        "",
        "Days flagged on the untouched history: " + ("; ".join(result["flagged"]) or "none") + ".",
        "",
        "Seeded days with 30 % of their lines removed (seed " + str(result["seed"]) + "):",
        "",
        "| day | lines removed | flagged | what the check said |",
        "| --- | --- | --- | --- |",
        *[
            f"| {t['day']} | {t['removed_lines']} | {'yes' if t['detected'] else 'no'} | "
            f"{'; '.join(t['anomalies']) or '—'} |"
            for t in result["trials"]
        ],
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
