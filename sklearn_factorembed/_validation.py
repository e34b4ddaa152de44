"""The checks a fitted FactorizedEmbedding read from a model file must pass.

A model file's checksum proves only that it was not damaged by accident: a file
written by hand, or edited and its checksum recomputed, passes it. So the
fitted state is checked before it is set (:func:`check_fitted_state`, which
``FactorizedEmbedding.__setstate__`` runs on what ``load``, pickle and skops
hand it; skops files cannot run code, but may be crafted too):
every attribute that ``transform`` and the other methods read is present, of
the expected type, dtype and shape, consistent with the others and with the
parameters, and within the values a fit produces; the vocabulary's words, the
quantized codes' indices and the token pattern are checked too. A model that
passes turns any documents into finite codes, and nothing it holds makes
``transform`` read outside its arrays or run for long.
"""

from __future__ import annotations

import sys
import warnings
from numbers import Integral, Real

import numpy as np

from ._quantize import STORED_ATTRIBUTES
from ._subwords import MAX_BUCKETS, MAX_NGRAM_LENGTH
from ._text import backtracking_hazard, build_analyzer
from ._vectors import Vocabulary, describe, load_table_if_available
from ._words import EXTRA_ATTRIBUTES

# What the methods read; any other fitted attribute may be missing (a file from
# an earlier version), and is checked when present.
REQUIRED = (
    "vocabulary_",
    "components_",
    "mean_",
    "rank_",
    "pooling_weights_",
    "common_component_",
)
# Fitted attributes of scikit-learn's that this estimator never has, and that
# scikit-learn's own methods (get_feature_names_out, set_output) would read.
_FOREIGN = ("n_features_in_", "feature_names_in_")
# Far above any word vector, code or scale (word vectors are below 100 in
# magnitude), and low enough that no pooled sum of codes times weights times
# counts can overflow float32.
MAX_MAGNITUDE = 1e12
# Pooling weights are a / (a + p(w)) >= 1e-3 / 1.001 for the sif poolings and
# log((1 + n_documents) / (1 + df)) + 1, between 1 and about 45, for tfidf. The
# range is far wider, and keeps a weighted mean's denominator a positive float32.
WEIGHT_RANGE = (1e-6, 1e6)
_NORM_TOLERANCE = 1e-3
_MAX_CENTROIDS = 256


class _Attributes:
    """The decoded fitted attributes, with checks that name what is wrong."""

    def __init__(self, attributes: dict):
        self.values = attributes

    def get(self, name: str):
        return self.values.get(name)

    def present(self, name: str) -> bool:
        return name in self.values

    def require(self, name: str) -> None:
        if name not in self.values:
            raise ValueError(f"it has no fitted attribute {name!r}")

    def array(self, name: str, dtype, shape: tuple) -> np.ndarray:
        """The array ``name`` of ``dtype`` and ``shape``; -1 in ``shape`` takes
        any length."""
        value = self.values.get(name)
        if not isinstance(value, np.ndarray):
            raise ValueError(
                f"{name} is {describe(value)}, not an array of dtype {np.dtype(dtype)}"
            )
        if value.dtype != dtype:
            raise ValueError(
                f"{name} has dtype {value.dtype.str}, where {np.dtype(dtype).str} is "
                "expected"
            )
        if len(value.shape) != len(shape) or any(
            expected not in (-1, actual)
            for expected, actual in zip(shape, value.shape, strict=True)
        ):
            expected = tuple("any" if length == -1 else length for length in shape)
            raise ValueError(
                f"{name} has shape {value.shape} where the other fitted attributes "
                f"imply {expected}"
            )
        return value

    def floats(self, name: str, dtype, shape: tuple, *, bound=MAX_MAGNITUDE):
        """A float array whose values are finite and at most ``bound`` in
        magnitude."""
        value = self.array(name, dtype, shape)
        # min and max rather than abs: no temporary the size of the array; NaN
        # propagates through both and fails the comparisons.
        if value.size and not (-bound <= value.min() and value.max() <= bound):
            raise ValueError(
                f"{name} holds NaN, infinite or out-of-range values (fitted "
                f"values are finite and at most {bound:g} in magnitude)"
            )
        return value

    def optional_floats(self, name: str, dtype, shape: tuple, **bounds):
        if self.values.get(name) is None:
            return None
        return self.floats(name, dtype, shape, **bounds)

    def absent(self, name: str, reason: str) -> None:
        if self.values.get(name) is not None:
            raise ValueError(f"it holds {name}, which {reason}")

    def vocabulary(self, name: str) -> Vocabulary:
        value = self.values.get(name)
        if not isinstance(value, Vocabulary):
            raise ValueError(f"{name} is {describe(value)}, not a vocabulary of words")
        # One join in C finds it; see _text._SEPARATOR.
        if "\x00" in "".join(value):
            raise ValueError(
                f"{name} holds a word containing the character '\\x00', which the "
                "tokenizer uses to separate documents"
            )
        return value

    def number(self, name: str, kind: type, low: float, high: float):
        """A scalar of ``kind`` (Integral or Real, never a bool) in [low, high]."""
        value = self.values.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, kind)
            or not low <= value <= high  # False for NaN
        ):
            what = "an int" if kind is Integral else "a finite number"
            raise ValueError(f"{name}={value!r} is not {what} in [{low:g}, {high:g}]")
        return value


