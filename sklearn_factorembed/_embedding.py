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
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._cache import LRUCache, fingerprint
from ._factorize import SOLVERS, Spectrum, decompose, encode, resolve_rank, truncate
from ._text import (
    DEFAULT_TOKEN_PATTERN,
    POOLINGS,
    CorpusStatistics,
    build_analyzer,
    check_documents,
    count_tokens,
    document_batches,
    idf_weights,
    pool,
    sif_weights,
)
from ._vectors import DEFAULT_VECTORS, load_vectors, source_key

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The rank-independent part of recent fits, so that a grid search over rank,
# which refits the same folds once per rank, decomposes each fold once and only
# truncates.
_factors_cache = LRUCache(maxsize=16)
# Codes along all directions are kept for kept tables of up to this many values
# (16 MB in float32, e.g. a corpus vocabulary); larger ones (the whole 400,000-word
# table) keep only their decomposition and are encoded per fit at the rank asked.
_CACHED_CODES_MAX_VALUES = 4_000_000


@dataclass(frozen=True)
class _Factors:
    """What a fit computes before knowing the rank (read-only arrays)."""

    spectrum: Spectrum
    codes: np.ndarray | None  # codes along all directions, or None (large table)
    vocabulary: dict  # never mutated: the estimator copies it


def _read_only(*arrays) -> None:
    for array in arrays:
        if array is not None:
            array.setflags(write=False)


