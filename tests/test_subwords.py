"""fastText subwords: n-gram buckets loaded with a fastText model, encoded by
the fit's projection, and pooled into the codes of words missing from the
table, checked against gensim's own vectors of such words."""

from __future__ import annotations

import pickle
import shutil
from collections import defaultdict

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.models.fasttext import ft_ngram_hashes, load_facebook_vectors

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed._subwords import Subwords, pooling_matrix, prune_buckets
from sklearn_factorembed._vectors import load_table

# Made of the training words' syllables, so their n-grams are known buckets,
# but in no training sentence.
UNKNOWN = ["kalomiqq", "rusavix", "depotoka"]


@pytest.fixture(scope="module")
def gensim_vectors(fasttext_path):
    return load_facebook_vectors(fasttext_path)


def full_rank(path, **params) -> FactorizedEmbedding:
    """A model whose codes are an orthogonal transform of the table: every
    word and bucket, rank = d, no post-processing, equal weights."""
    params = {
        "rank": 16,
        "vocabulary": "all",
        "weighting": None,
        "pooling": "mean",
        "postprocess": None,
        "subspace": "words",
        "ngram_buckets": None,
    } | params
    return FactorizedEmbedding(path, **params).fit()


def test_fasttext_table_keeps_its_ngram_buckets(fasttext_path, gensim_vectors):
    subwords = load_table(fasttext_path).subwords
    assert (subwords.min_n, subwords.max_n) == (3, 6)
    np.testing.assert_array_equal(subwords.rows, gensim_vectors.vectors_ngrams)


def test_word2vec_table_has_no_subwords(small_table_path):
    assert load_table(small_table_path).subwords is None


def test_unknown_word_reconstructs_gensim_vector(fasttext_path, gensim_vectors):
    embedding = full_rank(fasttext_path)
    assert not set(UNKNOWN) & set(gensim_vectors.key_to_index)
    reconstructed = embedding.inverse_transform(embedding.transform_words(UNKNOWN))
    expected = np.stack([gensim_vectors[word] for word in UNKNOWN])
    np.testing.assert_allclose(reconstructed, expected, atol=1e-5)


def test_keyed_vectors_object_gives_the_same_unknown_codes(
    fasttext_path, gensim_vectors
):
    from_file = full_rank(fasttext_path).transform_words(UNKNOWN)
    from_object = full_rank(gensim_vectors).transform_words(UNKNOWN)
    np.testing.assert_allclose(from_object, from_file, atol=1e-6)


def test_unknown_word_code_is_the_mean_of_its_ngram_codes(
    fasttext_path, gensim_vectors, small_corpus
):
    embedding = FactorizedEmbedding(fasttext_path, rank=4, vocabulary=200).fit()
    codes = embedding.transform_words(UNKNOWN)
    n_buckets = len(embedding.ngram_embedding_)
    for word, code in zip(UNKNOWN, codes, strict=True):
        buckets = ft_ngram_hashes(word, 3, 6, n_buckets)
        expected = embedding.ngram_embedding_[buckets].mean(axis=0)
        np.testing.assert_allclose(code, expected, atol=1e-5)
    # The code of gensim's vector, projected as the fit words are.
    vectors = np.stack([gensim_vectors[word] for word in UNKNOWN])
    projected = (vectors - embedding.mean_) @ embedding.components_.T
    np.testing.assert_allclose(codes, projected, atol=1e-5)


def test_transform_pools_unknown_words_with_the_unseen_weight(fasttext_path):
    embedding = FactorizedEmbedding(fasttext_path, rank=2)
    table_words = load_table(fasttext_path).words
    documents = [" ".join(table_words[:5] + table_words[:2])] * 3
    embedding.fit(documents)
    known = embedding.vocabulary_[table_words[0]]
    pooled = embedding.transform([f"{table_words[0]} {UNKNOWN[0]}"])[0]
    codes = embedding.transform_words([table_words[0], UNKNOWN[0]])
    weights = np.array([embedding.pooling_weights_[known], embedding.unseen_weight_])
    np.testing.assert_allclose(pooled, weights @ codes / weights.sum(), rtol=1e-5)
    assert embedding.unseen_weight_ != embedding.pooling_weights_[known]


def test_fit_transform_encodes_unknown_words_as_transform_does(fasttext_path):
    documents = [f"{UNKNOWN[0]} kalo", "kalo mine", f"{UNKNOWN[1]} mine"]
    fitted = FactorizedEmbedding(fasttext_path, rank=2).fit(documents)
    codes = FactorizedEmbedding(fasttext_path, rank=2).fit_transform(iter(documents))
    np.testing.assert_allclose(codes, fitted.transform(documents), atol=1e-6)
    assert np.any(codes[0] != fitted.transform(["kalo"])[0])


