"""Vector sources: the built-in table, files in gensim's formats, names, cache."""

from __future__ import annotations

import bz2
import codecs
import collections
import gzip
import lzma
import os
import pickle
import re
import struct
import tempfile
import threading

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath
from hypothesis import given, settings
from hypothesis import strategies as st

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


_SENTENCES = [
    ["the", "cat", "sat", "on", "the", "mat"],
    ["a", "dog", "sat", "on", "a", "log"],
    ["the", "dog", "ate", "the", "cat"],
]


@pytest.fixture(scope="module")
def fasttext_model_path(tmp_path_factory):
    """A small fastText model trained by gensim and saved in Facebook's format."""
    from gensim.models.fasttext import FastText, save_facebook_model

    model = FastText(
        _SENTENCES,
        vector_size=8,
        min_count=1,
        epochs=1,
        bucket=1000,
        workers=1,
        seed=0,
    )
    path = tmp_path_factory.mktemp("fasttext") / "model.bin"
    save_facebook_model(model, str(path))
    return path


@pytest.mark.parametrize("source", ["gensim's test file", "save_facebook_model"])
def test_fasttext_model_that_pruned_nothing_loads_as_gensim_loads_it(
    source, fasttext_model_path
):
    from gensim.models.fasttext import load_facebook_vectors

    # fastText, and gensim after it, write -1 words pruned when none were.
    path = (
        datapath("lee_fasttext_new.bin")
        if source == "gensim's test file"
        else str(fasttext_model_path)
    )
    expected = load_facebook_vectors(path)
    table = load_vectors(path)
    assert table.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(table.vectors, expected.vectors)


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
    with pytest.raises(OSError, match="glove-wiki-gigaword-100.*no network"):
        load_vectors("glove-wiki-gigaword-100")


@pytest.mark.parametrize("source", [42, None, ["glove-6b-50d"]])
def test_source_of_wrong_type_is_a_type_error(source):
    with pytest.raises(TypeError, match="vectors must be"):
        load_vectors(source)


# -- bad vector files ----------------------------------------------------------------


def _data_as_dots(value):
    """Test ids that show names and messages but not a file's bytes."""
    return value if isinstance(value, str) else "..."


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.txt", b"", "holds no vectors"),
        ("header-only.txt", b"0 3\n", "holds no vectors"),
        ("longer.txt", b"3 2\na 1 0\nb 0 1 2\nc 1 1\n", "line 3 holds 3 values"),
        # gensim itself would spread the lone value over the whole vector.
        (
            "shorter.txt",
            b"a 1 0\nb 0\nc 1 1\n",
            "line 2 holds 1 values.*line 1 holds 2",
        ),
        ("no-values.txt", b"a\nb\n", "line 1 holds no values"),
        ("tabs.txt", b"a\t1\t0\n", "line 1 holds no values"),
        ("blank-line.txt", b"a 1 0\n\nb 0 1\n", "line 2 is blank"),
        ("promise.txt", b"5 2\na 1 0\nb 0 1\n", "promises 5 rows but .* holds 2"),
        ("words.txt", b"a x y\nb 1 2\n", "could not convert string to float"),
        ("latin-1.txt", b"2 2\ncaf\xe9 1 0\nb 0 1\n", "not UTF-8"),
        ("nan.txt", b"2 2\na 0 1\nb nan 0\n", "NaN or infinite.*of 'b' \\(row 1\\)"),
        ("inf.vec", b"a 1 0\nb 0 -inf\n", "NaN or infinite.*of 'b'"),
        ("duplicates.txt", b"3 2\na 1 0\nb 0 1\na 1 1\n", "duplicate words: 3 rows"),
        ("duplicates-no-header.txt", b"a 1 0\nb 0 1\na 1 1\n", "duplicate words"),
        ("random.kv", bytes(range(256)) * 4, "UnpicklingError"),
        ("random.bin", bytes(range(256)) * 4, "not supported"),
    ],
)
def test_bad_vector_file_is_a_value_error_naming_file_and_problem(
    tmp_path, name, data, message
):
    path = _write(tmp_path, name, data)
    with pytest.raises(ValueError, match=f"{name}.*{message}"):
        load_vectors(path)


