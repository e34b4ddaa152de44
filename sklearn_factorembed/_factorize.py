"""Weighted, centred low-rank factorization of a matrix.

The numeric core of the package: numpy and scipy only, no text and no gensim.

For a table ``E`` (n x d), non-negative row weights ``w`` (rescaled to mean 1) and
a rank ``r``, the factorization is

    E - mean ~= codes @ components

where ``mean`` is the weighted mean row, ``components`` (r x d) has orthonormal rows
and ``codes = (E - mean) @ components.T``. With the SVD solvers the components are
the top right singular vectors of ``diag(sqrt(w)) (E - mean)``, which minimises the
weighted Frobenius error ``sum_i w_i ||e_i - mean - codes_i @ components||^2``
(Eckart-Young). The ``"qr"`` solver instead picks the span of ``r`` rows of the
table by column-pivoted QR: orthogonal, cheaper to explain, never better than SVD.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from sklearn.utils.extmath import randomized_svd
from threadpoolctl import ThreadpoolController

from ._options import SOLVERS

# Rows are processed in blocks so that float64 temporaries stay small even for a
# memory-mapped table of millions of rows.
_BLOCK_ROWS = 65_536
# The moments use smaller blocks: a block of 8,192 rows of 50 float32 values stays
# in the L2 cache between the shift, the scaling and the rank-k update, which
# measured 2-3x faster than 65,536 rows (benchmarks/performance.py).
_MOMENT_BLOCK_ROWS = 8_192
# Rows averaged for the shift that keeps the float32 products small.
_SHIFT_ROWS = 1_024


@dataclass(frozen=True)
class Spectrum:
    """Rank-independent result of a decomposition, truncated by :func:`truncate`.

    Attributes
    ----------
    mean : ndarray of shape (d,), float64
        Weighted mean row.
    components : ndarray of shape (k, d), float64
        Orthonormal directions, most important first (k <= d).
    singular_values : ndarray of shape (k,), float64
        Singular values of the weighted, centred table along ``components``.
    total_variance : float
        Squared Frobenius norm of the weighted, centred table.
    """

    mean: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray
    total_variance: float

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        if self.total_variance == 0.0:
            return np.zeros_like(self.singular_values)
        return self.singular_values**2 / self.total_variance

    @property
    def relative_error(self) -> float:
        """Frobenius error of the reconstruction from these directions, relative
        to the weighted, centred table (0: exact, 1: nothing beyond the mean).

        The codes are orthogonal projections, so the error is what the kept
        directions leave of the total variance; no second pass over the rows.
        """
        kept = float(np.sum(self.explained_variance_ratio))
        return float(np.sqrt(max(0.0, 1.0 - kept)))


def normalize_weights(weights: np.ndarray | None, n_rows: int) -> np.ndarray:
    """Return row weights rescaled to mean 1 (all ones when ``weights`` is None)."""
    if weights is None:
        return np.ones(n_rows)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n_rows,):
        raise ValueError(
            f"weights must have shape ({n_rows},), got shape {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative")
    total = weights.sum()
    if total <= 0:
        raise ValueError("weights must not all be zero")
    return weights * (n_rows / total)


def _blocks(n_rows: int, block_rows: int = _BLOCK_ROWS):
    for start in range(0, n_rows, block_rows):
        yield slice(start, min(start + block_rows, n_rows))


@functools.cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


class _SingleThreadedBlas(contextlib.ContextDecorator):
    """BLAS on one thread inside a section, as a decorator or a ``with`` block;
    one instance, ``single_threaded_blas`` below, serves the package.

    Only the main thread sets the limit, and the outermost of its nested
    sections restores it. threadpoolctl's limits are process-wide, and the
    OpenBLAS of numpy's and scipy's wheels may ignore a count set from another
    thread: a section entered in one worker thread and left in another could
    leave the whole process on one thread. Sections in other threads leave
    BLAS as it is.
    """

    def __init__(self):
        self._depth = 0  # of the main thread's sections
        self._limiter = None
        self._outer_threads = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            if self._depth == 0:
                self._outer_threads = _current_blas_threads()
                self._limiter = _threadpools().limit(limits=1, user_api="blas")
            self._depth += 1
        return self

    def __exit__(self, *exc_info):
        if threading.current_thread() is threading.main_thread():
            self._depth -= 1
            if self._depth == 0:
                self._limiter.restore_original_limits()
                self._limiter = self._outer_threads = None

    def outer_threads(self) -> int:
        """The threads BLAS has outside the sections."""
        outer = self._outer_threads
        return _current_blas_threads() if outer is None else outer


# The package's small products (d x d matrices, batches of documents x d,
# L-BFGS's vector updates) lose more to BLAS's threads than they gain, and on
# a machine whose cores are busy the threads wait for one another: up to fifty
# times the single-threaded time (README, "Performance"). The sections that
# make them run with BLAS on one thread, as scikit-learn's KMeans does; the
# products over all the rows of a table split the rows over threads
# themselves (see _map_blocks).
single_threaded_blas = _SingleThreadedBlas()


def _current_blas_threads() -> int:
    libraries = _threadpools().select(user_api="blas").lib_controllers
    return max((library.num_threads for library in libraries), default=1)


def _blas_threads() -> int:
    """The threads BLAS may use outside the package's sections (its own
    setting, ``OPENBLAS_NUM_THREADS`` and the like, or a ``threadpoolctl`` limit
    the caller set)."""
    return single_threaded_blas.outer_threads()


def _map_blocks(function, blocks: list) -> list:
    """``[function(rows) for rows in blocks]``, the blocks spread over as many
    threads as BLAS may use, each running BLAS on one thread.

    Products of a block of rows with a few columns gain little from BLAS's own
    threads; whole blocks in parallel do. Each block is computed the same way
    whatever the number of threads, and the results come back in block order,
    so that what the caller makes of them does not depend on it.
    """
    n_threads = min(_blas_threads(), len(blocks))
    with single_threaded_blas:
        if n_threads < 2:
            return [function(rows) for rows in blocks]
        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(function, blocks))


def weighted_moments(
    table: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean row and weighted scatter matrix of the centred table.

    One pass over the rows, block by block, so ``table`` may be a memory-mapped
    array of any length. Each block is scaled by ``sqrt(weights)``, so its
    product with itself is a symmetric rank-k update (BLAS ``syrk``) in the
    table's own float precision; the block sums are accumulated in float64.
    Rows far from the origin beside their spread are first shifted by a
    reference row near the mean, so that the products stay small (the shift is
    corrected exactly in float64 at the end); rows near it, as pretrained
    tables' are, keep their precision unshifted (see :func:`_centre_first`) and
    save that pass. The blocks run in parallel (see :func:`_map_blocks`) and
    their sums are added in block order: the result does not depend on the
    number of threads.

    Returns
    -------
    mean : ndarray of shape (d,)
    scatter : ndarray of shape (d, d)
        ``(E - mean).T @ diag(weights) @ (E - mean)``.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.array([[1.0, 0.0], [3.0, 2.0]])
    >>> mean, scatter = weighted_moments(table, np.array([1.0, 3.0]))
    >>> mean
    array([2.5, 1.5])
    >>> scatter
    array([[3., 3.],
           [3., 3.]])
    """
    n_rows, n_dims = table.shape
    dtype = table.dtype if table.dtype in (np.float32, np.float64) else np.float64
    weight_sum = weights.sum()
    block_weights = weights.astype(dtype)
    block_roots = np.sqrt(block_weights)
    shift = np.asarray(table[:_SHIFT_ROWS], dtype=np.float64).mean(axis=0)
    shifted = _centre_first(table, shift)
    shift_in_dtype = shift.astype(dtype) if shifted else np.zeros(n_dims, dtype)

    def block_sums(rows):
        block = np.asarray(table[rows], dtype=dtype)
        if shifted:
            block = block - shift_in_dtype
        scaled = block * block_roots[rows, None]
        return block_weights[rows] @ block, scaled.T @ scaled

    first = np.zeros(n_dims)
    second = np.zeros((n_dims, n_dims))
    for block_first, block_second in _map_blocks(
        block_sums, list(_blocks(n_rows, _MOMENT_BLOCK_ROWS))
    ):
        first += block_first
        second += block_second
    offset = first / weight_sum
    mean = shift_in_dtype.astype(np.float64) + offset
    scatter = second - weight_sum * np.outer(offset, offset)
    return mean, (scatter + scatter.T) / 2


