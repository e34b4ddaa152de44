"""FactorizedEmbedding's own behaviour: transform and pooling, tokenization, batches
and streams, input validation, partial_fit, and the scikit-learn API. What a fit
computes is in test_fit.py."""

from __future__ import annotations

import pickle
import tracemalloc
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gensim.models import KeyedVectors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_factorembed import FactorizedEmbedding, load_vectors

# -- transform and pooling -----------------------------------------------------


def _manual_codes(embedding, document):
    return np.array(
        [
            embedding.embedding_[embedding.vocabulary_[t]]
            for t in document.split()
            if t in embedding.vocabulary_
        ]
    )


@pytest.mark.parametrize(
    "pooling, reduce", [("mean", np.mean), ("sum", np.sum), ("max", np.max)]
)
def test_pooling_reduces_the_codes_of_the_known_tokens(
    core, small_table_path, small_corpus, pooling, reduce
):
    embedding = core(small_table_path, rank=4, pooling=pooling).fit(small_corpus)
    documents = ["w1 w2 w2 unknown", "w9 w3", "w0", "w5"]
    expected = np.array(
        [reduce(_manual_codes(embedding, d), axis=0) for d in documents]
    )
    np.testing.assert_allclose(embedding.transform(documents), expected, rtol=1e-5)


@pytest.mark.parametrize("pooling", ["tfidf", "sif-weighted"])
def test_weighted_pooling_is_the_mean_weighted_by_word_weights_learned_in_fit(
    core, small_table_path, small_corpus, pooling
):
    embedding = core(small_table_path, rank=4, pooling=pooling, dtype=np.float64)
    embedding.fit(small_corpus)
    counts = Counter(token for document in small_corpus for token in document.split())
    document_frequency = Counter(
        token for document in small_corpus for token in set(document.split())
    )
    n_documents, n_tokens = len(small_corpus), sum(counts.values())
    if pooling == "tfidf":  # scikit-learn's smoothed idf
        weights = {
            word: np.log((1 + n_documents) / (1 + document_frequency[word])) + 1
            for word in embedding.vocabulary_
        }
    else:  # smooth inverse frequency, a / (a + p(w))
        weights = {
            word: 1e-3 / (1e-3 + counts[word] / n_tokens)
            for word in embedding.vocabulary_
        }
    np.testing.assert_allclose(
        embedding.pooling_weights_, list(weights.values()), rtol=1e-10
    )
    assert embedding.common_component_ is None
    documents = small_corpus[:5] + ["w1 w2 w2 unknown"]
    for document, code in zip(documents, embedding.transform(documents), strict=True):
        tokens = [token for token in document.split() if token in weights]
        token_weights = np.array([weights[token] for token in tokens])
        expected = (
            token_weights @ embedding.transform_words(tokens) / token_weights.sum()
        )
        np.testing.assert_allclose(code, expected, rtol=1e-10, atol=1e-12)


def test_sif_pooling_removes_the_common_component_learned_in_fit(
    core, small_table_path, small_corpus
):
    embedding = core(small_table_path, rank=4, pooling="sif")
    codes = embedding.fit_transform(small_corpus)
    np.testing.assert_allclose(codes @ embedding.common_component_, 0, atol=1e-5)
    # A document's code does not depend on the batch it is transformed in.
    alone = embedding.transform(small_corpus[:1])
    np.testing.assert_allclose(alone[0], codes[0], rtol=1e-5, atol=1e-6)


def test_empty_and_unknown_documents_give_zero_rows_and_one_warning(fitted):
    with pytest.warns(UserWarning, match="3 of the 4 documents have no word") as caught:
        codes = fitted.transform(["", "zebra unicorn", "   ", "w1"])
    assert len(caught) == 1
    assert np.all(np.isfinite(codes))
    np.testing.assert_array_equal(codes[:3], 0)
    assert np.any(codes[3] != 0)


def test_fit_transform_equals_fit_then_transform(core, small_table_path, small_corpus):
    embedding = core(small_table_path, rank=4)
    np.testing.assert_allclose(
        embedding.fit_transform(small_corpus),
        clone(embedding).fit(small_corpus).transform(small_corpus),
        rtol=1e-6,
    )


