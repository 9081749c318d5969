"""The image's build and entrypoint steps, without docker: a plain directory laid out like the image, both
entrypoints run (the Lambda through a local runtime API)."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import threading
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import pytest
from infra_support import (
    ACCOUNT,
    BIN,
    DOCKERFILE,
    REGION,
    ROOT,
    dockerfile_env,
    substituted,
)
from landing import Address, Day, Item, Landing, Sale, customer_id, natural_id

RUNTIME_DEADLINE_SECONDS = 300.0


def image_layout(root: Path) -> Path:
    """Copy what the Dockerfile COPYs into `root` (the image's /opt/store-sales)."""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("COPY "):
            continue
        *sources, destination = line.split()[1:]
        for source in sources:
            origin = ROOT / source
            target = (
                root / destination / origin.name
                if destination.endswith("/") and origin.is_file()
                else root / destination
            )
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    return root


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """The part of the Lambda Runtime API the runtime interface client uses: next invocation, response."""

    protocol_version = "HTTP/1.1"  # the client's native HTTP code needs it
    pending: ClassVar[list[bytes]] = []
    responses: ClassVar[list[bytes]] = []
    done = threading.Event()

    def do_GET(self) -> None:
        if not self.path.endswith("/runtime/invocation/next") or not RuntimeApi.pending:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = RuntimeApi.pending.pop(0)
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"request-{len(RuntimeApi.responses) + 1}")
        self.send_header("Lambda-Runtime-Deadline-Ms", "4102444800000")
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:runner")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/response"):
            RuntimeApi.responses.append(body)
        else:
            RuntimeApi.responses.append(json.dumps({"status": "error", "body": body.decode()}).encode())
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if not RuntimeApi.pending:
            RuntimeApi.done.set()

    def log_message(self, *args: Any) -> None:
        return


@pytest.mark.slow
def test_image_build_and_both_entrypoints_run_in_a_plain_directory(
    template: dict[str, Any], definition_text: str, tmp_path: Path
) -> None:
    """The Dockerfile's steps after `pip install` (same lock: this virtualenv), then one task through the
    ECS entrypoint and one through the Lambda runtime interface client, on DuckDB (the image's `local`)."""
    project = image_layout(tmp_path / "opt" / "store-sales")
    data = tmp_path / "data"
    env = {
        **os.environ,
        **dockerfile_env(project),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "STORE_SALES_TARGET": "local",
        "STORE_SALES_DATA_DIR": str(data),
        "STORE_SALES_DUCKDB": str(tmp_path / "warehouse" / "warehouse.duckdb"),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    (tmp_path / "warehouse").mkdir()
    build = re.search(r"^RUN (infra/image-build\.sh) (\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert build is not None
    subprocess.run([str(project / build.group(1)), str(project)], check=True, cwd=project, env=env)
    assert (project / "target" / "partial_parse.msgpack").stat().st_size > 0

    day = date(2002, 1, 10)
    landing = Landing(data)
    landing.write_reference()
    item, address = natural_id("ITEM", 1), natural_id("ADDR", 1)
    landing.write_day(
        day, Day([Address(address)], [Item(item)], [Sale(1, item, customer_id(1), address, natural_id("STORE", 1))])
    )
    definition = json.loads(substituted(definition_text, template))
    branches = definition["States"]["Stage 1"]["Branches"]
    lambda_tasks = [branch["States"][branch["StartAt"]] for branch in branches]
    ecs_task = definition["States"]["Build store_sales on ECS"]  # a backfill's route; a day goes to Lambda
    assert ecs_task["Resource"].startswith("arn:aws:states:::ecs:")
    assert all(task["Resource"] == "arn:aws:states:::lambda:invoke" for task in lambda_tasks)
    window = {"start": day.isoformat(), "end": day.isoformat()}
    context = {"$$.Execution.Name": "image-test", "$.refresh_window.start": day.isoformat(),
               "$.refresh_window.end": day.isoformat(), "$.refresh_window": window, "$.full_refresh": False,
               "$.nodes": None, "States.JsonToString($.full_refresh)": "false", "$.window_days": 1,
               "$.full_tests": False, "States.JsonToString($.full_tests)": "false",
               "States.JsonToString($.nodes)": "null", "$.allow_missing": [],
               "States.JsonToString($.allow_missing)": "[]", "$.completes_window": True,
               "$.allow_gap": False}  # fmt: skip

    # Lambda: the image's ENTRYPOINT + CMD (the runtime interface client) against a local Runtime API,
    # one invocation per dimension task with the payload the state machine builds.
    events = []
    for task in lambda_tasks:
        payload = task["Parameters"]["Payload"]
        event = {
            key.removesuffix(".$"): context[value] if key.endswith(".$") else value for key, value in payload.items()
        }
        event["artifacts"] = {"bucket": "", "prefix": ""}  # no S3 here: the upload is tested in test_runner
        events.append(json.dumps(event).encode())
    responses = invoke_through_runtime_client(events, env, tmp_path)
    for event_bytes, response in zip(events, responses, strict=True):
        summary = json.loads(response)
        assert summary["status"] == "success", summary
        assert {m["name"] for m in summary["models"]} == set(json.loads(event_bytes)["models"])

    # ECS: the task definition's EntryPoint with the environment of the state's container overrides.
    container = template["Resources"]["EcsTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    overrides = ecs_task["Parameters"]["Overrides"]["ContainerOverrides"][0]
    assert overrides["Name"] == container["Name"]
    task_env = {
        item["Name"]: item["Value"] if "Value" in item else context.get(item["Value.$"], "")
        for item in overrides["Environment"]
        if item["Name"] != "STORE_SALES_TASK_TOKEN"  # without a token the runner prints its summary
    }
    task_env["STORE_SALES_ARTIFACTS_BUCKET"] = ""
    argv = [str(BIN / "python") if part == "python" else part for part in container["EntryPoint"]]
    ecs = subprocess.run(argv, cwd=tmp_path, env={**env, **task_env}, capture_output=True, text=True, check=False)
    assert ecs.returncode == 0, ecs.stderr[-3000:]
    summary = json.loads(ecs.stdout.strip().splitlines()[-1])
    assert summary["status"] == "success", summary
    assert {m["name"] for m in summary["models"]} == set(task_env["STORE_SALES_MODELS"].split())
    with duckdb.connect(env["STORE_SALES_DUCKDB"], read_only=True) as warehouse:
        assert warehouse.execute("select count(*) from main.fct_store_sales").fetchone() == (1,)


def invoke_through_runtime_client(events: list[bytes], env: dict[str, str], cwd: Path) -> list[bytes]:
    """Run the image's ENTRYPOINT + CMD with a local Runtime API serving `events`; the responses."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    entrypoint = re.search(r"^ENTRYPOINT (.+)$", text, flags=re.MULTILINE)
    cmd = re.search(r"^CMD (.+)$", text, flags=re.MULTILINE)
    assert entrypoint is not None and cmd is not None
    argv = [
        str(BIN / "python") if part == "python" else part for part in json.loads(entrypoint[1]) + json.loads(cmd[1])
    ]
    RuntimeApi.pending = list(events)
    RuntimeApi.responses = []
    RuntimeApi.done.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        RuntimeApi.done.wait(RUNTIME_DEADLINE_SECONDS)
    finally:
        process.kill()
        _, stderr = process.communicate()
        server.shutdown()
        server.server_close()
    assert len(RuntimeApi.responses) == len(events), stderr[-3000:]
    return RuntimeApi.responses
