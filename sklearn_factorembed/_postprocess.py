"""Post-processing of word-vector tables: all-but-the-top and PPA.

Numeric only, like :mod:`._factorize`: no text and no gensim.

Word vectors share a large mean and a few dominant directions that mostly encode
word frequency rather than meaning. *All-but-the-top* (Mu & Viswanath, 2018)
removes the mean and the top ``D`` principal directions of the table; *PPA*
(Raunak et al., 2019) post-processes, reduces the dimension by PCA, and
post-processes the reduced vectors again.

Both are orthogonal projections of the centred table, so a factorization of the
post-processed table still has orthonormal components: they are orthogonal to
the removed directions, and ``(E - mean) @ components.T`` gives the codes of the
post-processed table directly. The pieces here compose into either method:
:func:`dominant_directions` and :func:`remove_directions` are all-but-the-top;
factorizing their result to ``rank + D`` directions and applying
:func:`strip_leading_directions` to the codes is PPA.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from ._factorize import (
    Spectrum,
    decompose,
    encode,
    normalize_weights,
    resolve_rank,
    scatter_spectrum,
    truncate,
    weighted_moments,
)


@dataclass(frozen=True)
class Postprocessing:
    """The post-processing of a factorization: ``method`` (None, ``"abtt"`` or
    ``"ppa"``) and the directions each of its passes removes."""

    method: str | None = None
    n_removed: int = 0

    @property
    def n_passes(self) -> int:
        return {None: 0, "abtt": 1, "ppa": 2}[self.method]

    @property
    def n_extra(self) -> int:
        """Directions to factorize beyond the rank, for PPA's second pass."""
        return self.n_removed if self.method == "ppa" else 0

    @classmethod
    def plan(
        cls,
        method: str | None,
        n_removed: int | str,
        rank: int | float,
        n_rows: int,
        n_dims: int,
    ) -> Postprocessing:
        """The post-processing ``method`` makes of ``n_rows`` x ``n_dims`` rows.

        ``n_removed="auto"`` removes ``d / 100`` directions (at least 1) but
        never so many that an int ``rank`` would not fit: ``rank=d`` keeps the
        table whole, with no post-processing.

        Examples
        --------
        >>> Postprocessing.plan("abtt", "auto", 25, 1000, 50)
        Postprocessing(method='abtt', n_removed=1)
        >>> Postprocessing.plan("abtt", "auto", 50, 1000, 50)
        Postprocessing(method=None, n_removed=0)
        """
        if method is None:
            return cls()
        if n_removed != "auto":
            return cls(method, int(n_removed))
        n_passes = cls(method).n_passes
        room = max(0, min(n_rows, n_dims) - (rank if isinstance(rank, Integral) else 1))
        n_removed = min(default_n_removed(n_dims), room // n_passes)
        return cls(method, n_removed) if n_removed else cls()


def factorize(
    table: np.ndarray,
    weights: np.ndarray | None,
    postprocessing: Postprocessing,
    *,
    solver: str = "auto",
    rank: int | float | None = None,
    random_state=None,
) -> tuple[Spectrum, np.ndarray | None]:
    """The rank-independent factorization of ``table`` after the first pass of
    its post-processing: all directions of the post-processed, weighted rows
    (with the table's own mean), and the directions the pass removed (None
    without post-processing).

    ``rank`` is only used by the ``"randomized"`` solver, which computes that
    many directions (plus those PPA's second pass removes).

    Examples
    --------
    >>> import numpy as np
    >>> table = np.random.default_rng(0).normal(size=(200, 3)) * [5.0, 2.0, 1.0]
    >>> spectrum, removed = factorize(table, None, Postprocessing("abtt", 1))
    >>> np.round(np.abs(removed), 1), np.round(np.abs(spectrum.components[0]), 1)
    (array([[1., 0., 0.]]), array([0., 1., 0.]))
    """
    if postprocessing.method is not None and solver in ("auto", "covariance"):
        # From the table's moments: no post-processed copy of the table.
        return abtt_spectrum(table, weights, postprocessing.n_removed)
    mean, removed, processed = None, None, table
    if postprocessing.method is not None:
        mean, removed = dominant_directions(table, weights, postprocessing.n_removed)
        processed = remove_directions(table, mean, removed)
    spectrum = decompose(
        processed,
        weights,
        solver=solver,
        n_components=(
            rank + postprocessing.n_extra if isinstance(rank, Integral) else None
        ),
        random_state=random_state,
    )
    mean = spectrum.mean if mean is None else mean
    # The post-processed table is centred; its codes take the original mean.
    return Spectrum(
        mean, spectrum.components, spectrum.singular_values, spectrum.total_variance
    ), removed


def truncate_postprocessed(
    spectrum: Spectrum,
    removed: np.ndarray | None,
    table: np.ndarray,
    weights: np.ndarray | None,
    postprocessing: Postprocessing,
    rank: int | float,
) -> tuple[Spectrum, np.ndarray | None]:
    """Cut a factorization (of :func:`factorize`) to ``rank``, PPA's second pass
    included; return the spectrum and every direction the post-processing
    removed.

    ``table`` and ``weights`` are the rows that were factorized.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.random.default_rng(0).normal(size=(200, 6))
    >>> plan = Postprocessing("ppa", 1)
    >>> spectrum, removed = truncate_postprocessed(
    ...     *factorize(table, None, plan), table, None, plan, rank=3
    ... )
    >>> spectrum.components.shape, removed.shape
    ((3, 6), (2, 6))
    """
    n_words, n_dims = table.shape
    n_available = min(n_words, n_dims) - postprocessing.n_passes * (
        postprocessing.n_removed
    )
    if n_available < (rank if isinstance(rank, Integral) else 1):
        raise ValueError(
            f"rank={rank} exceeds the {n_available} directions left of the "
            f"{min(n_words, n_dims)} available once postprocess="
            f"{postprocessing.method!r} removes n_removed="
            f"{postprocessing.n_removed} direction(s) {postprocessing.n_passes} "
            "time(s); lower rank or n_removed"
        )
    n_kept = min(resolve_rank(rank, spectrum), n_available)
    spectrum = truncate(spectrum, n_kept + postprocessing.n_extra)
    if postprocessing.method == "ppa":
        # The components are orthogonal to the first removed directions, so
        # the raw rows give the codes of the post-processed ones.
        codes = encode(table, spectrum.mean, spectrum.components, np.float64)
        spectrum, second = strip_leading_directions(
            spectrum, codes, weights, postprocessing.n_removed
        )
        removed = np.vstack([removed, second])
    return spectrum, removed


def default_n_removed(n_dims: int) -> int:
    """Number of dominant directions to remove, ``d / 100`` as in Mu & Viswanath
    (2018), and at least one.

    Examples
    --------
    >>> default_n_removed(50), default_n_removed(300)
    (1, 3)
    """
    return max(1, round(n_dims / 100))


def dominant_directions(
    table: np.ndarray, weights: np.ndarray | None, n_removed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean row and the top ``n_removed`` principal directions.

    Returns
    -------
    mean : ndarray of shape (d,), float64
    directions : ndarray of shape (n_removed, d), float64
        Orthonormal rows, most dominant first.
    """
    spectrum = decompose(table, weights, solver="covariance")
    _check_n_removed(n_removed, len(spectrum.components))
    return spectrum.mean, spectrum.components[:n_removed]


def abtt_spectrum(
    table: np.ndarray, weights: np.ndarray | None, n_removed: int
) -> tuple[Spectrum, np.ndarray]:
    """All-but-the-top and the covariance factorization of its result, in one
    pass over ``table``.

    The post-processed table is the centred one times the orthogonal projector
    ``P = I - D.T @ D`` (``D`` the removed directions), so its scatter matrix is
    ``P @ S @ P`` with ``S`` the table's: nothing of the size of the table is
    built, which keeps a fit of a memory-mapped table of any length light.

    Returns
    -------
    spectrum : Spectrum
        The table's mean and the directions of the post-processed table (the
        last ``n_removed`` carry no variance).
    directions : ndarray of shape (n_removed, d)
        The removed directions, as :func:`dominant_directions` gives them.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.random.default_rng(0).normal(size=(200, 3)) * [5.0, 2.0, 1.0]
    >>> spectrum, removed = abtt_spectrum(table, None, 1)
    >>> np.round(np.abs(removed), 1)
    array([[1., 0., 0.]])
    >>> np.round(np.abs(spectrum.components[0]), 1)
    array([0., 1., 0.])
    """
    table = np.asarray(table)
    mean, scatter = weighted_moments(table, normalize_weights(weights, len(table)))
    directions = scatter_spectrum(mean, scatter).components
    _check_n_removed(n_removed, len(directions))
    removed = directions[:n_removed]
    projector = np.eye(len(mean)) - removed.T @ removed
    processed = projector @ scatter @ projector
    spectrum = scatter_spectrum(mean, (processed + processed.T) / 2)
    n_kept = min(table.shape)
    return (
        Spectrum(
            mean,
            spectrum.components[:n_kept],
            spectrum.singular_values[:n_kept],
            spectrum.total_variance,
        ),
        removed,
    )


def _check_n_removed(n_removed: int, n_available: int) -> None:
    if not 0 <= n_removed < n_available:
        raise ValueError(
            f"n_removed={n_removed} must be between 0 and {n_available - 1}, one "
            "less than the directions available"
        )


def remove_directions(
    table: np.ndarray, mean: np.ndarray, directions: np.ndarray | None
) -> np.ndarray:
    """Centre ``table`` on ``mean`` and project out the orthonormal ``directions``
    (if any), in float64.

    Examples
    --------
    >>> import numpy as np
    >>> remove_directions(np.array([[3.0, 4.0]]), np.array([1.0, 1.0]), np.eye(2)[:1])
    array([[0., 3.]])
    """
    centred = np.asarray(table, dtype=np.float64) - mean
    if directions is not None:
        centred -= (centred @ directions.T) @ directions
    return centred


def strip_leading_directions(
    spectrum: Spectrum, codes: np.ndarray, weights: np.ndarray | None, n_removed: int
) -> tuple[Spectrum, np.ndarray]:
    """PPA's second pass: remove the top ``n_removed`` directions of the codes.

    Parameters
    ----------
    spectrum : Spectrum
        A truncated factorization, ``k`` components.
    codes : ndarray of shape (n, k)
        The codes of the (post-processed) table on ``spectrum.components``.
    weights : ndarray of shape (n,) or None
        The row weights of the factorization.
    n_removed : int
        Number of directions to remove.

    Returns
    -------
    spectrum : Spectrum
        ``k - n_removed`` orthonormal components spanning what the codes keep
        after the removal, ordered by the codes' weighted variance.
    directions : ndarray of shape (n_removed, d)
        The removed directions, in the d-dim space.
    """
    code_spectrum = decompose(codes, weights, solver="covariance")
    directions = code_spectrum.components @ spectrum.components
    kept = Spectrum(
        spectrum.mean,
        directions[n_removed:],
        code_spectrum.singular_values[n_removed:],
        spectrum.total_variance,
    )
    return kept, directions[:n_removed]
