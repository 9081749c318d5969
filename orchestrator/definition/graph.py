"""The dbt graph as the orchestrator sees it: selectable nodes, their dependencies, tests and settings.

Nodes are the manifest's models, seeds and snapshots. Ephemeral models are kept in the graph (they
carry dependencies) but never become tasks: dbt compiles them into their children. Dependencies
between selected nodes are resolved THROUGH unselected and ephemeral nodes, so `a -> x -> b` with
only `a` and `b` selected still orders `b` after `a`.

Selection (dbt-style; several selectors are a union, `exclude` is subtracted):
    name | unique_id          the node itself
    +name / name+ / +name+   with its ancestors / descendants / both
    tag:x (also +tag:x+)     every node tagged x (and ancestors/descendants)
An unknown name or tag raises `SelectionError` with the known ones hinted.

Tests: a test belongs to the node where `dbt build --indirect-selection buildable` runs it: the parent
whose ancestors include all the test's other parents (single-parent tests belong to their parent). A
test whose parents are independent of each other (no parent descends from the others) is attached to
the first node, in topological order, that descends from all of them (buildable selects it there);
if no such node exists it is attached to its last parent in topological order and that task selects
it explicitly ("extra tests"), where it may run before a parallel sibling finished: avoid such tests.

Orchestration settings come from the model's `meta` (set per model in YAML or `config()`, or for a
folder/project in dbt_project.yml `models: +meta: {orchestrator: {...}}`):

    meta:
      orchestrator:
        compute: lambda | ecs | auto  # where the task runs (default lambda; ecs for work over ~14 minutes;
                                      # auto: chosen per execution from the window's length)
        lambda_max_days: <int>        # auto only: windows of up to this many days run on Lambda, longer
                                      # ones on ECS (default 31)
        group: <name>                 # nodes with the same group run as ONE task (one dbt invocation)
        timeout_seconds: <int>        # the task's TimeoutSeconds (lambda: at most 840; default 840 / 3600;
                                      # auto: the ECS branch's, the Lambda branch keeps 840)

Unknown keys or values are a `OrchestrationConfigError` naming the model.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.definition.manifest import Manifest, ManifestNode
from orchestrator.errors import OrchestrationConfigError, SelectionError
from orchestrator.protocol import ORCHESTRATED_TYPES, TEST_TYPES

META_KEY = "orchestrator"
LAMBDA_MAX_TIMEOUT_SECONDS = 840
ECS_MAX_TIMEOUT_SECONDS = 86_400


DEFAULT_LAMBDA_MAX_DAYS = 31
MAX_LAMBDA_MAX_DAYS = 3660


class Compute(StrEnum):
    LAMBDA = "lambda"
    ECS = "ecs"
    AUTO = "auto"


@dataclass(frozen=True)
class Orchestration:
    """A node's `meta.orchestrator` settings."""

    compute: Compute = Compute.LAMBDA
    group: str | None = None
    timeout_seconds: int | None = None
    lambda_max_days: int | None = None  # set exactly when compute is auto

    @classmethod
    def from_meta(cls, node_name: str, meta: Mapping[str, Any]) -> Orchestration:
        raw = meta.get(META_KEY) or {}
        where = f"model {node_name}: meta.{META_KEY}"
        if not isinstance(raw, Mapping):
            raise OrchestrationConfigError(f"{where} must be a mapping, got {raw!r}")
        unknown = sorted(set(raw) - {"compute", "group", "timeout_seconds", "lambda_max_days"})
        if unknown:
            raise OrchestrationConfigError(
                f"{where} has unknown keys {unknown}: use compute, group, timeout_seconds, lambda_max_days"
            )
        compute_text = str(raw.get("compute", Compute.LAMBDA.value))
        try:
            compute = Compute(compute_text)
        except ValueError:
            raise OrchestrationConfigError(
                f"{where}.compute is {compute_text!r}: use 'lambda', 'ecs' or 'auto'"
            ) from None
        lambda_max_days = _lambda_max_days(where, compute, raw.get("lambda_max_days"))
        group = raw.get("group")
        if group is not None and (not isinstance(group, str) or not group.strip()):
            raise OrchestrationConfigError(f"{where}.group must be a non-empty string, got {group!r}")
        timeout = raw.get("timeout_seconds")
        limit = LAMBDA_MAX_TIMEOUT_SECONDS if compute is Compute.LAMBDA else ECS_MAX_TIMEOUT_SECONDS
        if timeout is not None and (
            not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= limit
        ):
            raise OrchestrationConfigError(
                f"{where}.timeout_seconds is {timeout!r}: use an integer from 1 to {limit} for {compute}"
                + (" (longer work belongs on compute: ecs)" if compute is Compute.LAMBDA else "")
            )
        return cls(compute=compute, group=group, timeout_seconds=timeout, lambda_max_days=lambda_max_days)


