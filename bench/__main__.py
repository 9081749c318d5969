"""python -m bench [--scale SF] [--runs N] [--quick] [--work-dir DIR] [--out FILE] [--render-only]

Runs the five benchmarks of issue 7 on the embedded default (DuckDB) and writes bench/RESULTS.md (SF 1) or
bench/RESULTS-sf<scale>.md, then leaves the run's record in bench/results/sf<scale>.json and rewrites the
growth section (bench.growth) of every RESULTS*.md beside the report. `--quick` is a smoke run (SF 0.01, 2
runs, 2 sequence days) that writes its report into the work directory instead and leaves no record, so it
never replaces the committed results. `--render-only` does the writing again from the work directory's
results.json without measuring anything (its scale and --quick must be the run's).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench import growth, volume
from bench.measure import machine
from bench.report import render
from bench.sections import keep_sections, report_name
from bench.suite import Bench, BenchOptions, Results
from orchestrator.errors import StoreSalesError, UsageError

BENCH_DIR = Path(__file__).resolve().parent


def parse_options(argv: list[str]) -> BenchOptions:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2])
    parser.add_argument("--scale", type=float, help="TPC-DS scale factor (default 1; --quick: 0.01)")
    parser.add_argument("--runs", type=int, help="runs per measurement, at least 1 (default 5; --quick: 2)")
    parser.add_argument("--sequence-days", type=int, help="daily runs measured for the backfill (default 20)")
    parser.add_argument("--quick", action="store_true", help="smoke run: SF 0.01, 2 runs, 2 sequence days")
    parser.add_argument("--work-dir", type=Path, help="data, warehouses and logs (default bench/runs/sf<scale>)")
    parser.add_argument(
        "--out",
        type=Path,
        help="the report (default bench/RESULTS.md at SF 1, else bench/RESULTS-sf<scale>.md; --quick: <work dir>)",
    )
    parser.add_argument("--render-only", action="store_true", help="rewrite the report from results.json")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.01 if args.quick else 1.0)
    runs = args.runs if args.runs is not None else (2 if args.quick else 5)
    sequence_days = args.sequence_days if args.sequence_days is not None else (2 if args.quick else 20)
    if scale <= 0 or runs < 1 or sequence_days < 1:
        raise UsageError(f"--scale ({scale}) must be positive, --runs ({runs}) and --sequence-days at least 1")
    work_dir = args.work_dir or BENCH_DIR / "runs" / (f"quick-sf{scale:g}" if args.quick else f"sf{scale:g}")
    out = args.out or (work_dir / "RESULTS.md" if args.quick else BENCH_DIR / report_name(scale))
    return BenchOptions(scale, runs, sequence_days, work_dir, out, args.quick, args.render_only)


def write_report(options: BenchOptions, report: str) -> None:
    """The report, keeping the sections other commands wrote into it; then, for a real run, this scale's record
    beside it and the growth section of every report in its folder, rewritten from all the records there."""
    options.results.parent.mkdir(parents=True, exist_ok=True)
    kept = keep_sections(options.results, report, (volume.SECTION, growth.SECTION))
    options.results.write_text(kept, encoding="utf-8")
    if options.quick:
        return
    record = growth.record_path(options.results, options.scale)
    record.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(options.work_dir / "results.json", record)
    growth.refresh_folder(options.results.parent)


def render_only(options: BenchOptions) -> Path:
    record = options.work_dir / "results.json"
    if not record.is_file():
        raise UsageError(f"{record} does not exist: run the bench first (without --render-only)")
    document = json.loads(record.read_text(encoding="utf-8"))
    if document["options"].get("phase") != "footprint":
        raise UsageError(f"{record} holds an unfinished run (last phase: {document['options'].get('phase')})")
    measured = float(document["options"]["scale"]), bool(document["options"]["quick"])
    if measured != (options.scale, options.quick):
        asked = f"--scale {measured[0]:g}" + (" --quick" if measured[1] else "")
        raise UsageError(
            f"{record} holds a run at SF {measured[0]:g}{' (quick)' if measured[1] else ''}: render it with {asked}, "
            "so that its report and its record get the right names"
        )
    write_report(options, render(Results(**document), document["options"].get("command", "python -m bench")))
    return options.results


def run(options: BenchOptions, command: str) -> Path:
    started = time.monotonic()
    bench = Bench(options)
    results = bench.results
    results.machine = machine()
    record = bench.work / "results.json"
    bench.work.mkdir(parents=True, exist_ok=True)

    def save(phase: str) -> None:
        results.options = {
            "scale": options.scale,
            "runs": options.runs,
            "sequence_days": options.sequence_days,
            "quick": options.quick,
            "phase": phase,
            "command": command,
            "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "total_minutes": (time.monotonic() - started) / 60,
        }
        record.write_text(json.dumps(asdict(results), indent=1, default=str), encoding="utf-8")
        print(f"bench: {phase} done after {(time.monotonic() - started) / 60:.1f} min", flush=True)

    full, daily, long_history, short_history = bench.prepare()
    save("prepare")
    bench.measure_daily(daily, long_history, short_history)
    save("daily refresh and cost against history")
    bench.measure_execution(daily, long_history)
    save("cost per execution")
    bench.measure_backfill(full)
    save("backfill")
    bench.measure_footprint(daily, long_history)
    save("footprint")
    write_report(options, render(results, command))
    return options.results


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    try:
        options = parse_options(arguments)
        command = shlex.join(["python", "-m", "bench", *(a for a in arguments if a != "--render-only")])
        written = render_only(options) if options.render_only else run(options, command)
    except StoreSalesError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    print(f"bench: wrote {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
