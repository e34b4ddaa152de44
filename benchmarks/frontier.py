"""Compression frontier: bytes per word against word similarity, and the
classification check of quantized codes.

Run from the repository root:

    FACTOREMBED_DATA=../shared/data python benchmarks/frontier.py [--plot frontier.png]

Prints four markdown tables:

1. The frontier. For each setting, the stored code bytes per word (shared scales
   and codebooks spread over the words) and the word-similarity ratio: the mean
   Spearman correlation on WS-353 and SimLex-999 divided by that of the raw
   GloVe-50d table, all on the 50,000 most frequent words. Our settings are
   ``FactorizedEmbedding(rank, postprocess="ppa", quantization=...)``; beside
   them, product quantization of the raw 50-d table with the same quantizer
   (``sklearn_factorembed._quantize``), run in the same script.
2. Whether our frontier dominates raw-table PQ from 5 to 25 bytes per word: for
   each raw PQ point, our best ratio at no more bytes.
3. The time of product quantization beside compress-fasttext's
   (``compress_fasttext.quantize_ft``, 0.1.5, its defaults: 255 centroids, 5
   k-means iterations on all rows) on the same rows and number of groups: for
   our settings ``FactorizedEmbedding.fit`` whole (factorization included)
   against ``quantize_ft`` of the 50,000 unquantized codes of that fit; for the
   raw table our ``quantize_product`` against ``quantize_ft`` of the raw
   vectors. Best of ``--repeats`` runs of each, alternating, and the
   word-similarity ratio of both results. Without compress-fasttext installed
   (``pip install compress-fasttext==0.1.5``) its columns say "not installed".
4. Movie reviews, 5-fold CV accuracy of ``FactorizedEmbedding(rank=25) ->
   LogisticRegression`` (default settings) unquantized, with int8 and with PQ,
   and the ratio to unquantized.

``frontier_table()`` returns the rows of table 1 and ``plot_frontier(rows)``
draws them, for notebooks; ``speed_table()`` returns the rows of table 3.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from importlib import metadata

import numpy as np
from gensim.models import KeyedVectors
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

import sklearn_factorembed
from sklearn_factorembed import FactorizedEmbedding, load_vectors
from sklearn_factorembed._quantize import dequantize_product, quantize_product
from sklearn_factorembed.datasets import evaluate_word_similarity, fetch_movie_reviews

N_WORDS = 50_000
BENCHMARKS = ("wordsim353", "simlex999")
POSTPROCESS = "ppa"
# (rank, quantization, pq_subvectors) of our settings.
SETTINGS = (
    (25, None, None),
    (10, "int8", None),
    (20, "int8", None),
    (25, "int8", None),
    (40, "int8", None),
    (25, "pq", 5),
    (20, "pq", 10),
    (30, "pq", 10),
    (30, "pq", 15),
    (40, "pq", 20),
)
RAW_PQ_SUBVECTORS = (5, 10, 25)
CLASSIFICATION_RANK = 25
REPEATS = 3


def _mean_spearman(vectors) -> float:
    return float(
        np.mean(
            [evaluate_word_similarity(vectors, name).spearman for name in BENCHMARKS]
        )
    )


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    keyed_vectors = KeyedVectors(vector_size=vectors.shape[1])
    keyed_vectors.add_vectors(words, vectors)
    return keyed_vectors


def frontier_table(
    settings=SETTINGS,
    raw_pq_subvectors=RAW_PQ_SUBVECTORS,
    *,
    vectors: str = "glove-6b-50d",
    n_words: int = N_WORDS,
    postprocess: str | None = POSTPROCESS,
    random_state: int = 0,
) -> list[dict]:
    """Bytes per word and word-similarity ratio of each setting.

    Returns
    -------
    list of dict
        One row per setting, with keys ``method`` ("raw" or "factorized"),
        ``rank``, ``quantization``, ``pq_subvectors``, ``bytes_per_word``,
        ``spearman`` (mean over ``BENCHMARKS``), ``ratio`` (to the raw table)
        and ``seconds`` (fit time). The first row is the raw float32 table.
    """
    table = load_vectors(vectors)
    words = table.index_to_key[:n_words]
    raw = np.asarray(table.vectors[:n_words])
    raw_spearman = _mean_spearman(_keyed_vectors(words, raw))
    rows = [
        {
            "method": "raw",
            "rank": raw.shape[1],
            "quantization": None,
            "pq_subvectors": None,
            "bytes_per_word": float(raw.itemsize * raw.shape[1]),
            "spearman": raw_spearman,
            "ratio": 1.0,
            "seconds": 0.0,
        }
    ]
    for n_subvectors in raw_pq_subvectors:
        start = time.perf_counter()
        indices, codebooks = quantize_product(
            raw, n_subvectors, random_state=random_state
        )
        seconds = time.perf_counter() - start
        spearman = _mean_spearman(
            _keyed_vectors(words, dequantize_product(indices, codebooks))
        )
        rows.append(
            {
                "method": "raw",
                "rank": raw.shape[1],
                "quantization": "pq",
                "pq_subvectors": n_subvectors,
                "bytes_per_word": (indices.nbytes + codebooks.nbytes) / n_words,
                "spearman": spearman,
                "ratio": spearman / raw_spearman,
                "seconds": seconds,
            }
        )
    for rank, quantization, pq_subvectors in settings:
        start = time.perf_counter()
        embedding = FactorizedEmbedding(
            vectors,
            rank=rank,
            vocabulary=n_words,
            postprocess=postprocess,
            quantization=quantization,
            pq_subvectors=pq_subvectors,
            random_state=random_state,
        ).fit()
        seconds = time.perf_counter() - start
        spearman = _mean_spearman(embedding)
        rows.append(
            {
                "method": "factorized",
                "rank": rank,
                "quantization": quantization,
                "pq_subvectors": pq_subvectors,
                "bytes_per_word": embedding.bytes_per_word_,
                "spearman": spearman,
                "ratio": spearman / raw_spearman,
                "seconds": seconds,
            }
        )
    return rows


def _compress_fasttext_pq(words: list[str], vectors: np.ndarray, n_subvectors: int):
    """compress-fasttext's ``quantize_ft`` of ``vectors`` as the word vectors of
    a fastText model with ``n_subvectors`` groups; returns the seconds it took
    and the dequantized vectors, or None if compress-fasttext is not installed.

    ``quantize_ft`` quantizes a model's n-gram vectors too; the model gets 256
    of them, the fewest its 255-centroid k-means accepts, which costs
    milliseconds.
    """
    try:
        from compress_fasttext import quantize_ft
    except ImportError:
        return None
    from gensim.models.fasttext import FastTextKeyedVectors

    model = FastTextKeyedVectors(
        vector_size=vectors.shape[1], min_n=3, max_n=6, bucket=256
    )
    model.index_to_key = list(words)
    model.key_to_index = {word: row for row, word in enumerate(words)}
    model.vectors = vectors
    model.vectors_ngrams = vectors[:256]
    start = time.perf_counter()
    quantized = quantize_ft(model, qdim=n_subvectors)
    seconds = time.perf_counter() - start
    return seconds, quantized.vectors.unpack()


def _fit_seconds(make_embedding, vectors: str) -> float:
    """Seconds of ``make_embedding().fit()`` with the factorization caches
    emptied but the table loaded, as a first fit in a session pays."""
    sklearn_factorembed.clear_caches()
    load_vectors(vectors)
    start = time.perf_counter()
    make_embedding().fit()
    return time.perf_counter() - start


def speed_table(
    settings=SETTINGS,
    raw_pq_subvectors=RAW_PQ_SUBVECTORS,
    *,
    vectors: str = "glove-6b-50d",
    n_words: int = N_WORDS,
    postprocess: str | None = POSTPROCESS,
    repeats: int = REPEATS,
    random_state: int = 0,
) -> list[dict]:
    """Seconds of our product quantization and of compress-fasttext's on the
    same rows, best of ``repeats`` alternating runs, and the word-similarity
    ratio of both.

    Returns
    -------
    list of dict
        One row per PQ setting, with keys ``method``, ``rank``,
        ``quantization``, ``pq_subvectors``, ``seconds`` and ``ratio`` (ours),
        ``theirs_seconds`` and ``theirs_ratio`` (None without compress-fasttext).
    """
    table = load_vectors(vectors)
    words = table.index_to_key[:n_words]
    raw = np.asarray(table.vectors[:n_words])
    raw_spearman = _mean_spearman(_keyed_vectors(words, raw))
    cases = [("raw", raw.shape[1], n_subvectors) for n_subvectors in raw_pq_subvectors]
    cases += [
        ("factorized", rank, n_subvectors)
        for rank, quantization, n_subvectors in settings
        if quantization == "pq"
    ]
    rows = []
    for method, rank, n_subvectors in cases:

        def embedding(quantization, rank=rank, n_subvectors=n_subvectors):
            return FactorizedEmbedding(
                vectors,
                rank=rank,
                vocabulary=n_words,
                postprocess=postprocess,
                quantization=quantization,
                pq_subvectors=n_subvectors,
                random_state=random_state,
            )

        if method == "raw":
            rows_words, rows_vectors = words, raw
        else:
            unquantized = embedding(None).fit()
            rows_words = list(unquantized.vocabulary_)
            rows_vectors = unquantized.embedding_
        ours, theirs = [], []
        for _ in range(repeats):
            if method == "raw":
                start = time.perf_counter()
                indices, codebooks = quantize_product(
                    raw, n_subvectors, random_state=random_state
                )
                ours.append(time.perf_counter() - start)
                ours_vectors = _keyed_vectors(
                    words, dequantize_product(indices, codebooks)
                )
            else:
                ours.append(_fit_seconds(lambda: embedding("pq"), vectors))
            # compress-fasttext draws from numpy's global generator.
            np.random.seed(random_state)
            result = _compress_fasttext_pq(rows_words, rows_vectors, n_subvectors)
            if result is not None:
                theirs.append(result[0])
        if method == "factorized":
            ours_vectors = embedding("pq").fit()
        theirs_ratio = None
        if result is not None:
            theirs_ratio = (
                _mean_spearman(_keyed_vectors(rows_words, result[1])) / raw_spearman
            )
        rows.append(
            {
                "method": method,
                "rank": rank,
                "quantization": "pq",
                "pq_subvectors": n_subvectors,
                "seconds": min(ours),
                "ratio": _mean_spearman(ours_vectors) / raw_spearman,
                "theirs_seconds": min(theirs) if theirs else None,
                "theirs_ratio": theirs_ratio,
            }
        )
    return rows


def dominance(rows: list[dict], low: float = 5.0, high: float = 26.0) -> list[dict]:
    """For each raw-table PQ row between ``low`` and ``high`` bytes per word,
    the best factorized row at no more bytes, and whether it is at least as good.
    (26 rather than 25 leaves room for the codebooks of 25 sub-vectors.)"""
    ours = [row for row in rows if row["method"] == "factorized"]
    comparisons = []
    for raw in rows:
        if raw["method"] != "raw" or not low <= raw["bytes_per_word"] <= high:
            continue
        affordable = [
            row for row in ours if row["bytes_per_word"] <= raw["bytes_per_word"]
        ]
        best = max(affordable, key=lambda row: row["ratio"], default=None)
        comparisons.append(
            {
                "raw": raw,
                "best": best,
                "dominated": best is not None and best["ratio"] >= raw["ratio"],
            }
        )
    return comparisons


def classification_table(
    rank: int = CLASSIFICATION_RANK, random_state: int = 0
) -> list[dict]:
    """Movie-review 5-fold CV accuracy at ``rank``, unquantized, int8 and PQ."""
    documents, labels = fetch_movie_reviews(return_X_y=True)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    rows = []
    for quantization in (None, "int8", "pq"):
        pipeline = make_pipeline(
            FactorizedEmbedding(
                rank=rank, quantization=quantization, random_state=random_state
            ),
            LogisticRegression(max_iter=1000),
        )
        accuracy = cross_val_score(pipeline, documents, labels, cv=folds).mean()
        rows.append({"quantization": quantization, "accuracy": float(accuracy)})
    for row in rows:
        row["ratio"] = row["accuracy"] / rows[0]["accuracy"]
    return rows


def _label(row: dict) -> str:
    if row["method"] == "raw":
        name = "raw table"
    else:
        name = f"rank {row['rank']}"
    if row["quantization"] == "pq":
        return f"{name} + PQ {row['pq_subvectors']}"
    if row["quantization"] == "int8":
        return f"{name} + int8"
    return f"{name} float32"


def plot_frontier(rows: list[dict], ax=None):
    """Bytes per word (log scale) against the word-similarity ratio, our
    settings beside raw-table PQ; returns the matplotlib axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    for method, marker, name in (
        ("raw", "s", "raw GloVe-50d (float32, PQ)"),
        ("factorized", "o", f"factorized, postprocess={POSTPROCESS!r} (+ int8, PQ)"),
    ):
        points = [row for row in rows if row["method"] == method]
        ax.scatter(
            [row["bytes_per_word"] for row in points],
            [row["ratio"] for row in points],
            marker=marker,
            label=name,
        )
        for row in points:
            ax.annotate(
                _label(row),
                (row["bytes_per_word"], row["ratio"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("bytes per word (codes + amortized codebooks)")
    ax.set_ylabel("word similarity / raw table")
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.legend(loc="lower right")
    return ax


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="save a PNG of the frontier to this path")
    parser.add_argument(
        "--repeats",
        type=int,
        default=REPEATS,
        help=f"runs of each timing, the best kept (default {REPEATS})",
    )
    arguments = parser.parse_args()
    logging.disable(logging.WARNING)  # gensim logs every add_vectors

    rows = frontier_table()
    print(
        f"word similarity ({' + '.join(BENCHMARKS)}), {N_WORDS:,} most frequent "
        f"GloVe-50d words; raw table mean Spearman {rows[0]['spearman']:.4f}"
    )
    print("| setting | bytes/word | mean Spearman | ratio to raw | fit (s) |")
    print("|---|---:|---:|---:|---:|")
    for row in sorted(rows, key=lambda row: row["bytes_per_word"]):
        print(
            f"| {_label(row)} | {row['bytes_per_word']:.2f} | {row['spearman']:.4f} | "
            f"{row['ratio']:.3f} | {row['seconds']:.2f} |"
        )

    print("\nraw-table PQ against our best setting at no more bytes per word")
    print("| raw PQ | bytes/word | ratio | our best | bytes/word | ratio | dominated |")
    print("|---|---:|---:|---|---:|---:|---|")
    for comparison in dominance(rows):
        raw, best = comparison["raw"], comparison["best"]
        ours = (
            "| none | | "
            if best is None
            else f"| {_label(best)} | {best['bytes_per_word']:.2f} | "
            f"{best['ratio']:.3f} "
        )
        print(
            f"| {_label(raw)} | {raw['bytes_per_word']:.2f} | {raw['ratio']:.3f} "
            f"{ours}| {'yes' if comparison['dominated'] else 'NO'} |"
        )

    print(
        f"\nproduct quantization of the {N_WORDS:,} rows beside compress-fasttext "
        f"{_version('compress-fasttext')} quantize_ft (same rows, same groups; "
        f"best of {arguments.repeats}; load average at start "
        f"{os.getloadavg()[0]:.1f}, {os.cpu_count()} cores)"
    )
    print(
        "| setting | ours (s) | compress-fasttext (s) | ours / theirs "
        "| ratio to raw, ours | ratio to raw, theirs |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for row in speed_table(repeats=arguments.repeats):
        if row["theirs_seconds"] is None:
            theirs, ratio, theirs_ratio = "not installed", "", "not installed"
        else:
            theirs = f"{row['theirs_seconds']:.2f}"
            ratio = f"{row['seconds'] / row['theirs_seconds']:.2f}"
            theirs_ratio = f"{row['theirs_ratio']:.3f}"
        print(
            f"| {_label(row)} | {row['seconds']:.2f} | {theirs} | {ratio} | "
            f"{row['ratio']:.3f} | {theirs_ratio} |"
        )

    print(
        f"\nmovie reviews, 5-fold CV, FactorizedEmbedding(rank="
        f"{CLASSIFICATION_RANK}) -> LogisticRegression"
    )
    print("| quantization | accuracy | ratio to unquantized |")
    print("|---|---:|---:|")
    for row in classification_table():
        print(f"| {row['quantization']} | {row['accuracy']:.4f} | {row['ratio']:.3f} |")

    if arguments.plot:
        import matplotlib

        matplotlib.use("Agg")
        plot_frontier(rows).figure.savefig(arguments.plot, dpi=150, bbox_inches="tight")
        print(f"\nplot saved to {arguments.plot}")


if __name__ == "__main__":
    main()
