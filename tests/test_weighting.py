"""Row weights of the factorization and the table-wide vocabulary, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from sklearn_factorembed import FactorizedEmbedding, load_vectors


def _weighted_pca(table: np.ndarray, weights: np.ndarray, rank: int):
    mean = np.average(table, axis=0, weights=weights)
    scaled = (table - mean) * np.sqrt(weights / weights.mean())[:, None]
    return mean, np.linalg.svd(scaled, full_matrices=False)[2][:rank]


def _projector(rows: np.ndarray) -> np.ndarray:
    return rows.T @ rows


def _plain(source, **params) -> FactorizedEmbedding:
    params = {
        "pooling": "mean",
        "postprocess": None,
        "subspace": "words",
        "dtype": np.float64,
        **params,
    }
    return FactorizedEmbedding(source, **params)


def _token_counts(documents, words) -> np.ndarray:
    position = {word: index for index, word in enumerate(words)}
    counts = np.zeros(len(words))
    for document in documents:
        for token in document.split():
            counts[position[token]] += 1
    return counts


def test_frequency_weights_rows_by_the_square_root_of_their_counts(
    small_table_path, small_corpus
):
    embedding = _plain(small_table_path, rank=3, vocabulary="corpus")
    embedding.fit(small_corpus)
    words = list(embedding.vocabulary_)
    table = np.asarray(load_vectors(small_table_path)[words], dtype=np.float64)
    counts = _token_counts(small_corpus, words)
    mean, components = _weighted_pca(table, np.sqrt(counts), 3)
    # float32 table, float32 block moments: float32 precision.
    np.testing.assert_allclose(embedding.mean_, mean, atol=1e-6)
    np.testing.assert_allclose(
        _projector(embedding.components_), _projector(components), atol=1e-6
    )


def test_words_outside_the_corpus_are_encoded_but_not_fitted(
    small_table_path, small_corpus
):
    corpus_only = _plain(small_table_path, rank=3, vocabulary="corpus")
    table_wide = _plain(small_table_path, rank=3, vocabulary="all")
    corpus_only.fit(small_corpus)
    table_wide.fit(small_corpus)
    np.testing.assert_allclose(table_wide.components_, corpus_only.components_)
    np.testing.assert_allclose(table_wide.mean_, corpus_only.mean_)
    # w250 never occurs in the corpus (it uses w0..w199) but gets its code.
    assert "w250" not in corpus_only.vocabulary_
    vector = np.asarray(load_vectors(small_table_path)["w250"], dtype=np.float64)
    np.testing.assert_allclose(
        table_wide.transform_words(["w250"])[0],
        (vector - table_wide.mean_) @ table_wide.components_.T,
        atol=1e-10,
    )


def test_without_documents_counts_follow_zipf_over_the_table_order(
    small_table_path,
):
    embedding = _plain(small_table_path, rank=3, vocabulary="all").fit()
    table = np.asarray(load_vectors(small_table_path).vectors, dtype=np.float64)
    zipf = 1.0 / np.arange(1, len(table) + 1)
    mean, components = _weighted_pca(table, np.sqrt(zipf), 3)
    # float32 table, float32 block moments: float32 precision.
    np.testing.assert_allclose(embedding.mean_, mean, atol=1e-6)
    np.testing.assert_allclose(
        _projector(embedding.components_), _projector(components), atol=1e-6
    )


def test_log_frequency_weighting_differs_from_frequency(small_table_path, small_corpus):
    by_sqrt = _plain(small_table_path, rank=2).fit(small_corpus)
    by_log = _plain(small_table_path, rank=2, weighting="log-frequency")
    by_log.fit(small_corpus)
    assert not np.allclose(by_sqrt.mean_, by_log.mean_)


@pytest.mark.parametrize("pooling", ["sif", "sif-weighted"])
def test_sif_pooling_without_documents_uses_zipf_probabilities(
    small_table_path, pooling
):
    embedding = FactorizedEmbedding(
        small_table_path, rank=2, vocabulary="all", pooling=pooling
    ).fit()
    zipf = 1.0 / np.arange(1, 301)
    expected = 1e-3 / (1e-3 + zipf / zipf.sum())
    np.testing.assert_allclose(embedding.pooling_weights_, expected, rtol=1e-6)
    assert embedding.common_component_ is None


def test_sif_weighted_pooling_is_the_sif_weighted_mean_of_codes(
    small_table_path, small_corpus
):
    embedding = _plain(small_table_path, rank=3, pooling="sif-weighted")
    codes = embedding.fit_transform(small_corpus)
    assert embedding.common_component_ is None
    counts = _token_counts(small_corpus, list(embedding.vocabulary_))
    word_weights = 1e-3 / (1e-3 + counts / counts.sum())
    for document, code in zip(small_corpus[:5], codes[:5], strict=True):
        tokens = document.split()
        token_weights = np.array(
            [word_weights[embedding.vocabulary_[t]] for t in tokens]
        )
        expected = (
            token_weights @ embedding.transform_words(tokens) / token_weights.sum()
        )
        np.testing.assert_allclose(code, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("parameter", "default"),
    [
        # "all" scores about 1 point higher at rank 10 but makes every model
        # hold a code per table word (40 MB for GloVe); see its docstring.
        ("vocabulary", "corpus"),
        ("weighting", "frequency"),
        ("pooling", "sif-weighted"),
        ("postprocess", "abtt"),
        ("supervised", False),
    ],
)
def test_defaults_are_the_benchmarked_winners(parameter, default):
    # benchmarks/quality.py measures these; change them together with README.
    assert FactorizedEmbedding().get_params()[parameter] == default