def frequency_weights(word_counts: np.ndarray) -> np.ndarray:
    """Row weights of the factorization from corpus token counts.

    ``log(1 + count)``: frequent words matter more than rare ones, but not in
    proportion to their counts, which would hand the whole subspace to a few
    function words and punctuation.
    """
    return np.log1p(word_counts)


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
        anything but ``"corpus"``, ``fit(None)`` is allowed.
    weighting : "frequency" or None, default="frequency"
        ``"frequency"`` weighs each kept word by ``log(1 + count)`` of its count in
        the fit corpus, so the factors favour the words the task uses; ``None``
        (or fitting without documents) weighs all kept words equally.
    pooling : {"mean", "sum", "max", "tfidf", "sif"}, default="mean"
        How word codes become a document code. ``"tfidf"`` is a mean weighted by
        the idf learned in ``fit``; ``"sif"`` a mean weighted by ``a / (a + p(w))``
        with ``p`` from the fit corpus, minus the projection on the common
        component of the fit documents (learned in ``fit``, never on the batch
        being transformed).
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
    random_state : int, RandomState instance or None, default=None
        Seed of the ``"randomized"`` solver.
    batch_size : int, default=10_000
        Documents tokenized and pooled at a time. ``transform`` consumes an
        iterable or generator batch by batch, so its memory is bounded by the
        batch and the output whatever the length of the stream.

    Attributes
    ----------
    vocabulary_ : dict of str to int
        Kept word -> row of ``embedding_``.
    embedding_ : ndarray of shape (n_words, rank_)
        The word codes ``A = U_r S_r``.
    components_ : ndarray of shape (rank_, d)
        The orthonormal directions ``B = V_r^T``.
    mean_ : ndarray of shape (d,)
        The (weighted) mean row of the kept table.
    singular_values_ : ndarray of shape (rank_,)
        Singular values of the weighted, centred table along ``components_``.
    explained_variance_ratio_ : ndarray of shape (rank_,)
        Fraction of the weighted variance along each direction.
    rank_ : int
        The rank used.
    n_parameters_ : int
        ``n_words * rank_ + rank_ * d + d``.
    compression_ratio_ : float
        ``n_words * d / n_parameters_``.
    reconstruction_error_ : float
        Frobenius error of ``embedding_ @ components_ + mean_`` against the kept
        table (weighted), relative to the centred table: 0 is exact.
    pooling_weights_ : ndarray of shape (n_words,) or None
        Per-word weights of ``"tfidf"`` and ``"sif"`` pooling.
    common_component_ : ndarray of shape (rank_,) or None
        The direction ``"sif"`` pooling removes.

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
        "weighting": [StrOptions({"frequency"}), None],
        "pooling": [StrOptions(set(POOLINGS))],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "tokenizer": [callable, None],
        "dtype": [type, str, np.dtype],
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
        pooling="mean",
        lowercase=True,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        tokenizer=None,
        dtype=np.float32,
        random_state=None,
        batch_size=10_000,
    ):
        self.vectors = vectors
        self.rank = rank
        self.solver = solver
        self.vocabulary = vocabulary
        self.weighting = weighting
        self.pooling = pooling
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.dtype = dtype
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
            rows = np.flatnonzero(statistics.word_counts.toarray().ravel())
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

    def _factors_key(self, source, rows, weights, dtype) -> str | None:
        """What the rank-independent factors depend on, or None when they must
        not be cached."""
        if source is None:
            return None
        if self.solver == "randomized":
            # Its directions depend on the number computed and on the seed.
            if not isinstance(self.random_state, Integral):
                return None
            solver = ("randomized", self.rank, self.random_state)
        else:
            solver = self.solver
        return fingerprint(source, _rows_part(rows), weights, solver, dtype.str)

    def _factors(self, table: KeyedVectors, rows, weights, dtype, key) -> _Factors:
        def compute():
            kept_table = table.vectors[rows]
            spectrum = decompose(
                kept_table,
                weights,
                solver=self.solver,
                n_components=self.rank if isinstance(self.rank, Integral) else None,
                random_state=self.random_state,
            )
            codes = None
            if kept_table.size <= _CACHED_CODES_MAX_VALUES:
                codes = encode(kept_table, spectrum.mean, spectrum.components, dtype)
            _read_only(
                spectrum.mean, spectrum.components, spectrum.singular_values, codes
            )
            if isinstance(rows, slice) and rows == slice(0, len(table)):
                # The table's own word -> row dict; the estimator gets a copy,
                # ~15x faster than building one for 400,000 words.
                vocabulary = table.key_to_index
            else:
                words = (
                    table.index_to_key[rows]
                    if isinstance(rows, slice)
                    else list(map(table.index_to_key.__getitem__, rows.tolist()))
                )
                vocabulary = dict(zip(words, range(len(words)), strict=True))
            return _Factors(spectrum, codes, vocabulary)

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

    def _statistics_of(self, X) -> tuple[CorpusStatistics, sp.csr_matrix]:
        """Corpus statistics of the documents ``X``, and their token counts over
        all rows of the table."""
        table, _, table_key = self._table_and_keys()
        if not self._is_one_batch(X):
            table_key = None
        analyzer = self._build_analyzer()
        batches = [
            count_tokens(batch, analyzer, table.key_to_index, vocabulary_key=table_key)
            for batch in document_batches(X, self.batch_size)
        ]
        if not batches:
            raise ValueError("X is empty: fit needs at least one document")
        counts = sp.vstack(batches, format="csr") if len(batches) > 1 else batches[0]
        return CorpusStatistics.from_counts(counts), counts

    def _fit(self, X, *, partial: bool = False, return_counts: bool = False):
        """Fit; return the counts of ``X`` over ``vocabulary_`` if asked (or None
        when ``X`` is None)."""
        if self.pooling in ("tfidf", "sif") and X is None:
            raise ValueError(
                f"pooling={self.pooling!r} learns word weights from the fit "
                "documents; pass documents to fit"
            )
        statistics, counts = (None, None) if X is None else self._statistics_of(X)
        previous = getattr(self, "_corpus_statistics", None) if partial else None
        if previous is not None:
            statistics = previous + statistics
        rows = self._fit_statistics(statistics)
        if counts is None or not (return_counts or self.pooling == "sif"):
            return None
        # Selecting the kept columns costs a pass over the counts: only when used.
        kept_counts = counts[:, rows].tocsr()
        if self.pooling == "sif":
            self.common_component_ = common_component(
                self._sif_gram(kept_counts)
            ).astype(self.embedding_.dtype)
        return kept_counts

    def _fit_statistics(self, statistics: CorpusStatistics | None):
        """Fit the factors and word weights from corpus statistics (None: no
        documents); return the kept rows of the table.

        The sif common component needs the documents themselves and is left to
        the caller (see :func:`common_component`).
        """
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

        word_counts = document_frequency = None
        if statistics is not None:
            word_counts, document_frequency = statistics.kept(rows)
        weights = None
        if self.weighting == "frequency" and word_counts is not None:
            weights = frequency_weights(word_counts)
            if not weights.any():  # no kept word occurs in the corpus
                weights = None

        factors = self._factors(
            table, rows, weights, dtype, self._factors_key(source, rows, weights, dtype)
        )
        spectrum = factors.spectrum
        if not np.all(np.isfinite(spectrum.mean)):
            raise ValueError(
                f"the table {self._vectors_name()!r} holds NaN or infinite values"
            )
        self.rank_ = resolve_rank(self.rank, spectrum)
        spectrum = truncate(spectrum, self.rank_)

        self.vocabulary_ = dict(factors.vocabulary)
        self._vocabulary_key = (
            None if source is None else fingerprint(source, _rows_part(rows))
        )
        if factors.codes is not None:
            self.embedding_ = factors.codes[:, : self.rank_].copy()
        else:
            self.embedding_ = encode(
                table.vectors[rows], spectrum.mean, spectrum.components, dtype
            )
        self.components_ = spectrum.components.astype(dtype)
        self.mean_ = spectrum.mean.astype(dtype)
        self.singular_values_ = spectrum.singular_values.astype(dtype)
        self.explained_variance_ratio_ = spectrum.explained_variance_ratio.astype(dtype)
        self.reconstruction_error_ = spectrum.relative_error
        self.n_parameters_ = n_words * self.rank_ + self.rank_ * n_dims + n_dims
        self.compression_ratio_ = n_words * n_dims / self.n_parameters_

        self.pooling_weights_ = None
        self.common_component_ = None
        if self.pooling == "tfidf":
            self.pooling_weights_ = idf_weights(
                document_frequency, statistics.n_documents
            ).astype(dtype)
        elif self.pooling == "sif":
            self.pooling_weights_ = sif_weights(word_counts).astype(dtype)
        return rows

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
        y : None
            Ignored.

        Returns
        -------
        self : FactorizedEmbedding
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Add the documents ``X`` to the fit corpus and refit the factors.

        The corpus statistics (token counts and document frequencies over the
        table) are sums, kept from call to call, so fitting a corpus batch by
        batch gives the factors, vocabulary and word weights that ``fit`` gives
        on the concatenation, in memory bounded by a batch. One deviation: with
        ``pooling="sif"`` the common component is learned from the documents of
        the latest call only (it needs the documents themselves, pooled with the
        final word weights; keep the last batch large enough to estimate it).
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
        counts = self._fit(X, return_counts=True)
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

    @property
    def _n_features_out(self):
        return self.rank_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
