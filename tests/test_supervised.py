"""supervised=True: discriminant directions first, then variance."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed._factorize import discriminant_directions

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


def _params(table, **params):
    return {
        "vectors": table,
        "weighting": None,
        "pooling": "mean",
        "postprocess": None,
        # The variance part is the words' (the documents' in test_subspace.py).
        "subspace": "words",
        "dtype": np.float64,
        **params,
    }


def test_supervised_rank_one_keeps_the_class_signal_unsupervised_loses_it(
    signal_in_low_variance,
):
    table, documents, labels = signal_in_low_variance
    supervised = FactorizedEmbedding(**_params(table, rank=1, supervised=True))
    unsupervised = FactorizedEmbedding(**_params(table, rank=1))
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
    signal_in_low_variance,
):
    table, documents, labels = signal_in_low_variance
    embedding = FactorizedEmbedding(**_params(table, rank=3, supervised=True))
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
    signal_in_low_variance,
):
    table, documents, labels = signal_in_low_variance
    embedding = FactorizedEmbedding(**_params(table, rank=3, supervised=True))
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


def test_supervised_without_labels_is_an_error(small_table_path, small_corpus):
    with pytest.raises(ValueError, match="supervised=True .* y=None"):
        FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(small_corpus)


def test_supervised_with_one_class_is_an_error(small_table_path, small_corpus):
    with pytest.raises(ValueError, match="at least two classes"):
        FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(
            small_corpus, np.zeros(len(small_corpus))
        )


def test_supervised_with_labels_of_another_length_is_an_error(
    small_table_path, small_corpus
):
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(
            small_corpus, np.zeros(3)
        )


def test_unsupervised_fit_ignores_y(small_table_path, small_corpus, small_labels):
    embedding = FactorizedEmbedding(small_table_path, rank=3)
    without = embedding.fit(small_corpus).components_.copy()
    # Even labels that a classifier would reject are ignored.
    with_labels = embedding.fit(small_corpus, np.linspace(0, 1, 120)).components_
    np.testing.assert_array_equal(without, with_labels)


def test_cross_validation_fits_on_the_training_folds_labels_only(
    small_table_path, small_corpus, small_labels
):
    folds = list(
        StratifiedKFold(3, shuffle=True, random_state=0).split(
            small_corpus, small_labels
        )
    )
    embedding = FactorizedEmbedding(small_table_path, rank=3, supervised=True)
    results = cross_validate(
        make_pipeline(embedding, LogisticRegression()),
        small_corpus,
        small_labels,
        cv=folds,
        return_estimator=True,
    )
    documents = np.array(small_corpus)
    everything = FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(
        small_corpus, small_labels
    )
    for (train, _), fitted in zip(folds, results["estimator"], strict=True):
        fold_embedding = fitted.named_steps["factorizedembedding"]
        on_train = FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(
            documents[train], small_labels[train]
        )
        np.testing.assert_array_equal(fold_embedding.components_, on_train.components_)
        assert not np.allclose(
            fold_embedding.components_[0], everything.components_[0], atol=1e-3
        )


@pytest.mark.parametrize("postprocess", ["abtt", "ppa"])
def test_supervised_directions_avoid_the_postprocessed_ones(
    signal_in_low_variance, postprocess
):
    table, documents, labels = signal_in_low_variance
    embedding = FactorizedEmbedding(
        **_params(table, rank=3, supervised=True, postprocess=postprocess)
    ).fit(documents, labels)
    np.testing.assert_allclose(
        embedding.components_ @ embedding.removed_directions_.T, 0.0, atol=1e-10
    )
    assert abs(embedding.components_[0, SIGNAL_DIM]) > 0.99
