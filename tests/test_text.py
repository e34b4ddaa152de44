"""Text handling: tokenizing and counting batches, corpus statistics, word
weights and pooling, against plain Python and numpy."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfTransformer

from sklearn_factorembed._text import (
    DEFAULT_TOKEN_PATTERN,
    CorpusStatistics,
    backtracking_hazard,
    build_analyzer,
    count_tokens,
    frequency_weights,
    idf_weights,
    pool,
    sif_weights,
    zipf_counts,
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


# -- tokenizing a batch as one string -------------------------------------------


@pytest.mark.parametrize("lowercase", [True, False])
@settings(max_examples=150, deadline=None)
@given(
    documents=st.lists(
        st.text(alphabet="aNtT's'-._ 1\n\tΣσΟé\x00!中", max_size=25),
        min_size=1,
        max_size=6,
    )
)
@example(
    documents=[document for document in TRICKY_DOCUMENTS if "\x00" not in document]
)
def test_joined_batch_counts_equal_per_document_counts(documents, lowercase):
    vocabulary = _vocabulary_of(documents)
    counts = count_tokens(documents, build_analyzer(lowercase=lowercase), vocabulary)
    np.testing.assert_array_equal(
        counts.toarray(), _reference_counts(documents, vocabulary, lowercase)
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


def test_custom_tokenizer_and_pattern_run_per_document():
    documents = ["a-b c", "c c"]
    vocabulary = {"a": 0, "b": 1, "c": 2, "a-b": 3}
    by_space = count_tokens(documents, build_analyzer(tokenizer=str.split), vocabulary)
    np.testing.assert_array_equal(by_space.toarray(), [[0, 0, 1, 1], [0, 0, 2, 0]])
    by_letter = count_tokens(documents, build_analyzer(token_pattern=r"\w"), vocabulary)
    np.testing.assert_array_equal(by_letter.toarray(), [[1, 1, 1, 0], [0, 0, 2, 0]])


@pytest.mark.parametrize(
    "pattern",
    [
        DEFAULT_TOKEN_PATTERN,
        r"\w+",
        r"(?u)\b\w\w+\b",  # scikit-learn's default
        r"[^\W\d_]+|\d+(?:[.,]\d+)?",
        r"(?:\w|')+",  # single characters: a character class
        r"(?:ab)+",
        r"(?=\w+n't)\w",
        r"(\w)\w*",
        r"(?:\w+)?",  # at most once: two ways at most
        "",
    ],
)
def test_patterns_without_nested_repeats_are_safe(pattern):
    assert backtracking_hazard(pattern) is None


@pytest.mark.parametrize(
    "pattern, hazard",
    [
        (r"(?:a+)+b", "a repeat inside a repeat"),
        (r"(?:a*)*b", "a repeat inside a repeat"),
        (r"(?:a?a?)+b", "a repeat inside a repeat"),  # ? is a repeat too
        (r"(?:a{2})+", "a repeat inside a repeat"),
        (r"(?:(?=a+)a)*", "a repeat inside a repeat"),  # in a lookahead
        (r"(?>a+)+", "a repeat inside a repeat"),
        (r"(?:a|aa)+b", "an alternation inside a repeat"),
        (r"(?:\w+|\d+)+", "an alternation inside a repeat"),
        (r"(?:(?:a+)?)+", "a repeat inside a repeat"),
        (r"(a)\1", "a backreference or conditional group"),
        (r"(a)?(?(1)b|c)", "a backreference or conditional group"),
        ("(" * 5000 + ")" * 5000, "groups nested more than 100 deep"),
        ("(?=" * 150 + "a" + ")" * 150, "groups nested more than 100 deep"),
    ],
)
def test_patterns_that_can_backtrack_exponentially_are_named(pattern, hazard):
    assert backtracking_hazard(pattern) == hazard


def test_invalid_pattern_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=r"token_pattern='\(' is not a valid"):
        backtracking_hazard("(")


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


def test_corpus_statistics_over_other_vocabularies_do_not_add():
    two_words = CorpusStatistics.from_counts(sp.csr_matrix(np.ones((1, 2))))
    three_words = CorpusStatistics.from_counts(sp.csr_matrix(np.ones((1, 3))))
    with pytest.raises(ValueError, match="statistics of 3 words to those of 2"):
        three_words + two_words


# -- word weights and pooling ------------------------------------------------------


def test_frequency_weights_are_the_square_root_or_the_log_of_the_counts():
    counts = np.array([0.0, 1.0, 4.0, 100.0])
    np.testing.assert_allclose(frequency_weights(counts, "frequency"), np.sqrt(counts))
    np.testing.assert_allclose(
        frequency_weights(counts, "log-frequency"), np.log(1.0 + counts)
    )


def test_zipf_counts_fall_as_one_over_the_row_number():
    np.testing.assert_allclose(zipf_counts(np.array([0, 1, 9])), [1.0, 0.5, 0.1])


def test_idf_weights_are_scikit_learns_smoothed_idf():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 3, size=(20, 8)) * (rng.random((20, 8)) < 0.3)
    counts[0] = 1  # no word without documents: TfidfTransformer would keep it
    expected = TfidfTransformer(smooth_idf=True).fit(counts).idf_
    np.testing.assert_allclose(
        idf_weights((counts > 0).sum(axis=0), len(counts)), expected
    )


def test_sif_weights_are_a_over_a_plus_the_word_probability():
    counts = np.array([1.0, 3.0, 0.0, 6.0])
    np.testing.assert_allclose(
        sif_weights(counts, smoothing=0.01), 0.01 / (0.01 + counts / 10.0)
    )
    # Without any count, every word weighs the same.
    np.testing.assert_array_equal(sif_weights(np.zeros(3)), 1.0)


def _pool_by_loop(counts, codes, pooling, word_weights, common_component):
    """Each document's code from its own counts, one document at a time."""
    pooled = np.zeros((len(counts), codes.shape[1]))
    for row, document in enumerate(counts):
        words = np.flatnonzero(document)
        if len(words) == 0:
            continue
        if pooling == "max":
            pooled[row] = codes[words].max(axis=0)
            continue
        weights = document[words] * (
            1.0 if word_weights is None else word_weights[words]
        )
        pooled[row] = weights @ codes[words]
        if pooling != "sum":
            pooled[row] /= weights.sum()
    if common_component is not None:
        pooled -= np.outer(pooled @ common_component, common_component)
    return pooled


@pytest.mark.parametrize(
    "pooling", ["mean", "sum", "max", "tfidf", "sif", "sif-weighted"]
)
def test_pool_gives_what_pooling_each_document_alone_gives(pooling):
    rng = np.random.default_rng(1)
    counts = rng.integers(1, 4, size=(7, 10)) * (rng.random((7, 10)) < 0.4)
    counts[3] = 0  # a document without a known word
    codes = rng.normal(size=(10, 3))
    word_weights = None
    if pooling in ("tfidf", "sif", "sif-weighted"):
        word_weights = rng.uniform(0.5, 2.0, size=10)
    common_component = None
    if pooling == "sif":
        common_component = np.array([0.6, 0.0, 0.8])
    pooled = pool(
        sp.csr_matrix(counts.astype(np.float64)),
        codes,
        pooling=pooling,
        word_weights=word_weights,
        common_component=common_component,
    )
    np.testing.assert_allclose(
        pooled,
        _pool_by_loop(counts, codes, pooling, word_weights, common_component),
        rtol=1e-12,
        atol=1e-12,
    )
    np.testing.assert_array_equal(pooled[3], 0.0)


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
