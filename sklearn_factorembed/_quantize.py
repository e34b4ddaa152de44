"""Quantization of code matrices: int8 per column, and product quantization.

Numeric only: numpy and scikit-learn's k-means, no text. Each scheme has one
function that learns its parameters and encodes the rows in one go (the rows to
encode are those the parameters are learned from), and one that dequantizes;
:func:`quantize` wraps either in a quantized-codes object (:class:`Int8Codes`,
:class:`ProductCodes`) that dequantizes, counts its bytes and lists the arrays
a model stores.

- int8: each column ``j`` is stored as ``q[:, j]`` in [-128, 127] with
  ``x ~= offsets[j] + scales[j] * q`` (affine: the column's range is split into 255
  equal steps). Rounding to the nearest level makes the error of every entry at
  most half a step, ``scales[j] / 2``.
- product quantization (Jegou et al. 2011): the ``r`` columns are split into
  ``n_subvectors`` groups of ``r / n_subvectors`` columns; k-means learns up to
  256 centroids per group, and each row stores, per group, the uint8 index of its
  nearest centroid: ``n_subvectors`` bytes per row plus the codebooks. As in
  faiss, k-means trains on a sample of the rows (drawn in proportion to their
  weights) for a capped number of iterations, then every row gets its nearest
  centroid: the cost of training does not grow with the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.cluster.vq import vq
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state

from ._factorize import normalize_weights, single_threaded_blas
from ._options import QUANTIZATIONS

INT8_LEVELS = 255
PQ_CENTROIDS = 256
# k-means of a product-quantization group runs at most PQ_MAX_ITER Lloyd
# iterations on a weighted draw of PQ_TRAINING_ROWS rows, from k-means++ on a
# draw of PQ_SEEDING_ROWS of those (faiss draws up to 256 rows per centroid for
# 25 iterations from random rows; compress-fasttext runs 5 iterations on all
# rows from random rows). On the 50,000-word codes of benchmarks/frontier.py
# this takes 0.6-0.9x compress-fasttext's time, with 8-15% more weighted error
# than k-means to convergence on all rows (compress-fasttext: 8-50% more);
# twice the training rows take 1.3-1.5x the time for 2-4% less error.
PQ_TRAINING_ROWS = 32 * PQ_CENTROIDS
PQ_SEEDING_ROWS = 16 * PQ_CENTROIDS
PQ_MAX_ITER = 10
# The fitted attributes that store quantized codes, in an estimator's state.
STORED_ATTRIBUTES = ("quantized_codes_", "code_scales_", "code_offsets_", "codebooks_")


@dataclass(frozen=True)
class Int8Codes:
    """Codes stored as int8 levels, with a scale and an offset per column."""

    levels: np.ndarray
    scales: np.ndarray
    offsets: np.ndarray

    def dequantize(self, dtype=np.float32) -> np.ndarray:
        return dequantize_int8(self.levels, self.scales, self.offsets, dtype=dtype)

    def round(self, codes: np.ndarray) -> np.ndarray:
        """Other codes as these levels store them: each entry rounded to its
        column's nearest level (clipped to the levels' range), float64."""
        scales = self.scales.astype(np.float64)
        levels = np.zeros_like(codes, dtype=np.float64)
        np.divide(codes - self.offsets, scales, out=levels, where=scales > 0)
        levels = np.clip(np.rint(levels), -128, 127).astype(np.int8)
        return dequantize_int8(levels, self.scales, self.offsets, dtype=np.float64)

    @property
    def nbytes(self) -> int:
        return self.levels.nbytes + self.scales.nbytes + self.offsets.nbytes

    def stored_attributes(self) -> dict[str, np.ndarray | None]:
        return {
            "quantized_codes_": self.levels,
            "code_scales_": self.scales,
            "code_offsets_": self.offsets,
            "codebooks_": None,
        }


@dataclass(frozen=True)
class ProductCodes:
    """Codes stored as one centroid index per group of columns."""

    indices: np.ndarray
    codebooks: np.ndarray

    def dequantize(self, dtype=np.float32) -> np.ndarray:
        return dequantize_product(self.indices, self.codebooks, dtype=dtype)

    def round(self, codes: np.ndarray) -> np.ndarray:
        """Other codes as these codebooks store them: each group of columns
        replaced by its nearest centroid among those the stored codes use (a
        small group's codebook is padded with rows no code uses), float64."""
        n_subvectors, _, width = self.codebooks.shape
        indices = np.empty((len(codes), n_subvectors), dtype=np.intp)
        for group in range(n_subvectors):
            centroids = np.unique(self.indices[:, group])
            nearest = _nearest(
                np.asarray(codes[:, group * width : (group + 1) * width], np.float64),
                self.codebooks[group, centroids].astype(np.float64),
            )
            indices[:, group] = centroids[nearest]
        return dequantize_product(indices, self.codebooks, dtype=np.float64)

    @property
    def nbytes(self) -> int:
        return self.indices.nbytes + self.codebooks.nbytes

    def stored_attributes(self) -> dict[str, np.ndarray | None]:
        return {
            "quantized_codes_": self.indices,
            "code_scales_": None,
            "code_offsets_": None,
            "codebooks_": self.codebooks,
        }


def quantize(
    codes: np.ndarray,
    method: str,
    *,
    n_subvectors: int | None = None,
    sample_weight: np.ndarray | None = None,
    random_state=None,
) -> Int8Codes | ProductCodes:
    """Quantize ``codes`` with ``method`` (``"int8"`` or ``"pq"``).

    ``n_subvectors`` (``"pq"`` only; None: :func:`default_subvectors`),
    ``sample_weight`` and ``random_state`` are those of
    :func:`quantize_product`.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.random.default_rng(0).normal(size=(100, 4))
    >>> quantized = quantize(codes, "int8")
    >>> quantized.nbytes, quantized.dequantize().shape
    (432, (100, 4))
    """
    if method == "int8":
        return Int8Codes(*quantize_int8(codes))
    if method != "pq":
        raise ValueError(f"quantization={method!r} is not one of {QUANTIZATIONS}")
    n_columns = np.shape(codes)[1]
    if n_subvectors is None:
        n_subvectors = default_subvectors(n_columns)
    if n_columns % n_subvectors:
        raise ValueError(
            f"pq_subvectors={n_subvectors} does not divide rank_={n_columns}; use "
            f"one of {divisors(n_columns)}"
        )
    return ProductCodes(
        *quantize_product(
            codes,
            n_subvectors,
            sample_weight=sample_weight,
            random_state=random_state,
        )
    )


class StoredArray:
    """A model's read-only view of one array its quantized codes store (the
    attribute's name, one of ``STORED_ATTRIBUTES``): None when the model's
    codes are not quantized, or not quantized that way.

    The model keeps its quantized-codes object (or None) as ``_quantized``.
    """

    def __set_name__(self, owner, name: str):
        self.name = name

    def __get__(self, model, owner=None):
        if model is None:
            return self
        if not hasattr(model, "_quantized"):
            raise AttributeError(f"{self.name!r}: the model is not fitted")
        if model._quantized is None:
            return None
        return model._quantized.stored_attributes()[self.name]


# The codes a model may store quantized: the attribute of the dequantized
# codes, that of their quantized-codes object, and the prefix of the names of
# the arrays stored in their place.
QUANTIZED_CODES = (
    ("embedding_", "_quantized", ""),
    ("ngram_embedding_", "_ngram_quantized", "ngram_"),
)


def store_quantized(state: dict) -> None:
    """In a model's pickled ``state``: the stored arrays of each quantized
    codes (None for codes not quantized) in place of the dequantized codes,
    which pickles and model files do not carry."""
    for codes, quantized_name, prefix in QUANTIZED_CODES:
        quantized = state.pop(quantized_name, None)
        if state.get(codes) is None:  # not fitted, or no such codes
            continue
        if quantized is None:
            stored = dict.fromkeys(STORED_ATTRIBUTES)
        else:
            del state[codes]
            stored = quantized.stored_attributes()
        state.update({prefix + name: value for name, value in stored.items()})


def restore_quantized(state: dict) -> None:
    """The inverse of :func:`store_quantized`: each quantized-codes object
    rebuilt from its stored arrays, and the codes dequantized from it."""
    for codes, quantized_name, prefix in QUANTIZED_CODES:
        stored = {name: state.pop(prefix + name, None) for name in STORED_ATTRIBUTES}
        state[quantized_name] = quantized = _stored_codes(stored)
        if quantized is not None:
            state[codes] = quantized.dequantize(state["components_"].dtype)


def _stored_codes(attributes: dict) -> Int8Codes | ProductCodes | None:
    if attributes.get("quantized_codes_") is None:
        return None
    if attributes.get("codebooks_") is not None:
        return ProductCodes(attributes["quantized_codes_"], attributes["codebooks_"])
    return Int8Codes(
        attributes["quantized_codes_"],
        attributes["code_scales_"],
        attributes["code_offsets_"],
    )


def quantize_int8(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine int8 quantization of each column of ``codes``.

    Parameters
    ----------
    codes : array-like of shape (n, r)

    Returns
    -------
    quantized : ndarray of shape (n, r), int8
    scales : ndarray of shape (r,), float32
        The step of each column, ``(max - min) / 255``; 0 for a constant column,
        stored as its offset alone.
    offsets : ndarray of shape (r,), float32
        The value of level 0 of each column.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[-1.0, 0.0], [0.0, 3.0], [1.55, 5.1]])
    >>> quantized, scales, offsets = quantize_int8(codes)
    >>> quantized
    array([[-128, -128],
           [ -28,   22],
           [ 127,  127]], dtype=int8)
    >>> restored = dequantize_int8(quantized, scales, offsets)
    >>> bool(np.all(np.abs(restored - codes) <= scales / 2 + 1e-6))
    True
    """
    codes = _check_codes(codes)
    # float64 throughout so the rounding, not the arithmetic, sets the error;
    # the parameters are then stored as float32, and the codes re-derived from
    # the stored values so that the bound holds for what is kept.
    low = codes.min(axis=0)
    spread = codes.max(axis=0) - low
    scales = (spread / INT8_LEVELS).astype(np.float32)
    offsets = (low + 128 * scales.astype(np.float64)).astype(np.float32)
    levels = np.zeros_like(codes)
    np.divide(codes - offsets, scales.astype(np.float64), out=levels, where=scales > 0)
    levels = np.rint(levels)
    quantized = np.clip(levels, -128, 127).astype(np.int8)
    return quantized, scales, offsets


def dequantize_int8(
    quantized: np.ndarray, scales: np.ndarray, offsets: np.ndarray, dtype=np.float32
) -> np.ndarray:
    """Codes from int8 levels: ``offsets + scales * quantized``, column by column."""
    return (offsets.astype(np.float64) + scales.astype(np.float64) * quantized).astype(
        dtype
    )


def quantize_product(
    codes: np.ndarray,
    n_subvectors: int,
    *,
    sample_weight: np.ndarray | None = None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Product quantization of the rows of ``codes``.

    Parameters
    ----------
    codes : array-like of shape (n, r)
    n_subvectors : int
        Number of column groups; must divide ``r``.
    sample_weight : array-like of shape (n,), default=None
        Non-negative row weights of the k-means objective: centroids follow
        the rows that weigh most, and rows of weight 0 do not move them (they
        still get the index of their nearest centroid). Each group's k-means
        runs at most ``PQ_MAX_ITER`` iterations on ``PQ_TRAINING_ROWS`` rows
        drawn in proportion to these weights (all of them if fewer), from
        k-means++ on ``PQ_SEEDING_ROWS`` of those.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws and of k-means++: an int gives the same result
        every time.

    Returns
    -------
    indices : ndarray of shape (n, n_subvectors), uint8
        Per row and group, the index of its centroid.
    codebooks : ndarray of shape (n_subvectors, 256, r // n_subvectors), float16
        Centroids of each group. Half precision halves the codebooks' share of
        the bytes per row (they are shared by all rows, but at 50,000 rows and
        5 groups a float32 codebook still adds 0.5 byte per row) at a rounding
        error (relative 5e-4) far below the quantization error. A group with at
        most 256 distinct (weighted) sub-vectors gets one centroid per distinct
        sub-vector (exact up to that rounding), and the rows of its codebook
        beyond those are zeros that no index points at.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.random.default_rng(0).normal(size=(500, 6))
    >>> indices, codebooks = quantize_product(codes, 3, random_state=0)
    >>> indices.shape, indices.dtype, codebooks.shape
    ((500, 3), dtype('uint8'), (3, 256, 2))
    >>> dequantize_product(indices, codebooks).shape
    (500, 6)
    """
    codes = _check_codes(codes)
    n_rows, n_columns = codes.shape
    if not isinstance(n_subvectors, Integral) or isinstance(n_subvectors, bool):
        raise TypeError(f"n_subvectors must be an int, got {n_subvectors!r}")
    if n_subvectors < 1 or n_columns % n_subvectors:
        raise ValueError(
            f"n_subvectors={n_subvectors} does not divide the {n_columns} code "
            f"dimensions; use one of {divisors(n_columns)}"
        )
    group_width = n_columns // n_subvectors
    weights = normalize_weights(sample_weight, n_rows)
    weighted = weights > 0
    random_state = check_random_state(random_state)
    # One seed per group, drawn up front: a group's centroids depend on its
    # seed alone, not on what the groups before it drew.
    seeds = random_state.randint(np.iinfo(np.int32).max, size=n_subvectors)
    indices = np.empty((n_rows, n_subvectors), dtype=np.uint8)
    codebooks = np.zeros((n_subvectors, PQ_CENTROIDS, group_width), dtype=np.float16)
    # k-means++ multiplies a few rows by a few thousand: BLAS threads cost
    # more than they give there, twice the time when another process is busy.
    with single_threaded_blas:
        for group in range(n_subvectors):
            subvectors = codes[:, group * group_width : (group + 1) * group_width]
            centroids = _few_distinct(subvectors[weighted], PQ_CENTROIDS)
            if centroids is None:
                centroids = _train_centroids(
                    subvectors[weighted], weights[weighted], seeds[group]
                )
            codebooks[group, : len(centroids)] = centroids
            # Nearest of the centroids as stored, for every row (weighted or not).
            indices[:, group] = _nearest(
                subvectors, codebooks[group, : len(centroids)].astype(np.float64)
            )
    return indices, codebooks


