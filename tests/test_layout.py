"""The layout's promises (README, "Where things live"): no two modules import each other,
directly or round a longer loop, and dependencies run one way — models at the bottom,
services and selectors above them, views and tasks on top. Read from the source with
ast, function-level imports included, so a lazy import cannot hide a cycle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("accounts", "alliance", "api", "audit", "clients", "clinic", "config", "sessions", "webhooks")


def _module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def _imports(name, path, known):
    """The project modules `name` imports (a `from pkg import mod` counts as pkg.mod)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
            if len(component) > 1:
                result.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return result


def _kind(module):
    leaf = module.rpartition(".")[2]
    if leaf == "models":
        return 0
    if leaf in {"services", "selectors", "rules", "outbox", "invitations", "emails", "text"}:
        return 1
    if leaf in {"views", "dev_views", "exports", "tasks", "urls", "dev_urls"}:
        return 2
    return None


def test_it_has_no_import_cycles():
    assert _cycles(_graph()) == []


def test_it_imports_downwards_only():
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _kind(module) is not None and _kind(target) is not None and _kind(target) > _kind(module)
    ]
    assert upward == []


def test_it_keeps_a_test_folder_for_each_capability():
    for folder in ("alliance/checkins", "alliance/flags", "clinic/dashboards", "clinic/staff", "clinic/settings", "clinic/rights", "webhooks"):
        assert (ROOT / folder).is_dir() and list((ROOT / "tests" / folder).glob("test_*.py")), folder