def test_inverse_transform_maps_codes_back(core, small_table_path, small_corpus):
    fitted = core(small_table_path, rank=4).fit(small_corpus)
    documents = ["w1 w2", "w3"]
    table = load_vectors(small_table_path)
    reconstruction = fitted.inverse_transform(fitted.transform(documents))
    projected_mean = (
        (table["w1"] + table["w2"]) / 2 - fitted.mean_
    ) @ fitted.components_.T @ fitted.components_ + fitted.mean_
    np.testing.assert_allclose(reconstruction[0], projected_mean, atol=1e-4)
    assert reconstruction.shape == (2, 12)


def test_code_dot_products_equal_reconstruction_dot_products(fitted):
    codes = fitted.embedding_[:20].astype(float)
    centred = fitted.inverse_transform(codes) - fitted.mean_
    np.testing.assert_allclose(codes @ codes.T, centred @ centred.T, atol=1e-4)


@pytest.mark.parametrize(
    "codes, message",
    [
        (np.zeros((2, 3)), "3 columns.*rank_=4"),
        (np.full((1, 4), np.nan), "NaN"),
        (np.full((1, 4), np.inf), "infinity"),
        (np.zeros(4), "Expected 2D array"),
        ([["a", "b", "c", "d"]], "could not convert"),
    ],
    ids=["wrong-width", "nan", "infinite", "one-dimensional", "text"],
)
def test_inverse_transform_rejects_bad_codes(fitted, codes, message):
    with pytest.raises(ValueError, match=message):
        fitted.inverse_transform(codes)


def test_transform_words_returns_word_codes_and_zeros_for_unknown(fitted):
    codes = fitted.transform_words(["w2", "zebra"])
    np.testing.assert_array_equal(codes[0], fitted.embedding_[fitted.vocabulary_["w2"]])
    np.testing.assert_array_equal(codes[1], 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda model: model.transform_words(["w2", 7]),
        lambda model: model.to_keyedvectors(["w2", 7]),
    ],
    ids=["transform_words", "to_keyedvectors"],
)
def test_words_that_are_not_strings_are_named_words(fitted, call):
    # Not "documents": these methods take words.
    with pytest.raises(TypeError, match=r"^words must contain only str values; "
                       r"element 1 is 7 of type int$"):  # fmt: skip
        call(fitted)


def test_to_keyedvectors_holds_the_kept_codes(fitted):
    keyed_vectors = fitted.to_keyedvectors()
    assert keyed_vectors.index_to_key == list(fitted.vocabulary_)
    assert keyed_vectors.vector_size == 4
    np.testing.assert_array_equal(
        keyed_vectors["w5"], fitted.embedding_[fitted.vocabulary_["w5"]]
    )


# -- batches and streams ---------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "max", "tfidf", "sif"])
def test_batched_transform_equals_whole(small_table_path, small_corpus, pooling):
    embedding = FactorizedEmbedding(small_table_path, rank=4, pooling=pooling)
    embedding.fit(small_corpus)
    whole = embedding.transform(small_corpus)
    batched = embedding.set_params(batch_size=7).transform(small_corpus)
    # Rows are pooled independently; only sif's float32 projection on the common
    # component goes through a BLAS product whose blocking depends on the batch.
    np.testing.assert_allclose(batched, whole, rtol=1e-6, atol=1e-6)


def test_transform_consumes_a_generator(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4, batch_size=16)
    embedding.fit(small_corpus)
    streamed = embedding.transform(document for document in small_corpus)
    np.testing.assert_array_equal(streamed, embedding.transform(small_corpus))