def _few_distinct(rows: np.ndarray, count: int) -> np.ndarray | None:
    """The distinct ``rows``, sorted, if there are at most ``count``, else None.

    Every distinct row is then its own centroid: exact, and k-means would have
    fewer rows than centroids to place.
    """
    # More than ``count`` distinct rows among the first few settles it without
    # sorting them all, as for any real table.
    if len(np.unique(rows[: 4 * count], axis=0)) > count:
        return None
    distinct = np.unique(rows, axis=0)
    return distinct if len(distinct) <= count else None


def _train_centroids(
    subvectors: np.ndarray, weights: np.ndarray, seed: int
) -> np.ndarray:
    """``PQ_CENTROIDS`` weighted k-means centroids of ``subvectors`` (rows of
    positive weight, more distinct ones than centroids): Lloyd's iterations on
    a draw of ``PQ_TRAINING_ROWS`` rows, from k-means++ on a draw of
    ``PQ_SEEDING_ROWS`` of those."""
    random_state = np.random.RandomState(seed)
    training = _weighted_draw(subvectors, weights, PQ_TRAINING_ROWS, random_state)
    # Heavy weights can leave too few distinct rows in a draw for k-means;
    # those rows are then its optimum.
    distinct = _few_distinct(training[0], PQ_CENTROIDS)
    if distinct is not None:
        return distinct
    seeding = _weighted_draw(*training, PQ_SEEDING_ROWS, random_state)
    if _few_distinct(seeding[0], PQ_CENTROIDS) is not None:
        seeding = training
    centroids, _ = kmeans_plusplus(
        seeding[0],
        PQ_CENTROIDS,
        sample_weight=seeding[1],
        random_state=random_state,
    )
    return _lloyd(*training, centroids, PQ_MAX_ITER)