def test_random_bytes_as_text_are_a_value_error(tmp_path):
    path = _write(tmp_path, "random.txt", np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="random.txt"):
        load_vectors(path)


def _binary_table(tmp_path, words=("a", "b"), n_dims=3) -> bytes:
    """A word2vec binary table of the given words, as bytes."""
    table = KeyedVectors(vector_size=n_dims)
    table.add_vectors(list(words), np.eye(len(words), n_dims))
    table.save_word2vec_format(str(tmp_path / "table.bin"), binary=True)
    return (tmp_path / "table.bin").read_bytes()


def test_binary_header_promising_more_rows_than_the_file_holds(tmp_path):
    data = _binary_table(tmp_path).replace(b"2 3\n", b"900000000 3\n")
    path = _write(tmp_path, "promise.bin", data)
    with pytest.raises(ValueError, match="promises 900000000 rows of 3 values"):
        load_vectors(path)


def test_compressed_binary_header_is_checked_against_its_decompressed_size(tmp_path):
    import gzip

    data = _binary_table(tmp_path).replace(b"2 3\n", b"5 3\n")
    path = _write(tmp_path, "promise.bin.gz", gzip.compress(data))
    with pytest.raises(ValueError, match="promise.bin.gz.*promises 5 rows of 3 values"):
        load_vectors(path)


_COMPRESS = {
    "": bytes,
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
}


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_compressed_fasttext_model_loads_as_the_uncompressed_one(
    tmp_path, fasttext_model_path, suffix
):
    from gensim.models.fasttext import load_facebook_vectors

    data = _COMPRESS[suffix](fasttext_model_path.read_bytes())
    table = load_vectors(_write(tmp_path, f"model.bin{suffix}", data))
    expected = load_facebook_vectors(str(fasttext_model_path))
    assert table.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(table.vectors, expected.vectors)


@pytest.mark.parametrize("keep", [None, 1_000])
def test_decompressed_copy_is_removed_after_loading_or_failing(
    tmp_path, monkeypatch, fasttext_model_path, keep
):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    data = gzip.compress(fasttext_model_path.read_bytes()[:keep])
    path = _write(tmp_path, "model.bin.gz", data)
    if keep is None:
        load_vectors(path)
    else:
        with pytest.raises(ValueError, match="model.bin.gz"):
            load_vectors(path)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("cut.txt.gz", gzip.compress(b"a 1 0\nb 0 1\n")[:-4], "ends early"),
        ("cut.bin.bz2", bz2.compress(b"2 1\na 0000b 0000")[:-4], "ends early"),
        ("plain.txt.gz", b"a 1 0\nb 0 1\n", "not valid .gz data"),
        ("plain.bin.xz", b"2 1\na 0000b 0000", "not valid .xz data"),
    ],
    ids=_data_as_dots,
)
def test_broken_compressed_file_is_a_value_error(tmp_path, name, data, message):
    with pytest.raises(ValueError, match=f"{name}.*{message}"):
        load_vectors(_write(tmp_path, name, data))


def test_duplicate_words_in_a_binary_file_are_reported(tmp_path):
    data = _binary_table(tmp_path, n_dims=2).replace(b"b ", b"a ")
    with pytest.raises(ValueError, match="duplicate words: 2 rows but 1 distinct"):
        load_vectors(_write(tmp_path, "duplicates.bin", data))


@pytest.mark.parametrize(
    "name, data",
    [
        ("nul.txt", b"a 1 0\nb\x00c 0 1\nd 1 1\n"),
        ("nul.bin", b"3 1\na 0000b\x00c 0000d 0000"),
    ],
    ids=_data_as_dots,
)
def test_word_holding_the_document_separator_is_refused(tmp_path, name, data):
    # The tokenizer joins a batch's documents with "\x00" and splits at it.
    with pytest.raises(
        ValueError,
        match=f"{name}' holds a word containing the character '\\\\x00'.*'b\\\\x00c' "
        r"\(row 1\)",
    ):
        load_vectors(_write(tmp_path, name, data))


def test_keyed_vectors_file_word_holding_the_separator_is_refused(tmp_path):
    table = KeyedVectors(vector_size=2)
    table.add_vectors(["a", "b\x00"], np.eye(2))
    table.save(str(tmp_path / "nul.kv"))
    with pytest.raises(ValueError, match=r"nul.kv' holds a word .*\(row 1\)"):
        load_vectors(tmp_path / "nul.kv")


