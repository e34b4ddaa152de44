"""The one fit path: from a table and corpus statistics to a fitted state.

``fit``, ``partial_fit`` and ``fit_dask`` count their documents their own way,
then all end in :func:`fit_state`, which takes sums over the fit corpus (token
counts and document frequencies, and either the documents' counts or, from
Dask partitions, the moments of the pooled documents and the Gram matrix of
the pooled codes) and returns the fitted attributes. It reads as the steps of
the fit; the math is in :mod:`._factorize`, :mod:`._postprocess`,
:mod:`._text` and :mod:`._quantize`, and the two costly rank-independent steps
(:func:`factorize_rows`, :func:`documents_spectrum`) are cached by their
inputs, so that a grid search over rank decomposes each fold once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp

from ._cache import cached, fingerprint
from ._factorize import (
    Moments,
    Spectrum,
    common_component,
    discriminant_directions,
    encode,
    guided_spectrum,
    normalize_weights,
    positive_rows,
    single_threaded_blas,
    truncate,
    weighted_moments,
)
from ._postprocess import (
    Postprocessing,
    factorize,
    remove_directions,
    truncate_postprocessed,
)
from ._quantize import quantize
from ._subwords import Subwords, prune_buckets
from ._text import (
    CorpusStatistics,
    DocumentCounts,
    check_documents,
    frequency_weights,
    idf_weights,
    pool,
    sif_weights,
    used_columns,
    zipf_counts,
)
from ._tune import pooling_matrix, tune_codes
from ._vectors import Table, Vocabulary

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@dataclass(frozen=True)
class FitSettings:
    """The hyper-parameters a fit uses, checked (see ``FactorizedEmbedding``)."""

    rank: int | float
    solver: str
    vocabulary: str | int | list | tuple
    weighting: str | None
    pooling: str
    postprocess: str | None
    n_removed: int | str
    subspace: str
    supervised: bool | str
    dtype: np.dtype
    quantization: str | None
    pq_subvectors: int | None
    ngram_buckets: int | None
    random_state: object
    batch_size: int
    tune_alpha: float
    tune_max_iter: int
    tune_solver: str
    verbose: int

    @classmethod
    def of(cls, params: dict) -> FitSettings:
        """The settings of an estimator's ``get_params()``."""
        names = cls.__dataclass_fields__
        settings = {name: params[name] for name in names}
        try:
            dtype = np.dtype(params["dtype"])
        except TypeError:
            dtype = None
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"dtype={params['dtype']!r} is not supported; use np.float32 or "
                "np.float64"
            )
        settings["dtype"] = dtype
        return cls(**settings)

    @property
    def lda(self) -> bool:
        """Whether the labels pick the first directions (Fisher's LDA)."""
        return self.supervised is True or self.supervised == "lda"

    @property
    def tune(self) -> bool:
        """Whether the labels tune the fit words' codes."""
        return self.supervised == "tune"

    @property
    def solver_inputs(self) -> tuple | str | None:
        """What the directions of the solver depend on beyond the rows; None
        when they are not reproducible (a randomized solver without an int
        seed)."""
        if self.solver != "randomized":
            return self.solver
        if not isinstance(self.random_state, Integral):
            return None
        # Its directions depend on the number computed and on the seed.
        return ("randomized", self.rank, self.random_state)


@dataclass(frozen=True)
class Factors:
    """The rank-independent decomposition of a table's kept rows (read-only).

    ``spectrum`` holds all directions of the (first-pass post-processed)
    weighted rows of positive weight, ``removed`` the directions that pass
    removed; ``vectors`` are the kept rows (a view of a memory map when
    contiguous), in the order of ``vocabulary``, and ``weights`` their row
    weights.
    """

    spectrum: Spectrum
    removed: np.ndarray | None
    vocabulary: Vocabulary
    vectors: np.ndarray
    weights: np.ndarray | None
    fingerprint: str | None


@dataclass(frozen=True, eq=False)
class RowWeights:
    """The factorization's row weights (``values`` None: all equal) and a digest
    of what made them (the corpus statistics or the table's order, the
    weighting and the rows), which keys the factors without digesting the
    values."""

    values: np.ndarray | None
    fingerprint: str | None


