"""A fitted pipeline through skops: ``skops.io.dump``, the types a user must
trust, and ``skops.io.load(..., trusted=...)``."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_factorembed import FactorizedEmbedding

# What skops.io.get_untrusted_types names for a fitted
# Pipeline(FactorizedEmbedding, LogisticRegression), whatever the quantization;
# README ("Save, load, export, command line") lists the same.
UNTRUSTED_TYPES = [
    "scipy.sparse._csr.csr_matrix",
    "sklearn_factorembed._embedding.FactorizedEmbedding",
    "sklearn_factorembed._text.CorpusStatistics",
]
QUANTIZATIONS = [None, "int8", "pq"]


def _dumped_pipeline(source, corpus, labels, quantization, path):
    pipeline = make_pipeline(
        FactorizedEmbedding(
            source, rank=8, quantization=quantization, pq_subvectors=4, random_state=0
        ),
        LogisticRegression(),
    ).fit(corpus, labels)
    sio.dump(pipeline, path)
    return pipeline


@pytest.mark.parametrize("quantization", QUANTIZATIONS)
def test_skops_names_the_types_a_user_must_trust(
    small_table_path, small_corpus, small_labels, tmp_path, quantization
):
    path = tmp_path / "pipeline.skops"
    _dumped_pipeline(small_table_path, small_corpus, small_labels, quantization, path)
    assert sorted(sio.get_untrusted_types(file=path)) == UNTRUSTED_TYPES


@pytest.mark.parametrize("quantization", QUANTIZATIONS)
def test_pipeline_round_trips_through_skops_with_identical_predictions(
    small_table_path, small_corpus, small_labels, tmp_path, quantization
):
    path = tmp_path / "pipeline.skops"
    pipeline = _dumped_pipeline(
        small_table_path, small_corpus, small_labels, quantization, path
    )
    loaded = sio.load(path, trusted=UNTRUSTED_TYPES)
    # w250 to w299 are in the table but not in the fit corpus: the open
    # vocabulary goes through the round trip too.
    documents = [*small_corpus, "w250 w3 w299", "w260"]
    np.testing.assert_array_equal(
        loaded.predict_proba(documents), pipeline.predict_proba(documents)
    )
    np.testing.assert_array_equal(
        loaded.predict(documents), pipeline.predict(documents)
    )


def test_skops_schema_does_not_grow_with_the_vocabulary(
    small_table_path, small_corpus, tmp_path
):
    # skops writes a dict out key by key in its JSON schema: the vocabularies
    # go in as two arrays instead, so the schema of a model keeping every word
    # of the table is no bigger than that of one keeping the corpus words.
    schema_sizes = {}
    for vocabulary in ("corpus", "all"):
        path = tmp_path / f"{vocabulary}.skops"
        model = FactorizedEmbedding(small_table_path, rank=8, vocabulary=vocabulary)
        sio.dump(model.fit(small_corpus), path)
        with zipfile.ZipFile(path) as archive:
            schema_sizes[len(model.vocabulary_)] = archive.getinfo(
                "schema.json"
            ).file_size
    (few, few_size), (many, many_size) = sorted(schema_sizes.items())
    assert many > few + 50
    assert many_size <= few_size


def test_skops_refuses_a_crafted_model(
    small_table_path, small_corpus, small_labels, tmp_path
):
    # skops cannot run code, but the arrays it sets are the file's: a model
    # whose codes stop short of its vocabulary is refused at load, as a model
    # file would be, not left to index past the codes in transform.
    path = tmp_path / "pipeline.skops"
    pipeline = _dumped_pipeline(
        small_table_path, small_corpus, small_labels, None, path
    )
    embedding = pipeline[0].embedding_
    crafted = tmp_path / "crafted.skops"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(crafted, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".npy"):
                array = np.load(io.BytesIO(data))
                if array.shape == embedding.shape and np.array_equal(array, embedding):
                    buffer = io.BytesIO()
                    np.save(buffer, array[:3])
                    data = buffer.getvalue()
            target.writestr(info, data)
    with pytest.raises(ValueError, match="cannot restore a fitted .*embedding_ has"):
        sio.load(crafted, trusted=UNTRUSTED_TYPES)
