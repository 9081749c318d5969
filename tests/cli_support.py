"""Running the command line as a user does, and the shape of its failures: shared by the CLI and faults tests."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path = PROJECT, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("STORE_SALES_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def december_landing(root: Path) -> Path:
    """A data directory in `root` whose store_sales extracts span 2002-12-01..2002-12-31 (empty Parquet files
    suffice: the commands refuse bad dates before they read any)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for day in (date(2002, 12, 1), date(2002, 12, 31)):
        partition = root / "landing" / "store_sales" / f"load_date={day.isoformat()}"
        partition.mkdir(parents=True)
        pq.write_table(pa.table({"ss_ticket_number": pa.array([], pa.int64())}), partition / "part-0.parquet")
    return root