def select_rows(
    table: Table, vocabulary, statistics: CorpusStatistics | None
) -> slice | np.ndarray:
    """The rows of ``table`` to keep for the ``vocabulary`` parameter: a slice,
    or sorted rows."""
    if isinstance(vocabulary, str) and vocabulary == "corpus":
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
                f"a word of the table {table.name!r}; check the tokenizer, "
                "lowercase and the language of the table"
            )
        return rows
    if isinstance(vocabulary, str):
        return slice(0, len(table))
    if isinstance(vocabulary, Integral):
        return slice(0, min(int(vocabulary), len(table)))
    return _rows_of_words(table, vocabulary)


def _rows_of_words(table: Table, words) -> np.ndarray:
    words = check_documents(words, name="vocabulary")
    lookup = table.lookup
    rows = np.array(
        sorted({lookup[word] for word in words if word in lookup}), dtype=np.int64
    )
    if len(rows) == 0:
        raise ValueError(
            f"none of the {len(words)} words of vocabulary is in the table "
            f"{table.name!r}"
        )
    n_missing = len(set(words)) - len(rows)
    if n_missing:
        warnings.warn(
            f"{n_missing} of the {len(set(words))} words of vocabulary are not in "
            f"the table {table.name!r} and are left out",
            UserWarning,
            stacklevel=6,
        )
    return rows


def _rows_part(rows):
    """The kept rows, in a form :func:`fingerprint` digests cheaply."""
    return (rows.start, rows.stop) if isinstance(rows, slice) else rows


def _factors_inputs(table, rows, weights, postprocessing, settings):
    solver = settings.solver_inputs
    if solver is None:
        return None
    return (table, weights, postprocessing, solver)


@cached("factors", maxsize=16, key=_factors_inputs)
def factorize_rows(
    table: Table,
    rows,
    weights: RowWeights,
    postprocessing: Postprocessing,
    settings: FitSettings,
) -> Factors:
    """Gather the kept rows of ``table`` and factorize them, weighted (see
    :func:`._postprocess.factorize`); cached, since it does not depend on the
    rank."""
    # Gathering the rows of a memory map is a good part of a refit's cost: the
    # gathered rows are kept with the factors.
    vectors = table.vectors[rows]
    fitted, fitted_weights = positive_rows(vectors, weights.values)
    # Tables loaded from a name or a path were checked once when loaded; a
    # KeyedVectors object (the one kind without a fingerprint) is checked here,
    # before post-processing, so that every path gives this error.
    if table.fingerprint is None and not np.all(np.isfinite(fitted)):
        raise ValueError(f"the table {table.name!r} holds NaN or infinite values")
    spectrum, removed = factorize(
        fitted,
        fitted_weights,
        postprocessing,
        solver=settings.solver,
        rank=settings.rank,
        random_state=settings.random_state,
    )
    if isinstance(rows, slice) and rows == slice(0, len(table)):
        vocabulary = table.vocabulary
    else:
        words = (
            table.words[rows]
            if isinstance(rows, slice)
            else list(map(table.words.__getitem__, rows.tolist()))
        )
        vocabulary = Vocabulary.of_words(words, fingerprint(table, _rows_part(rows)))
    _read_only(spectrum.mean, spectrum.components, spectrum.singular_values)
    _read_only(removed, vectors)
    inputs = _factors_inputs(table, rows, weights, postprocessing, settings)
    return Factors(
        spectrum,
        removed,
        vocabulary,
        vectors,
        weights.values,
        None if inputs is None else fingerprint(*inputs),
    )


def _read_only(*arrays) -> None:
    for array in arrays:
        if array is not None:
            array.setflags(write=False)


def pooled_documents(
    counts: sp.csr_matrix,
    vectors: np.ndarray,
    mean: np.ndarray,
    removed: np.ndarray | None,
    pooling: str,
    word_weights: np.ndarray | None,
) -> np.ndarray:
    """The documents of ``counts`` (over the rows ``vectors``) pooled in the
    d-dim space, centred on ``mean`` and post-processed (``removed`` projected
    out), float64; from the rows of the words they use only."""
    used, counts = used_columns(counts)
    return pool(
        counts,
        remove_directions(vectors[used], mean, removed),
        pooling=pooling,
        word_weights=None if word_weights is None else word_weights[used],
    )


