"""model2vec folders: exported ones load in model2vec and encode as transform
does; word-level ones, hostile ones included, read as tables."""

from __future__ import annotations

import json
import os
import re
import sys
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_factorembed import FactorizedEmbedding, load_vectors
from sklearn_factorembed._model2vec import (
    MODEL_FILE,
    TOKENIZER_FILE,
    _tokenizer,
    oniguruma_pattern,
)
from sklearn_factorembed._text import DEFAULT_TOKEN_PATTERN, build_analyzer

model2vec = pytest.importorskip("model2vec")
safetensors_numpy = pytest.importorskip("safetensors.numpy")
tokenizers = pytest.importorskip("tokenizers")

SKLEARN_PATTERN = r"(?u)\b\w\w+\b"  # CountVectorizer's default

# Pieces of text where Python's re and Oniguruma disagree unless the pattern is
# translated: word characters of one engine only (combining marks, ², Ⅻ, ‿),
# white space of one only (\x1c, \x85), one-character words, punctuation,
# clitics, final and medial sigmas, and characters that lower-case to two.
FRAGMENTS = [
    *"aAbBxZ_019 \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000",
    *",.;:!?'’-—()[]",
    *"é\u0301\u0903कि\u093f²½Ⅻ٣‿\u200dßİΣσςΑΩ",
    "n't",
    "'s",
    "co-writer",
    "1.8",
    "ΟΔΟΣ",
    "Σ'",
]
texts = st.lists(st.sampled_from(FRAGMENTS), max_size=24).map("".join)

PATTERNS = [
    DEFAULT_TOKEN_PATTERN,
    SKLEARN_PATTERN,
    r"\S+",
    r"(?a)\w+",
    r"[^\W\d_]+|\d+",
    r"^\w+|\w+$",
    r"(?m)^\w+|\w+$",
    r"\A\w|\w\Z",
    r"\w{2,3}?|\W",
    r"(?s).",
    r".",
    r"(?<=\s)\w+|\B\w",
    r"(?<!')[^\s\d]+",
    r"a(?a:\w+)\b",
]
if sys.version_info >= (3, 11):  # atomic groups and possessive repeats
    PATTERNS += [r"(?>\w+)'|\w++", r"[\w']{1,2}+"]


def _pre_tokenizer(token_pattern: str):
    analyzer = build_analyzer(lowercase=False, token_pattern=token_pattern)
    return _tokenizer(["x"], analyzer).pre_tokenizer


@pytest.mark.parametrize("token_pattern", PATTERNS)
@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_pre_tokenizer_splits_text_as_findall(token_pattern, text):
    pieces = _pre_tokenizer(token_pattern).pre_tokenize_str(text)
    assert [piece for piece, _ in pieces] == re.findall(token_pattern, text)


@pytest.mark.parametrize(
    "token_pattern, problem",
    [
        (r"(?i)film", "case-insensitive"),
        (r"a(?i:b)", "case-insensitive"),
        (r"(\w+)'s", "capturing group"),
        (r"(?P<word>\w+)", "capturing group"),
        (r"\w*", "empty string"),
        (r"a|", "empty string"),
        (r"(?=a)", "empty string"),
    ],
)
def test_patterns_no_pre_tokenizer_can_follow_are_refused(token_pattern, problem):
    with pytest.raises(ValueError, match=f"cannot be written.*{problem}"):
        oniguruma_pattern(token_pattern)


@settings(max_examples=300, deadline=None)
@given(text=texts)
def test_normalizer_lower_cases_as_str_lower(text):
    normalizer = _tokenizer(["x"], build_analyzer()).normalizer
    assert normalizer.normalize_str(text) == text.lower()


def test_normalizer_lower_cases_every_assigned_character_as_python():
    """Character by character, over every code point Python's Unicode database
    assigns; one that it does not is no word character to Python's re either."""
    normalizer = _tokenizer(["x"], build_analyzer()).normalizer
    characters = [
        chr(code) for code in range(1, 0x110000) if not 0xD800 <= code < 0xE000
    ]
    lowered = normalizer.normalize_str("\x00".join(characters)).split("\x00")
    assert len(lowered) == len(characters)
    differ = [
        character
        for character, lower in zip(characters, lowered, strict=True)
        if lower != character.lower()
    ]
    assert all(unicodedata.category(character) == "Cn" for character in differ)


# -- exported folders, loaded by model2vec ----------------------------------------

WORDS = [
    *"abx,.!;:-'",
    "is",
    "n't",
    "'s",
    "film",
    "co-writer",
    "1.8",
    "good",
    "οδος",
    "σοφός",
    "café",
    "naïve",
    "straße",
    "don",
    "it",
    "the",
]
SEPARATORS = [" ", "  ", "\n", "\t", ", ", "! ", "... ", " — ", "\x85", "\u3000"]


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> str:
    keyed_vectors = KeyedVectors(vector_size=6)
    rng = np.random.default_rng(0)
    keyed_vectors.add_vectors(WORDS, rng.normal(size=(len(WORDS), 6)))
    path = tmp_path_factory.mktemp("table") / "table.txt"
    keyed_vectors.save_word2vec_format(str(path))
    return str(path)


