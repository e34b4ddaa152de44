"""The numeric core against independent numpy computations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from sklearn_factorembed import _factorize
from sklearn_factorembed._factorize import (
    Moments,
    Spectrum,
    _centre_first,
    decompose,
    discriminant_directions,
    encode,
    guided_spectrum,
    normalize_weights,
    resolve_rank,
    scatter_spectrum,
    single_threaded_blas,
    truncate,
    weighted_moments,
)
from sklearn_factorembed._options import SOLVERS


def _table_with_spectrum(singular_values, n_rows=200, seed=0):
    """A centred-then-shifted table whose centred singular values are known."""
    rng = np.random.default_rng(seed)
    n_dims = len(singular_values)
    left = np.linalg.qr(rng.normal(size=(n_rows, n_dims)))[0]
    left -= left.mean(axis=0)  # centre, then re-orthonormalize
    left = np.linalg.qr(left)[0]
    right = np.linalg.qr(rng.normal(size=(n_dims, n_dims)))[0]
    mean = rng.normal(size=n_dims) * 5
    return left @ np.diag(singular_values) @ right.T + mean, mean, right


def _reconstruct(table, spectrum):
    codes = encode(table, spectrum.mean, spectrum.components, dtype=np.float64)
    return codes @ spectrum.components + spectrum.mean


@pytest.mark.parametrize("solver", SOLVERS)
def test_rank_r_matrix_plus_mean_is_reconstructed_exactly(solver):
    table, _, _ = _table_with_spectrum([9.0, 4.0, 2.0, 0, 0, 0, 0, 0])
    table = table.astype(np.float32)
    spectrum = truncate(decompose(table, solver=solver, n_components=3), 3)
    codes = encode(table, spectrum.mean, spectrum.components)
    reconstruction = codes @ spectrum.components + spectrum.mean
    np.testing.assert_allclose(reconstruction, table, atol=1e-5)


@pytest.mark.parametrize("solver", ["covariance", "full", "randomized"])
@pytest.mark.parametrize("rank", [1, 3, 5])
def test_error_equals_norm_of_dropped_singular_values(solver, rank):
    singular_values = np.array([10.0, 6.0, 3.0, 2.0, 1.0, 0.5, 0.2, 0.1])
    table, _, _ = _table_with_spectrum(singular_values)
    spectrum = truncate(decompose(table, solver=solver, random_state=0), rank)
    error = np.linalg.norm(table - _reconstruct(table, spectrum))
    dropped = np.linalg.norm(singular_values[rank:])
    np.testing.assert_allclose(error, dropped, rtol=1e-6)
    np.testing.assert_allclose(
        spectrum.relative_error, dropped / np.linalg.norm(singular_values), rtol=1e-6
    )
    np.testing.assert_allclose(spectrum.singular_values, singular_values[:rank])


@pytest.mark.parametrize("solver", SOLVERS)
def test_mean_is_the_weighted_mean_row(solver):
    rng = np.random.default_rng(3)
    table = rng.normal(size=(50, 6)) + 2.0
    weights = rng.uniform(0, 3, size=50)
    spectrum = decompose(table, weights, solver=solver)
    np.testing.assert_allclose(
        spectrum.mean, np.average(table, axis=0, weights=weights)
    )


@pytest.mark.parametrize("solver", ["auto", "covariance", "full", "randomized"])
def test_weighted_factorization_matches_explicit_weighted_svd(solver):
    rng = np.random.default_rng(4)
    table = rng.normal(size=(80, 7)) @ rng.normal(size=(7, 7)) + 1.0
    weights = rng.uniform(0.1, 5.0, size=80)
    spectrum = decompose(table, weights, solver=solver, random_state=0)

    # Independent computation: weights rescaled to mean 1, rows scaled by sqrt(w).
    scaled_weights = weights / weights.mean()
    mean = (scaled_weights @ table) / scaled_weights.sum()
    scaled = (table - mean) * np.sqrt(scaled_weights)[:, None]
    _, singular_values, right = np.linalg.svd(scaled, full_matrices=False)

    np.testing.assert_allclose(spectrum.singular_values, singular_values, rtol=1e-8)
    alignment = np.abs(np.sum(spectrum.components * right, axis=1))
    np.testing.assert_allclose(alignment, 1.0, atol=1e-8)


@pytest.mark.parametrize("solver", ["covariance", "randomized", "auto"])
def test_solvers_agree_with_full_up_to_sign(solver):
    rng = np.random.default_rng(5)
    table = rng.normal(size=(300, 10)) * np.geomspace(5, 0.1, 10)
    weights = rng.uniform(0, 2, size=300)
    full = truncate(decompose(table, weights, solver="full"), 4)
    other = truncate(
        decompose(table, weights, solver=solver, n_components=4, random_state=0), 4
    )
    alignment = np.abs(np.sum(full.components * other.components, axis=1))
    np.testing.assert_allclose(alignment, 1.0, atol=1e-6)
    np.testing.assert_allclose(other.singular_values, full.singular_values, rtol=1e-6)


@pytest.mark.parametrize("rank", [1, 2, 4, 6])
def test_qr_error_is_never_below_svd_error(rank):
    rng = np.random.default_rng(6)
    table = rng.normal(size=(150, 8)) * np.geomspace(4, 0.2, 8) + 1.0
    svd = truncate(decompose(table, solver="full"), rank)
    qr = truncate(decompose(table, solver="qr"), rank)
    qr_error = np.linalg.norm(table - _reconstruct(table, qr))
    svd_error = np.linalg.norm(table - _reconstruct(table, svd))
    assert qr_error >= svd_error - 1e-9
    np.testing.assert_allclose(
        qr.relative_error, qr_error / np.linalg.norm(table - table.mean(0)), rtol=1e-8
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_components_have_orthonormal_rows(solver):
    rng = np.random.default_rng(7)
    table = rng.normal(size=(60, 9))
    components = decompose(table, solver=solver, random_state=0).components
    np.testing.assert_allclose(components @ components.T, np.eye(9), atol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_full_rank_gives_the_table_back(solver):
    rng = np.random.default_rng(8)
    table = rng.normal(size=(40, 5)) + 3.0
    spectrum = decompose(table, solver=solver, random_state=0)
    np.testing.assert_allclose(_reconstruct(table, spectrum), table, atol=1e-10)
    assert spectrum.relative_error == pytest.approx(0.0, abs=1e-6)


def test_code_dot_products_equal_centred_reconstruction_dot_products():
    rng = np.random.default_rng(9)
    table = rng.normal(size=(30, 6)) + 1.0
    spectrum = truncate(decompose(table), 3)
    codes = encode(table, spectrum.mean, spectrum.components, dtype=np.float64)
    centred = codes @ spectrum.components
    np.testing.assert_allclose(codes @ codes.T, centred @ centred.T, atol=1e-10)


@pytest.mark.parametrize("offset", [0.0, 0.4, 1e3])
def test_float32_codes_match_float64_near_and_far_from_the_origin(offset):
    # Near the origin (offset 0.4 puts the mean just inside the rows' spread)
    # the rows are multiplied as they are and the mean is folded into the
    # offset; far from it they are centred first. Either way the codes must
    # match float64 to float32 rounding of the rows' spread (about 1).
    rng = np.random.default_rng(12)
    table = rng.normal(size=(5_000, 6)) * [1.0, 0.5, 0.1, 0.05, 0.01, 0.01] + offset
    table = table.astype(np.float32)
    exact = table.astype(np.float64)
    mean = exact.mean(axis=0)
    components = np.linalg.svd(exact - mean, full_matrices=False)[2][:4]
    codes = encode(table, mean, components)
    assert codes.dtype == np.float32
    np.testing.assert_allclose(codes, (exact - mean) @ components.T, rtol=0, atol=2e-6)


@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_memory_mapped_table_encodes_in_blocks_as_in_one(offset, tmp_path, monkeypatch):
    import sklearn_factorembed._factorize as factorize

    rng = np.random.default_rng(13)
    table = (rng.normal(size=(50, 4)) + offset).astype(np.float32)
    np.save(tmp_path / "table.npy", table)
    mapped = np.load(tmp_path / "table.npy", mmap_mode="r")
    mean = table.mean(axis=0, dtype=np.float64)
    components = np.linalg.qr(rng.normal(size=(4, 4)))[0][:2]
    whole = encode(table, mean, components)
    monkeypatch.setattr(factorize, "_BLOCK_ROWS", 7)
    # Equal to float32 rounding: BLAS may sum a short block in another order.
    np.testing.assert_allclose(encode(mapped, mean, components), whole, atol=1e-6)


def test_rank_fraction_picks_smallest_rank_reaching_it():
    spectrum = Spectrum(np.zeros(4), np.eye(4), np.sqrt([5.0, 3.0, 1.5, 0.5]), 10.0)
    assert resolve_rank(0.5, spectrum) == 1
    assert resolve_rank(0.51, spectrum) == 2
    assert resolve_rank(0.8, spectrum) == 2
    assert resolve_rank(0.81, spectrum) == 3
    assert resolve_rank(0.99, spectrum) == 4


def test_integer_rank_above_available_directions_is_rejected():
    spectrum = Spectrum(np.zeros(3), np.eye(3), np.ones(3), 3.0)
    with pytest.raises(ValueError, match="rank=4"):
        resolve_rank(4, spectrum)


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.ones(4), "shape"),
        (np.array([1.0, -1.0, 1.0]), "non-negative"),
        (np.array([1.0, np.nan, 1.0]), "finite"),
        (np.zeros(3), "zero"),
    ],
)
def test_invalid_weights_are_rejected(weights, message):
    with pytest.raises(ValueError, match=message):
        normalize_weights(weights, 3)


def test_unknown_solver_is_rejected():
    with pytest.raises(ValueError, match="solver='svd'"):
        decompose(np.ones((3, 2)), solver="svd")


def test_memory_mapped_table_in_several_blocks_matches_in_memory(tmp_path, monkeypatch):
    import sklearn_factorembed._factorize as factorize

    monkeypatch.setattr(factorize, "_BLOCK_ROWS", 7)
    monkeypatch.setattr(factorize, "_MOMENT_BLOCK_ROWS", 6)
    monkeypatch.setattr(factorize, "_SHIFT_ROWS", 3)
    rng = np.random.default_rng(10)
    table = (rng.normal(size=(50, 4)) + 2).astype(np.float32)
    np.save(tmp_path / "table.npy", table)
    mapped = np.load(tmp_path / "table.npy", mmap_mode="r")
    weights = rng.uniform(size=50)
    blocked = decompose(mapped, weights)
    direct = np.linalg.svd(
        (table - np.average(table, axis=0, weights=weights))
        * np.sqrt(weights / weights.mean())[:, None],
        compute_uv=False,
    )
    np.testing.assert_allclose(blocked.singular_values, direct, rtol=1e-5)


def _float64_moments(table, weights):
    """Weighted mean and scatter of ``table``, plainly in float64."""
    exact = table.astype(np.float64)
    mean = np.average(exact, axis=0, weights=weights)
    centred = exact - mean
    return mean, centred.T @ (centred * weights[:, None])


def test_float32_moments_of_a_far_offset_table_keep_float64_accuracy():
    # Rows far from the origin with a small spread: naive float32 sums of
    # squares would lose the variance to cancellation.
    rng = np.random.default_rng(11)
    table64 = rng.normal(size=(20_000, 6)) * [1.0, 0.5, 0.1, 0.05, 0.01, 0.01] + 1e3
    table = table64.astype(np.float32)
    weights = rng.uniform(0.1, 2.0, size=len(table))
    mean, scatter = weighted_moments(table, weights)
    exact_mean, exact_scatter = _float64_moments(table, weights)
    np.testing.assert_allclose(mean, exact_mean, rtol=1e-9)
    np.testing.assert_allclose(
        scatter, exact_scatter, rtol=1e-4, atol=1e-5 * np.abs(exact_scatter).max()
    )


def test_float32_moments_of_rows_near_the_origin_are_taken_unshifted_and_exact():
    # A mean shorter than the spread (as in pretrained tables): no shift, and
    # float32 rounding only.
    rng = np.random.default_rng(12)
    table64 = rng.normal(size=(30_000, 8)) * np.geomspace(2.0, 0.05, 8) + 0.3
    table = table64.astype(np.float32)
    assert not _centre_first(table, table64[:1024].mean(axis=0))
    weights = rng.uniform(0.1, 2.0, size=len(table))
    mean, scatter = weighted_moments(table, weights)
    exact_mean, exact_scatter = _float64_moments(table, weights)
    np.testing.assert_allclose(mean, exact_mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        scatter, exact_scatter, rtol=1e-5, atol=1e-6 * np.abs(exact_scatter).max()
    )


def test_moments_and_codes_do_not_depend_on_the_number_of_threads(monkeypatch):
    rng = np.random.default_rng(13)
    table = (rng.normal(size=(5 * 8_192 + 17, 7)) + 0.2).astype(np.float32)
    weights = rng.uniform(0.1, 2.0, size=len(table))
    monkeypatch.setattr(_factorize, "_BLOCK_ROWS", 8_192)  # encode's blocks too

    def moments_and_codes():
        mean, scatter = weighted_moments(table, weights)
        components = np.linalg.eigh(scatter)[1][:, ::-1][:, :3].T
        return mean, scatter, encode(table, mean, components)

    monkeypatch.setattr(_factorize, "_blas_threads", lambda: 1)
    serial = moments_and_codes()
    monkeypatch.setattr(_factorize, "_blas_threads", lambda: 3)
    threaded = moments_and_codes()
    for one, other in zip(serial, threaded, strict=True):
        assert one.tobytes() == other.tobytes()


def test_concurrent_moments_leave_the_blas_threads_as_they_were(two_blas_threads):
    rng = np.random.default_rng(14)
    table = rng.normal(size=(3 * 8_192, 5)).astype(np.float32)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: weighted_moments(table, np.ones(len(table))), range(8)))
    assert _factorize._current_blas_threads() == 2


def test_single_threaded_blas_limits_inside_and_restores_after(two_blas_threads):
    @single_threaded_blas
    def threads_inside():
        return _factorize._current_blas_threads(), _factorize._blas_threads()

    # Inside, BLAS runs on one thread, and _map_blocks still sees the two
    # threads it may spread blocks over.
    assert threads_inside() == (1, 2)
    assert _factorize._current_blas_threads() == 2


def test_single_threaded_blas_restores_after_an_error(two_blas_threads):
    with pytest.raises(KeyError), single_threaded_blas:
        raise KeyError("inside the section")
    assert _factorize._current_blas_threads() == 2


class _FakeThreadpools:
    """threadpoolctl's controller as the sections use it, over a counter, so
    that the tests below do not depend on how a BLAS library treats threads."""

    def __init__(self, threads: int):
        self.threads = threads
        outer = self

        class _Library:
            @property
            def num_threads(self):
                return outer.threads

        class _Limiter:
            def __init__(self, saved):
                self.saved = saved

            def restore_original_limits(self):
                outer.threads = self.saved

        self._library, self._limiter = _Library(), _Limiter

    def select(self, user_api):
        return SimpleNamespace(lib_controllers=[self._library])

    def limit(self, limits, user_api):
        limiter = self._limiter(self.threads)
        self.threads = limits
        return limiter


def test_nested_sections_restore_blas_threads_when_the_outermost_leaves(
    monkeypatch,
):
    pools = _FakeThreadpools(threads=2)
    monkeypatch.setattr(_factorize, "_threadpools", lambda: pools)
    with single_threaded_blas:
        with single_threaded_blas:
            assert _factorize._current_blas_threads() == 1
        assert _factorize._current_blas_threads() == 1  # the outer one holds
        assert _factorize._blas_threads() == 2
    assert _factorize._current_blas_threads() == 2


def test_sections_in_other_threads_leave_blas_as_it_is(monkeypatch):
    # Only the main thread limits: a count set or restored from another
    # thread may be ignored, and could leave the process on one thread.
    import threading

    pools = _FakeThreadpools(threads=2)
    monkeypatch.setattr(_factorize, "_threadpools", lambda: pools)
    seen = {}

    def worker():
        with single_threaded_blas:
            seen["inside"] = _factorize._current_blas_threads()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert seen == {"inside": 2}
    assert _factorize._current_blas_threads() == 2


# -- discriminants, guided spectra and mergeable moments --------------------------


def test_discriminants_of_k_classes_span_the_class_means():
    rng = np.random.default_rng(2)
    labels = np.repeat([0, 1, 2], 200)
    documents = rng.normal(size=(600, 5)) * [6.0, 6.0, 6.0, 0.3, 0.3]
    documents[:, 3:] += np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])[labels]
    directions = discriminant_directions(documents, labels)
    assert directions.shape == (2, 5)
    np.testing.assert_allclose(directions @ directions.T, np.eye(2), atol=1e-10)
    # Their span is (almost) the two signal axes.
    assert np.linalg.norm(directions[:, 3:]) ** 2 == pytest.approx(2.0, abs=0.01)


def _random_scatter(rng, n_dims, n_samples):
    samples = rng.normal(size=(n_samples, n_dims)) * np.geomspace(4.0, 0.1, n_dims)
    centred = samples - samples.mean(axis=0)
    return centred.T @ centred


def test_guided_spectrum_orders_leading_then_guide_then_table():
    rng = np.random.default_rng(0)
    n_dims = 6
    scatter = _random_scatter(rng, n_dims, 200)
    # A guide of rank 2 (three samples): it fixes two directions only.
    guide = _random_scatter(rng, n_dims, 3)
    leading = np.linalg.qr(rng.normal(size=(n_dims, 1)))[0].T
    spectrum = guided_spectrum(np.zeros(n_dims), scatter, leading=leading, guide=guide)
    components = spectrum.components
    np.testing.assert_allclose(components @ components.T, np.eye(n_dims), atol=1e-10)
    np.testing.assert_allclose(np.abs(components[0]), np.abs(leading[0]), atol=1e-12)

    def top_in_complement(matrix, chosen, k):
        complement = np.eye(n_dims) - chosen.T @ chosen
        values, vectors = np.linalg.eigh(complement @ matrix @ complement)
        return vectors[:, np.argsort(values)[::-1][:k]].T

    def projector(directions):
        return directions.T @ directions

    expected_guide = top_in_complement(guide, leading, 2)
    np.testing.assert_allclose(
        projector(components[1:3]), projector(expected_guide), atol=1e-10
    )
    expected_rest = top_in_complement(scatter, components[:3], 3)
    for got, want in zip(components[3:], expected_rest, strict=True):
        np.testing.assert_allclose(np.abs(got @ want), 1.0, atol=1e-8)
    np.testing.assert_allclose(
        spectrum.singular_values**2,
        np.einsum("kd,de,ke->k", components, scatter, components),
        rtol=1e-10,
    )
    assert spectrum.total_variance == pytest.approx(np.trace(scatter))


def test_guided_spectrum_without_guide_or_leading_is_the_plain_spectrum():
    rng = np.random.default_rng(1)
    scatter = _random_scatter(rng, 5, 100)
    guided = guided_spectrum(np.zeros(5), scatter)
    plain = scatter_spectrum(np.zeros(5), scatter)
    np.testing.assert_allclose(guided.components, plain.components, atol=1e-10)
    np.testing.assert_allclose(guided.singular_values, plain.singular_values)


def test_moments_add_up_to_the_scatter_of_all_samples():
    rng = np.random.default_rng(2)
    samples = rng.normal(size=(50, 4)) + 10.0
    moments = (
        Moments.of(samples[:7]) + Moments.of(samples[7:30]) + Moments.of(samples[30:])
    )
    assert moments.count == 50
    np.testing.assert_allclose(
        moments.scatter, np.cov(samples, rowvar=False) * 49, rtol=1e-10
    )
    np.testing.assert_array_equal(Moments.of(np.zeros((0, 3))).scatter, 0.0)