def _float_dtype(dtype) -> np.dtype:
    try:
        # np.dtype parses strings with ast and warns of deprecated names.
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            dtype = np.dtype(dtype)
    except (TypeError, ValueError, SyntaxError, Warning):
        dtype = None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"its dtype parameter {dtype!r} is not float32 or float64")
    return dtype


def _check_token_pattern(params: dict) -> None:
    if params.get("tokenizer") is not None:  # a file cannot hold one; be sure
        raise ValueError("it holds a tokenizer, which a model file cannot")
    pattern = params["token_pattern"]
    hazard = backtracking_hazard(pattern)  # before compiling it: see there
    if hazard is not None:
        raise ValueError(
            f"its token_pattern {pattern!r} holds {hazard}, which can make "
            "matching take exponential time or exhaust the stack; a model file "
            "may hold the default pattern or one without a repeat or alternation "
            "inside a repeat, nor a backreference"
        )
    build_analyzer(lowercase=params["lowercase"], token_pattern=pattern)


def _check_codes(
    attributes: _Attributes, params: dict, n_words, rank, dtype, prefix: str = ""
):
    """The word codes: float ``embedding_``, or the stored quantized codes the
    ``quantization`` parameter says (those of the n-gram buckets: the same
    names after ``prefix``, ``n_words`` -1 for any number of rows); return
    their number of rows."""
    quantization = params["quantization"]
    embedding, codebooks_name = prefix + "embedding_", prefix + "codebooks_"
    codes_name = prefix + "quantized_codes_"
    scales, offsets = prefix + "code_scales_", prefix + "code_offsets_"
    if quantization is None:
        attributes.require(embedding)
        for name in STORED_ATTRIBUTES:
            attributes.absent(prefix + name, "only a quantized model has")
        return len(attributes.floats(embedding, dtype, (n_words, rank)))
    attributes.absent(embedding, "a quantized model rebuilds from its quantized codes")
    attributes.require(codes_name)
    if quantization == "int8":
        attributes.absent(codebooks_name, "only quantization='pq' has")
        levels = attributes.array(codes_name, np.int8, (n_words, rank))
        _check_int8_parameters(attributes, scales, offsets, rank)
        return len(levels)
    attributes.absent(scales, "only quantization='int8' has")
    attributes.absent(offsets, "only quantization='int8' has")
    indices = attributes.array(codes_name, np.uint8, (n_words, -1))
    n_subvectors = indices.shape[1]
    codebooks = attributes.floats(
        codebooks_name,
        np.float16,
        (n_subvectors, -1, -1),
        bound=float(np.finfo(np.float16).max),
    )
    n_centroids, width = codebooks.shape[1:]
    if n_subvectors * width != rank or n_subvectors == 0:
        raise ValueError(
            f"{codebooks_name} of shape {codebooks.shape} do not split rank_={rank} "
            f"into {n_subvectors} groups"
        )
    if params["pq_subvectors"] not in (None, n_subvectors):
        raise ValueError(
            f"its pq_subvectors={params['pq_subvectors']} but {codes_name} "
            f"has {n_subvectors} groups"
        )
    if not 1 <= n_centroids <= _MAX_CENTROIDS:
        raise ValueError(
            f"{codebooks_name} hold {n_centroids} centroids per group, not 1 to "
            f"{_MAX_CENTROIDS}"
        )
    if indices.size and int(indices.max()) >= n_centroids:
        raise ValueError(
            f"{codes_name} index centroid {int(indices.max())} but the "
            f"{codebooks_name} hold {n_centroids} per group"
        )
    return len(indices)


def _check_subword_codes(attributes: _Attributes, params: dict, rank, dtype) -> None:
    """The codes of a fastText model's n-gram buckets and their n-gram
    lengths: all of them, or none."""
    names = ("ngram_embedding_", "min_n_", "max_n_") + tuple(
        "ngram_" + name for name in STORED_ATTRIBUTES
    )
    if all(attributes.get(name) is None for name in names):
        return
    min_n = attributes.number("min_n_", Integral, 1, MAX_NGRAM_LENGTH)
    attributes.number("max_n_", Integral, min_n, MAX_NGRAM_LENGTH)
    n_buckets = _check_codes(attributes, params, -1, rank, dtype, prefix="ngram_")
    if not 1 <= n_buckets <= MAX_BUCKETS:
        raise ValueError(
            f"ngram_embedding_ holds {n_buckets} buckets, not 1 to {MAX_BUCKETS}"
        )


