"""moto's server in this process, and the environment that points every boto3 client of the process at it.

`MotoServer.start()` listens on 127.0.0.1 (a free port), resets moto's account, turns on the Step Functions
interpreter and in-process Lambda, holds ECS tasks in RUNNING until they are stopped (the local Fargate
stops them), applies `orchestrator.local.moto_adapt`, and sets AWS_ENDPOINT_URL, dummy credentials and
the given `extra_env` in `os.environ`; `stop()` stops the server and gives the environment and moto's
configuration back as they were (moto keeps that configuration per process: a `mock_aws()` opened later in
the same process would otherwise run every execution it starts through the interpreter).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import urllib.request
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import LocalAwsError
from orchestrator.local import moto_adapt

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


class MotoServer:
    def __init__(self) -> None:
        self.endpoint_url = ""
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_config: dict[str, Any] = {}

    def start(self, extra_env: Mapping[str, str]) -> None:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        self._saved_config = copy.deepcopy(dict(default_user_config))

        for name in ("moto", "werkzeug"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        env = {**DUMMY_CREDENTIALS, **extra_env, "MOTO_PORT": str(port), "AWS_ENDPOINT_URL": self.endpoint_url}
        self._saved_env = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        self._post("/moto-api/reset", {})  # moto's backends are per process: start from a clean account
        self._post(
            "/moto-api/config", {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._post(
            "/moto-api/state-manager/set-transition",
            {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}},
        )
        moto_adapt.apply_all()

    def stop(self) -> None:
        from moto.core.config import default_user_config

        if self._server is not None:
            self._server.stop()
            default_user_config.update(self._saved_config)  # type: ignore[typeddict-item]
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def client(self, service: str) -> Any:
        """A boto3 client of this server (any service moto has: the tests also use SQS)."""
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def _post(self, path: str, body: Mapping[str, Any]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except OSError as error:
            raise LocalAwsError(f"the local moto server at {self.endpoint_url} refused {path}: {error}") from None