@pytest.mark.parametrize("batch_size", [2, 10_000])
def test_fit_transform_tokenizes_a_stream_once(fasttext_path, batch_size):
    table_words = load_table(fasttext_path).words
    documents = [
        f"{table_words[0]} {UNKNOWN[0]}",
        f"{table_words[1]} {table_words[0]}",
        f"{UNKNOWN[1]} {table_words[2]} {UNKNOWN[0]}",
        f"{UNKNOWN[2]} ab {table_words[1]}",
        table_words[3],
    ]
    tokenized = []

    def tokenizer(document):
        tokenized.append(document)
        return document.split()

    params = {"rank": 2, "tokenizer": tokenizer, "batch_size": batch_size}
    codes = FactorizedEmbedding(fasttext_path, **params).fit_transform(
        document for document in documents
    )
    assert tokenized == documents  # each once, in order
    fitted = FactorizedEmbedding(fasttext_path, **params).fit(documents)
    np.testing.assert_allclose(codes, fitted.transform(documents), atol=1e-6)


def test_a_full_memory_of_ngram_words_starts_anew_with_the_same_codes(
    fasttext_path, monkeypatch
):
    from sklearn_factorembed import _words

    monkeypatch.setattr(_words, "MAX_SUBWORD_WORDS", 4)
    embedding = FactorizedEmbedding(fasttext_path, rank=4, vocabulary="all").fit()
    some = [f"{word} {word}x" for word in UNKNOWN]  # six words of n-grams only
    others = [f"{word}y {word}z" for word in UNKNOWN]  # six more
    first = embedding.transform(some)
    full = embedding._word_codes
    assert full.is_full
    embedding.transform(others)
    # A new memory, holding the last call's six words, not all twelve.
    assert embedding._word_codes is not full
    assert embedding._word_codes.n_words == full.n_words
    # And the same words get the same codes from it.
    np.testing.assert_array_equal(embedding.transform(some), first)


def test_word_without_ngrams_in_range_is_dropped(long_ngrams_fasttext_path):
    embedding = FactorizedEmbedding(long_ngrams_fasttext_path, rank=4, vocabulary=50)
    embedding.fit()
    np.testing.assert_array_equal(
        embedding.transform_words(["ab"]), np.zeros((1, 4), np.float32)
    )
    assert np.any(embedding.transform_words(["abcd"]) != 0)  # "<abcd>"
    with pytest.warns(UserWarning, match="1 of the 1 documents have no word"):
        embedding.transform(["ab"])
    assert "ab" not in embedding.to_keyedvectors(["ab", "abcd"]).key_to_index


def compress_fasttext_prune_ngrams(vectors: KeyedVectors, n_buckets: int):
    """compress-fasttext 0.1.5's prune_ngrams (count_buckets and the merge),
    word by word, with rows no n-gram reaches left at zero."""
    new_to_old = defaultdict(set)
    usage = defaultdict(int)
    for word in vectors.key_to_index:
        old = ft_ngram_hashes(word, vectors.min_n, vectors.max_n, vectors.bucket)
        new = ft_ngram_hashes(word, vectors.min_n, vectors.max_n, n_buckets)
        for old_hash in old:
            usage[old_hash] += 1
        for old_hash, new_hash in zip(old, new, strict=True):
            new_to_old[new_hash].add(old_hash)
    merged = np.zeros((n_buckets, vectors.vector_size), dtype=np.float32)
    for new_hash, old_buckets in new_to_old.items():
        total = sum(usage[old_hash] for old_hash in old_buckets)
        for old_hash in old_buckets:
            merged[new_hash] += vectors.vectors_ngrams[old_hash] * (
                usage[old_hash] / total
            )
    return merged


def test_pruned_buckets_merge_rows_as_compress_fasttext_does(
    fasttext_path, gensim_vectors
):
    expected = compress_fasttext_prune_ngrams(gensim_vectors, 300)
    table = load_table(fasttext_path)
    pruned = prune_buckets(table.subwords, table.words, 300)
    np.testing.assert_allclose(pruned.rows, expected, atol=1e-6)
    assert np.count_nonzero(np.abs(expected).sum(axis=1) == 0) < 300
    embedding = full_rank(fasttext_path, ngram_buckets=300)
    np.testing.assert_allclose(
        embedding.inverse_transform(embedding.ngram_embedding_), expected, atol=1e-5
    )
    # An unknown word: the mean of the merged rows of its n-grams' new buckets.
    word = UNKNOWN[0]
    reconstructed = embedding.inverse_transform(embedding.transform_words([word]))
    rows = expected[ft_ngram_hashes(word, 3, 6, 300)].mean(axis=0)
    np.testing.assert_allclose(reconstructed[0], rows, atol=1e-5)


