"""The package as a whole: its public names, its version, and modules that
import one another one way only."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

import sklearn_factorembed

PACKAGE = Path(sklearn_factorembed.__file__).parent


def test_public_names_are_importable():
    for name in sklearn_factorembed.__all__:
        assert getattr(sklearn_factorembed, name) is not None
    assert "clear_caches" in sklearn_factorembed.__all__


def test_version_comes_from_the_package_metadata():
    assert sklearn_factorembed.__version__ == importlib.metadata.version(
        "sklearn-factorembed"
    )


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_of(path: Path) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in the file
    (inside functions too)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            target = (
                (f"{base}.{node.module}" if node.level and node.module else base)
                if node.level
                else node.module
            )
            imported.add(target)
            # "from . import x" may import a module x.
            imported.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return imported


def _import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        module: {name for name in _imports_of(path) if name in paths} - {module}
        for module, path in paths.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting, done = [], set()

    def visit(module):
        if module in visiting:
            return visiting[visiting.index(module) :] + [module]
        if module in done:
            return None
        visiting.append(module)
        for imported in sorted(graph[module]):
            if found := visit(imported):
                return found
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if found := visit(module):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_one_that_imports_it_back():
    graph = _import_graph()
    assert "sklearn_factorembed._embedding" in graph["sklearn_factorembed._dask"]
    assert _cycle(graph) is None
