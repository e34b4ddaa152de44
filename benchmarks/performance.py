"""Speed and memory of FactorizedEmbedding beside the baselines, as ratios.

Run from the repository root:

    FACTOREMBED_DATA=../shared/data python benchmarks/performance.py

(``--only fit`` runs one table, ``--only startup`` the start-up times alone;
``--blas-threads 1`` limits BLAS threads.)

Prints markdown tables (the README's "Performance" section): the machine and
library versions, then for each figure the best of several repeats of it and of
its baselines, run side by side in this one process. Machines are noisy and
shared, so the best time of each is kept and the ratios are what to read.

- transform: tokens/s on the movie-review sentences repeated to >= 1M tokens,
  against the common per-document loop (gensim ``KeyedVectors.get_mean_vector``
  over the full 50-dim table, fed the same tokenizer's output) and against the
  tokenizer alone, the floor.
- fit: the whole GloVe table (``vocabulary="all"``, 400,000 x 50, rank 25)
  against bare numpy covariance + ``eigh``, ``np.linalg.svd`` and scikit-learn's
  PCA and TruncatedSVD.
- tuning: the fit with ``supervised="tune"`` against the default (frozen) fit
  at the same rank, on all movie reviews and on AG News ``train``.
- GridSearchCV over rank [5, 10, 15, 25, 35, 50], 5 folds, with RidgeClassifier,
  against 5-fold cross-validation at one rank.
- warm load time of the default vectors, and the peak memory of fits.
- start-up: the median of several runs of each command in a fresh interpreter
  (``import sklearn_factorembed``, importing the estimator, ``factorembed
  --help``, and ``import model2vec`` where installed, for reference), as seconds
  above a bare ``python -c pass``.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import gensim
import numpy as np
import scipy
import sklearn
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

import sklearn_factorembed
from sklearn_factorembed import FactorizedEmbedding, _vectors
from sklearn_factorembed._factorize import decompose
from sklearn_factorembed._text import DEFAULT_TOKEN_PATTERN, build_analyzer
from sklearn_factorembed.datasets import fetch_ag_news, fetch_movie_reviews

RANKS = [5, 10, 15, 25, 35, 50]
MIN_TOKENS = 1_000_000
SECTIONS = ("transform", "fit", "tuning", "grid-search", "memory", "startup")


def clear_caches() -> dict:
    """Forget counts and decompositions, so that each repeat pays for them, but
    load the table again (and its vocabulary) before the clock starts."""
    sklearn_factorembed.clear_caches()
    return _vectors.load_table(_vectors.DEFAULT_VECTORS).vocabulary


def best_time(function, repeats: int) -> float:
    """The shortest of ``repeats`` wall-clock runs of ``function``, in seconds."""
    times = []
    for _ in range(repeats):
        clear_caches()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_machine(repeats: int, blas_threads: int | None) -> None:
    print("| machine | |")
    print("|---|---|")
    print(f"| CPU | {cpu_model()}, {os.cpu_count()} logical cores |")
    print(f"| load average at start | {os.getloadavg()[0]:.1f} |")
    print(f"| Python | {platform.python_version()} |")
    versions = ", ".join(
        f"{module.__name__} {module.__version__}"
        for module in (sklearn_factorembed, np, scipy, sklearn, gensim)
    )
    print(f"| libraries | {versions} |")
    print(f"| BLAS threads | {blas_threads or 'library default'} |")
    print(f"| repeats | best of {repeats} (slow baselines: best of 2) |")
    print()


def print_table(title: str, rows, baseline: str) -> None:
    """``rows``: (name, seconds, extra) with ``baseline`` one of the names."""
    reference = {name: seconds for name, seconds, _ in rows}[baseline]
    print(f"| {title} | time (s) | ratio to {baseline} | |")
    print("|---|---:|---:|---|")
    for name, seconds, extra in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / reference:.2f} | {extra} |")
    print()


def transform_benchmark(documents, repeats: int) -> None:
    analyzer = build_analyzer()
    n_tokens_once = sum(len(analyzer(document)) for document in documents)
    copies = -(-MIN_TOKENS // n_tokens_once)
    corpus = documents * copies
    n_tokens = n_tokens_once * copies
    embedding = FactorizedEmbedding(rank=25).fit(documents)
    table = _vectors.load_vectors("glove-6b-50d")

    def gensim_loop():
        return [
            table.get_mean_vector(tokens, pre_normalize=False)
            if tokens
            else np.zeros(table.vector_size, dtype=np.float32)
            for tokens in map(analyzer, corpus)
        ]

    tokenized = [analyzer(document) for document in corpus]

    def gensim_pooling_only():
        return [
            table.get_mean_vector(tokens, pre_normalize=False)
            if tokens
            else np.zeros(table.vector_size, dtype=np.float32)
            for tokens in tokenized
        ]

    pattern = re.compile(DEFAULT_TOKEN_PATTERN)
    rows = [
        (
            "FactorizedEmbedding.transform (rank 25)",
            best_time(lambda: embedding.transform(corpus), repeats),
        ),
        (
            "tokenizer alone: one findall over the joined batch (the floor)",
            best_time(lambda: pattern.findall("\x00".join(corpus).lower()), repeats),
        ),
        (
            "tokenizer alone: per document",
            best_time(lambda: [analyzer(document) for document in corpus], repeats),
        ),
        (
            "gensim get_mean_vector per document (50-d), tokenizing",
            best_time(gensim_loop, 2),
        ),
        (
            "gensim get_mean_vector per document (50-d), pre-tokenized",
            best_time(gensim_pooling_only, 2),
        ),
    ]
    print(
        f"transform: {len(corpus):,} movie-review sentences "
        f"({copies} copies), {n_tokens:,} tokens"
    )
    print()
    print_table(
        "transform",
        [
            (name, seconds, f"{n_tokens / seconds / 1e6:.2f} M tokens/s")
            for name, seconds in rows
        ],
        "FactorizedEmbedding.transform (rank 25)",
    )


def fit_benchmark(repeats: int) -> None:
    table = np.asarray(_vectors.load_vectors("glove-6b-50d").vectors)

    def bare_covariance_eigh():
        centred = table - table.mean(axis=0)
        return np.linalg.eigh(centred.T @ centred)

    def numpy_svd():
        return np.linalg.svd(table - table.mean(axis=0), full_matrices=False)

    def fit():
        return FactorizedEmbedding(rank=25, vocabulary="all").fit()

    rows = [
        (
            "FactorizedEmbedding.fit",
            best_time(fit, repeats),
            "decomposition + the 400,000 x 25 codes",
        ),
        (
            "of which the decomposition (covariance solver)",
            best_time(lambda: decompose(table), repeats),
            "",
        ),
        ("numpy covariance + eigh", best_time(bare_covariance_eigh, repeats), ""),
        ("np.linalg.svd", best_time(numpy_svd, 2), ""),
        (
            'PCA(svd_solver="full")',
            best_time(lambda: PCA(25, svd_solver="full").fit(table), 2),
            "",
        ),
        (
            'PCA(svd_solver="covariance_eigh")',
            best_time(lambda: PCA(25, svd_solver="covariance_eigh").fit(table), 2),
            "",
        ),
        (
            "TruncatedSVD(25) (not centred)",
            best_time(lambda: TruncatedSVD(25, random_state=0).fit(table), 2),
            "",
        ),
    ]
    print(f"fit: GloVe 6B 50d, vocabulary='all' ({len(table):,} x 50), rank 25")
    print()
    print_table("fit", rows, "numpy covariance + eigh")


def tuning_benchmark(reviews, repeats: int) -> None:
    datasets = {
        "movie reviews": reviews,
        "AG News train": fetch_ag_news(subset="train", return_X_y=True),
    }
    for dataset, (documents, labels) in datasets.items():
        for rank in (10, 25):
            models = {
                "frozen (default)": FactorizedEmbedding(rank=rank),
                "tuned (supervised='tune')": FactorizedEmbedding(
                    rank=rank, supervised="tune"
                ),
                "tuned by Adam (tune_solver='adam')": FactorizedEmbedding(
                    rank=rank, supervised="tune", tune_solver="adam", random_state=0
                ),
            }
            rows = [
                (
                    name,
                    best_time(functools.partial(model.fit, documents, labels), repeats),
                    "",
                )
                for name, model in models.items()
            ]
            print(f"tuning: {dataset} ({len(documents):,} documents), rank {rank}")
            print()
            print_table("fit", rows, "frozen (default)")


def grid_search_benchmark(documents, labels, repeats: int) -> None:
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    pipeline = make_pipeline(FactorizedEmbedding(rank=25), RidgeClassifier())
    grid = {"factorizedembedding__rank": RANKS}
    single = best_time(
        lambda: cross_val_score(pipeline, documents, labels, cv=folds), repeats
    )
    searched = best_time(
        lambda: GridSearchCV(pipeline, grid, cv=folds).fit(documents, labels), repeats
    )
    no_refit = best_time(
        lambda: GridSearchCV(pipeline, grid, cv=folds, refit=False).fit(
            documents, labels
        ),
        repeats,
    )
    print(
        f"grid search: movie reviews ({len(documents):,} sentences), ranks {RANKS}, "
        "5 folds, RidgeClassifier"
    )
    print()
    print_table(
        "grid search",
        [
            ("5-fold CV at rank 25", single, "5 fits"),
            ("GridSearchCV over 6 ranks", searched, "30 fits + refit on all"),
            ("GridSearchCV over 6 ranks, refit=False", no_refit, "30 fits"),
        ],
        "5-fold CV at rank 25",
    )


def memory_benchmark(documents, repeats: int) -> None:
    def warm_load():
        sklearn_factorembed.clear_caches()
        return _vectors.load_vectors("glove-6b-50d")

    warm_load()  # the files are now in the page cache
    load = best_time(warm_load, repeats)
    table = _vectors.load_vectors("glove-6b-50d")
    table_mb = table.vectors.nbytes / 1e6

    print("| load and memory | |")
    print("|---|---:|")
    print(f"| load glove-6b-50d, warm (memory-mapped) | {load:.3f} s |")
    print(f"| the table (400,000 x 50 float32, memory-mapped) | {table_mb:.0f} MB |")
    for label, make, X in (
        ("vocabulary='all'", lambda: FactorizedEmbedding(vocabulary="all"), None),
        ("movie reviews, vocabulary='corpus'", FactorizedEmbedding, documents),
    ):
        # The peak of a first fit on a loaded table: with the word -> row
        # vocabulary of the whole table too, which later fits share.
        sklearn_factorembed.clear_caches()
        _vectors.load_vectors("glove-6b-50d")
        tracemalloc.start()
        embedding = make().fit(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        factors = sum(
            array.nbytes
            for array in (embedding.embedding_, embedding.components_, embedding.mean_)
        )
        print(
            f"| fit rank 25, {label}: peak allocated (tracemalloc) / factors | "
            f"{peak / 1e6:.0f} MB / {factors / 1e6:.0f} MB |"
        )
    print()


def median_run_time(command: list[str], runs: int) -> float:
    """The median of ``runs`` wall-clock runs of ``command``, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def startup_benchmark(runs: int) -> None:
    python = sys.executable
    script = Path(python).with_name("factorembed")
    commands = [
        ("python -c pass", [python, "-c", "pass"]),
        ("import sklearn_factorembed", [python, "-c", "import sklearn_factorembed"]),
        (
            "from sklearn_factorembed import FactorizedEmbedding",
            [python, "-c", "from sklearn_factorembed import FactorizedEmbedding"],
        ),
        (
            "factorembed --help",
            # The interpreter's own console script, else the one on PATH.
            [str(script) if script.exists() else "factorembed", "--help"],
        ),
    ]
    if importlib.util.find_spec("model2vec") is not None:
        commands.append(
            ("import model2vec (reference)", [python, "-c", "import model2vec"])
        )
    times = [(name, median_run_time(command, runs)) for name, command in commands]
    bare = times[0][1]
    print(f"| start-up, median of {runs} runs | time (s) | above python -c pass (s) |")
    print("|---|---:|---:|")
    for name, seconds in times:
        print(f"| {name} | {seconds:.3f} | {seconds - bare:.3f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit BLAS threads (for everything measured); on a small machine "
        "shared with other work, 1 avoids threads waiting on busy cores",
    )
    parser.add_argument(
        "--only",
        choices=SECTIONS,
        default=None,
        help="run one table only (default: all of them)",
    )
    arguments = parser.parse_args()
    repeats = arguments.repeats
    # Loaded by the first section that needs the reviews.
    reviews = functools.cache(lambda: fetch_movie_reviews(return_X_y=True))
    sections = {
        "transform": lambda: transform_benchmark(reviews()[0], repeats),
        "fit": lambda: fit_benchmark(repeats),
        "tuning": lambda: tuning_benchmark(reviews(), repeats),
        "grid-search": lambda: grid_search_benchmark(*reviews(), repeats),
        "memory": lambda: memory_benchmark(reviews()[0], repeats),
        "startup": lambda: startup_benchmark(repeats),
    }
    with threadpool_limits(arguments.blas_threads, user_api="blas"):
        print_machine(repeats, arguments.blas_threads)
        for name in SECTIONS if arguments.only is None else [arguments.only]:
            sections[name]()


if __name__ == "__main__":
    main()