def _export(embedding, folder, space="codes"):
    embedding.export(folder, format="model2vec", space=space)
    return model2vec.StaticModel.from_pretrained(folder)


@pytest.fixture(
    scope="module",
    params=[
        {},
        {"token_pattern": SKLEARN_PATTERN},
        {"lowercase": False},
        {"quantization": "int8"},
    ],
    ids=["default", "sklearn-pattern", "cased", "int8"],
)
def exported(request, table_path, tmp_path_factory):
    """A mean-pooling model keeping every word of the table, and the model2vec
    model of its export."""
    embedding = FactorizedEmbedding(
        table_path, rank=4, pooling="mean", vocabulary="all", **request.param
    ).fit()
    folder = tmp_path_factory.mktemp("exported") / "model2vec"
    return embedding, _export(embedding, folder)


def _variants(word: str) -> list[str]:
    return [word, word.upper(), word.title()]


documents = st.lists(
    st.tuples(
        st.sampled_from([variant for word in WORDS for variant in _variants(word)]),
        st.sampled_from(SEPARATORS),
    ),
    min_size=1,
    max_size=30,
).map(lambda pieces: "".join(word + separator for word, separator in pieces))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(documents, min_size=1, max_size=8))
def test_encode_of_the_export_is_transform(exported, batch):
    embedding, static_model = exported
    with warnings.catch_warnings():
        # Without lowercase, an upper-cased word is unknown: a document may
        # have no known word, which both encode as zeros.
        warnings.simplefilter("ignore", UserWarning)
        expected = embedding.transform(batch)
    np.testing.assert_allclose(
        static_model.encode(batch), expected, rtol=1e-5, atol=1e-6
    )


def test_example_documents_encode_as_transform(table_path, tmp_path):
    embedding = FactorizedEmbedding(table_path, rank=4, pooling="mean")
    documents = [
        "It isn't the co-writer's good film, a 1.8: x!",
        "ΟΔΟΣ ΣΟΦΌΣ Café NAÏVE STRASSE straße don't",
        "film film film a a b",
    ]
    embedding.fit(documents)
    static_model = _export(embedding, tmp_path / "model2vec")
    np.testing.assert_allclose(
        static_model.encode(documents), embedding.transform(documents), atol=1e-6
    )
    assert (np.abs(embedding.transform(documents)).max(axis=1) > 0).all()


def test_export_of_table_words_encodes_words_the_fit_documents_lacked(
    table_path, tmp_path
):
    embedding = FactorizedEmbedding(table_path, rank=4, pooling="mean")
    embedding.fit(["a good film", "is it good"])
    documents = ["the café film", "naïve, don't", "the"]
    assert not set(" ".join(documents).split()) <= set(embedding.vocabulary_)
    embedding.export(tmp_path / "model2vec", format="model2vec", words=WORDS)
    static_model = model2vec.StaticModel.from_pretrained(tmp_path / "model2vec")
    np.testing.assert_allclose(
        static_model.encode(documents), embedding.transform(documents), atol=1e-6
    )


def test_long_documents_are_not_truncated(exported):
    embedding, static_model = exported
    # Truncated at model2vec's default of 512 tokens, it would be "film" alone.
    document = " ".join(["film"] * 2000 + ["good"] * 2000)
    # model2vec sums 4,000 float32 rows in float32, hence the tolerance.
    np.testing.assert_allclose(
        static_model.encode([document]), embedding.transform([document]), atol=1e-4
    )


def test_a_document_without_a_known_word_encodes_as_zeros(exported):
    embedding, static_model = exported
    with pytest.warns(UserWarning):
        expected = embedding.transform(["", "zzz qqq"])
    np.testing.assert_array_equal(static_model.encode(["", "zzz qqq"]), expected)


def test_reconstructed_export_encodes_the_reconstructed_mean(table_path, tmp_path):
    embedding = FactorizedEmbedding(
        table_path, rank=3, pooling="mean", vocabulary="all"
    ).fit()
    static_model = _export(embedding, tmp_path / "model2vec", space="reconstructed")
    documents = ["a good film", "It isn't, is it?"]
    np.testing.assert_allclose(
        static_model.encode(documents),
        embedding.inverse_transform(embedding.transform(documents)),
        atol=1e-5,
    )


