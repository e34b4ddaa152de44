"""Saving, loading and exporting fitted models: portable, atomic, validated."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sklearn_factorembed import FactorizedEmbedding, _persistence, load_vectors


@pytest.fixture
def saved(fitted, tmp_path):
    path = tmp_path / "model.npz"
    fitted.save(path)
    return path


def _fitted_state(embedding):
    return {name: value for name, value in vars(embedding).items() if name[-1] == "_"}


def _rewrite(path, *, metadata=None, members=None):
    """Rewrite a model file with edited metadata and/or extra or replaced members."""
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    if metadata is not None:
        contents["metadata.json"] = json.dumps(metadata).encode()
    contents.update(members or {})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)


def _metadata(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("metadata.json"))


def _with_checksum(metadata, path):
    """``metadata`` with the checksum a writer would compute for the file's arrays."""
    metadata = {key: value for key, value in metadata.items() if key != "sha256"}
    with np.load(path, allow_pickle=False) as archive:
        arrays = {
            name: archive[name] for name in archive.files if name != "metadata.json"
        }
    metadata["sha256"] = _persistence._checksum(metadata, arrays)
    return metadata


# -- round trips -------------------------------------------------------------------


def _round_trip(embedding, how):
    """``embedding`` pickled and unpickled, or saved and loaded."""
    if how == "pickle":
        return pickle.loads(pickle.dumps(embedding))
    with tempfile.TemporaryDirectory() as folder:
        embedding.save(Path(folder) / "model.npz")
        return FactorizedEmbedding.load(Path(folder) / "model.npz")


model_params = st.fixed_dictionaries(
    {
        "rank": st.one_of(st.integers(1, 12), st.floats(0.05, 0.95, exclude_min=True)),
        "pooling": st.sampled_from(["mean", "sum", "max", "tfidf", "sif"]),
        "weighting": st.sampled_from(["frequency", None]),
        "dtype": st.sampled_from([np.float32, np.float64, "float64"]),
        "lowercase": st.booleans(),
        "solver": st.sampled_from(["auto", "full", "qr"]),
    }
)
# Words of the table (in upper case too, for lowercase=False) among any text.
corpora = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from([f"w{i}" for i in range(300)] + ["W1", "n't", ""]),
            st.text(max_size=8),
        ),
        max_size=20,
    ).map(" ".join),
    min_size=1,
    max_size=12,
)
SOME_DOCUMENTS = ["w1 w2 zebra", "", "W3 w4"]


@pytest.mark.filterwarnings("ignore:.*have no word this model can encode")
@pytest.mark.parametrize("how", ["pickle", "save-load"])
# No deadline: a shared machine makes single examples slow now and then.
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=model_params, corpus=corpora)
# The defaults, and vocabularies and quantizations model_params does not draw:
@example(params={"rank": 4}, corpus=SOME_DOCUMENTS)
@example(
    params={"rank": 0.9, "pooling": "sif", "dtype": np.float64}, corpus=SOME_DOCUMENTS
)
@example(
    params={
        "rank": 3,
        "pooling": "tfidf",
        "vocabulary": ["w1", "w2", "w3", "w5", "w8"],
    },
    corpus=SOME_DOCUMENTS,
)
@example(
    params={"rank": 2, "vocabulary": 50, "weighting": None, "pooling": "max"},
    corpus=SOME_DOCUMENTS,
)
@example(
    params={"rank": 8, "vocabulary": "all", "quantization": "int8"},
    corpus=SOME_DOCUMENTS,
)
@example(
    params={"rank": 8, "quantization": "pq", "pq_subvectors": 2, "random_state": 0},
    corpus=SOME_DOCUMENTS,
)
def test_round_trip_restores_parameters_fitted_state_and_transform(
    small_table_path, small_corpus, how, params, corpus
):
    embedding = FactorizedEmbedding(small_table_path, **params).fit(small_corpus)
    restored = _round_trip(embedding, how)

    assert restored.get_params() == embedding.get_params()
    expected, actual = _fitted_state(embedding), _fitted_state(restored)
    # save also stores the codes of table words beyond vocabulary_ (test_words.py).
    saved_extra = {name for name in actual if name.startswith("extra_")}
    assert bool(saved_extra) == (how == "save-load")
    assert expected.keys() == actual.keys() - saved_extra
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            assert actual[name].dtype == value.dtype, name
            np.testing.assert_array_equal(actual[name], value, err_msg=name)
        else:
            assert actual[name] == value, name
            assert type(actual[name]) is type(value), name
    assert list(restored.vocabulary_) == list(embedding.vocabulary_)
    with pytest.raises(TypeError, match="read-only"):
        restored.vocabulary_["extra"] = 0
    for documents in (small_corpus, corpus):
        np.testing.assert_array_equal(
            restored.transform(documents), embedding.transform(documents)
        )
    codes = embedding.transform(corpus)
    np.testing.assert_array_equal(
        restored.inverse_transform(codes), embedding.inverse_transform(codes)
    )