def test_trailing_blank_lines_are_allowed(tmp_path):
    for name, data in [
        ("header.txt", b"2 2\na 1 0\nb 0 1\n\n\n"),
        ("no-header.txt", b"a 1 0\nb 0 1\n\r\n"),
    ]:
        table = load_vectors(_write(tmp_path, name, data))
        assert table.index_to_key == ["a", "b"]
        np.testing.assert_array_equal(table.vectors, np.eye(2))


@pytest.mark.parametrize(
    "name, data",
    [
        ("glove.txt", codecs.BOM_UTF8 + b"a 1 0\nb 0 1\n"),
        ("word2vec.txt", codecs.BOM_UTF8 + b"2 2\na 1 0\nb 0 1\n"),
        ("glove.vec.gz", gzip.compress(codecs.BOM_UTF8 + b"a 1 0\nb 0 1\n")),
    ],
    ids=_data_as_dots,
)
def test_utf8_byte_order_mark_is_not_part_of_the_first_word(tmp_path, name, data):
    table = load_vectors(_write(tmp_path, name, data))
    assert table.index_to_key == ["a", "b"]
    assert table.key_to_index == {"a": 0, "b": 1}
    np.testing.assert_array_equal(table.vectors, np.eye(2))


def test_missing_path_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such.txt.*no such vectors file"):
        load_vectors(tmp_path / "no-such.txt")
    with pytest.raises(FileNotFoundError, match="no such vectors file"):
        load_vectors("vectors/glove.txt")


def test_folder_is_not_a_vectors_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_vectors(tmp_path)


@pytest.fixture(scope="module")
def special_file_outcomes(
    tmp_path_factory, small_keyed_vectors, outcomes_of_each_file
) -> dict:
    """Loading a FIFO, and a .kv file whose side array is one, in a subprocess:
    opening a FIFO blocks until something writes to it."""
    folder = tmp_path_factory.mktemp("special")
    os.mkfifo(folder / "fifo.txt")
    small_keyed_vectors.save(str(folder / "table.kv"), sep_limit=0)
    (folder / "table.kv.vectors.npy").unlink()
    os.mkfifo(folder / "table.kv.vectors.npy")
    return _load_each_in_a_subprocess(outcomes_of_each_file, folder, seconds=30)


def test_fifo_is_refused_without_being_opened(special_file_outcomes):
    kind, message = special_file_outcomes["fifo.txt"]
    assert kind == "OSError"
    assert re.search("fifo.txt' is a FIFO .*not a regular file", message)


def test_kv_side_array_that_is_a_fifo_is_refused(special_file_outcomes):
    kind, message = special_file_outcomes["table.kv"]
    assert kind == "OSError"
    assert "table.kv.vectors.npy' is a FIFO" in message


def test_device_is_refused_without_being_read():
    with pytest.raises(OSError, match="'/dev/zero' is a character device"):
        load_vectors("/dev/zero")


def test_bad_vector_file_fails_fit_with_the_same_error(tmp_path):
    from sklearn_factorembed import FactorizedEmbedding

    path = _write(tmp_path, "nan.txt", b"a 1 0\nb nan 0\n")
    with pytest.raises(ValueError, match="nan.txt.*NaN"):
        FactorizedEmbedding(path, rank=1).fit(["a b"])


def test_a_failed_load_is_not_cached(tmp_path):
    path = _write(tmp_path, "table.txt", b"a 1 0\nb nan 0\n")
    with pytest.raises(ValueError, match="NaN"):
        load_vectors(path)
    path.write_bytes(b"a 1 0\nb 0 1\nc 1 1\n")
    assert len(load_vectors(path)) == 3


def _load_in_a_thread(path, seconds=60):
    """load_vectors(path) in a daemon thread: a hang fails the test, not the run."""
    outcome = {}

    def load():
        try:
            outcome["table"] = load_vectors(path)
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"loading {path} hangs"
    return outcome


