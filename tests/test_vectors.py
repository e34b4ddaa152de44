"""Vector sources: the built-in table, files in gensim's formats, names, cache."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

from sklearn_factorembed import _vectors, load_vectors


def test_default_table_is_memory_mapped_glove():
    table = load_vectors("glove-6b-50d")
    assert table.vectors.shape == (400_000, 50)
    assert table.vectors.dtype == np.float32
    assert isinstance(table.vectors, np.memmap)
    assert table.index_to_key[:4] == ["the", ",", ".", "of"]
    assert table.key_to_index["king"] == table.index_to_key.index("king")
    # The published first vector of GloVe 6B 50d starts 0.418 0.24968 -0.41242.
    np.testing.assert_allclose(table["the"][:3], [0.418, 0.24968, -0.41242])


def test_same_source_is_served_from_the_cache():
    assert load_vectors("glove-6b-50d") is load_vectors("glove-6b-50d")


def test_keyed_vectors_are_returned_as_they_are(small_keyed_vectors):
    assert load_vectors(small_keyed_vectors) is small_keyed_vectors


@pytest.mark.parametrize(
    "name, binary",
    [("euclidean_vectors.bin", True), ("high_precision.kv.txt", False)],
)
def test_word2vec_files_load_as_gensim_loads_them(name, binary):
    expected = KeyedVectors.load_word2vec_format(datapath(name), binary=binary)
    table = load_vectors(datapath(name))
    assert table.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(table.vectors, expected.vectors)


def test_glove_text_without_header_loads():
    with open(datapath("test_glove.txt"), encoding="utf-8") as lines:
        rows = [line.split() for line in lines]
    table = load_vectors(datapath("test_glove.txt"))
    assert table.index_to_key == [row[0] for row in rows]
    np.testing.assert_allclose(
        table.vectors, np.array([row[1:] for row in rows], dtype=float), rtol=1e-6
    )


def test_fasttext_vec_and_bin_load():
    text = load_vectors(datapath("lee_fasttext.vec"))
    binary = load_vectors(datapath("lee_fasttext.bin"))
    assert text.vector_size == binary.vector_size == 10
    assert "the" in binary.key_to_index
    # The .vec file is the text export of the same model.
    np.testing.assert_allclose(text["the"], binary["the"], atol=1e-4)


def test_gensim_native_format_loads(tmp_path, small_keyed_vectors):
    path = tmp_path / "small.kv"
    small_keyed_vectors.save(str(path))
    table = load_vectors(path)
    np.testing.assert_array_equal(table.vectors, small_keyed_vectors.vectors)


def test_file_rewritten_in_place_is_reloaded(tmp_path):
    path = tmp_path / "table.txt"
    path.write_text("2 2\na 1 0\nb 0 1\n")
    assert len(load_vectors(path)) == 2
    path.write_text("3 2\na 1 0\nb 0 1\nc 1 1\n")
    assert len(load_vectors(path)) == 3


def test_unknown_name_or_missing_path_is_a_clear_error():
    with pytest.raises(ValueError, match="neither an existing file nor a known"):
        load_vectors("glove-6b-51d")


def test_gensim_data_name_without_network_says_so(monkeypatch):
    import gensim.downloader

    def offline(name):
        raise ConnectionError("Temporary failure in name resolution")

    monkeypatch.setattr(gensim.downloader, "load", offline)
    monkeypatch.setattr(_vectors, "_cache", type(_vectors._cache)(maxsize=1))
    with pytest.raises(OSError, match="glove-wiki-gigaword-100.*no network"):
        load_vectors("glove-wiki-gigaword-100")


@pytest.mark.parametrize("source", [42, None, ["glove-6b-50d"]])
def test_source_of_wrong_type_is_a_type_error(source):
    with pytest.raises(TypeError, match="vectors must be"):
        load_vectors(source)
