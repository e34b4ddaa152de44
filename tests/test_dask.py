"""The Dask path: fitting from partitions gives the in-memory fit."""

from __future__ import annotations

import dask
import dask.bag
import dask.dataframe
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sklearn_factorembed import FactorizedEmbedding, fit_dask, transform_dask


@pytest.fixture(autouse=True)
def synchronous_scheduler():
    with dask.config.set(scheduler="synchronous"):
        yield


def _assert_same_fit(streamed, fitted):
    """Equal; up to float32 rounding when the documents' moments, summed
    partition by partition, picked the directions."""
    assert streamed.vocabulary_ == fitted.vocabulary_
    for name in ("embedding_", "components_", "mean_", "singular_values_"):
        if fitted.subspace == "words":
            np.testing.assert_array_equal(
                getattr(streamed, name), getattr(fitted, name)
            )
        else:
            np.testing.assert_allclose(
                getattr(streamed, name), getattr(fitted, name), rtol=1e-5, atol=1e-6
            )


@pytest.mark.parametrize("subspace", ["documents", "words"])
@pytest.mark.parametrize("pooling", ["mean", "tfidf"])
def test_fit_on_a_bag_equals_fit_in_memory(
    small_table_path, small_corpus, pooling, subspace
):
    fitted = FactorizedEmbedding(
        small_table_path, rank=4, pooling=pooling, subspace=subspace
    )
    fitted.fit(small_corpus)
    bag = dask.bag.from_sequence(small_corpus, npartitions=4)
    streamed = fit_dask(clone(fitted), bag)
    _assert_same_fit(streamed, fitted)
    if pooling == "tfidf":
        np.testing.assert_array_equal(
            streamed.pooling_weights_, fitted.pooling_weights_
        )


def test_fit_on_a_dataframe_column_with_sif_equals_fit_in_memory(
    small_table_path, small_corpus
):
    fitted = FactorizedEmbedding(small_table_path, rank=4, pooling="sif")
    fitted.fit(small_corpus)
    frame = dask.dataframe.from_pandas(
        pd.DataFrame({"text": small_corpus}), npartitions=3
    )
    with dask.config.set(scheduler="threads"):
        streamed = fit_dask(clone(fitted), frame["text"])
    _assert_same_fit(streamed, fitted)
    np.testing.assert_array_equal(streamed.pooling_weights_, fitted.pooling_weights_)
    np.testing.assert_allclose(
        streamed.common_component_, fitted.common_component_, atol=1e-6
    )


def test_transform_of_a_bag_is_the_in_memory_transform(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    bag = dask.bag.from_sequence(small_corpus, npartitions=5)
    codes = transform_dask(embedding, bag)
    np.testing.assert_array_equal(codes.compute(), embedding.transform(small_corpus))


def test_transform_of_a_series_keeps_index_and_feature_names(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    series = pd.Series(small_corpus, index=np.arange(len(small_corpus)) * 10)
    codes = transform_dask(
        embedding, dask.dataframe.from_pandas(series, npartitions=3)
    ).compute()
    assert list(codes.columns) == list(embedding.get_feature_names_out())
    np.testing.assert_array_equal(codes.index, series.index)
    np.testing.assert_array_equal(codes.to_numpy(), embedding.transform(small_corpus))


def test_empty_partitions_add_nothing(small_table_path, small_corpus):
    fitted = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    bag = dask.bag.concat(
        [
            dask.bag.from_sequence([], npartitions=1),
            dask.bag.from_sequence(small_corpus),
        ]
    )
    _assert_same_fit(fit_dask(clone(fitted), bag), fitted)


def test_non_dask_documents_are_a_type_error(small_table_path, small_corpus):
    with pytest.raises(TypeError, match="dask Bag of str or a dask Series"):
        fit_dask(FactorizedEmbedding(small_table_path, rank=4), small_corpus)


def test_invalid_parameters_are_caught_before_counting(small_table_path, small_corpus):
    bag = dask.bag.from_sequence(small_corpus)
    with pytest.raises(ValueError, match="pooling"):
        fit_dask(FactorizedEmbedding(small_table_path, pooling="median"), bag)


def test_supervised_is_refused_before_counting(small_table_path, small_corpus):
    bag = dask.bag.from_sequence(small_corpus)
    with pytest.raises(ValueError, match="does not support supervised=True"):
        fit_dask(FactorizedEmbedding(small_table_path, supervised=True), bag)
