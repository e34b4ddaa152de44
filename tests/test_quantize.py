"""Quantized codes: the numeric core against numpy, and through the estimator."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.cluster import KMeans

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed._quantize import (
    PQ_TRAINING_ROWS,
    default_subvectors,
    dequantize_int8,
    dequantize_product,
    quantize_int8,
    quantize_product,
)


def _codes(n_rows=500, scales=(4.0, 2.0, 1.0, 0.5, 0.3, 0.2, 0.1, 0.05), seed=0):
    """Gaussian codes with decaying column scales and non-zero column means."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_rows, len(scales))) * scales + rng.normal(
        size=len(scales)
    )


def _centroids_side_by_side(indices, codebooks):
    """Dequantization written out group by group, as the definition reads."""
    return np.hstack(
        [codebooks[group][indices[:, group]] for group in range(indices.shape[1])]
    ).astype(np.float64)


def _mean_pool(documents, vocabulary, word_codes):
    """Mean of the codes of each document's known tokens, one document at a time."""
    pooled = []
    for document in documents:
        rows = [vocabulary[token] for token in document.split() if token in vocabulary]
        pooled.append(word_codes[rows].mean(axis=0))
    return np.array(pooled)


# -- int8 ----------------------------------------------------------------------


def test_int8_dequantized_codes_are_within_half_a_step_of_the_originals():
    codes = _codes()
    quantized, scales, offsets = quantize_int8(codes)
    step = (codes.max(axis=0) - codes.min(axis=0)) / 255
    restored = dequantize_int8(quantized, scales, offsets, dtype=np.float64)
    assert quantized.dtype == np.int8
    # Float32 storage of the scale and offset may add a rounding of its own.
    assert np.all(np.abs(restored - codes) <= step / 2 * (1 + 1e-4) + 1e-6)
    np.testing.assert_allclose(scales, step, rtol=1e-6)


def test_int8_uses_the_whole_range_of_levels_per_column():
    quantized, _, _ = quantize_int8(_codes())
    np.testing.assert_array_equal(quantized.min(axis=0), -128)
    np.testing.assert_array_equal(quantized.max(axis=0), 127)


def test_int8_keeps_a_constant_column_exactly():
    codes = np.column_stack([np.full(10, 0.123456), np.linspace(-1, 1, 10)])
    quantized, scales, offsets = quantize_int8(codes)
    restored = dequantize_int8(quantized, scales, offsets, dtype=np.float64)
    np.testing.assert_allclose(restored[:, 0], 0.123456, rtol=1e-7)
    assert scales[0] == 0


