"""The one fit path: what a fit makes of the table and the corpus (the
vocabulary kept, the factors, the documents' subspace, the supervised
directions), against numpy, and its caches: a grid search over rank decomposes,
pools and counts each fold once, and a cache hit is what a fresh fit computes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pytest
from gensim.models import KeyedVectors
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_factorembed import (
    FactorizedEmbedding,
    _factorize,
    _fit,
    _text,
    clear_caches,
    load_vectors,
)
from sklearn_factorembed._cache import LRUCache, cache_sizes
from sklearn_factorembed._factorize import encode
from sklearn_factorembed._vectors import load_table


def _kept_table(embedding, source):
    table = load_vectors(source)
    return np.array([table[word] for word in embedding.vocabulary_], dtype=float)


def _token_counts(documents, words) -> np.ndarray:
    """How often each of ``words`` occurs in ``documents``, split on spaces."""
    position = {word: index for index, word in enumerate(words)}
    counts = np.zeros(len(words))
    for document in documents:
        for token in document.split():
            counts[position[token]] += 1
    return counts


def _weighted_svd(table: np.ndarray, weights: np.ndarray):
    """Weighted mean, singular values and right singular vectors of ``table``,
    its rows scaled by the square roots of the weights rescaled to mean 1."""
    weights = weights / weights.mean()
    mean = np.average(table, axis=0, weights=weights)
    _, singular_values, right = np.linalg.svd(
        (table - mean) * np.sqrt(weights)[:, None], full_matrices=False
    )
    return mean, singular_values, right


def _projector(directions: np.ndarray) -> np.ndarray:
    return directions.T @ directions


def _mean_rows(source, documents) -> np.ndarray:
    """Each document as the plain mean of its words' rows in the table."""
    table = load_vectors(source)
    return np.array([table[document.split()].mean(axis=0) for document in documents])


def _top_directions(samples: np.ndarray, k: int) -> np.ndarray:
    centred = samples - samples.mean(axis=0)
    return np.linalg.svd(centred, full_matrices=False)[2][:k]


@pytest.fixture(scope="module")
def plain(core):
    """The core estimator in float64, without row weights and with the
    documents' subspace: pooled documents are the plain means of their words'
    rows."""
    return partial(core, weighting=None, subspace="documents", dtype=np.float64)


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


# -- the vocabulary kept -----------------------------------------------------------


def test_vocabulary_is_the_corpus_words_found_in_the_table(fitted, small_corpus):
    corpus_words = {token for document in small_corpus for token in document.split()}
    assert set(fitted.vocabulary_) == corpus_words
    assert sorted(fitted.vocabulary_.values()) == list(range(len(corpus_words)))


def test_vocabulary_all_keeps_the_whole_table_without_documents(core, small_table_path):
    embedding = core(small_table_path, rank=3, vocabulary="all").fit()
    assert len(embedding.vocabulary_) == 300


def test_vocabulary_int_keeps_the_first_rows(core, small_table_path):
    embedding = core(small_table_path, rank=3, vocabulary=50).fit(None)
    assert list(embedding.vocabulary_) == [f"w{i}" for i in range(50)]


def test_vocabulary_list_keeps_the_given_words(core, small_table_path):
    words = ["w7", "w3", "w250", "w3"]
    embedding = core(small_table_path, rank=2, vocabulary=words).fit()
    assert set(embedding.vocabulary_) == {"w3", "w7", "w250"}


def test_vocabulary_list_with_unknown_words_warns(core, small_table_path):
    with pytest.warns(UserWarning, match="1 of the 3 words"):
        core(small_table_path, rank=2, vocabulary=["w1", "w2", "zebra"]).fit()


def test_words_outside_the_corpus_are_encoded_but_not_fitted(
    core, small_table_path, small_corpus
):
    params = {"rank": 3, "weighting": "frequency", "dtype": np.float64}
    corpus_only = core(small_table_path, vocabulary="corpus", **params)
    table_wide = core(small_table_path, vocabulary="all", **params)
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


def test_vocabulary_does_not_follow_later_changes_to_the_keyedvectors(
    small_keyed_vectors,
):
    table = KeyedVectors(small_keyed_vectors.vector_size)
    table.add_vectors(small_keyed_vectors.index_to_key, small_keyed_vectors.vectors)
    embedding = FactorizedEmbedding(table, rank=4, vocabulary="all").fit()
    table.add_vectors(["new"], np.ones((1, table.vector_size), dtype=np.float32))
    assert "new" not in embedding.vocabulary_
    assert len(embedding.vocabulary_) == len(table) - 1


