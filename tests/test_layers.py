"""The floors of the house (README, "Layout"): every import in the package points down or sideways, never up,
and no module-level imports form a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from latentebm import paths

PACKAGE = paths.repository_root() / "lib" / "latentebm"
FLOORS = {
    "runtime": 0, "paths": 0, "ops": 0, "guards": 0, "checkfile": 0,
    "data": 1, "models": 1, "samplers": 1, "divergences": 1, "metrics": 1, "plotting": 1, "particles": 1,
    "training": 2,
    "experiments": 3,
    "catalogue": 4, "parameters": 4, "reporting": 4,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    if top not in FLOORS:
        raise KeyError(f"{module} is on no floor: add its top-level name to FLOORS (and the README's layout)")
    return FLOORS[top]


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The latentebm modules ``path`` imports (``from latentebm.x import y`` counts as latentebm.x and, when
    it is a module, latentebm.x.y)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("latentebm")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("latentebm"):
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").is_file() or \
                        (PACKAGE.parent / candidate.replace(".", "/") / "__init__.py").is_file():
                    found.add(candidate)
    return {name for name in found if name != "latentebm"}


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_point_down(path):
    here = module_name(path)
    if here == "latentebm":
        return
    upward = sorted(name for name in imports(path) if floor(name) > floor(here))
    assert not upward, f"{here} (floor {floor(here)}) imports {upward} from a higher floor"


def test_no_module_level_import_cycle():
    graph = {module_name(p): imports(p, top_level_only=True) for p in SOURCES}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt in graph and state.get(nxt) is None:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if state.get(module) is None:
            visit(module, [module])


def test_the_floor_rule_can_fail(tmp_path):
    """An upward import, even one inside a function, is seen and placed on its floor."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from latentebm.training.gebm import train_gebm\n    return train_gebm\n")
    found = imports(probe)
    assert "latentebm.training.gebm" in found
    assert max(floor(name) for name in found) > floor("latentebm.models.store")