def test_transform_of_an_empty_stream_has_no_rows(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    assert embedding.transform(iter([])).shape == (0, 4)


def test_len_that_is_not_the_number_of_documents_changes_nothing(
    small_table_path, small_corpus
):
    class Lying(list):
        def __init__(self, documents, length):
            super().__init__(documents)
            self.length = length

        def __len__(self):
            return self.length

    embedding = FactorizedEmbedding(small_table_path, rank=4, batch_size=16)
    expected = embedding.fit(small_corpus).transform(small_corpus)
    for length in (0, 50, 500):
        np.testing.assert_array_equal(
            embedding.transform(Lying(small_corpus, length)), expected
        )


def _peak_bytes(function) -> tuple[object, int]:
    """``function()`` and the peak of the memory it allocated (tracemalloc
    sees numpy's arrays as well as Python's objects)."""
    tracemalloc.start()
    try:
        result = function()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streamed_transform_peaks_at_the_output_plus_a_batch(tmp_path):
    # Codes wide enough that the output, not the tokens of a batch, dominates.
    rank, n_documents, batch_size = 64, 200_000, 10_000
    table = KeyedVectors(vector_size=rank)
    words = [f"w{i}" for i in range(300)]
    table.add_vectors(words, np.random.default_rng(0).normal(size=(300, rank)))
    table.save_word2vec_format(str(tmp_path / "wide.txt"))
    embedding = FactorizedEmbedding(
        tmp_path / "wide.txt", rank=rank, postprocess=None, batch_size=batch_size
    ).fit([" ".join(words)])

    def documents(n):
        return (f"w{i % 300} w{i * 7 % 300} w{i * 13 % 300}" for i in range(n))

    embedding.transform(documents(10))  # builds what transform keeps
    _, batch = _peak_bytes(lambda: embedding.transform(documents(batch_size)))
    codes, peak = _peak_bytes(lambda: embedding.transform(documents(n_documents)))

    assert codes.shape == (n_documents, rank)
    # Concatenating the batches at the end peaked at twice the output.
    assert codes.nbytes > 3 * batch
    assert peak < codes.nbytes + 3 * batch, (peak, codes.nbytes, batch)


def test_non_str_element_deep_in_a_stream_is_named(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4, batch_size=5)
    embedding.fit(small_corpus)
    stream = iter(small_corpus[:12] + [3.5])
    with pytest.raises(TypeError, match="element 12 is 3.5"):
        embedding.transform(stream)


@pytest.mark.parametrize("pooling", ["tfidf", "sif-weighted"])
def test_fit_in_small_batches_equals_fit_in_one(
    small_table_path, small_corpus, pooling
):
    one = FactorizedEmbedding(small_table_path, rank=4, pooling=pooling)
    one.fit(small_corpus)
    # Counted, and pooled for the documents' directions, 7 documents at a time.
    many = clone(one).set_params(batch_size=7).fit(iter(small_corpus))
    assert many.vocabulary_ == one.vocabulary_
    np.testing.assert_array_equal(many.embedding_, one.embedding_)
    np.testing.assert_array_equal(many.pooling_weights_, one.pooling_weights_)
    np.testing.assert_allclose(
        many.components_.T @ many.components_,
        one.components_.T @ one.components_,
        atol=1e-6,
    )


# -- any text, any thread ----------------------------------------------------------


# Modest example counts keep the suite fast; no deadline, since a shared machine
# makes single examples slow now and then.
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
POOLINGS = ("mean", "sum", "max", "tfidf", "sif")

KNOWN_WORDS = [f"w{i}" for i in range(300)]
ODD_TOKENS = [
    "",
    "😀",
    "👩‍👩‍👧",  # a family emoji: several code points joined by zero-width joiners
    "\x00",
    "\x1b[31m",
    "\u200b",
    "\ud800",  # a lone surrogate, a valid Python str that is not valid UTF-8
    "\r\n",
    "\t",
    "W1",
    "İw1",  # lower-cases to two code points
    "ß",
    "n't",
    "'s",
]
tokens = st.one_of(
    st.sampled_from(KNOWN_WORDS),
    st.sampled_from(ODD_TOKENS),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=12),
    st.text(alphabet="w0123456789", min_size=200, max_size=5000),  # very long
)
separators = st.sampled_from([" ", "", "\n", "\t", "  ", "\u3000", ",", "\x00"])
documents = st.one_of(
    st.tuples(st.lists(tokens, max_size=25), separators).map(
        lambda parts: parts[1].join(parts[0])
    ),
    st.text(alphabet=st.characters(blacklist_categories=())),
    st.just(""),
)
corpora = st.lists(documents, min_size=1, max_size=12)


