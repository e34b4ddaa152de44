"""The sentence polarity dataset v1.0 of Pang & Lee (2005)."""

from __future__ import annotations

import os

import numpy as np
from sklearn.utils import Bunch

from ._base import RemoteArchive, _fetch_files

TARGET_NAMES = ["negative", "positive"]

# Index i of the list is the file of class i; reading in this order puts the
# negatives first.
_FILES = [
    "movie_review_polarity/rt-polarity.neg",
    "movie_review_polarity/rt-polarity.pos",
]
_SOURCE = RemoteArchive(
    url="https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz",
    members={
        "rt-polaritydata/rt-polarity.neg": _FILES[0],
        "rt-polaritydata/rt-polarity.pos": _FILES[1],
    },
)
_HOW_TO_GET = (
    f"To get them by hand, download {_SOURCE.url} (sentence polarity dataset "
    "v1.0) and extract rt-polaritydata/rt-polarity.neg and rt-polarity.pos into "
    "a folder movie_review_polarity/ of the data home."
)

DESCR = """\
Movie review sentence polarity dataset v1.0
-------------------------------------------

5,331 positive and 5,331 negative snippets of movie reviews from Rotten Tomatoes,
one sentence each, already tokenized and lower-cased (Pang & Lee, ACL 2005).

=================   ==========================================
Samples             10,662 (5,331 per class)
Classes             0 = negative (rt-polarity.neg),
                    1 = positive (rt-polarity.pos)
Order               all negatives, then all positives, each in
                    file order
=================   ==========================================

The files are latin-1. They hold a few Windows-1252 punctuation bytes (0x85
ellipsis, 0x91 quote, 0x96/0x97 dashes), which latin-1 decodes to C1 control
characters such as U+0085 NEXT LINE; documents are therefore split on "\\n" only
(``str.splitlines`` would also split on U+0085 and yield 10,685 pieces). Each
document is one line without its newline.

Source: https://www.cs.cornell.edu/people/pabo/movie-review-data/

Bo Pang and Lillian Lee. Seeing stars: Exploiting class relationships for
sentiment categorization with respect to rating scales. Proceedings of ACL 2005.
"""


def fetch_movie_reviews(
    *,
    data_home: str | os.PathLike[str] | None = None,
    download_if_missing: bool = True,
    return_X_y: bool = False,
) -> Bunch | tuple[list[str], np.ndarray]:
    """Load the movie-review sentence polarity dataset (binary sentiment).

    10,662 one-sentence review snippets, half positive, half negative. The
    documents are ordered deterministically: all 5,331 negatives in the order of
    ``rt-polarity.neg``, then all 5,331 positives in the order of
    ``rt-polarity.pos``; shuffle or stratify before splitting.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data home holding ``movie_review_polarity/rt-polarity.{pos,neg}``;
        see :func:`get_data_home` for the default.
    download_if_missing : bool, default=True
        Download the files from the Cornell movie-review data page when they are
        not in the data home; otherwise raise ``OSError``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    Bunch or tuple of (list of str, ndarray)
        A Bunch with ``data`` (list of 10,662 str), ``target`` (int64 array,
        0 = negative, 1 = positive), ``target_names`` (``["negative",
        "positive"]``) and ``DESCR``; or ``(data, target)`` with ``return_X_y``.

    Raises
    ------
    OSError
        If the files are missing and cannot be downloaded (no network, a server
        error, a download cut short): one exception whose message names the
        files looked for, where the data home came from and how to get the
        files by hand. Also if a download does not match the expected SHA-256.

    Examples
    --------
    >>> from sklearn_factorembed.datasets import fetch_movie_reviews
    >>> reviews = fetch_movie_reviews(download_if_missing=False)
    >>> len(reviews.data), reviews.target_names
    (10662, ['negative', 'positive'])
    >>> reviews.data[0], int(reviews.target[0])
    ('simplistic , silly and tedious . ', 0)
    """
    home = _fetch_files(
        _FILES,
        data_home=data_home,
        download_if_missing=download_if_missing,
        source=_SOURCE,
        how_to_get=_HOW_TO_GET,
    )
    data: list[str] = []
    counts = []
    for path in _FILES:
        # newline="" keeps the lines as they are: no newline translation, and the
        # split below is on "\n" only (see DESCR about U+0085).
        with open(home / path, encoding="latin-1", newline="") as file:
            documents = file.read().split("\n")
        if documents and documents[-1] == "":
            documents.pop()
        data.extend(documents)
        counts.append(len(documents))
    target = np.repeat(np.arange(len(_FILES), dtype=np.int64), counts)
    if return_X_y:
        return data, target
    return Bunch(data=data, target=target, target_names=list(TARGET_NAMES), DESCR=DESCR)
