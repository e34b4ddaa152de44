"""Task-tuned codes: word codes learned from labels, with numpy and scipy.

Numeric only: no text, no gensim. A document's code is a pooled mix of its
words' codes, ``P = A @ (C + D)``, where ``A`` (documents x words, sparse) holds
the pooling weights, ``C`` the pretrained codes and ``D`` the offsets to learn.
The offsets are learned jointly with a linear head on the pooled codes
(binary logistic or multinomial softmax), minimising

    mean cross-entropy(P @ W + b, y) + alpha / 2 ||D||^2 + 1 / (2 n) ||W||^2

by L-BFGS (``scipy.optimize.minimize``) with the analytic gradient, from
``D = 0`` (so the result is deterministic), over the factors ``D = Z @ W.T``
that every minimum has (see :class:`TuningProblem`). ``alpha`` pulls the codes toward
the pretrained ones: as it grows, ``D`` goes to 0. The head's penalty is that
of ``LogisticRegression(C=1)`` on the mean loss. The products run in float32;
the loss and the gradient are summed in float64.

Or by Adam on mini-batches of documents, stopped early on held-out ones
(:func:`tune_by_adam`): it does not reach that minimum, and scores higher.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.utils import check_random_state

from ._factorize import single_threaded_blas


def pooling_matrix(
    counts: sp.csr_matrix, word_weights: np.ndarray | None, pooling: str
) -> sp.csr_matrix:
    """The linear map from word codes to pooled document codes, float32:
    ``counts`` scaled by the word weights and, but for ``"sum"``, each row
    normalised to sum to 1 (documents without a word stay zero).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> pooling_matrix(sp.csr_matrix([[1.0, 3.0]]), None, "mean").toarray()
    array([[0.25, 0.75]], dtype=float32)
    """
    data = counts.data
    if word_weights is not None:
        data = data * word_weights[counts.indices]
    if pooling != "sum":
        lengths = np.diff(counts.indptr)
        totals = np.asarray(
            sp.csr_matrix(
                (data, counts.indices, counts.indptr), shape=counts.shape
            ).sum(axis=1)
        ).ravel()
        scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        data = data * np.repeat(scale, lengths)
    return sp.csr_matrix(
        (data.astype(np.float32), counts.indices, counts.indptr), shape=counts.shape
    )


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean cross-entropy of the head's ``logits`` against ``targets``
    (one-hot, or one 0/1 column whose logit is the second class's), and its
    gradient in the logits of each document (not divided by their number)."""
    if targets.shape[1] == 1:
        margins = logits[:, 0]
        loss = np.mean(np.logaddexp(0.0, margins) - targets[:, 0] * margins)
        return float(loss), (expit(margins) - targets[:, 0])[:, None]
    logits = logits - logits.max(axis=1, keepdims=True)
    log_norms = np.log(np.exp(logits).sum(axis=1))
    loss = np.mean(log_norms - np.sum(logits * targets, axis=1))
    return float(loss), np.exp(logits - log_norms[:, None]) - targets


@dataclass(frozen=True)
class TuningProblem:
    """The objective of :func:`tune_codes` over ``x = [Z, W, b]`` raveled.

    At a minimum the offsets are ``D = Z @ W.T``: setting the gradient in
    ``D`` to zero gives ``alpha D = -A.T @ E @ W.T`` (``E`` the documents'
    errors), so each word's offset lies in the span of the head's columns.
    Learning ``Z`` (words x classes) in place of ``D`` (words x rank) keeps
    every minimum and leaves L-BFGS ``rank / n_outputs`` times fewer
    variables. With ``M = W.T @ W`` the logits are
    ``A @ C @ W + A @ Z @ M + b`` and the pull is ``alpha / 2 tr(Z M Z.T)``.
    """

    pooling: sp.csr_matrix  # A
    codes: np.ndarray  # C; the products run in its dtype (float32 in a fit)
    targets: np.ndarray  # one-hot (n, k), or (n, 1) 0/1 for two classes
    alpha: float

    @cached_property
    def pooled_codes(self) -> np.ndarray:
        """``A @ C``, which no iteration changes."""
        return (self.pooling @ self.codes).astype(np.float64)

    @property
    def shapes(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int]]:
        n_words, rank = self.codes.shape
        n_outputs = self.targets.shape[1]
        return (n_words, n_outputs), (rank, n_outputs), (n_outputs,)

    def unpack(self, x: np.ndarray):
        parts, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            parts.append(x[start : start + size].reshape(shape))
            start += size
        return parts

    def offsets(self, x: np.ndarray) -> np.ndarray:
        """``D = Z @ W.T``, the offsets of the words' codes at ``x``."""
        word_outputs, head, _ = self.unpack(x)
        return word_outputs @ head.T

    def loss_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        word_outputs, head, intercept = self.unpack(x)
        n_documents = self.targets.shape[0]
        gram = head.T @ head  # M
        pooled_outputs = self.pooling @ word_outputs.astype(self.codes.dtype)  # A Z
        pooled_outputs = pooled_outputs.astype(np.float64)
        logits = self.pooled_codes @ head + pooled_outputs @ gram + intercept
        loss, errors = cross_entropy(logits, self.targets)
        errors /= n_documents
        head_penalty = 1.0 / n_documents
        outputs_gram = word_outputs.T @ word_outputs  # Z.T Z
        loss += 0.5 * self.alpha * float(np.sum(outputs_gram * gram))
        loss += 0.5 * head_penalty * float(np.sum(head * head))
        back = (self.pooling.T @ errors.astype(self.codes.dtype)).astype(np.float64)
        gradient_outputs = (back + self.alpha * word_outputs) @ gram
        through_gram = pooled_outputs.T @ errors + 0.5 * self.alpha * outputs_gram
        gradient_head = (
            self.pooled_codes.T @ errors
            + head @ (through_gram + through_gram.T)
            + head_penalty * head
        )
        return loss, np.concatenate(
            [gradient_outputs.ravel(), gradient_head.ravel(), errors.sum(axis=0)]
        )