# -- the factors -------------------------------------------------------------------


def test_fitted_shapes_and_parameter_count(fitted):
    n_words = len(fitted.vocabulary_)
    assert fitted.embedding_.shape == (n_words, 4)
    assert fitted.components_.shape == (4, 12)
    assert fitted.mean_.shape == (12,)
    assert fitted.singular_values_.shape == fitted.explained_variance_ratio_.shape
    assert fitted.n_parameters_ == n_words * 4 + 4 * 12 + 12
    assert fitted.compression_ratio_ == pytest.approx(
        n_words * 12 / fitted.n_parameters_
    )
    assert fitted.embedding_.dtype == np.float32


@pytest.mark.parametrize(
    "weighting, weigh",
    [("log-frequency", np.log1p), ("frequency", np.sqrt), (None, np.ones_like)],
)
def test_factors_are_the_weighted_svd_of_the_kept_table(
    core, small_table_path, small_corpus, weighting, weigh
):
    embedding = core(small_table_path, rank=4, weighting=weighting)
    embedding.fit(small_corpus)
    table = _kept_table(embedding, small_table_path)
    weights = weigh(_token_counts(small_corpus, list(embedding.vocabulary_)))
    mean, singular_values, right = _weighted_svd(table, weights)

    # float32 table, float32 block moments: float32 precision.
    np.testing.assert_allclose(embedding.mean_, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        embedding.singular_values_, singular_values[:4], rtol=1e-5
    )
    np.testing.assert_allclose(
        np.abs(np.sum(embedding.components_ * right[:4], axis=1)), 1.0, atol=1e-5
    )
    np.testing.assert_allclose(
        _projector(embedding.components_), _projector(right[:4]), atol=1e-6
    )
    np.testing.assert_allclose(
        embedding.embedding_, (table - mean) @ embedding.components_.T, atol=1e-4
    )
    dropped = np.sqrt(np.sum(singular_values[4:] ** 2) / np.sum(singular_values**2))
    assert embedding.reconstruction_error_ == pytest.approx(dropped, rel=1e-5)


@pytest.mark.parametrize(
    "weighting, other", [("log-frequency", None), ("frequency", "log-frequency")]
)
def test_each_weighting_gives_other_factors(
    core, small_table_path, small_corpus, weighting, other
):
    one = core(small_table_path, rank=3, weighting=weighting).fit(small_corpus)
    two = core(small_table_path, rank=3, weighting=other).fit(small_corpus)
    assert not np.allclose(one.mean_, two.mean_, atol=1e-3)


def test_without_documents_counts_follow_zipf_over_the_table_order(
    core, small_table_path
):
    embedding = core(small_table_path, rank=3, vocabulary="all", weighting="frequency")
    embedding.fit()
    table = np.asarray(load_vectors(small_table_path).vectors, dtype=np.float64)
    zipf = 1.0 / np.arange(1, len(table) + 1)
    mean, _, right = _weighted_svd(table, np.sqrt(zipf))
    # float32 table, float32 block moments: float32 precision.
    np.testing.assert_allclose(embedding.mean_, mean, atol=1e-6)
    np.testing.assert_allclose(
        _projector(embedding.components_), _projector(right[:3]), atol=1e-6
    )


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


def test_full_rank_reproduces_the_vectors(core, small_table_path, small_corpus):
    embedding = core(small_table_path, rank=12).fit(small_corpus)
    table = _kept_table(embedding, small_table_path)
    reconstruction = embedding.inverse_transform(embedding.embedding_)
    np.testing.assert_allclose(reconstruction, table, atol=1e-4)


def test_qr_solver_error_is_at_least_the_svd_error(
    core, small_table_path, small_corpus
):
    svd = core(small_table_path, rank=3).fit(small_corpus)
    qr = core(small_table_path, rank=3, solver="qr").fit(small_corpus)
    assert qr.reconstruction_error_ > svd.reconstruction_error_


