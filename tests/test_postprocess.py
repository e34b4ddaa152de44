"""Post-processing (all-but-the-top, PPA), checked against plain numpy."""

from __future__ import annotations

import numpy as np
import pytest
from gensim.models import KeyedVectors

from sklearn_factorembed import FactorizedEmbedding, load_vectors
from sklearn_factorembed._postprocess import (
    default_n_removed,
    dominant_directions,
    remove_directions,
)


def _table(source) -> np.ndarray:
    return np.asarray(load_vectors(source).vectors, dtype=np.float64)


def _principal_directions(centred: np.ndarray) -> np.ndarray:
    return np.linalg.svd(centred, full_matrices=False)[2]


def _projector(rows: np.ndarray) -> np.ndarray:
    basis = np.linalg.qr(np.asarray(rows, dtype=np.float64).T)[0]
    return basis @ basis.T


def _fit(source, **params) -> FactorizedEmbedding:
    params = {"vocabulary": "all", "weighting": None, "dtype": np.float64, **params}
    return FactorizedEmbedding(source, **params).fit()


def test_dominant_directions_are_the_top_weighted_principal_directions():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(80, 6)) * [4.0, 3.0, 1.0, 1.0, 0.5, 0.2]
    weights = rng.uniform(0.5, 2.0, size=80)
    mean, directions = dominant_directions(table, weights, 2)
    expected_mean = weights @ table / weights.sum()
    scaled = (table - expected_mean) * np.sqrt(weights)[:, None]
    expected = _principal_directions(scaled)[:2]
    np.testing.assert_allclose(mean, expected_mean)
    np.testing.assert_allclose(_projector(directions), _projector(expected), atol=1e-10)


def test_remove_directions_leaves_nothing_along_them():
    rng = np.random.default_rng(1)
    table = rng.normal(size=(50, 5)) + 3.0
    directions = np.linalg.qr(rng.normal(size=(5, 2)))[0].T
    processed = remove_directions(table, table.mean(axis=0), directions)
    np.testing.assert_allclose(processed @ directions.T, 0.0, atol=1e-12)
    np.testing.assert_allclose(processed.mean(axis=0), 0.0, atol=1e-12)


def test_dominant_directions_rejects_removing_every_direction():
    with pytest.raises(ValueError, match="n_removed=3"):
        dominant_directions(np.eye(3), None, 3)


def test_default_n_removed_follows_the_paper_and_removes_at_least_one():
    assert default_n_removed(50) == 1
    assert default_n_removed(300) == 3


@pytest.mark.parametrize("postprocess", ["abtt", "ppa"])
@pytest.mark.parametrize(
    "picked_by",
    [
        {"subspace": "words"},
        {"subspace": "documents"},
        {"subspace": "words", "supervised": True},
    ],
    ids=["words", "documents", "labels"],
)
def test_components_are_orthonormal_and_orthogonal_to_the_removed_directions(
    small_table_path, small_corpus, small_labels, postprocess, picked_by
):
    # Whatever picks the directions (the words' variance, the documents', the
    # labels), it picks them in what post-processing leaves.
    embedding = FactorizedEmbedding(
        small_table_path,
        rank=4,
        vocabulary="all",
        weighting=None,
        dtype=np.float64,
        postprocess=postprocess,
        n_removed=2,
        **picked_by,
    ).fit(small_corpus, small_labels)
    removed = embedding.removed_directions_
    assert removed.shape == ((2 if postprocess == "abtt" else 4), 12)
    np.testing.assert_allclose(removed @ removed.T, np.eye(len(removed)), atol=1e-10)
    np.testing.assert_allclose(embedding.components_ @ removed.T, 0.0, atol=1e-10)
    np.testing.assert_allclose(
        embedding.components_ @ embedding.components_.T, np.eye(4), atol=1e-10
    )
    reconstructed = embedding.inverse_transform(embedding.embedding_)
    np.testing.assert_allclose(
        (reconstructed - embedding.mean_) @ removed.T, 0.0, atol=1e-10
    )


