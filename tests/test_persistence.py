"""Saving, loading and exporting fitted models: portable, atomic, validated."""

from __future__ import annotations

import bz2
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import textwrap
import zipfile
import zlib
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


@pytest.mark.parametrize("space", ["codes", "reconstructed"])
def test_export_of_chosen_words_holds_words_the_fit_documents_lacked(
    fitted, tmp_path, space
):
    unseen = [f"w{i}" for i in range(250, 300) if f"w{i}" not in fitted.vocabulary_]
    kept = list(fitted.vocabulary_)[:3]
    words = [*unseen[:4], *kept, "not-a-word", unseen[0]]
    fitted.export(tmp_path / "codes.txt", words=words, space=space)
    loaded = KeyedVectors.load_word2vec_format(str(tmp_path / "codes.txt"))
    # In the given order, once each, without the word no table holds.
    assert loaded.index_to_key == [*unseen[:4], *kept]
    expected = fitted.transform_words(loaded.index_to_key)
    if space == "reconstructed":
        expected = fitted.inverse_transform(expected)
    np.testing.assert_allclose(loaded.vectors, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"format": "npy"}, "format='npy'"), ({"space": "raw"}, "space='raw'")],
)
def test_export_rejects_unknown_format_or_space(fitted, tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        fitted.export(tmp_path / "codes.txt", **kwargs)


# -- crafted archives: sizes checked before anything is allocated -------------------


def _raw_zip(members) -> bytes:
    """A zip archive written by hand, so that its sizes and flags can lie:
    ``members`` holds (name, bytes as stored, method, stated size, crc, flags)."""
    archive, directory = bytearray(), bytearray()
    for name, data, method, size, crc, flags in members:
        offset, encoded = len(archive), name.encode()
        archive += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0, crc, len(data),
            size, len(encoded), 0,
        )  # fmt: skip
        archive += encoded + data
        directory += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc,
            len(data), size, len(encoded), 0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        directory += encoded
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
        len(directory), len(archive), 0,
    )  # fmt: skip
    return bytes(archive + directory + end)


def _stored(name: str, data: bytes) -> tuple:
    return (name, data, zipfile.ZIP_STORED, len(data), zlib.crc32(data), 0)


def _model_members(path, metadata=None) -> list[tuple]:
    """The members of a model file, stored as they are, with new metadata."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if metadata is not None:
        members["metadata.json"] = json.dumps(metadata).encode()
    return [_stored(name, data) for name, data in members.items()]


def _npy_header(descr: str, shape: tuple) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return header.getvalue()


def _deflated_zeros(prefix: bytes, n_zeros: int) -> bytes:
    """A raw deflate stream of ``prefix`` and ``n_zeros`` zero bytes (a whole
    number of MiB), built in milliseconds: after a full flush a compressor
    forgets what came before, so every MiB of zeros compresses to the same
    bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    mebibyte = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.flush()
    return head + mebibyte * (n_zeros >> 20) + tail


def _with_array_entry(saved, name, descr, shape) -> dict:
    metadata = _metadata(saved)
    metadata["attributes"][name] = {"kind": "array", "dtype": descr, "shape": shape}
    return metadata


def _crafted_archives(saved) -> dict[str, bytes]:
    """Files whose headers promise far more than they hold, and bombs."""
    huge = [10**12, 10]
    claim = _with_array_entry(saved, "huge_", "<f4", huge)
    header = _npy_header("<f4", tuple(huge))
    n_zeros = 2 << 30  # more than the subprocess may allocate
    zeros_header = _npy_header("|u1", (n_zeros,))
    bomb = _deflated_zeros(zeros_header, n_zeros)
    nested = b"[" * 200_000 + b"]" * 200_000
    return {
        # A header of 10^12 x 10 floats over 64 bytes of data.
        "header.npz": _raw_zip(
            [*_model_members(saved, claim), _stored("huge_.npy", header + bytes(64))]
        ),
        # The zip entry claiming the 3 GB that its 64 bytes would need.
        "stored-size.npz": _raw_zip(
            [
                *_model_members(saved, claim),
                ("huge_.npy", header + bytes(64), zipfile.ZIP_STORED, 3 << 30, 0, 0),
            ]
        ),
        # 2 GiB of zeros deflated to 2 MB.
        "bomb.npz": _raw_zip(
            [
                *_model_members(
                    saved, _with_array_entry(saved, "zeros_", "|u1", [n_zeros])
                ),
                (
                    "zeros_.npy",
                    bomb,
                    zipfile.ZIP_DEFLATED,
                    len(zeros_header) + n_zeros,
                    0,
                    0,
                ),
            ]
        ),
        "nested.npz": _raw_zip(
            [
                *[m for m in _model_members(saved) if m[0] != "metadata.json"],
                _stored("metadata.json", nested),
            ]
        ),
    }


