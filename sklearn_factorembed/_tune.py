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
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit

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
        if self.targets.shape[1] == 1:  # binary: the logit of the second class
            margins = logits[:, 0]
            loss = np.mean(np.logaddexp(0.0, margins) - self.targets[:, 0] * margins)
            errors = (expit(margins) - self.targets[:, 0])[:, None]
        else:
            logits = logits - logits.max(axis=1, keepdims=True)
            log_norms = np.log(np.exp(logits).sum(axis=1))
            loss = np.mean(log_norms - np.sum(logits * self.targets, axis=1))
            errors = np.exp(logits - log_norms[:, None]) - self.targets
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
        Iteration cap of L-BFGS.
    tol : float, default=1e-6
        L-BFGS's tolerance on the relative decrease of the loss.
    verbose : int, default=0
        Print the loss every 10 iterations when positive.

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
    problem = TuningProblem(
        pooling.astype(np.float32),
        np.asarray(codes, dtype=np.float32),
        targets,
        float(alpha),
    )
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
