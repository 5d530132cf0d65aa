"""The import layering of headstart: every import (at module level or inside a function)
goes to the same layer or a lower one, and no module imports itself back through others.

The layers, low to high (docs/ARCHITECTURE.md draws them):

    base        errors, io, progress, registry, options, stats, hub, runtime, pooling
    data        data/
    backbones   backbones/
    features    features, metrics
    train       train/ (the one loop, its job builder, the gradient-reversal layer)
    heads       strategies/, heads
    methods     imbalance/, fairness/, adapt/, select/, fewshot/, zeroshot/, meta/, rl/, distill/ losses,
                pretrain/, runfolder
    estimator   classifier, fitting
    apps        what builds on a fitted classifier: distill.run, select.compare, fewshot.classifier,
                fairness.run / transfer, export/, report/, demo
    cli         cli/, the package's lazy public API

A module's layer is its longest matching prefix in LAYERS. A family's ``__init__`` is its
public facade: where it re-exports something of a higher layer (``headstart.distill``
re-exports ``distill()``, which builds a classifier), FACADES puts the facade itself
there, so a lower module must import the submodule it needs, not the facade.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "headstart"

ORDER = ["base", "data", "backbones", "features", "train", "heads", "methods", "estimator", "apps", "cli"]
LAYERS = {
    "headstart.errors": "base",
    "headstart.io": "base",
    "headstart.progress": "base",
    "headstart.registry": "base",
    "headstart.options": "base",
    "headstart.stats": "base",
    "headstart.hub": "base",
    "headstart.runtime": "base",
    "headstart.pooling": "base",
    "headstart.data": "data",
    "headstart.backbones": "backbones",
    "headstart.features": "features",
    "headstart.metrics": "features",
    "headstart.train": "train",
    "headstart.strategies": "heads",
    "headstart.heads": "heads",
    "headstart.recipe": "heads",
    "headstart.imbalance": "methods",
    "headstart.fairness": "methods",
    "headstart.adapt": "methods",
    "headstart.select": "methods",
    "headstart.fewshot": "methods",
    "headstart.zeroshot": "methods",
    "headstart.distill": "methods",
    "headstart.meta": "methods",
    "headstart.rl": "methods",
    "headstart.multitask": "methods",
    "headstart.pretrain": "methods",
    "headstart.runfolder": "methods",
    "headstart.classifier": "estimator",
    "headstart.fitting": "estimator",
    "headstart.fit_targets": "estimator",
    "headstart.distill.run": "apps",
    "headstart.select.compare": "apps",
    "headstart.export": "apps",
    "headstart.report": "apps",
    "headstart.demo": "apps",
    "headstart.pipeline": "apps",
    "headstart.cli": "cli",
    "headstart.__main__": "cli",
    "headstart": "cli",  # the package itself: the public API, imported lazily
}

FACADES = {"headstart.distill": "apps", "headstart.select": "apps"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    name = ".".join(parts)
    return name.removesuffix(".__init__")


def layer(module: str) -> str:
    if module in FACADES:
        return FACADES[module]
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in LAYERS:
            return LAYERS[key]
    raise AssertionError(f"module {module} has no layer: add it to LAYERS in tests/test_import_layers.py")


def is_module(name: str) -> bool:
    path = SRC.parent / Path(*name.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def imports(path: Path) -> list[tuple[str, int]]:
    """The headstart modules ``path`` imports, anywhere in the file, with the line."""
    out = []
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: from the package, node.level - 1 levels up
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base == "headstart" or base.startswith("headstart."):
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    out.append((sub if is_module(sub) else base, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "headstart"]
    return out


FILES = sorted(SRC.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in FILES:
        layer(module_name(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_runs_up(path):
    here = module_name(path)
    mine = ORDER.index(layer(here))
    up = [
        f"{path.relative_to(SRC)}:{line} imports {target} ({layer(target)} is above {layer(here)})"
        for target, line in imports(path)
        if ORDER.index(layer(target)) > mine
    ]
    assert not up, "\n".join(up)


def test_no_import_cycle_between_modules():
    """Module-level imports only (what runs at import time); a cycle makes import order matter."""
    graph: dict[str, set[str]] = {}
    for path in FILES:
        here = module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        for node in tree.body:  # top level only, not inside functions or TYPE_CHECKING blocks
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("headstart"):
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.add(sub if is_module(sub) else node.module)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("headstart")}
        graph[here] = {t for t in targets if t != here}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
