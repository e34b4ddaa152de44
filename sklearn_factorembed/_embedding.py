"""FactorizedEmbedding: low-rank factorized word vectors as a text transformer.

The estimator wires the package's modules into the scikit-learn API: it counts
the fit documents (:mod:`._text`), hands the sums to the one fit path
(:mod:`._fit`), and pools the fitted codes in ``transform``. It holds no math
of its own.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
)
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted

from ._factorize import Moments
from ._fit import FitSettings, fit_state
from ._options import (
    DEFAULT_POSTPROCESS,
    POOLINGS,
    POSTPROCESSINGS,
    QUANTIZATIONS,
    SOLVERS,
    SPACES,
    SUBSPACES,
    WEIGHTINGS,
)
from ._persistence import (
    FittedStateMixin,
    load_estimator,
    save_estimator,
    write_keyed_vectors,
)
from ._text import (
    DEFAULT_TOKEN_PATTERN,
    Analyzer,
    CorpusStatistics,
    DocumentCounts,
    build_analyzer,
    check_documents,
    count_corpus,
    count_tokens,
    document_batches,
)
from ._vectors import DEFAULT_VECTORS, is_keyed_vectors, load_table
from ._words import (
    EXTRA_ATTRIBUTES,
    SubwordVocabulary,
    WordCodes,
    warn_of_empty_documents,
)

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

NGRAM_BUCKETS = 1 << 17
EXTRA_WORDS = 100_000
TUNE_ALPHA = 1e-5


def fit_settings(embedding: FactorizedEmbedding) -> FitSettings:
    """Validate the parameters of ``embedding`` and return what a fit uses."""
    embedding._validate_params()
    if isinstance(embedding.rank, bool):  # an Integral to sklearn's validation
        raise InvalidParameterError(
            f"The 'rank' parameter of FactorizedEmbedding must be an int or a "
            f"float in the range (0.0, 1.0), not a bool. Got {embedding.rank!r}."
        )
    return FitSettings.of(embedding.get_params())


def fit_from_statistics(
    embedding: FactorizedEmbedding,
    statistics: CorpusStatistics | None,
    documents: DocumentCounts | None = None,
    labels: np.ndarray | None = None,
    *,
    document_moments: Moments | None = None,
    sif_gram: np.ndarray | None = None,
) -> None:
    """Fit ``embedding`` in place from sums over its fit corpus: the one entry
    point of ``fit``, ``partial_fit`` and ``fit_dask`` (see
    :func:`._fit.fit_state` for the arguments)."""
    attributes = fit_state(
        load_table(embedding.vectors),
        fit_settings(embedding),
        statistics,
        documents,
        labels,
        document_moments=document_moments,
        sif_gram=sif_gram,
    )
    for name, value in attributes.items():
        setattr(embedding, name, value)


def _filled_rows(batches, n_rows_expected: int, row) -> np.ndarray:
    """The row blocks of ``batches`` stacked into one array of rows ``row``
    (width, dtype).

    One output array, filled block by block: sized once when the number of
    rows is known, else grown by realloc, which moves no rows for large arrays
    (glibc remaps their pages); a list of blocks concatenated at the end would
    peak at twice the output.
    """
    width, dtype = row
    rows = np.empty((n_rows_expected, width), dtype=dtype)
    n_rows = 0
    for block in batches:
        end = n_rows + len(block)
        if end > len(rows):
            # No other reference to rows exists: refcheck would only count
            # the debugger's or the profiler's.
            rows.resize((end, width), refcheck=False)
        rows[n_rows:end] = block
        n_rows = end
    if n_rows < len(rows):  # a __len__ larger than the iteration
        rows.resize((n_rows, width), refcheck=False)
    return rows


class _KeyedVectorsInstances(HasMethods):
    """The constraint "a gensim ``KeyedVectors``" of ``vectors``, checked
    without importing gensim (:func:`._vectors.is_keyed_vectors`).

    A ``HasMethods`` only because scikit-learn's ``make_constraint`` takes no
    other constraint class as is; the methods it would check are not used.
    """

    def __init__(self):
        super().__init__([])

    def is_satisfied_by(self, val) -> bool:
        return is_keyed_vectors(val)

    def __str__(self) -> str:
        return "an instance of 'gensim.models.keyedvectors.KeyedVectors'"


def _keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    from gensim.models import KeyedVectors

    keyed_vectors = KeyedVectors(
        vector_size=vectors.shape[1], count=0, dtype=vectors.dtype
    )
    keyed_vectors.add_vectors(words, vectors)
    return keyed_vectors


def _empty_rows(counts) -> int:
    return int(np.count_nonzero(np.diff(counts.indptr) == 0))


def _check_labels(y, n_documents: int, supervised=True) -> np.ndarray:
    """``y`` as a 1-d array of class labels, one per document, or a ValueError
    naming y: the discriminants need at least two classes, and more documents
    than classes to measure how the documents of a class vary."""
    try:
        labels = np.asarray(y)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"y must be a 1-d array of class labels ({error})") from None
    if labels.ndim != 1:
        raise ValueError(
            f"y must be 1-d, one class label per document, got an array of shape "
            f"{labels.shape}"
        )
    if len(labels) != n_documents:
        raise ValueError(f"y has {len(labels)} labels for {n_documents} documents")
    # NaN is the one value unequal to itself (object arrays compare elementwise).
    missing = np.flatnonzero(np.asarray(labels != labels, dtype=bool))
    if len(missing):
        raise ValueError(
            f"y holds NaN (the label of document {missing[0]}, and of "
            f"{len(missing) - 1} more); every document needs a class"
        )
    try:
        # type_of_target rather than check_classification_targets, which warns
        # rather than refuse a class per document.
        kind = type_of_target(labels, input_name="y")
        classes = np.unique(labels)
    except (ValueError, TypeError) as error:  # TypeError: None among strings
        raise ValueError(f"y must hold class labels: {error}") from None
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"y must hold class labels (ints or strings), got {kind} values"
        )
    if len(classes) < 2:
        raise ValueError(
            f"supervised={supervised!r} needs at least two classes in y, got "
            f"{classes!r}"
        )
    if n_documents <= len(classes):
        raise ValueError(
            f"y has {len(classes)} classes for {n_documents} documents; "
            f"supervised={supervised!r} needs more documents than classes, to "
            "measure how the documents of a class vary"
        )
    return labels


class FactorizedEmbedding(
    FittedStateMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Turn documents into pooled codes of a low-rank factorized word-vector table.

    ``fit`` factorizes the pretrained table ``E`` (n words x d dims), restricted to
    a vocabulary and weighted by the fit corpus, as ``E - mean_ ~= embedding_ @
    components_``: one ``rank_``-dim code per word (``embedding_ = U_r S_r``) and
    ``rank_`` orthonormal directions (``components_ = V_r^T``). Because the
    directions are orthonormal, dot products of codes equal dot products of the
    centred reconstructions, so the codes are a drop-in substitute for the
    d-dim vectors at ``n*r + r*d + d`` instead of ``n*d`` parameters.

    ``transform`` tokenizes documents and pools the codes of their known tokens
    into one ``rank_``-dim row per document; ``inverse_transform`` maps codes back
    to the d-dim space.

    Parameters
    ----------
    vectors : str, path-like or KeyedVectors, default="glove-6b-50d"
        The pretrained table, anything :func:`load_vectors` takes. Prefer a name
        or a path: tables are cached per process by source, so ``clone`` and
        grid searches share one copy. A ``KeyedVectors`` object works too, but
        as a parameter it is deep-copied by ``clone`` and pickled with the
        estimator, once per candidate and fold in a grid search.
    rank : int or float, default=25
        Dimension of the codes: an int in [1, d], or a float in (0, 1), the
        smallest rank whose explained (weighted) variance reaches that fraction.
        The resolved value is ``rank_``.
    solver : {"auto", "covariance", "full", "randomized", "qr"}, default="auto"
        ``"covariance"`` (what ``"auto"`` picks) eigendecomposes the d x d
        weighted covariance: one pass over the rows, the fast path when n >> d.
        ``"full"`` is LAPACK's SVD and ``"randomized"`` a randomized SVD; the
        three give the same factors up to float precision. ``"qr"`` spans the
        rows picked by column-pivoted QR: orthogonal but not Eckart-Young
        optimal, its error is at least that of SVD (see
        ``reconstruction_error_``).
    vocabulary : "corpus", "all", int or list of str, default="corpus"
        The words kept, whose codes are stored in ``embedding_``: those of the
        fit documents found in the table (``"corpus"``), the whole table
        (``"all"``), its ``k`` first rows (``int``; pretrained tables are
        ordered by frequency), or the given words. With anything but
        ``"corpus"``, ``fit(None)`` is allowed. Whatever is kept,
        ``transform`` encodes every word of the table: the others get the same
        projection when a batch first uses them (see :meth:`transform`), so
        the default keeps the model small (a code per corpus word) and loses
        no word; ``"all"`` computes and stores every code at fit. Words absent
        from the fit corpus are encoded, not fitted.
    weighting : {"frequency", "log-frequency"} or None, default="frequency"
        ``"frequency"`` weighs each kept word by ``sqrt(count)`` of its count in
        the fit corpus (``"log-frequency"`` by ``log(1 + count)``), so the factors
        favour the words the task uses; words absent from the fit corpus get no
        weight (they are encoded, not fitted). Fitting without documents, the
        counts are estimated from the order of the table by Zipf's law (the
        word of row ``i`` occurs about ``1 / (i + 1)`` times as often as the
        first), which assumes the table lists words from the most to the least
        frequent, as pretrained tables do. ``None`` weighs all kept
        words equally.
    pooling : {"mean", "sum", "max", "tfidf", "sif", "sif-weighted"}, \
default="sif-weighted"
        How word codes become a document code. ``"tfidf"`` is a mean weighted by
        the idf learned in ``fit``; ``"sif-weighted"`` a mean weighted by
        ``a / (a + p(w))`` (smooth inverse frequency, Arora et al. 2017) with
        ``p`` from the fit corpus; ``"sif"`` the same minus the projection on the
        top singular direction of the fit documents' codes (learned in ``fit``,
        never on the batch being transformed). Arora et al. remove that
        direction from uncentred vectors, where it is their common part; the
        codes here are centred already, so it is mostly signal (removing it costs
        accuracy, see the README), hence the default ``"sif-weighted"``.
        Fitted without documents, ``p`` follows Zipf's law over the table order
        (see ``weighting``) and ``"sif"`` removes no direction.
    postprocess : {"abtt", "ppa"} or None, default="abtt"
        Post-processing of the kept table, learned in ``fit`` with the same row
        weights as the factorization. ``"abtt"`` (all-but-the-top, Mu &
        Viswanath 2018) removes the mean and the top ``n_removed`` principal
        directions before factorizing. ``"ppa"`` (Raunak et al. 2019) does the
        same, factorizes to ``rank + n_removed`` directions and removes the top
        ``n_removed`` directions of those codes, leaving ``rank``. The removed
        directions are ``removed_directions_``; ``components_`` stay orthonormal
        and orthogonal to them, so every output (``transform``,
        ``transform_words``, ``to_keyedvectors``) is post-processed alike.
    n_removed : int or "auto", default="auto"
        Directions each post-processing pass removes; ``"auto"`` is ``d / 100``
        rounded, at least 1, as in the paper, but never more than leaves room
        for an int ``rank``: ``rank=d`` post-processes nothing and reproduces the
        table. Ignored without ``postprocess``.
    subspace : {"documents", "words"}, default="documents"
        Whose variance the ``rank_`` directions keep. ``"words"``: the top
        principal directions of the weighted kept table, the Eckart-Young
        optimum of the weighted reconstruction error of the words.
        ``"documents"``: those of the fit documents, pooled in the d-dim
        (post-processed) space as ``transform`` pools codes, i.e. the optimum
        of the reconstruction error of the pooled documents; words average out
        in a document along some directions and not others, and a classifier
        of documents only sees what varies between documents (the README's quality
        table measures the gain). Either way the codes are the projections
        ``(E - mean_) @ components_.T`` of the word vectors and the attributes
        keep their meaning; the table's variance fills any direction the
        documents leave undetermined (fewer documents than dimensions). Fitted
        without documents, ``"documents"`` falls back to ``"words"``; with
        ``partial_fit``, the documents are those of the latest call, and with
        ``pooling="sif"`` the common component is removed afterwards.
    supervised : bool, "lda" or "tune", default=False
        Let ``fit(X, y)`` use the labels. ``True`` (also spelled ``"lda"``):
        the first directions are Fisher's discriminants (LDA, at most
        ``n_classes - 1``) of the fit documents pooled in the d-dim
        (post-processed) space, the others the top weighted variance
        directions orthogonal to them (with ``subspace="documents"``, the
        documents'); it uses the covariance solver, and a float ``rank`` is
        resolved on the unsupervised spectrum of the words. ``"tune"``: the
        directions are the unsupervised ones, and the codes of the fit words
        are then tuned to the labels: an offset per word is learned jointly
        with a linear head (logistic, or softmax for more classes) on the
        pooled codes by L-BFGS or Adam (``tune_solver``), with a pull of
        strength ``tune_alpha`` toward the pretrained codes (see
        ``benchmarks/tuning.py``). The head is only a
        means: ``transform`` returns the pooled tuned codes. Words absent from
        the fit documents keep their pretrained codes. ``fit_transform``
        returns the tuned codes of the fit documents themselves, the in-fold
        codes a Pipeline's classifier trains on: it does not cross-fit, as
        a classifier trained on out-of-fold codes scored lower on held-out
        documents (``benchmarks/tuning.py``, its leak check). Not with
        ``pooling="max"``, ``partial_fit`` or ``fit_dask``. In a Pipeline or
        a grid search only the training folds' labels are seen.
    tune_alpha : float, default=1e-5
        With ``supervised="tune"``: the strength of the pull toward the
        pretrained codes (an L2 penalty on the offsets, against the mean
        cross-entropy of the head); the larger, the closer the codes stay.
        With ``tune_solver="adam"``, a decay of the offsets of each batch's
        words, by ``1 / (1 + 0.01 tune_alpha)`` a step. Searched with
        ``pooling``, ``tune_solver`` and ``tune_max_iter`` like any other
        hyper-parameter (README, "Task-tuned codes").
    tune_max_iter : int, default=200
        With ``supervised="tune"``: the iteration cap of L-BFGS, which
        otherwise stops when the loss no longer decreases; a lower cap stops
        early, a pull of its own toward the pretrained codes. With
        ``tune_solver="adam"``, the cap on epochs.
    tune_solver : {"lbfgs", "adam"}, default="lbfgs"
        With ``supervised="tune"``: how the offsets and the head are learned.
        ``"lbfgs"``: L-BFGS on all the fit documents at once, to the minimum
        of the objective (deterministic). ``"adam"``: Adam steps on batches
        of 32 documents, each moving the offsets of the batch's words only,
        stopped early on a tenth of the documents held out (the epoch of
        lowest held-out loss is kept; ``random_state`` picks the tenth and
        the batches), as model2vec trains its classifiers. Early stopping is
        then most of the pull toward the pretrained codes. It scores higher
        on both benchmark datasets, the more so with a downstream classifier
        regularised harder than ``LogisticRegression()``'s default (README,
        "Task-tuned codes").
    verbose : int, default=0
        Print the tuning loss every 10 iterations (with ``"adam"``, the
        held-out loss every epoch) when positive.
    lowercase : bool, default=True
        Lower-case documents before tokenizing (GloVe is lower case; word2vec's
        Google News table is not).
    token_pattern : str, default=DEFAULT_TOKEN_PATTERN
        Regular expression of a token. The default splits like the Penn Treebank
        tokenizers the pretrained tables were built with: punctuation and the
        clitics "'s" and "n't" are tokens of their own.
    tokenizer : callable, default=None
        Function from a document to its tokens; overrides ``token_pattern``.
    dtype : {np.float32, np.float64}, default=np.float32
        Dtype of the stored factors and of the output.
    quantization : {"int8", "pq"} or None, default=None
        How the word codes are stored. ``"int8"`` keeps each code column as int8
        levels with a per-column scale and offset (a quarter of float32; every
        entry within half a step of its float value). ``"pq"`` is product
        quantization: the ``rank_`` columns are split into ``pq_subvectors``
        groups, k-means learns 256 centroids per group (weighted like the
        factorization), and each word stores one byte per group. ``embedding_``
        then holds the dequantized codes, which every method uses; pickles
        carry only the quantized form.
    pq_subvectors : int or None, default=None
        Number of groups of ``quantization="pq"``, hence bytes per word; must
        divide ``rank_``. None picks the divisor of ``rank_`` nearest
        ``rank_ / 5`` (5 for rank 25, 4 for rank 20, 2 for rank 10). Ignored by
        the other quantizations.
    ngram_buckets : int or None, default=131_072
        For a fastText source (a ``.bin`` model or a ``FastTextKeyedVectors``):
        how many buckets of character n-gram codes to keep. The n-gram
        buckets go through the words' projection (and ``quantization``), and
        a word in neither ``vocabulary_`` nor the table gets the mean of its
        n-grams' codes, the code of the vector gensim gives it. A model with
        more buckets rehashes the n-grams of the table's words to this many
        and merges the rows that fall together, weighted by use, as
        compress-fasttext's ``prune_ngrams`` does (``benchmarks/fasttext_oov.py``
        measures the default, ``2**17``, against keeping all); None keeps them
        all. No effect for other sources.
    random_state : int, RandomState instance or None, default=None
        Seed of the ``"randomized"`` solver, of the k-means of
        ``quantization="pq"`` and of ``tune_solver="adam"``.
    batch_size : int, default=10_000
        Documents tokenized and pooled at a time. ``transform`` consumes an
        iterable or generator batch by batch, so its memory is bounded by the
        batch and the output whatever the length of the stream.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Kept word -> row of ``embedding_``. Read-only, as estimators fitted on
        the same words share it: ``dict(vocabulary_)`` is a copy to edit.
    embedding_ : ndarray of shape (n_words, rank_)
        The word codes ``A = U_r S_r``; with ``quantization``, their dequantized
        form, rebuilt from ``quantized_codes_`` when unpickled.
    components_ : ndarray of shape (rank_, d)
        The orthonormal directions ``B = V_r^T``.
    mean_ : ndarray of shape (d,)
        The (weighted) mean row of the kept table.
    singular_values_ : ndarray of shape (rank_,)
        Singular values of the weighted, centred table along ``components_``
        (its norms along them, not sorted, when ``subspace="documents"`` or
        ``supervised`` picked the directions).
    explained_variance_ratio_ : ndarray of shape (rank_,)
        Fraction of the weighted variance of the table along each direction.
    rank_ : int
        The rank used.
    n_parameters_ : int
        ``n_words * rank_ + rank_ * d + d``.
    compression_ratio_ : float
        ``n_words * d / n_parameters_``.
    reconstruction_error_ : float
        Frobenius error of ``embedding_ @ components_ + mean_`` against the kept
        table (weighted), relative to the centred table: 0 is exact. With
        ``postprocess``, against the post-processed table (after the first pass),
        which ``explained_variance_ratio_`` and a float ``rank`` refer to as well.
    pooling_weights_ : ndarray of shape (n_words,) or None
        Per-word weights of ``"tfidf"``, ``"sif"`` and ``"sif-weighted"``
        pooling.
    unseen_weight_ : float or None
        The pooling weight of a word outside ``vocabulary_`` (one the fit
        corpus lacks): ``1`` for the sif poolings (``p(w) = 0``), the largest
        idf, ``log(1 + n_documents) + 1``, for ``"tfidf"`` (scikit-learn's
        smoothed idf of a document frequency of 0); None for the others.
    extra_vocabulary_, extra_codes_, extra_code_scales_, extra_code_offsets_
        Only on a model read by :meth:`load`: the words beyond
        ``vocabulary_`` that :meth:`save` stored, and their int8 codes
        (``extra_code_offsets_ + extra_code_scales_ * extra_codes_``), which
        the model encodes where its table is not at hand.
    ngram_embedding_ : ndarray of shape (n_buckets, rank_) or None
        For a fastText source, the codes of its (pruned) n-gram buckets, with
        ``quantization`` their dequantized form (stored as
        ``ngram_quantized_codes_`` and the other arrays of its scheme, with
        parameters of their own); None for other sources.
    min_n_, max_n_ : int or None
        The lengths of the n-grams hashed to ``ngram_embedding_``'s buckets.
    common_component_ : ndarray of shape (rank_,) or None
        The direction ``"sif"`` pooling removes.
    quantized_codes_ : ndarray or None
        The stored word codes with ``quantization``: int8 levels of shape
        ``(n_words, rank_)`` for ``"int8"``, uint8 centroid indices of shape
        ``(n_words, pq_subvectors)`` for ``"pq"``.
    code_scales_, code_offsets_ : ndarray of shape (rank_,) or None
        With ``"int8"``: ``embedding_ = code_offsets_ + code_scales_ *
        quantized_codes_``, column by column.
    codebooks_ : ndarray of shape (n_subvectors, 256, rank_ // n_subvectors) or None
        With ``"pq"``: the float16 centroids of each group of columns.
    bytes_per_word_ : float
        Bytes of the stored word codes per kept word, the shared scales or
        codebooks spread over the words: ``4 * rank_`` for float32 codes,
        ``rank_`` (plus 8 bytes per column over ``n_words``) for ``"int8"``,
        ``pq_subvectors`` (plus the codebooks over ``n_words``) for ``"pq"``.
    nbytes_ : int
        Bytes of all the fitted arrays as pickled, the word codes in their
        stored (quantized) form.
    removed_directions_ : ndarray of shape (n_removed_total, d) or None
        The orthonormal directions ``postprocess`` removed (``n_removed`` for
        ``"abtt"``, twice that for ``"ppa"``), None without post-processing.

    See Also
    --------
    load_vectors : The sources ``vectors`` accepts.
    sklearn.decomposition.PCA : The same factorization of a numeric matrix.

    Examples
    --------
    >>> from sklearn_factorembed import FactorizedEmbedding
    >>> documents = ["a gripping , well acted thriller", "dull and far too long"]
    >>> embedding = FactorizedEmbedding(rank=4).fit(documents)
    >>> embedding.transform(documents).shape
    (2, 4)
    >>> embedding.get_feature_names_out()[:2]
    array(['factorizedembedding0', 'factorizedembedding1'], dtype=object)

    Stored as int8, the codes take a quarter of the bytes:

    >>> small = FactorizedEmbedding(rank=4, quantization="int8").fit(documents)
    >>> embedding.embedding_.nbytes // small.quantized_codes_.nbytes
    4
    """

    _parameter_constraints: dict = {
        "vectors": [str, os.PathLike, _KeyedVectorsInstances()],
        "rank": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
        ],
        "solver": [StrOptions(set(SOLVERS))],
        "vocabulary": [
            StrOptions({"corpus", "all"}),
            Interval(Integral, 1, None, closed="left"),
            list,
            tuple,
        ],
        "weighting": [StrOptions(set(WEIGHTINGS)), None],
        "pooling": [StrOptions(set(POOLINGS))],
        "postprocess": [StrOptions(set(POSTPROCESSINGS)), None],
        "n_removed": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "subspace": [StrOptions(set(SUBSPACES))],
        "supervised": ["boolean", StrOptions({"lda", "tune"})],
        "tune_alpha": [Interval(Real, 0, None, closed="neither")],
        "tune_max_iter": [Interval(Integral, 1, None, closed="left")],
        "tune_solver": [StrOptions({"lbfgs", "adam"})],
        "verbose": ["verbose"],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "tokenizer": [callable, None],
        "dtype": [type, str, np.dtype],
        "quantization": [StrOptions(set(QUANTIZATIONS)), None],
        "pq_subvectors": [Interval(Integral, 1, None, closed="left"), None],
        "ngram_buckets": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        vectors=DEFAULT_VECTORS,
        rank=25,
        *,
        solver="auto",
        vocabulary="corpus",
        weighting="frequency",
        pooling="sif-weighted",
        postprocess=DEFAULT_POSTPROCESS,
        n_removed="auto",
        subspace="documents",
        supervised=False,
        lowercase=True,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        tokenizer=None,
        dtype=np.float32,
        quantization=None,
        pq_subvectors=None,
        ngram_buckets=NGRAM_BUCKETS,
        random_state=None,
        batch_size=10_000,
        tune_alpha=TUNE_ALPHA,
        tune_max_iter=200,
        tune_solver="lbfgs",
        verbose=0,
    ):
        self.vectors = vectors
        self.rank = rank
        self.solver = solver
        self.vocabulary = vocabulary
        self.weighting = weighting
        self.pooling = pooling
        self.postprocess = postprocess
        self.n_removed = n_removed
        self.subspace = subspace
        self.supervised = supervised
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.quantization = quantization
        self.pq_subvectors = pq_subvectors
        self.ngram_buckets = ngram_buckets
        self.random_state = random_state
        self.batch_size = batch_size
        self.tune_alpha = tune_alpha
        self.tune_max_iter = tune_max_iter
        self.tune_solver = tune_solver
        self.verbose = verbose

    def build_analyzer(self) -> Analyzer:
        """Return the function that turns one document into its tokens.

        As scikit-learn's ``CountVectorizer.build_analyzer``: ``lowercase``,
        then ``tokenizer`` or ``token_pattern``.

        Examples
        --------
        >>> FactorizedEmbedding().build_analyzer()("It isn't bad.")
        ['it', 'is', "n't", 'bad', '.']
        """
        return build_analyzer(
            lowercase=self.lowercase,
            token_pattern=self.token_pattern,
            tokenizer=self.tokenizer,
        )

    def _fit(
        self,
        X,
        y=None,
        *,
        partial: bool = False,
        others: SubwordVocabulary | None = None,
    ) -> DocumentCounts | None:
        """Count ``X`` and fit from its statistics (added to the earlier ones
        with ``partial``); return its counts over the table's words, then over
        ``others`` (see :func:`count_corpus`)."""
        if self.supervised and partial:
            raise ValueError(
                f"partial_fit does not support supervised={self.supervised!r}: it "
                "needs every labelled document at once; use fit(X, y)"
            )
        if self.supervised and (X is None or y is None):
            raise ValueError(
                f"supervised={self.supervised!r} learns from the classes of "
                f"the fit documents; pass documents and their labels, fit(X, y) "
                f"(got {'X=None' if X is None else 'y=None'})"
            )
        statistics = documents = labels = None
        if X is not None:
            statistics, documents = count_corpus(
                X,
                self.build_analyzer(),
                load_table(self.vectors).lookup,
                self.batch_size,
                others=others,
            )
        if self.supervised:
            labels = _check_labels(y, statistics.n_documents, self.supervised)
        previous = getattr(self, "_corpus_statistics", None) if partial else None
        if previous is not None:
            statistics = previous + statistics
        fit_from_statistics(self, statistics, documents, labels)
        return documents

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Learn the factorization from the table, weighted by the documents ``X``.

        Parameters
        ----------
        X : iterable of str, pandas Series or None
            The fit corpus. ``None`` is allowed when ``vocabulary`` is not
            ``"corpus"`` and ``pooling`` learns nothing from documents.
        y : array-like of shape (n_documents,) or None
            Class labels of ``X``, used only with ``supervised=True`` (then
            required); ignored otherwise, as by PCA.

        Returns
        -------
        self : FactorizedEmbedding
        """
        self._fit(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the documents ``X`` to the fit corpus and refit the factors.

        The corpus statistics (token counts and document frequencies) are sums
        kept from call to call, so batch by batch gives the vocabulary, word
        weights and word factors of ``fit`` on the concatenation, in memory
        bounded by a batch. What needs the documents themselves is learned
        from the latest call only: the directions of ``subspace="documents"``
        and sif's common component (set ``subspace="words"`` for factors equal
        to ``fit``'s). The rank must not exceed the words counted so far.

        Parameters
        ----------
        X : iterable of str or pandas Series
            A batch of documents.
        y : None
            Ignored.

        Returns
        -------
        self : FactorizedEmbedding

        Examples
        --------
        >>> from sklearn_factorembed import FactorizedEmbedding
        >>> embedding = FactorizedEmbedding(rank=2)
        >>> embedding = embedding.partial_fit(["a gripping thriller"])
        >>> embedding = embedding.partial_fit(["dull and far too long"])
        >>> len(embedding.vocabulary_)
        8
        """
        if X is None:
            raise ValueError("partial_fit needs documents; X is None")
        self._fit(X, partial=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its document codes, tokenizing ``X`` once.

        Returns
        -------
        ndarray of shape (n_documents, rank_)
        """
        # With n-grams, the tokens outside the table are counted too: the
        # model encodes them, and the fit reads the table's columns only.
        others = SubwordVocabulary.of_table(load_table(self.vectors))
        documents = self._fit(X, y, others=others)
        if documents is None:
            raise ValueError("fit_transform needs documents; X is None")
        words = self._words(others)
        codes = self._pool(words, words.over_lookup(documents.matrix))
        warn_of_empty_documents(_empty_rows(documents.matrix), len(codes), self.vectors)
        return codes

    def _words(self, counted: SubwordVocabulary | None = None) -> WordCodes:
        """The codes of every word this model can encode (built once, and again
        once full); a call keeps the one it started with. ``counted``: the
        n-gram words the fit documents were counted over, which a new one
        keeps in their columns."""
        words = getattr(self, "_word_codes", None)
        if words is None or words.is_full:
            words = self._word_codes = WordCodes.of_model(
                self, self._quantized, counted
            )
        return words

    def _pool(self, words: WordCodes, counts) -> np.ndarray:
        return words.pool(
            counts, pooling=self.pooling, common_component=self.common_component_
        )

    def transform(self, X):
        """Pool the codes of each document's words.

        Every word of the table is encoded: one outside ``vocabulary_`` gets
        the projection and quantization of the fit words (computed when first
        met, then remembered) and the pooling weight ``unseen_weight_``. With
        a fastText source, so does any other word with an n-gram of
        ``min_n_`` to ``max_n_`` characters: the mean of its n-grams' codes
        (see ``ngram_buckets``), with or without the table.
        Without its table, a loaded model encodes ``vocabulary_`` and the
        extra words saved with it (:meth:`save`); other tokens are ignored.

        Parameters
        ----------
        X : iterable of str, generator of str or pandas Series
            Documents, consumed ``batch_size`` at a time.

        Returns
        -------
        ndarray of shape (n_documents, rank_)
            A document without a word the model can encode gets a row of
            zeros (the code of the mean), and one ``UserWarning`` per call
            says how many there are.
        """
        check_is_fitted(self)
        analyzer = self.build_analyzer()
        words = self._words()
        lookup = words.lookup
        # A whole collection is remembered (a grid search rescores its folds);
        # the batches of a long stream would only evict it.
        remember = hasattr(X, "__len__") and len(X) <= self.batch_size
        n_empty = 0

        def pooled_batches():
            nonlocal n_empty
            for batch in document_batches(X, self.batch_size):
                counts = count_tokens(batch, analyzer, lookup, remember=remember)
                n_empty += _empty_rows(counts)
                yield self._pool(words, counts)

        codes = _filled_rows(
            pooled_batches(),
            len(X) if hasattr(X, "__len__") else 0,
            (self.rank_, self.embedding_.dtype),
        )
        warn_of_empty_documents(n_empty, len(codes), self.vectors)
        return codes

    def inverse_transform(self, X):
        """Map codes back to the d-dim space: ``X @ components_ + mean_``.

        With ``postprocess``, the result is in the post-processed space shifted
        back by the mean: it has no component along ``removed_directions_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, rank_)

        Returns
        -------
        ndarray of shape (n_samples, d)
        """
        check_is_fitted(self)
        codes = check_array(X, dtype=[np.float64, np.float32])
        if codes.shape[1] != self.rank_:
            raise ValueError(
                f"X has {codes.shape[1]} columns but this FactorizedEmbedding "
                f"produces codes of rank_={self.rank_}"
            )
        return (codes @ self.components_ + self.mean_).astype(
            self.components_.dtype, copy=False
        )

    def transform_words(self, words) -> np.ndarray:
        """Codes of single words: any word :meth:`transform` encodes.

        Parameters
        ----------
        words : iterable of str

        Returns
        -------
        ndarray of shape (n_words, rank_)
            Words the model cannot encode get a row of zeros (the code of the
            mean).
        """
        check_is_fitted(self)
        return self._words().codes_of(check_documents(words, name="words"))

    def to_keyedvectors(self, words=None) -> KeyedVectors:
        """Words and their codes as a gensim ``KeyedVectors``.

        Parameters
        ----------
        words : iterable of str, default=None
            The words to include, any that :meth:`transform_words` encodes
            (the others are left out); None: those of ``vocabulary_``.

        Returns
        -------
        KeyedVectors
            ``rank_``-dim vectors, in the order of ``vocabulary_`` or of
            ``words``.
        """
        check_is_fitted(self)
        if words is None:
            words, codes = list(self.vocabulary_), self.embedding_
        else:
            lookup = self._words().lookup
            words = [
                word
                for word in dict.fromkeys(check_documents(words, name="words"))
                if word in lookup
            ]
            codes = self.transform_words(words)
        return _keyed_vectors(words, codes)

    def save(self, path: str | os.PathLike, *, extra_words: int = EXTRA_WORDS) -> None:
        """Save the fitted model to a portable file that loading cannot run.

        A zip of ``.npy`` arrays and a JSON description (format version,
        parameters, fitted scalars, vocabulary, SHA-256 checksum), written
        atomically. A loaded model transforms without the table it was fitted
        on: with the table at hand it encodes every word of it, without it the
        words of ``vocabulary_`` and the ``extra_words``.

        Parameters
        ----------
        path : str or path-like
            The file to write (any name; ``.npz`` is customary). Its folder must
            exist. It is replaced atomically; the temporary file a killed save
            leaves there is removed by the next save into the folder.
        extra_words : int, default=100_000
            How many of the table's most frequent words beyond ``vocabulary_``
            to store int8 codes of, for a loaded model to encode where the
            table is not (README, "Save, load, export"); 0 stores none.

        Raises
        ------
        ValueError
            If a parameter cannot be saved without pickling code or data: a
            ``tokenizer`` callable, ``vectors`` given as a ``KeyedVectors``
            object (pass a name or a path), a ``RandomState`` instance.
        OSError
            If ``path`` exists and is not a regular file (a folder, FIFO,
            device or socket): it is refused before anything is written.

        Examples
        --------
        >>> import os, tempfile
        >>> embedding = FactorizedEmbedding(rank=4).fit(["a good film", "a bad one"])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> embedding.save(path)
        >>> restored = FactorizedEmbedding.load(path)
        >>> bool((restored.transform(["good"]) == embedding.transform(["good"])).all())
        True
        """
        check_is_fitted(self)
        extra = dict.fromkeys(EXTRA_ATTRIBUTES)
        if extra_words > 0:
            extra = self._words().extra_attributes(extra_words)
        save_estimator(self, path, self._stored_attributes() | extra)

    @classmethod
    def load(cls, path: str | os.PathLike) -> FactorizedEmbedding:
        """Load a model saved by :meth:`save`, never unpickling anything.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        FactorizedEmbedding
            Fitted, with the saved parameters.

        Raises
        ------
        ValueError
            If the file is not a saved model, or is truncated, corrupt, edited or
            from a newer format version, or holds a fitted state that a fit
            cannot produce (see :mod:`._validation`: every attribute the
            methods read is checked, its dtype, shape and values, before it is
            set); the message names the file and the problem.
        FileNotFoundError
            If there is no file at ``path``.
        OSError
            If ``path`` is a folder, FIFO, device or socket: it is refused
            without being opened.
        """
        return load_estimator(path, cls)

    def export(
        self,
        path: str | os.PathLike,
        *,
        format: str = "word2vec",
        space: str = "codes",
        words=None,
    ) -> None:
        """Write words' vectors in a format other tools read.

        Parameters
        ----------
        path : str or path-like
            The file (for ``"model2vec"``, folder) to write, atomically. With the
            word2vec formats, a ``.gz`` or ``.bz2`` suffix compresses it.
        format : {"word2vec", "word2vec-bin", "kv", "model2vec"}, default="word2vec"
            word2vec text or binary, gensim's ``KeyedVectors`` file (a pickle:
            share it only with people who trust you), or a model2vec folder,
            whose ``encode`` is ``transform`` with ``pooling="mean"`` (README).
        space : {"codes", "reconstructed"}, default="codes"
            The ``rank_``-dim codes (:meth:`to_keyedvectors`), or their
            ``d``-dim reconstructions ``codes @ components_ + mean_``.
        words : iterable of str, default=None
            As :meth:`to_keyedvectors` takes them: None for ``vocabulary_``,
            or any words the model encodes (e.g. the table's first ``n``).

        Examples
        --------
        >>> import os, tempfile
        >>> from gensim.models import KeyedVectors
        >>> embedding = FactorizedEmbedding(rank=4).fit(["a good film", "a bad one"])
        >>> path = os.path.join(tempfile.mkdtemp(), "codes.txt")
        >>> embedding.export(path, words=["a", "good", "great", "film"])
        >>> exported = KeyedVectors.load_word2vec_format(path)
        >>> exported.vector_size, exported.index_to_key
        (4, ['a', 'good', 'great', 'film'])
        """
        if space not in SPACES:
            raise ValueError(f"space={space!r} is not one of {SPACES}")
        keyed_vectors = self.to_keyedvectors(words)
        if space == "reconstructed":
            keyed_vectors = _keyed_vectors(
                keyed_vectors.index_to_key,
                self.inverse_transform(keyed_vectors.vectors),
            )
        analyzer = self.build_analyzer()
        write_keyed_vectors(keyed_vectors, path, format=format, analyzer=analyzer)

    @property
    def _n_features_out(self):
        return self.rank_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
