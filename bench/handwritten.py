"""Run bench/handwritten.sql (the stored-procedure baseline) for one window in one DuckDB connection.

    python -m bench.handwritten --database FILE --data-dir DIR --start D1 [--end Dn]

Prints one JSON line: {"seconds": <time inside the connection, from connect to commit>}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

from orchestrator.errors import StoreSalesError, UsageError
from orchestrator.window import RefreshWindow

SCRIPT = Path(__file__).with_name("handwritten.sql")
SEED_FILE = Path(__file__).resolve().parent.parent / "seeds" / "country_regions.csv"


def load_window(database: Path, data_dir: Path, window: RefreshWindow) -> float:
    """Run the hand-written load of `window` on `database`; return the seconds it took."""
    if not (data_dir / "landing").is_dir():
        raise UsageError(f"{data_dir} has no landing/ folder: point --data-dir at generated sample data")
    started = time.perf_counter()
    connection = duckdb.connect(str(database))
    try:
        connection.execute("set variable window_start = ?", [window.start])
        connection.execute("set variable window_end = ?", [window.end])
        connection.execute("set variable data_dir = ?", [str(data_dir)])
        connection.execute("set variable seed_file = ?", [str(SEED_FILE)])
        connection.execute(SCRIPT.read_text(encoding="utf-8"))
    finally:
        connection.close()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.handwritten", description=__doc__.splitlines()[0])
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--end")
    args = parser.parse_args(argv)
    try:
        window = RefreshWindow.parse(args.start, args.end or args.start)
        seconds = load_window(args.database, args.data_dir.resolve(), window)
    except StoreSalesError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    except duckdb.Error as error:
        print(f"error: the hand-written SQL failed on {args.database}: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"seconds": round(seconds, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
