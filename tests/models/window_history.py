"""A small warehouse loaded day by day from a random landing history: the one the data-test proofs break
(tests/models/test_window_tests.py, tests/models/test_generic_tests.py). Tests break a copy, never the loaded
original."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

from landing import Landing, random_history
from models_harness import Warehouse

FIRST_DAY = date(2002, 1, 7)
DAYS = 4
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)


def load(root: Path) -> Warehouse:
    """DAYS days of a seeded random history, loaded one dbt build per day."""
    warehouse = Warehouse(root)
    landing = Landing(warehouse.data_dir)
    landing.write_reference()
    landing.write_history(random_history(11, FIRST_DAY, DAYS))
    for offset in range(DAYS):
        warehouse.build(FIRST_DAY + timedelta(days=offset))
    return warehouse


def copy(warehouse: Warehouse, root: Path) -> Warehouse:
    shutil.copytree(warehouse.root, root, ignore=shutil.ignore_patterns("target*", "logs"))
    return Warehouse(root)
