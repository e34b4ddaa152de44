"""Build the documentation as a reader gets it and check what it shows.

``sphinx-build -W`` runs in a subprocess, as on the command line, writing into a
temporary folder; any warning fails the build. It renders the committed outputs
of the notebooks (it executes nothing; ``test_notebooks.py`` does) and fetches
nothing. Deselect these tests with ``-m "not docs"``.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import sklearn_factorembed
import sklearn_factorembed.datasets
from sklearn_factorembed import FactorizedEmbedding

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
BUILD_TIMEOUT = 600  # seconds; the build takes well under a minute
CLASS_PAGE = Path("generated", "sklearn_factorembed.FactorizedEmbedding.html")


def page_text(path: Path) -> str:
    """The text of an HTML page as a reader sees it: no tags, no entities."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The HTML documentation, built once for the module."""
    build = tmp_path_factory.mktemp("docs")
    command = [
        sys.executable,
        "-m",
        "sphinx",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "-d",
        str(build / "doctrees"),
        str(DOCS),
        str(build / "html"),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stderr}"
    return build / "html"


def test_docs_build_without_warnings(site):
    assert (site / "index.html").is_file()


def test_api_page_documents_every_parameter_of_factorized_embedding(site):
    source = (site / CLASS_PAGE).read_text(encoding="utf-8")
    for name in FactorizedEmbedding().get_params():
        assert f"<strong>{name}</strong>" in source, name


def test_api_page_shows_fitted_attribute_names_as_written(site):
    # Shapes such as "(n_words, rank_)" are plain text in the docstrings.
    text = page_text(site / CLASS_PAGE)
    assert "ndarray of shape (n_words, rank_)" in text
    assert "\\_" not in text


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_page_shows_committed_outputs(site, notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    printed = [
        line.strip()
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
        for line in output.text.splitlines()
        if line.strip()
    ]
    n_figures = sum(
        "image/png" in output.get("data", {})
        for cell in cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    page = site / "notebooks" / f"{notebook.stem}.html"
    text = page_text(page)
    assert printed[0] in text
    assert printed[-1] in text
    images = re.findall(r'<img [^>]*src="([^"]+\.png)"', page.read_text("utf-8"))
    assert len(images) == n_figures
    assert all((page.parent / src).is_file() for src in images)


@pytest.mark.parametrize(
    "module, name",
    [
        (module.__name__, name)
        for module in (sklearn_factorembed, sklearn_factorembed.datasets)
        for name in module.__all__
    ],
)
def test_api_reference_lists_every_public_name(module, name):
    # A name added to __all__ gets its page by a line in docs/api.rst.
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    section = api.split(f".. currentmodule:: {module}\n", 1)[1]
    section = section.split(".. currentmodule::", 1)[0]
    assert re.search(rf"^   {name}$", section, flags=re.MULTILINE), (
        f"{module}.{name} is public but not listed in docs/api.rst"
    )
