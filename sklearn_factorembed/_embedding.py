"""FactorizedEmbedding: low-rank factorized word vectors as a text transformer."""

from __future__ import annotations

import os
import warnings
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
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from ._factorize import (
    SOLVERS,
    Spectrum,
    decompose,
    encode,
    resolve_rank,
    supervised_spectrum,
    truncate,
)
from ._postprocess import (
    POSTPROCESSINGS,
    default_n_removed,
    dominant_directions,
    remove_directions,
    strip_leading_directions,
)
from ._text import (
    DEFAULT_TOKEN_PATTERN,
    POOLINGS,
    build_analyzer,
    check_documents,
    count_tokens,
    idf_weights,
    pool,
    sif_weights,
)
from ._vectors import DEFAULT_VECTORS, load_vectors

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


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
    return 1.0 / (np.asarray(table_rows, dtype=np.float64) + 1.0)


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
    vocabulary : "corpus", "all", int or list of str, default="all"
        The words kept: those of the fit documents found in the table
        (``"corpus"``), the whole table (``"all"``), its ``k`` first rows (``int``;
        pretrained tables are ordered by frequency), or the given words. With
        anything but ``"corpus"``, ``fit(None)`` is allowed. The default keeps a
        code for every word of the table, so that words unseen in ``fit`` still
        count in ``transform`` (``"corpus"`` cost about 1.5% accuracy on movie
        reviews); words absent from the fit corpus are encoded, not fitted, so
        fitting costs little more, but ``embedding_`` has a row per table word.
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
        rounded, at least 1, as in the paper. Ignored without ``postprocess``.
    supervised : bool, default=False
        Let ``fit(X, y)`` use the labels: the first directions are Fisher's
        discriminants (LDA, at most ``n_classes - 1``) of the fit documents
        pooled in the d-dim (post-processed) space, the others the top weighted
        variance directions orthogonal to them. The subspace then keeps what
        separates the classes as well as what carries the most variance; in a
        Pipeline or a grid search only the training folds' labels are seen. The
        variance part always uses the covariance solver, and a float ``rank``
        is resolved on the unsupervised spectrum.
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
        table (weighted), relative to the centred table: 0 is exact. With
        ``postprocess``, against the post-processed table (after the first pass),
        which ``explained_variance_ratio_`` and a float ``rank`` refer to as well.
    pooling_weights_ : ndarray of shape (n_words,) or None
        Per-word weights of ``"tfidf"``, ``"sif"`` and ``"sif-weighted"``
        pooling.
    common_component_ : ndarray of shape (rank_,) or None
        The direction ``"sif"`` pooling removes.
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
        "supervised": ["boolean"],
        "lowercase": ["boolean"],
        "token_pattern": [str],
        "tokenizer": [callable, None],
        "dtype": [type, str, np.dtype],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        vectors=DEFAULT_VECTORS,
        rank=25,
        *,
        solver="auto",
        vocabulary="all",
        weighting="frequency",
        pooling="sif-weighted",
        postprocess="abtt",
        n_removed="auto",
        supervised=False,
        lowercase=True,
        token_pattern=DEFAULT_TOKEN_PATTERN,
        tokenizer=None,
        dtype=np.float32,
        random_state=None,
    ):
        self.vectors = vectors
        self.rank = rank
        self.solver = solver
        self.vocabulary = vocabulary
        self.weighting = weighting
        self.pooling = pooling
        self.postprocess = postprocess
        self.n_removed = n_removed
        self.supervised = supervised
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.tokenizer = tokenizer
        self.dtype = dtype
        self.random_state = random_state

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

    def _select_rows(self, table: KeyedVectors, documents):
        """Rows of the table to keep and the fit corpus' counts of them."""
        counts = (
            None
            if documents is None
            else count_tokens(documents, self._build_analyzer(), table.key_to_index)
        )
        if isinstance(self.vocabulary, str) and self.vocabulary == "corpus":
            if counts is None:
                raise ValueError(
                    "vocabulary='corpus' takes its words from the fit documents; "
                    "pass documents to fit, or set vocabulary to 'all', an int or "
                    "a list of words"
                )
            rows = np.flatnonzero(np.asarray(counts.sum(axis=0)).ravel())
            if len(rows) == 0:
                raise ValueError(
                    f"none of the {len(documents)} fit documents contains a word "
                    f"of the table {self._vectors_name()!r}; check the tokenizer, "
                    "lowercase and the language of the table"
                )
        elif isinstance(self.vocabulary, str):
            rows = slice(0, len(table))
        elif isinstance(self.vocabulary, Integral):
            rows = slice(0, min(int(self.vocabulary), len(table)))
        else:
            rows = self._rows_of_words(table, self.vocabulary)
        if counts is not None:
            counts = counts[:, rows].tocsr()
        return rows, counts

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

    def _fit(self, X, y=None):
        dtype = self._check_dtype()
        table = load_vectors(self.vectors)
        documents = None if X is None else check_documents(X)
        if documents is not None and len(documents) == 0:
            raise ValueError("X is empty: fit needs at least one document")
        if self.supervised:
            labels = self._check_labels(documents, y)
        if self.pooling == "tfidf" and documents is None:
            raise ValueError(
                "pooling='tfidf' learns word weights from the fit documents; pass "
                "documents to fit"
            )
        rows, counts = self._select_rows(table, documents)
        kept_table = table.vectors[rows]
        n_words, n_dims = kept_table.shape
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

        if counts is None:
            word_counts = zipf_counts(np.arange(len(table))[rows])
        else:
            word_counts = np.asarray(counts.sum(axis=0)).ravel()
        weights = None
        if self.weighting is not None:
            weights = frequency_weights(word_counts, self.weighting)
            if not weights.any():  # no kept word occurs in the corpus
                weights = None

        self.pooling_weights_ = None
        if self.pooling == "tfidf":
            self.pooling_weights_ = idf_weights(counts).astype(dtype)
        elif self.pooling in ("sif", "sif-weighted"):
            self.pooling_weights_ = sif_weights(word_counts).astype(dtype)

        # Rows of zero weight move neither the mean nor the directions: leave
        # them out of the factorization, so that a table-wide vocabulary costs
        # little more to fit than the corpus words, and only encode them.
        weighted = slice(None) if weights is None else np.flatnonzero(weights)
        weighted_table = kept_table[weighted]
        weights = None if weights is None else weights[weighted]
        spectrum, removed = self._factorize(weighted_table, weights)
        if self.supervised:
            spectrum = self._supervise(
                spectrum, removed, weighted_table, weights, counts, labels, weighted
            )
        self.rank_ = len(spectrum.components)
        self.removed_directions_ = None if removed is None else removed.astype(dtype)

        words = (
            table.index_to_key[rows]
            if isinstance(rows, slice)
            else [table.index_to_key[row] for row in rows]
        )
        self.vocabulary_ = {word: position for position, word in enumerate(words)}
        self.embedding_ = encode(kept_table, spectrum.mean, spectrum.components, dtype)
        self.components_ = spectrum.components.astype(dtype)
        self.mean_ = spectrum.mean.astype(dtype)
        self.singular_values_ = spectrum.singular_values.astype(dtype)
        self.explained_variance_ratio_ = spectrum.explained_variance_ratio.astype(dtype)
        self.reconstruction_error_ = spectrum.relative_error
        self.n_parameters_ = n_words * self.rank_ + self.rank_ * n_dims + n_dims
        self.compression_ratio_ = n_words * n_dims / self.n_parameters_

        self.common_component_ = None
        if self.pooling == "sif" and counts is not None:
            self.common_component_ = self._common_component(counts)
        return counts

    def _check_labels(self, documents, y) -> np.ndarray:
        if y is None or documents is None:
            raise ValueError(
                "supervised=True learns directions that separate the classes of "
                f"the fit documents; pass documents and their labels, fit(X, y) "
                f"(got {'X=None' if documents is None else 'y=None'})"
            )
        labels = np.asarray(y)
        check_consistent_length(documents, labels)
        check_classification_targets(labels)
        if len(np.unique(labels)) < 2:
            raise ValueError(
                f"supervised=True needs at least two classes in y, got "
                f"{np.unique(labels)!r}"
            )
        return labels

    def _supervise(self, spectrum, removed, table, weights, counts, labels, rows):
        """Trade the variance-only directions for the discriminants of the
        pooled fit documents followed by the top variance directions orthogonal
        to them, in the space the post-processing left.

        ``table`` holds the ``rows`` of the kept table that were factorized;
        they include every word of the fit documents.
        """
        if removed is None:
            table = np.asarray(table, dtype=np.float64) - spectrum.mean
        else:
            table = remove_directions(table, spectrum.mean, removed)
        word_weights = self.pooling_weights_
        documents = pool(
            counts[:, rows],
            table,
            pooling=self.pooling,
            word_weights=None if word_weights is None else word_weights[rows],
        )
        supervised = truncate(
            supervised_spectrum(table, weights, documents, labels),
            len(spectrum.components),
        )
        return Spectrum(
            spectrum.mean,
            supervised.components,
            supervised.singular_values,
            supervised.total_variance,
        )

    def _n_removed_per_pass(self, n_dims: int) -> int:
        if self.postprocess is None:
            return 0
        if self.n_removed == "auto":
            return default_n_removed(n_dims)
        return int(self.n_removed)

    def _factorize(self, kept_table: np.ndarray, weights: np.ndarray | None):
        """The truncated factorization of the (post-processed) kept table, and
        the directions the post-processing removed (None without it)."""
        n_words, n_dims = kept_table.shape
        n_removed = self._n_removed_per_pass(n_dims)
        n_passes = {None: 0, "abtt": 1, "ppa": 2}[self.postprocess]
        n_available = min(n_words, n_dims) - n_passes * n_removed
        if n_available < (self.rank if isinstance(self.rank, Integral) else 1):
            raise ValueError(
                f"rank={self.rank} exceeds the {n_available} directions left of "
                f"the {min(n_words, n_dims)} available once postprocess="
                f"{self.postprocess!r} removes n_removed={n_removed} direction(s) "
                f"{n_passes} time(s); lower rank or n_removed"
            )
        if not np.all(np.isfinite(kept_table)):
            raise ValueError(
                f"the table {self._vectors_name()!r} holds NaN or infinite values"
            )
        mean, removed, table = None, None, kept_table
        if self.postprocess is not None:
            mean, removed = dominant_directions(kept_table, weights, n_removed)
            table = remove_directions(kept_table, mean, removed)
        # PPA's second pass removes n_removed directions of the codes: factorize
        # to that many more so that rank_ informative directions remain.
        n_extra = n_removed if self.postprocess == "ppa" else 0
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
        rank = min(resolve_rank(self.rank, spectrum), n_available)
        spectrum = truncate(spectrum, rank + n_extra)
        # The post-processed table is centred; its codes take the original mean.
        spectrum = Spectrum(
            mean, spectrum.components, spectrum.singular_values, spectrum.total_variance
        )
        if self.postprocess == "ppa":
            codes = encode(table, np.zeros(n_dims), spectrum.components, np.float64)
            spectrum, second = strip_leading_directions(
                spectrum, codes, weights, n_removed
            )
            removed = np.vstack([removed, second])
        return spectrum, removed

    def _common_component(self, counts: sp.csr_matrix) -> np.ndarray:
        pooled = pool(
            counts, self.embedding_, pooling="sif", word_weights=self.pooling_weights_
        )
        _, _, directions = np.linalg.svd(pooled.astype(np.float64), full_matrices=False)
        return directions[0].astype(self.embedding_.dtype)

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
    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its document codes, tokenizing ``X`` once.

        Returns
        -------
        ndarray of shape (n_documents, rank_)
        """
        counts = self._fit(X, y)
        if counts is None:
            raise ValueError("fit_transform needs documents; X is None")
        return self._pool(counts)

    def transform(self, X):
        """Pool the codes of each document's known tokens.

        Parameters
        ----------
        X : iterable of str or pandas Series
            Documents. Tokens outside ``vocabulary_`` are ignored; a document
            without a known token gets a row of zeros (the code of the mean).

        Returns
        -------
        ndarray of shape (n_documents, rank_)
        """
        check_is_fitted(self)
        documents = check_documents(X)
        counts = count_tokens(documents, self._build_analyzer(), self.vocabulary_)
        return self._pool(counts)

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

    @property
    def _n_features_out(self):
        return self.rank_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
