"""Fitting and transforming Dask collections of documents, partition by partition.

The statistics a fit needs (token counts and document frequencies over the table,
the moments of the pooled documents for ``subspace="documents"``, and for sif
pooling the Gram matrix of the pooled codes) are sums over documents,
so each partition is counted where it lives and only the sums travel. Needs the
optional extra: ``pip install "sklearn-factorembed[dask]"``.
"""

from __future__ import annotations

import numpy as np

from ._embedding import FactorizedEmbedding, fit_from_statistics, fit_settings
from ._factorize import Moments
from ._fit import pooled_gram, pooled_moments, select_rows
from ._text import count_corpus, count_tokens, document_batches
from ._vectors import load_table


def _collection(documents):
    """``documents`` as a ``dask.bag.Bag`` or a dask ``Series``."""
    import dask.bag
    import dask.dataframe

    if isinstance(documents, dask.dataframe.DataFrame):
        if len(documents.columns) != 1:
            raise ValueError(
                "documents must be a dask Bag of str, a dask Series or a "
                "one-column dask DataFrame, got a DataFrame with columns "
                f"{list(documents.columns)}"
            )
        documents = documents[documents.columns[0]]
    if not isinstance(documents, (dask.bag.Bag, dask.dataframe.Series)):
        raise TypeError(
            "documents must be a dask Bag of str or a dask Series of str, got "
            f"{type(documents).__name__}"
        )
    return documents


def _partition_statistics(embedding: FactorizedEmbedding, partition):
    # An empty partition adds nothing.
    if len(partition) == 0:
        return None
    vocabulary = load_table(embedding.vectors).lookup
    statistics, _ = count_corpus(
        partition, embedding.build_analyzer(), vocabulary, embedding.batch_size
    )
    return statistics


def _add(parts):
    parts = [part for part in parts if part is not None]
    if not parts:
        return None
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _partition_counts(embedding: FactorizedEmbedding, partition):
    """Token counts over ``vocabulary_`` of the partition, batch by batch."""
    analyzer = embedding.build_analyzer()
    for batch in document_batches(partition, embedding.batch_size):
        yield count_tokens(batch, analyzer, embedding.vocabulary_)


def _partition_gram(embedding: FactorizedEmbedding, partition) -> np.ndarray:
    gram = np.zeros((embedding.rank_, embedding.rank_))
    for counts in _partition_counts(embedding, partition):
        gram += pooled_gram(counts, embedding.embedding_, embedding.pooling_weights_)
    return gram


def _partition_moments(
    embedding: FactorizedEmbedding, partition, vectors: np.ndarray
) -> Moments:
    moments = Moments.zeros(vectors.shape[1])
    for counts in _partition_counts(embedding, partition):
        moments = moments + pooled_moments(
            counts,
            vectors,
            embedding.mean_,
            embedding.removed_directions_,
            embedding.pooling,
            embedding.pooling_weights_,
            embedding.batch_size,
        )
    return moments


def fit_dask(embedding: FactorizedEmbedding, documents) -> FactorizedEmbedding:
    """Fit ``embedding`` on a Dask collection of documents.

    Each partition is tokenized and counted by the Dask scheduler; the per-
    partition corpus statistics are summed, and the factors and word weights are
    fitted from the sums, so the result is what ``embedding.fit`` gives on the
    documents gathered in one list. With ``subspace="documents"`` a second pass
    over the partitions sums the moments of the pooled documents (they need the
    word weights of the whole corpus), and with ``pooling="sif"`` a last one
    the Gram matrix of the pooled codes for the common component.

    Parameters
    ----------
    embedding : FactorizedEmbedding
        Fitted in place (its parameters are validated as by ``fit``).
    documents : dask.bag.Bag of str, dask Series or one-column dask DataFrame

    Returns
    -------
    FactorizedEmbedding
        ``embedding``, fitted.

    Examples
    --------
    >>> import dask.bag
    >>> from sklearn_factorembed import FactorizedEmbedding, fit_dask
    >>> documents = dask.bag.from_sequence(
    ...     ["a gripping thriller", "dull and far too long"], npartitions=2
    ... )
    >>> embedding = fit_dask(FactorizedEmbedding(rank=2), documents)
    >>> len(embedding.vocabulary_)
    8
    """
    import dask

    if not isinstance(embedding, FactorizedEmbedding):
        raise TypeError(
            f"embedding must be a FactorizedEmbedding, got {type(embedding).__name__}"
        )
    fit_settings(embedding)  # validates the parameters before any work
    if embedding.supervised:
        raise ValueError(
            f"fit_dask does not support supervised={embedding.supervised!r}: it "
            "needs every labelled document at once; use embedding.fit(X, y)"
        )
    partitions = _collection(documents).to_delayed()

    def add_up(part_sum, *args):
        parts = [dask.delayed(part_sum)(embedding, part, *args) for part in partitions]
        return dask.delayed(_add)(parts).compute()

    statistics = add_up(_partition_statistics)
    if statistics is None or statistics.n_documents == 0:
        raise ValueError("documents is empty: fit needs at least one document")
    fit_from_statistics(embedding, statistics)
    moments = gram = None
    if embedding.subspace == "documents":
        table = load_table(embedding.vectors)
        vectors = table.vectors[select_rows(table, embedding.vocabulary, statistics)]
        moments = add_up(_partition_moments, vectors)
        # The factors are cached: this refit only picks the new directions.
        fit_from_statistics(embedding, statistics, document_moments=moments)
    if embedding.pooling == "sif":
        gram = add_up(_partition_gram)
        fit_from_statistics(
            embedding, statistics, document_moments=moments, sif_gram=gram
        )
    return embedding


def transform_dask(embedding: FactorizedEmbedding, documents):
    """Transform a Dask collection of documents, partition by partition.

    Parameters
    ----------
    embedding : FactorizedEmbedding
        A fitted estimator; it is sent to the workers with each task.
    documents : dask.bag.Bag of str, dask Series or one-column dask DataFrame

    Returns
    -------
    dask.array.Array or dask.dataframe.DataFrame
        For a Bag, an array of shape (n_documents, rank_) chunked by partition;
        for a Series or DataFrame, a DataFrame with the same index and the
        columns ``embedding.get_feature_names_out()``.

    Examples
    --------
    >>> import dask.bag
    >>> from sklearn_factorembed import FactorizedEmbedding, transform_dask
    >>> documents = ["a gripping thriller", "dull and far too long"]
    >>> embedding = FactorizedEmbedding(rank=2).fit(documents)
    >>> codes = transform_dask(embedding, dask.bag.from_sequence(documents))
    >>> codes.compute().shape
    (2, 2)
    """
    import dask.array
    import dask.bag
    import pandas as pd
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(embedding)
    columns = embedding.get_feature_names_out()
    dtype = embedding.embedding_.dtype
    documents = _collection(documents)
    if isinstance(documents, dask.bag.Bag):
        return dask.array.concatenate(
            [
                dask.array.from_delayed(
                    dask.delayed(embedding.transform)(part),
                    shape=(np.nan, embedding.rank_),
                    dtype=dtype,
                )
                for part in documents.to_delayed()
            ]
        )

    def transform_partition(partition):
        return pd.DataFrame(
            embedding.transform(partition), index=partition.index, columns=columns
        )

    meta = pd.DataFrame(np.zeros((0, len(columns)), dtype=dtype), columns=columns)
    return documents.map_partitions(transform_partition, meta=meta)
