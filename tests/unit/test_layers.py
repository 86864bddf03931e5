"""The layers inside server/: each package imports only the layers below it, and no module
takes part in an import cycle, counting imports made inside functions too.

    app                                  settings read, objects built and wired, the CLI
    api  pages  realtime  jobs           entry points: parse, authorise, call, respond
    edge                                 what the HTTP entry points share
    services                             the use cases
    store                                models, database, migrations, queries
    core                                 clock, settings, crypto, translations, logging
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"
RANK = {
    "app": 5,
    "api": 4,
    "pages": 4,
    "realtime": 4,
    "jobs": 4,
    "edge": 3,
    "services": 2,
    "store": 1,
    "core": 0,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SERVER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SERVER.rglob("*.py"))}


def _server_imports(path: Path, known: set[str]) -> set[str]:
    """Every server module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from server.x import y`` names module server.x.y when y is a module.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name.startswith("server."):
                found.add(name)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _server_imports(path, known) - {name} for name, path in modules.items()}


def test_every_server_module_lives_in_a_layer() -> None:
    loose = [m for m in _modules() if m not in ("server", "server.__main__") and not _layer(m)]
    assert loose == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    problems = []
    for module, imports in _graph().items():
        here = _layer(module)
        if here is None:
            continue
        for target in imports:
            there = _layer(target)
            if there is None or there == here:
                continue
            if RANK[there] >= RANK[here]:
                problems.append(f"{module} ({here}) imports {target} ({there})")
    assert sorted(problems) == []


def test_no_import_cycles_inside_server() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_checks_see_a_cycle_and_an_upward_import(tmp_path: Path) -> None:
    # The graph builder finds function-level imports and resolves ``from x import module``.
    (tmp_path / "a.py").write_text("def f():\n    from server.services import b\n")
    found = _server_imports(tmp_path / "a.py", {"server.services", "server.services.b"})
    assert found == {"server.services.b", "server.services"}
    assert _layer("server.services.b") == "services" and _layer("server.app") == "app"
