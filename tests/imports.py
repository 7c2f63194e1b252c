"""Which modules of the project import which, read from the sources (imports inside functions too)."""

import ast
from pathlib import Path

import kopilka

SOURCES = Path(kopilka.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCES.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str = "kopilka") -> list[str]:
    """Every module of `package` and its sub-packages, migrations included."""
    root = SOURCES.parent.joinpath(*package.split("."))
    return sorted(module_name(path) for path in root.rglob("*.py"))


def imported_by(module: str) -> set[str]:
    """The absolute names `module` imports (`from a.b import c` gives a.b and a.b.c)."""
    path = SOURCES.parent.joinpath(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def app_of(name: str) -> str | None:
    """The project's top-level package a module name belongs to ("kopilka.ledger.tasks" → "ledger")."""
    parts = name.split(".")
    return parts[1] if parts[0] == "kopilka" and len(parts) > 1 else None


def circles(package: str) -> list[list[str]]:
    """The import circles among the modules of `package` (see `circles_in`)."""
    names = set(modules(package))
    graph = {name: sorted(n for n in imported_by(name) if n in names and n != name) for name in names}
    return circles_in(graph)


def circles_in(graph: dict[str, list[str]]) -> list[list[str]]:
    """Groups of nodes that reach each other through `graph` (node → the nodes it imports), each sorted: the
    strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in graph.get(name, []):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == name:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(found)
