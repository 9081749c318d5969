"""The architecture, held true: layered subpackages, one protocol module, a runtime that stands alone.

Layers (each may import the ones listed for it, and itself):
- foundation: errors, window, settings, config, protocol, aws, file_lock, extras: nothing but the foundation;
- landing/ (the contract, the stores and the gate, the catch-up rule, the local load dates): the foundation;
- runtime/ (what ships in the image: every entry point the template names, the task runner, the trigger, the
  deadline check, the docs function, and the start of executions they share): the foundation and the landing;
- definition/ (manifest -> ASL): the foundation;
- executions/ (watch, history, journal): the foundation, the landing and the runtime;
- the analyst's library (reports, redshift_data, charts): the foundation;
- local/ (emulator, moto adaptations, sample data): the foundation, the landing, the runtime and the definition;
- modes/ (a Backend per mode, chosen by the configuration's one rule): everything above but the CLI;
- cli/: anything.
The image ships the runtime: importing any handler or container command the template names must load nothing
but the runtime, the landing and the foundation (the definition generator, the local emulator or the CLI would
drag dbt's graph code, moto or argparse into every cold start, and couple the deployed code to code it never
runs); the task's own entry points load exactly the task runtime, not the trigger or the docs.
The image installs the package's main dependencies alone (pyproject.toml `dependencies`: dbt-core, dbt-redshift,
boto3): every module the runtime and the foundation import, lazy ones included, comes from them, and a cold start
loads none of the local mode's libraries (DuckDB, pandas, pyarrow, numpy). Every other library the package imports
belongs to an extra that `orchestrator.extras` names when it is missing.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

from infra_support import load_template
from packaging.requirements import Requirement

from orchestrator.extras import EXTRA_OF_MODULE, LOCAL_TARGET_ADAPTER
from orchestrator.protocol import INPUT_KEYS, SUMMARY_KEYS, TASK_SUMMARY_MARKERS, ExecutionRequest, TaskSummary
from orchestrator.window import RefreshWindow

PACKAGE = Path(__file__).resolve().parent.parent / "orchestrator"
PYPROJECT = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
NOT_IN_THE_IMAGE = {"duckdb", "pandas", "pyarrow", "numpy", *EXTRA_OF_MODULE}
FOUNDATION = {"errors", "window", "settings", "config", "protocol", "aws", "file_lock", "extras"}
ANALYST = {"reports", "redshift_data", "charts", "warehouse", "ledger"}
ALLOWED = {
    "foundation": {"foundation"},
    "landing": {"foundation", "landing"},
    "runtime": {"foundation", "landing", "runtime"},
    "definition": {"foundation", "definition"},
    "executions": {"foundation", "landing", "runtime", "executions"},
    "analyst": {"foundation", "analyst"},
    "local": {"foundation", "landing", "runtime", "definition", "local"},
    "modes": {"foundation", "landing", "runtime", "definition", "executions", "analyst", "local", "modes"},
    "cli": {"foundation", "landing", "runtime", "definition", "executions", "analyst", "local", "modes", "cli"},
}
RUNTIME_MODULES = {
    "orchestrator",
    "orchestrator.aws",
    "orchestrator.landing",
    "orchestrator.landing.contract",
    "orchestrator.errors",
    "orchestrator.file_lock",
    "orchestrator.protocol",
    "orchestrator.runtime",
    "orchestrator.runtime.lambda_handler",
    "orchestrator.runtime.failure",
    "orchestrator.landing.gate",
    "orchestrator.landing.parquet_footer",
    "orchestrator.runtime.redshift_login",
    "orchestrator.runtime.run_record",
    "orchestrator.runtime.runner",
    "orchestrator.runtime.thread_locks",
    "orchestrator.settings",
    "orchestrator.window",
}


def layer(module: str) -> str:
    """The layer of `orchestrator.<module path>`."""
    parts = module.split(".")[1:]
    if not parts or parts[0] in {"__init__", "__main__"}:
        return "cli"
    if parts[0] in FOUNDATION:
        return "foundation"
    if parts[0] in ANALYST:
        return "analyst"
    return parts[0]


def imported(path: Path) -> set[str]:
    """The orchestrator modules a file imports (at any depth: lazy imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "orchestrator":
            found.update(
                f"{node.module}.{alias.name}" if node.module == "orchestrator" else node.module for alias in node.names
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "orchestrator")
    return found


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package's `__init__` under the package's own name)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        modules[".".join(("orchestrator", *(parts[:-1] if parts[-1] == "__init__" else parts)))] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Which modules each module imports, `from package import module` resolved to the module."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module in modules:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    graph[name].add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names if alias.name in modules)
        graph[name].discard(name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles: every strongly connected set of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            component.append(module)
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    """No import cycle, inside a layer or across (lazy imports count): the trigger and the deadline check, for one,
    do not import each other."""
    assert cycles(import_graph(package_modules())) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_imports_only_the_layers_below_it() -> None:
    modules = {
        ".".join(("orchestrator", *path.relative_to(PACKAGE).with_suffix("").parts)): path
        for path in PACKAGE.rglob("*.py")
    }
    assert {layer(name) for name in modules} == set(ALLOWED)
    breaches = [
        f"{name} ({layer(name)}) imports {target} ({layer(target)})"
        for name, path in sorted(modules.items())
        for target in sorted(imported(path))
        if layer(target) not in ALLOWED[layer(name)]
    ]
    assert breaches == []


def deployed_entry_modules() -> dict[str, str]:
    """Every module the template runs, by resource: the Lambda functions' handlers and the ECS container command."""
    entries: dict[str, str] = {}
    for name, resource in load_template()["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function":
            (handler,) = properties["ImageConfig"]["Command"]
            entries[name] = handler.rsplit(".", 1)[0]
        elif resource["Type"] == "AWS::ECS::TaskDefinition":
            for container in properties["ContainerDefinitions"]:
                entry_point = container["EntryPoint"]
                entries[f"{name}/{container['Name']}"] = entry_point[entry_point.index("-m") + 1]
    return entries


def loaded_modules(*modules: str) -> set[str]:
    """Every module a fresh interpreter holds after importing `modules` (what a cold start loads)."""
    code = (
        "import importlib, json, sys\n"
        f"for module in {modules!r}: importlib.import_module(module)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(json.loads(loaded))


def test_every_deployed_entry_point_lives_in_the_runtime_and_loads_only_the_runtime() -> None:
    entries = deployed_entry_modules()
    assert set(entries) == {"RunnerFunction", "DocsFunction", "TriggerFunction", "EcsTaskDefinition/dbt-runner"}
    misplaced = {name: module for name, module in entries.items() if layer(module) != "runtime"}
    assert misplaced == {}
    beyond = {
        module: sorted(
            m
            for m in loaded_modules(module)
            if m.split(".")[0] == "orchestrator" and layer(m) not in ALLOWED["runtime"] and m != "orchestrator"
        )
        for module in set(entries.values())
    }
    assert beyond == {module: [] for module in beyond}


def test_a_cold_start_on_redshift_loads_no_library_of_the_local_mode() -> None:
    """Every entry point the template names, then what a task imports to run dbt on Redshift (dbt's runner and the
    Redshift adapter, both lazy in the runner): none of DuckDB, pandas, pyarrow, numpy or another extra's library."""
    loaded = loaded_modules(*sorted(set(deployed_entry_modules().values())), "dbt.cli.main", "dbt.adapters.redshift")
    assert "dbt.adapters.redshift" in loaded
    assert sorted(m for m in loaded if m.split(".")[0] in NOT_IN_THE_IMAGE) == []


def test_the_lambda_handler_and_the_ecs_entry_load_only_the_task_runtime() -> None:
    code = (
        "import json, sys\n"
        "import orchestrator.runtime.lambda_handler, orchestrator.runtime.runner\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] == 'orchestrator')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert set(json.loads(loaded)) == RUNTIME_MODULES


def test_the_definition_selects_every_summary_field_and_starts_from_every_input_key() -> None:
    assert set(SUMMARY_KEYS) == {f.name for f in dataclasses.fields(TaskSummary)}
    assert set(SUMMARY_KEYS) >= TASK_SUMMARY_MARKERS
    request = ExecutionRequest(RefreshWindow(date(2002, 12, 30), date(2002, 12, 31)), nodes=("fct_store_sales",))
    assert set(json.loads(request.to_input())) == set(INPUT_KEYS)
    assert ExecutionRequest.from_input(request.to_input()) == request


def canonical(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_closure(requirements: list[str]) -> set[str]:
    """The distributions `requirements` install: themselves and what they require, as installed here (markers
    evaluated for this interpreter, extras followed where a requirement names them)."""
    found: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = canonical(requirement.name)
        if name in found:
            continue
        found.add(name)
        extras = ["", *sorted(requirement.extras)]
        for text in importlib.metadata.requires(name) or ():
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(needed)
    return found


BASE = requirement_closure(PYPROJECT["dependencies"])


def listed_in_extra(extra: str) -> set[str]:
    """The distributions pyproject.toml lists in `extra`, with those of the extras it includes."""
    listed: set[str] = set()
    for requirement in (Requirement(text) for text in PYPROJECT["optional-dependencies"][extra]):
        if canonical(requirement.name) == canonical(PYPROJECT["name"]):
            listed.update(*(listed_in_extra(included) for included in requirement.extras))
        else:
            listed.add(canonical(requirement.name))
    return listed


@functools.cache
def distributions_of(module: str) -> frozenset[str]:
    """The installed distributions that provide `module`; for a namespace shared by several (`dbt`), the ones that
    hold its file or folder."""
    top = module.split(".")[0]
    candidates = importlib.metadata.packages_distributions().get(top, [])
    if len(candidates) <= 1:
        return frozenset(canonical(name) for name in candidates)
    path = module.replace(".", "/")
    return frozenset(
        canonical(name)
        for name in candidates
        if any(
            str(file) == f"{path}.py" or str(file).startswith(f"{path}/")
            for file in importlib.metadata.files(name) or ()
        )
    )


def library_imports(path: Path) -> set[str]:
    """The modules outside the standard library and this package that a file imports when it runs, at any depth: not
    those under `if TYPE_CHECKING:` (type checking only) nor in a `try` that handles ImportError (optional)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            children: list[ast.AST] = list(node.orelse)
        elif isinstance(node, ast.Try) and any(
            isinstance(handler.type, ast.Name) and handler.type.id in {"ImportError", "ModuleNotFoundError"}
            for handler in node.handlers
        ):
            children = [*node.handlers, *node.orelse, *node.finalbody]
        else:
            children = list(ast.iter_child_nodes(node))
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
        for child in children:
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m.split(".")[0] not in {*sys.stdlib_module_names, "__future__", "orchestrator"}}


def test_the_runtime_imports_only_the_main_dependencies() -> None:
    """What the image installs (`pip install .`) is all the runtime and the foundation import, lazy imports included:
    a library of an extra there would fail on AWS only, at the first task that reaches it."""
    assert {"dbt-core", "dbt-redshift", "boto3"} <= BASE and not BASE & {"duckdb", "pandas", "pyarrow", "numpy"}
    outside = {
        f"{name}: {module}": sorted(distributions_of(module))
        for name, path in sorted(package_modules().items())
        if layer(name) in ALLOWED["runtime"]
        for module in sorted(library_imports(path))
        if not distributions_of(module) & BASE
    }
    assert outside == {}


def test_every_other_library_belongs_to_the_extra_named_when_it_is_missing() -> None:
    """Every library the package imports is a main dependency or a module of `EXTRA_OF_MODULE`, whose extra in
    pyproject.toml installs it (so the one line of a command run without it names the right extra), or the local
    target's dbt adapter, which only that adapter's own plugin loading imports (orchestrator/local/duckdb_functions.py),
    and whose absence `require_target_adapter` names."""
    unnamed = {
        f"{name}: {module}"
        for name, path in package_modules().items()
        for module in library_imports(path)
        if not distributions_of(module) & BASE
        and module.split(".")[0] not in EXTRA_OF_MODULE
        and not f"{module}.".startswith(f"{LOCAL_TARGET_ADAPTER}.")
    }
    assert unnamed == set()
    wrong = {
        module: extra
        for module, extra in EXTRA_OF_MODULE.items()
        if not distributions_of(module) <= listed_in_extra(extra) or distributions_of(module) & BASE
    }
    assert wrong == {}


def readme_layers() -> dict[str, tuple[set[str], set[str]]]:
    """The README's layer table: each layer's modules (`orchestrator/x/` is the layer x itself) and what it may
    import ("everything": every layer)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| (`orchestrator/[^|]*) \| [^\n]* \| ([^|]+) \|$", readme, flags=re.MULTILINE)
    layers = {}
    for name, where, may in rows:
        folder, *modules = re.findall(r"`([^`]+)`", where)
        named = set(modules) if folder == "orchestrator/" else {folder.removeprefix("orchestrator/").rstrip("/")}
        allowed = set(ALLOWED) if may.strip() == "everything" else {item.strip() for item in may.split(",")}
        layers[name] = (named, {item.removeprefix("the ") for item in allowed} | {name})
    return layers


def test_the_readmes_layer_table_is_the_one_held_here() -> None:
    expected = {
        name: (
            FOUNDATION if name == "foundation" else ANALYST if name == "analyst" else {name},
            ALLOWED[name],
        )
        for name in ALLOWED
    }
    assert readme_layers() == expected