@pytest.fixture(scope="module")
def fitted_models(small_table_path, small_corpus):
    return {
        pooling: FactorizedEmbedding(small_table_path, rank=4, pooling=pooling).fit(
            small_corpus
        )
        for pooling in POOLINGS
    }


@pytest.mark.filterwarnings("ignore:.*have no word this model can encode")
@pytest.mark.parametrize("pooling", POOLINGS)
@SETTINGS
@given(corpus=corpora)
def test_any_unicode_documents_give_finite_codes_row_by_row(
    fitted_models, pooling, corpus
):
    embedding = fitted_models[pooling]
    codes = embedding.transform(corpus)
    assert codes.shape == (len(corpus), 4)
    assert codes.dtype == np.float32
    assert np.isfinite(codes).all()
    # Each document's code depends on that document alone.
    one_by_one = np.vstack([embedding.transform([document]) for document in corpus])
    np.testing.assert_allclose(codes, one_by_one, rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings("ignore:.*have no word this model can encode")
@SETTINGS
@given(corpus=corpora, pooling=st.sampled_from(POOLINGS))
def test_fit_on_any_unicode_documents_succeeds_or_says_no_word_is_known(
    small_table_path, corpus, pooling
):
    embedding = FactorizedEmbedding(small_table_path, rank=1, pooling=pooling)
    try:
        codes = embedding.fit_transform(corpus)
    except ValueError as error:
        assert "contains a word of the table" in str(error)
        return
    assert codes.shape == (len(corpus), 1)
    assert np.isfinite(codes).all()
    assert np.isfinite(embedding.embedding_).all()
    assert np.isfinite(embedding.components_).all()


@pytest.mark.filterwarnings("ignore:.*have no word this model can encode")
@pytest.mark.parametrize("pooling", ["mean", "sif"])
def test_transform_from_8_threads_equals_one_thread(fitted_models, pooling):
    embedding = fitted_models[pooling]
    rng = np.random.default_rng(0)
    batches = [
        [
            " ".join(rng.choice(KNOWN_WORDS, size=rng.integers(0, 30)))
            for _ in range(200)
        ]
        for _ in range(16)
    ]
    expected = [embedding.transform(batch) for batch in batches]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(embedding.transform, batches))
    for result, reference in zip(results, expected, strict=True):
        np.testing.assert_array_equal(result, reference)


# -- tokenization ---------------------------------------------------------------


def test_default_tokenizer_splits_clitics_and_punctuation_like_glove(core):
    embedding = core(rank=2).fit(["The film's plot doesn't work!"])
    assert {"film", "'s", "does", "n't", "!"} <= set(embedding.vocabulary_)


def test_tokenizer_callable_overrides_the_pattern(core, small_table_path):
    embedding = core(
        small_table_path, rank=2, tokenizer=lambda text: text.split("|")
    ).fit(["w1|w2|w3 w4"])
    assert set(embedding.vocabulary_) == {"w1", "w2"}


def test_token_pattern_and_lowercase(core, small_table_path):
    embedding = core(
        small_table_path, rank=2, token_pattern=r"w\d", lowercase=False
    ).fit(["W1 w2 w33"])
    assert set(embedding.vocabulary_) == {"w2", "w3"}


# -- input validation --------------------------------------------------------------


BAD_DOCUMENTS = [
    ("w1 w2", TypeError, "got a single str"),
    (b"w1 w2", TypeError, "got a single bytes"),
    (42, TypeError, "got int"),
    (3.5, TypeError, "got float"),
    (["w1", 3], TypeError, "element 1 is 3 of type int"),
    ([1, 2], TypeError, "element 0 is 1 of type int"),
    (["w1", None], TypeError, "element 1 is None"),
    (np.array([["w1", "w2"]]), ValueError, "shape"),
]


@pytest.mark.parametrize(
    "method, X, error, message",
    [(method, *case) for method in ("fit", "transform") for case in BAD_DOCUMENTS]
    # fit(None) is allowed unless a parameter needs documents (tested below).
    + [("transform", None, TypeError, "got None")],
)
def test_bad_documents_are_named_in_the_error(fitted, method, X, error, message):
    with pytest.raises(error, match=message):
        getattr(fitted, method)(X)


