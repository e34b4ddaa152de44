"""Open vocabulary: a fitted model encodes every word of its table, with the
projection and quantization of its fit words, and reports documents it cannot
encode."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import clone

from sklearn_factorembed import FactorizedEmbedding, fit_dask, transform_dask

# Words of the small table (w0 .. w299) that the small corpus (w0 .. w199) lacks.
UNSEEN = ["w250", "w201", "w299"]


def _projection(embedding, table, words):
    """(row - mean_) @ components_.T of the words' table rows, in float64."""
    rows = [table.key_to_index[word] for word in words]
    vectors = table.vectors[rows].astype(np.float64)
    return (vectors - embedding.mean_) @ embedding.components_.astype(np.float64).T


def _fit_variant(variant, source, corpus, labels):
    if variant == "partial_fit":
        embedding = FactorizedEmbedding(source, rank=4)
        return embedding.partial_fit(corpus[:60]).partial_fit(corpus[60:])
    if variant == "dask":
        import dask.bag

        documents = dask.bag.from_sequence(corpus, npartitions=3)
        return fit_dask(FactorizedEmbedding(source, rank=4), documents)
    params = {
        "default": {},
        "supervised": {"supervised": True},
        "ppa-tfidf": {"postprocess": "ppa", "pooling": "tfidf"},
        "vocabulary=100": {"vocabulary": 100},
    }[variant]
    return FactorizedEmbedding(source, rank=4, **params).fit(corpus, labels)


@pytest.mark.parametrize(
    "variant",
    ["default", "partial_fit", "dask", "supervised", "ppa-tfidf", "vocabulary=100"],
)
def test_unseen_word_gets_the_projection_of_its_table_row(
    small_table_path, small_keyed_vectors, small_corpus, small_labels, variant
):
    embedding = _fit_variant(variant, small_table_path, small_corpus, small_labels)
    assert not set(UNSEEN) & set(embedding.vocabulary_)
    expected = _projection(embedding, small_keyed_vectors, UNSEEN)
    np.testing.assert_allclose(
        embedding.transform_words(UNSEEN), expected, rtol=1e-5, atol=1e-5
    )
    # A one-word document pools to its word's code, whatever the weighting.
    codes = embedding.set_params(pooling="mean").transform(UNSEEN)
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-5)


def test_fit_words_keep_their_stored_codes(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    embedding.transform(["w250 w3"])  # encodes a new word first
    words = list(embedding.vocabulary_)[:20]
    np.testing.assert_array_equal(
        embedding.transform_words(words),
        embedding.embedding_[[embedding.vocabulary_[word] for word in words]],
    )


def test_unseen_words_of_an_int8_model_are_rounded_to_its_levels(
    small_table_path, small_keyed_vectors, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4, quantization="int8")
    embedding.fit(small_corpus)
    codes = embedding.transform_words(UNSEEN).astype(np.float64)
    scales = embedding.code_scales_.astype(np.float64)
    offsets = embedding.code_offsets_.astype(np.float64)
    levels = (codes - offsets) / scales
    np.testing.assert_allclose(levels, np.rint(levels), atol=1e-3)
    assert np.all((levels > -128.5) & (levels < 127.5))
    projection = _projection(embedding, small_keyed_vectors, UNSEEN)
    inside = np.all((levels > -127.5) & (levels < 126.5), axis=1)  # not clipped
    assert np.all(np.abs(codes - projection)[inside] <= scales / 2 + 1e-5)


def test_unseen_words_of_a_pq_model_take_the_nearest_centroids(
    small_table_path, small_keyed_vectors
):
    embedding = FactorizedEmbedding(
        small_table_path,
        rank=4,
        vocabulary=280,
        quantization="pq",
        pq_subvectors=2,
        random_state=0,
    ).fit()
    unseen = ["w285", "w299"]
    codes = embedding.transform_words(unseen).astype(np.float64)
    projection = _projection(embedding, small_keyed_vectors, unseen)
    for group in range(2):
        used = np.unique(embedding.quantized_codes_[:, group])
        centroids = embedding.codebooks_[group, used].astype(np.float64)
        columns = slice(2 * group, 2 * group + 2)
        distances = np.linalg.norm(
            projection[:, None, columns] - centroids[None], axis=2
        )
        np.testing.assert_allclose(
            codes[:, columns], centroids[np.argmin(distances, axis=1)], rtol=1e-6
        )


def test_unseen_word_weighs_the_largest_idf_in_tfidf_pooling(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4, pooling="tfidf")
    embedding.fit(small_corpus)
    n_documents = len(small_corpus)
    assert embedding.unseen_weight_ == pytest.approx(np.log(1 + n_documents) + 1)
    assert embedding.unseen_weight_ > embedding.pooling_weights_.max()
    seen_weight = embedding.pooling_weights_[embedding.vocabulary_["w0"]]
    codes = embedding.transform_words(["w0", "w250"])
    expected = (seen_weight * codes[0] + embedding.unseen_weight_ * codes[1]) / (
        seen_weight + embedding.unseen_weight_
    )
    np.testing.assert_allclose(embedding.transform(["w0 w250"])[0], expected, rtol=1e-5)


def test_unseen_word_weighs_one_in_sif_pooling(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    assert embedding.pooling == "sif-weighted"
    assert embedding.unseen_weight_ == 1.0
    seen_weight = embedding.pooling_weights_[embedding.vocabulary_["w0"]]
    assert seen_weight < 1.0
    codes = embedding.transform_words(["w0", "w250"])
    expected = (seen_weight * codes[0] + codes[1]) / (seen_weight + 1.0)
    np.testing.assert_allclose(embedding.transform(["w0 w250"])[0], expected, rtol=1e-5)


def test_to_keyedvectors_reaches_unseen_words_when_asked(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    assert "w250" not in embedding.to_keyedvectors()
    keyed_vectors = embedding.to_keyedvectors(["w250", "w3", "not-a-word"])
    assert keyed_vectors.index_to_key == ["w250", "w3"]
    np.testing.assert_array_equal(
        keyed_vectors["w250"], embedding.transform_words(["w250"])[0]
    )


def test_vocabulary_all_still_stores_every_code_at_fit(small_table_path):
    embedding = FactorizedEmbedding(small_table_path, rank=4, vocabulary="all").fit()
    assert embedding.embedding_.shape == (300, 4)


def test_documents_without_an_encodable_word_are_counted_in_one_warning(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4, batch_size=1)
    embedding.fit(small_corpus)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        codes = embedding.transform(["w1 w2", "", "Grüße aus Köln", "w250"])
    assert [str(warning.message)[:28] for warning in caught] == [
        "2 of the 4 documents have no"
    ]
    assert caught[0].category is UserWarning
    np.testing.assert_array_equal(codes[1:3], 0.0)
    assert np.all(codes[[0, 3]].any(axis=1))


def test_no_warning_when_every_document_has_an_encodable_word(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embedding.transform(["w1 unknown", "w250"])
        embedding.fit_transform(small_corpus)
    assert caught == []


def test_fit_transform_warns_of_empty_documents_too(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4)
    with pytest.warns(UserWarning, match="1 of the 121 documents"):
        embedding.fit_transform([*small_corpus, "nothing known"])


def test_concurrent_transforms_encode_new_words_once_and_agree(
    small_table_path, small_corpus
):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus[:40])
    documents = [" ".join(f"w{i}" for i in range(j, 300, 7)) for j in range(7)]
    expected = clone(embedding).fit(small_corpus[:40]).transform(documents)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: embedding.transform(documents), range(16)))
    for codes in results:
        np.testing.assert_array_equal(codes, expected)


def test_transform_dask_encodes_unseen_words(small_table_path, small_corpus):
    import dask.bag

    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    documents = ["w250 w3", "w299"]
    codes = transform_dask(embedding, dask.bag.from_sequence(documents)).compute()
    np.testing.assert_allclose(codes, embedding.transform(documents), rtol=1e-6)


def test_pickle_carries_no_codes_of_new_words(small_table_path, small_corpus):
    embedding = FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)
    before = len(pickle.dumps(embedding))
    embedding.transform([" ".join(f"w{i}" for i in range(300))])
    assert len(pickle.dumps(embedding)) == before