@pytest.mark.parametrize("solver", ["covariance", "full", "randomized"])
def test_svd_solvers_give_the_same_codes(core, small_table_path, small_corpus, solver):
    reference = core(small_table_path, rank=3, solver="full")
    reference.fit(small_corpus)
    embedding = core(small_table_path, rank=3, solver=solver, random_state=0).fit(
        small_corpus
    )
    np.testing.assert_allclose(
        np.abs(embedding.embedding_), np.abs(reference.embedding_), atol=1e-4
    )


def test_rank_fraction_resolves_to_smallest_rank_reaching_it(
    core, small_table_path, small_corpus
):
    full = core(small_table_path, rank=12).fit(small_corpus)
    cumulative = np.cumsum(full.explained_variance_ratio_)
    embedding = core(small_table_path, rank=0.9).fit(small_corpus)
    assert cumulative[embedding.rank_ - 1] >= 0.9 - 1e-6
    assert cumulative[embedding.rank_ - 2] < 0.9
    assert embedding.embedding_.shape[1] == embedding.rank_


def test_dtype_float64_is_kept(core, small_table_path, small_corpus):
    embedding = core(small_table_path, rank=3, dtype=np.float64)
    assert embedding.fit_transform(small_corpus).dtype == np.float64
    assert embedding.components_.dtype == np.float64


# -- subspace="documents" -------------------------------------------------------


def test_directions_are_the_principal_directions_of_the_pooled_documents(
    plain, small_table_path, small_corpus
):
    embedding = plain(small_table_path, rank=4).fit(small_corpus)
    expected = _top_directions(_mean_rows(small_table_path, small_corpus), 4)
    np.testing.assert_allclose(
        _projector(embedding.components_), _projector(expected), atol=1e-6
    )
    # The codes are still the projections of the words, and the singular
    # values the table's norms along the directions.
    table = _kept_table(embedding, small_table_path)
    centred = table - table.mean(axis=0)
    np.testing.assert_allclose(embedding.mean_, table.mean(axis=0), atol=1e-10)
    np.testing.assert_allclose(
        embedding.embedding_, centred @ embedding.components_.T, atol=1e-6
    )
    np.testing.assert_allclose(
        embedding.singular_values_,
        np.linalg.norm(centred @ embedding.components_.T, axis=0),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        embedding.components_ @ embedding.components_.T, np.eye(4), atol=1e-10
    )


def test_they_differ_from_the_words_directions(plain, small_table_path, small_corpus):
    documents = plain(small_table_path, rank=4).fit(small_corpus)
    words = plain(small_table_path, rank=4, subspace="words").fit(small_corpus)
    assert not np.allclose(
        _projector(documents.components_), _projector(words.components_), atol=1e-3
    )
    # The words' directions are the optimum for the words.
    assert documents.reconstruction_error_ > words.reconstruction_error_


@pytest.fixture(scope="module")
def signal_that_survives_pooling():
    """Words vary most along axes that average out in a document; documents
    vary along the one axis their words share (+1 in a positive document, -1 in
    a negative one), the axis of least variance over the words."""
    rng = np.random.default_rng(0)
    n_per_class, n_dims = 100, 5
    vectors = rng.normal(size=(2 * n_per_class, n_dims)) * [5, 4, 3, 2, 0.1]
    # Both classes of words centred on the other axes, which then carry no
    # class signal.
    for words in (slice(0, n_per_class), slice(n_per_class, None)):
        vectors[words, :-1] -= vectors[words, :-1].mean(axis=0)
    vectors[:, -1] += np.repeat([1.0, -1.0], n_per_class)
    words = [f"pos{i}" for i in range(n_per_class)] + [
        f"neg{i}" for i in range(n_per_class)
    ]
    table = KeyedVectors(vector_size=n_dims)
    table.add_vectors(words, vectors)
    documents = [
        " ".join(f"{sign}{i}" for i in rng.choice(n_per_class, size=60))
        for sign in rng.choice(["pos", "neg"], size=200)
    ]
    return table, documents


def test_rank_one_keeps_what_documents_vary_along(plain, signal_that_survives_pooling):
    table, documents = signal_that_survives_pooling
    by_documents = plain(table, rank=1).fit(documents)
    by_words = plain(table, rank=1, subspace="words").fit(documents)
    assert abs(by_documents.components_[0, -1]) > 0.99
    assert abs(by_words.components_[0, -1]) < 0.1