def _weighted_centred(table, weights, mean):
    return (np.asarray(table, dtype=np.float64) - mean) * np.sqrt(weights)[:, None]


def _flip_signs(components: np.ndarray) -> np.ndarray:
    # Make the largest-magnitude entry of each direction positive so that every
    # solver returns the same directions, not just the same subspace.
    signs = np.sign(
        components[np.arange(len(components)), np.argmax(np.abs(components), axis=1)]
    )
    signs[signs == 0] = 1.0
    return components * signs[:, None]


def scatter_spectrum(mean: np.ndarray, scatter: np.ndarray) -> Spectrum:
    """The spectrum of a table given its weighted mean and scatter matrix.

    Directions come out ordered by variance and signed as :func:`decompose`
    signs them.

    Examples
    --------
    >>> import numpy as np
    >>> spectrum = scatter_spectrum(np.zeros(2), np.diag([1.0, 4.0]))
    >>> np.abs(spectrum.components)
    array([[0., 1.],
           [1., 0.]])
    >>> spectrum.singular_values
    array([2., 1.])
    """
    eigenvalues, eigenvectors = scipy.linalg.eigh(scatter)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    components = _flip_signs(eigenvectors[:, order].T)
    return Spectrum(mean, components, np.sqrt(eigenvalues), float(np.trace(scatter)))


