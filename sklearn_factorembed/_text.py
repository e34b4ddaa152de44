"""Text handling: validating documents, tokenizing, counting, pooling.

Documents become a sparse (n_documents x n_words) count matrix; pooling word codes
into document codes is then a sparse-dense product, with no Python loop per
document outside tokenization itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp

# Pretrained tables (GloVe, word2vec) were built from text tokenized the Penn
# Treebank way: clitics ("'s", "n't") and punctuation are tokens of their own,
# while hyphenated words and numbers such as "co-writer" and "1.8" stay whole.
DEFAULT_TOKEN_PATTERN = (
    r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|m|d)\b|\w+(?:[-.]\w+)*|[^\w\s]"
)

POOLINGS = ("mean", "sum", "max", "tfidf", "sif")
SIF_SMOOTHING = 1e-3


def check_documents(documents, *, name: str = "X") -> list[str]:
    """Validate an iterable of documents and return it as a list of str.

    Accepts a list, tuple or 1-d array of str, a pandas Series, or a one-column
    2-d array or DataFrame (what ``ColumnTransformer`` passes for ``["text"]``).
    """
    if documents is None or isinstance(documents, (str, bytes)):
        raise TypeError(
            f"{name} must be an iterable of documents (str), got "
            f"{'None' if documents is None else 'a single ' + type(documents).__name__}"
            "; wrap a single document in a list"
        )
    if hasattr(documents, "to_numpy"):
        documents = documents.to_numpy()
    if isinstance(documents, np.ndarray):
        if documents.ndim == 2 and documents.shape[1] == 1:
            documents = documents[:, 0]
        elif documents.ndim != 1:
            raise ValueError(
                f"{name} must be 1-d (one document per row), got an array of shape "
                f"{documents.shape}"
            )
    elif not isinstance(documents, Iterable):
        raise TypeError(
            f"{name} must be an iterable of documents (str), got "
            f"{type(documents).__name__}"
        )
    documents = list(documents)
    for position, document in enumerate(documents):
        if not isinstance(document, str):
            raise TypeError(
                f"{name} must contain only str documents; element {position} is "
                f"{document!r} of type {type(document).__name__}"
            )
    return documents


def build_analyzer(
    *,
    lowercase: bool = True,
    token_pattern: str | None = DEFAULT_TOKEN_PATTERN,
    tokenizer: Callable[[str], list[str]] | None = None,
) -> Callable[[str], list[str]]:
    """Return a function that turns one document into its list of tokens.

    Examples
    --------
    >>> analyze = build_analyzer()
    >>> analyze("The film's cast doesn't shine!")
    ['the', 'film', "'s", 'cast', 'does', "n't", 'shine', '!']
    """
    if tokenizer is None:
        try:
            pattern = re.compile(token_pattern)
        except re.error as error:
            raise ValueError(
                f"token_pattern={token_pattern!r} is not a valid regular "
                f"expression: {error}"
            ) from None
        if pattern.groups > 1:
            # findall would return tuples of groups instead of tokens.
            raise ValueError(
                f"token_pattern={token_pattern!r} has {pattern.groups} capturing "
                "groups; use at most one, or non-capturing groups (?:...)"
            )
        tokenizer = pattern.findall
    if lowercase:
        return lambda document: tokenizer(document.lower())
    return tokenizer


def count_tokens(
    documents: list[str],
    analyzer: Callable[[str], list[str]],
    vocabulary: dict[str, int],
) -> sp.csr_matrix:
    """Count the tokens of each document that are in ``vocabulary``.

    Returns
    -------
    csr_matrix of shape (n_documents, len(vocabulary)), float64
        Entry (i, j) is how often word j occurs in document i; tokens outside
        the vocabulary are dropped.
    """
    tokens_per_document = [analyzer(document) for document in documents]
    try:
        lengths = np.fromiter(
            map(len, tokens_per_document), dtype=np.int64, count=len(documents)
        )
        rows = np.fromiter(
            map(vocabulary.get, chain.from_iterable(tokens_per_document), repeat(-1)),
            dtype=np.int64,
            count=int(lengths.sum()),
        )
    except TypeError as error:  # only a user's tokenizer can cause this
        raise TypeError(
            f"the tokenizer must return a list of str tokens per document ({error})"
        ) from error
    known = rows >= 0
    document_index = np.repeat(np.arange(len(documents)), lengths)[known]
    counts = sp.csr_matrix(
        (np.ones(int(known.sum())), (document_index, rows[known])),
        shape=(len(documents), len(vocabulary)),
    )
    counts.sum_duplicates()
    return counts


def idf_weights(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency, as scikit-learn's TfidfTransformer."""
    n_documents = counts.shape[0]
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    return np.log((1 + n_documents) / (1 + document_frequency)) + 1.0


def sif_weights(word_counts: np.ndarray, smoothing: float = SIF_SMOOTHING):
    """Smooth inverse frequency ``a / (a + p(w))`` (Arora et al., 2017)."""
    total = word_counts.sum()
    probability = word_counts / total if total > 0 else np.zeros_like(word_counts)
    return smoothing / (smoothing + probability)


def pool(
    counts: sp.csr_matrix,
    codes: np.ndarray,
    *,
    pooling: str,
    word_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Pool word codes into one code per document.

    Parameters
    ----------
    counts : csr_matrix of shape (n_documents, n_words)
        Token counts, as returned by :func:`count_tokens`.
    codes : ndarray of shape (n_words, r)
        One code per word.
    pooling : {"mean", "sum", "max", "tfidf", "sif"}
        ``"tfidf"`` and ``"sif"`` are means weighted by ``word_weights``.
    word_weights : ndarray of shape (n_words,), default=None
        Per-word weights of the weighted means.

    Returns
    -------
    ndarray of shape (n_documents, r)
        Documents without a known token get a row of zeros.
    """
    if pooling == "max":
        return _max_pool(counts, codes)
    if word_weights is not None:
        counts = counts @ sp.diags(word_weights)
    pooled = np.asarray(counts @ codes, dtype=codes.dtype)
    if pooling == "sum":
        return pooled
    totals = np.asarray(counts.sum(axis=1)).ravel()
    nonempty = totals > 0
    pooled[nonempty] /= totals[nonempty, None].astype(codes.dtype)
    return pooled


def _max_pool(counts: sp.csr_matrix, codes: np.ndarray) -> np.ndarray:
    pooled = np.zeros((counts.shape[0], codes.shape[1]), dtype=codes.dtype)
    nonempty = np.diff(counts.indptr) > 0
    if nonempty.any():
        pooled[nonempty] = np.maximum.reduceat(
            codes[counts.indices], counts.indptr[:-1][nonempty], axis=0
        )
    return pooled
