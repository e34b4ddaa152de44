"""fastText subwords: the character n-grams of words, hashed into buckets.

A fastText model (Bojanowski et al. 2017) learns a vector per bucket of hashed
character n-grams beside its word vectors. A word missing from its table gets
the mean of its n-grams' bucket rows, as gensim's
``FastTextKeyedVectors.get_vector`` computes it; since a fit's map from
vectors to codes is affine, the code of such a word is the mean of the codes
of its n-grams' buckets, which is how a fitted model encodes it.

The n-grams and their hashes are gensim's own (``ft_ngram_hashes``, the
hash of the reference implementation), asked modulo ``2**32``: the raw 32-bit
hash, from which any number of buckets is one remainder away. Pruning to fewer
buckets rehashes the n-grams of the table's words and merges the rows that
fall together, as compress-fasttext's ``prune_ngrams`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from numbers import Integral

import numpy as np
import scipy.sparse as sp

# Beyond any fastText model (its defaults are 3 to 6), and small enough that a
# long token's n-grams stay few: about its length times (max_n - min_n + 1).
MAX_NGRAM_LENGTH = 64
# fastText hashes n-grams to 32 bits and keeps its bucket count in an int32.
MAX_BUCKETS = 1 << 31
_HASH_RANGE = 1 << 32


@dataclass(frozen=True, eq=False)
class Subwords:
    """The n-gram buckets of a fastText table: one row per bucket (vectors,
    or a fitted model's codes) and the n-gram lengths, ``min_n`` to ``max_n``
    characters of the word wrapped in ``<`` and ``>``."""

    rows: np.ndarray
    min_n: int
    max_n: int

    @property
    def n_buckets(self) -> int:
        return len(self.rows)


def check_subwords(rows, min_n, max_n, n_dims: int, name: str) -> None:
    """Refuse n-gram buckets a fastText model cannot have: lengths outside
    ``1 <= min_n <= max_n <= MAX_NGRAM_LENGTH``, or rows that are not a
    finite float matrix of ``n_dims`` columns and 1 to ``MAX_BUCKETS`` rows.
    Only the shapes and lengths are checked here; the values are checked by
    :func:`check_finite` where a source is checked."""

    def malformed(problem: str) -> ValueError:
        return ValueError(f"the n-gram buckets of {name!r} are malformed: {problem}")

    for length in (min_n, max_n):
        if isinstance(length, bool) or not isinstance(length, Integral):
            raise malformed(f"the n-gram length {length!r} is not an int")
    if not 1 <= min_n <= max_n <= MAX_NGRAM_LENGTH:
        raise malformed(
            f"n-grams of {min_n} to {max_n} characters, where 1 <= min_n <= "
            f"max_n <= {MAX_NGRAM_LENGTH}"
        )
    if not (isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.dtype.kind == "f"):
        raise malformed("its rows are not a 2-d array of floats")
    if rows.shape[1] != n_dims or not 1 <= rows.shape[0] <= MAX_BUCKETS:
        raise malformed(
            f"{rows.shape[0]} rows of {rows.shape[1]} values, where 1 to "
            f"{MAX_BUCKETS} rows of {n_dims} are expected"
        )


def check_finite(rows: np.ndarray, name: str, block_rows: int = 65_536) -> None:
    """Refuse NaN or infinite bucket rows, block by block (small temporaries)."""
    for start in range(0, len(rows), block_rows):
        if not np.isfinite(rows[start : start + block_rows]).all():
            raise ValueError(
                f"the n-gram buckets of {name!r} hold NaN or infinite values"
            )


def ngram_hashes(words: list[str], min_n: int, max_n: int) -> list[list[int]]:
    """The raw 32-bit hashes of each word's n-grams, gensim's (and fastText's)."""
    from gensim.models.fasttext import ft_ngram_hashes

    return [ft_ngram_hashes(word, min_n, max_n, _HASH_RANGE) for word in words]


def pooling_matrix(hashes: list[list[int]], n_buckets: int) -> sp.csr_matrix:
    """The mean over each word's n-grams as a (n_words, n_buckets) matrix: row
    ``i`` holds ``1 / n`` for each of the ``n`` n-grams of word ``i`` (an
    n-gram repeated, or two in one bucket, count twice), so that its product
    with the bucket rows is what ``FastTextKeyedVectors.get_vector`` returns
    for a word missing from the table."""
    lengths = np.fromiter(map(len, hashes), dtype=np.int64, count=len(hashes))
    buckets = np.fromiter(chain.from_iterable(hashes), dtype=np.int64) % n_buckets
    weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths)
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    pooling = sp.csr_matrix((weights, buckets, indptr), shape=(len(hashes), n_buckets))
    pooling.sum_duplicates()
    return pooling


def prune_buckets(subwords: Subwords, words: list[str], n_buckets: int) -> Subwords:
    """The buckets rehashed to ``n_buckets``, as compress-fasttext's
    ``prune_ngrams`` (0.1.5) makes them.

    The n-grams of ``words`` (the table's) are hashed to both bucket counts; a
    new bucket's row is the mean of the old buckets' rows its n-grams come
    from, each weighted by how many n-grams of ``words`` fall in that old
    bucket. A new bucket no n-gram of ``words`` reaches is a row of zeros
    (compress-fasttext draws it at random near zero, as fastText initializes
    its buckets). With as many buckets or more, the rows are kept as they are.
    """
    old_buckets = subwords.n_buckets
    if n_buckets >= old_buckets:
        return subwords
    hashes = np.fromiter(
        chain.from_iterable(ngram_hashes(words, subwords.min_n, subwords.max_n)),
        dtype=np.int64,
    )
    old, new = hashes % old_buckets, hashes % n_buckets
    usage = np.bincount(old, minlength=old_buckets).astype(np.float64)
    pairs = np.unique(new * old_buckets + old)
    new, old = np.divmod(pairs, old_buckets)
    merge = sp.csr_matrix((usage[old], (new, old)), shape=(n_buckets, old_buckets))
    totals = np.asarray(merge.sum(axis=1)).ravel()
    merge = sp.diags(1.0 / np.maximum(totals, 1.0)) @ merge
    rows = (merge @ np.asarray(subwords.rows, dtype=np.float64)).astype(
        subwords.rows.dtype
    )
    return Subwords(rows, subwords.min_n, subwords.max_n)
