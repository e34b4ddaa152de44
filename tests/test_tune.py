"""Task-tuned codes: the objective's gradient, what tuning changes and what it
leaves alone, and tuned models through the rest of the API."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_factorembed import FactorizedEmbedding, fit_dask
from sklearn_factorembed._tune import (
    TuningProblem,
    batch_gradients,
    pooling_matrix,
    tune_codes,
)

SOLVERS = ["lbfgs", "adam"]


def _problem(n_classes: int, alpha: float = 0.3) -> TuningProblem:
    rng = np.random.default_rng(0)
    counts = sp.random(12, 7, density=0.4, random_state=1, format="csr") * 3
    pooling = pooling_matrix(counts, rng.uniform(0.5, 1.5, size=7), "mean")
    labels = rng.integers(0, n_classes, size=12)
    targets = (
        labels[:, None].astype(float) if n_classes == 2 else np.eye(n_classes)[labels]
    )
    codes = rng.normal(size=(7, 3)).astype(np.float32)
    # float64 throughout, so that finite differences resolve the gradient.
    return TuningProblem(pooling.astype(np.float64), codes.astype(np.float64),
                         targets, alpha)  # fmt: skip


@pytest.mark.parametrize("n_classes", [2, 3])
def test_gradient_matches_finite_differences(n_classes):
    problem = _problem(n_classes)
    rng = np.random.default_rng(2)
    x = rng.normal(scale=0.5, size=sum(int(np.prod(s)) for s in problem.shapes))
    _, gradient = problem.loss_and_gradient(x)
    step = 1e-6
    numeric = np.array(
        [
            (
                problem.loss_and_gradient(x + step * unit)[0]
                - problem.loss_and_gradient(x - step * unit)[0]
            )
            / (2 * step)
            for unit in np.eye(len(x))
        ]
    )
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_batch_gradients_match_finite_differences(n_classes):
    # Adam's steps (tune_solver="adam") follow these gradients of a batch.
    problem = _problem(n_classes)
    rng = np.random.default_rng(4)
    rank, n_outputs = problem.codes.shape[1], problem.targets.shape[1]
    arrays = [
        problem.codes,
        rng.normal(size=(rank, n_outputs)),
        rng.normal(size=n_outputs),
    ]

    def loss(*values):
        return batch_gradients(problem.pooling, *values, problem.targets)[0]

    _, gradients = batch_gradients(problem.pooling, *arrays, problem.targets)
    step = 1e-6
    for which, (array, gradient) in enumerate(zip(arrays, gradients, strict=True)):
        numeric = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            shifted = [value.copy() for value in arrays]
            shifted[which][index] += step
            up = loss(*shifted)
            shifted[which][index] -= 2 * step
            numeric[index] = (up - loss(*shifted)) / (2 * step)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_tuning_reaches_the_minimum_over_all_offsets(n_classes):
    # tune_codes searches offsets of the form Z @ W.T only; the minimum over
    # every offset matrix D, found here directly, must be the same.
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    problem = _problem(n_classes, alpha=0.05)
    pooling, codes = problem.pooling.toarray(), problem.codes
    n_words, rank = codes.shape
    labels = problem.targets.argmax(axis=1) if n_classes > 2 else None
    targets = problem.targets if n_classes > 2 else problem.targets[:, 0]
    n_outputs = problem.targets.shape[1]

    def full_loss(x):
        offsets = x[: n_words * rank].reshape(n_words, rank)
        head = x[n_words * rank : -n_outputs].reshape(rank, n_outputs)
        logits = pooling @ (codes + offsets) @ head + x[-n_outputs:]
        if n_classes == 2:
            data = np.mean(np.logaddexp(0, logits[:, 0]) - targets * logits[:, 0])
        else:
            data = -np.mean(log_softmax(logits, axis=1)[np.arange(12), labels])
        n = len(pooling)
        return data + 0.05 / 2 * np.sum(offsets**2) + np.sum(head**2) / (2 * n)

    size = n_words * rank + rank * n_outputs + n_outputs
    x0 = np.random.default_rng(3).normal(scale=0.1, size=size)
    reference = minimize(full_loss, x0, method="BFGS", options={"gtol": 1e-9})
    labels_of = problem.targets.argmax(axis=1) if n_classes > 2 else targets
    tuned = tune_codes(
        problem.pooling, codes, labels_of, alpha=0.05, max_iter=5000, tol=1e-14
    )
    assert tuned.loss == pytest.approx(reference.fun, rel=1e-4)
    offsets = reference.x[: n_words * rank].reshape(n_words, rank)
    np.testing.assert_allclose(tuned.offsets, offsets, atol=2e-3)


def test_pooling_matrix_pools_as_transform_does(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4, pooling="tfidf")
    embedding.fit(small_corpus)
    from sklearn_factorembed._text import count_tokens

    counts = count_tokens(
        small_corpus, embedding.build_analyzer(), embedding.vocabulary_
    )
    pooling = pooling_matrix(counts, embedding.pooling_weights_, "tfidf")
    np.testing.assert_allclose(
        pooling @ embedding.embedding_,
        embedding.transform(small_corpus),
        rtol=1e-5,
        atol=1e-6,
    )


def _tuned_and_frozen(
    small_table_path, small_corpus, small_labels, solver="lbfgs", **params
):
    frozen = FactorizedEmbedding(small_table_path, rank=4, **params)
    frozen.fit(small_corpus)
    tuned = FactorizedEmbedding(
        small_table_path,
        rank=4,
        supervised="tune",
        tune_alpha=1e-3,
        tune_solver=solver,
        random_state=0,
        **params,
    ).fit(small_corpus, small_labels)
    return tuned, frozen


@pytest.mark.parametrize("solver", SOLVERS)
def test_tuning_lowers_the_training_loss(
    small_table_path, small_corpus, small_labels, solver
):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    tuned, frozen = _tuned_and_frozen(
        small_table_path, small_corpus, small_labels, solver
    )

    def training_loss(embedding):
        codes = embedding.transform(small_corpus)
        head = LogisticRegression(max_iter=1000).fit(codes, small_labels)
        return log_loss(small_labels, head.predict_proba(codes))

    assert training_loss(tuned) < training_loss(frozen) - 0.02


@pytest.mark.parametrize("solver", SOLVERS)
def test_tuning_moves_only_the_words_of_the_fit_documents(
    small_table_path, small_corpus, small_labels, solver
):
    tuned, frozen = _tuned_and_frozen(
        small_table_path, small_corpus, small_labels, solver, vocabulary="all"
    )
    in_documents = sorted(
        {int(w[1:]) for document in small_corpus for w in document.split()}
    )
    outside = np.setdiff1d(np.arange(300), in_documents)
    np.testing.assert_array_equal(tuned.embedding_[outside], frozen.embedding_[outside])
    moved = np.abs(tuned.embedding_[in_documents] - frozen.embedding_[in_documents])
    assert moved.max() > 1e-3
    # Words of the table the model never stored keep their projection too.
    unseen = FactorizedEmbedding(
        small_table_path, rank=4, supervised="tune", tune_solver=solver
    )
    unseen.fit(small_corpus, small_labels)
    untuned = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    np.testing.assert_allclose(
        unseen.transform_words(["w250", "w299"]),
        untuned.transform_words(["w250", "w299"]),
        rtol=1e-6,
    )


@pytest.mark.parametrize("solver", SOLVERS)
def test_infinite_strength_gives_the_untuned_codes(
    small_table_path, small_corpus, small_labels, solver
):
    frozen = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    tuned = FactorizedEmbedding(
        small_table_path,
        rank=4,
        supervised="tune",
        tune_alpha=1e12,
        tune_solver=solver,
    ).fit(small_corpus, small_labels)
    np.testing.assert_allclose(tuned.embedding_, frozen.embedding_, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_tuning_is_deterministic(small_table_path, small_corpus, small_labels, solver):
    def fit(random_state=0):
        return FactorizedEmbedding(
            small_table_path,
            rank=4,
            supervised="tune",
            tune_solver=solver,
            random_state=random_state,
        ).fit(small_corpus, small_labels)

    np.testing.assert_array_equal(fit().embedding_, fit().embedding_)
    if solver == "adam":  # the seed picks the held-out documents and batches
        assert not np.allclose(fit().embedding_, fit(1).embedding_)


def test_adam_stops_early_on_the_held_out_documents():
    problem = _problem(3)
    labels = problem.targets.argmax(axis=1)
    tuned = tune_codes(
        problem.pooling, problem.codes, labels, alpha=1e-5, max_iter=1000,
        solver="adam", random_state=0,
    )  # fmt: skip
    assert tuned.n_iter < 1000
    capped = tune_codes(
        problem.pooling, problem.codes, labels, alpha=1e-5, max_iter=2,
        solver="adam", random_state=0,
    )  # fmt: skip
    assert capped.n_iter == 2


@pytest.mark.parametrize("solver", SOLVERS)
def test_multiclass_labels_tune_too(small_table_path, small_corpus, solver):
    labels = np.arange(len(small_corpus)) % 3
    tuned = FactorizedEmbedding(
        small_table_path, rank=4, supervised="tune", tune_solver=solver
    )
    frozen = FactorizedEmbedding(small_table_path, rank=4)
    assert not np.allclose(
        tuned.fit(small_corpus, labels).embedding_,
        frozen.fit(small_corpus).embedding_,
    )


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("quantization", [None, "int8", "pq"])
def test_saved_and_quantized_tuned_models_transform_identically(
    small_table_path, small_corpus, small_labels, tmp_path, quantization, solver
):
    tuned = FactorizedEmbedding(
        small_table_path,
        rank=4,
        supervised="tune",
        tune_solver=solver,
        quantization=quantization,
        pq_subvectors=2,
        random_state=0,
    ).fit(small_corpus, small_labels)
    tuned.save(tmp_path / "tuned.npz")
    loaded = FactorizedEmbedding.load(tmp_path / "tuned.npz")
    assert (loaded.supervised, loaded.tune_solver) == ("tune", solver)
    for restored in (loaded, pickle.loads(pickle.dumps(tuned))):
        np.testing.assert_array_equal(
            restored.transform(small_corpus), tuned.transform(small_corpus)
        )


def test_supervised_true_is_spelled_lda(small_table_path, small_corpus, small_labels):
    true = FactorizedEmbedding(small_table_path, rank=3, supervised=True)
    lda = FactorizedEmbedding(small_table_path, rank=3, supervised="lda")
    np.testing.assert_array_equal(
        true.fit(small_corpus, small_labels).components_,
        lda.fit(small_corpus, small_labels).components_,
    )


def test_dask_and_partial_fit_refuse_tuning(small_table_path, small_corpus):
    import dask.bag

    embedding = FactorizedEmbedding(small_table_path, rank=3, supervised="tune")
    with pytest.raises(ValueError, match="fit_dask does not support supervised='tune'"):
        fit_dask(embedding, dask.bag.from_sequence(small_corpus))
    with pytest.raises(ValueError, match="partial_fit does not support"):
        embedding.partial_fit(small_corpus)


def test_max_pooling_cannot_be_tuned(small_table_path, small_corpus, small_labels):
    embedding = FactorizedEmbedding(
        small_table_path, rank=3, supervised="tune", pooling="max"
    )
    with pytest.raises(ValueError, match="pooling='max' is not one"):
        embedding.fit(small_corpus, small_labels)


def test_tune_alpha_can_be_searched_over(small_table_path, small_corpus, small_labels):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        FactorizedEmbedding(small_table_path, rank=3, supervised="tune"),
        LogisticRegression(),
    )
    grid = {
        "factorizedembedding__tune_alpha": [1e-3, 1.0],
        "factorizedembedding__rank": [2, 3],
    }
    search = GridSearchCV(pipeline, grid, cv=3).fit(small_corpus, small_labels)
    assert len(search.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_verbose_tuning_reports_progress(
    small_table_path, small_corpus, small_labels, capsys
):
    FactorizedEmbedding(
        small_table_path, rank=4, supervised="tune", tune_alpha=1e-5, verbose=1
    ).fit(small_corpus, small_labels)
    assert "tuning codes: iteration 10, loss" in capsys.readouterr().out


@pytest.mark.parametrize(
    "labels, message",
    [
        (None, "y=None"),
        (np.zeros(120), "two classes"),
    ],
)
def test_bad_labels_are_refused_naming_y(
    small_table_path, small_corpus, labels, message
):
    embedding = FactorizedEmbedding(small_table_path, rank=3, supervised="tune")
    with pytest.raises(ValueError, match=message):
        embedding.fit(small_corpus, labels)


def test_tune_unused_without_labels_is_no_op(small_table_path, small_corpus):
    frozen = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    other = FactorizedEmbedding(small_table_path, rank=4, tune_alpha=5.0)
    np.testing.assert_array_equal(other.fit(small_corpus).embedding_, frozen.embedding_)


def test_tune_codes_stops_at_the_iteration_cap():
    problem = _problem(2, alpha=1e-6)
    tuned = tune_codes(
        sp.csr_matrix(problem.pooling),
        problem.codes,
        problem.targets[:, 0],
        alpha=1e-6,
        max_iter=3,
    )
    assert tuned.n_iter <= 3
