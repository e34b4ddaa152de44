"""Execute every tutorial notebook and check the committed copy is executed too.

Each notebook runs in a fresh python3 kernel of the interpreter running the tests,
with ``notebooks/`` as working directory, importing the same package as the
tests. The committed file must be the executed one: readers see its outputs on
GitHub without running anything. Deselect these tests with ``-m "not notebooks"``
(with ``-m "not notebooks and not docs"``, the fast loop).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

import sklearn_factorembed

pytestmark = pytest.mark.notebooks

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds; a whole notebook is meant to take under 60
MAX_FILE_BYTES = 300_000
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _absolute_search_path(value: str) -> str:
    return os.pathsep.join(
        str(Path(entry).resolve()) for entry in value.split(os.pathsep) if entry
    )


def kernel_environment() -> dict[str, str]:
    """The test process' environment, made valid for a kernel in ``notebooks/``.

    Relative paths (CI sets ``FACTOREMBED_DATA=../shared/data`` from the
    repository root) are resolved here, before the kernel changes directory.
    """
    environment = dict(os.environ)
    if environment.get("FACTOREMBED_DATA"):
        environment["FACTOREMBED_DATA"] = str(
            Path(environment["FACTOREMBED_DATA"]).resolve()
        )
    package_root = str(Path(sklearn_factorembed.__file__).resolve().parents[1])
    environment["PYTHONPATH"] = _absolute_search_path(
        os.pathsep.join([package_root, environment.get("PYTHONPATH", "")])
    )
    # Figures as PNG outputs whatever backend the calling shell asks for.
    environment["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    # BLAS threads are left as a reader's kernel has them: the library runs its
    # small products on one thread itself (_factorize.single_threaded_blas).
    # The one warning the kernel may ignore, as setup.cfg ignores it in the
    # tests: OpenBLAS now and then sets the floating-point 'invalid' flag inside
    # a product of finite matrices (numpy issue 24067).
    environment["PYTHONWARNINGS"] = (
        "ignore:invalid value encountered in matmul:RuntimeWarning:"
        "sklearn.linear_model._linear_loss"
    )
    return environment


def execute_notebook(path: Path) -> nbformat.NotebookNode:
    """Run a notebook top to bottom; raise ``CellExecutionError`` on a failing cell."""
    notebook = nbformat.read(path, as_version=4)
    # No kernel directories: "python3" resolves to ipykernel's own spec, which
    # launches the current interpreter, not whatever a user has installed.
    kernel_manager = AsyncKernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[])
    )
    client = NotebookClient(
        notebook,
        km=kernel_manager,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    # The client shuts down only kernels it started itself unless told to.
    client.execute(env=kernel_environment(), cleanup_kc=True)
    return notebook


def code_cells(notebook: nbformat.NotebookNode) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def output_kinds(cell) -> list[tuple[str, ...]]:
    """The kinds of output of a cell: type and, for rich outputs, MIME types.

    Distinct kinds, not a list of outputs: how a kernel splits printed text into
    stream messages depends on timing.
    """
    return sorted(
        {
            (output.output_type, *sorted(output.get("data", {})))
            for output in cell.outputs
        }
    )


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=lambda path: path.name)
def notebook_runs(request):
    """The committed notebook and a freshly executed copy of it."""
    committed = nbformat.read(request.param, as_version=4)
    return request.param, committed, execute_notebook(request.param)


def test_notebook_runs_without_warnings(notebook_runs):
    # A failing cell already raised in execute_notebook; warnings go to stderr.
    _, _, executed = notebook_runs
    stderr = [
        output.text
        for cell in code_cells(executed)
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
    ]
    assert stderr == []


def test_notebook_draws_a_figure(notebook_runs):
    _, _, executed = notebook_runs
    assert any(
        "image/png" in output.get("data", {})
        for cell in code_cells(executed)
        for output in cell.outputs
    )


def test_committed_notebook_is_executed_top_to_bottom(notebook_runs):
    _, committed, executed = notebook_runs
    nbformat.validate(committed)
    cells = code_cells(committed)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    assert [output_kinds(cell) for cell in cells] == [
        output_kinds(cell) for cell in code_cells(executed)
    ]


def test_committed_notebook_is_small(notebook_runs):
    path, _, _ = notebook_runs
    assert path.stat().st_size < MAX_FILE_BYTES


def test_kernel_environment_makes_relative_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACTOREMBED_DATA", "../shared/data")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["src", "/opt/lib"]))
    environment = kernel_environment()
    here = tmp_path.resolve()
    assert environment["FACTOREMBED_DATA"] == str(here.parent / "shared" / "data")
    # The package under test comes first, then the caller's entries, absolute.
    assert environment["PYTHONPATH"].split(os.pathsep) == [
        str(Path(sklearn_factorembed.__file__).resolve().parents[1]),
        str(here / "src"),
        "/opt/lib",
    ]


def test_kernel_environment_leaves_blas_threads_as_they_are(monkeypatch):
    for variable in BLAS_THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    environment = kernel_environment()
    assert not set(BLAS_THREAD_VARIABLES) & set(environment)