@pytest.mark.parametrize(
    "keep, message",
    [
        (5_000, "promises 1762 words"),
        # Cut inside the word "aboard" (bytes 20,003-20,008): gensim alone then
        # reads past the end of the file forever.
        (20_005, "ends inside its word list"),
        (100_000, "ends before the 2762 x 10 vectors"),  # they end at 138,997
    ],
)
def test_truncated_fasttext_model_is_a_value_error_not_a_hang(tmp_path, keep, message):
    with open(datapath("lee_fasttext.bin"), "rb") as model:
        data = model.read()
    path = _write(tmp_path, "cut.bin", data[:keep])
    outcome = _load_in_a_thread(path)
    assert isinstance(outcome.get("error"), ValueError)
    assert "cut.bin" in str(outcome["error"]) and message in str(outcome["error"])


def test_line_longer_than_the_limit_is_refused_not_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(_vectors, "_MAX_LINE_BYTES", 64)
    data = gzip.compress(b"a 1 0\nb" + b" 0" * 1_000 + b"\n")
    with pytest.raises(ValueError, match="long.txt.gz.*line 2 is longer than 64"):
        load_vectors(_write(tmp_path, "long.txt.gz", data))


def test_binary_word_longer_than_the_limit_is_refused(tmp_path, monkeypatch):
    # gensim gathers a word chunk by chunk until a space: quadratic time.
    monkeypatch.setattr(_vectors, "_MAX_WORD_BYTES", 8)
    data = _binary_table(tmp_path, words=("a", "supercalifragilistic"))
    with pytest.raises(
        ValueError, match="long.bin.*more than 8 bytes before the space ending the word"
    ):
        load_vectors(_write(tmp_path, "long.bin", data))


def test_fasttext_word_longer_than_the_limit_is_refused(
    tmp_path, monkeypatch, fasttext_model_path
):
    # gensim reads a word byte by byte until its NUL.
    monkeypatch.setattr(_vectors, "_MAX_WORD_BYTES", 2)
    path = _write(tmp_path, "long.bin", fasttext_model_path.read_bytes())
    with pytest.raises(ValueError, match="long.bin.*word 1 is longer than 2 bytes"):
        load_vectors(path)


def test_binary_row_cut_inside_its_vector_is_refused_before_gensim(tmp_path):
    data = _binary_table(tmp_path)[:-1]
    with pytest.raises(
        ValueError, match="cut.bin.*ends inside the vector of row 2 of the 2"
    ):
        load_vectors(_write(tmp_path, "cut.bin", data))


# Offsets in a fastText model of the newer format: the magic number and version,
# then int32 fields from dim (at 8) to bucket (at 40), the double t, then the
# dictionary's sizes (at 64).
_DIM, _BUCKET, _SIZE = 8, 40, 64


def _fasttext_edit(data: bytes, offset: int, value: int, fmt="@i") -> bytes:
    edited = bytearray(data)
    struct.pack_into(fmt, edited, offset, value)
    return bytes(edited)


def _fasttext_matrix_offset(data: bytes) -> int:
    """Where the input matrix's ``rows columns`` header starts."""
    n_words, n_buckets = struct.unpack_from("@i", data, _SIZE)[0], 1000
    return data.index(struct.pack("@2q", n_words + n_buckets, 8))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda data: _fasttext_edit(data, _DIM, 9), "its vectors have 8 values where"),
        (
            lambda data: _fasttext_edit(data, _BUCKET, 999),
            "holds 1009 vectors where its 9 words and 999 buckets need 1008",
        ),
        (lambda data: _fasttext_edit(data, _DIM, 0), "gives 0 values a vector"),
        (
            lambda data: _fasttext_edit(
                data, _fasttext_matrix_offset(data) - 1, 1, "@?"
            ),
            r"its vectors are quantized \(a .ftz model\)",
        ),
        (
            lambda data: data[:-4],
            "ends before the 9 x 8 output weights it promises",
        ),
    ],
)
def test_fasttext_model_inconsistent_with_its_header_is_refused(
    tmp_path, fasttext_model_path, edit, message
):
    path = _write(tmp_path, "model.bin", edit(fasttext_model_path.read_bytes()))
    with pytest.raises(ValueError, match=f"model.bin.*{message}"):
        load_vectors(path)


# -- crafted and truncated files, each loaded in a limited subprocess ----------------