@pytest.mark.parametrize(
    "params, method, X, message",
    [
        ({}, "fit", [], "X is empty"),
        ({}, "fit", None, "vocabulary='corpus'"),
        ({}, "fit", ["foo bar", "baz"], "none of the 2 fit documents"),
        ({"vocabulary": "all", "pooling": "tfidf"}, "fit", None, "pass documents"),
        ({"vocabulary": "all"}, "partial_fit", None, "partial_fit needs documents"),
        ({"vocabulary": "all"}, "fit_transform", None, "fit_transform needs"),
    ],
    ids=[
        "empty",
        "corpus-vocabulary",
        "no-known-word",
        "tfidf",
        "partial_fit",
        "fit_transform",
    ],
)
def test_fit_without_the_documents_it_needs_is_an_error(
    small_table_path, params, method, X, message
):
    embedding = FactorizedEmbedding(small_table_path, rank=2, **params)
    with pytest.raises(ValueError, match=message):
        getattr(embedding, method)(X)


@pytest.mark.parametrize(
    "rank, message",
    [(13, "rank=13 exceeds the vector size 12"), (5, "rank=5 exceeds the 3 words")],
)
def test_rank_above_what_the_table_or_the_corpus_holds_is_named(
    small_table_path, rank, message
):
    with pytest.raises(ValueError, match=message):
        FactorizedEmbedding(small_table_path, rank=rank).fit(["w1 w2 w3"])


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"dtype": np.int32}, ValueError, "dtype=.*int"),
        ({"token_pattern": "(w"}, ValueError, "token_pattern='\\(w' is not a valid"),
        ({"token_pattern": r"(w)(\d)"}, ValueError, "2 capturing groups"),
        ({"vocabulary": []}, ValueError, "none of the 0 words of vocabulary"),
        ({"vocabulary": [1, 2]}, TypeError, "vocabulary must contain only str"),
        (
            {"tokenizer": lambda text: None},
            TypeError,
            "tokenizer must return a list of str",
        ),
        (
            {"tokenizer": lambda text: [["w1"]]},
            TypeError,
            "tokenizer must return a list of str",
        ),
    ],
    ids=[
        "dtype",
        "pattern-invalid",
        "pattern-groups",
        "vocabulary-empty",
        "vocabulary-numbers",
        "tokenizer-none",
        "tokenizer-nested",
    ],
)
def test_parameter_values_the_fit_cannot_use_are_named(
    small_table_path, small_corpus, params, error, message
):
    with pytest.raises(error, match=message):
        FactorizedEmbedding(small_table_path, rank=1, **params).fit(small_corpus)


@pytest.mark.parametrize("vectors", [42, np.zeros((3, 2))])
def test_vectors_neither_a_name_a_path_nor_keyed_vectors_are_refused(
    vectors, small_corpus
):
    with pytest.raises(InvalidParameterError, match="'vectors' parameter.*KeyedVec"):
        FactorizedEmbedding(vectors, rank=1).fit(small_corpus)


def test_fit_with_a_missing_vectors_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.txt"):
        FactorizedEmbedding(tmp_path / "gone.txt", rank=2).fit(["w1"])


@pytest.mark.parametrize(
    "params",
    [
        {"rank": 0},
        {"rank": -3},
        {"rank": 1.5},
        {"rank": "ten"},
        {"rank": True},
        {"solver": "svd"},
        {"pooling": "median"},
        {"weighting": "idf"},
        {"vocabulary": "some"},
        {"lowercase": "yes"},
        {"subspace": "sentences"},
        {"quantization": "int4"},
        {"pq_subvectors": 0},
        {"pq_subvectors": 2.5},
        {"tune_solver": "sgd"},
        {"tune_max_iter": 0},
        {"tune_alpha": 0.0},
    ],
)
def test_invalid_parameters_raise_invalid_parameter_error(
    core, small_table_path, small_corpus, params
):
    [name] = params
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        core(small_table_path, **params).fit(small_corpus)