def test_movie_review_model_stays_small_once_it_has_met_news(movie_reviews):
    from sklearn_factorembed.datasets import fetch_ag_news

    documents, _ = movie_reviews
    embedding = FactorizedEmbedding(rank=25).fit(documents)
    embedding.transform(fetch_ag_news(subset="test", return_X_y=True)[0][:2000])
    assert len(pickle.dumps(embedding)) < 5_000_000


def _fit_on_a_table_copy(small_table_path, small_corpus, tmp_path, **params):
    table = tmp_path / "table.txt"
    shutil.copy(small_table_path, table)
    return FactorizedEmbedding(str(table), rank=4, **params).fit(small_corpus), table


@pytest.mark.parametrize("quantization", [None, "pq"])
def test_saved_extra_words_encode_without_the_table_in_a_fresh_process(
    small_table_path, small_corpus, tmp_path, quantization
):
    embedding, table = _fit_on_a_table_copy(
        small_table_path,
        small_corpus,
        tmp_path,
        quantization=quantization,
        pq_subvectors=2,
        random_state=0,
    )
    embedding.save(tmp_path / "model.npz", extra_words=50)
    table.unlink()
    extra = [f"w{i}" for i in range(300) if f"w{i}" not in embedding.vocabulary_]
    words = extra[:50] + extra[50:52] + ["w0"]  # 50 saved, 2 beyond them, a fit word
    script = textwrap.dedent(
        f"""
        import numpy as np
        from sklearn_factorembed import FactorizedEmbedding
        loaded = FactorizedEmbedding.load({str(tmp_path / "model.npz")!r})
        np.save({str(tmp_path / "codes.npy")!r}, loaded.transform_words({words!r}))
        np.save({str(tmp_path / "scales.npy")!r}, loaded.extra_code_scales_)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    codes = np.load(tmp_path / "codes.npy")
    scales = np.load(tmp_path / "scales.npy")
    shutil.copy(small_table_path, table)  # the original encodes with its table
    expected = embedding.transform_words(words)
    assert np.all(np.abs(codes[:50] - expected[:50]) <= scales / 2 + 1e-6)
    np.testing.assert_array_equal(codes[50:52], 0.0)  # neither fitted nor saved
    np.testing.assert_array_equal(codes[52], expected[52])


def test_default_save_covers_99_percent_of_news_tokens_in_5_mb(movie_reviews, tmp_path):
    from sklearn_factorembed._vectors import load_table
    from sklearn_factorembed.datasets import fetch_ag_news

    documents, _ = movie_reviews
    FactorizedEmbedding(rank=25).fit(documents).save(tmp_path / "model.npz")
    assert (tmp_path / "model.npz").stat().st_size <= 5_000_000
    loaded = FactorizedEmbedding.load(tmp_path / "model.npz")
    table = load_table("glove-6b-50d").vocabulary
    analyzer = loaded.build_analyzer()
    tokens = [
        token
        for document in fetch_ag_news(subset="test", return_X_y=True)[0]
        for token in analyzer(document)
        if token in table
    ]
    known = set(loaded.vocabulary_) | set(loaded.extra_vocabulary_)
    covered = sum(token in known for token in tokens)
    assert covered / len(tokens) >= 0.99