def _covariance_spectrum(table, weights):
    return scatter_spectrum(*weighted_moments(table, weights))


def _full_spectrum(table, weights):
    mean, _ = weighted_moments(table, weights)
    centred = _weighted_centred(table, weights, mean)
    _, singular_values, components = scipy.linalg.svd(
        centred, full_matrices=False, lapack_driver="gesdd"
    )
    return Spectrum(mean, components, singular_values, float(np.sum(centred**2)))


def _randomized_spectrum(table, weights, n_components, random_state):
    mean, _ = weighted_moments(table, weights)
    centred = _weighted_centred(table, weights, mean)
    _, singular_values, components = randomized_svd(
        centred, n_components, n_iter=7, random_state=random_state
    )
    return Spectrum(mean, components, singular_values, float(np.sum(centred**2)))


def _qr_spectrum(table, weights):
    # Column-pivoted QR of the transposed, weighted, centred table greedily picks
    # the rows (words) that span the most remaining energy; the first r columns
    # of Q are an orthonormal basis of the first r picked rows.
    mean, _ = weighted_moments(table, weights)
    centred = _weighted_centred(table, weights, mean)
    basis, _, _ = scipy.linalg.qr(centred.T, mode="economic", pivoting=True)
    components = basis.T
    captured = np.sqrt(np.sum((centred @ basis) ** 2, axis=0))
    return Spectrum(mean, components, captured, float(np.sum(centred**2)))


