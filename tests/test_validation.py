"""Model files whose checksum holds but whose contents a fit cannot produce:
crafted by hand in each test (the checksum recomputed, so that the checks and
not the checksum are what is tested), and refused at load with a ValueError
naming the file."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import sklearn_factorembed
from sklearn_factorembed import FactorizedEmbedding, _persistence
from sklearn_factorembed._text import DEFAULT_TOKEN_PATTERN
from sklearn_factorembed._validation import REQUIRED

MODELS = {
    "default": {"rank": 4},
    "tfidf": {"rank": 3, "pooling": "tfidf"},
    "sif": {"rank": 4, "pooling": "sif"},
    "int8": {"rank": 4, "quantization": "int8", "dtype": np.float64},
    "pq": {"rank": 4, "quantization": "pq", "pq_subvectors": 2, "random_state": 0},
    "mean": {"rank": 2, "pooling": "mean", "postprocess": None},
}


def read_model_file(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The metadata and arrays of a model file, as plain JSON and ndarrays."""
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    with np.load(path, allow_pickle=False) as archive:
        arrays = {
            name: archive[name] for name in archive.files if name != "metadata.json"
        }
    return metadata, arrays


def write_model_file(path, metadata: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write a model file as save does, with the checksum of what it holds."""
    metadata = {key: value for key, value in metadata.items() if key != "sha256"}
    metadata["sha256"] = _persistence._checksum(metadata, arrays)
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
        archive.writestr(
            "metadata.json", json.dumps(metadata), compress_type=zipfile.ZIP_DEFLATED
        )
    return Path(path)


def set_array(metadata: dict, arrays: dict, name: str, array) -> None:
    """Store ``array`` as the attribute ``name``, described as save describes it."""
    array = np.asarray(array)
    arrays[name] = array
    metadata["attributes"][name] = {
        "kind": "array",
        "dtype": array.dtype.str,
        "shape": list(array.shape),
    }


def set_value(metadata: dict, arrays: dict, name: str, value) -> None:
    """Store ``value`` as the JSON attribute ``name`` (no array)."""
    arrays.pop(name, None)
    metadata["attributes"][name] = {"kind": "json", "value": value}


@pytest.fixture(scope="module")
def model_files(small_table_path, small_corpus, tmp_path_factory) -> dict[str, tuple]:
    """Each of MODELS fitted on the small corpus and saved (with extra words),
    as its metadata and arrays."""
    folder = tmp_path_factory.mktemp("models")
    files = {}
    for name, params in MODELS.items():
        embedding = FactorizedEmbedding(small_table_path, **params).fit(small_corpus)
        embedding.save(folder / f"{name}.npz")
        files[name] = read_model_file(folder / f"{name}.npz")
    return files


def crafted(model_files, tmp_path, name="default", edit=None) -> Path:
    metadata, arrays = copy.deepcopy(model_files[name])
    if edit is not None:
        edit(metadata, arrays)
    return write_model_file(tmp_path / "crafted.npz", metadata, arrays)


def assert_refused(path, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        FactorizedEmbedding.load(path)
    text = str(raised.value)
    assert text.startswith(f"cannot load the model file {str(path)!r}: "), text
    assert message in text, text


def assert_array_edit_refused(model_files, tmp_path, model, name, array, message):
    """The ``model`` file with its array ``name`` replaced by ``array(it)`` is
    refused with ``message``."""

    def edit(metadata, arrays):
        set_array(metadata, arrays, name, array(arrays[name]))

    assert_refused(crafted(model_files, tmp_path, model, edit), message)


def test_unchanged_files_load(model_files, tmp_path, small_corpus):
    for name in MODELS:
        loaded = FactorizedEmbedding.load(crafted(model_files, tmp_path, name))
        assert np.isfinite(loaded.transform(small_corpus)).all()


# -- the vocabulary --------------------------------------------------------------------


def _words(edit):
    def apply(metadata, arrays):
        edit(metadata["attributes"]["vocabulary_"]["words"])

    return apply


@pytest.mark.parametrize(
    "edit, message",
    [
        # More words than codes: a word's row would be past the end of them.
        (_words(lambda words: words.append("beyond")), "embedding_ has shape"),
        (_words(lambda words: words.pop()), "embedding_ has shape"),
        (_words(lambda words: words.__setitem__(1, words[0])), "duplicate words"),
        (_words(lambda words: words.__setitem__(3, "w1\x00w2")), "'\\x00'"),
        (_words(lambda words: words.__setitem__(3, 7)), "not a list of words"),
        (
            lambda metadata, arrays: set_value(
                metadata, arrays, "vocabulary_", {"w1": 0, "w2": 1}
            ),
            "vocabulary_ is a dict, not a vocabulary",
        ),
    ],
)
def test_vocabulary_must_match_the_codes_word_for_word(
    model_files, tmp_path, edit, message
):
    assert_refused(crafted(model_files, tmp_path, edit=edit), message)


def test_extra_vocabulary_must_match_its_codes(model_files, tmp_path):
    def edit(metadata, arrays):
        metadata["attributes"]["extra_vocabulary_"]["words"].append("beyond")

    assert_refused(crafted(model_files, tmp_path, edit=edit), "extra_codes_ has shape")


def test_extra_vocabulary_word_with_the_separator_is_refused(model_files, tmp_path):
    def edit(metadata, arrays):
        metadata["attributes"]["extra_vocabulary_"]["words"][0] = "\x00"

    assert_refused(crafted(model_files, tmp_path, edit=edit), "extra_vocabulary_")


# -- quantized codes -------------------------------------------------------------------


def test_product_codes_pointing_past_the_codebooks_are_refused(model_files, tmp_path):
    def edit(metadata, arrays):
        set_array(metadata, arrays, "codebooks_", arrays["codebooks_"][:, :200])
        indices = arrays["quantized_codes_"].copy()
        indices[5, 1] = 250
        set_array(metadata, arrays, "quantized_codes_", indices)

    path = crafted(model_files, tmp_path, "pq", edit)
    assert_refused(
        path, "quantized_codes_ index centroid 250 but the codebooks_ hold 200"
    )


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("quantized_codes_", lambda a: a.astype(np.int16) + 300, "dtype <i2"),
        ("quantized_codes_", lambda a: a[:, :1], "codebooks_ has shape (2, 256, 2)"),
        ("codebooks_", lambda a: np.resize(a, (2, 256, 3)), "do not split rank_=4"),
        ("codebooks_", lambda a: a.astype(np.float32), "dtype <f4"),
        ("codebooks_", lambda a: np.full_like(a, np.inf), "infinite"),
    ],
)
def test_product_codes_of_another_dtype_or_shape_are_refused(
    model_files, tmp_path, name, array, message
):
    assert_array_edit_refused(model_files, tmp_path, "pq", name, array, message)


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("code_scales_", lambda a: a[:3], "code_scales_ has shape (3,)"),
        (
            "code_offsets_",
            lambda a: np.append(a, a[:1]),
            "code_offsets_ has shape (5,)",
        ),
        ("code_scales_", lambda a: -a, "negative steps"),
        ("quantized_codes_", lambda a: a.astype(np.uint8), "dtype |u1"),
        ("extra_code_scales_", lambda a: a[:2], "extra_code_scales_ has shape (2,)"),
    ],
)
def test_int8_codes_must_have_a_scale_and_offset_per_column(
    model_files, tmp_path, name, array, message
):
    assert_array_edit_refused(model_files, tmp_path, "int8", name, array, message)


@pytest.mark.parametrize(
    "model, quantization, message",
    [
        ("default", "int8", "it holds embedding_, which a quantized model rebuilds"),
        ("int8", None, "no fitted attribute 'embedding_'"),
        ("int8", "pq", "it holds code_scales_, which only quantization='int8' has"),
        ("pq", "int8", "it holds codebooks_, which only quantization='pq' has"),
    ],
)
def test_codes_must_be_stored_as_the_quantization_parameter_says(
    model_files, tmp_path, model, quantization, message
):
    def edit(metadata, arrays):
        metadata["params"]["quantization"]["value"] = quantization

    assert_refused(crafted(model_files, tmp_path, model, edit), message)


# -- dtypes, values, shapes ------------------------------------------------------------


@pytest.mark.parametrize(
    "name, array, message",
    [
        ("embedding_", lambda a: np.where(a > 0, np.nan, a), "NaN"),
        ("mean_", lambda a: a + np.inf, "infinite"),
        ("components_", lambda a: a * 1e30, "out-of-range"),
        ("embedding_", lambda a: a.astype(np.complex64), "dtype <c8"),
        ("embedding_", lambda a: a.astype(np.int64), "dtype <i8"),
        ("embedding_", lambda a: a.astype(np.float64), "dtype <f8, where <f4"),
        ("embedding_", lambda a: a.astype(">f4"), "dtype >f4"),
        ("components_", lambda a: a.astype(str), "dtype <U"),
        ("pooling_weights_", lambda a: -a, "pooling weights are in"),
        ("pooling_weights_", lambda a: a * 0, "pooling weights are in"),
        ("pooling_weights_", lambda a: a * 1e10, "pooling weights are in"),
        ("common_component_", lambda a: a * 5, "norm"),
        ("components_", lambda a: a[:3], "components_ has shape (3, 12)"),
        ("mean_", lambda a: a[:11], "mean_ has shape (11,)"),
        ("singular_values_", lambda a: a[:, None], "singular_values_ has shape"),
        ("removed_directions_", lambda a: a[:, :5], "removed_directions_ has shape"),
        ("embedding_", lambda a: a[:, :3], "embedding_ has shape"),
    ],
)
def test_fitted_arrays_must_be_finite_floats_of_the_saved_dtype_and_shape(
    model_files, tmp_path, name, array, message
):
    assert_array_edit_refused(model_files, tmp_path, "sif", name, array, message)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("rank_", 4.0, "rank_=4.0 is not an int"),
        ("rank_", True, "rank_=True is not an int"),
        ("rank_", "4", "rank_='4' is not an int"),
        ("rank_", 0, "rank_=0 is not an int in [1,"),
        ("rank_", 3, "components_ has shape (4, 12) where the other fitted"),
        ("unseen_weight_", float("nan"), "unseen_weight_=nan is not a finite number"),
        ("unseen_weight_", 1e300, "unseen_weight_=1e+300"),
        ("unseen_weight_", False, "unseen_weight_=False"),
        ("reconstruction_error_", "small", "reconstruction_error_='small'"),
        ("n_parameters_", 1.5, "n_parameters_=1.5 is not an int"),
        ("embedding_", [[1.0, 2.0]], "embedding_ is a list, not an array"),
        ("pooling_weights_", 1.0, "pooling_weights_ is a float, not an array"),
        ("n_features_in_", 300, "n_features_in_, which a FactorizedEmbedding"),
    ],
)
def test_fitted_values_must_have_the_type_and_range_a_fit_gives(
    model_files, tmp_path, name, value, message
):
    def edit(metadata, arrays):
        set_value(metadata, arrays, name, value)

    assert_refused(crafted(model_files, tmp_path, "sif", edit), message)


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_fitted_attribute_is_named(model_files, tmp_path, name):
    def edit(metadata, arrays):
        del metadata["attributes"][name]
        arrays.pop(name, None)

    assert_refused(
        crafted(model_files, tmp_path, edit=edit),
        f"it has no fitted attribute {name!r}",
    )


def test_extra_words_are_all_four_attributes_or_none(model_files, tmp_path):
    def edit(metadata, arrays):
        set_value(metadata, arrays, "extra_code_offsets_", None)

    path = crafted(model_files, tmp_path, edit=edit)
    assert_refused(path, "it holds extra_vocabulary_ but not extra_code_offsets_")


@pytest.fixture(scope="module")
def fasttext_files(fasttext_path, tmp_path_factory) -> dict[str, tuple]:
    """Models of the small fastText model, with n-gram codes, saved."""
    folder = tmp_path_factory.mktemp("fasttext-models")
    files = {}
    for quantization in (None, "int8", "pq"):
        embedding = FactorizedEmbedding(
            fasttext_path, rank=4, vocabulary=100, quantization=quantization
        ).fit()
        embedding.save(folder / f"{quantization}.npz", extra_words=0)
        files[quantization] = read_model_file(folder / f"{quantization}.npz")
    return files


def test_unchanged_fasttext_files_load(fasttext_files, tmp_path):
    for quantization in fasttext_files:
        loaded = FactorizedEmbedding.load(
            crafted(fasttext_files, tmp_path, quantization)
        )
        assert loaded.transform_words(["kalomiqq"]).any()


@pytest.mark.parametrize(
    "min_n, max_n, message",
    [
        (7, 6, "max_n_=6 is not an int in [7, 64]"),
        (-1, 6, "min_n_=-1 is not an int in [1, 64]"),
        (3, 1000, "max_n_=1000 is not an int in [3, 64]"),
        (3, None, "max_n_=None is not an int"),
        (3.0, 6, "min_n_=3.0 is not an int"),
    ],
)
def test_ngram_lengths_must_be_those_of_a_fasttext_model(
    fasttext_files, tmp_path, min_n, max_n, message
):
    def edit(metadata, arrays):
        set_value(metadata, arrays, "min_n_", min_n)
        set_value(metadata, arrays, "max_n_", max_n)

    assert_refused(crafted(fasttext_files, tmp_path, None, edit), message)


def test_ngram_lengths_without_ngram_codes_are_refused(fasttext_files, tmp_path):
    def edit(metadata, arrays):
        set_value(metadata, arrays, "ngram_embedding_", None)

    path = crafted(fasttext_files, tmp_path, None, edit)
    assert_refused(path, "ngram_embedding_ is None, not an array")


@pytest.mark.parametrize(
    "codes, message",
    [
        (np.zeros((10, 3), np.float32), "ngram_embedding_ has shape (10, 3)"),
        (np.zeros((0, 4), np.float32), "holds 0 buckets, not 1 to"),
        (np.full((10, 4), np.nan, np.float32), "ngram_embedding_ holds NaN"),
        (np.zeros((10, 4), np.float64), "ngram_embedding_ has dtype <f8"),
    ],
)
def test_ngram_codes_must_be_finite_rows_of_rank_(
    fasttext_files, tmp_path, codes, message
):
    def edit(metadata, arrays):
        set_array(metadata, arrays, "ngram_embedding_", codes)

    assert_refused(crafted(fasttext_files, tmp_path, None, edit), message)


def test_quantized_ngram_codes_are_checked_as_word_codes_are(fasttext_files, tmp_path):
    def past_the_codebooks(metadata, arrays):
        codebooks = arrays["ngram_codebooks_"][:, :2]
        set_array(metadata, arrays, "ngram_codebooks_", codebooks)

    def float_codes_too(metadata, arrays):
        set_array(metadata, arrays, "ngram_embedding_", np.zeros((10, 4), np.float32))

    path = crafted(fasttext_files, tmp_path, "pq", past_the_codebooks)
    assert_refused(path, "but the ngram_codebooks_ hold 2 per group")
    path = crafted(fasttext_files, tmp_path, "int8", float_codes_too)
    assert_refused(path, "it holds ngram_embedding_, which a quantized model rebuilds")


@pytest.mark.parametrize(
    "dtype, message",
    [("float16", "dtype parameter dtype('float16')"), ("int8", "dtype('int8')")],
)
def test_dtype_parameter_must_be_float32_or_float64(
    model_files, tmp_path, dtype, message
):
    def edit(metadata, arrays):
        metadata["params"]["dtype"] = {"kind": "dtype", "value": dtype}

    assert_refused(crafted(model_files, tmp_path, edit=edit), message)


def test_table_of_another_vector_size_is_refused(model_files, tmp_path):
    table = KeyedVectors(vector_size=5)
    table.add_vectors(["w1", "w2"], np.ones((2, 5)))
    table.save_word2vec_format(str(tmp_path / "narrow.txt"))

    def edit(metadata, arrays):
        metadata["params"]["vectors"]["value"] = str(tmp_path / "narrow.txt")

    path = crafted(model_files, tmp_path, edit=edit)
    assert_refused(path, "narrow.txt' holds vectors of 5 dimensions, but components_")


def test_table_that_does_not_load_is_named(model_files, tmp_path):
    (tmp_path / "broken.txt").write_text("w1 1 2\nw2 3\n")

    def edit(metadata, arrays):
        metadata["params"]["vectors"]["value"] = str(tmp_path / "broken.txt")

    assert_refused(
        crafted(model_files, tmp_path, edit=edit), "broken.txt' does not load"
    )


def test_model_without_its_table_loads_and_uses_its_extra_words(
    model_files, tmp_path, small_corpus
):
    def edit(metadata, arrays):
        metadata["params"]["vectors"]["value"] = str(tmp_path / "gone.txt")

    loaded = FactorizedEmbedding.load(crafted(model_files, tmp_path, edit=edit))
    assert np.isfinite(loaded.transform(["w250 w299", *small_corpus])).all()
    assert loaded.transform_words(["w250"]).any()  # an extra word, not in the fit


# -- token patterns --------------------------------------------------------------------


def _with_pattern(pattern):
    def edit(metadata, arrays):
        metadata["params"]["token_pattern"]["value"] = pattern

    return edit


@pytest.mark.parametrize(
    "pattern, hazard",
    [
        (r"(?:a+)+b", "a repeat inside a repeat"),
        (r"(\w+\s?)*$", "a repeat inside a repeat"),
        (r"(?:a|a)+b", "an alternation inside a repeat"),
        (r"(\w)\1", "a backreference"),
        ("(?:" * 500 + "a" + ")" * 500, "groups nested more than 100 deep"),
    ],
)
def test_token_pattern_that_can_backtrack_exponentially_is_refused(
    model_files, tmp_path, pattern, hazard
):
    path = crafted(model_files, tmp_path, edit=_with_pattern(pattern))
    with pytest.raises(ValueError) as raised:
        FactorizedEmbedding.load(path)
    assert str(raised.value).startswith(f"cannot load the model file {str(path)!r}")
    assert f"its token_pattern {pattern!r} holds {hazard}" in str(raised.value)


@pytest.mark.parametrize(
    "pattern, message",
    [("(", "not a valid regular expression"), (r"(\w)(\w)", "2 capturing groups")],
)
def test_token_pattern_fit_would_refuse_is_refused(
    model_files, tmp_path, pattern, message
):
    assert_refused(crafted(model_files, tmp_path, edit=_with_pattern(pattern)), message)


@pytest.mark.filterwarnings("ignore:.*have no word this model can encode")
@pytest.mark.parametrize(
    "pattern", [r"\w+", r"[^\W\d_]+|\d+", r"(?:\w|-)+", r"\b\w\w+\b"]
)
def test_token_pattern_without_nested_repeats_loads(model_files, tmp_path, pattern):
    loaded = FactorizedEmbedding.load(
        crafted(model_files, tmp_path, edit=_with_pattern(pattern))
    )
    assert loaded.token_pattern == pattern
    assert np.isfinite(loaded.transform(["w1 w2", "w3-w4"])).all()


_LOAD_AND_TRANSFORM = """
import sys
from sklearn_factorembed import FactorizedEmbedding

try:
    embedding = FactorizedEmbedding.load(sys.argv[1])
except ValueError as error:
    print("refused:", error)
else:
    embedding.transform(["a" * 32])
    print("transformed")
"""


def test_hanging_token_pattern_is_refused_before_transform_can_hang(
    model_files, tmp_path
):
    # (?:a+)+b made transform(["a" * 32]) run for over a minute: in a
    # subprocess, so that a regression fails here rather than hang the suite.
    path = crafted(model_files, tmp_path, edit=_with_pattern(r"(?:a+)+b"))
    root = str(Path(sklearn_factorembed.__file__).parents[1])
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_TRANSFORM, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("refused:")
    assert "repeat inside a repeat" in result.stdout


def test_default_pattern_is_accepted_as_it_is(model_files):
    metadata, _ = model_files["default"]
    assert metadata["params"]["token_pattern"]["value"] == DEFAULT_TOKEN_PATTERN


# -- any mutation: a ValueError naming the file, or a model giving finite codes --------

VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.sampled_from([2**40, 10**20, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(
        [
            "float16",
            "int8",
            "float64",
            "float32",
            "tfidf",
            "sif",
            "max",
            "pq",
            "glove-6b-50d",
            "<self>",
            "(?:a+)+b",
            r"\w+",
            "(a)(b)",
            "[",
            "",
        ]
    ),
    st.lists(st.integers(-2, 5), max_size=3),
    st.dictionaries(
        st.sampled_from(["kind", "value", "words"]), st.integers(), max_size=2
    ),
)
ARRAY_DTYPES = st.sampled_from(
    ["<f2", "<f4", "<f8", ">f4", "|i1", "|u1", "<i2", "<i8", "|b1", "<c8", "<U2"]
)
DOCUMENTS = st.lists(
    st.lists(
        st.one_of(
            st.sampled_from([f"w{i}" for i in range(300)] + ["W1", "a", "w1-w2"]),
            st.text(max_size=6),
        ),
        max_size=12,
    ).map(" ".join),
    min_size=1,
    max_size=8,
)


# Values a parameter can take that a fit would accept, so that mutated models
# load often enough to be transformed.
FIT_VALUES = {
    "pooling": ["mean", "sum", "max", "tfidf", "sif", "sif-weighted"],
    "lowercase": [True, False],
    "batch_size": [1, 2, 10**9],
    "vectors": ["<gone>", "<self>"],
    "token_pattern": [r"\w+", r"[^\W\d_]+|\d+", r"(\w)\w*", ""],
    "quantization": [None, "int8", "pq"],
    "pq_subvectors": [None, 1, 2, 4],
    "dtype": ["float32", "float64"],
    "rank": [1, 4, 0.5],
    "supervised": [True, False],
}


def _mutate_param(data, metadata, arrays, path):
    params = metadata["params"]
    if not isinstance(params, dict) or not params:  # replaced by _mutate_metadata
        return
    name = data.draw(st.sampled_from(sorted(params)), label="param")
    value = data.draw(
        st.one_of(VALUES, st.sampled_from(FIT_VALUES.get(name, [None]))), label="value"
    )
    if value == "<self>":
        value = str(path)
    elif value == "<gone>":
        value = str(path.parent / "gone.txt")
    if data.draw(st.booleans(), label="as dtype entry") and isinstance(value, str):
        params[name] = {"kind": "dtype", "value": value}
    else:
        params[name] = {"kind": "json", "value": value}


def _mutate_metadata(data, metadata, arrays, path):
    key = data.draw(st.sampled_from(["format", "version", "estimator", "params"]))
    metadata[key] = data.draw(st.one_of(VALUES, st.just(metadata[key])), label=key)


def _mutate_value(data, metadata, arrays, path):
    name = data.draw(st.sampled_from(sorted(metadata["attributes"])), label="attribute")
    if data.draw(st.booleans(), label="drop"):
        del metadata["attributes"][name]
        arrays.pop(name, None)
    else:
        set_value(metadata, arrays, name, data.draw(VALUES, label="value"))


def _array_name(data, arrays) -> str:
    return data.draw(st.sampled_from(sorted(arrays)), label="array")


def _mutate_shape(data, metadata, arrays, path):
    name = _array_name(data, arrays)
    shape = list(arrays[name].shape)
    change = data.draw(st.sampled_from(["resize", "add", "drop"]), label="change")
    if change == "resize" and shape:
        axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
        shape[axis] = data.draw(
            st.sampled_from([0, 1, shape[axis] - 1, shape[axis] + 1, 2 * shape[axis]]),
            label="length",
        )
    elif change == "add":
        shape.insert(
            data.draw(st.integers(0, len(shape))), data.draw(st.integers(1, 3))
        )
    elif shape:
        shape.pop(data.draw(st.integers(0, len(shape) - 1), label="axis"))
    set_array(
        metadata, arrays, name, np.resize(arrays[name], [max(0, n) for n in shape])
    )


def _mutate_dtype(data, metadata, arrays, path):
    name = _array_name(data, arrays)
    dtype = np.dtype(data.draw(ARRAY_DTYPES, label="dtype"))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # complex to real, say
        try:
            converted = arrays[name].astype(dtype)
        except (ValueError, TypeError, OverflowError):  # strings, say
            return
    set_array(metadata, arrays, name, converted)


def _mutate_entries(data, metadata, arrays, path):
    """Index arrays (quantized codes, extra codes) and float values: some
    entries set to any value of their dtype, or of a wider one."""
    name = _array_name(data, arrays)
    array = arrays[name].copy()
    if not array.size:
        return
    if array.dtype.kind in "iu" and data.draw(st.booleans(), label="widen"):
        array = array.astype(np.int16)
    if array.dtype.kind in "iu":
        info = np.iinfo(array.dtype)
        values = st.integers(int(info.min), int(info.max))
    elif array.dtype.kind == "f":
        values = st.sampled_from(
            [np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0, 1e-30, 5.0]
        )
    else:
        return
    for _ in range(data.draw(st.integers(1, 3), label="entries")):
        position = data.draw(st.integers(0, array.size - 1), label="position")
        entry = data.draw(values, label="entry")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array.flat[position] = entry
    set_array(metadata, arrays, name, array)


def _mutate_words(data, metadata, arrays, path):
    vocabularies = [
        name
        for name, entry in metadata["attributes"].items()
        if entry.get("kind") == "vocabulary"
    ]
    if not vocabularies:
        return
    words = metadata["attributes"][data.draw(st.sampled_from(vocabularies))]["words"]
    if not words:
        return
    change = data.draw(
        st.sampled_from(["duplicate", "separator", "drop", "add", "int"])
    )
    position = data.draw(st.integers(0, len(words) - 1), label="position")
    if change == "duplicate":
        words[position] = words[-1 - position]
    elif change == "separator":
        words[position] = f"{words[position]}\x00"
    elif change == "drop":
        del words[position]
    elif change == "add":
        words.append(data.draw(st.text(max_size=5), label="word"))
    else:
        words[position] = position


def _mutate_entry(data, metadata, arrays, path):
    """An array's description changed, not the array."""
    name = _array_name(data, arrays)
    entry = metadata["attributes"][name]
    key = data.draw(st.sampled_from(["shape", "dtype", "kind"]))
    entry[key] = data.draw(
        st.one_of(st.just(["<f4"]), st.lists(st.integers(0, 5), max_size=3), VALUES)
    )


MUTATIONS = [
    _mutate_param,
    _mutate_metadata,
    _mutate_value,
    _mutate_shape,
    _mutate_dtype,
    _mutate_entries,
    _mutate_words,
    _mutate_entry,
]


@pytest.mark.filterwarnings("ignore:.*have no word this model can encode")
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_mutation_loads_to_finite_codes_or_is_a_value_error_naming_the_file(
    model_files, tmp_path, data
):
    """Metadata values, array shapes, dtypes and entries (index arrays
    included), words: load refuses the file or returns a model that turns
    random documents into finite codes; nothing else, ever (warnings are
    errors too). ``--hypothesis-show-statistics`` shows how many loaded."""
    name = data.draw(st.sampled_from(sorted(MODELS)), label="model")
    metadata, arrays = copy.deepcopy(model_files[name])
    path = tmp_path / "mutated.npz"
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutate = data.draw(st.sampled_from(MUTATIONS), label="mutation")
        mutate(data, metadata, arrays, path)
    write_model_file(path, metadata, arrays)
    try:
        loaded = FactorizedEmbedding.load(path)
    except ValueError as error:
        assert str(error).startswith(f"cannot load the model file {str(path)!r}: ")
        event("refused")
        return
    event("loaded")
    documents = data.draw(DOCUMENTS, label="documents")
    codes = loaded.transform(documents)
    assert codes.shape == (len(documents), loaded.rank_)
    assert np.isfinite(codes).all()