_LOAD_EACH = """
import json, resource, sys
from pathlib import Path

# What loading allocates for a crafted file is bounded by far less than this:
# a loader that believed one would raise MemoryError here.
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from sklearn_factorembed import FactorizedEmbedding

for path in sorted(Path(sys.argv[1]).iterdir()):
    try:
        FactorizedEmbedding.load(path)
    except BaseException as error:
        outcome = [type(error).__name__, str(error)]
    else:
        outcome = ["loaded", ""]
    print(json.dumps([path.name, outcome]), flush=True)
"""


@pytest.fixture(scope="module")
def crafted_outcomes(
    tmp_path_factory, small_table_path, small_corpus, outcomes_of_each_file
) -> dict:
    """Each crafted file, and a FIFO, loaded in a subprocess limited to 1.5 GB
    of address space: file name -> [exception name, message], or ["hangs",
    ...] for the file being loaded after a minute."""
    folder = tmp_path_factory.mktemp("crafted")
    model = folder.parent / "model-for-crafting.npz"
    FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus).save(model)
    for name, data in _crafted_archives(model).items():
        (folder / name).write_bytes(data)
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.npz")  # opening one blocks until it is written
    return outcomes_of_each_file(_LOAD_EACH, folder, seconds=60)


@pytest.mark.parametrize(
    "name, message",
    [
        (
            "header.npz",
            "its array 'huge_' holds 64 bytes after its header where its shape "
            "[1000000000000, 10] and dtype <f4 need 40000000000000",
        ),
        (
            "stored-size.npz",
            "its member 'huge_.npy' is stored in 192 bytes but claims to hold "
            "3221225472",
        ),
        (
            "bomb.npz",
            "to 2147483776 bytes, more than a model file's members do (at most 100 "
            "times",
        ),
        ("nested.npz", "its metadata.json nests 200000 levels deep, more than the 32"),
    ],
)
def test_crafted_sizes_are_refused_before_anything_is_allocated(
    crafted_outcomes, name, message
):
    kind, text = crafted_outcomes[name]
    assert kind == "ValueError", text
    assert f"{name}': " in text and message in text, text


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\n'),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet='[{"\\'), children, max_size=3)
    ),
    max_leaves=20,
)


@given(value=json_values, indent=st.sampled_from([None, 1]))
def test_json_nesting_is_counted_as_parsing_would_find_it(value, indent):
    raw = json.dumps(value, indent=indent).encode()
    assert _persistence._json_nesting(raw) == _depth(value)


def test_brackets_inside_json_strings_do_not_count_as_nesting(fitted, tmp_path):
    fitted.settings_ = {"note": "[" * 1000 + '\\"]{'}
    fitted.save(tmp_path / "model.npz")
    assert FactorizedEmbedding.load(tmp_path / "model.npz").settings_ == {
        "note": "[" * 1000 + '\\"]{'
    }


def test_metadata_larger_than_the_cap_is_refused(saved, monkeypatch):
    monkeypatch.setattr(_persistence, "_MAX_METADATA_BYTES", 1000)
    with pytest.raises(
        ValueError, match="metadata.json is .* bytes, more than the 1000"
    ):
        FactorizedEmbedding.load(saved)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: (m[0], m[1], m[2], m[3], m[4], 0x1), "is encrypted"),
        (
            lambda m: (m[0], bz2.compress(m[1]), zipfile.ZIP_BZIP2, *m[3:]),
            "uses compression method 12; model files are stored or deflated",
        ),
    ],
)
def test_encrypted_or_bzip2_members_are_refused(saved, edit, message):
    members = _model_members(saved)
    members[0] = edit(members[0])
    saved.write_bytes(_raw_zip(members))
    with pytest.raises(ValueError, match=f"model.npz.*{message}"):
        FactorizedEmbedding.load(saved)


