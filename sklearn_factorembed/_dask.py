"""Fitting and transforming Dask collections of documents, partition by partition.

The statistics a fit needs (token counts and document frequencies over the table,
the moments of the pooled documents for ``subspace="documents"``, and for sif
pooling the Gram matrix of the pooled codes) are sums over documents,
so each partition is counted where it lives and only the sums travel. Needs the
optional extra: ``pip install "sklearn-factorembed[dask]"``.
"""

from __future__ import annotations

import numpy as np

from ._embedding import FactorizedEmbedding, common_component
from ._factorize import Moments
from ._text import count_tokens, document_batches
from ._vectors import load_vectors


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
    statistics, _, _ = embedding._statistics_of(partition)
    return statistics


def _add(parts):
    parts = [part for part in parts if part is not None]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def _partition_counts(embedding: FactorizedEmbedding, partition):
    """Token counts over ``vocabulary_`` of the partition, batch by batch."""
    analyzer = embedding._build_analyzer()
    for batch in document_batches(partition, embedding.batch_size):
        yield count_tokens(batch, analyzer, embedding.vocabulary_)


def _partition_gram(embedding: FactorizedEmbedding, partition) -> np.ndarray:
    gram = np.zeros((embedding.rank_, embedding.rank_))
    for counts in _partition_counts(embedding, partition):
        gram += embedding._sif_gram(counts)
    return gram


def _partition_moments(
    embedding: FactorizedEmbedding, partition, kept_table: np.ndarray
) -> Moments:
    moments = Moments.of(np.zeros((0, kept_table.shape[1])))
    for counts in _partition_counts(embedding, partition):
        moments = moments + embedding._document_moments(
            counts, kept_table, embedding.mean_, embedding.removed_directions_
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
    embedding._validate_params()
    if embedding.supervised:
        raise ValueError(
            "fit_dask does not support supervised=True: the discriminants need "
            "every labelled document at once; use embedding.fit(X, y)"
        )
    partitions = _collection(documents).to_delayed()
    statistics = dask.delayed(_add)(
        [dask.delayed(_partition_statistics)(embedding, part) for part in partitions]
    ).compute()
    if statistics is None or statistics.n_documents == 0:
        raise ValueError("documents is empty: fit needs at least one document")
    embedding._fit_statistics(statistics)
    if embedding.subspace == "documents":
        table = load_vectors(embedding.vectors)
        kept_table = table.vectors[embedding._select_rows(table, statistics)]
        moments = dask.delayed(_add)(
            [
                dask.delayed(_partition_moments)(embedding, part, kept_table)
                for part in partitions
            ]
        ).compute()
        # The factors are cached: this refit only picks the new directions.
        embedding._fit_statistics(statistics, document_moments=moments)
    if embedding.pooling == "sif":
        gram = dask.delayed(sum)(
            [dask.delayed(_partition_gram)(embedding, part) for part in partitions]
        ).compute()
        embedding.common_component_ = common_component(gram).astype(
            embedding.embedding_.dtype
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