@dataclass(frozen=True)
class TunedCodes:
    """What :func:`tune_codes` learned: the offsets of the words' codes, the
    head, and the optimiser's iterations and final loss."""

    offsets: np.ndarray
    head: np.ndarray
    intercept: np.ndarray
    n_iter: int
    loss: float


def tune_codes(
    pooling: sp.csr_matrix,
    codes: np.ndarray,
    labels: np.ndarray,
    *,
    alpha: float,
    max_iter: int = 200,
    tol: float = 1e-6,
    solver: str = "lbfgs",
    random_state=None,
    verbose: int = 0,
) -> TunedCodes:
    """Learn offsets of word codes and a linear head from labelled documents.

    Parameters
    ----------
    pooling : csr_matrix of shape (n_documents, n_words)
        ``A``, from :func:`pooling_matrix`.
    codes : ndarray of shape (n_words, rank)
        The pretrained codes ``C``.
    labels : ndarray of shape (n_documents,)
        At least two classes.
    alpha : float
        Strength of the pull toward the pretrained codes.
    max_iter : int, default=200
        Iteration cap of L-BFGS; with ``"adam"``, the cap on epochs.
    tol : float, default=1e-6
        L-BFGS's tolerance on the relative decrease of the loss.
    solver : {"lbfgs", "adam"}, default="lbfgs"
        ``"lbfgs"`` minimises the objective above over all the documents.
        ``"adam"`` takes Adam steps on mini-batches of the documents
        (:func:`tune_by_adam`) and stops early on a held-out tenth of them.
    random_state : int, RandomState instance or None, default=None
        With ``"adam"``, the held-out documents and the batches' order.
    verbose : int, default=0
        Print the loss every 10 iterations (every epoch with ``"adam"``)
        when positive.

    Returns
    -------
    TunedCodes

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> pooling = sp.csr_matrix(np.eye(4, dtype=np.float32))  # a word a document
    >>> codes = np.random.default_rng(0).normal(size=(4, 2)).astype(np.float32)
    >>> labels = np.array([0, 0, 1, 1])
    >>> tuned = tune_codes(pooling, codes, labels, alpha=0.01)
    >>> logits = (codes + tuned.offsets) @ tuned.head + tuned.intercept
    >>> bool(np.all((logits[:, 0] > 0) == (labels == 1)))
    True
    """
    classes, class_of_document = np.unique(labels, return_inverse=True)
    if len(classes) == 2:
        targets = class_of_document[:, None].astype(np.float64)
    else:
        targets = np.eye(len(classes))[class_of_document]
    pooling = pooling.astype(np.float32)
    codes = np.asarray(codes, dtype=np.float32)
    if solver == "adam":
        return tune_by_adam(
            pooling,
            codes,
            targets,
            alpha=float(alpha),
            max_epochs=max_iter,
            random_state=random_state,
            verbose=verbose,
        )
    problem = TuningProblem(pooling, codes, targets, float(alpha))
    x0 = np.zeros(sum(int(np.prod(shape)) for shape in problem.shapes))
    iteration = [0]

    def report(x):
        iteration[0] += 1
        if verbose and iteration[0] % 10 == 0:
            loss, _ = problem.loss_and_gradient(x)
            print(f"tuning codes: iteration {iteration[0]}, loss {loss:.5f}")

    # Products of a few columns: BLAS threads only wait on each other, the more
    # so on busy cores (README, "Performance").
    with single_threaded_blas:
        result = minimize(
            problem.loss_and_gradient,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=report,
            options={"maxiter": max_iter, "ftol": tol},
        )
    _, head, intercept = problem.unpack(result.x)
    return TunedCodes(
        problem.offsets(result.x), head, intercept, int(result.nit), float(result.fun)
    )


# Adam's settings: those of its paper and of scikit-learn's MLPClassifier but
# for the learning rate, ten times theirs (each word's offset moves only in the
# batches that hold the word); batches of 32 documents and early stopping on a
# tenth held out, as model2vec's classifier does.
LEARNING_RATE = 0.01
BETAS = (0.9, 0.999)
EPSILON = 1e-8
BATCH_SIZE = 32
VALIDATION_FRACTION = 0.1
N_EPOCHS_NO_CHANGE = 3
MIN_IMPROVEMENT = 1e-4


