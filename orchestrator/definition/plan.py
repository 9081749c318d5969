"""From selected dbt nodes to tasks and stages.

A task is one `dbt build` invocation: one node, or every selected node of a `meta.orchestrator.group`,
or (renderer option `group_stages`) a whole stage. Stages are strict barriers: a task sits in the
stage after the last stage holding one of its dependencies (as soon as possible), and every task of a
stage runs in one Parallel state. Strict stages keep the definition small, readable and deterministic;
a finer layout (a task starting the moment its own parents finish) only pays off on wide, uneven
graphs, and on this project the two shapes are the same: Parallel(dim_customer_address, dim_item),
then fct_store_sales, then the reports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.definition.graph import Compute, DbtGraph, Orchestration
from orchestrator.errors import OrchestrationConfigError

KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
DEFAULT_LAMBDA_TIMEOUT_SECONDS = 840
DEFAULT_ECS_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class Task:
    """One dbt invocation: its key (state name `Build <key>` and results key), nodes and settings."""

    key: str
    node_ids: tuple[str, ...]
    models: tuple[str, ...]
    extra_tests: tuple[str, ...]
    compute: Compute
    timeout_seconds: int  # an auto task's ECS branch; its Lambda branch has the Lambda timeout
    depends_on: frozenset[str]
    lambda_max_days: int | None = None  # compute auto: the longest window (in days) that runs on Lambda


@dataclass(frozen=True)
class Plan:
    stages: tuple[tuple[Task, ...], ...]

    @property
    def tasks(self) -> tuple[Task, ...]:
        return tuple(task for stage in self.stages for task in stage)


def build_plan(
    graph: DbtGraph,
    selected: Iterable[str],
    *,
    group_stages: bool = False,
    lambda_timeout_seconds: int = DEFAULT_LAMBDA_TIMEOUT_SECONDS,
    ecs_timeout_seconds: int = DEFAULT_ECS_TIMEOUT_SECONDS,
) -> Plan:
    chosen = frozenset(selected)
    if not chosen:
        raise OrchestrationConfigError("the selection is empty: select at least one model, seed or snapshot")
    dependencies = graph.dependencies(chosen)
    key_of = {uid: _task_key(graph, uid) for uid in chosen}
    members: dict[str, list[str]] = {}
    for uid in graph.order:
        if uid in chosen:
            members.setdefault(key_of[uid], []).append(uid)
    tasks = {
        key: _make_task(graph, key, uids, dependencies, key_of, lambda_timeout_seconds, ecs_timeout_seconds)
        for key, uids in members.items()
    }
    stages = _layer(tasks)
    if group_stages:
        stages = [[_merge_stage(index, stage)] for index, stage in enumerate(stages, start=1)]
    return Plan(stages=tuple(tuple(stage) for stage in stages))


def _task_key(graph: DbtGraph, uid: str) -> str:
    node = graph.nodes[uid]
    key = node.orchestration.group or node.name
    if not KEY_PATTERN.match(key):
        raise OrchestrationConfigError(
            f"{node.resource_type} {node.name}: task name {key!r} must be letters, digits and underscores "
            "(at most 63, not starting with a digit); rename the group or the model"
        )
    group = node.orchestration.group
    if group is not None and graph.find(group) is not None:
        raise OrchestrationConfigError(
            f"model {node.name}: group {group!r} has the name of a model; choose another group name"
        )
    return key


def _make_task(
    graph: DbtGraph,
    key: str,
    uids: list[str],
    dependencies: dict[str, frozenset[str]],
    key_of: dict[str, str],
    lambda_timeout_seconds: int,
    ecs_timeout_seconds: int,
) -> Task:
    nodes = [graph.nodes[uid] for uid in uids]
    computes = sorted({(node.orchestration.compute, node.orchestration.lambda_max_days or 0) for node in nodes})
    if len(computes) > 1:
        names = ", ".join(_compute_text(n.orchestration, n.name) for n in nodes)
        raise OrchestrationConfigError(
            f"group {key!r} mixes compute settings ({names}): give them one compute (and one lambda_max_days)"
        )
    compute = computes[0][0]
    default = lambda_timeout_seconds if compute is Compute.LAMBDA else ecs_timeout_seconds
    timeout = max(node.orchestration.timeout_seconds or default for node in nodes)
    depends = frozenset(key_of[d] for uid in uids for d in dependencies[uid]) - {key}
    return Task(
        key=key,
        node_ids=tuple(uids),
        models=tuple(node.name for node in nodes),
        extra_tests=tuple(sorted({t for node in nodes for t in node.extra_tests})),
        compute=compute,
        timeout_seconds=timeout,
        depends_on=depends,
        lambda_max_days=nodes[0].orchestration.lambda_max_days,
    )


def _compute_text(orchestration: Orchestration, name: str) -> str:
    days = orchestration.lambda_max_days
    return f"{name}={orchestration.compute}" + (f" (lambda_max_days {days})" if days else "")


def _layer(tasks: dict[str, Task]) -> list[list[Task]]:
    level: dict[str, int] = {}
    remaining = dict(tasks)
    while remaining:
        ready = sorted(k for k, t in remaining.items() if t.depends_on <= level.keys())
        if not ready:
            raise OrchestrationConfigError(
                f"groups {sorted(remaining)} depend on each other in a cycle: split or merge the groups"
            )
        for key in ready:
            level[key] = 1 + max((level[d] for d in tasks[key].depends_on), default=0)
            del remaining[key]
    stages: list[list[Task]] = [[] for _ in range(max(level.values()))]
    for key in sorted(level):
        stages[level[key] - 1].append(tasks[key])
    return stages


def _merge_stage(index: int, stage: list[Task]) -> Task:
    """A whole stage as one task: ECS if any task is, else auto (the smallest threshold) if any is."""
    thresholds = [t.lambda_max_days for t in stage if t.compute is Compute.AUTO and t.lambda_max_days]
    if any(t.compute is Compute.ECS for t in stage):
        compute, lambda_max_days = Compute.ECS, None
    elif thresholds:
        compute, lambda_max_days = Compute.AUTO, min(thresholds)
    else:
        compute, lambda_max_days = Compute.LAMBDA, None
    depends = frozenset({f"stage_{index - 1}"}) if index > 1 else frozenset()
    return Task(
        key=f"stage_{index}",
        node_ids=tuple(uid for t in stage for uid in t.node_ids),
        models=tuple(m for t in stage for m in t.models),
        extra_tests=tuple(sorted({x for t in stage for x in t.extra_tests})),
        compute=compute,
        timeout_seconds=max(t.timeout_seconds for t in stage),
        depends_on=depends,
        lambda_max_days=lambda_max_days,
    )
