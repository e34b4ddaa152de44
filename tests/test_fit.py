"""The one fit path and its caches: a grid search over rank decomposes, pools
and counts each fold once, and a cache hit is what a fresh fit computes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_factorembed import FactorizedEmbedding, _fit, _text, clear_caches
from sklearn_factorembed._cache import LRUCache, cache_sizes
from sklearn_factorembed._vectors import load_table


@pytest.fixture
def decompositions(monkeypatch):
    """Fresh caches, and a list that records the weights of every
    decomposition computed."""
    clear_caches()
    calls = []
    factorize = _fit.factorize

    def recording(table, weights, *args, **kwargs):
        calls.append(None if weights is None else np.array(weights))
        return factorize(table, weights, *args, **kwargs)

    monkeypatch.setattr(_fit, "factorize", recording)
    yield calls
    clear_caches()


def _recorder(monkeypatch, module, name):
    calls = []
    function = getattr(module, name)

    def recording(*args, **kwargs):
        calls.append(None)
        return function(*args, **kwargs)

    monkeypatch.setattr(module, name, recording)
    return calls


def test_refit_at_another_rank_reuses_the_decomposition(
    small_table_path, small_corpus, decompositions
):
    first = FactorizedEmbedding(small_table_path, rank=6).fit(small_corpus)
    second = clone(first).set_params(rank=3).fit(small_corpus)
    assert len(decompositions) == 1
    np.testing.assert_array_equal(second.components_, first.components_[:3])
    np.testing.assert_array_equal(second.embedding_, first.embedding_[:, :3])


def test_refit_at_another_rank_pools_the_documents_once(
    small_table_path, small_corpus, decompositions, monkeypatch
):
    calls = _recorder(monkeypatch, _fit, "pooled_moments")
    first = FactorizedEmbedding(small_table_path, rank=6).fit(small_corpus)
    clone(first).set_params(rank=3).fit(small_corpus)
    assert len(calls) == 1


def test_refit_counts_the_documents_once_and_shares_them_read_only(
    small_table_path, small_corpus, decompositions, monkeypatch
):
    calls = _recorder(monkeypatch, _text, "count_tokens")
    first = FactorizedEmbedding(small_table_path, rank=6).fit(small_corpus)
    counts = clone(first).set_params(rank=3).fit_transform(small_corpus)
    assert len(calls) == 1
    assert counts.shape == (len(small_corpus), 3)
    vocabulary = load_table(small_table_path).vocabulary
    _, documents = _text.count_corpus(
        small_corpus, first.build_analyzer(), vocabulary, first.batch_size
    )
    assert len(calls) == 1  # served from the cache
    with pytest.raises(ValueError, match="read-only"):
        documents.matrix.data[0] = 0.0


def test_other_documents_with_the_same_word_counts_miss_the_cache(
    small_table_path, decompositions
):
    # Same words, counts and document frequencies: the same factors (one
    # decomposition), but other documents, hence other directions.
    first = ["w1 w2 w3", "w4 w5 w6", "w7 w8 w9", "w10 w11 w12"]
    second = ["w1 w5 w9", "w4 w8 w12", "w7 w11 w3", "w10 w2 w6"]
    FactorizedEmbedding(small_table_path, rank=3).fit(first)
    hit = FactorizedEmbedding(small_table_path, rank=3).fit(second)
    clear_caches()
    fresh = FactorizedEmbedding(small_table_path, rank=3).fit(second)
    assert len(decompositions) == 2  # the second fit hit the factors
    np.testing.assert_array_equal(hit.components_, fresh.components_)


def test_cache_hit_is_byte_identical_to_a_fresh_computation(
    small_table_path, small_corpus, decompositions
):
    FactorizedEmbedding(small_table_path, rank=5).fit(small_corpus)
    hit = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    clear_caches()
    fresh = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    assert len(decompositions) == 2
    for name in ("embedding_", "components_", "mean_", "singular_values_"):
        assert getattr(hit, name).tobytes() == getattr(fresh, name).tobytes()
    assert hit.reconstruction_error_ == fresh.reconstruction_error_


def test_different_weights_miss_the_cache(
    small_table_path, small_corpus, decompositions
):
    # The same kept words, counted differently, weigh the rows differently.
    FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus + small_corpus)
    assert len(decompositions) == 2
    assert decompositions[0].shape == decompositions[1].shape
    assert not np.array_equal(decompositions[0], decompositions[1])


def test_unweighted_and_other_solvers_miss_the_cache(
    small_table_path, small_corpus, decompositions
):
    embedding = FactorizedEmbedding(small_table_path, rank=4)
    embedding.fit(small_corpus)
    clone(embedding).set_params(weighting=None).fit(small_corpus)
    clone(embedding).set_params(solver="full").fit(small_corpus)
    assert len(decompositions) == 3


def test_randomized_solver_caches_only_with_a_seed_and_per_rank(
    small_table_path, small_corpus, decompositions
):
    embedding = FactorizedEmbedding(small_table_path, rank=4, solver="randomized")
    embedding.fit(small_corpus).fit(small_corpus)
    assert len(decompositions) == 2  # random_state=None: never cached
    seeded = clone(embedding).set_params(random_state=0)
    seeded.fit(small_corpus).fit(small_corpus)
    assert len(decompositions) == 3
    seeded.set_params(rank=5).fit(small_corpus)
    assert len(decompositions) == 4


def test_keyedvectors_source_is_not_cached(
    small_keyed_vectors, small_corpus, decompositions
):
    embedding = FactorizedEmbedding(small_keyed_vectors, rank=4)
    embedding.fit(small_corpus).fit(small_corpus)
    assert len(decompositions) == 2


def test_cached_factors_cannot_be_altered(
    small_table_path, small_corpus, decompositions, monkeypatch
):
    factors = []
    factorize_rows = _fit.factorize_rows

    def keeping(*args, **kwargs):
        factors.append(factorize_rows(*args, **kwargs))
        return factors[-1]

    monkeypatch.setattr(_fit, "factorize_rows", keeping)
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    embedding.components_[0, 0] += 1.0  # the estimator's own copy
    again = clone(embedding).fit(small_corpus)
    assert again.components_[0, 0] != embedding.components_[0, 0]
    assert factors[0] is factors[1]  # served from the cache
    for array in (factors[0].spectrum.components, factors[0].vectors):
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 0.0


def test_fits_keeping_the_whole_table_share_one_read_only_vocabulary(
    small_table_path, decompositions
):
    first = FactorizedEmbedding(small_table_path, rank=4, vocabulary="all").fit()
    # Other weights: a new decomposition, the same vocabulary object.
    second = clone(first).set_params(weighting=None).fit()
    assert len(decompositions) == 2
    assert second.vocabulary_ is first.vocabulary_
    with pytest.raises(TypeError, match="read-only"):
        first.vocabulary_["w0"] = 5
    assert first.vocabulary_["w0"] == 0


def test_grid_search_scores_are_the_same_with_and_without_caches(
    small_table_path, small_corpus, small_labels, monkeypatch
):
    clear_caches()
    pipeline = make_pipeline(
        FactorizedEmbedding(small_table_path, rank=2), RidgeClassifier()
    )
    grid = {"factorizedembedding__rank": [2, 4, 8]}
    cached = GridSearchCV(pipeline, grid, cv=3).fit(small_corpus, small_labels)
    assert cache_sizes()["factors"] > 0
    clear_caches()
    monkeypatch.setattr(
        LRUCache, "get_or_compute", lambda cache, key, compute: compute()
    )
    uncached = GridSearchCV(pipeline, grid, cv=3).fit(small_corpus, small_labels)
    assert cache_sizes()["factors"] == 0
    np.testing.assert_array_equal(
        cached.cv_results_["mean_test_score"], uncached.cv_results_["mean_test_score"]
    )


def test_counts_of_streams_and_long_inputs_are_not_cached(
    small_table_path, small_corpus
):
    clear_caches()
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    assert cache_sizes()["corpora"] == 1  # the fit corpus, one batch
    clone(embedding).set_params(batch_size=50).fit(small_corpus)
    clone(embedding).fit(document for document in small_corpus)
    assert cache_sizes()["corpora"] == 1
    embedding.transform(document for document in small_corpus)
    embedding.set_params(batch_size=50).transform(small_corpus)
    assert cache_sizes()["counts"] == 0
    embedding.set_params(batch_size=10_000).transform(small_corpus)
    assert cache_sizes()["counts"] == 1


def test_concurrent_fits_agree(small_table_path, small_corpus, decompositions):
    embedding = FactorizedEmbedding(small_table_path, rank=4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        fitted = list(
            pool.map(lambda _: clone(embedding).fit(small_corpus).embedding_, range(8))
        )
    assert len(decompositions) == 1
    for codes in fitted[1:]:
        np.testing.assert_array_equal(codes, fitted[0])
