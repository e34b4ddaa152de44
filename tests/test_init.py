"""The package as a whole: its public names, its version, and modules that
import one another one way only."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_factorembed

PACKAGE = Path(sklearn_factorembed.__file__).parent
# Libraries that take most of a second to import, loaded only when used.
HEAVY = {"gensim", "sklearn", "scipy", "pandas", "pyarrow"}


def test_public_names_are_importable():
    for name in sklearn_factorembed.__all__:
        assert getattr(sklearn_factorembed, name) is not None
    assert "clear_caches" in sklearn_factorembed.__all__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'FactorisedEmbedding'"):
        sklearn_factorembed.FactorisedEmbedding  # noqa: B018


def test_type_checkers_see_each_public_name_where_it_is_imported_from():
    """The ``if TYPE_CHECKING:`` imports of ``__init__`` name the modules that
    ``__getattr__`` imports at run time."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    [checked] = [node for node in tree.body if isinstance(node, ast.If)]
    imported = {
        alias.name: f".{node.module}" for node in checked.body for alias in node.names
    }
    assert imported == sklearn_factorembed._MODULES
    assert sorted(imported) == sklearn_factorembed.__all__


def _python(*args: str) -> subprocess.CompletedProcess:
    """Run a fresh interpreter, which imports the package under test."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
    )


def test_dir_lists_the_public_names_before_they_are_imported():
    result = _python(
        "-c", "import sklearn_factorembed; print(*dir(sklearn_factorembed))"
    )
    assert set(sklearn_factorembed.__all__) <= set(result.stdout.split())


def _imported_by(*args: str) -> set[str]:
    """The top-level packages a fresh interpreter imports to run ``args``."""
    lines = _python("-X", "importtime", *args).stderr.splitlines()
    names = [line.rpartition("|")[2].strip() for line in lines]
    return {name.partition(".")[0] for name in names}


def test_importing_the_package_loads_no_heavy_library():
    imported = _imported_by("-c", "import sklearn_factorembed")
    assert "sklearn_factorembed" in imported
    assert imported & HEAVY == set()


def test_importing_the_estimator_leaves_gensim_out():
    imported = _imported_by("-c", "from sklearn_factorembed import FactorizedEmbedding")
    assert "sklearn" in imported
    assert "gensim" not in imported


def test_the_command_line_help_loads_no_heavy_library():
    imported = _imported_by("-m", "sklearn_factorembed.cli", "--help")
    assert "argparse" in imported
    assert imported & HEAVY == set()


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