_LOAD_EACH = """
import json, resource, sys
from pathlib import Path

# A crafted header that made the loader allocate what it promises raises
# MemoryError here, as it would exhaust a machine.
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from sklearn_factorembed import load_vectors

for path in sorted(Path(sys.argv[1]).iterdir()):
    try:
        table = load_vectors(path)
    except Exception as error:
        outcome = [type(error).__name__, str(error)]
    else:
        outcome = ["loaded", table.index_to_key, table.vectors.tolist()]
    print(json.dumps([path.name, outcome]), flush=True)
"""


def _load_each_in_a_subprocess(outcomes_of_each_file, folder, seconds=60) -> dict:
    """Load every file in ``folder`` in a fresh Python limited to 1.5 GB of address
    space: file name -> [exception name, message] or ["loaded", words, vectors],
    ["hangs", ...] for the file being loaded after ``seconds``, and ["not
    loaded", ...] for those after it."""
    outcomes = outcomes_of_each_file(_LOAD_EACH, folder, seconds)
    return collections.defaultdict(
        lambda: ["not loaded", "the subprocess hung before it"], outcomes
    )


_BILLION = 1_000_000_000


def _crafted_files(fasttext_model: bytes) -> dict[str, bytes]:
    """Small files whose headers promise about a billion rows, values or words."""
    matrix = _fasttext_matrix_offset(fasttext_model)
    n_vectors = struct.unpack_from("@q", fasttext_model, matrix)[0]
    many_buckets = _fasttext_edit(fasttext_model, _BUCKET, 2 * _BILLION)
    wide_vectors = _fasttext_edit(fasttext_model, _DIM, _BILLION)
    return {
        "rows.bin": b"1000000000 3\na " + bytes(12),
        "values.bin": b"1 1000000000\na " + bytes(12),
        "rows.txt": b"1000000000 3\na 1 0 0\n",
        "values.txt": b"1 1000000000\na 1 0 0\n",
        "words.bin": _fasttext_edit(fasttext_model, _SIZE, _BILLION),
        "buckets.bin": _fasttext_edit(
            many_buckets, matrix, n_vectors - 1000 + 2 * _BILLION, "@q"
        ),
        "dims.bin": _fasttext_edit(wide_vectors, matrix + 8, _BILLION, "@q"),
        # Pickle opcodes that make the unpickler allocate their length first.
        "bytes.kv": b"\x80\x04B" + struct.pack("<I", 4 * _BILLION) + b"abc",
        "frame.kv": b"\x80\x04\x95" + struct.pack("<Q", 10 * _BILLION) + b"abc",
    }


@pytest.fixture(scope="module")
def crafted_outcomes(
    tmp_path_factory, fasttext_model_path, outcomes_of_each_file
) -> dict:
    folder = tmp_path_factory.mktemp("crafted")
    for name, data in _crafted_files(fasttext_model_path.read_bytes()).items():
        for suffix, compress in _COMPRESS.items():
            (folder / f"{name}{suffix}").write_bytes(compress(data))
    return _load_each_in_a_subprocess(outcomes_of_each_file, folder)


@pytest.mark.parametrize("suffix", list(_COMPRESS))
@pytest.mark.parametrize(
    "name, message",
    [
        ("rows.bin", "promises 1000000000 rows of 3 values"),
        ("values.bin", "promises 1 rows of 1000000000 values"),
        ("rows.txt", "promises 1000000000 rows but the file holds 1"),
        ("values.txt", "line 2 holds 3 values after its word where the header"),
        ("words.bin", "its header promises 1000000000 words"),
        ("buckets.bin", "ends before the 2000000009 x 8 vectors"),
        ("dims.bin", "ends before the 1009 x 1000000000 vectors"),
        ("bytes.kv", "UnpicklingError: unpickling it ran out of memory"),
        ("frame.kv", "UnpicklingError: unpickling it ran out of memory"),
    ],
)
def test_header_promising_more_than_the_file_holds_is_refused_not_allocated(
    crafted_outcomes, name, suffix, message
):
    kind, text = crafted_outcomes[name + suffix]
    assert kind == "ValueError", text
    assert f"{name}{suffix}'" in text and message in text