@pytest.mark.parametrize(
    "labels, message",
    [
        (lambda n_documents: None, "supervised=True .* y=None"),
        (lambda n: np.zeros(n), "at least two classes in y, got array"),
        (lambda n: np.zeros(3), "y has 3 labels for 120 documents"),
        (lambda n: np.zeros(n + 1), "y has 121 labels for 120 documents"),
        (lambda n: np.arange(n), "y has 120 classes for 120 documents"),
        (lambda n: np.eye(n, 2), r"y must be 1-d, .* shape \(120, 2\)"),
        (lambda n: np.zeros((n, 1)), r"y must be 1-d, .* shape \(120, 1\)"),
        (lambda n: np.r_[[0, np.nan], np.arange(n - 2) % 2], "y holds NaN .* 1,"),
        (
            lambda n: np.array([np.nan, *["a", "b"] * (n // 2 - 1), "a"], object),
            "y holds NaN .* document 0",
        ),
        (lambda n: np.r_[[0.5, 1.5], np.ones(n - 2)], "y must hold class labels"),
        (lambda n: [None, "a"] + ["b"] * (n - 2), "y must hold class labels"),
        (lambda n: [[0], [1, 2]] + [[0]] * (n - 2), "y must be a 1-d array"),
    ],
    ids=[
        "none",
        "one-class",
        "fewer-labels",
        "more-labels",
        "a-class-per-document",
        "2-d",
        "column",
        "nan",
        "nan-object",
        "continuous",
        "none-label",
        "ragged",
    ],
)
def test_supervised_fit_needs_a_label_of_two_classes_or_more_per_document(
    small_table_path, small_corpus, labels, message
):
    embedding = FactorizedEmbedding(small_table_path, rank=3, supervised=True)
    with pytest.raises(ValueError, match=message):
        embedding.fit(small_corpus, labels(len(small_corpus)))


def test_unsupervised_fit_ignores_y(small_table_path, small_corpus, small_labels):
    embedding = FactorizedEmbedding(small_table_path, rank=3)
    without = embedding.fit(small_corpus).components_.copy()
    # Even labels that a classifier would reject are ignored.
    with_labels = embedding.fit(small_corpus, np.linspace(0, 1, 120)).components_
    np.testing.assert_array_equal(without, with_labels)


@pytest.mark.parametrize(
    "method, args",
    [
        ("transform", (["a"],)),
        ("transform_words", (["a"],)),
        ("inverse_transform", (np.zeros((1, 25)),)),
        ("to_keyedvectors", ()),
        ("save", ("model.npz",)),
        ("export", ("codes.txt",)),
    ],
)
def test_methods_before_fit_raise_not_fitted(tmp_path, monkeypatch, method, args):
    monkeypatch.chdir(tmp_path)  # where save and export would write
    with pytest.raises(NotFittedError):
        getattr(FactorizedEmbedding(), method)(*args)
    assert not list(tmp_path.iterdir())


# -- partial_fit -----------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "tfidf"])
def test_partial_fit_equals_fit_on_the_concatenation(
    small_table_path, small_corpus, pooling
):
    # The words' subspace: the documents' comes from the latest batch
    # (test_partial_fit_takes_the_directions_of_the_latest_batch).
    fitted = FactorizedEmbedding(
        small_table_path, rank=4, pooling=pooling, subspace="words"
    )
    fitted.fit(small_corpus)
    streamed = clone(fitted)
    for start in range(0, len(small_corpus), 45):
        streamed.partial_fit(small_corpus[start : start + 45])
    assert streamed.vocabulary_ == fitted.vocabulary_
    for name in ("embedding_", "components_", "mean_", "singular_values_"):
        np.testing.assert_array_equal(getattr(streamed, name), getattr(fitted, name))
    if pooling == "tfidf":
        np.testing.assert_array_equal(
            streamed.pooling_weights_, fitted.pooling_weights_
        )
    np.testing.assert_array_equal(
        streamed.transform(small_corpus), fitted.transform(small_corpus)
    )


def test_partial_fit_idf_is_that_of_all_batches(small_table_path, small_corpus):
    streamed = FactorizedEmbedding(small_table_path, rank=4, pooling="tfidf")
    streamed.partial_fit(small_corpus[:60]).partial_fit(small_corpus[60:])
    document_frequency = Counter(
        token for document in small_corpus for token in set(document.split())
    )
    n = len(small_corpus)
    expected = [
        np.log((1 + n) / (1 + document_frequency[word])) + 1
        for word in streamed.vocabulary_
    ]
    np.testing.assert_allclose(streamed.pooling_weights_, expected, rtol=1e-6)


def test_partial_fit_sif_learns_word_weights_from_all_batches(
    small_table_path, small_corpus
):
    fitted = FactorizedEmbedding(
        small_table_path, rank=4, pooling="sif", subspace="words"
    )
    fitted.fit(small_corpus)
    streamed = clone(fitted)
    streamed.partial_fit(small_corpus[:60]).partial_fit(small_corpus[60:])
    np.testing.assert_array_equal(streamed.pooling_weights_, fitted.pooling_weights_)
    # The documented deviation: the common component comes from the last batch.
    last_batch = clone(fitted).fit(small_corpus)
    last_batch.common_component_ = None
    pooled = last_batch.transform(small_corpus[60:]).astype(np.float64)
    top = np.linalg.svd(pooled, full_matrices=False)[2][0]
    assert abs(float(top @ streamed.common_component_)) == pytest.approx(1, abs=1e-5)


def test_partial_fit_takes_the_directions_of_the_latest_batch(
    core, small_table_path, small_corpus
):
    # No row weights, mean pooling: pooled documents are plain means of rows.
    streamed = core(
        small_table_path,
        rank=4,
        weighting=None,
        subspace="documents",
        dtype=np.float64,
    )
    streamed.partial_fit(small_corpus[:60]).partial_fit(small_corpus[60:])
    fitted = clone(streamed).fit(small_corpus)
    # The word statistics are those of both batches...
    assert streamed.vocabulary_ == fitted.vocabulary_
    np.testing.assert_allclose(streamed.mean_, fitted.mean_)
    # ...the documents those of the latest.
    table = load_vectors(small_table_path)
    latest = np.array([table[d.split()].mean(axis=0) for d in small_corpus[60:]])
    expected = np.linalg.svd(latest - latest.mean(axis=0), full_matrices=False)[2][:4]
    np.testing.assert_allclose(
        streamed.components_.T @ streamed.components_,
        expected.T @ expected,
        atol=1e-6,
    )


def test_fit_after_partial_fit_starts_afresh(small_table_path, small_corpus):
    fitted = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus[60:])
    refitted = clone(fitted).partial_fit(small_corpus[:60]).fit(small_corpus[60:])
    assert refitted.vocabulary_ == fitted.vocabulary_
    np.testing.assert_array_equal(refitted.embedding_, fitted.embedding_)


# -- scikit-learn citizenship ----------------------------------------------------


def test_constructor_only_stores_parameters(core):
    embedding = core("no-such-table", rank=-1, pooling="bogus")
    assert embedding.get_params()["rank"] == -1
    assert embedding.set_params(rank=7).rank == 7


@pytest.mark.parametrize(
    ("parameter", "default"),
    [
        # "all" scores about 1 point higher at rank 10 but makes every model
        # hold a code per table word (40 MB for GloVe); see its docstring.
        ("vocabulary", "corpus"),
        ("weighting", "frequency"),
        ("pooling", "sif-weighted"),
        ("postprocess", "abtt"),
        ("supervised", False),
    ],
)
def test_defaults_are_the_benchmarked_winners(parameter, default):
    # benchmarks/quality.py measures these; change them together with README.
    assert FactorizedEmbedding().get_params()[parameter] == default


def test_clone_keeps_parameters_and_drops_fitted_state(fitted):
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "embedding_")


def test_pandas_series_in_and_dataframe_out(fitted, small_corpus):
    pd = pytest.importorskip("pandas")
    series = pd.Series(small_corpus[:5], index=range(10, 15))
    embedding = clone(fitted).set_output(transform="pandas").fit(small_corpus)
    frame = embedding.transform(series)
    assert list(frame.columns) == [f"factorizedembedding{i}" for i in range(4)]
    assert list(frame.index) == list(range(10, 15))
    np.testing.assert_allclose(
        frame.to_numpy(), fitted.transform(small_corpus[:5]), rtol=1e-6
    )


def test_pipeline_with_classifier(core, small_table_path, small_corpus, small_labels):
    pipeline = make_pipeline(core(small_table_path, rank=4), LogisticRegression())
    pipeline.fit(small_corpus, small_labels)
    assert pipeline.predict(small_corpus).shape == (len(small_corpus),)
    assert pipeline.score(small_corpus, small_labels) > 0.5


def test_column_transformer_on_a_text_column(core, small_table_path, small_corpus):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"text": small_corpus, "length": range(len(small_corpus))})
    columns = ColumnTransformer(
        [("embedding", core(small_table_path, rank=3), "text")],
        remainder="passthrough",
    )
    features = columns.fit_transform(frame)
    assert features.shape == (len(small_corpus), 4)
    assert columns.get_feature_names_out()[0] == "embedding__factorizedembedding0"