def test_as_many_buckets_or_more_keep_them_as_they_are(fasttext_path):
    table = load_table(fasttext_path)
    assert prune_buckets(table.subwords, table.words, 2000) is table.subwords
    embedding = full_rank(fasttext_path, ngram_buckets=10_000)
    assert embedding.ngram_embedding_.shape == (2000, 16)


def test_pooling_matrix_counts_a_repeated_ngram_twice():
    rows = np.arange(6.0).reshape(3, 2)
    # Hashes 4 and 1 both fall in bucket 1 of 3.
    pooling = pooling_matrix([[0, 4, 1], []], 3)
    np.testing.assert_allclose(pooling @ rows, [[(0 + 2 * 2 + 0) / 3, 7 / 3], [0, 0]])
    assert Subwords(rows, 3, 6).n_buckets == 3


def test_ngram_buckets_has_no_effect_without_subwords(small_table_path, small_corpus):
    default = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    few = FactorizedEmbedding(small_table_path, rank=4, ngram_buckets=10)
    few.fit(small_corpus)
    assert default.ngram_embedding_ is None and few.min_n_ is None
    np.testing.assert_array_equal(few.embedding_, default.embedding_)
    assert "ngram_quantized_codes_" not in few.__getstate__()


@pytest.mark.parametrize("quantization", ["int8", "pq"])
def test_quantized_ngram_codes_are_stored_quantized(fasttext_path, quantization):
    params = {"rank": 4, "vocabulary": 200, "quantization": quantization}
    embedding = FactorizedEmbedding(fasttext_path, random_state=0, **params).fit()
    exact = FactorizedEmbedding(fasttext_path, **params | {"quantization": None})
    exact.fit()
    error = np.abs(embedding.ngram_embedding_ - exact.ngram_embedding_)
    assert error.max() < 0.5 * np.abs(exact.ngram_embedding_).max()
    if quantization == "int8":  # within half a step of its own levels
        state = embedding.__getstate__()
        assert state["ngram_quantized_codes_"].dtype == np.int8
        assert np.all(error <= state["ngram_code_scales_"] / 2 + 1e-6)
    state = embedding.__getstate__()
    assert "ngram_embedding_" not in state
    restored = pickle.loads(pickle.dumps(embedding))
    np.testing.assert_array_equal(
        restored.transform_words(UNKNOWN), embedding.transform_words(UNKNOWN)
    )


@pytest.mark.parametrize("quantization", [None, "int8", "pq"])
def test_saved_model_encodes_unknown_words_without_its_table(
    fasttext_path, tmp_path, quantization
):
    source = tmp_path / "model.bin"
    shutil.copy(fasttext_path, source)
    embedding = FactorizedEmbedding(
        str(source), rank=4, quantization=quantization, random_state=0
    ).fit([" ".join(load_table(fasttext_path).words[:20])])
    embedding.save(tmp_path / "model.npz", extra_words=0)
    source.unlink()
    loaded = FactorizedEmbedding.load(tmp_path / "model.npz")
    assert (loaded.min_n_, loaded.max_n_) == (3, 6)
    np.testing.assert_array_equal(loaded.ngram_embedding_, embedding.ngram_embedding_)
    np.testing.assert_array_equal(
        loaded.transform_words(UNKNOWN), embedding.transform_words(UNKNOWN)
    )


def edited(vectors, **attributes):
    """A shallow copy of the FastTextKeyedVectors ``vectors`` with
    ``attributes`` set, as a crafted .kv file would hold."""
    copy = type(vectors).__new__(type(vectors))
    copy.__dict__.update(vectors.__dict__ | attributes)
    return copy


def test_fasttext_kv_file_with_impossible_ngram_lengths_is_refused(
    gensim_vectors, tmp_path
):
    for attribute, value, message in [
        ("min_n", 7, "n-grams of 7 to 6 characters"),
        ("max_n", 65, "n-grams of 3 to 65 characters"),
        ("bucket", 1999, "2000 rows for its 1999 buckets"),
    ]:
        path = tmp_path / f"{attribute}.kv"
        edited(gensim_vectors, **{attribute: value}).save(str(path))
        with pytest.raises(ValueError, match=message):
            FactorizedEmbedding(str(path), rank=4, vocabulary=100).fit()


def test_fasttext_kv_file_with_nan_buckets_is_refused(gensim_vectors, tmp_path):
    rows = gensim_vectors.vectors_ngrams.copy()
    # A bucket no word's n-gram uses: the words' vectors stay finite.
    unused = np.setdiff1d(
        np.arange(len(rows)), np.concatenate(gensim_vectors.buckets_word)
    )
    rows[unused[0], 3] = np.nan
    edited(gensim_vectors, vectors_ngrams=rows).save(str(tmp_path / "nan.kv"))
    with pytest.raises(ValueError, match="hold NaN or infinite values"):
        load_table(str(tmp_path / "nan.kv")).subwords  # noqa: B018