def decompose(
    table: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    solver: str = "auto",
    n_components: int | None = None,
    random_state=None,
) -> Spectrum:
    """Decompose a (weighted) table into its mean and ordered directions.

    Parameters
    ----------
    table : array-like of shape (n, d)
        The rows to factorize; may be a memory-mapped array.
    weights : array-like of shape (n,), default=None
        Non-negative row weights; None weighs every row equally.
    solver : {"auto", "covariance", "full", "randomized", "qr"}, default="auto"
        ``"covariance"`` eigendecomposes the d x d weighted scatter matrix (one pass
        over the rows; the fast path when n >> d), ``"full"`` runs LAPACK's SVD,
        ``"randomized"`` Halko et al.'s randomized SVD, ``"qr"`` column-pivoted QR.
        ``"auto"`` picks ``"covariance"``.
    n_components : int, default=None
        Number of directions the ``"randomized"`` solver computes; the other
        solvers return all ``min(n, d)`` directions and ignore it.
    random_state : int, RandomState instance or None, default=None
        Seed of the ``"randomized"`` solver.

    Returns
    -------
    Spectrum
        Mean, orthonormal directions, singular values and total variance; cut it
        to a rank with :func:`truncate`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> table = rng.normal(size=(100, 8)) @ rng.normal(size=(8, 8)) + 3.0
    >>> spectrum = decompose(table)
    >>> spectrum.components.shape
    (8, 8)
    >>> bool(np.allclose(spectrum.mean, table.mean(axis=0)))
    True
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver={solver!r} is not one of {SOLVERS}")
    table = np.asarray(table)
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] == 0:
        raise ValueError(f"table must be a non-empty 2-d array, got {table.shape}")
    weights = normalize_weights(weights, table.shape[0])
    if solver in ("auto", "covariance"):
        spectrum = _covariance_spectrum(table, weights)
    elif solver == "full":
        spectrum = _full_spectrum(table, weights)
    elif solver == "randomized":
        n_components = min(table.shape) if n_components is None else n_components
        spectrum = _randomized_spectrum(table, weights, n_components, random_state)
    else:
        spectrum = _qr_spectrum(table, weights)
    n_kept = min(table.shape)
    return Spectrum(
        spectrum.mean,
        _flip_signs(spectrum.components[:n_kept]),
        spectrum.singular_values[:n_kept],
        spectrum.total_variance,
    )


def resolve_rank(rank: int | float, spectrum: Spectrum) -> int:
    """Turn ``rank`` into a number of directions.

    An int is returned as is (it must not exceed the directions available); a
    float in (0, 1) selects the smallest rank whose explained variance ratio
    reaches it.

    Examples
    --------
    >>> import numpy as np
    >>> spectrum = Spectrum(np.zeros(3), np.eye(3), np.sqrt([6.0, 3.0, 1.0]), 10.0)
    >>> resolve_rank(0.85, spectrum)
    2
    >>> resolve_rank(0.95, spectrum)
    3
    """
    n_available = len(spectrum.singular_values)
    if isinstance(rank, (int, np.integer)):
        if not 1 <= rank <= n_available:
            raise ValueError(
                f"rank={rank} must be between 1 and the {n_available} directions "
                "available"
            )
        return int(rank)
    cumulative = np.cumsum(spectrum.explained_variance_ratio)
    # A small tolerance keeps float rounding from pushing an exact fraction to
    # the next rank.
    reached = np.flatnonzero(cumulative >= rank - 1e-12)
    return int(reached[0]) + 1 if len(reached) else n_available


def truncate(spectrum: Spectrum, rank: int) -> Spectrum:
    """Keep the first ``rank`` directions of ``spectrum``."""
    return Spectrum(
        spectrum.mean,
        spectrum.components[:rank],
        spectrum.singular_values[:rank],
        spectrum.total_variance,
    )


def _centre_first(table: np.ndarray, mean: np.ndarray) -> bool:
    """Whether products of the rows of ``table`` (:func:`encode`,
    :func:`weighted_moments`) must run on the rows centred on ``mean`` rather
    than on the rows themselves, with the mean folded in afterwards.

    A product rounds each entry by about ``eps`` times the norms of the rows it
    multiplies: the rows themselves when the mean is folded in, their
    deviations from it when centred first. Since ``||row|| <= ||row - mean|| +
    ||mean||``, folding at most doubles that rounding while the mean is no
    longer than the rows' root-mean-square deviation from it (GloVe: 1.4 beside
    4.3), and it saves a pass over the table; a table far from the origin
    beside its spread would leave the results as differences of large numbers,
    so it is centred first. The spread is estimated on rows spread evenly
    through the table.
    """
    sample = np.asarray(
        table[:: max(1, table.shape[0] // _SHIFT_ROWS)], dtype=np.float64
    )
    deviations = np.sum((sample - mean) ** 2, axis=1)
    return float(mean @ mean) * len(deviations) > deviations.sum()


def encode(
    table: np.ndarray, mean: np.ndarray, components: np.ndarray, dtype=np.float32
) -> np.ndarray:
    """Codes of the rows of ``table``: ``(table - mean) @ components.T``.

    A float32 table encoded to float32 codes is computed in float32, otherwise
    in float64. When the mean is small beside the spread of the rows, the
    product runs on the rows themselves and ``mean @ components.T``, computed
    in float64, is subtracted from it (see :func:`_centre_first`); otherwise
    the rows are first centred on the mean rounded to the working precision
    (exact to that rounding), and the constant left by the rounding of the mean
    is corrected from float64. Blocks of rows are encoded in parallel (see
    :func:`_map_blocks`), the same way whatever the number of threads.

    Examples
    --------
    >>> import numpy as np
    >>> encode(np.array([[2.0, 3.0]]), np.array([1.0, 1.0]), np.eye(2)[:1])
    array([[1.]], dtype=float32)
    """
    dtype = np.dtype(dtype)
    work_dtype = np.float32 if table.dtype == dtype == np.float32 else np.float64
    centre = _centre_first(table, mean)
    shift = mean.astype(work_dtype) if centre else np.zeros_like(mean, work_dtype)
    work_components = np.ascontiguousarray(components, dtype=work_dtype)
    offset = ((shift.astype(np.float64) - mean) @ components.T).astype(work_dtype)
    codes = np.empty((table.shape[0], components.shape[0]), dtype=dtype)

    def encode_block(rows):
        block = np.asarray(table[rows], dtype=work_dtype)
        if centre:
            block = block - shift
        np.matmul(block, work_components.T, out=codes[rows])
        codes[rows] += offset

    _map_blocks(encode_block, list(_blocks(table.shape[0], _BLOCK_ROWS)))
    return codes


def discriminant_directions(
    documents: np.ndarray, labels: np.ndarray, *, shrinkage: float = 1e-3
) -> np.ndarray:
    """Orthonormal basis of the LDA directions of labelled rows, best first.

    Fisher's linear discriminants solve ``between v = lambda within v`` for the
    between-class and within-class scatter of ``documents``; there are at most
    ``n_classes - 1``. The within-class scatter is shrunk towards a multiple of
    the identity (by ``shrinkage`` of its mean eigenvalue) so that directions of
    no within-class variance cannot make it singular.

    Parameters
    ----------
    documents : ndarray of shape (m, d)
        One row per labelled sample, e.g. pooled word vectors of a document.
    labels : ndarray of shape (m,)
        Class of each row; at least two distinct values.
    shrinkage : float, default=1e-3

    Returns
    -------
    ndarray of shape (min(n_classes - 1, d), d)
        Orthonormal rows spanning, in order, the top 1, 2, ... discriminants.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1], 100)
    >>> documents = rng.normal(size=(200, 3)) * [5.0, 5.0, 0.1]
    >>> documents[:, 2] += labels
    >>> np.round(np.abs(discriminant_directions(documents, labels)), 2)
    array([[0., 0., 1.]])
    """
    documents = np.asarray(documents, dtype=np.float64)
    classes, class_of_row = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"labels must hold at least two classes to separate, got {classes!r}"
        )
    n_dims = documents.shape[1]
    class_sizes = np.bincount(class_of_row)
    class_means = np.zeros((len(classes), n_dims))
    np.add.at(class_means, class_of_row, documents)
    class_means /= class_sizes[:, None]
    within_rows = documents - class_means[class_of_row]
    within = within_rows.T @ within_rows
    between_rows = (class_means - documents.mean(axis=0)) * np.sqrt(class_sizes)[
        :, None
    ]
    between = between_rows.T @ between_rows
    within += shrinkage * np.trace(within) / n_dims * np.eye(n_dims)
    eigenvalues, eigenvectors = scipy.linalg.eigh(between, within)
    n_directions = min(len(classes) - 1, n_dims)
    order = np.argsort(eigenvalues)[::-1][:n_directions]
    # QR keeps the span of the first k discriminants for every k.
    basis, _ = np.linalg.qr(eigenvectors[:, order])
    return _flip_signs(basis.T)


def _directions_in_complement(
    chosen: np.ndarray, scatter: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All directions orthogonal to the orthonormal rows of ``chosen``, ordered by
    the variance ``scatter`` puts along them, most first (signed), and those
    variances."""
    n_dims = scatter.shape[0]
    if len(chosen) == 0:
        basis = np.eye(n_dims)
    else:
        basis = scipy.linalg.null_space(chosen)  # (d, d - k), orthonormal
    eigenvalues, eigenvectors = scipy.linalg.eigh(basis.T @ scatter @ basis)
    order = np.argsort(eigenvalues)[::-1]
    return _flip_signs((basis @ eigenvectors[:, order]).T), eigenvalues[order]


