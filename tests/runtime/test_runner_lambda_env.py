"""The runner in a simulated AWS Lambda environment: read-only filesystem outside /tmp, no /dev/shm.

A subprocess runs under `unshare -m` (a private mount namespace: needs root, as on CI and the dev
machines) where / is remounted read-only, /tmp stays writable (but the project stays read-only, wherever
the clone lives) and /dev/shm is a read-only tmpfs, so
POSIX semaphores (dbt's default multiprocessing locks) cannot be created, as on Lambda. Plain dbt
fails there; the Lambda handler must still build the model and write nothing outside /tmp.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
from engine_support import ENGINE_PROJECT, ROOT, engine_parsed_dir

SANDBOX = """
set -e
mount --make-rprivate /
mount --bind /tmp /tmp
mount --bind / /
mount -o remount,bind,ro /
mount --bind "$READ_ONLY_PROJECT" "$READ_ONLY_PROJECT"
mount -o remount,bind,ro "$READ_ONLY_PROJECT"
mount -t tmpfs -o ro,size=64k tmpfs /dev/shm
exec "$@"
"""

SEMAPHORE_PROBE = "import multiprocessing; multiprocessing.get_context('spawn').Lock()"

PLAIN_DBT_PARSE = """
import sys
from dbt.cli.main import dbtRunner
project, out = sys.argv[1], sys.argv[2]
result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project,
                             "--target-path", out + "/target", "--log-path", out + "/logs"])
print(repr(result.exception))
"""

HANDLER = """
import json, sys
from orchestrator.runtime.lambda_handler import handler
class LambdaContext:  # what the handler reads of the runtime's context object: a fresh invocation's 15 minutes
    def get_remaining_time_in_millis(self):
        return 900_000
event = json.loads(sys.argv[1])
print("SUMMARY " + json.dumps(handler(event, LambdaContext())))
"""


def sandboxed(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", SANDBOX, "sandbox", *command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_handler_runs_with_a_read_only_root_and_no_dev_shm() -> None:
    work = Path(tempfile.mkdtemp(prefix="lambda-sim-", dir="/tmp"))
    try:
        warehouse = work / "warehouse.duckdb"
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(ROOT),  # read-only inside the sandbox, as Lambda's HOME
            "PYTHONPATH": str(ROOT),
            "READ_ONLY_PROJECT": str(ROOT),  # read-only even when the clone itself lives under /tmp
            "PYTHONDONTWRITEBYTECODE": "1",
            "TMPDIR": str(work),
            "STORE_SALES_PROJECT_DIR": str(ENGINE_PROJECT),
            "STORE_SALES_PARSED_DIR": str(engine_parsed_dir()),
            "DBT_PROFILES_DIR": str(ENGINE_PROJECT),
            "STORE_SALES_DUCKDB": str(warehouse),
        }
        probe = sandboxed(sys.executable, "-c", SEMAPHORE_PROBE, env=env)
        assert probe.returncode != 0, "the sandbox must not allow POSIX semaphores"
        assert "OSError" in probe.stderr or "PermissionError" in probe.stderr

        plain_dbt = sandboxed(sys.executable, "-c", PLAIN_DBT_PARSE, str(ENGINE_PROJECT), str(work / "plain"), env=env)
        assert "OSError(30, 'Read-only file system')" in plain_dbt.stdout  # dbt alone fails here

        write_probe = sandboxed(sys.executable, "-c", f"open({str(ENGINE_PROJECT / 'x')!r}, 'w')", env=env)
        assert "Read-only file system" in write_probe.stderr

        event = {
            "task": "dia_root",
            "models": ["dia_root"],
            "execution": "sim-1",
            "nodes": None,
            "full_refresh": False,
            "refresh_window": {"start": "2002-01-01", "end": "2002-01-01"},
            "extra_tests": [],
            "artifacts": {},
        }
        before = sorted(p.relative_to(ENGINE_PROJECT) for p in ENGINE_PROJECT.rglob("*"))
        result = sandboxed(sys.executable, "-c", HANDLER, json.dumps(event), env=env)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        line = next(x for x in result.stdout.splitlines() if x.startswith("SUMMARY "))
        summary = json.loads(line.removeprefix("SUMMARY "))
        assert summary["status"] == "success"
        assert summary["tests"] == {"pass": 2}
        assert sorted(p.relative_to(ENGINE_PROJECT) for p in ENGINE_PROJECT.rglob("*")) == before
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.sql("select count(*) from dia_root").fetchall() == [(10,)]
        leftovers = sorted(p.name for p in work.iterdir())
        assert leftovers == ["plain", "warehouse.duckdb"], leftovers  # the runner's temp dir is removed
    finally:
        shutil.rmtree(work, ignore_errors=True)