def _truncatable_files(folder, fasttext_model_path) -> dict[str, tuple]:
    """One small file of each format, as bytes, with the words and vectors it holds."""
    from gensim.models.fasttext import load_facebook_vectors

    words = ["the", "cat", "sat", "on", "mat"]
    # One-digit values: a text file cut inside a value loses the whole value.
    vectors = np.random.default_rng(0).integers(0, 10, (5, 3)).astype(np.float32)
    table = KeyedVectors(vector_size=3)
    table.add_vectors(words, vectors)
    table.save_word2vec_format(str(folder / "table.bin"), binary=True)
    table.save(str(folder / "table.kv"))
    rows = b"".join(
        f"{word} {' '.join(str(int(value)) for value in row)}\n".encode()
        for word, row in zip(words, vectors, strict=True)
    )
    fasttext = load_facebook_vectors(str(fasttext_model_path))
    return {
        "word2vec.txt": (b"5 3\n" + rows, words, vectors),
        "glove.txt": (rows, words, vectors),
        "word2vec.bin": ((folder / "table.bin").read_bytes(), words, vectors),
        "gensim.kv": ((folder / "table.kv").read_bytes(), words, vectors),
        "fasttext.bin": (
            fasttext_model_path.read_bytes(),
            fasttext.index_to_key,
            fasttext.vectors,
        ),
    }