@single_threaded_blas
def pooled_moments(
    counts: sp.csr_matrix,
    vectors: np.ndarray,
    mean: np.ndarray,
    removed: np.ndarray | None,
    pooling: str,
    word_weights: np.ndarray | None,
    batch_size: int,
) -> Moments:
    """Moments of the non-empty documents of ``counts``, pooled as by
    :func:`pooled_documents`, ``batch_size`` documents at a time (bounded
    memory); they add up over batches and partitions."""
    moments = Moments.zeros(vectors.shape[1])
    for start in range(0, counts.shape[0], batch_size):
        batch = counts[start : start + batch_size]
        documents = pooled_documents(
            batch, vectors, mean, removed, pooling, word_weights
        )
        moments = moments + Moments.of(documents[np.diff(batch.indptr) > 0])
    return moments


@single_threaded_blas
def pooled_gram(
    counts: sp.csr_matrix, codes: np.ndarray, word_weights: np.ndarray
) -> np.ndarray:
    """``P.T @ P`` (float64) of the sif-pooled ``codes`` ``P`` of the documents
    counted in ``counts``, before the common component is removed. A sum over
    documents: it adds up across batches and partitions."""
    pooled = pool(counts, codes, pooling="sif", word_weights=word_weights)
    pooled = pooled.astype(np.float64)
    return pooled.T @ pooled


def _documents_inputs(factors, removed, documents, labels, settings, word_weights):
    return (
        factors,
        removed,
        documents,
        labels,
        settings.subspace,
        settings.lda,
        settings.pooling,
        word_weights,
    )


@cached("documents-spectra", maxsize=16, key=_documents_inputs)
def documents_spectrum(
    factors: Factors,
    removed: np.ndarray | None,
    documents: DocumentCounts | Moments,
    labels: np.ndarray | None,
    settings: FitSettings,
    word_weights: np.ndarray | None,
) -> Spectrum:
    """All directions picked by the labels (``supervised``) and the documents
    (``subspace="documents"``), then by the variance of the words orthogonal
    to them, in the space the post-processing left (see
    :func:`guided_spectrum`).

    ``documents`` are the fit documents' counts over the kept rows or, from
    Dask partitions, the moments of the pooled documents (then without
    ``labels``). Like the factors, the result does not depend on the rank (but
    for PPA's second pass, in ``removed``) and is cached: a grid search over
    rank computes it once per fold.
    """
    spectrum = factors.spectrum

    leading = guide = None
    if settings.lda:  # fit(X, y): the documents are counts
        pooled = pooled_documents(
            documents.matrix,
            factors.vectors,
            spectrum.mean,
            removed,
            settings.pooling,
            word_weights,
        )
        leading = discriminant_directions(pooled, labels)
    if settings.subspace == "documents":
        moments = documents
        if isinstance(documents, DocumentCounts):
            moments = pooled_moments(
                documents.matrix,
                factors.vectors,
                spectrum.mean,
                removed,
                settings.pooling,
                word_weights,
                settings.batch_size,
            )
        guide = moments.scatter
    fitted, weights = positive_rows(factors.vectors, factors.weights)
    processed = remove_directions(fitted, spectrum.mean, removed)
    _, scatter = weighted_moments(processed, normalize_weights(weights, len(processed)))
    guided = guided_spectrum(spectrum.mean, scatter, leading=leading, guide=guide)
    _read_only(guided.components, guided.singular_values)
    return guided


def row_weights(
    statistics: CorpusStatistics | None, rows, n_table_rows: int, weighting
) -> tuple[np.ndarray, np.ndarray | None, RowWeights]:
    """Token counts and document frequencies of the kept rows (Zipf's estimate
    of the counts and no frequencies without documents), and the row weights
    of the factorization (None: all equal)."""
    if statistics is None:
        word_counts = zipf_counts(np.arange(n_table_rows)[rows])
        document_frequency = None
    else:
        word_counts, document_frequency = statistics.counts_at(rows)
    weights = None
    if weighting is not None:
        weights = frequency_weights(word_counts, weighting)
        if not weights.any():  # no kept word occurs in the corpus
            weights = None
    origin = "zipf" if statistics is None else statistics
    digest = fingerprint(origin, weighting, _rows_part(rows))
    return word_counts, document_frequency, RowWeights(weights, digest)


def _pooling_weights(settings, statistics, word_counts, document_frequency):
    """The pooling weights of the kept words, and that of any other word (the
    weight of a word the fit corpus lacks: the largest idf, that of a
    document frequency of 0, for tfidf; ``p(w) = 0``, weight 1, for sif)."""
    if settings.pooling == "tfidf":
        weights = idf_weights(document_frequency, statistics.n_documents)
        unseen = idf_weights(np.zeros(1), statistics.n_documents)[0]
    elif settings.pooling in ("sif", "sif-weighted"):
        weights = sif_weights(word_counts)
        unseen = 1.0
    else:
        return None, None
    return weights.astype(settings.dtype), float(unseen)


