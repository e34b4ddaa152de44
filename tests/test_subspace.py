"""subspace="documents": the directions along which the pooled documents vary."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from sklearn.base import clone

from sklearn_factorembed import FactorizedEmbedding, load_vectors


def _plain(source, **params) -> FactorizedEmbedding:
    """No weighting, mean pooling, no post-processing: pooled documents are the
    plain means of their words' rows."""
    params = {
        "weighting": None,
        "pooling": "mean",
        "postprocess": None,
        "dtype": np.float64,
        **params,
    }
    return FactorizedEmbedding(source, **params)


def _mean_rows(source, documents) -> np.ndarray:
    table = load_vectors(source)
    return np.array([table[document.split()].mean(axis=0) for document in documents])


def _top_directions(samples: np.ndarray, k: int) -> np.ndarray:
    centred = samples - samples.mean(axis=0)
    return np.linalg.svd(centred, full_matrices=False)[2][:k]


def _projector(directions: np.ndarray) -> np.ndarray:
    return directions.T @ directions


def _kept_table(embedding, source) -> np.ndarray:
    table = load_vectors(source)
    return np.array([table[word] for word in embedding.vocabulary_], dtype=float)


def test_directions_are_the_principal_directions_of_the_pooled_documents(
    small_table_path, small_corpus
):
    embedding = _plain(small_table_path, rank=4).fit(small_corpus)
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


def test_they_differ_from_the_words_directions(small_table_path, small_corpus):
    documents = _plain(small_table_path, rank=4).fit(small_corpus)
    words = _plain(small_table_path, rank=4, subspace="words").fit(small_corpus)
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


def test_rank_one_keeps_what_documents_vary_along(signal_that_survives_pooling):
    table, documents = signal_that_survives_pooling
    by_documents = _plain(table, rank=1).fit(documents)
    by_words = _plain(table, rank=1, subspace="words").fit(documents)
    assert abs(by_documents.components_[0, -1]) > 0.99
    assert abs(by_words.components_[0, -1]) < 0.1


def test_fewer_documents_than_dimensions_leave_the_rest_to_the_words(
    small_table_path, small_corpus
):
    documents = small_corpus[:3]  # their pooled rows span 2 centred directions
    embedding = _plain(small_table_path, rank=5).fit(documents)
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


def test_documents_pooled_batch_by_batch_give_the_same_directions(
    small_table_path, small_corpus
):
    whole = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    batched = FactorizedEmbedding(small_table_path, rank=4, batch_size=7)
    batched.fit(small_corpus)
    np.testing.assert_allclose(
        _projector(batched.components_), _projector(whole.components_), atol=1e-6
    )


def test_directions_avoid_the_postprocessed_ones(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=6, n_removed=2)
    embedding.fit(small_corpus)
    assert embedding.removed_directions_.shape == (2, 12)
    np.testing.assert_allclose(
        embedding.components_ @ embedding.removed_directions_.T, 0.0, atol=1e-6
    )


def test_fit_without_documents_is_the_words_fit(small_table_path):
    documents = _plain(small_table_path, rank=4, vocabulary=100).fit()
    words = _plain(small_table_path, rank=4, vocabulary=100, subspace="words").fit()
    np.testing.assert_array_equal(documents.components_, words.components_)


def test_partial_fit_takes_the_directions_of_the_latest_batch(
    small_table_path, small_corpus
):
    streamed = _plain(small_table_path, rank=4)
    streamed.partial_fit(small_corpus[:60]).partial_fit(small_corpus[60:])
    fitted = clone(streamed).fit(small_corpus)
    # The word statistics are those of both batches...
    assert streamed.vocabulary_ == fitted.vocabulary_
    np.testing.assert_allclose(streamed.mean_, fitted.mean_)
    # ...the documents those of the latest.
    expected = _top_directions(_mean_rows(small_table_path, small_corpus[60:]), 4)
    np.testing.assert_allclose(
        _projector(streamed.components_), _projector(expected), atol=1e-6
    )


def test_supervised_puts_the_documents_directions_after_the_discriminant(
    small_table_path, small_corpus, small_labels
):
    embedding = _plain(small_table_path, rank=3, supervised=True)
    embedding.fit(small_corpus, small_labels)
    discriminant = embedding.components_[:1]
    documents = _mean_rows(small_table_path, small_corpus)
    complement = np.eye(documents.shape[1]) - _projector(discriminant)
    expected = _top_directions(documents @ complement, 2)
    np.testing.assert_allclose(
        _projector(embedding.components_[1:]), _projector(expected), atol=1e-6
    )


def test_unknown_subspace_is_refused(small_table_path, small_corpus):
    with pytest.raises(ValueError, match="subspace"):
        FactorizedEmbedding(small_table_path, subspace="sentences").fit(small_corpus)
