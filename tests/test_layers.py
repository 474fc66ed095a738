"""The package's layers import downward only (read from the source with ``ast``; nothing is imported).

A module may import modules of its own layer and of the layers below it, never above; the
import graph has no cycle; and no function imports a ``nas_core`` module (an import inside a
function is how a cycle hides: it never fails at import time). A new module gets a row here.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nas_core"

# Bottom first. Within a layer imports are allowed as long as they form no cycle.
LAYERS = [
    ("settings", ["nas_core", "nas_core.settings", "nas_core.errors"]),
    ("facts", ["nas_core.paper", "nas_core.metrics", "nas_core.verdicts"]),
    ("data and storage", ["nas_core.data", "nas_core.store", "nas_core.parallel"]),
    ("spaces", ["nas_core.spaces.config", "nas_core.spaces", "nas_core.spaces.base", "nas_core.spaces.ops",
                "nas_core.spaces.nb101", "nas_core.spaces.nb201", "nas_core.spaces.darts_cnn", "nas_core.spaces.darts_rnn",
                "nas_core.spaces.proxyless", "nas_core.spaces.gold", "nas_core.sampling",
                "nas_core.profiles"]),
    ("training", ["nas_core.evaluation", "nas_core.training", "nas_core.estimators"]),
    ("ground truth", ["nas_core.groundtruth", "nas_core.nasbench101_records"]),
    ("study", ["nas_core.study", "nas_core.pruning", "nas_core.checkpoints", "nas_core.regime", "nas_core.bench",
               "nas_core.estimator_tables"]),
    ("analysis", ["nas_core.analysis", "nas_core.bias", "nas_core.tricks", "nas_core.coverage",
                  "nas_core.estimator_study"]),
    ("report", ["nas_core.plots", "nas_core.estimator_plots"]),
    ("chapters", ["nas_core.chapters", "nas_core.tutorial", "nas_core.parameters", "nas_core.rehearsal"]),
    ("entry points", ["nas_core.bookgen", "nas_core.cli"]),
]
LAYER_OF = {m: i for i, (_, mods) in enumerate(LAYERS) for m in mods}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[str, int, str | None, str]]:
    """``(imported nas_core module, line, enclosing function or None, source text)`` of every import."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []

    def targets(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names if a.name.split(".")[0] == "nas_core"]
        if node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        if module.split(".")[0] != "nas_core":
            return []
        # `from . import x` names a module when nas_core/x.py exists, else an attribute of the package
        return [f"{module}.{a.name}" if f"{module}.{a.name}" in MODULES else module for a in node.names]

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in dict.fromkeys(targets(child)):
                    if target != name:
                        out.append((target, child.lineno, function, ast.unparse(child)))
            visit(child, function)

    visit(tree, None)
    return out


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _where(name: str, line: int) -> str:
    return f"{MODULES[name].relative_to(PACKAGE.parent)}:{line}"


def test_every_module_has_a_layer():
    missing = sorted(set(MODULES) - set(LAYER_OF))
    if missing:
        pytest.fail(f"modules without a layer (add each to LAYERS in tests/test_layers.py): {', '.join(missing)}")
    gone = sorted(set(LAYER_OF) - set(MODULES))
    if gone:
        pytest.fail(f"LAYERS names modules that do not exist: {', '.join(gone)}")


def test_imports_go_down_the_layers():
    wrong = []
    for name, imports in IMPORTS.items():
        for target, line, _, text in imports:
            if target in LAYER_OF and name in LAYER_OF and LAYER_OF[target] > LAYER_OF[name]:
                wrong.append(f"{_where(name, line)} `{text}`: layer '{LAYERS[LAYER_OF[name]][0]}' imports "
                             f"{target} of the higher layer '{LAYERS[LAYER_OF[target]][0]}'")
    if wrong:
        pytest.fail("imports that go up the layers:\n" + "\n".join(wrong))


def test_no_function_imports_a_nas_core_module():
    inside = [f"{_where(name, line)} `{text}` inside {function}(): import it at the top of the module"
              for name, imports in IMPORTS.items() for _, line, function, text in imports if function]
    if inside:
        pytest.fail("imports of nas_core modules inside functions (they hide cycles):\n"
                    + "\n".join(dict.fromkeys(inside)))


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def connect(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges.get(v, ()):
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def test_the_import_graph_has_no_cycle():
    edges = {name: {t for t, *_ in imports if t in MODULES} for name, imports in IMPORTS.items()}
    cycles = _cycles(edges)
    lines = []
    for component in cycles:
        members = set(component)
        lines.append("cycle among " + ", ".join(component) + ":")
        lines += dict.fromkeys(f"  {_where(name, line)} `{text}`" for name in component
                               for target, line, _, text in IMPORTS[name] if target in members)
    if cycles:
        pytest.fail("\n".join(lines))


@pytest.mark.parametrize("edges, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"a"}}, [["a"]]),
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert _cycles(edges) == expected