def _check_rank(rank, n_words: int, n_dims: int, table: Table) -> None:
    if isinstance(rank, Integral) and rank > n_dims:
        raise ValueError(
            f"rank={rank} exceeds the vector size {n_dims} of {table.name!r}"
        )
    if isinstance(rank, Integral) and rank > n_words:
        raise ValueError(
            f"rank={rank} exceeds the {n_words} words kept in the vocabulary; use "
            "a lower rank or a larger vocabulary"
        )


# The fit's products are small (d x d, batches of documents x d, L-BFGS's
# vectors) or split over threads by rows (_map_blocks). The decompositions of
# the whole GloVe table by "full", "randomized" and "qr" were 1.2x to 6x
# faster on one BLAS thread too, on a 2-core machine another process kept busy.
@single_threaded_blas
def fit_state(
    table: Table,
    settings: FitSettings,
    statistics: CorpusStatistics | None,
    documents: DocumentCounts | None = None,
    labels: np.ndarray | None = None,
    *,
    document_moments: Moments | None = None,
    sif_gram: np.ndarray | None = None,
) -> dict:
    """Fit the factors, codes and word weights from sums over the fit corpus.

    Parameters
    ----------
    table : Table
    settings : FitSettings
    statistics : CorpusStatistics or None
        Token counts and document frequencies over the table's rows; None
        without documents (the counts then follow Zipf's law over the table).
    documents : DocumentCounts, default=None
        The documents' token counts over the table's rows, when they are at
        hand: the documents' directions, the discriminants of ``labels`` and
        the sif common component are learned from them.
    labels : ndarray of shape (n_documents,), default=None
        With ``supervised``.
    document_moments, sif_gram : default=None
        The same sums from documents counted elsewhere (Dask partitions): the
        moments of the pooled documents (see :func:`pooled_moments`) and the
        Gram matrix of their sif-pooled codes (see :func:`pooled_gram`).

    Returns
    -------
    dict
        The fitted attributes of the estimator, by name.
    """
    if settings.pooling == "tfidf" and statistics is None:
        raise ValueError(
            "pooling='tfidf' learns word weights from the fit documents; pass "
            "documents to fit"
        )
    rows = select_rows(table, settings.vocabulary, statistics)
    word_counts, document_frequency, weights = row_weights(
        statistics, rows, len(table), settings.weighting
    )
    pooling_weights, unseen_weight = _pooling_weights(
        settings, statistics, word_counts, document_frequency
    )
    kept_counts = None if documents is None else documents.columns(rows)
    factors, spectrum, removed = fit_directions(
        table,
        rows,
        weights,
        settings,
        kept_counts if document_moments is None else document_moments,
        labels,
        pooling_weights,
    )
    codes = encode(factors.vectors, spectrum.mean, spectrum.components, settings.dtype)
    if settings.tune:
        codes = _tuned(codes, kept_counts, labels, pooling_weights, settings)
    codes, quantized = _quantized(codes, settings, weights.values)
    if settings.pooling == "sif" and sif_gram is None and kept_counts is not None:
        sif_gram = pooled_gram(kept_counts.matrix, codes, pooling_weights)
    common = None if sif_gram is None else common_component(sif_gram)
    attributes = _attributes(spectrum, removed, codes, quantized, settings.dtype)
    attributes |= _subword_attributes(table, spectrum, settings)
    return attributes | {
        "vocabulary_": factors.vocabulary,
        "pooling_weights_": pooling_weights,
        "unseen_weight_": unseen_weight,
        "common_component_": None if common is None else common.astype(settings.dtype),
        "_corpus_statistics": statistics,
        "_word_codes": None,  # built from the new codes when first needed
    }


def _quantized(codes, settings, sample_weight=None):
    """``codes`` as ``settings.quantization`` stores them (dequantized), and
    the quantized codes (None without quantization)."""
    if settings.quantization is None:
        return codes, None
    quantized = quantize(
        codes,
        settings.quantization,
        n_subvectors=settings.pq_subvectors,
        sample_weight=sample_weight,
        random_state=settings.random_state,
    )
    return quantized.dequantize(settings.dtype), quantized