def test_a_word_spelled_like_the_unknown_token_keeps_its_vector(tmp_path):
    words = ["[UNK]", "[[UNK]]", "film"]
    keyed_vectors = KeyedVectors(vector_size=3)
    keyed_vectors.add_vectors(words, np.arange(9.0).reshape(3, 3) ** 2)
    embedding = FactorizedEmbedding(
        keyed_vectors,
        rank=2,
        pooling="mean",
        vocabulary="all",
        postprocess=None,
        lowercase=False,
        token_pattern=r"\S+",
    ).fit()
    static_model = _export(embedding, tmp_path / "model2vec")
    documents = ["[UNK]", "[[UNK]] film", "film [UNK] [[UNK]]"]
    np.testing.assert_allclose(
        static_model.encode(documents), embedding.transform(documents), atol=1e-6
    )


def test_a_tokenizer_callable_cannot_be_exported(table_path, tmp_path):
    embedding = FactorizedEmbedding(
        table_path, rank=2, vocabulary="all", tokenizer=str.split
    ).fit()
    with pytest.raises(ValueError, match="tokenizer callable"):
        embedding.export(tmp_path / "model2vec", format="model2vec", words=WORDS)
    assert list(tmp_path.iterdir()) == []


def test_a_refused_pattern_writes_nothing(table_path, tmp_path):
    embedding = FactorizedEmbedding(
        table_path, rank=2, vocabulary="all", token_pattern=r"(?i)\w+"
    ).fit()
    with pytest.raises(ValueError, match="case-insensitive"):
        embedding.export(tmp_path / "model2vec", format="model2vec", words=WORDS)
    assert list(tmp_path.iterdir()) == []


# -- writing the folder -----------------------------------------------------------


@pytest.fixture
def small_model(table_path):
    return FactorizedEmbedding(table_path, rank=3, vocabulary="all").fit()


def test_an_earlier_export_is_replaced(small_model, table_path, tmp_path):
    folder = tmp_path / "model2vec"
    small_model.export(folder, format="model2vec")
    larger = FactorizedEmbedding(table_path, rank=5, vocabulary="all").fit()
    assert _export(larger, folder).dim == 5
    assert list(tmp_path.iterdir()) == [folder]


def test_a_file_is_not_replaced_by_a_folder(small_model, tmp_path):
    target = tmp_path / "model2vec"
    target.write_text("a file")
    with pytest.raises(NotADirectoryError, match="it is a regular file"):
        small_model.export(target, format="model2vec")
    assert target.read_text() == "a file"


def test_a_folder_holding_other_files_is_not_replaced(small_model, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OSError, match="holds 'notes.txt'"):
        small_model.export(tmp_path, format="model2vec")
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]


# -- reading a folder as a table ---------------------------------------------------


def test_an_export_reads_back_as_the_table_of_its_codes(small_model, tmp_path):
    small_model.export(tmp_path / "model2vec", format="model2vec")
    table = load_vectors(tmp_path / "model2vec")
    assert table.index_to_key == list(small_model.vocabulary_)
    np.testing.assert_array_equal(table.vectors, small_model.embedding_)


def test_a_folder_rewritten_is_read_again(small_model, table_path, tmp_path):
    folder = tmp_path / "model2vec"
    small_model.export(folder, format="model2vec")
    assert load_vectors(folder).vector_size == 3
    larger = FactorizedEmbedding(table_path, rank=5, vocabulary="all").fit()
    larger.export(folder, format="model2vec")
    assert load_vectors(folder).vector_size == 5


def test_a_loaded_model_finds_its_folder_table(small_model, tmp_path):
    folder = tmp_path / "model2vec"
    small_model.export(folder, format="model2vec")
    model = FactorizedEmbedding(
        str(folder), rank=2, vocabulary=["film", "a", "b", "x"], pooling="mean"
    ).fit()
    model.save(tmp_path / "model.npz", extra_words=0)
    restored = FactorizedEmbedding.load(tmp_path / "model.npz")
    # "good" is no fit word: only the folder's table can encode it.
    np.testing.assert_allclose(
        restored.transform(["good"]), model.transform(["good"]), atol=1e-6
    )
    assert np.abs(restored.transform(["good"])).max() > 0


def _word_level(vocabulary: dict[str, int]):
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer


def test_a_word_level_folder_saved_by_model2vec_is_a_table(tmp_path):
    vocabulary = {"film": 0, "[UNK]": 1, "good": 2, "bad": 3}
    vectors = np.arange(12, dtype=np.float32).reshape(4, 3)
    static_model = model2vec.StaticModel(vectors, _word_level(vocabulary))
    static_model.save_pretrained(tmp_path / "saved")

    table = load_vectors(tmp_path / "saved")
    assert table.index_to_key == ["film", "good", "bad"]  # "[UNK]" is no word
    np.testing.assert_array_equal(table.vectors, vectors[[0, 2, 3]])
    np.testing.assert_array_equal(table["good"], static_model.encode(["good zzz"])[0])