def test_feature_union_beside_tfidf(core, small_table_path, small_corpus):
    union = FeatureUnion(
        [
            ("tfidf", TfidfVectorizer()),
            ("embedding", core(small_table_path, rank=3)),
        ]
    )
    features = union.fit_transform(small_corpus)
    n_terms = len(TfidfVectorizer().fit(small_corpus).vocabulary_)
    assert features.shape == (len(small_corpus), n_terms + 3)


def test_cross_validation_fits_on_the_training_folds_labels_only(
    small_table_path, small_corpus, small_labels
):
    folds = list(
        StratifiedKFold(3, shuffle=True, random_state=0).split(
            small_corpus, small_labels
        )
    )
    embedding = FactorizedEmbedding(small_table_path, rank=3, supervised=True)
    results = cross_validate(
        make_pipeline(embedding, LogisticRegression()),
        small_corpus,
        small_labels,
        cv=folds,
        return_estimator=True,
    )
    documents = np.array(small_corpus)
    everything = FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(
        small_corpus, small_labels
    )
    for (train, _), fitted in zip(folds, results["estimator"], strict=True):
        fold_embedding = fitted.named_steps["factorizedembedding"]
        on_train = FactorizedEmbedding(small_table_path, rank=3, supervised=True).fit(
            documents[train], small_labels[train]
        )
        np.testing.assert_array_equal(fold_embedding.components_, on_train.components_)
        assert not np.allclose(
            fold_embedding.components_[0], everything.components_[0], atol=1e-3
        )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_rank(
    core, small_table_path, small_corpus, small_labels, n_jobs
):
    pipeline = Pipeline(
        [
            ("embedding", core(small_table_path)),
            ("classifier", LogisticRegression()),
        ]
    )
    search = GridSearchCV(
        pipeline, {"embedding__rank": [2, 5, 8]}, cv=3, n_jobs=n_jobs
    ).fit(small_corpus, small_labels)
    assert search.best_params_["embedding__rank"] in (2, 5, 8)
    assert (
        search.best_estimator_.named_steps["embedding"].rank_
        == search.best_params_["embedding__rank"]
    )
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# -- the default table and the real data ----------------------------------------


def test_pickle_of_a_movie_review_model_is_small(movie_reviews):
    documents, _ = movie_reviews
    embedding = FactorizedEmbedding(rank=25).fit(documents)
    # The factors, not the table: 400,000 x 50 float32 would be 80 MB. That a
    # pickle comes back whole is tested with the other round trips
    # (test_persistence.py).
    assert len(pickle.dumps(embedding)) < 5_000_000


def test_rank_25_keeps_97_percent_of_rank_50_accuracy_on_movie_reviews(movie_reviews):
    documents, labels = movie_reviews
    folds = StratifiedKFold(5, shuffle=True, random_state=0)

    def accuracy(rank):
        pipeline = make_pipeline(
            FactorizedEmbedding(rank=rank), LogisticRegression(max_iter=1000)
        )
        return cross_val_score(pipeline, documents, labels, cv=folds).mean()

    assert accuracy(25) >= 0.97 * accuracy(50)