@cached("pruned-buckets", maxsize=2, key=lambda table, n_buckets: (table, n_buckets))
def pruned_subwords(table: Table, n_buckets: int | None) -> Subwords | None:
    """The n-gram buckets of ``table`` (None: not a fastText source), rehashed
    to ``n_buckets`` if it has more (None: all kept); cached, since a grid
    search refits the same table."""
    subwords = table.subwords
    if subwords is None or n_buckets is None:
        return subwords
    return prune_buckets(subwords, table.words, n_buckets)


def _subword_attributes(table: Table, spectrum: Spectrum, settings) -> dict:
    """The codes of the n-gram buckets, through the words' projection and
    quantized the same way (with parameters of their own), and the n-gram
    lengths; None for a source without n-grams."""
    subwords = pruned_subwords(table, settings.ngram_buckets)
    if subwords is None:
        return dict.fromkeys(
            ("ngram_embedding_", "min_n_", "max_n_", "_ngram_quantized")
        )
    codes = encode(subwords.rows, spectrum.mean, spectrum.components, settings.dtype)
    codes, quantized = _quantized(codes, settings)
    return {
        "ngram_embedding_": codes,
        "min_n_": subwords.min_n,
        "max_n_": subwords.max_n,
        "_ngram_quantized": quantized,
    }


def _tuned(codes, kept_counts, labels, pooling_weights, settings) -> np.ndarray:
    """The codes plus the offsets the labels tune (see :mod:`._tune`); words
    absent from the fit documents keep their codes."""
    if settings.pooling == "max":
        raise ValueError(
            "supervised='tune' learns codes through a weighted mean or sum of "
            "them; pooling='max' is not one: use another pooling"
        )
    tuned = tune_codes(
        pooling_matrix(kept_counts.matrix, pooling_weights, settings.pooling),
        codes,
        labels,
        alpha=settings.tune_alpha,
        max_iter=settings.tune_max_iter,
        solver=settings.tune_solver,
        random_state=settings.random_state,
        verbose=settings.verbose,
    )
    return (codes + tuned.offsets).astype(settings.dtype)


def fit_directions(
    table: Table,
    rows,
    weights: RowWeights,
    settings: FitSettings,
    documents: DocumentCounts | Moments | None,
    labels: np.ndarray | None,
    pooling_weights: np.ndarray | None,
) -> tuple[Factors, Spectrum, np.ndarray | None]:
    """The kept rows' factors, the ``rank`` directions kept (picked by the
    documents and labels when the settings say so) and every direction the
    post-processing removed."""
    n_words = len(range(len(table))[rows]) if isinstance(rows, slice) else len(rows)
    n_dims = table.vectors.shape[1]
    _check_rank(settings.rank, n_words, n_dims, table)
    n_fitted = n_words if weights.values is None else np.count_nonzero(weights.values)
    postprocessing = Postprocessing.plan(
        settings.postprocess, settings.n_removed, settings.rank, n_fitted, n_dims
    )
    factors = factorize_rows(table, rows, weights, postprocessing, settings)
    spectrum, removed = truncate_postprocessed(
        factors.spectrum,
        factors.removed,
        *positive_rows(factors.vectors, weights.values),
        postprocessing,
        settings.rank,
    )
    if documents is not None and (settings.lda or settings.subspace == "documents"):
        guided = documents_spectrum(
            factors, removed, documents, labels, settings, pooling_weights
        )
        spectrum = truncate(guided, len(spectrum.components))
    return factors, spectrum, removed


def _attributes(spectrum, removed, codes, quantized, dtype) -> dict:
    """The fitted attributes of the factorization and its size."""
    (n_words, rank), n_dims = codes.shape, len(spectrum.mean)
    n_parameters = n_words * rank + rank * n_dims + n_dims
    return {
        "embedding_": codes,
        # C order whatever the solver returned, so that products with the
        # components are the same after a save and load (np.load gives C order).
        "components_": np.ascontiguousarray(spectrum.components, dtype),
        "mean_": spectrum.mean.astype(dtype),
        "singular_values_": spectrum.singular_values.astype(dtype),
        "explained_variance_ratio_": spectrum.explained_variance_ratio.astype(dtype),
        "reconstruction_error_": spectrum.relative_error,
        "removed_directions_": None if removed is None else removed.astype(dtype),
        "rank_": rank,
        "n_parameters_": n_parameters,
        "compression_ratio_": n_words * n_dims / n_parameters,
        "bytes_per_word_": float(
            codes.itemsize * rank if quantized is None else quantized.nbytes / n_words
        ),
        "_quantized": quantized,
    }
