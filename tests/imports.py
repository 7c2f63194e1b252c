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
