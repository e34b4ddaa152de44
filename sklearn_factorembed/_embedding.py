"""FactorizedEmbedding: low-rank factorized word vectors as a text transformer."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from gensim.models import KeyedVectors
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    RealNotInt,
    StrOptions,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from ._cache import LRUCache, fingerprint
from ._factorize import (
    SOLVERS,
    Moments,
    Spectrum,
    decompose,
    discriminant_directions,
    encode,
    guided_spectrum,
    normalize_weights,
    resolve_rank,
    truncate,
    weighted_moments,
)
from ._persistence import load_estimator, save_estimator, write_keyed_vectors
from ._postprocess import (
    POSTPROCESSINGS,
    abtt_spectrum,
    default_n_removed,
    dominant_directions,
    remove_directions,
    strip_leading_directions,
)
from ._quantize import (
    default_subvectors,
    dequantize_int8,
    dequantize_product,
    divisors,
    quantize_int8,
    quantize_product,
)
from ._text import (
    DEFAULT_TOKEN_PATTERN,
    POOLINGS,
    CorpusStatistics,
    build_analyzer,
    check_documents,
    count_tokens,
    document_batches,
    documents_key,
    idf_weights,
    pool,
    sif_weights,
)
from ._vectors import (
    DEFAULT_VECTORS,
    Vocabulary,
    load_vectors,
    source_key,
    table_vocabulary,
)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
SPACES = ("codes", "reconstructed")
SUBSPACES = ("documents", "words")

# The rank-independent part of recent fits, so that a grid search over rank,
# which refits the same folds once per rank, decomposes each fold once and only
# truncates.
_factors_cache = LRUCache(maxsize=16)
# The same for the directions the documents and the labels pick.
_guided_cache = LRUCache(maxsize=16)
# The corpus statistics and counts of recently fitted documents: each fold of a
# grid search is counted once however many candidates refit it.
_statistics_cache = LRUCache(maxsize=16)


@dataclass(frozen=True)
class _Factors:
    """What a fit computes before knowing the rank (read-only arrays)."""

    spectrum: Spectrum  # all directions of the (post-processed) weighted rows
    removed: np.ndarray | None  # directions the first post-processing removed
    vocabulary: Vocabulary  # read-only: estimators share it
    table: np.ndarray  # the kept rows (a view of a memory map when contiguous)


def _read_only(*arrays) -> None:
    for array in arrays:
        if array is not None:
            array.setflags(write=False)


WEIGHTINGS = ("frequency", "log-frequency")


def frequency_weights(word_counts: np.ndarray, weighting: str) -> np.ndarray:
    """Row weights of the factorization from token counts.

    ``"frequency"`` is ``sqrt(count)``, ``"log-frequency"`` ``log(1 + count)``:
    frequent words matter more than rare ones, but not in proportion to their
    counts, which would hand the whole subspace to a few function words and
    punctuation. The square root won on the classification and word-similarity
    benchmarks (``benchmarks/quality.py``).

    Examples
    --------
    >>> frequency_weights(np.array([0.0, 4.0]), "frequency")
    array([0., 2.])
    """
    if weighting == "log-frequency":
        return np.log1p(word_counts)
    return np.sqrt(word_counts)


def zipf_counts(table_rows: np.ndarray) -> np.ndarray:
    """Relative token counts of words from their rows in a frequency-ordered table.

    Pretrained tables (GloVe, word2vec, fastText) list words from the most to
    the least frequent; by Zipf's law the word of row ``i`` occurs about
    ``1 / (i + 1)`` times as often as the first.

    Examples
    --------
    >>> zipf_counts(np.array([0, 1, 3]))
    array([1.  , 0.5 , 0.25])
    """
    counts = np.add(table_rows, 1.0, dtype=np.float64)
    return np.divide(1.0, counts, out=counts)


def common_component(gram: np.ndarray) -> np.ndarray:
    """The direction sif pooling removes, from the Gram matrix of pooled codes.

    The top eigenvector of ``P.T @ P`` is the top right singular vector of the
    pooled codes ``P`` (Arora et al., 2017), signed so that its largest entry is
    positive; the Gram matrix is a sum over documents, so it can be accumulated
    over batches or partitions.

    Examples
    --------
    >>> import numpy as np
    >>> common_component(np.array([[1.0, 0.0], [0.0, 4.0]]))
    array([0., 1.])
    """
    _, eigenvectors = np.linalg.eigh(gram)
    direction = eigenvectors[:, -1]
    return direction * np.sign(direction[np.argmax(np.abs(direction))])


def _positive_rows(table, weights):
    """The rows of positive weight, their weights and their indices; all rows,
    not copied, when every weight is positive (or there are none)."""
    if weights is None or np.all(weights > 0):
        return table, weights, slice(None)
    rows = np.flatnonzero(weights)
    return table[rows], weights[rows], rows


def _rows_part(rows):
    """The kept rows, in a form :func:`fingerprint` digests."""
    return (rows.start, rows.stop) if isinstance(rows, slice) else rows


class FactorizedEmbedding(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
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
        The words kept: those of the fit documents found in the table
        (``"corpus"``), the whole table (``"all"``), its ``k`` first rows (``int``;
        pretrained tables are ordered by frequency), or the given words. With
        anything but ``"corpus"``, ``fit(None)`` is allowed. The default keeps
        the model small (a code per corpus word: a 2.6 MB pickle on movie
        reviews at rank 25); ``"all"`` keeps a code for every table word, so that words
        unseen in ``fit`` still count in ``transform`` (about 1 point of accuracy
        at rank 10 on movie reviews, ``benchmarks/quality.py``) at the cost of a
        row per table word in ``embedding_`` (40 MB for GloVe at rank 25). Words
        absent from the fit corpus are encoded, not fitted.
    weighting : {"frequency", "log-frequency"} or None, default="frequency"
        ``"frequency"`` weighs each kept word by ``sqrt(count)`` of its count in
        the fit corpus (``"log-frequency"`` by ``log(1 + count)``), so the factors
        favour the words the task uses; words absent from the fit corpus get no
        weight (they are encoded, not fitted). Fitting without documents, the
        counts are estimated from the order of the table by Zipf's law (see
        :func:`zipf_counts`), which assumes the table lists words from the most
        to the least frequent, as pretrained tables do. ``None`` weighs all kept
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
        codes here are centred already, so it is mostly signal (removing it cost
        8 to 10 points of accuracy on AG News), hence the default ``"sif-weighted"``.
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
        of documents only sees what varies between documents (at ranks 5 and 10
        it adds 0.6 to 2.4 points of accuracy on movie reviews and AG News,
        ``benchmarks/quality.py``). Either way the codes are the projections
        ``(E - mean_) @ components_.T`` of the word vectors and the attributes
        keep their meaning; the table's variance fills any direction the
        documents leave undetermined (fewer documents than dimensions). Fitted
        without documents, ``"documents"`` falls back to ``"words"``; with
        ``partial_fit``, the documents are those of the latest call, and with
        ``pooling="sif"`` the common component is removed afterwards.
    supervised : bool, default=False
        Let ``fit(X, y)`` use the labels: the first directions are Fisher's
        discriminants (LDA, at most ``n_classes - 1``) of the fit documents
        pooled in the d-dim (post-processed) space, the others the top weighted
        variance directions orthogonal to them. The subspace then keeps what
        separates the classes as well as what carries the most variance; in a
        Pipeline or a grid search only the training folds' labels are seen.
        With ``subspace="documents"`` the variance part is the documents'. It
        always uses the covariance solver, and a float ``rank`` is resolved on
        the unsupervised spectrum of the words.
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
    random_state : int, RandomState instance or None, default=None
        Seed of the ``"randomized"`` solver and of the k-means of
        ``quantization="pq"``.
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
        "vectors": [str, os.PathLike, KeyedVectors],
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
        "supervised": ["boolean"],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "tokenizer": [callable, None],
        "dtype": [type, str, np.dtype],
        "quantization": [StrOptions({"int8", "pq"}), None],
        "pq_subvectors": [Interval(Integral, 1, None, closed="left"), None],
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
        postprocess="abtt",
        n_removed="auto",
        subspace="documents",
        supervised=False,
        lowercase=True,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        tokenizer=None,
        dtype=np.float32,
        quantization=None,
        pq_subvectors=None,
        random_state=None,
        batch_size=10_000,
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
        self.random_state = random_state
        self.batch_size = batch_size

    def _build_analyzer(self):
        return build_analyzer(
            lowercase=self.lowercase,
            token_pattern=self.token_pattern,
            tokenizer=self.tokenizer,
        )

    def _check_dtype(self) -> np.dtype:
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"dtype={self.dtype!r} is not supported; use np.float32 or np.float64"
            )
        return dtype

    def _select_rows(self, table: KeyedVectors, statistics):
        """Rows of the table to keep."""
        if isinstance(self.vocabulary, str) and self.vocabulary == "corpus":
            if statistics is None:
                raise ValueError(
                    "vocabulary='corpus' takes its words from the fit documents; "
                    "pass documents to fit, or set vocabulary to 'all', an int or "
                    "a list of words"
                )
            rows = statistics.words()
            if len(rows) == 0:
                raise ValueError(
                    f"none of the {statistics.n_documents} fit documents contains "
                    f"a word of the table {self._vectors_name()!r}; check the "
                    "tokenizer, lowercase and the language of the table"
                )
            return rows
        if isinstance(self.vocabulary, str):
            return slice(0, len(table))
        if isinstance(self.vocabulary, Integral):
            return slice(0, min(int(self.vocabulary), len(table)))
        return self._rows_of_words(table, self.vocabulary)

    def _rows_of_words(self, table: KeyedVectors, words) -> np.ndarray:
        words = check_documents(words, name="vocabulary")
        lookup = table.key_to_index
        rows = np.array(
            sorted({lookup[word] for word in words if word in lookup}),
            dtype=np.int64,
        )
        if len(rows) == 0:
            raise ValueError(
                f"none of the {len(words)} words of vocabulary is in the table "
                f"{self._vectors_name()!r}"
            )
        n_missing = len(set(words)) - len(rows)
        if n_missing:
            warnings.warn(
                f"{n_missing} of the {len(set(words))} words of vocabulary are not "
                f"in the table {self._vectors_name()!r} and are left out",
                UserWarning,
                stacklevel=3,
            )
        return rows

    def _vectors_name(self) -> str:
        if isinstance(self.vectors, KeyedVectors):
            return "KeyedVectors"
        return str(self.vectors)

    def _factors_key(self, source, rows, weights_part, n_fitted, n_dims) -> str | None:
        """What the rank-independent factors depend on (``weights_part``: the
        row weights or what determines them), or None when they must not be
        cached."""
        if source is None:
            return None
        if self.solver == "randomized":
            # Its directions depend on the number computed and on the seed.
            if not isinstance(self.random_state, Integral):
                return None
            solver = ("randomized", self.rank, self.random_state)
        else:
            solver = self.solver
        return fingerprint(
            source,
            _rows_part(rows),
            weights_part,
            solver,
            self._postprocessing(n_fitted, n_dims),
        )

    def _factors(self, table: KeyedVectors, rows, weights, key) -> _Factors:
        def compute():
            # Gathering the rows of a memory map is a good part of a refit's
            # cost: the gathered rows are kept with the factors.
            kept_table = table.vectors[rows]
            spectrum, removed = self._decompose(kept_table, weights)
            _read_only(
                spectrum.mean,
                spectrum.components,
                spectrum.singular_values,
                removed,
                kept_table,
            )
            if isinstance(rows, slice) and rows == slice(0, len(table)):
                vocabulary = table_vocabulary(self.vectors)
            else:
                words = (
                    table.index_to_key[rows]
                    if isinstance(rows, slice)
                    else list(map(table.index_to_key.__getitem__, rows.tolist()))
                )
                vocabulary = Vocabulary(zip(words, range(len(words)), strict=True))
            return _Factors(spectrum, removed, vocabulary, kept_table)

        return compute() if key is None else _factors_cache.get_or_compute(key, compute)

    def _is_one_batch(self, X) -> bool:
        """Whether ``X`` is a collection of at most ``batch_size`` documents.

        Only then are its counts cached: a grid search refits and rescores whole
        folds, while the batches of a long stream would only evict them.
        """
        return hasattr(X, "__len__") and len(X) <= self.batch_size

    def _table_and_keys(self):
        """The table, its source key and the fingerprint of its whole vocabulary."""
        table = load_vectors(self.vectors)
        source = source_key(self.vectors)
        return table, source, None if source is None else fingerprint(source)

    def _statistics_of(self, X) -> tuple[CorpusStatistics, sp.csr_matrix, str | None]:
        """Corpus statistics of the documents ``X``, their token counts over all
        rows of the table (read-only), and a digest of the documents, or None
        when they are not remembered (see :meth:`_is_one_batch`)."""
        table, _, table_key = self._table_and_keys()
        analyzer = self._build_analyzer()
        key = None
        if self._is_one_batch(X):
            X = check_documents(X)
            key = documents_key(X, analyzer, table_key)

        def count():
            batches = [
                count_tokens(batch, analyzer, table.key_to_index)
                for batch in document_batches(X, self.batch_size)
            ]
            if not batches:
                raise ValueError("X is empty: fit needs at least one document")
            counts = (
                sp.vstack(batches, format="csr") if len(batches) > 1 else batches[0]
            )
            _read_only(counts.data, counts.indices, counts.indptr)
            return CorpusStatistics.from_counts(counts), counts

        if key is None:
            return *count(), None
        return *_statistics_cache.get_or_compute(key, count), key

    def _fit(self, X, y=None, *, partial: bool = False, return_counts: bool = False):
        """Fit; return the counts of ``X`` over ``vocabulary_`` if asked (or None
        when ``X`` is None)."""
        if self.pooling == "tfidf" and X is None:
            raise ValueError(
                "pooling='tfidf' learns word weights from the fit documents; pass "
                "documents to fit"
            )
        if self.supervised and partial:
            raise ValueError(
                "partial_fit does not support supervised=True: the discriminants "
                "need every labelled document at once; use fit(X, y)"
            )
        if self.supervised and (X is None or y is None):
            raise ValueError(
                "supervised=True learns directions that separate the classes of "
                f"the fit documents; pass documents and their labels, fit(X, y) "
                f"(got {'X=None' if X is None else 'y=None'})"
            )
        statistics, counts, counts_key = (
            (None, None, None) if X is None else self._statistics_of(X)
        )
        labels = self._check_labels(counts, y) if self.supervised else None
        previous = getattr(self, "_corpus_statistics", None) if partial else None
        if previous is not None:
            statistics = previous + statistics
        # Selecting the kept columns costs a pass over the counts: only when used.
        needs_counts = (
            return_counts
            or self.pooling == "sif"
            or self.supervised
            or self.subspace == "documents"
        )
        kept_counts = self._fit_statistics(
            statistics, counts if needs_counts else None, labels, counts_key=counts_key
        )
        if kept_counts is not None and self.pooling == "sif":
            self.common_component_ = common_component(
                self._sif_gram(kept_counts)
            ).astype(self.embedding_.dtype)
        return kept_counts

    def _fit_statistics(
        self,
        statistics: CorpusStatistics | None,
        counts: sp.csr_matrix | None = None,
        labels: np.ndarray | None = None,
        document_moments: Moments | None = None,
        *,
        counts_key: str | None = None,
    ) -> sp.csr_matrix | None:
        """Fit the factors and word weights from corpus statistics (None: no
        documents); return ``counts`` (over the whole table) restricted to the
        kept words, or None without counts.

        With ``subspace="documents"`` the documents' moments come from
        ``counts`` (whose digest, if known, is ``counts_key``) or, when the
        documents are elsewhere (Dask partitions), are given as
        ``document_moments`` (see :meth:`_document_moments`). The sif
        common component needs the documents themselves and is left to the
        caller (see :func:`common_component`).
        """
        if isinstance(self.rank, bool):  # an Integral to sklearn's validation
            raise InvalidParameterError(
                f"The 'rank' parameter of FactorizedEmbedding must be an int or a "
                f"float in the range (0.0, 1.0), not a bool. Got {self.rank!r}."
            )
        dtype = self._check_dtype()
        table, source, _ = self._table_and_keys()
        self._corpus_statistics = statistics
        rows = self._select_rows(table, statistics)
        n_words = len(range(len(table))[rows]) if isinstance(rows, slice) else len(rows)
        n_dims = table.vectors.shape[1]
        if isinstance(self.rank, Integral) and self.rank > n_dims:
            raise ValueError(
                f"rank={self.rank} exceeds the vector size {n_dims} of "
                f"{self._vectors_name()!r}"
            )
        if isinstance(self.rank, Integral) and self.rank > n_words:
            raise ValueError(
                f"rank={self.rank} exceeds the {n_words} words kept in the "
                "vocabulary; use a lower rank or a larger vocabulary"
            )
        kept_counts = None if counts is None else counts[:, rows].tocsr()

        if statistics is None:
            word_counts = zipf_counts(np.arange(len(table))[rows])
        else:
            word_counts, document_frequency = statistics.kept(rows)
        weights = None
        if self.weighting is not None:
            weights = frequency_weights(word_counts, self.weighting)
            if not weights.any():  # no kept word occurs in the corpus
                weights = None

        self.pooling_weights_ = None
        self.common_component_ = None
        if self.pooling == "tfidf":
            self.pooling_weights_ = idf_weights(
                document_frequency, statistics.n_documents
            ).astype(dtype)
        elif self.pooling in ("sif", "sif-weighted"):
            self.pooling_weights_ = sif_weights(word_counts).astype(dtype)

        n_fitted = n_words if weights is None else np.count_nonzero(weights)
        # Without documents the weights follow from the rows kept (Zipf's law):
        # no need to digest them.
        weights_part = ("zipf", self.weighting) if statistics is None else weights
        factors_key = self._factors_key(source, rows, weights_part, n_fitted, n_dims)
        factors = self._factors(table, rows, weights, factors_key)
        # Rows of zero weight move neither the mean nor the directions: they are
        # left out of the factorization (see _decompose) and only encoded.
        kept_table = factors.table
        weighted_table, weighted_weights, _ = _positive_rows(kept_table, weights)
        spectrum, removed = self._truncate(factors, weighted_table, weighted_weights)
        guided = self._guided_spectrum(
            factors_key,
            spectrum,
            removed,
            (weighted_table, weighted_weights),
            kept_table,
            (kept_counts, counts_key, document_moments),
            labels,
        )
        if guided is not None:
            spectrum = truncate(guided, len(spectrum.components))
        self.rank_ = len(spectrum.components)
        self.removed_directions_ = None if removed is None else removed.astype(dtype)

        self.vocabulary_ = factors.vocabulary
        self._vocabulary_key = (
            None if source is None else fingerprint(source, _rows_part(rows))
        )
        self.embedding_ = encode(kept_table, spectrum.mean, spectrum.components, dtype)
        # C order whatever the solver returned, so that products with the
        # components are the same after a save and load (np.load gives C order).
        self.components_ = np.ascontiguousarray(spectrum.components, dtype=dtype)
        self.mean_ = spectrum.mean.astype(dtype)
        self.singular_values_ = spectrum.singular_values.astype(dtype)
        self.explained_variance_ratio_ = spectrum.explained_variance_ratio.astype(dtype)
        self.reconstruction_error_ = spectrum.relative_error
        self.n_parameters_ = n_words * self.rank_ + self.rank_ * n_dims + n_dims
        self.compression_ratio_ = n_words * n_dims / self.n_parameters_
        self._quantize(weights)
        return kept_counts

    def _quantize(self, weights: np.ndarray | None) -> None:
        """Store the codes of ``embedding_`` quantized; replace it by their
        dequantized form, so that every method pools what is stored."""
        self.quantized_codes_ = None
        self.code_scales_ = None
        self.code_offsets_ = None
        self.codebooks_ = None
        n_words = len(self.embedding_)
        if self.quantization is None:
            self.bytes_per_word_ = float(self.embedding_.itemsize * self.rank_)
            return
        if self.quantization == "int8":
            self.quantized_codes_, self.code_scales_, self.code_offsets_ = (
                quantize_int8(self.embedding_)
            )
            shared = self.code_scales_.nbytes + self.code_offsets_.nbytes
        else:
            n_subvectors = (
                default_subvectors(self.rank_)
                if self.pq_subvectors is None
                else self.pq_subvectors
            )
            if self.rank_ % n_subvectors:
                raise ValueError(
                    f"pq_subvectors={n_subvectors} does not divide rank_="
                    f"{self.rank_}; use one of {divisors(self.rank_)}"
                )
            self.quantized_codes_, self.codebooks_ = quantize_product(
                self.embedding_,
                n_subvectors,
                sample_weight=weights,
                random_state=self.random_state,
            )
            shared = self.codebooks_.nbytes
        self.bytes_per_word_ = (self.quantized_codes_.nbytes + shared) / n_words
        self.embedding_ = self._dequantize()

    def _dequantize(self) -> np.ndarray:
        if self.codebooks_ is not None:
            return dequantize_product(
                self.quantized_codes_, self.codebooks_, dtype=self.components_.dtype
            )
        return dequantize_int8(
            self.quantized_codes_,
            self.code_scales_,
            self.code_offsets_,
            dtype=self.components_.dtype,
        )

    # With quantization, ``embedding_`` is a derived array, rebuilt from the
    # quantized codes in ``__setstate__``: pickles (and ``save``, which stores
    # the state returned here) carry only the quantized form, so their size
    # shows the gain. It stays a plain attribute rather than a property so that
    # unquantized models and every method see one ``embedding_`` as before.
    def __getstate__(self):
        state = super().__getstate__()
        if state.get("quantized_codes_") is not None:
            state = {key: value for key, value in state.items() if key != "embedding_"}
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if getattr(self, "quantized_codes_", None) is not None:
            self.embedding_ = self._dequantize()

    def _pooled_documents(
        self,
        counts: sp.csr_matrix,
        kept_table: np.ndarray,
        mean: np.ndarray,
        removed: np.ndarray | None,
    ) -> np.ndarray:
        """The documents of ``counts`` (over ``kept_table``'s rows) pooled in the
        d-dim space, centred on ``mean`` and post-processed (``removed``
        projected out), float64; from the rows of the words they use only."""
        present = np.zeros(counts.shape[1], dtype=bool)
        present[counts.indices] = True
        used = np.flatnonzero(present)
        column_of_row = np.cumsum(present) - 1
        counts = sp.csr_matrix(
            (counts.data, column_of_row[counts.indices], counts.indptr),
            shape=(counts.shape[0], len(used)),
        )
        word_weights = self.pooling_weights_
        return pool(
            counts,
            remove_directions(kept_table[used], mean, removed),
            pooling=self.pooling,
            word_weights=None if word_weights is None else word_weights[used],
        )

    def _document_moments(
        self,
        counts: sp.csr_matrix,
        kept_table: np.ndarray,
        mean: np.ndarray,
        removed: np.ndarray | None,
    ) -> Moments:
        """Moments of the non-empty documents of ``counts``, pooled as by
        :meth:`_pooled_documents`, ``batch_size`` documents at a time (bounded
        memory); they add up over batches and partitions."""
        moments = Moments.of(np.zeros((0, kept_table.shape[1])))
        for start in range(0, counts.shape[0], self.batch_size):
            batch = counts[start : start + self.batch_size]
            documents = self._pooled_documents(batch, kept_table, mean, removed)
            moments = moments + Moments.of(documents[np.diff(batch.indptr) > 0])
        return moments

    def _guided_spectrum(
        self,
        factors_key,
        spectrum,
        removed,
        factorized,
        kept_table,
        documents,
        labels,
    ) -> Spectrum | None:
        """All directions picked by the labels (``supervised``) and the
        documents (``subspace="documents"``), then by the variance of the words
        orthogonal to them, in the space the post-processing left (see
        :func:`guided_spectrum`); None when neither applies.

        ``factorized`` holds the rows and weights that were factorized;
        ``documents`` is ``(counts, counts_key, document_moments)``: the
        documents' counts over ``kept_table``'s rows and the digest of the
        documents (see :meth:`_statistics_of`), or, from Dask partitions, the
        documents' moments. Like the factors, the result does not depend on the
        rank (but for PPA's second pass, in ``removed``) and is cached: a grid
        search over rank computes it once per fold.
        """
        counts, counts_key, document_moments = documents
        if counts is None and document_moments is None:
            return None
        if not self.supervised and self.subspace != "documents":
            return None

        def compute():
            leading = guide = None
            if self.supervised:  # fit(X, y): the documents are in counts
                pooled = self._pooled_documents(
                    counts, kept_table, spectrum.mean, removed
                )
                leading = discriminant_directions(pooled, labels)
            if self.subspace == "documents":
                moments = document_moments
                if moments is None:
                    moments = self._document_moments(
                        counts, kept_table, spectrum.mean, removed
                    )
                guide = moments.scatter
            table, weights = factorized
            processed = remove_directions(table, spectrum.mean, removed)
            _, scatter = weighted_moments(
                processed, normalize_weights(weights, len(processed))
            )
            guided = guided_spectrum(
                spectrum.mean, scatter, leading=leading, guide=guide
            )
            _read_only(guided.components, guided.singular_values)
            return guided

        if factors_key is None:
            return compute()
        if document_moments is not None:
            documents_part = (
                document_moments.count,
                document_moments.total,
                document_moments.outer,
            )
        elif counts_key is not None:  # with factors_key, it fixes the counts
            documents_part = (counts_key,)
        else:
            documents_part = (counts.indptr, counts.indices, counts.data)
        key = fingerprint(
            factors_key,
            removed,
            self.subspace,
            self.supervised,
            labels,
            self.pooling,
            self.pooling_weights_,
            *documents_part,
        )
        return _guided_cache.get_or_compute(key, compute)

    def _postprocessing(self, n_rows: int, n_dims: int) -> tuple[str | None, int]:
        """The post-processing to apply to ``n_rows`` x ``n_dims`` fitted rows,
        and the directions each pass removes.

        ``n_removed="auto"`` removes ``d / 100`` directions (at least 1) but
        never so many that the rank would not fit: ``rank=d`` keeps the table
        whole, with no post-processing.
        """
        if self.postprocess is None:
            return None, 0
        if self.n_removed != "auto":
            return self.postprocess, int(self.n_removed)
        n_passes = 2 if self.postprocess == "ppa" else 1
        rank = self.rank if isinstance(self.rank, Integral) else 1
        room = max(0, min(n_rows, n_dims) - rank) // n_passes
        n_removed = min(default_n_removed(n_dims), room)
        return (self.postprocess, n_removed) if n_removed else (None, 0)

    def _check_labels(self, counts: sp.csr_matrix, y) -> np.ndarray:
        labels = np.asarray(y)
        check_consistent_length(counts, labels)
        check_classification_targets(labels)
        if len(np.unique(labels)) < 2:
            raise ValueError(
                f"supervised=True needs at least two classes in y, got "
                f"{np.unique(labels)!r}"
            )
        return labels

    def _decompose(self, kept_table: np.ndarray, weights: np.ndarray | None):
        """The rank-independent factorization: all directions of the weighted,
        (first-pass) post-processed rows of positive weight, and the directions
        the post-processing removed (None without it)."""
        kept_table, weights, _ = _positive_rows(kept_table, weights)
        # Tables loaded from a name or a path were checked once when loaded
        # (_vectors._check_table); a KeyedVectors object is checked here, before
        # post-processing, so that every path gives this error.
        if isinstance(self.vectors, KeyedVectors) and not np.all(
            np.isfinite(kept_table)
        ):
            raise ValueError(
                f"the table {self._vectors_name()!r} holds NaN or infinite values"
            )
        postprocess, n_removed = self._postprocessing(*kept_table.shape)
        if postprocess is not None and self.solver in ("auto", "covariance"):
            # From the table's moments: no post-processed copy of the table.
            return abtt_spectrum(kept_table, weights, n_removed)
        mean, removed, table = None, None, kept_table
        if postprocess is not None:
            mean, removed = dominant_directions(kept_table, weights, n_removed)
            table = remove_directions(kept_table, mean, removed)
        # PPA's second pass removes n_removed directions of the codes: factorize
        # to that many more so that rank_ informative directions remain.
        n_extra = n_removed if postprocess == "ppa" else 0
        spectrum = decompose(
            table,
            weights,
            solver=self.solver,
            n_components=(
                self.rank + n_extra if isinstance(self.rank, Integral) else None
            ),
            random_state=self.random_state,
        )
        mean = spectrum.mean if mean is None else mean
        # The post-processed table is centred; its codes take the original mean.
        return Spectrum(
            mean, spectrum.components, spectrum.singular_values, spectrum.total_variance
        ), removed

    def _truncate(self, factors: _Factors, table: np.ndarray, weights):
        """Cut the factors to the rank asked (PPA's second pass included); return
        the spectrum and every direction the post-processing removed.

        ``table`` and ``weights`` are the rows of positive weight, those
        :meth:`_decompose` factorized.
        """
        n_words, n_dims = table.shape
        postprocess, n_removed = self._postprocessing(n_words, n_dims)
        n_passes = {None: 0, "abtt": 1, "ppa": 2}[postprocess]
        n_available = min(n_words, n_dims) - n_passes * n_removed
        if n_available < (self.rank if isinstance(self.rank, Integral) else 1):
            raise ValueError(
                f"rank={self.rank} exceeds the {n_available} directions left of "
                f"the {min(n_words, n_dims)} available once postprocess="
                f"{postprocess!r} removes n_removed={n_removed} direction(s) "
                f"{n_passes} time(s); lower rank or n_removed"
            )
        spectrum, removed = factors.spectrum, factors.removed
        rank = min(resolve_rank(self.rank, spectrum), n_available)
        n_extra = n_removed if postprocess == "ppa" else 0
        spectrum = truncate(spectrum, rank + n_extra)
        if postprocess == "ppa":
            # The components are orthogonal to the first removed directions, so
            # the raw rows give the codes of the post-processed ones.
            codes = encode(table, spectrum.mean, spectrum.components, np.float64)
            spectrum, second = strip_leading_directions(
                spectrum, codes, weights, n_removed
            )
            removed = np.vstack([removed, second])
        return spectrum, removed

    def _sif_gram(self, counts: sp.csr_matrix) -> np.ndarray:
        """``P.T @ P`` (float64) of the sif-pooled codes ``P`` of the documents
        counted in ``counts`` (over ``vocabulary_``), before the common component
        is removed. A sum over documents: it adds up across batches."""
        pooled = pool(
            counts, self.embedding_, pooling="sif", word_weights=self.pooling_weights_
        ).astype(np.float64)
        return pooled.T @ pooled

    def _pool(self, counts: sp.csr_matrix) -> np.ndarray:
        codes = pool(
            counts,
            self.embedding_,
            pooling=self.pooling,
            word_weights=self.pooling_weights_,
        )
        if self.common_component_ is not None:
            codes -= np.outer(codes @ self.common_component_, self.common_component_)
        return codes

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

        The corpus statistics (token counts and document frequencies over the
        table) are sums, kept from call to call, so fitting a corpus batch by
        batch gives the vocabulary, word weights and word factors that ``fit``
        gives on the concatenation, in memory bounded by a batch. What needs
        the documents themselves, pooled with the final word weights, is
        learned from the documents of the latest call only: the documents'
        directions of ``subspace="documents"`` and the common component of
        ``pooling="sif"`` (keep the last batch large enough to estimate them,
        or set ``subspace="words"`` for factors equal to ``fit``'s).
        Each call refits the factors, so the rank must not exceed the words
        counted so far.

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
        counts = self._fit(X, y, return_counts=True)
        if counts is None:
            raise ValueError("fit_transform needs documents; X is None")
        return self._pool(counts)

    def transform(self, X):
        """Pool the codes of each document's known tokens.

        Parameters
        ----------
        X : iterable of str, generator of str or pandas Series
            Documents, consumed ``batch_size`` at a time. Tokens outside
            ``vocabulary_`` are ignored; a document without a known token gets a
            row of zeros (the code of the mean).

        Returns
        -------
        ndarray of shape (n_documents, rank_)
        """
        check_is_fitted(self)
        analyzer = self._build_analyzer()
        vocabulary_key = getattr(self, "_vocabulary_key", None)
        if not self._is_one_batch(X):
            vocabulary_key = None
        codes = [
            self._pool(
                count_tokens(
                    batch, analyzer, self.vocabulary_, vocabulary_key=vocabulary_key
                )
            )
            for batch in document_batches(X, self.batch_size)
        ]
        if not codes:
            return np.zeros((0, self.rank_), dtype=self.embedding_.dtype)
        return np.concatenate(codes) if len(codes) > 1 else codes[0]

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
        """Codes of single words.

        Parameters
        ----------
        words : iterable of str

        Returns
        -------
        ndarray of shape (n_words, rank_)
            Unknown words get a row of zeros (the code of the mean).
        """
        check_is_fitted(self)
        words = check_documents(words, name="words")
        rows = np.fromiter(
            (self.vocabulary_.get(word, -1) for word in words),
            dtype=np.int64,
            count=len(words),
        )
        codes = np.zeros((len(words), self.rank_), dtype=self.embedding_.dtype)
        known = rows >= 0
        codes[known] = self.embedding_[rows[known]]
        return codes

    def to_keyedvectors(self) -> KeyedVectors:
        """The kept words and their codes as a gensim ``KeyedVectors``.

        Returns
        -------
        KeyedVectors
            ``rank_``-dim vectors, in the order of ``vocabulary_``.
        """
        check_is_fitted(self)
        keyed_vectors = KeyedVectors(
            vector_size=self.rank_, count=0, dtype=self.embedding_.dtype
        )
        keyed_vectors.add_vectors(list(self.vocabulary_), self.embedding_)
        return keyed_vectors

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted model to a portable file that loading cannot run.

        The file is a zip of ``.npy`` arrays and a JSON description (format
        version, parameters, fitted scalars, vocabulary, SHA-256 checksum),
        written atomically: a crash mid-write leaves any earlier file intact.
        It holds everything ``transform`` needs, so it loads and transforms
        without the vector table it was fitted on.

        Parameters
        ----------
        path : str or path-like
            The file to write (any name; ``.npz`` is customary). Its folder must
            exist.

        Raises
        ------
        ValueError
            If a parameter cannot be saved without pickling code or data: a
            ``tokenizer`` callable, ``vectors`` given as a ``KeyedVectors``
            object (pass a name or a path), a ``RandomState`` instance.

        See Also
        --------
        load : Read the file back.
        export : Write the word vectors for other tools (word2vec, gensim).

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
        save_estimator(self, path)

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
            from a newer format version; the message names the file and the
            problem.
        FileNotFoundError
            If there is no file at ``path``.
        """
        embedding = load_estimator(path, cls)
        embedding._check_fitted_shapes(path)
        return embedding

    def _check_fitted_shapes(self, path) -> None:
        # The checksum catches corruption; this catches a file that is intact
        # but inconsistent, before it could fail deep inside transform.
        n_words = len(self.vocabulary_)
        n_dims = np.shape(self.components_)[-1] if np.ndim(self.components_) else 0
        expected = {
            "embedding_": (n_words, self.rank_),
            "components_": (self.rank_, n_dims),
            "mean_": (n_dims,),
            "pooling_weights_": (n_words,),
            "common_component_": (self.rank_,),
        }
        for name, shape in expected.items():
            value = getattr(self, name)
            if value is not None and np.shape(value) != shape:
                raise ValueError(
                    f"cannot load the model file {str(path)!r}: {name} has shape "
                    f"{np.shape(value)} where the other fitted attributes imply "
                    f"{shape}"
                )

    def export(
        self,
        path: str | os.PathLike,
        *,
        format: str = "word2vec",
        space: str = "codes",
    ) -> None:
        """Write the kept words' vectors in a format other tools read.

        Parameters
        ----------
        path : str or path-like
            The file to write, atomically. With the word2vec formats, a ``.gz``
            or ``.bz2`` suffix compresses it.
        format : {"word2vec", "word2vec-bin", "kv"}, default="word2vec"
            word2vec text, word2vec binary, or gensim's native ``KeyedVectors``
            file (a pickle, to share only with people who trust you). All load
            with gensim's ``KeyedVectors.load_word2vec_format`` / ``load``.
        space : {"codes", "reconstructed"}, default="codes"
            The ``rank_``-dim codes (:meth:`to_keyedvectors`), or their
            ``d``-dim reconstructions ``embedding_ @ components_ + mean_``.

        Examples
        --------
        >>> import os, tempfile
        >>> from gensim.models import KeyedVectors
        >>> embedding = FactorizedEmbedding(rank=4).fit(["a good film", "a bad one"])
        >>> path = os.path.join(tempfile.mkdtemp(), "codes.txt")
        >>> embedding.export(path)
        >>> KeyedVectors.load_word2vec_format(path).vector_size
        4
        """
        check_is_fitted(self)
        if space not in SPACES:
            raise ValueError(f"space={space!r} is not one of {SPACES}")
        keyed_vectors = self.to_keyedvectors()
        if space == "reconstructed":
            reconstructed = self.inverse_transform(keyed_vectors.vectors)
            keyed_vectors = KeyedVectors(
                vector_size=reconstructed.shape[1], count=0, dtype=reconstructed.dtype
            )
            keyed_vectors.add_vectors(list(self.vocabulary_), reconstructed)
        write_keyed_vectors(keyed_vectors, path, format=format)

    @property
    def nbytes_(self) -> int:
        """Bytes of all the fitted arrays as pickled, the word codes in their
        stored (quantized) form."""
        check_is_fitted(self)
        return sum(
            value.nbytes
            for name, value in self.__getstate__().items()
            if name.endswith("_") and isinstance(value, np.ndarray)
        )

    @property
    def _n_features_out(self):
        return self.rank_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