def _lambda_max_days(where: str, compute: Compute, value: Any) -> int | None:
    if compute is not Compute.AUTO:
        if value is not None:
            raise OrchestrationConfigError(
                f"{where}.lambda_max_days only applies to compute: auto (this node has compute: {compute})"
            )
        return None
    if value is None:
        return DEFAULT_LAMBDA_MAX_DAYS
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LAMBDA_MAX_DAYS:
        raise OrchestrationConfigError(
            f"{where}.lambda_max_days is {value!r}: use a whole number of days from 1 to {MAX_LAMBDA_MAX_DAYS}"
        )
    return value


@dataclass(frozen=True)
class Node:
    """A model, seed or snapshot."""

    unique_id: str
    name: str
    resource_type: str
    materialized: str | None
    parents: tuple[str, ...]
    tags: tuple[str, ...]
    orchestration: Orchestration
    tests: tuple[str, ...] = ()
    extra_tests: tuple[str, ...] = ()

    @property
    def ephemeral(self) -> bool:
        return self.materialized == "ephemeral"


@dataclass(frozen=True)
class DbtGraph:
    """Orchestrated nodes (with ephemeral models), in a stable topological order."""

    nodes: Mapping[str, Node]
    order: tuple[str, ...]
    tests: Mapping[str, ManifestNode] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> DbtGraph:
        raw = {uid: n for uid, n in manifest.nodes.items() if n.resource_type in ORCHESTRATED_TYPES}
        base = {
            uid: Node(
                unique_id=uid,
                name=n.name,
                resource_type=n.resource_type,
                materialized=n.materialized,
                parents=tuple(p for p in n.depends_on if p in raw),
                tags=n.tags,
                orchestration=Orchestration.from_meta(n.name, n.meta),
            )
            for uid, n in raw.items()
        }
        order = _topological_order(base)
        tests = {uid: n for uid, n in manifest.nodes.items() if n.resource_type in TEST_TYPES}
        attached, extra = _attach_tests(base, order, tests)
        nodes = {
            uid: Node(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=node.resource_type,
                materialized=node.materialized,
                parents=node.parents,
                tags=node.tags,
                orchestration=node.orchestration,
                tests=tuple(sorted(attached.get(uid, ()))),
                extra_tests=tuple(sorted(extra.get(uid, ()))),
            )
            for uid, node in base.items()
        }
        return cls(nodes=nodes, order=order, tests=tests)

    @functools.cached_property
    def children(self) -> dict[str, set[str]]:
        result: dict[str, set[str]] = {uid: set() for uid in self.nodes}
        for uid, node in self.nodes.items():
            for parent in node.parents:
                result[parent].add(uid)
        return result

    def ancestors(self, uid: str) -> set[str]:
        return _closure(uid, lambda u: self.nodes[u].parents)

    def descendants(self, uid: str) -> set[str]:
        return _closure(uid, lambda u: tuple(self.children[u]))

    def find(self, name_or_id: str) -> str | None:
        """The unique id of a node given its name or unique id."""
        if name_or_id in self.nodes:
            return name_or_id
        matches = [uid for uid in self.order if self.nodes[uid].name == name_or_id]
        return matches[0] if matches else None

    def select(self, select: Sequence[str] = (), exclude: Sequence[str] = ()) -> frozenset[str]:
        """Unique ids of the selected non-ephemeral nodes (everything when `select` is empty)."""
        chosen: set[str] = set()
        for selector in select or ():
            chosen |= self._resolve(selector)
        if not select:
            chosen = set(self.nodes)
        for selector in exclude:
            chosen -= self._resolve(selector)
        return frozenset(uid for uid in chosen if not self.nodes[uid].ephemeral)

    def dependencies(self, selected: Iterable[str]) -> dict[str, frozenset[str]]:
        """For each selected node, the selected nodes it depends on, through unselected/ephemeral ones."""
        chosen = frozenset(selected)
        result: dict[str, frozenset[str]] = {}
        for uid in chosen:
            found: set[str] = set()
            stack = list(self.nodes[uid].parents)
            seen: set[str] = set()
            while stack:
                parent = stack.pop()
                if parent in seen:
                    continue
                seen.add(parent)
                if parent in chosen:
                    found.add(parent)
                else:
                    stack.extend(self.nodes[parent].parents)
            result[uid] = frozenset(found)
        return result

    def _resolve(self, selector: str) -> set[str]:
        text = selector.strip()
        up = text.startswith("+")
        down = text.endswith("+")
        core = text.strip("+")
        if core.startswith("tag:"):
            tag = core.removeprefix("tag:")
            roots = {uid for uid, n in self.nodes.items() if tag in n.tags}
            if not roots:
                known = sorted({t for n in self.nodes.values() for t in n.tags})
                raise SelectionError(f"selector {selector!r}: no node has tag {tag!r}; known tags: {known}")
        else:
            uid = self.find(core)
            if uid is None:
                known = sorted(n.name for n in self.nodes.values())
                hint = ", ".join(known[:20]) + (" ..." if len(known) > 20 else "")
                raise SelectionError(f"selector {selector!r}: no model, seed or snapshot named {core!r}; known: {hint}")
            roots = {uid}
        result = set(roots)
        for root in roots:
            if up:
                result |= self.ancestors(root)
            if down:
                result |= self.descendants(root)
        return result


