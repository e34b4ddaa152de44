"""The fast paths give what the plain paths give: tokenizing batches as one
string, batched and streaming transform, partial_fit, and the caches."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from gensim.models import KeyedVectors
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_factorembed import FactorizedEmbedding, clear_caches
from sklearn_factorembed._cache import cache_sizes
from sklearn_factorembed._text import (
    DEFAULT_TOKEN_PATTERN,
    CorpusStatistics,
    build_analyzer,
    count_tokens,
)
from sklearn_factorembed._vectors import Vocabulary

TRICKY_DOCUMENTS = [
    "The film's cast DOESN'T shine!",
    "don't",
    "can't.",
    "n't",
    "'s 're 've 'll 'm 'd 'x",
    "ΟΔΟΣ ΣΑΣ Σ",  # str.lower's final sigma depends on the neighbours
    "co-writer 1.8 well-acted... -dash trailing- .5",
    "",
    "   \t\n ",
    "snake_case __init__ x_",
    "naïve café ÉTÉ ß ǅ",
    "a\x00b",  # holds the separator: the batch falls back to per document
    "emoji 🎬🍿 and 中文字",
    "won't\nwouldn't\r\nisn't",
    "'quoted' \"double\" (paren) [bracket]",
]


def _reference_counts(documents, vocabulary, lowercase=True):
    """Token counts computed document by document with re.findall."""
    counts = np.zeros((len(documents), len(vocabulary)))
    for row, document in enumerate(documents):
        text = document.lower() if lowercase else document
        for token, n in Counter(re.findall(DEFAULT_TOKEN_PATTERN, text)).items():
            if token in vocabulary:
                counts[row, vocabulary[token]] += n
    return counts


def _vocabulary_of(documents):
    tokens = sorted(
        {
            token
            for document in documents
            for text in (document, document.lower())
            for token in re.findall(DEFAULT_TOKEN_PATTERN, text)
        }
    )
    return {token: column for column, token in enumerate(tokens)}


# -- tokenizing a batch as one string ------------------------------------------


@pytest.mark.parametrize("lowercase", [True, False])
def test_joined_batch_counts_equal_per_document_counts(lowercase):
    clean = [document for document in TRICKY_DOCUMENTS if "\x00" not in document]
    vocabulary = _vocabulary_of(clean)
    counts = count_tokens(clean, build_analyzer(lowercase=lowercase), vocabulary)
    np.testing.assert_array_equal(
        counts.toarray(), _reference_counts(clean, vocabulary, lowercase)
    )
    assert counts.has_canonical_format


def test_document_holding_the_separator_is_counted_per_document():
    vocabulary = _vocabulary_of(TRICKY_DOCUMENTS) | {"\x00": 10_000}
    vocabulary = {token: column for column, token in enumerate(vocabulary)}
    counts = count_tokens(TRICKY_DOCUMENTS, build_analyzer(), vocabulary)
    np.testing.assert_array_equal(
        counts.toarray(), _reference_counts(TRICKY_DOCUMENTS, vocabulary)
    )
    assert counts[TRICKY_DOCUMENTS.index("a\x00b"), vocabulary["\x00"]] == 1


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.text(alphabet="aNtT's'-._ 1\n\tΣσΟé\x00!中", max_size=25),
        min_size=1,
        max_size=6,
    )
)
def test_joined_batch_counts_equal_per_document_counts_on_random_text(documents):
    vocabulary = _vocabulary_of(documents)
    counts = count_tokens(documents, build_analyzer(), vocabulary)
    np.testing.assert_array_equal(
        counts.toarray(), _reference_counts(documents, vocabulary)
    )


def test_custom_tokenizer_and_pattern_run_per_document():
    documents = ["a-b c", "c c"]
    vocabulary = {"a": 0, "b": 1, "c": 2, "a-b": 3}
    by_space = count_tokens(documents, build_analyzer(tokenizer=str.split), vocabulary)
    np.testing.assert_array_equal(by_space.toarray(), [[0, 0, 1, 1], [0, 0, 2, 0]])
    by_letter = count_tokens(documents, build_analyzer(token_pattern=r"\w"), vocabulary)
    np.testing.assert_array_equal(by_letter.toarray(), [[1, 1, 1, 0], [0, 0, 2, 0]])


def test_corpus_statistics_add_up_to_those_of_the_whole(small_corpus):
    analyzer = build_analyzer()
    vocabulary = _vocabulary_of(small_corpus)
    whole = CorpusStatistics.from_counts(
        count_tokens(small_corpus, analyzer, vocabulary)
    )
    parts = [
        CorpusStatistics.from_counts(count_tokens(part, analyzer, vocabulary))
        for part in (small_corpus[:50], small_corpus[50:51], small_corpus[51:])
    ]
    summed = parts[0] + parts[1] + parts[2]
    assert summed.n_documents == whole.n_documents == len(small_corpus)
    reference = _reference_counts(small_corpus, vocabulary)
    np.testing.assert_array_equal(summed.word_counts.toarray()[0], reference.sum(0))
    np.testing.assert_array_equal(
        summed.document_frequency.toarray()[0], (reference > 0).sum(0)
    )


def test_corpus_statistics_give_their_words_and_values_at_any_columns():
    counts = sp.csr_matrix(
        np.array([[0.0, 2.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 3.0]])
    )
    statistics = CorpusStatistics.from_counts(counts)
    statistics = statistics + CorpusStatistics.from_counts(counts[:1])
    dense_counts = counts.toarray().sum(0) + counts[:1].toarray().sum(0)
    dense_frequency = (counts.toarray() > 0).sum(0) + (counts[:1].toarray() > 0)[0]
    np.testing.assert_array_equal(statistics.words(), np.flatnonzero(dense_counts))
    for rows in (np.array([0, 1, 4, 5]), np.array([], dtype=int), slice(1, 4)):
        word_counts, frequency = statistics.counts_at(rows)
        np.testing.assert_array_equal(word_counts, dense_counts[rows])
        np.testing.assert_array_equal(frequency, dense_frequency[rows])


# -- batched and streaming transform ---------------------------------------------


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


def test_non_str_element_deep_in_a_stream_is_named(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4, batch_size=5)
    embedding.fit(small_corpus)
    stream = iter(small_corpus[:12] + [3.5])
    with pytest.raises(TypeError, match="element 12 is 3.5"):
        embedding.transform(stream)


def test_fit_in_small_batches_equals_fit_in_one(small_table_path, small_corpus):
    one = FactorizedEmbedding(small_table_path, rank=4, pooling="tfidf")
    one.fit(small_corpus)
    many = clone(one).set_params(batch_size=9).fit(iter(small_corpus))
    assert many.vocabulary_ == one.vocabulary_
    np.testing.assert_array_equal(many.embedding_, one.embedding_)
    np.testing.assert_array_equal(many.pooling_weights_, one.pooling_weights_)


# -- partial_fit -----------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "tfidf"])
def test_partial_fit_equals_fit_on_the_concatenation(
    small_table_path, small_corpus, pooling
):
    # The words' subspace: the documents' comes from the latest batch
    # (test_subspace.py).
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


def test_fit_after_partial_fit_starts_afresh(small_table_path, small_corpus):
    fitted = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus[60:])
    refitted = clone(fitted).partial_fit(small_corpus[:60]).fit(small_corpus[60:])
    assert refitted.vocabulary_ == fitted.vocabulary_
    np.testing.assert_array_equal(refitted.embedding_, fitted.embedding_)


def test_partial_fit_without_documents_is_an_error(small_table_path):
    with pytest.raises(ValueError, match="partial_fit needs documents"):
        FactorizedEmbedding(small_table_path, vocabulary="all").partial_fit(None)


def test_vocabulary_does_not_follow_later_changes_to_the_keyedvectors(
    small_keyed_vectors,
):
    table = KeyedVectors(small_keyed_vectors.vector_size)
    table.add_vectors(small_keyed_vectors.index_to_key, small_keyed_vectors.vectors)
    embedding = FactorizedEmbedding(table, rank=4, vocabulary="all").fit()
    table.add_vectors(["new"], np.ones((1, table.vector_size), dtype=np.float32))
    assert "new" not in embedding.vocabulary_
    assert len(embedding.vocabulary_) == len(table) - 1


# -- the counts cache ------------------------------------------------------------


def test_remembered_counts_are_read_only():
    vocabulary = Vocabulary({"a": 0, "b": 1})
    first = count_tokens(["a b a"], build_analyzer(), vocabulary, remember=True)
    with pytest.raises(ValueError, match="read-only"):
        first.data[:] = 99.0
    second = count_tokens(["a b a"], build_analyzer(), vocabulary, remember=True)
    assert second is first
    np.testing.assert_array_equal(second.toarray(), [[2.0, 1.0]])


def test_counts_cache_key_tells_documents_and_lowercase_apart():
    vocabulary = Vocabulary({"a": 0, "A": 1})
    lower = count_tokens(["a A"], build_analyzer(), vocabulary, remember=True)
    cased = count_tokens(
        ["a A"], build_analyzer(lowercase=False), vocabulary, remember=True
    )
    split = count_tokens(["a", "A"], build_analyzer(), vocabulary, remember=True)
    np.testing.assert_array_equal(lower.toarray(), [[2.0, 0.0]])
    np.testing.assert_array_equal(cased.toarray(), [[1.0, 1.0]])
    np.testing.assert_array_equal(split.toarray(), [[1.0, 0.0], [1.0, 0.0]])


def test_counts_of_streams_and_long_inputs_are_not_cached(
    small_table_path, small_corpus
):
    clear_caches()
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    assert cache_sizes()["corpora"] == 1  # the fit corpus, one batch
    clone(embedding).set_params(batch_size=50).fit(small_corpus)
    clone(embedding).fit(document for document in small_corpus)
    assert cache_sizes()["corpora"] == 1
    embedding.transform(document for document in small_corpus)
    embedding.set_params(batch_size=50).transform(small_corpus)
    assert cache_sizes()["counts"] == 0
    embedding.set_params(batch_size=10_000).transform(small_corpus)
    assert cache_sizes()["counts"] == 1