def test_abtt_factorizes_the_table_without_its_top_directions(small_table_path):
    table = _table(small_table_path)
    centred = table - table.mean(axis=0)
    top = _principal_directions(centred)[:1]
    processed = centred - centred @ top.T @ top
    expected = _principal_directions(processed)[:3]

    embedding = _fit(small_table_path, rank=3, postprocess="abtt", n_removed=1)

    # The table is float32 and its moments are float32 block products
    # (_factorize.weighted_moments): agreement to float32 precision.
    np.testing.assert_allclose(embedding.mean_, table.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(
        _projector(embedding.removed_directions_), _projector(top), atol=1e-6
    )
    np.testing.assert_allclose(
        _projector(embedding.components_), _projector(expected), atol=1e-6
    )
    np.testing.assert_allclose(
        embedding.embedding_, centred @ embedding.components_.T, atol=1e-6
    )


def test_ppa_matches_post_process_pca_post_process_in_numpy(small_table_path):
    # Raunak et al. (2019), written out: remove the mean and the top D
    # directions, PCA to rank + D dims, then the same post-processing again.
    table = _table(small_table_path)
    n_removed, rank = 1, 3
    centred = table - table.mean(axis=0)
    top = _principal_directions(centred)[:n_removed]
    processed = centred - centred @ top.T @ top
    reduced = processed @ _principal_directions(processed)[: rank + n_removed].T
    reduced = reduced - reduced.mean(axis=0)
    top_reduced = _principal_directions(reduced)[:n_removed]
    expected = reduced - reduced @ top_reduced.T @ top_reduced

    embedding = _fit(small_table_path, rank=rank, postprocess="ppa", n_removed=1)

    # Codes are defined up to a rotation: compare their Gram matrices.
    codes = embedding.transform_words(list(embedding.vocabulary_))
    # float32 table, float32 block moments: agreement to float32 precision.
    np.testing.assert_allclose(codes @ codes.T, expected @ expected.T, atol=1e-5)


def test_postprocessed_outputs_agree(small_table_path):
    embedding = _fit(small_table_path, rank=3, postprocess="ppa", n_removed=1)
    words = ["w3", "w10", "w42"]
    codes = embedding.transform_words(words)
    np.testing.assert_allclose(embedding.transform(words), codes, atol=1e-12)
    keyed_vectors = embedding.to_keyedvectors()
    np.testing.assert_allclose(keyed_vectors[words], codes, atol=1e-12)


@pytest.mark.parametrize("postprocess, rank, left", [("ppa", 11, 10), ("abtt", 12, 11)])
def test_rank_beyond_the_directions_left_is_an_error(
    small_table_path, small_corpus, postprocess, rank, left
):
    # d = 12: PPA's two passes of n_removed=1 leave 10 directions, ABTT's one 11.
    embedding = FactorizedEmbedding(
        small_table_path, rank=rank, postprocess=postprocess, n_removed=1
    )
    with pytest.raises(ValueError, match=f"rank={rank} exceeds the {left} directions"):
        embedding.fit(small_corpus)


def test_removed_directions_are_none_without_postprocessing(small_table_path):
    assert _fit(small_table_path, rank=3, postprocess=None).removed_directions_ is None


@pytest.mark.parametrize("postprocess", [None, "abtt", "ppa"])
def test_table_with_nan_is_a_clear_error(postprocess):
    vectors = np.random.default_rng(0).normal(size=(20, 6))
    vectors[3, 2] = np.nan
    table = KeyedVectors(vector_size=6)
    table.add_vectors([f"w{i}" for i in range(20)], vectors)
    with pytest.raises(ValueError, match="NaN or infinite"):
        _fit(table, rank=2, postprocess=postprocess)


@pytest.mark.parametrize("postprocess", ["abtt", "ppa"])
def test_auto_removal_leaves_room_for_the_rank_asked(
    small_table_path, small_corpus, postprocess
):
    # d = 12: rank 12 leaves no room, so nothing is removed and the table comes
    # back whole; rank 11 leaves room for one direction per pass.
    whole = FactorizedEmbedding(small_table_path, rank=12, postprocess=postprocess)
    whole.fit(small_corpus)
    assert whole.removed_directions_ is None
    table = np.array([load_vectors(small_table_path)[w] for w in whole.vocabulary_])
    np.testing.assert_allclose(
        whole.inverse_transform(whole.embedding_), table, atol=1e-4
    )
    rank = 11 if postprocess == "abtt" else 10
    reduced = FactorizedEmbedding(small_table_path, rank=rank, postprocess=postprocess)
    reduced.fit(small_corpus)
    assert reduced.removed_directions_.shape == (12 - rank, 12)


def test_abtt_from_the_moments_equals_factorizing_the_processed_table():
    from sklearn_factorembed._factorize import decompose
    from sklearn_factorembed._postprocess import (
        abtt_spectrum,
        dominant_directions,
        remove_directions,
    )

    rng = np.random.default_rng(3)
    table = rng.normal(size=(400, 8)) * np.geomspace(6, 0.2, 8) + 2.0
    weights = rng.uniform(0.1, 3.0, size=400)
    spectrum, removed = abtt_spectrum(table, weights, 2)

    mean, expected_removed = dominant_directions(table, weights, 2)
    processed = remove_directions(table, mean, expected_removed)
    expected = decompose(processed, weights, solver="full")
    np.testing.assert_allclose(spectrum.mean, mean, atol=1e-12)
    np.testing.assert_allclose(
        _projector(removed), _projector(expected_removed), atol=1e-10
    )
    np.testing.assert_allclose(
        spectrum.singular_values[:6], expected.singular_values[:6], rtol=1e-8
    )
    np.testing.assert_allclose(
        _projector(spectrum.components[:6]),
        _projector(expected.components[:6]),
        atol=1e-8,
    )
