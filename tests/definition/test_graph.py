"""Manifest loading, selection, dependency resolution, test attachment and meta settings."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from engine_support import ENGINE_PROJECT, copy_project, engine_parsed_dir

from orchestrator.definition.graph import Compute, DbtGraph, Node, Orchestration
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.plan import build_plan
from orchestrator.errors import ManifestError, OrchestrationConfigError, SelectionError


@pytest.fixture(scope="module")
def graph() -> DbtGraph:
    return DbtGraph.from_manifest(load_manifest(ENGINE_PROJECT, engine_parsed_dir(), check_fresh=False))


def names(graph: DbtGraph, ids: frozenset[str] | set[str]) -> set[str]:
    return {graph.nodes[uid].name for uid in ids}


def test_selection_by_name_graph_operators_tags_union_and_exclude(graph: DbtGraph) -> None:
    assert names(graph, graph.select(["dia_join"])) == {"dia_join"}
    assert names(graph, graph.select(["+dia_join"])) == {"dia_root", "dia_left", "dia_right", "dia_join"}
    assert names(graph, graph.select(["chain_a+"])) == {"chain_a", "chain_b", "chain_c"}
    assert names(graph, graph.select(["+chain_b+"])) == {"chain_a", "chain_b", "chain_c"}
    assert names(graph, graph.select(["tag:ephemeral_case"])) == {"eph_source", "eph_leaf"}
    assert names(graph, graph.select(["chain_a", "dia_root"])) == {"chain_a", "dia_root"}
    assert names(graph, graph.select(["fan_root+"], exclude=["tag:fanout"])) == set()
    assert names(graph, graph.select(["+dia_join"], exclude=["dia_left"])) == {"dia_root", "dia_right", "dia_join"}
    assert names(graph, graph.select(["model.engine.chain_c"])) == {"chain_c"}


def test_ephemeral_models_are_never_selected_and_dependencies_go_through_them(graph: DbtGraph) -> None:
    selected = graph.select(["+eph_leaf"])
    assert names(graph, selected) == {"eph_source", "eph_leaf"}
    dependencies = graph.dependencies(selected)
    assert dependencies["model.engine.eph_leaf"] == {"model.engine.eph_source"}


def test_dependencies_resolve_through_unselected_nodes(graph: DbtGraph) -> None:
    selected = graph.select(["chain_a", "chain_c"])
    assert graph.dependencies(selected)["model.engine.chain_c"] == {"model.engine.chain_a"}


@pytest.mark.parametrize(
    ("selector", "hint"),
    [("no_such_model", "known: chain_a, chain_b"), ("tag:nope", "known tags: ['ephemeral_case', 'fanout', 'faults']")],
)
def test_unknown_selector_is_a_usage_error_with_a_hint(graph: DbtGraph, selector: str, hint: str) -> None:
    with pytest.raises(SelectionError) as caught:
        graph.select([selector])
    assert selector in str(caught.value)
    assert hint in str(caught.value)
    assert caught.value.exit_code == 2


def test_tests_are_attached_where_dbt_build_runs_them(graph: DbtGraph) -> None:
    relationships = "test.engine.relationships_dia_left_id__id__ref_dia_root_.9e9d2b7ae1"
    assert relationships in graph.nodes["model.engine.dia_left"].tests
    assert relationships not in graph.nodes["model.engine.dia_root"].tests
    # a test on two independent models belongs to the first node below both of them
    assert "test.engine.assert_sides_match" in graph.nodes["model.engine.dia_join"].tests
    assert graph.nodes["model.engine.dia_join"].extra_tests == ()
    assert graph.nodes["model.engine.dia_root"].tests == (
        "test.engine.not_null_dia_root_id.dc570cc0c7",
        "test.engine.unique_dia_root_id.307f5c38df",
    )


def test_meta_settings_and_groups_make_the_tasks(graph: DbtGraph) -> None:
    chain_c = graph.nodes["model.engine.chain_c"].orchestration
    assert chain_c == Orchestration(compute=Compute.ECS, group=None, timeout_seconds=1200)
    plan = build_plan(graph, graph.select(["fan_root+"]))
    assert [[t.key for t in stage] for stage in plan.stages] == [
        ["fan_root"],
        ["fan_1", "fan_2", "fan_3", "fan_4", "fan_pair"],
    ]
    pair = next(t for t in plan.tasks if t.key == "fan_pair")
    assert pair.models == ("fan_5", "fan_6")
    assert pair.depends_on == {"fan_root"}
    assert next(t for t in plan.tasks if t.key == "fan_3").compute is Compute.ECS


def test_group_stages_option_runs_each_stage_as_one_task(graph: DbtGraph) -> None:
    plan = build_plan(graph, graph.select(["+dia_join"]), group_stages=True)
    assert [(t.key, t.models) for t in plan.tasks] == [
        ("stage_1", ("dia_root",)),
        ("stage_2", ("dia_left", "dia_right")),
        ("stage_3", ("dia_join",)),
    ]


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"orchestrator": {"compute": "batch"}}, "use 'lambda', 'ecs' or 'auto'"),
        ({"orchestrator": {"compute": "ecs", "lambda_max_days": 7}}, "only applies to compute: auto"),
        ({"orchestrator": {"lambda_max_days": 7}}, "only applies to compute: auto (this node has compute: lambda)"),
        ({"orchestrator": {"compute": "auto", "lambda_max_days": 0}}, "from 1 to 3660"),
        ({"orchestrator": {"compute": "auto", "lambda_max_days": "7"}}, "is '7': use a whole number of days"),
        ({"orchestrator": {"compute": "auto", "timeout_seconds": 100_000}}, "from 1 to 86400 for auto"),
        ({"orchestrator": {"timeout_seconds": 900}}, "from 1 to 840 for lambda"),
        ({"orchestrator": {"timout_seconds": 5}}, "unknown keys ['timout_seconds']"),
        ({"orchestrator": {"group": ""}}, "non-empty string"),
        ({"orchestrator": "ecs"}, "must be a mapping"),
    ],
)
def test_invalid_meta_names_the_model(meta: dict[str, object], message: str) -> None:
    with pytest.raises(OrchestrationConfigError) as caught:
        Orchestration.from_meta("dim_item", meta)
    assert "model dim_item" in str(caught.value)
    assert message in str(caught.value)


def test_auto_compute_defaults_to_31_days_on_lambda() -> None:
    assert Orchestration.from_meta("fct", {"orchestrator": {"compute": "auto"}}).lambda_max_days == 31
    assert (
        Orchestration.from_meta("fct", {"orchestrator": {"compute": "auto", "lambda_max_days": 7}}).lambda_max_days == 7
    )
    assert Orchestration.from_meta("fct", {"orchestrator": {"compute": "ecs"}}).lambda_max_days is None


def _node(name: str, parents: tuple[str, ...], **settings: object) -> Node:
    meta = {"orchestrator": {"group": "facts", **settings}}
    return Node(
        unique_id=f"model.p.{name}",
        name=name,
        resource_type="model",
        materialized="table",
        parents=parents,
        tags=(),
        orchestration=Orchestration.from_meta(name, meta),
    )


def test_a_group_must_agree_on_auto_and_its_threshold() -> None:
    first = _node("first", (), compute="auto", lambda_max_days=7)
    for second in (_node("second", ("model.p.first",), compute="auto"), _node("second", ("model.p.first",))):
        graph = DbtGraph(nodes={n.unique_id: n for n in (first, second)}, order=(first.unique_id, second.unique_id))
        with pytest.raises(OrchestrationConfigError) as caught:
            build_plan(graph, graph.order)
        assert "group 'facts' mixes compute settings (first=auto (lambda_max_days 7), second=" in str(caught.value)
    same = _node("second", ("model.p.first",), compute="auto", lambda_max_days=7)
    graph = DbtGraph(nodes={n.unique_id: n for n in (first, same)}, order=(first.unique_id, same.unique_id))
    (task,) = build_plan(graph, graph.order).tasks
    assert (task.compute, task.lambda_max_days, task.timeout_seconds) == (Compute.AUTO, 7, 3600)


def test_missing_manifest_says_run_dbt_parse(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    assert str(tmp_path / "target" / "manifest.json") in str(caught.value)
    assert "run `dbt parse`" in str(caught.value)


def test_invalid_json_and_wrong_schema_version_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(tmp_path)
    manifest = json.loads((engine_parsed_dir() / "manifest.json").read_text(encoding="utf-8"))
    manifest["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v9.json"
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ManifestError, match="has schema v9"):
        load_manifest(tmp_path)


def test_manifest_older_than_a_model_is_stale(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "engine")
    shutil.copytree(engine_parsed_dir(), project / "target", ignore=shutil.ignore_patterns("*.duckdb*"))
    assert load_manifest(project).project_name == "engine"
    model = project / "models" / "chain" / "chain_b.sql"
    newer = (project / "target" / "manifest.json").stat().st_mtime + 10
    os.utime(model, (newer, newer))
    with pytest.raises(ManifestError) as caught:
        load_manifest(project)
    assert "is older than models/chain/chain_b.sql" in str(caught.value)
    assert "run `dbt parse`" in str(caught.value)
