"""The load dates the local landing holds: what a local run may ask for (`orchestrator.modes.local` refuses a
window outside it before anything starts)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from orchestrator.errors import DataDirError
from orchestrator.landing.contract import LANDING_DIR, PARTITION_COLUMN
from orchestrator.landing.gate import MARKER_FILE
from orchestrator.settings import DATA_DIR
from orchestrator.window import RefreshWindow


def landing_date_range(data_dir: Path) -> RefreshWindow:
    """The first..last load date that has a store_sales extract under `data_dir`: Parquet files, or a
    `_SUCCESS` marker alone (a day delivered with no sales, `{"files": []}`)."""
    sales_dir = data_dir / LANDING_DIR / "store_sales"
    prefix = f"{PARTITION_COLUMN}="
    dates: list[date] = []
    if sales_dir.is_dir():
        for partition in sales_dir.iterdir():
            delivered = any(partition.glob("*.parquet")) or (partition / MARKER_FILE).is_file()
            if not partition.is_dir() or not delivered:
                continue
            try:
                dates.append(date.fromisoformat(partition.name.removeprefix(prefix)))
            except ValueError:
                raise DataDirError(f"{partition} is not a load date partition: name it {prefix}YYYY-MM-DD") from None
    if not dates:
        raise DataDirError(
            f"no store_sales extracts in {sales_dir}: run `python -m orchestrator sample-data` first "
            f"(or point --data-dir / {DATA_DIR.name} at the landing data)"
        )
    return RefreshWindow(min(dates), max(dates))