def _folder(path: Path, matrix, tokenizer=None, tensors=None) -> Path:
    path.mkdir()
    tensors = {"embeddings": matrix, **(tensors or {})}
    safetensors_numpy.save_file(tensors, str(path / MODEL_FILE))
    tokenizer = tokenizer or _word_level({"a": 0, "b": 1, "c": 2})
    tokenizer.save(str(path / TOKENIZER_FILE))
    return path


def test_a_subword_folder_is_refused(tmp_path):
    from tokenizers import Tokenizer
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece({"[UNK]": 0, "film": 1, "##s": 2}))
    folder = _folder(tmp_path / "m", np.eye(3, dtype=np.float32), tokenizer)
    with pytest.raises(ValueError, match="WordPiece.*only word-level"):
        load_vectors(folder)


def _edit_vocabulary(folder: Path, vocabulary: dict) -> None:
    path = folder / TOKENIZER_FILE
    tokenizer = json.loads(path.read_text())
    tokenizer["model"]["vocab"] = vocabulary
    path.write_text(json.dumps(tokenizer))


def _truncate(path: Path, n_bytes: int) -> None:
    path.write_bytes(path.read_bytes()[:-n_bytes])


HOSTILE = {
    "rows beyond the vocabulary": (
        lambda path: _folder(path, np.eye(4, dtype=np.float32)),
        r"shape \(4, 4\), where the 3 tokens",
    ),
    "a 1-d matrix": (
        lambda path: _folder(path, np.ones(3, dtype=np.float32)),
        r"shape \(3,\)",
    ),
    "int32 values": (
        lambda path: _folder(path, np.eye(3, dtype=np.int32)),
        "holds I32 values",
    ),
    "a truncated matrix": (
        lambda path: _truncate(
            _folder(path, np.eye(3, dtype=np.float32)) / MODEL_FILE, 5
        ),
        "model.safetensors' is malformed",
    ),
    "a header promising exabytes": (
        lambda path: (
            _folder(path, np.eye(3, dtype=np.float32)) / MODEL_FILE
        ).write_bytes((1 << 60).to_bytes(8, "little") + b"{}"),
        "model.safetensors' is malformed",
    ),
    "a vocabulary-quantized model": (
        lambda path: _folder(
            path,
            np.eye(3, dtype=np.float32),
            tensors={"mapping": np.zeros(3, dtype=np.int64)},
        ),
        "'mapping'.*not support",
    ),
    "two tokens of one id": (
        lambda path: _edit_vocabulary(
            _folder(path, np.eye(3, dtype=np.float32)), {"a": 0, "b": 2, "c": 2}
        ),
        "ids of its 3 tokens are not 0 to 2",
    ),
    "an id beyond the rows": (
        lambda path: _edit_vocabulary(
            _folder(path, np.eye(3, dtype=np.float32)), {"a": 0, "b": 1, "c": 7}
        ),
        "ids of its 3 tokens are not 0 to 2",
    ),
    "a tokenizer that is not JSON": (
        lambda path: (
            _folder(path, np.eye(3, dtype=np.float32)) / TOKENIZER_FILE
        ).write_text("{not json"),
        "tokenizer.json' is not a tokenizers file",
    ),
    "NaN in the matrix": (
        lambda path: _folder(path, np.full((3, 3), np.nan, dtype=np.float32)),
        "NaN or infinite",
    ),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_folder_is_a_value_error_naming_it(case, tmp_path):
    make, message = HOSTILE[case]
    make(tmp_path / "m")
    with pytest.raises(ValueError, match=message) as raised:
        load_vectors(tmp_path / "m")
    assert str(tmp_path / "m") in str(raised.value)


def test_a_folder_without_a_tokenizer_is_no_table(tmp_path):
    folder = _folder(tmp_path / "m", np.eye(3, dtype=np.float32))
    (folder / TOKENIZER_FILE).unlink()
    with pytest.raises(IsADirectoryError, match="not a model2vec folder.*tokenizer"):
        load_vectors(folder)


def test_an_oversized_tokenizer_is_refused_unread(tmp_path, monkeypatch):
    from sklearn_factorembed import _model2vec

    folder = _folder(tmp_path / "m", np.eye(3, dtype=np.float32))
    monkeypatch.setattr(_model2vec, "_MAX_TOKENIZER_BYTES", 100)
    with pytest.raises(ValueError, match="more than the 100 bytes"):
        load_vectors(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_the_folder_is_refused_unopened(tmp_path):
    folder = _folder(tmp_path / "m", np.eye(3, dtype=np.float32))
    (folder / TOKENIZER_FILE).unlink()
    os.mkfifo(folder / TOKENIZER_FILE)  # opening it would block
    with pytest.raises(OSError, match="is a FIFO"):
        load_vectors(folder)