def test_fewer_documents_than_dimensions_leave_the_rest_to_the_words(
    plain, small_table_path, small_corpus
):
    documents = small_corpus[:3]  # their pooled rows span 2 centred directions
    embedding = plain(small_table_path, rank=5).fit(documents)
    spanned = _top_directions(_mean_rows(small_table_path, documents), 2)
    np.testing.assert_allclose(
        _projector(embedding.components_[:2]), _projector(spanned), atol=1e-6
    )
    # The other three: the top variance directions of the words orthogonal to
    # those two.
    table = _kept_table(embedding, small_table_path)
    centred = table - table.mean(axis=0)
    complement = np.eye(table.shape[1]) - _projector(spanned)
    rest = np.linalg.svd(centred @ complement, full_matrices=False)[2][:3]
    np.testing.assert_allclose(
        _projector(embedding.components_[2:]), _projector(rest), atol=1e-6
    )


def test_fit_without_documents_is_the_words_fit(plain, small_table_path):
    documents = plain(small_table_path, rank=4, vocabulary=100).fit()
    words = plain(small_table_path, rank=4, vocabulary=100, subspace="words").fit()
    np.testing.assert_array_equal(documents.components_, words.components_)


# -- supervised=True --------------------------------------------------------------


# The dimensions of signal_in_low_variance's table and its axis of class signal.
# Its tests fit the words' subspace: the variance part after the discriminant is
# then the words' (the documents' follows the discriminant in
# test_supervised_puts_the_documents_directions_after_the_discriminant).
N_DIMS = 6
SIGNAL_DIM = N_DIMS - 1


@pytest.fixture(scope="module")
def signal_in_low_variance():
    """A table whose class signal lives along its lowest-variance axis.

    Positive words sit at +1 along the last axis, negative words at -1, and
    every axis but the last has far more variance, so PCA ranks it last.
    """
    rng = np.random.default_rng(0)
    n_per_class = 60
    vectors = rng.normal(size=(2 * n_per_class, N_DIMS)) * [5, 4, 3, 2, 1.5, 0.1]
    vectors[:, SIGNAL_DIM] += np.repeat([1.0, -1.0], n_per_class)
    words = [f"pos{i}" for i in range(n_per_class)] + [
        f"neg{i}" for i in range(n_per_class)
    ]
    table = KeyedVectors(vector_size=N_DIMS)
    table.add_vectors(words, vectors)
    labels = rng.integers(0, 2, size=300)
    documents = [
        " ".join(
            f"{'pos' if label else 'neg'}{i}"
            for i in rng.choice(n_per_class, size=rng.integers(3, 8))
        )
        for label in labels
    ]
    return table, documents, labels


def test_supervised_rank_one_keeps_the_class_signal_unsupervised_loses_it(
    plain, signal_in_low_variance
):
    table, documents, labels = signal_in_low_variance
    supervised = plain(table, subspace="words", rank=1, supervised=True)
    unsupervised = plain(table, subspace="words", rank=1)
    assert abs(supervised.fit(documents, labels).components_[0, SIGNAL_DIM]) > 0.99
    assert abs(unsupervised.fit(documents, labels).components_[0, SIGNAL_DIM]) < 0.1
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = {
        name: cross_validate(
            make_pipeline(embedding, LogisticRegression()),
            documents,
            labels,
            cv=folds,
        )["test_score"].mean()
        for name, embedding in [("sup", supervised), ("unsup", unsupervised)]
    }
    assert scores["sup"] > 0.95
    assert scores["unsup"] < 0.7


def test_first_direction_is_fishers_discriminant_of_the_pooled_documents(
    plain, signal_in_low_variance
):
    table, documents, labels = signal_in_low_variance
    embedding = plain(table, subspace="words", rank=3, supervised=True)
    embedding.fit(documents, labels)

    vectors = np.array([table[words.split()].mean(axis=0) for words in documents])
    means = [vectors[labels == label].mean(axis=0) for label in (0, 1)]
    within = sum(
        (vectors[labels == label] - means[label]).T
        @ (vectors[labels == label] - means[label])
        for label in (0, 1)
    )
    within += 1e-3 * np.trace(within) / N_DIMS * np.eye(N_DIMS)
    fisher = np.linalg.solve(within, means[1] - means[0])
    fisher /= np.linalg.norm(fisher)

    assert abs(embedding.components_[0] @ fisher) == pytest.approx(1.0, abs=1e-6)


