"""Sphinx configuration for the sklearn-factorembed documentation.

The build is offline and executes nothing: no intersphinx inventories are
fetched and the tutorial notebooks are rendered with the outputs they were
committed with (``tests/test_notebooks.py`` executes them).
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes

import sklearn_factorembed

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "sklearn-factorembed"
author = "The sklearn-factorembed developers"
copyright = "the sklearn-factorembed developers"
release = sklearn_factorembed.__version__
version = release

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
]
templates_path = ["_templates"]
# _readme holds the README sections the pages include; they are not pages.
exclude_patterns = ["_build", "_readme", "**.ipynb_checkpoints"]

# API reference: one page per public object, from its numpydoc docstring.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"  # the numpydoc sections already give the types
numpydoc_show_class_members = False  # autodoc lists the members once
numpydoc_class_members_toctree = False

# Notebooks: rendered, never executed, with the outputs committed in notebooks/.
nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath"]  # $math$ in markdown cells, as in Jupyter
myst_heading_anchors = 2

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-factorembed {release}"
html_theme_options = {
    "github_url": "https://github.com/sklearn-factorembed/sklearn-factorembed",
    "navigation_with_keys": False,
}
html_show_sourcelink = False
# Single pages: no empty section navigation on their left.
html_sidebars = {
    page: []
    for page in (
        "index",
        "install",
        "quickstart",
        "user_guide",
        "benchmarks",
        "changelog",
    )
}


def _sync(folder: Path, files: dict[str, bytes], pattern: str) -> None:
    """Make ``folder``'s files matching ``pattern`` exactly ``files``.

    Files whose bytes are unchanged are not rewritten, so that incremental
    builds skip the pages built from them.
    """
    folder.mkdir(exist_ok=True)
    for stale in folder.glob(pattern):
        if stale.name not in files:
            stale.unlink()
    for name, content in files.items():
        path = folder / name
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)


def copy_notebooks(app) -> None:
    """Copy ``notebooks/*.ipynb`` into ``docs/notebooks/``, inside the source folder.

    Sphinx reads documents only under its source folder, and symlinks do not
    work on every platform; the copies are build products (ignored by git).
    """
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    _sync(
        DOCS / "notebooks",
        {path.name: path.read_bytes() for path in notebooks},
        "*.ipynb",
    )


def split_readme(app) -> None:
    """Write each ``## `` section of README.md to ``docs/_readme/<slug>.md``.

    The pages include README's sections by title rather than by line numbers
    or by the headings around them: the figures shown are always README's, a
    section added to README cannot leak into another page, and a page naming a
    section README no longer has fails the build. ``intro.md`` is the text
    before the first section, without the title.
    """
    sections = {"intro": []}
    lines = sections["intro"]
    in_code = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[1:]:
        in_code ^= line.startswith("```")
        if line.startswith("## ") and not in_code:
            lines = sections.setdefault(line[3:].strip(), [])
        else:
            lines.append(line)
    _sync(
        DOCS / "_readme",
        {
            re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".md": (
                "\n".join(body).strip() + "\n"
            ).encode()
            for title, body in sections.items()
        },
        "*.md",
    )


# Inline literals and interpreted text, which may run over several lines.
_LITERAL_OR_ROLE = re.compile(r"(``.+?``|`[^`]*`)", flags=re.DOTALL)
# A name ending in an underscore, such as rank_, followed by no word character.
_FITTED_NAME = re.compile(r"\b([A-Za-z]\w*)_(?!\w)")


def _escape_fitted_names_in_prose(text: str) -> str:
    parts = _LITERAL_OR_ROLE.split(text)
    parts[::2] = [_FITTED_NAME.sub(r"\1\\_", part) for part in parts[::2]]
    return "".join(parts)


def escape_fitted_names(app, what, name, obj, options, lines) -> None:
    """Escape the underscore of fitted-attribute names written as plain text.

    Docstrings give shapes such as ``ndarray of shape (n_words, rank_)`` in
    plain text, where reStructuredText reads ``rank_`` as a link to a target
    named "rank". Runs after numpydoc, on its reStructuredText; leaves literal
    and doctest blocks, inline literals and roles alone.
    """
    prose = []  # (first line, last line + 1) of each run of prose lines
    block_indent = None  # the indent of the "::" line opening a literal block
    in_doctest = False  # from a ">>>" line to the next blank line
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if block_indent is not None and stripped and indent <= block_indent:
            block_indent = None
        in_doctest = stripped.startswith(">>>") or (in_doctest and bool(stripped))
        is_prose = block_indent is None and not in_doctest
        if is_prose and prose and prose[-1][1] == index:
            prose[-1][1] = index + 1
        elif is_prose:
            prose.append([index, index + 1])
        if block_indent is None and stripped.endswith("::"):
            block_indent = indent
    for start, stop in prose:
        text = _escape_fitted_names_in_prose("\n".join(lines[start:stop]))
        lines[start:stop] = text.split("\n")


def link_scikit_learn_labels(app, env, node, contnode):
    """Resolve the ``:ref:`` labels of docstrings inherited from scikit-learn.

    Methods such as ``set_output`` come with scikit-learn's docstrings, whose
    ``:ref:`` labels live in scikit-learn's documentation. Without intersphinx
    (the build is offline), point them at a search of that site.
    """
    if node.get("reftype") != "ref" or "docstring of sklearn." not in (
        node.source or ""
    ):
        return None
    text = contnode.astext() if node.get("refexplicit") else "scikit-learn's docs"
    query = node["reftarget"]
    return nodes.reference(
        "",
        f"{text} (scikit-learn)" if node.get("refexplicit") else text,
        refuri=f"https://scikit-learn.org/stable/search.html?q={query}",
        internal=False,
    )


def setup(app) -> None:
    app.connect("builder-inited", copy_notebooks)
    app.connect("builder-inited", split_readme)
    # After numpydoc (priority 500), which turns the sections into reST.
    app.connect("autodoc-process-docstring", escape_fitted_names, priority=600)
    app.connect("missing-reference", link_scikit_learn_labels)