def _cuts(size: int, n_cuts: int) -> list[int]:
    """Lengths to cut a file of ``size`` bytes to, densest over its header."""
    step = max(1, size // n_cuts)
    return sorted({*range(0, min(size, 96), 5), *range(0, size, step), size - 1})


@pytest.fixture(scope="module")
def truncations(
    tmp_path_factory, fasttext_model_path, outcomes_of_each_file
) -> tuple[dict, dict]:
    """The outcome of loading every cut of every format, compressed or not: the
    file cut then compressed, and (name with a z) the compressed file cut."""
    sources = _truncatable_files(tmp_path_factory.mktemp("whole"), fasttext_model_path)
    folder = tmp_path_factory.mktemp("cut")
    for fmt, (data, _, _) in sources.items():
        stem, ext = fmt.split(".")
        for suffix, compress in _COMPRESS.items():
            for keep in _cuts(len(data), 24):
                name = f"{stem}-{keep:06d}.{ext}{suffix}"
                (folder / name).write_bytes(compress(data[:keep]))
            if suffix:
                compressed = compress(data)
                for keep in _cuts(len(compressed), 12):
                    name = f"{stem}-z{keep:06d}.{ext}{suffix}"
                    (folder / name).write_bytes(compressed[:keep])
    tables = {fmt: (words, vectors) for fmt, (_, words, vectors) in sources.items()}
    return _load_each_in_a_subprocess(outcomes_of_each_file, folder), tables


@pytest.mark.parametrize("suffix", list(_COMPRESS))
@pytest.mark.parametrize(
    "fmt", ["word2vec.txt", "glove.txt", "word2vec.bin", "fasttext.bin", "gensim.kv"]
)
def test_every_truncation_is_a_value_error_or_the_rows_it_keeps(
    truncations, fmt, suffix
):
    outcomes, tables = truncations
    words, vectors = tables[fmt]
    stem, ext = fmt.split(".")
    names = [
        name
        for name in outcomes
        if name.startswith(f"{stem}-") and name.endswith(f".{ext}{suffix}")
    ]
    assert len(names) >= 20
    for name in names:
        kind, *details = outcomes[name]
        if kind == "loaded" and ext == "txt":
            # A text file cut at the end of a row is a smaller table, and a GloVe
            # file cut after a value of its first row, a narrower one.
            kept_words, kept_vectors = details
            kept_vectors = np.array(kept_vectors, dtype=np.float32)
            assert kept_words == words[: len(kept_words)], name
            np.testing.assert_array_equal(
                kept_vectors, vectors[: len(kept_words), : kept_vectors.shape[1]], name
            )
        else:
            assert kind == "ValueError" and f"{name}'" in details[0], (kind, details)


class _Exploit:
    """Unpickles into a call of ``open(marker, "w")``: code run by a file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_kv_file_that_would_run_code_is_refused(tmp_path, small_keyed_vectors):
    import pickle

    marker = tmp_path / "code-was-run"
    table = KeyedVectors(vector_size=12)
    table.add_vectors(["w1", "w2"], small_keyed_vectors.vectors[:2])
    table.payload = _Exploit(marker)
    path = tmp_path / "table.kv"
    path.write_bytes(pickle.dumps(table))
    with pytest.raises(ValueError, match="table.kv.*refers to io.open.*refused"):
        load_vectors(path)
    assert not marker.exists()


def test_kv_files_with_side_arrays_and_fasttext_vectors_load(tmp_path):
    from gensim.models.fasttext import load_facebook_vectors

    fasttext = load_facebook_vectors(datapath("lee_fasttext.bin"))
    fasttext.save(str(tmp_path / "fasttext.kv"), sep_limit=0)  # arrays in .npy files
    assert len(list(tmp_path.glob("fasttext.kv.*.npy"))) > 0
    table = load_vectors(tmp_path / "fasttext.kv")
    assert isinstance(table.vectors, np.memmap)
    assert table.index_to_key == fasttext.index_to_key
    np.testing.assert_array_equal(table.vectors, fasttext.vectors)


def test_kv_file_of_an_old_gensim_version_loads_as_gensim_loads_it(tmp_path):
    import shutil

    # Pickled by gensim 3.2 (Python 2 era): other class names, bytes as codecs.
    path = tmp_path / "old.kv"
    shutil.copy(datapath("old_keyedvectors_320.dat"), path)
    expected = KeyedVectors.load(datapath("old_keyedvectors_320.dat"))
    table = load_vectors(path)
    assert table.index_to_key == expected.index_to_key
    np.testing.assert_array_equal(table.vectors, expected.vectors)


def _set(attribute, value):
    return lambda table: setattr(table, attribute, value)


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set("vectors", None), "its vectors are None, not a 2-d array of floats"),
        (_set("vectors", [[1.0, 0.0, 0.0]]), "its vectors are a list"),
        (_set("vectors", np.zeros(6)), r"vectors are an array of shape \(6,\)"),
        (
            _set("vectors", np.eye(2, 3, dtype=np.int64)),
            "an array of shape \\(2, 3\\) and dtype int64, not a 2-d array of floats",
        ),
        (_set("index_to_key", 2), "its index_to_key is an int, not a list of words"),
        (
            lambda table: table.index_to_key.__setitem__(1, 7),
            "its index_to_key holds an int at row 1",
        ),
        (
            _set("index_to_key", ["a", "b", "c"]),
            r"3 words in its index_to_key but vectors of shape \(2, 3\)",
        ),
        (_set("key_to_index", ["a", "b"]), "its key_to_index is a list, not a dict"),
        (
            _set("key_to_index", {"a": 0, "b": 5}),
            "its key_to_index maps 'b' to 5, not to its row 1",
        ),
        (
            _set("key_to_index", {"a": 1, "b": 0}),
            "its key_to_index maps 'a' to 1, not to its row 0",
        ),
        (_set("key_to_index", {"a": 0}), "maps 'b' to None, not to its row 1"),
        (_set("key_to_index", {"a": 0, "b": "1"}), "maps 'b' to '1', not to its row"),
        (_set("key_to_index", {"a": 0, "b": True}), "maps 'b' to True, not to its"),
        (
            _set("key_to_index", {"a": 0, "b": 1, "c": 2}),
            "its key_to_index holds 3 words where its index_to_key holds 2",
        ),
        (
            _set("index_to_key", ["a", "a"]),
            "its key_to_index maps 'a' to 0, not to its row 1",
        ),
        (_set("vector_size", 5), "its vector_size is 5 but its vectors hold 3 values"),
    ],
)
def test_ill_formed_kv_file_is_a_value_error_naming_it(tmp_path, edit, message):
    table = KeyedVectors(vector_size=3)
    table.add_vectors(["a", "b"], np.eye(2, 3))
    edit(table)
    path = _write(tmp_path, "table.kv", pickle.dumps(table))
    with pytest.raises(ValueError, match=f"table.kv' is malformed: .*{message}"):
        load_vectors(path)


@pytest.mark.parametrize(
    "edit",
    [
        lambda vocabulary: vocabulary.__setitem__("c", 2),
        lambda vocabulary: vocabulary.__delitem__("a"),
        lambda vocabulary: vocabulary.update(c=2),
        lambda vocabulary: vocabulary.setdefault("c", 2),
        lambda vocabulary: vocabulary.pop("a"),
        lambda vocabulary: vocabulary.popitem(),
        lambda vocabulary: vocabulary.clear(),
        lambda vocabulary: vocabulary.__ior__({"c": 2}),
    ],
)
def test_vocabulary_refuses_every_edit(edit):
    vocabulary = _vectors.Vocabulary({"a": 0, "b": 1})
    with pytest.raises(TypeError, match=r"read-only.*dict\(vocabulary\)"):
        edit(vocabulary)
    assert vocabulary == {"a": 0, "b": 1}


def test_vocabulary_reads_pickles_and_copies_like_a_dict():
    import copy
    import pickle

    vocabulary = _vectors.Vocabulary({"a": 0, "b": 1})
    assert isinstance(vocabulary, dict)
    assert vocabulary["b"] == 1 and vocabulary.get("c", -1) == -1
    assert "a" in vocabulary and "c" not in vocabulary
    assert list(vocabulary) == ["a", "b"] and len(vocabulary) == 2
    for restored in (
        pickle.loads(pickle.dumps(vocabulary)),
        copy.copy(vocabulary),
        copy.deepcopy(vocabulary),
    ):
        assert type(restored) is _vectors.Vocabulary
        assert list(restored.items()) == [("a", 0), ("b", 1)]
    editable = dict(vocabulary)
    editable["c"] = 2
    assert "c" not in vocabulary


def test_whole_table_vocabulary_is_built_once_per_table(small_table_path):
    vocabulary = _vectors.load_table(small_table_path).vocabulary
    assert vocabulary is _vectors.load_table(small_table_path).vocabulary
    assert vocabulary == load_vectors(small_table_path).key_to_index


def test_whole_table_vocabulary_of_keyed_vectors_is_a_copy(small_keyed_vectors):
    vocabulary = _vectors.load_table(small_keyed_vectors).vocabulary
    assert vocabulary == small_keyed_vectors.key_to_index
    assert vocabulary is not small_keyed_vectors.key_to_index
    assert vocabulary is not _vectors.load_table(small_keyed_vectors).vocabulary


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.text(), unique=True, max_size=30))
def test_any_words_pack_and_unpack_to_the_same_vocabulary(words):
    vocabulary = _vectors.Vocabulary.of_words(words)
    restored = _vectors.Vocabulary.from_packed(*vocabulary.packed())
    assert list(restored.items()) == list(vocabulary.items())


def test_vocabulary_packs_into_two_arrays_and_back():
    words = ["the", "café", "naïve", "", "日本", "\udcff"]  # a lone surrogate too
    vocabulary = _vectors.Vocabulary.of_words(words)
    data, offsets = vocabulary.packed()
    assert data.dtype == np.uint8 and offsets.dtype == np.int64
    assert len(offsets) == len(words) + 1
    restored = _vectors.Vocabulary.from_packed(data, offsets)
    assert type(restored) is _vectors.Vocabulary
    assert list(restored.items()) == list(vocabulary.items())
    with pytest.raises(ValueError, match="rows 0 .. n-1 in order"):
        _vectors.Vocabulary({"a": 1, "b": 0}).packed()


@pytest.mark.parametrize(
    "data, offsets, message",
    [
        (np.frombuffer(b"ab", np.uint8), np.array([0, 1, 2], np.int32), "int64"),
        (np.array([97.0]), np.array([0, 1]), "uint8"),
        (np.frombuffer(b"ab", np.uint8), np.array([[0, 1, 2]]), "1-d"),
        (np.frombuffer(b"ab", np.uint8), np.array([], np.int64), "rise from 0"),
        (np.frombuffer(b"ab", np.uint8), np.array([1, 2]), "rise from 0"),
        (np.frombuffer(b"ab", np.uint8), np.array([0, 3]), "rise from 0 to the 2"),
        (np.frombuffer(b"ab", np.uint8), np.array([0, 2, 1, 2]), "rise from 0"),
        (np.frombuffer(b"a\xff", np.uint8), np.array([0, 1, 2]), "not UTF-8"),
        (np.frombuffer(b"xyxy", np.uint8), np.array([0, 2, 4]), "'xy' twice"),
    ],
)
def test_vocabulary_refuses_packed_arrays_it_cannot_have_made(data, offsets, message):
    with pytest.raises(ValueError, match=f"vocabulary_.*{message}|{message}"):
        _vectors.Vocabulary.from_packed(data, offsets, name="vocabulary_")