def _weighted_draw(
    rows: np.ndarray, weights: np.ndarray, size: int, random_state
) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` and ``weights`` as they are if there are at most ``size``, else
    ``size`` rows drawn with replacement in proportion to their weights, each
    distinct one weighing the number of times it was drawn: the draw's
    weighted k-means objective is an unbiased estimate of the whole one, and
    the rows that weigh most are all in it."""
    if len(rows) <= size:
        return rows, weights
    draws = random_state.choice(len(rows), size=size, p=weights / weights.sum())
    drawn, counts = np.unique(draws, return_counts=True)
    return rows[drawn], counts.astype(np.float64)


def _lloyd(
    rows: np.ndarray, weights: np.ndarray, centroids: np.ndarray, max_iter: int
) -> np.ndarray:
    """Weighted k-means (Lloyd's iterations) from ``centroids``, until no row
    changes centroid or for ``max_iter`` iterations; a centroid that loses all
    its rows stays where it is."""
    # Not sklearn's KMeans: on these small problems its OpenMP threads cost
    # more than they give, several times more on a busy machine.
    labels = None
    for _ in range(max_iter):
        nearest = _nearest(rows, centroids)
        if labels is not None and np.array_equal(nearest, labels):
            break
        labels = nearest
        totals = np.bincount(labels, weights, minlength=len(centroids))
        sums = np.column_stack(
            [
                np.bincount(labels, weights * column, minlength=len(centroids))
                for column in rows.T
            ]
        )
        filled = totals > 0
        centroids = centroids.copy()
        centroids[filled] = sums[filled] / totals[filled, None]
    return centroids


def _nearest(rows: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``centroids`` (the first on a tie) for each row."""
    # vq sums squared differences, so a row equal to a centroid is at distance
    # 0 exactly, which the expanded |x|^2 - 2 x.c + |c|^2 of
    # pairwise_distances_argmin cannot promise.
    nearest, _ = vq(rows, centroids, check_finite=False)
    return nearest


def dequantize_product(
    indices: np.ndarray, codebooks: np.ndarray, dtype=np.float32
) -> np.ndarray:
    """Codes from product-quantization indices: each row's centroids, side by side."""
    n_subvectors = codebooks.shape[0]
    # codebooks[group, indices[:, group]] for every group at once: (n, groups, w).
    centroids = codebooks[np.arange(n_subvectors), indices.astype(np.intp)]
    return centroids.reshape(len(indices), -1).astype(dtype, copy=False)


def divisors(number: int) -> list[int]:
    """The positive divisors of ``number``, ascending.

    Examples
    --------
    >>> divisors(20)
    [1, 2, 4, 5, 10, 20]
    """
    return [candidate for candidate in range(1, number + 1) if number % candidate == 0]


def default_subvectors(n_columns: int) -> int:
    """Number of product-quantization groups for ``n_columns``: the divisor of
    ``n_columns`` nearest ``n_columns / 5`` (the larger one on a tie), so that
    groups hold about 5 columns, one byte per 5 code dimensions.

    Examples
    --------
    >>> default_subvectors(25), default_subvectors(20), default_subvectors(10)
    (5, 4, 2)
    """
    return min(
        divisors(n_columns), key=lambda count: (abs(count - n_columns / 5), -count)
    )


def _check_codes(codes) -> np.ndarray:
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] == 0 or codes.shape[1] == 0:
        raise ValueError(f"codes must be a non-empty 2-d array, got {codes.shape}")
    if not np.all(np.isfinite(codes)):
        raise ValueError("codes hold NaN or infinite values")
    return codes
