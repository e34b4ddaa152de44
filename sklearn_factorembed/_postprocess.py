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

import numpy as np

from ._factorize import (
    Spectrum,
    decompose,
    normalize_weights,
    scatter_spectrum,
    weighted_moments,
)

POSTPROCESSINGS = ("abtt", "ppa")


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