def guided_spectrum(
    mean: np.ndarray,
    scatter: np.ndarray,
    *,
    leading: np.ndarray | None = None,
    guide: np.ndarray | None = None,
) -> Spectrum:
    """Directions picked by other criteria first, then by the table's variance.

    In order: the orthonormal ``leading`` directions; then, orthogonal to them,
    the principal directions of the ``guide`` scatter matrix that carry any of
    its variance; then, orthogonal to all of these, the principal directions of
    the table's own ``scatter``. Truncated to any rank, the subspace holds the
    leading directions, then as much of the guide's variance as fits, and the
    table's variance fills what the guide leaves (e.g. when it comes from fewer
    samples than dimensions).

    Parameters
    ----------
    mean : ndarray of shape (d,)
        The table's weighted mean row.
    scatter : ndarray of shape (d, d)
        The table's weighted scatter matrix (see :func:`weighted_moments`).
    leading : ndarray of shape (k, d), default=None
        Orthonormal directions to put first, e.g. :func:`discriminant_directions`.
    guide : ndarray of shape (d, d), default=None
        A scatter matrix in the same space, e.g. that of pooled documents
        (:class:`Moments`), whose principal directions come next.

    Returns
    -------
    Spectrum
        ``singular_values`` are the weighted table's norms along each direction,
        so ``explained_variance_ratio`` is what each direction explains of the
        table (not sorted when ``leading`` or ``guide`` picked the first ones).

    Examples
    --------
    >>> import numpy as np
    >>> scatter = np.diag([9.0, 4.0, 1.0])
    >>> spectrum = guided_spectrum(np.zeros(3), scatter, guide=np.diag([0.0, 0, 1]))
    >>> np.abs(spectrum.components)
    array([[0., 0., 1.],
           [1., 0., 0.],
           [0., 1., 0.]])
    >>> spectrum.singular_values
    array([1., 3., 2.])
    """
    n_dims = len(mean)
    chosen = np.zeros((0, n_dims)) if leading is None else np.asarray(leading, float)
    if guide is not None:
        directions, variances = _directions_in_complement(chosen, guide)
        # Directions of no variance of the guide, up to rounding, are left to
        # the table's own scatter.
        tolerance = max(variances.max(initial=0.0), 0.0) * n_dims * 1e-12
        chosen = np.vstack([chosen, directions[variances > tolerance]])
    if len(chosen) < n_dims:
        rest, _ = _directions_in_complement(chosen, scatter)
        chosen = np.vstack([chosen, rest])
    captured = np.einsum("kd,de,ke->k", chosen, scatter, chosen)
    return Spectrum(
        mean,
        chosen,
        np.sqrt(np.clip(captured, 0.0, None)),
        float(np.trace(scatter)),
    )