def test_quantizers_reject_nan_codes():
    codes = _codes(n_rows=20)
    codes[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        quantize_int8(codes)
    with pytest.raises(ValueError, match="NaN or infinite"):
        quantize_product(codes, 2)


# -- product quantization --------------------------------------------------------


def test_pq_reconstruction_error_decreases_with_more_subvectors():
    codes = _codes(n_rows=300, scales=(3.0, 1.0, 0.5, 0.2))
    errors = []
    for n_subvectors in (1, 2, 4):
        indices, codebooks = quantize_product(codes, n_subvectors, random_state=0)
        restored = _centroids_side_by_side(indices, codebooks)
        errors.append(np.linalg.norm(restored - codes))
    assert np.all(np.diff(errors) < 0), errors


def test_pq_stores_one_byte_per_group_and_the_nearest_centroid():
    codes = _codes()
    indices, codebooks = quantize_product(codes, 4, random_state=0)
    assert indices.shape == (len(codes), 4) and indices.dtype == np.uint8
    assert codebooks.shape == (4, 256, 2)
    for group in range(4):
        subvectors = codes[:, 2 * group : 2 * group + 2]
        distances = np.linalg.norm(
            subvectors[:, None, :] - codebooks[group].astype(np.float64)[None], axis=2
        )
        # Each index points at a centroid as close as the closest one.
        chosen = distances[np.arange(len(codes)), indices[:, group]]
        np.testing.assert_allclose(chosen, distances.min(axis=1), atol=1e-12)


def test_pq_dequantization_puts_the_group_centroids_side_by_side():
    codes = _codes()
    indices, codebooks = quantize_product(codes, 2, random_state=0)
    np.testing.assert_array_equal(
        dequantize_product(indices, codebooks, dtype=np.float64),
        _centroids_side_by_side(indices, codebooks),
    )


def test_pq_with_at_most_256_distinct_rows_is_exact_up_to_float16():
    rng = np.random.default_rng(0)
    distinct = rng.normal(size=(40, 6))
    codes = distinct[rng.integers(0, 40, size=500)]
    indices, codebooks = quantize_product(codes, 3, random_state=0)
    restored = dequantize_product(indices, codebooks, dtype=np.float64)
    np.testing.assert_allclose(restored, codes, rtol=1e-3, atol=1e-3)


def test_pq_centroids_come_from_the_weighted_rows_only():
    codes = _codes(n_rows=600)
    weights = np.zeros(len(codes))
    weights[:100] = 1.0  # 100 distinct rows: each becomes a centroid
    indices, codebooks = quantize_product(codes, 4, sample_weight=weights)
    restored = dequantize_product(indices, codebooks, dtype=np.float64)
    np.testing.assert_allclose(restored[:100], codes[:100], rtol=1e-3, atol=1e-3)
    # The other rows are not centroids, so they are not reproduced.
    assert np.abs(restored[100:] - codes[100:]).max() > 0.1


def _clustered_codes(n_rows, seed=0):
    """``n_rows`` x 2 codes around 600 centres of different spreads, more than
    the 256 centroids can hold, and Zipf-like weights, some zero."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(600, 2)) * 3
    spreads = rng.uniform(0.05, 0.5, size=(600, 1))
    members = rng.integers(0, 600, size=n_rows)
    codes = centres[members] + rng.normal(size=(n_rows, 2)) * spreads[members]
    weights = 1 / np.sqrt(rng.permutation(n_rows) + 1.0)
    weights[rng.random(n_rows) < 0.1] = 0
    return codes, weights


def _weighted_error(codes, weights, restored):
    return np.average(((restored - codes) ** 2).sum(axis=1), weights=weights)


def test_pq_sampled_kmeans_error_is_within_20_percent_of_full_kmeans():
    # More rows than k-means trains on, so the centroids come from a sample and
    # a capped number of iterations; the reference is scikit-learn's k-means to
    # convergence on every weighted row (best of 3 starts), rows assigned to
    # their nearest centroid. Seeds 0 to 7 of these codes give 8-14% more error.
    codes, weights = _clustered_codes(2 * PQ_TRAINING_ROWS)
    assert len(codes) > PQ_TRAINING_ROWS
    indices, codebooks = quantize_product(
        codes, 1, sample_weight=weights, random_state=0
    )
    fast = _weighted_error(codes, weights, dequantize_product(indices, codebooks))
    weighted = weights > 0
    full = KMeans(256, n_init=3, random_state=0).fit(
        codes[weighted], sample_weight=weights[weighted]
    )
    full_error = _weighted_error(
        codes, weights, full.cluster_centers_[full.predict(codes)]
    )
    assert fast <= 1.20 * full_error, (fast, full_error)


def test_pq_gives_the_same_codes_for_the_same_int_seed():
    codes, weights = _clustered_codes(PQ_TRAINING_ROWS + 1000)
    codes = np.hstack([codes, codes[::-1], codes * 2])
    first = quantize_product(codes, 3, sample_weight=weights, random_state=7)
    second = quantize_product(codes, 3, sample_weight=weights, random_state=7)
    np.testing.assert_array_equal(second[0], first[0])
    np.testing.assert_array_equal(second[1], first[1])
    other = quantize_product(codes, 3, sample_weight=weights, random_state=8)
    assert not np.array_equal(other[1], first[1])


def test_pq_sampled_centroids_ignore_rows_of_weight_zero():
    codes, weights = _clustered_codes(3 * PQ_TRAINING_ROWS)
    weights[weights == 0] = 1.0
    far = np.arange(len(codes)) % 2 == 0
    codes[far] += 1000.0  # would pull centroids out there if they counted
    weights[far] = 0.0
    _, codebooks = quantize_product(codes, 1, sample_weight=weights, random_state=0)
    assert np.abs(codebooks.astype(np.float64)).max() < 100


def test_pq_rejects_a_non_divisor_number_of_subvectors():
    with pytest.raises(ValueError, match=r"n_subvectors=3 does not divide the 8"):
        quantize_product(_codes(n_rows=50), 3)


def test_default_subvectors_divide_and_hold_about_five_columns():
    for n_columns in range(1, 51):
        n_subvectors = default_subvectors(n_columns)
        assert n_columns % n_subvectors == 0
        others = [m for m in range(1, n_columns + 1) if n_columns % m == 0]
        assert all(
            abs(n_subvectors - n_columns / 5) <= abs(m - n_columns / 5) for m in others
        )


# -- through the estimator ----------------------------------------------------------


def _fit(source, corpus, **params):
    # The settings the manual computations below assume, whatever the defaults.
    params = {"vocabulary": "corpus", "pooling": "mean", "postprocess": None, **params}
    params = {"rank": 8, "random_state": 0, **params}
    return FactorizedEmbedding(source, **params).fit(corpus)


def test_int8_model_stores_the_codes_of_the_unquantized_model(
    small_table_path, small_corpus
):
    exact = _fit(small_table_path, small_corpus).embedding_
    quantized = _fit(small_table_path, small_corpus, quantization="int8")
    step = (exact.max(axis=0) - exact.min(axis=0)) / 255
    manual = quantized.code_offsets_ + quantized.code_scales_ * (
        quantized.quantized_codes_.astype(np.float64)
    )
    assert quantized.quantized_codes_.dtype == np.int8
    assert np.all(np.abs(manual - exact) <= step / 2 * (1 + 1e-4) + 1e-6)


def test_quantization_applies_to_the_postprocessed_codes(
    small_table_path, small_corpus
):
    exact = _fit(small_table_path, small_corpus, postprocess="ppa").embedding_
    quantized = _fit(
        small_table_path, small_corpus, postprocess="ppa", quantization="int8"
    ).embedding_
    step = (exact.max(axis=0) - exact.min(axis=0)) / 255
    assert np.all(np.abs(quantized - exact) <= step / 2 * (1 + 1e-4) + 1e-6)


@pytest.mark.parametrize("quantization", ["int8", "pq"])
def test_quantized_model_transforms_through_the_dequantized_codes(
    small_table_path, small_corpus, quantization
):
    embedding = _fit(small_table_path, small_corpus, quantization=quantization)
    if quantization == "int8":
        manual = embedding.code_offsets_ + embedding.code_scales_ * (
            embedding.quantized_codes_.astype(np.float64)
        )
    else:
        manual = _centroids_side_by_side(
            embedding.quantized_codes_, embedding.codebooks_
        )
    words = list(embedding.vocabulary_)
    np.testing.assert_allclose(embedding.transform_words(words), manual, rtol=1e-6)
    np.testing.assert_allclose(
        embedding.transform(small_corpus),
        _mean_pool(small_corpus, embedding.vocabulary_, manual),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        embedding.to_keyedvectors()[words[3]], manual[3], rtol=1e-6
    )
    np.testing.assert_allclose(
        embedding.inverse_transform(manual[:5]),
        manual[:5] @ embedding.components_ + embedding.mean_,
        rtol=1e-5,
        atol=1e-6,
    )


def test_pq_model_stores_one_byte_per_group(small_table_path, small_corpus):
    embedding = _fit(small_table_path, small_corpus, quantization="pq", pq_subvectors=4)
    n_words = len(embedding.vocabulary_)
    assert embedding.quantized_codes_.shape == (n_words, 4)
    assert embedding.quantized_codes_.dtype == np.uint8
    assert embedding.codebooks_.shape == (4, 256, 2)


def test_pq_subvectors_default_to_about_five_columns_each(
    small_table_path, small_corpus
):
    embedding = _fit(small_table_path, small_corpus, rank=10, quantization="pq")
    assert embedding.quantized_codes_.shape[1] == 2


def test_pq_subvectors_not_dividing_the_rank_is_an_error(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(
        small_table_path, rank=5, quantization="pq", pq_subvectors=2
    )
    with pytest.raises(ValueError, match=r"pq_subvectors=2 does not divide rank_=5"):
        embedding.fit(small_corpus)


def _fit_whole_table(source, quantization):
    return FactorizedEmbedding(
        source,
        rank=8,
        vocabulary="all",
        quantization=quantization,
        pq_subvectors=2,
        random_state=0,
    ).fit()


def _stored(embedding, how, path):
    """The size in bytes and the attribute names of ``embedding`` pickled, or
    saved to ``path``."""
    if how == "pickle":
        return len(pickle.dumps(embedding)), set(embedding.__getstate__())
    embedding.save(path)
    with np.load(path, allow_pickle=False) as archive:
        return path.stat().st_size, set(archive.files)


# That the quantized model comes back whole is tested with the other round trips
# (test_persistence.py).
@pytest.mark.parametrize("how", ["pickle", "save"])
@pytest.mark.parametrize("quantization", ["int8", "pq"])
def test_quantized_model_is_stored_smaller_without_its_float_codes(
    small_table_path, tmp_path, quantization, how
):
    embedding = _fit_whole_table(small_table_path, quantization)
    size, names = _stored(embedding, how, tmp_path / "quantized.npz")
    float_size, _ = _stored(
        _fit_whole_table(small_table_path, None), how, tmp_path / "float.npz"
    )
    assert size < float_size
    assert "quantized_codes_" in names
    assert "embedding_" not in names


def test_unquantized_pickle_keeps_the_codes(small_table_path, small_corpus):
    embedding = _fit(small_table_path, small_corpus)
    assert embedding.quantized_codes_ is None
    assert "embedding_" in embedding.__getstate__()


def test_bytes_per_word_and_nbytes_match_the_stored_arrays(small_table_path):
    n_words, rank, n_dims, n_subvectors = 300, 8, 12, 4
    float32, int8_bytes, pq_bytes = (
        rank * 4,
        (n_words * rank + 2 * rank * 4) / n_words,
        (n_words * n_subvectors + n_subvectors * 256 * (rank // n_subvectors) * 2)
        / n_words,
    )
    # components_, mean_, singular_values_, explained_variance_ratio_ (float32).
    factors = 4 * (rank * n_dims + n_dims + 2 * rank)
    expected_nbytes = {
        None: factors + n_words * rank * 4,
        "int8": factors + n_words * rank + 2 * rank * 4,
        "pq": factors + n_words * n_subvectors + n_subvectors * 256 * 2 * 2,
    }
    for quantization, bytes_per_word in [
        (None, float32),
        ("int8", int8_bytes),
        ("pq", pq_bytes),
    ]:
        embedding = FactorizedEmbedding(
            small_table_path,
            rank=rank,
            vocabulary="all",
            pooling="mean",
            postprocess=None,
            quantization=quantization,
            pq_subvectors=n_subvectors,
            random_state=0,
        ).fit()
        assert embedding.bytes_per_word_ == pytest.approx(bytes_per_word)
        assert embedding.nbytes_ == expected_nbytes[quantization]