class _Moments:
    """Adam's running moments of one array's gradient."""

    def __init__(self, shape: tuple[int, ...]):
        self.first = np.zeros(shape, dtype=np.float32)
        self.second = np.zeros(shape, dtype=np.float32)

    def step(self, gradient: np.ndarray, t: int, rows=slice(None)) -> np.ndarray:
        """The step to subtract at Adam's step ``t`` (from 1), given the
        gradient of ``rows`` (the others keep their moments, as in lazy Adam)."""
        beta1, beta2 = BETAS
        first = beta1 * self.first[rows] + (1 - beta1) * gradient
        second = beta2 * self.second[rows] + (1 - beta2) * gradient * gradient
        self.first[rows], self.second[rows] = first, second
        corrected = np.sqrt(second / (1 - beta2**t)) + EPSILON
        return LEARNING_RATE * (first / (1 - beta1**t)) / corrected


def _batch_columns(batch: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
    """The words a batch of pooling rows holds, and the rows over those words."""
    words, columns = np.unique(batch.indices, return_inverse=True)
    local = sp.csr_matrix(
        (batch.data, columns.ravel(), batch.indptr), shape=(batch.shape[0], len(words))
    )
    return words, local


def batch_gradients(
    pooling: sp.csr_matrix,
    codes: np.ndarray,
    head: np.ndarray,
    intercept: np.ndarray,
    targets: np.ndarray,
) -> tuple[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The mean cross-entropy of the head on the pooled ``codes`` of a batch,
    and its gradients in ``codes``, ``head`` and ``intercept`` (in the dtype
    of ``codes``)."""
    pooled = pooling @ codes
    loss, errors = cross_entropy(pooled @ head + intercept, targets)
    errors = (errors / len(errors)).astype(codes.dtype)
    return loss, (pooling.T @ (errors @ head.T), pooled.T @ errors, errors.sum(axis=0))


def tune_by_adam(
    pooling: sp.csr_matrix,
    codes: np.ndarray,
    targets: np.ndarray,
    *,
    alpha: float,
    max_epochs: int,
    random_state=None,
    verbose: int = 0,
) -> TunedCodes:
    """Offsets and a linear head by Adam on mini-batches, stopped early.

    A tenth of the documents is held out; each epoch takes Adam steps on
    batches of the others (the offsets of a batch's words only), and the
    epoch whose held-out cross-entropy is lowest is kept, once it has not
    improved for ``N_EPOCHS_NO_CHANGE`` epochs. Early stopping does most of
    the pulling toward the pretrained codes; ``alpha`` adds a decay of the
    batch's offsets, by ``1 / (1 + LEARNING_RATE * alpha)`` a step (so they
    stay 0 as it goes to infinity). Float32 throughout; ``loss`` is the
    held-out cross-entropy kept and ``n_iter`` the epochs run.
    """
    rng = check_random_state(random_state)
    n_documents, n_outputs = targets.shape
    order = rng.permutation(n_documents)
    n_held = max(1, round(VALIDATION_FRACTION * n_documents))
    held, kept = order[:n_held], order[n_held:]
    held_pooling, held_targets = pooling[held], targets[held]
    offsets = np.zeros_like(codes)
    head = np.zeros((codes.shape[1], n_outputs), dtype=np.float32)
    intercept = np.zeros(n_outputs, dtype=np.float32)
    moments = [_Moments(array.shape) for array in (offsets, head, intercept)]
    # The pretrained codes, should no epoch give a finite held-out loss.
    best = (offsets.copy(), head.copy(), intercept.copy())
    best_loss, since_best, t = np.inf, 0, 0
    shrink = 1.0 / (1.0 + LEARNING_RATE * alpha)
    epoch = 0
    with single_threaded_blas:
        while epoch < max_epochs and since_best < N_EPOCHS_NO_CHANGE:
            epoch += 1
            shuffled = rng.permutation(kept)
            batches = pooling[shuffled]
            for start in range(0, len(shuffled), BATCH_SIZE):
                words, local = _batch_columns(batches[start : start + BATCH_SIZE])
                _, gradients = batch_gradients(
                    local,
                    codes[words] + offsets[words],
                    head,
                    intercept,
                    targets[shuffled[start : start + BATCH_SIZE]],
                )
                t += 1
                step = moments[0].step(gradients[0], t, words)
                offsets[words] = (offsets[words] - step) * shrink
                head -= moments[1].step(gradients[1], t)
                intercept -= moments[2].step(gradients[2], t)
            pooled = held_pooling @ (codes + offsets)
            loss, _ = cross_entropy(pooled @ head + intercept, held_targets)
            if verbose:
                print(f"tuning codes: epoch {epoch}, held-out loss {loss:.5f}")
            if loss < best_loss - MIN_IMPROVEMENT:
                best_loss, since_best = loss, 0
                best = (offsets.copy(), head.copy(), intercept.copy())
            else:
                since_best += 1
    return TunedCodes(*best, n_iter=epoch, loss=float(best_loss))
