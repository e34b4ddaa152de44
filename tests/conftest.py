"""Shared fixtures: a small synthetic vector table and corpus, models fitted on
them, and the real data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from threadpoolctl import threadpool_limits

from sklearn_factorembed import FactorizedEmbedding, _factorize

N_WORDS = 300
N_DIMS = 12


@pytest.fixture(scope="session")
def small_keyed_vectors() -> KeyedVectors:
    """300 words x 12 dims with a decaying spectrum and a non-zero mean."""
    rng = np.random.default_rng(0)
    scales = np.geomspace(3.0, 0.05, N_DIMS)
    vectors = (rng.normal(size=(N_WORDS, N_DIMS)) * scales) @ np.linalg.qr(
        rng.normal(size=(N_DIMS, N_DIMS))
    )[0] + rng.normal(size=N_DIMS)
    keyed_vectors = KeyedVectors(vector_size=N_DIMS)
    keyed_vectors.add_vectors([f"w{i}" for i in range(N_WORDS)], vectors)
    return keyed_vectors


@pytest.fixture(scope="session")
def small_table_path(small_keyed_vectors, tmp_path_factory) -> str:
    """The small table as a word2vec text file, a source that clones cheaply."""
    path = tmp_path_factory.mktemp("vectors") / "small.txt"
    small_keyed_vectors.save_word2vec_format(str(path), binary=False)
    return str(path)


@pytest.fixture(scope="session")
def small_corpus() -> list[str]:
    """Documents over the first 200 words of the small table, Zipf-like counts."""
    rng = np.random.default_rng(1)
    probabilities = 1.0 / np.arange(1, 201)
    probabilities /= probabilities.sum()
    return [
        " ".join(
            f"w{i}" for i in rng.choice(200, size=rng.integers(3, 15), p=probabilities)
        )
        for _ in range(120)
    ]


@pytest.fixture(scope="session")
def small_labels(small_corpus) -> np.ndarray:
    """A label per document of ``small_corpus``: does it mention an even word?"""
    return np.array(
        [
            int(any(int(token[1:]) % 2 == 0 for token in document.split()[:2]))
            for document in small_corpus
        ]
    )


@pytest.fixture(scope="session")
def core():
    """FactorizedEmbedding with the core factorization pinned: corpus vocabulary,
    log-frequency row weights, mean pooling, no post-processing, the words'
    subspace. Tests computing the factors or codes by hand use it; the defaults
    chosen for quality have tests of their own."""
    return partial(
        FactorizedEmbedding,
        vocabulary="corpus",
        weighting="log-frequency",
        pooling="mean",
        postprocess=None,
        subspace="words",
    )


@pytest.fixture
def fitted(small_table_path, small_corpus) -> FactorizedEmbedding:
    """A rank-4 model of the small table with the default parameters, fitted on
    the small corpus; a fresh one per test, which may change it."""
    return FactorizedEmbedding(small_table_path, rank=4).fit(small_corpus)


@pytest.fixture(scope="session")
def movie_reviews():
    """The sentence-polarity data as (documents, labels), from FACTOREMBED_DATA."""
    from sklearn_factorembed.datasets import fetch_movie_reviews

    return fetch_movie_reviews(return_X_y=True, download_if_missing=False)


def _train_fasttext(tmp_path_factory, name: str, **params) -> str:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    rng = np.random.default_rng(2)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "po"]
    words = [
        "".join(rng.choice(syllables, size=rng.integers(2, 5))) for _ in range(300)
    ]
    sentences = [list(rng.choice(words, size=10)) for _ in range(400)]
    model = FastText(
        sentences,
        vector_size=16,
        min_count=1,
        bucket=2000,
        epochs=3,
        seed=0,
        workers=1,
        **params,
    )
    path = tmp_path_factory.mktemp("fasttext") / f"{name}.bin"
    save_facebook_model(model, str(path))
    return str(path)


@pytest.fixture(scope="session")
def fasttext_path(tmp_path_factory) -> str:
    """A small fastText model trained here with gensim (words of 2 to 4 made-up
    syllables, 16 dims, n-grams of 3 to 6 characters in 2,000 buckets), saved
    as a Facebook .bin file."""
    return _train_fasttext(tmp_path_factory, "small")


@pytest.fixture(scope="session")
def long_ngrams_fasttext_path(tmp_path_factory) -> str:
    """The same with n-grams of 5 and 6 characters only: "ab" ("<ab>") has none."""
    return _train_fasttext(tmp_path_factory, "long-ngrams", min_n=5, max_n=6)


@pytest.fixture
def two_blas_threads():
    """BLAS set to two threads for the test, whatever the environment says
    (the notebook harness and CI may set one), so that a section the package
    leaves on one thread shows."""
    with threadpool_limits(limits=2, user_api="blas"):
        assert _factorize._current_blas_threads() == 2
        yield


def _outcomes_of_each_file(script: str, folder, seconds: int = 60) -> dict:
    """Run ``script`` (which prints one JSON ``[file name, outcome]`` line per
    file of ``folder``) in a fresh Python: file name -> outcome. After
    ``seconds``, the file being read is reported as ``["hangs", ...]`` and the
    outcomes printed so far are returned all the same, so that a module-scoped
    fixture fails its tests once, not once per test."""
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    try:
        result = subprocess.run(
            [sys.executable, "-c", script, str(folder)],
            capture_output=True,
            text=True,
            timeout=seconds,
            env=environment,
        )
    except subprocess.TimeoutExpired as timeout:
        printed = timeout.stdout or b""  # bytes, whatever text=True says
        if isinstance(printed, bytes):
            printed = printed.decode()
        outcomes = dict(map(json.loads, printed.splitlines()))
        hung = next(
            path.name
            for path in sorted(Path(folder).iterdir())
            if path.name not in outcomes
        )
        return outcomes | {hung: ["hangs", f"still loading after {seconds} s"]}
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(map(json.loads, result.stdout.splitlines()))


@pytest.fixture(scope="session")
def outcomes_of_each_file():
    """:func:`_outcomes_of_each_file`: a script's outcome for each file of a
    folder, read in a fresh Python with a timeout."""
    return _outcomes_of_each_file
