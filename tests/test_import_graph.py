"""The layers hold: no import cycle in app/ and graphs/ (imports inside functions included), and graphs/
never reaches a store, a worker, the platform, the API, Flask, Redis or Qdrant, not even through the app
modules it is allowed to use."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "graphs")
FORBIDDEN_FOR_GRAPHS = ("app.storage", "app.platform", "app.api", "app.workers", "app.channels", "flask", "redis",
                        "qdrant_client")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module `path` imports anywhere in its body: ours resolved to the submodule, others by name."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in modules else base)
    out.discard("__future__")
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: imports_of(path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v] & graph.keys():
            if w not in index:
                visit(w)
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
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN_FOR_GRAPHS)


def test_no_import_cycles_in_app_and_graphs():
    assert _cycles(_graph()) == []


def test_graphs_reach_no_store_worker_platform_api_flask_redis_or_qdrant():
    graph = _graph()
    offenders = []
    for start in (m for m in graph if m.split(".")[0] == "graphs"):
        seen, todo = {start}, [start]
        while todo:                         # everything the graph module loads, through our own modules too
            mod = todo.pop()
            for dep in graph.get(mod, ()):
                if _forbidden(dep):
                    offenders.append(f"{start} -> ... {mod} -> {dep}")
                elif dep in graph and dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
    assert offenders == []


def test_the_checks_see_a_cycle_and_a_forbidden_import():
    """The checks themselves can fail: a made-up graph with a cycle and a graph module importing redis."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _forbidden("redis.client") and _forbidden("app.storage.redis_store") and not _forbidden("app.knowledge")
    modules = _modules()
    assert "app.knowledge.rerank" in imports_of(ROOT / "graphs" / "llm.py", modules)
    assert "langchain_core.messages" in imports_of(ROOT / "graphs" / "llm.py", modules)
