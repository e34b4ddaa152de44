"""Robustness: arbitrary text, concurrency, round trips, and bad input to fit."""

from __future__ import annotations

import pickle
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_factorembed import FactorizedEmbedding

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


# -- arbitrary unicode ---------------------------------------------------------------


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


# -- threads -----------------------------------------------------------------------


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


def test_fits_from_8_threads_on_a_fresh_table_agree(
    small_keyed_vectors, small_corpus, tmp_path
):
    # Eight clones load the same (uncached) table at once through the cache.
    path = tmp_path / "table.txt"
    small_keyed_vectors.save_word2vec_format(str(path))
    template = FactorizedEmbedding(path, rank=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        fitted = list(pool.map(lambda _: clone(template).fit(small_corpus), range(8)))
    reference = template.fit(small_corpus)
    for embedding in fitted:
        np.testing.assert_array_equal(embedding.embedding_, reference.embedding_)


# -- round trips -----------------------------------------------------------------------


model_params = st.fixed_dictionaries(
    {
        "rank": st.one_of(st.integers(1, 12), st.floats(0.05, 0.95, exclude_min=True)),
        "pooling": st.sampled_from(POOLINGS),
        "weighting": st.sampled_from(["frequency", None]),
        "dtype": st.sampled_from([np.float32, np.float64, "float64"]),
        "lowercase": st.booleans(),
        "solver": st.sampled_from(["auto", "full", "qr"]),
    }
)


@SETTINGS
@given(params=model_params, corpus=corpora)
def test_save_load_and_pickle_round_trips_transform_identically(
    small_table_path, small_corpus, params, corpus
):
    embedding = FactorizedEmbedding(small_table_path, **params).fit(small_corpus)
    expected = embedding.transform(corpus)
    with tempfile.TemporaryDirectory() as folder:
        embedding.save(Path(folder) / "model.npz")
        loaded = FactorizedEmbedding.load(Path(folder) / "model.npz")
    unpickled = pickle.loads(pickle.dumps(embedding))
    assert loaded.get_params() == embedding.get_params()
    np.testing.assert_array_equal(loaded.transform(corpus), expected)
    np.testing.assert_array_equal(unpickled.transform(corpus), expected)
    np.testing.assert_array_equal(
        loaded.inverse_transform(expected), embedding.inverse_transform(expected)
    )


# -- bad input to fit (transform's are in test_embedding.py) ---------------------------


@pytest.mark.parametrize(
    "X, error, message",
    [
        ("w1 w2", TypeError, "got a single str"),
        (b"w1 w2", TypeError, "got a single bytes"),
        (["w1", None], TypeError, "element 1 is None"),
        ([1, 2], TypeError, "element 0 is 1 of type int"),
        (3.5, TypeError, "got float"),
        (np.array([["w1"], ["w2"], ["w3"]]).reshape(1, 3), ValueError, "shape"),
    ],
)
def test_fit_on_bad_documents_names_the_problem(small_table_path, X, error, message):
    with pytest.raises(error, match=message):
        FactorizedEmbedding(small_table_path, rank=2).fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"token_pattern": "(w"}, "token_pattern='\\(w' is not a valid regular"),
        ({"token_pattern": r"(w)(\d)"}, "2 capturing groups"),
        ({"vocabulary": []}, "none of the 0 words of vocabulary"),
    ],
)
def test_bad_tokenization_or_vocabulary_is_a_value_error(
    small_table_path, small_corpus, params, message
):
    with pytest.raises(ValueError, match=message):
        FactorizedEmbedding(small_table_path, rank=2, **params).fit(small_corpus)


@pytest.mark.parametrize("tokenizer", [lambda text: None, lambda text: [["w1"]]])
def test_tokenizer_returning_no_list_of_str_is_a_type_error(
    small_table_path, tokenizer
):
    with pytest.raises(TypeError, match="tokenizer must return a list of str"):
        FactorizedEmbedding(small_table_path, rank=1, tokenizer=tokenizer).fit(["w1"])


def test_vocabulary_of_numbers_is_a_type_error(small_table_path):
    with pytest.raises(TypeError, match="vocabulary must contain only str"):
        FactorizedEmbedding(small_table_path, rank=1, vocabulary=[1, 2]).fit()


def test_fit_with_a_missing_vectors_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.txt"):
        FactorizedEmbedding(tmp_path / "gone.txt", rank=2).fit(["w1"])


@pytest.mark.parametrize(
    "codes, message",
    [
        (np.full((1, 4), np.inf), "infinity"),
        (np.zeros(4), "Expected 2D array"),
        ([["a", "b", "c", "d"]], "could not convert"),
    ],
)
def test_inverse_transform_rejects_infinite_one_dimensional_or_text_codes(
    fitted_models, codes, message
):
    with pytest.raises(ValueError, match=message):
        fitted_models["mean"].inverse_transform(codes)