def test_many_members_inflating_within_their_allowance_are_refused_in_all(saved):
    # Each inflates to 60 KiB from a few bytes, within the allowance of a
    # small member; 2,000 of them would inflate to 120 MB.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = compressor.compress(bytes(60 << 10)) + compressor.flush()
    members = [
        (f"zeros{i}_.npy", zeros, zipfile.ZIP_DEFLATED, 60 << 10, 0, 0)
        for i in range(2000)
    ]
    saved.write_bytes(_raw_zip([*_model_members(saved), *members]))
    size = saved.stat().st_size
    with pytest.raises(ValueError, match=f"more than 100 times the file's {size}"):
        FactorizedEmbedding.load(saved)


def test_a_member_twice_is_refused(saved):
    members = _model_members(saved)
    saved.write_bytes(_raw_zip([*members, members[0]]))
    with pytest.raises(ValueError, match=f"holds the member '{members[0][0]}' twice"):
        FactorizedEmbedding.load(saved)


def test_members_sharing_their_bytes_are_refused(saved):
    data = saved.read_bytes()
    # A second central directory entry pointing at the first member's bytes.
    members = _model_members(saved)
    archive = _raw_zip(members)
    directory = archive.index(b"PK\x01\x02")
    first_entry_end = archive.index(b"PK\x01\x02", directory + 4)
    copy = bytearray(archive[directory:first_entry_end])
    name = members[0][0].encode()
    copy[-len(name) :] = name.replace(b"_", b"x", 1)  # another, equally long name
    end = archive.rindex(b"PK\x05\x06")
    n, size, offset = len(members) + 1, end - directory + len(copy), directory
    trailer = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, size, offset, 0)
    saved.write_bytes(archive[:end] + bytes(copy) + trailer)
    assert data != saved.read_bytes()
    with pytest.raises(ValueError, match="into another member"):
        FactorizedEmbedding.load(saved)


@pytest.mark.parametrize(
    "member, message",
    [
        (b"\x93NUMPY\x03\x00" + bytes(20), "unsupported .npy format version"),
        (b"\x93NUMPY\x01\x00\x04\x00{'a'", "no valid .npy header"),
        (b"not an npy file at all", "no valid .npy header"),
    ],
)
def test_malformed_npy_headers_are_refused(saved, member, message):
    members = [m for m in _model_members(saved) if m[0] != "mean_.npy"]
    saved.write_bytes(_raw_zip([*members, _stored("mean_.npy", member)]))
    with pytest.raises(ValueError, match=f"its array 'mean_' has {message}|{message}"):
        FactorizedEmbedding.load(saved)


# -- paths that are not regular files ------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_being_opened(crafted_outcomes, tmp_path):
    kind, text = crafted_outcomes["fifo.npz"]
    assert kind == "OSError", text
    assert text.endswith(
        "fifo.npz': it is a FIFO (named pipe), not a regular file; it is refused "
        "without being opened"
    )
    os.mkfifo(tmp_path / "model.npz")
    assert not _persistence.is_model_file(tmp_path / "model.npz")


def test_folder_is_an_is_a_directory_error(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        FactorizedEmbedding.load(tmp_path)


def test_unpickling_checks_the_fitted_state_as_loading_a_model_file_does(fitted):
    state = fitted.__getstate__()
    state["embedding_"] = state["embedding_"][:2]  # rows for two words only
    with pytest.raises(ValueError, match=r"cannot restore a fitted .*embedding_ has"):
        FactorizedEmbedding.__new__(FactorizedEmbedding).__setstate__(state)
    # A vocabulary as a dict (no rows to trust) is refused, not converted.
    state = fitted.__getstate__()
    state["vocabulary_"] = dict(fitted.vocabulary_)
    with pytest.raises(ValueError, match="vocabulary_ is a dict, not a vocabulary"):
        FactorizedEmbedding.__new__(FactorizedEmbedding).__setstate__(state)


@pytest.mark.parametrize(
    "packed, message",
    [
        ((np.zeros(2, np.uint8),), "two arrays, got 1"),
        (
            (np.frombuffer(b"ab", np.uint8), np.array([0, 5])),
            "offsets of the vocabulary_",
        ),
    ],
)
def test_unpickling_refuses_a_crafted_vocabulary(fitted, packed, message):
    state = fitted.__getstate__()
    state["vocabulary_"] = packed
    with pytest.raises(ValueError, match=message):
        FactorizedEmbedding.__new__(FactorizedEmbedding).__setstate__(state)