def test_other_directions_are_the_top_variance_orthogonal_to_the_discriminant(
    plain, signal_in_low_variance
):
    table, documents, labels = signal_in_low_variance
    embedding = plain(table, subspace="words", rank=3, supervised=True)
    embedding.fit(documents, labels)
    components = embedding.components_
    np.testing.assert_allclose(components @ components.T, np.eye(3), atol=1e-10)

    vectors = np.array([table[word] for word in embedding.vocabulary_])
    centred = vectors - vectors.mean(axis=0)
    complement = np.eye(N_DIMS) - np.outer(components[0], components[0])
    expected = np.linalg.svd(centred @ complement, full_matrices=False)[2][:2]
    np.testing.assert_allclose(
        components[1:].T @ components[1:], expected.T @ expected, atol=1e-8
    )


def test_supervised_puts_the_documents_directions_after_the_discriminant(
    plain, small_table_path, small_corpus, small_labels
):
    embedding = plain(small_table_path, rank=3, supervised=True)
    embedding.fit(small_corpus, small_labels)
    discriminant = embedding.components_[:1]
    documents = _mean_rows(small_table_path, small_corpus)
    complement = np.eye(documents.shape[1]) - _projector(discriminant)
    expected = _top_directions(documents @ complement, 2)
    np.testing.assert_allclose(
        _projector(embedding.components_[1:]), _projector(expected), atol=1e-6
    )


@pytest.mark.parametrize("postprocess", ["abtt", "ppa"])
def test_supervised_keeps_the_class_signal_through_postprocessing(
    plain, signal_in_low_variance, postprocess
):
    # The discriminant is sought in what post-processing leaves (orthogonality
    # to the removed directions: test_postprocess.py).
    table, documents, labels = signal_in_low_variance
    embedding = plain(
        table, subspace="words", rank=3, supervised=True, postprocess=postprocess
    ).fit(documents, labels)
    assert abs(embedding.components_[0, SIGNAL_DIM]) > 0.99


# -- the caches --------------------------------------------------------------------


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
    vocabulary = load_table(small_table_path).lookup
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


def test_concurrent_fits_on_a_fresh_table_decompose_once_and_agree(
    small_keyed_vectors, small_corpus, tmp_path, decompositions
):
    # Eight clones load the same (uncached) table at once through the cache,
    # and ask for the same decomposition at once.
    path = tmp_path / "table.txt"
    small_keyed_vectors.save_word2vec_format(str(path))
    template = FactorizedEmbedding(path, rank=4)
    with ThreadPoolExecutor(max_workers=8) as pool:
        fitted = list(
            pool.map(lambda _: clone(template).fit(small_corpus).embedding_, range(8))
        )
    assert len(decompositions) == 1
    reference = template.fit(small_corpus).embedding_
    for codes in fitted:
        np.testing.assert_array_equal(codes, reference)


# -- the default table and the real data ----------------------------------------


def test_full_rank_on_glove_reproduces_the_vectors(movie_reviews):
    documents, _ = movie_reviews
    # The default post-processing steps aside at rank=d: the table comes back.
    embedding = FactorizedEmbedding(rank=50).fit(documents[:2000])
    table = load_vectors("glove-6b-50d")
    words = list(embedding.vocabulary_)[:5000]
    original = np.array([table[word] for word in words])
    reconstruction = embedding.inverse_transform(embedding.transform_words(words))
    np.testing.assert_allclose(reconstruction, original, atol=1e-4)


def test_fit_runs_blas_on_one_thread_and_restores_it(
    small_table_path, small_corpus, small_labels, monkeypatch, two_blas_threads
):
    # Small products lose to BLAS's threads (see _factorize.single_threaded_blas);
    # the blocks of rows still spread over the two threads BLAS had.
    threads_seen = []

    def recording_encode(*args, **kwargs):
        threads_seen.append(
            (_factorize._current_blas_threads(), _factorize._blas_threads())
        )
        return encode(*args, **kwargs)

    monkeypatch.setattr(_fit, "encode", recording_encode)
    embedding = FactorizedEmbedding(small_table_path, rank=3, supervised="tune")
    embedding.fit(small_corpus, small_labels)
    assert threads_seen == [(1, 2)]
    assert _factorize._current_blas_threads() == 2
