"""A subset of AG's news topic classification corpus (Zhang, Zhao & LeCun, 2015)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ._base import _fetch_files

TARGET_NAMES = ["World", "Sports", "Business", "Sci/Tech"]
SUBSETS = ("train", "test", "all")

_FILES = {"train": "ag_news/train.tsv", "test": "ag_news/test.tsv"}
# No public URL serves these two files byte for byte (the subset was drawn for
# published active-learning experiments), so there is no RemoteArchive: a missing
# file is an OSError that says how to get it.
_HOW_TO_GET = (
    "No public URL serves this subset, so it is not downloaded: copy train.tsv "
    "and test.tsv (UTF-8, no header, one 'text<TAB>label' line per article, label "
    "in World, Sports, Business, Sci/Tech) into a folder ag_news/ of the data "
    "home, e.g. from the shared data folder of the project. The articles come "
    "from AG's news topic classification dataset (Zhang, Zhao & LeCun, 2015), "
    "built from http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html"
)

DESCR = """\
AG News topic classification, subset
------------------------------------

Descriptions of news articles from AG's corpus, labelled with one of four topics,
as used in published active-learning experiments.

=================   ==============================================
Samples             train 10,001, test 7,600, all 17,601
Classes             0 = World, 1 = Sports, 2 = Business, 3 = Sci/Tech
Balance             test 1,900 per class; train 2,458 to 2,538
Order               as in the files; "all" is train then test
=================   ==============================================

The files are UTF-8 ``text<TAB>label`` lines without a header, read with quoting
disabled, so the text is exactly as stored: it keeps the corpus' HTML-entity
residue (``#39;`` for an apostrophe, ``&lt;``), backslashes that stood for line
breaks, and the CSV quoting of the original corpus on some articles
(``"...""quoted""..."``).

train.tsv has 10,001 articles, one per line; the data README's "10,000" is one
short. No line is a continuation: every line holds exactly one tab followed by
one of the four labels. The train file repeats 12 articles verbatim (one more
text appears a third time with another label) and the test file 6; the
duplicates are kept, as in the files.

Source: Xiang Zhang, Junbo Zhao, Yann LeCun. Character-level Convolutional
Networks for Text Classification. NeurIPS 2015. AG's corpus:
http://groups.di.unipi.it/~gulli/AG_corpus_of_news_articles.html (research and
non-commercial use).
"""


def fetch_ag_news(
    *,
    subset: str = "train",
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[list[str], np.ndarray]:
    """Load a subset of the AG News topic classification corpus (4 classes).

    Article descriptions labelled World, Sports, Business or Sci/Tech: 10,001
    for training and 7,600 for testing, in the order of the files.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which file to read; ``"all"`` is the training articles followed by the
        test articles.
    data_home : str or path-like, default=None
        The data home holding ``ag_news/train.tsv`` and ``ag_news/test.tsv``; see
        :func:`get_data_home` for the default.
    download_if_missing : bool, default=True
        Kept for symmetry with the other loaders: no public URL serves this
        subset, so missing files raise ``OSError`` either way, saying where to
        put them.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    Bunch or tuple of (list of str, ndarray)
        A Bunch with ``data`` (list of str), ``target`` (int64 array indexing
        ``target_names``), ``target_names`` (``["World", "Sports", "Business",
        "Sci/Tech"]``) and ``DESCR``; or ``(data, target)`` with ``return_X_y``.

    Raises
    ------
    ValueError
        If ``subset`` is not one of the above, or a line of a file is not a text,
        a tab and a known label.
    OSError
        If a file is missing, naming the files to put where.

    Examples
    --------
    >>> from sklearn_factorembed.datasets import fetch_ag_news
    >>> news = fetch_ag_news(subset="test", download_if_missing=False)
    >>> len(news.data), news.target_names
    (7600, ['World', 'Sports', 'Business', 'Sci/Tech'])
    >>> news.target_names[news.target[0]]
    'Business'
    """
    if subset not in SUBSETS:
        raise ValueError(
            f"subset={subset!r} is not one of {', '.join(map(repr, SUBSETS))}"
        )
    names = ["train", "test"] if subset == "all" else [subset]
    paths = [_FILES[name] for name in names]
    home = _fetch_files(
        paths,
        data_home=data_home,
        download_if_missing=download_if_missing,
        source=None,
        how_to_get=_HOW_TO_GET,
    )
    data: list[str] = []
    targets = []
    for path in paths:
        documents, target = _read_labelled_lines(home / path)
        data.extend(documents)
        targets.append(target)
    target = np.concatenate(targets)
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=list(TARGET_NAMES), DESCR=DESCR)


def _read_labelled_lines(path: Path) -> tuple[list[str], np.ndarray]:
    """Split ``text<TAB>label`` lines on their last tab; no quoting, no escapes."""
    with open(path, encoding="utf-8", newline="") as file:
        lines = file.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    label_index = {name: index for index, name in enumerate(TARGET_NAMES)}
    documents = []
    target = np.empty(len(lines), dtype=np.int64)
    for line_number, line in enumerate(lines, start=1):
        text, tab, label = line.rstrip("\r").rpartition("\t")
        if not tab or label not in label_index:
            raise ValueError(
                f"Line {line_number} of {path} is not 'text<TAB>label' with a label "
                f"in {TARGET_NAMES}: {line[:80]!r}"
            )
        documents.append(text)
        target[line_number - 1] = label_index[label]
    return documents, target