def test_loaded_model_transforms_identically_in_a_fresh_process_without_the_table(
    small_keyed_vectors, small_corpus, tmp_path
):
    table_path = tmp_path / "table.txt"
    small_keyed_vectors.save_word2vec_format(str(table_path))
    embedding = FactorizedEmbedding(table_path, rank=5, pooling="sif")
    expected = embedding.fit_transform(small_corpus)
    embedding.save(tmp_path / "model.npz")
    table_path.unlink()
    (tmp_path / "documents.json").write_text(json.dumps(small_corpus))

    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np
        from sklearn_factorembed import FactorizedEmbedding

        folder = sys.argv[1]
        embedding = FactorizedEmbedding.load(folder + "/model.npz")
        documents = json.load(open(folder + "/documents.json"))
        np.save(folder + "/codes.npy", embedding.transform(documents))
        """
    )
    environment = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        check=True,
        env=environment,
        cwd=tmp_path,
    )
    assert not table_path.exists()
    np.testing.assert_array_equal(np.load(tmp_path / "codes.npy"), expected)


def test_fitted_attributes_added_later_are_saved_without_changes(fitted, tmp_path):
    # Stands for attributes other features add: quantized codes, directions, ...
    fitted.codes_int8_ = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    fitted.directions_ = np.eye(2, 12)
    fitted.scales_ = None
    fitted.settings_ = {"levels": [1, 2.5], "name": "pq", "on": True}
    fitted.counts_ = {"w1": 7, "w2": 3}
    fitted.save(tmp_path / "model.npz")
    restored = FactorizedEmbedding.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(restored.codes_int8_, fitted.codes_int8_)
    assert restored.codes_int8_.dtype == np.int8
    np.testing.assert_array_equal(restored.directions_, fitted.directions_)
    assert restored.scales_ is None
    assert restored.settings_ == fitted.settings_
    assert restored.counts_ == {"w1": 7, "w2": 3}


def test_model_file_holds_only_arrays_and_json(saved):
    with zipfile.ZipFile(saved) as archive:
        names = archive.namelist()
    assert "metadata.json" in names
    assert all(name == "metadata.json" or name.endswith(".npy") for name in names)
    metadata = _metadata(saved)
    assert (metadata["format"], metadata["version"]) == ("sklearn-factorembed-model", 1)
    assert metadata["attributes"]["vocabulary_"]["kind"] == "vocabulary"
    with np.load(saved, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    assert "embedding_" in arrays and "vocabulary_" not in arrays
    assert not any(
        isinstance(value, np.ndarray) and value.dtype.hasobject
        for value in arrays.values()
    )


# -- atomic writes -----------------------------------------------------------------


def test_failed_write_leaves_the_earlier_file_intact(
    fitted, saved, monkeypatch, small_corpus
):
    before = saved.read_bytes()

    def crash(stream, array, **kwargs):
        stream.write(b"half an array")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    fitted.rank_ = 999  # would differ from the saved model
    with pytest.raises(KeyboardInterrupt):
        fitted.save(saved, extra_words=0)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left behind


def test_failed_rename_leaves_the_earlier_file_intact(fitted, saved, monkeypatch):
    before = saved.read_bytes()

    def refuse(source, target):
        raise PermissionError(f"cannot rename {source} to {target}")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        fitted.save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]


def test_save_into_a_missing_folder_names_it(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*no-such-folder"):
        fitted.save(tmp_path / "no-such-folder" / "model.npz")


# -- what cannot be saved ----------------------------------------------------------


def test_tokenizer_callable_cannot_be_saved(small_table_path, tmp_path):
    embedding = FactorizedEmbedding(small_table_path, rank=2, tokenizer=str.split).fit(
        ["w1 w2 w3"]
    )
    with pytest.raises(ValueError, match="tokenizer=.*cannot be saved portably"):
        embedding.save(tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()


def test_keyed_vectors_parameter_cannot_be_saved(small_keyed_vectors, tmp_path):
    embedding = FactorizedEmbedding(small_keyed_vectors, rank=2).fit(["w1 w2 w3"])
    with pytest.raises(ValueError, match="vectors=.*KeyedVectors.*cannot be saved"):
        embedding.save(tmp_path / "model.npz")


def test_object_array_attribute_is_rejected_not_pickled(fitted, tmp_path):
    fitted.labels_ = np.array(["a", None], dtype=object)
    with pytest.raises(ValueError, match="labels_.*dtype object"):
        fitted.save(tmp_path / "model.npz")
    fitted.labels_ = object()
    with pytest.raises(ValueError, match="labels_=.*cannot be saved portably"):
        fitted.save(tmp_path / "model.npz")


# -- what cannot be loaded ---------------------------------------------------------


def test_random_bytes_are_not_a_model(tmp_path):
    path = tmp_path / "random.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="random.npz.*not a zip archive"):
        FactorizedEmbedding.load(path)


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_file_is_reported(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match="model.npz.*truncated or corrupt"):
        FactorizedEmbedding.load(saved)


def test_corrupted_array_bytes_are_detected(saved):
    data = bytearray(saved.read_bytes())
    with np.load(saved) as archive:
        first_code = archive["embedding_"][0, 0].tobytes()
    position = data.index(first_code)
    data[position] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="model.npz.*(corrupt|checksum)"):
        FactorizedEmbedding.load(saved)


def test_edited_metadata_fails_the_checksum(saved):
    metadata = _metadata(saved)
    metadata["attributes"]["rank_"]["value"] = 3
    _rewrite(saved, metadata=metadata)
    with pytest.raises(ValueError, match="model.npz.*checksum does not match"):
        FactorizedEmbedding.load(saved)


def test_inconsistent_shapes_are_reported_even_with_a_valid_checksum(saved):
    metadata = _metadata(saved)
    metadata["attributes"]["vocabulary_"]["words"].append("extra")
    _rewrite(saved, metadata=_with_checksum(metadata, saved))
    with pytest.raises(ValueError, match="model.npz.*embedding_ has shape"):
        FactorizedEmbedding.load(saved)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=st.floats(0, 1, exclude_max=True),
    replacement=st.binary(max_size=40),
    removed=st.integers(0, 40),
    truncate=st.booleans(),
)
def test_any_damage_gives_a_value_error_or_the_same_model(
    saved, fitted, small_corpus, start, replacement, removed, truncate
):
    data = saved.read_bytes()
    position = int(start * len(data))
    damaged = (
        data[:position]
        if truncate
        else data[:position] + replacement + data[position + removed :]
    )
    path = saved.parent / "damaged.npz"
    path.write_bytes(damaged)
    try:
        loaded = FactorizedEmbedding.load(path)
    except ValueError as error:
        assert "damaged.npz" in str(error)
        return
    # Damage that loads can only have hit bytes that carry nothing, such as
    # the archive's timestamps.
    np.testing.assert_array_equal(
        loaded.transform(small_corpus), fitted.transform(small_corpus)
    )


def test_pickle_bearing_member_is_never_unpickled(saved, tmp_path):
    marker = tmp_path / "code-was-run"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buffer = io.BytesIO()
    np.lib.format.write_array(
        buffer, np.array([Exploit()], dtype=object), allow_pickle=True
    )
    metadata = _metadata(saved)
    metadata["attributes"]["payload_"] = {"kind": "array", "dtype": "|O", "shape": [1]}
    _rewrite(saved, metadata=metadata, members={"payload_.npy": buffer.getvalue()})
    with pytest.raises(ValueError, match="model.npz.*payload_.*cannot be read"):
        FactorizedEmbedding.load(saved)
    assert not marker.exists()


def test_pickle_of_a_model_is_not_a_model_file(fitted, tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(fitted))
    with pytest.raises(ValueError, match="model.pkl.*not a zip archive"):
        FactorizedEmbedding.load(path)


def test_foreign_npz_is_not_a_model(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, embedding_=np.ones((2, 2)))
    with pytest.raises(ValueError, match="arrays.npz.*no metadata.json"):
        FactorizedEmbedding.load(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"format": "something-else"}, "not a sklearn-factorembed-model file"),
        ({"version": 2}, "format version 2, newer than the version 1"),
        ({"version": "1"}, "format version '1' is not a positive int"),
        ({"params": None}, "no valid 'params' entry"),
        ({"estimator": "PCA"}, "holds a PCA, not a FactorizedEmbedding"),
    ],
)
def test_foreign_or_future_metadata_is_reported(saved, edit, message):
    metadata = {**_metadata(saved), **edit}
    _rewrite(saved, metadata=_with_checksum(metadata, saved))
    with pytest.raises(ValueError, match=f"model.npz.*{message}"):
        FactorizedEmbedding.load(saved)


def test_attribute_names_that_would_rewrite_the_object_are_refused(saved):
    metadata = _metadata(saved)
    metadata["attributes"]["__dict__"] = {"kind": "json", "value": {}}
    _rewrite(saved, metadata=_with_checksum(metadata, saved))
    with pytest.raises(ValueError, match="'__dict__' is not the name of a fitted"):
        FactorizedEmbedding.load(saved)


def test_unknown_parameter_names_the_saving_version(saved):
    metadata = _metadata(saved)
    metadata["params"]["colour"] = {"kind": "json", "value": "blue"}
    metadata["library_version"] = "9.0"
    _rewrite(saved, metadata=_with_checksum(metadata, saved))
    with pytest.raises(ValueError, match="colour.*saved by sklearn-factorembed 9.0"):
        FactorizedEmbedding.load(saved)


def test_invalid_parameter_value_is_reported(saved):
    metadata = _metadata(saved)
    metadata["params"]["pooling"]["value"] = "median"
    _rewrite(saved, metadata=_with_checksum(metadata, saved))
    with pytest.raises(ValueError, match="model.npz.*pooling"):
        FactorizedEmbedding.load(saved)


def test_member_not_described_by_the_metadata_is_reported(saved):
    _rewrite(saved, members={"extra.npy": b"whatever"})
    with pytest.raises(ValueError, match="does not describe: \\['extra'\\]"):
        FactorizedEmbedding.load(saved)


def test_missing_array_is_reported(saved):
    with zipfile.ZipFile(saved) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    del contents["mean_.npy"]
    with zipfile.ZipFile(saved, "w") as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="arrays \\['mean_'\\] are missing"):
        FactorizedEmbedding.load(saved)


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here.npz"):
        FactorizedEmbedding.load(tmp_path / "nothing-here.npz")


def test_is_model_file_tells_models_from_other_files(saved, small_table_path, tmp_path):
    np.savez(tmp_path / "arrays.npz", a=np.ones(2))
    assert _persistence.is_model_file(saved)
    assert not _persistence.is_model_file(small_table_path)
    assert not _persistence.is_model_file(tmp_path / "arrays.npz")
    assert not _persistence.is_model_file(tmp_path / "missing.npz")


# -- export ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "format, name", [("word2vec", "codes.txt"), ("word2vec-bin", "codes.bin")]
)
def test_exported_codes_load_with_gensim(fitted, tmp_path, format, name):
    fitted.export(tmp_path / name, format=format)
    loaded = KeyedVectors.load_word2vec_format(
        str(tmp_path / name), binary=format == "word2vec-bin"
    )
    assert loaded.index_to_key == list(fitted.vocabulary_)
    np.testing.assert_allclose(loaded.vectors, fitted.embedding_, rtol=1e-6)


def test_exported_kv_loads_with_gensim(fitted, tmp_path):
    fitted.export(tmp_path / "codes.kv", format="kv")
    assert os.listdir(tmp_path) == ["codes.kv"]  # one file, no side arrays
    loaded = KeyedVectors.load(str(tmp_path / "codes.kv"))
    np.testing.assert_array_equal(loaded.vectors, fitted.embedding_)
    # ... and with load_vectors, whose unpickler builds nothing but vectors.
    reloaded = load_vectors(tmp_path / "codes.kv")
    assert reloaded.index_to_key == list(fitted.vocabulary_)
    np.testing.assert_array_equal(reloaded.vectors, fitted.embedding_)


def test_exported_reconstructions_are_the_projected_table_rows(
    small_table_path, small_corpus, tmp_path
):
    table = load_vectors(small_table_path)
    embedding = FactorizedEmbedding(small_table_path, rank=5).fit(small_corpus)
    embedding.export(tmp_path / "vectors.txt.gz", space="reconstructed")
    loaded = KeyedVectors.load_word2vec_format(str(tmp_path / "vectors.txt.gz"))
    rows = np.array([table[word] for word in loaded.index_to_key], dtype=float)
    mean = embedding.mean_.astype(float)
    basis = np.linalg.qr(embedding.components_.T.astype(float))[0]
    projected = (rows - mean) @ basis @ basis.T + mean
    assert loaded.vector_size == 12
    np.testing.assert_allclose(loaded.vectors, projected, atol=1e-4)


def test_export_rejects_words_the_word2vec_format_cannot_hold(
    small_keyed_vectors, tmp_path
):
    table = KeyedVectors(vector_size=12)
    table.add_vectors(["new york", "w1"], small_keyed_vectors.vectors[:2])
    table_path = tmp_path / "t.kv"
    table.save(str(table_path))
    embedding = FactorizedEmbedding(
        table_path, rank=1, vocabulary="all", weighting=None
    ).fit()
    with pytest.raises(ValueError, match="'new york' is empty or holds whitespace"):
        embedding.export(tmp_path / "codes.txt")
    embedding.export(tmp_path / "codes.kv", format="kv")
    assert KeyedVectors.load(str(tmp_path / "codes.kv")).index_to_key[0] == "new york"


@pytest.mark.parametrize(
    "kwargs, message",
    [({"format": "npy"}, "format='npy'"), ({"space": "raw"}, "space='raw'")],
)
def test_export_rejects_unknown_format_or_space(fitted, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fitted.export(tmp_path / "codes.txt", **kwargs)