def _check_int8_parameters(attributes: _Attributes, scales, offsets, rank) -> None:
    values = attributes.floats(scales, np.float32, (rank,))
    attributes.floats(offsets, np.float32, (rank,))
    if values.size and values.min() < 0:
        raise ValueError(f"{scales} holds negative steps")


def _check_extra_words(attributes: _Attributes, rank: int) -> None:
    """The codes of extra words save stored: all four attributes, or none."""
    given = [name for name in EXTRA_ATTRIBUTES if attributes.get(name) is not None]
    if not given:
        return
    if len(given) < len(EXTRA_ATTRIBUTES):
        missing = sorted(set(EXTRA_ATTRIBUTES) - set(given))
        raise ValueError(f"it holds {given[0]} but not {', '.join(missing)}")
    n_extra = len(attributes.vocabulary("extra_vocabulary_"))
    attributes.array("extra_codes_", np.int8, (n_extra, rank))
    _check_int8_parameters(
        attributes, "extra_code_scales_", "extra_code_offsets_", rank
    )


def _check_weights(attributes: _Attributes, n_words: int, dtype) -> None:
    low, high = WEIGHT_RANGE
    weights = attributes.optional_floats("pooling_weights_", dtype, (n_words,))
    if weights is not None and weights.size and not low <= weights.min():
        raise ValueError(
            f"pooling_weights_ hold {weights.min():g}, where pooling weights are "
            f"in [{low:g}, {high:g}]"
        )
    if weights is not None and weights.size and not weights.max() <= high:
        raise ValueError(
            f"pooling_weights_ hold {weights.max():g}, where pooling weights are "
            f"in [{low:g}, {high:g}]"
        )
    if attributes.get("unseen_weight_") is not None:
        attributes.number("unseen_weight_", Real, low, high)


def _check_descriptions(attributes: _Attributes, rank, n_dims, dtype) -> None:
    """What describes the fit without being used by the methods, when present."""
    for name in ("singular_values_", "explained_variance_ratio_"):
        attributes.optional_floats(name, dtype, (rank,))
    attributes.optional_floats("removed_directions_", dtype, (-1, n_dims))
    for name in ("reconstruction_error_", "compression_ratio_", "bytes_per_word_"):
        if attributes.present(name):
            attributes.number(name, Real, -MAX_MAGNITUDE, MAX_MAGNITUDE)
    if attributes.present("n_parameters_"):
        attributes.number("n_parameters_", Integral, 0, np.iinfo(np.int64).max)


def _check_table(vectors, n_dims: int) -> None:
    """The table the model names, if it is at hand: ``transform`` encodes its
    words with ``components_``, so its vectors must have their length."""
    try:
        table = load_table_if_available(vectors)
    except (ValueError, OSError) as error:
        raise ValueError(
            f"its table {str(vectors)!r} does not load ({error})"
        ) from None
    if table is not None and table.vectors.shape[1] != n_dims:
        raise ValueError(
            f"its table {str(vectors)!r} holds vectors of {table.vectors.shape[1]} "
            f"dimensions, but components_ have {n_dims}"
        )


def check_fitted_state(embedding, attributes: dict) -> None:
    """Check the fitted ``attributes`` read from a model file for ``embedding``
    (built from the file's parameters, already validated).

    Raises
    ------
    ValueError
        Saying which attribute or parameter is wrong and what was expected.
    """
    params = embedding.get_params(deep=False)
    dtype = _float_dtype(params["dtype"])
    _check_token_pattern(params)
    if params["batch_size"] > sys.maxsize:  # what islice takes
        raise ValueError(f"its batch_size={params['batch_size']} is not an index")
    attributes = _Attributes(attributes)
    for name in REQUIRED:
        attributes.require(name)
    for name in _FOREIGN:
        attributes.absent(name, f"a {type(embedding).__name__} does not have")
    n_words = len(attributes.vocabulary("vocabulary_"))
    if n_words == 0:
        raise ValueError("its vocabulary_ is empty")
    rank = attributes.number("rank_", Integral, 1, np.iinfo(np.int32).max)
    components = attributes.floats("components_", dtype, (rank, -1))
    n_dims = components.shape[1]
    if rank > n_dims:
        raise ValueError(f"rank_={rank} exceeds the {n_dims} dimensions of components_")
    attributes.floats("mean_", dtype, (n_dims,))
    _check_codes(attributes, params, n_words, rank, dtype)
    _check_weights(attributes, n_words, dtype)
    common = attributes.optional_floats("common_component_", dtype, (rank,))
    if common is not None and np.linalg.norm(common) > 1 + _NORM_TOLERANCE:
        raise ValueError(
            f"common_component_ has norm {np.linalg.norm(common):g}, where it is a "
            "unit direction"
        )
    _check_extra_words(attributes, rank)
    _check_subword_codes(attributes, params, rank, dtype)
    _check_descriptions(attributes, rank, n_dims, dtype)
    _check_table(params["vectors"], n_dims)
