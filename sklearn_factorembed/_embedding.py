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
from sklearn.utils.validation import check_array, check_is_fitted

from ._factorize import SOLVERS, decompose, encode, resolve_rank, truncate
from ._persistence import load_estimator, save_estimator, write_keyed_vectors
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
SPACES = ("codes", "reconstructed")


def frequency_weights(word_counts: np.ndarray) -> np.ndarray:
    """Row weights of the factorization from corpus token counts.

    ``log(1 + count)``: frequent words matter more than rare ones, but not in
    proportion to their counts, which would hand the whole subspace to a few
    function words and punctuation.
    """
    return np.log1p(word_counts)


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

    def _fit(self, X):
        dtype = self._check_dtype()
        table = load_vectors(self.vectors)
        documents = None if X is None else check_documents(X)
        if documents is not None and len(documents) == 0:
            raise ValueError("X is empty: fit needs at least one document")
        if self.pooling in ("tfidf", "sif") and documents is None:
            raise ValueError(
                f"pooling={self.pooling!r} learns word weights from the fit "
                "documents; pass documents to fit"
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

        word_counts = None if counts is None else np.asarray(counts.sum(axis=0)).ravel()
        weights = None
        if self.weighting == "frequency" and word_counts is not None:
            weights = frequency_weights(word_counts)
            if not weights.any():  # no kept word occurs in the corpus
                weights = None

        spectrum = decompose(
            kept_table,
            weights,
            solver=self.solver,
            n_components=self.rank if isinstance(self.rank, Integral) else None,
            random_state=self.random_state,
        )
        if not np.all(np.isfinite(spectrum.mean)):
            raise ValueError(
                f"the table {self._vectors_name()!r} holds NaN or infinite values"
            )
        self.rank_ = resolve_rank(self.rank, spectrum)
        spectrum = truncate(spectrum, self.rank_)

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

        self.pooling_weights_ = None
        self.common_component_ = None
        if self.pooling == "tfidf":
            self.pooling_weights_ = idf_weights(counts).astype(dtype)
        elif self.pooling == "sif":
            self.pooling_weights_ = sif_weights(word_counts).astype(dtype)
            self.common_component_ = self._common_component(counts)
        return counts

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
        y : None
            Ignored.

        Returns
        -------
        self : FactorizedEmbedding
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to ``X`` and return its document codes, tokenizing ``X`` once.

        Returns
        -------
        ndarray of shape (n_documents, rank_)
        """
        counts = self._fit(X)
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
    def _n_features_out(self):
        return self.rank_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.transformer_tags.preserves_dtype = []
        return tags
