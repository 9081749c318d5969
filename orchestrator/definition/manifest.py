"""Load dbt's `target/manifest.json` into small typed records.

Only what orchestration needs is kept: every node's unique id, resource type, name, direct
dependencies, tags, materialization, `meta` and, for tests, the model it is attached to. Unknown
resource types (semantic models, saved queries, functions, whatever a later dbt adds) are kept as
plain nodes and simply never orchestrated, so a newer manifest does not break the loader.

The manifest must be current: if a file under the project's model, macro, seed, snapshot, analysis
or test paths (or `dbt_project.yml`) is newer than the manifest, loading fails with a
`ManifestError` telling to run `dbt parse` again. A stale manifest would orchestrate yesterday's graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import ManifestError

SUPPORTED_SCHEMA_VERSIONS = frozenset({12})
SCHEMA_URL_PREFIX = "https://schemas.getdbt.com/dbt/manifest/v"
DEFAULT_PATHS: Mapping[str, tuple[str, ...]] = {
    "model-paths": ("models",),
    "macro-paths": ("macros",),
    "seed-paths": ("seeds",),
    "snapshot-paths": ("snapshots",),
    "analysis-paths": ("analyses",),
    "test-paths": ("tests",),
}
PARSE_HINT = "run `dbt parse` in the project directory"


@dataclass(frozen=True)
class ManifestNode:
    """One entry of the manifest's `nodes` (models, tests, seeds, snapshots, and anything else)."""

    unique_id: str
    resource_type: str
    name: str
    package_name: str
    depends_on: tuple[str, ...]
    tags: tuple[str, ...] = ()
    materialized: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    attached_node: str | None = None

    @classmethod
    def from_json(cls, unique_id: str, raw: Mapping[str, Any]) -> ManifestNode:
        config = raw.get("config") or {}
        depends = raw.get("depends_on") or {}
        meta = dict(config.get("meta") or {})
        meta.update(raw.get("meta") or {})
        return cls(
            unique_id=unique_id,
            resource_type=str(raw.get("resource_type", unique_id.split(".", 1)[0])),
            name=str(raw.get("name", unique_id.rsplit(".", 1)[-1])),
            package_name=str(raw.get("package_name", "")),
            depends_on=tuple(sorted(set(depends.get("nodes") or ()))),
            tags=tuple(sorted(set(raw.get("tags") or ()) | set(config.get("tags") or ()))),
            materialized=config.get("materialized"),
            meta=meta,
            attached_node=raw.get("attached_node"),
        )


@dataclass(frozen=True)
class Manifest:
    """The parts of a dbt manifest the orchestrator uses."""

    path: Path
    project_name: str
    dbt_version: str
    nodes: Mapping[str, ManifestNode]

    @classmethod
    def from_json(cls, path: Path, raw: Mapping[str, Any]) -> Manifest:
        metadata = raw.get("metadata") or {}
        nodes = {uid: ManifestNode.from_json(uid, body) for uid, body in (raw.get("nodes") or {}).items()}
        return cls(
            path=path,
            project_name=str(metadata.get("project_name") or _root_package(nodes.values())),
            dbt_version=str(metadata.get("dbt_version", "")),
            nodes=nodes,
        )


def _root_package(nodes: Iterable[ManifestNode]) -> str:
    packages = sorted({node.package_name for node in nodes if node.resource_type == "model"})
    return packages[0] if packages else ""


def manifest_path(project_dir: Path, target_path: Path | None = None) -> Path:
    return (target_path or project_dir / "target") / "manifest.json"


def load_manifest(project_dir: Path, target_path: Path | None = None, check_fresh: bool = True) -> Manifest:
    """Read and check `<target_path>/manifest.json` (default `<project_dir>/target`)."""
    path = manifest_path(project_dir, target_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"dbt manifest {path} does not exist: {PARSE_HINT}") from None
    except OSError as error:
        raise ManifestError(f"dbt manifest {path} cannot be read ({error.strerror}): {PARSE_HINT}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(f"dbt manifest {path} is not valid JSON (line {error.lineno}): {PARSE_HINT}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("nodes"), dict):
        raise ManifestError(f"dbt manifest {path} has no `nodes` object: {PARSE_HINT}")
    _check_schema_version(path, raw)
    if check_fresh:
        _check_fresh(path, project_dir)
    return Manifest.from_json(path, raw)


def _check_schema_version(path: Path, raw: Mapping[str, Any]) -> None:
    version_url = str((raw.get("metadata") or {}).get("dbt_schema_version", ""))
    number = version_url.removeprefix(SCHEMA_URL_PREFIX).removesuffix(".json")
    if not version_url.startswith(SCHEMA_URL_PREFIX) or not number.isdigit():
        raise ManifestError(f"dbt manifest {path} has no dbt_schema_version: {PARSE_HINT} with dbt 1.11")
    if int(number) not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(f"v{n}" for n in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise ManifestError(
            f"dbt manifest {path} has schema v{number}, this orchestrator reads {supported}: "
            f"{PARSE_HINT} with the pinned dbt-core 1.11"
        )


def project_source_files(project_dir: Path) -> list[Path]:
    """Every file whose change makes the manifest stale (dbt_project.yml and the configured paths)."""
    project_file = project_dir / "dbt_project.yml"
    try:
        config = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        config = {}
    files = [project_file] if project_file.exists() else []
    for key, default in DEFAULT_PATHS.items():
        for folder in config.get(key) or default:
            root = project_dir / str(folder)
            if root.is_dir():
                files.extend(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return files


def _check_fresh(path: Path, project_dir: Path) -> None:
    built = path.stat().st_mtime
    newer = sorted(p for p in project_source_files(project_dir) if p.stat().st_mtime > built)
    if newer:
        shown = ", ".join(str(p.relative_to(project_dir)) for p in newer[:3])
        more = f" and {len(newer) - 3} more" if len(newer) > 3 else ""
        raise ManifestError(f"dbt manifest {path} is older than {shown}{more}: {PARSE_HINT}")