def _closure(start: str, step: Any) -> set[str]:
    found: set[str] = set()
    stack = list(step(start))
    while stack:
        uid = stack.pop()
        if uid not in found:
            found.add(uid)
            stack.extend(step(uid))
    return found


def _topological_order(nodes: Mapping[str, Node]) -> tuple[str, ...]:
    """Kahn's algorithm, ties broken by unique id so the order is stable."""
    remaining = {uid: set(n.parents) for uid, n in nodes.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(uid for uid, parents in remaining.items() if not parents)
        if not ready:
            raise OrchestrationConfigError(f"the dbt graph has a cycle among {sorted(remaining)}")
        for uid in ready:
            order.append(uid)
            del remaining[uid]
        for parents in remaining.values():
            parents.difference_update(ready)
    return tuple(order)


def _attach_tests(
    nodes: Mapping[str, Node], order: Sequence[str], tests: Mapping[str, ManifestNode]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    position = {uid: i for i, uid in enumerate(order)}
    ancestors = {uid: _closure(uid, lambda u: nodes[u].parents) for uid in nodes}
    attached: dict[str, set[str]] = {}
    extra: dict[str, set[str]] = {}
    for test_uid, test in tests.items():
        parents = sorted({p for p in test.depends_on if p in nodes}, key=position.__getitem__)
        if not parents:
            continue
        owners = [p for p in parents if set(parents) - {p} <= ancestors[p]]
        if owners:
            for owner in owners:
                attached.setdefault(owner, set()).add(test_uid)
            continue
        common = [uid for uid in order if set(parents) <= ancestors[uid] and not nodes[uid].ephemeral]
        if common:
            attached.setdefault(common[0], set()).add(test_uid)
        else:
            attached.setdefault(parents[-1], set()).add(test_uid)
            extra.setdefault(parents[-1], set()).add(test.name)
    return attached, extra