@dataclass(frozen=True)
class Moments:
    """Number, sum and sum of outer products of samples (e.g. pooled documents).

    They are sums, so they add up across batches and partitions (``+``); the
    centred scatter matrix comes from the total.

    Examples
    --------
    >>> import numpy as np
    >>> samples = np.array([[1.0, 0.0], [3.0, 2.0], [2.0, 1.0]])
    >>> moments = Moments.of(samples[:2]) + Moments.of(samples[2:])
    >>> moments.scatter
    array([[2., 2.],
           [2., 2.]])
    """

    count: int
    sum: np.ndarray  # of the samples
    outer_sum: np.ndarray  # of their outer products

    @classmethod
    def of(cls, samples: np.ndarray) -> Moments:
        samples = np.asarray(samples, dtype=np.float64)
        return cls(len(samples), samples.sum(axis=0), samples.T @ samples)

    @classmethod
    def zeros(cls, n_dims: int) -> Moments:
        """The moments of no sample, to add others to."""
        return cls.of(np.zeros((0, n_dims)))

    def __add__(self, other: Moments) -> Moments:
        return Moments(
            self.count + other.count,
            self.sum + other.sum,
            self.outer_sum + other.outer_sum,
        )

    @property
    def scatter(self) -> np.ndarray:
        """``sum_i (x_i - mean)(x_i - mean)^T`` (zeros without samples)."""
        if self.count == 0:
            return np.zeros_like(self.outer_sum)
        scatter = self.outer_sum - np.outer(self.sum, self.sum) / self.count
        return (scatter + scatter.T) / 2


def common_component(gram: np.ndarray) -> np.ndarray:
    """The direction sif pooling removes, from the Gram matrix of pooled codes.

    The top eigenvector of ``P.T @ P`` is the top right singular vector of the
    pooled codes ``P`` (Arora et al., 2017), signed so that its largest entry is
    positive; the Gram matrix is a sum over documents, so it can be accumulated
    over batches or partitions.

    Examples
    --------
    >>> import numpy as np
    >>> common_component(np.array([[1.0, 0.0], [0.0, 4.0]]))
    array([0., 1.])
    """
    _, eigenvectors = np.linalg.eigh(gram)
    direction = eigenvectors[:, -1]
    return direction * np.sign(direction[np.argmax(np.abs(direction))])


def positive_rows(table: np.ndarray, weights: np.ndarray | None):
    """The rows of positive weight and their weights; all rows, not copied,
    when every weight is positive (or there are none).

    Rows of zero weight move neither the mean nor the directions of a weighted
    factorization, so they are left out of it (and only encoded).

    Examples
    --------
    >>> import numpy as np
    >>> positive_rows(np.eye(3), np.array([1.0, 0.0, 2.0]))[1]
    array([1., 2.])
    """
    if weights is None or np.all(weights > 0):
        return table, weights
    rows = np.flatnonzero(weights)
    return table[rows], weights[rows]
