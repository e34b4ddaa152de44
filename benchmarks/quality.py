"""How much of the raw table's quality the codes keep, per rank and setting.

Run from the repository root (a few minutes on two cores):

    FACTOREMBED_DATA=../shared/data python benchmarks/quality.py

Prints the full markdown table (dataset x rank x setting -> score and ratio to
"full"), the rank a variance fraction resolves to, and the short table README
shows. "full" is the plain mean of the raw GloVe 6B 50d vectors of a document's
tokens (same tokenizer), computed here from the table itself; both it and the
codes are classified by the same ``LogisticRegression(max_iter=2000)``.

- Movie reviews: 5-fold CV, ``StratifiedKFold(5, shuffle=True, random_state=0)``;
  everything (vocabulary, weights, post-processing, labels) is learned on the
  training folds only.
- AG News: fit on ``train``, scored once on ``test`` (the settings were chosen on
  CV of the training data, never on this split; the last table shows that CV
  for the subspace).
- Low resource (``--low-resource`` alone, or at the end of a full run): movie
  reviews and AG News ``train`` cut to 10% and 30% of their documents, 3
  stratified splits each (``StratifiedShuffleSplit(random_state=0)``); movie
  reviews scored on the rest, AG News on ``test``; "full" is computed on the
  same split. Reported as the mean and standard deviation over the splits of
  the ratio to full: the protocol defaults are chosen on.
- Word similarity: WS-353 and SimLex-999 (from gensim), vocabulary = the 50,000
  most frequent words, fitted without documents; the score is the mean of the
  two Spearman correlations, the ratio is to the raw 50-dim vectors of the same
  words.
"""

from __future__ import annotations

import argparse

import numpy as np
from gensim.models import KeyedVectors
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    StratifiedKFold,
    StratifiedShuffleSplit,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline

from sklearn_factorembed import FactorizedEmbedding, load_vectors
from sklearn_factorembed._text import build_analyzer, count_tokens, pool
from sklearn_factorembed.datasets import (
    evaluate_word_similarity,
    fetch_ag_news,
    fetch_movie_reviews,
)

VECTORS = "glove-6b-50d"
WORD_SIMILARITY = ("wordsim353", "simlex999")
N_FREQUENT_WORDS = 50_000

# (setting, parameters, ranks): the defaults over the ranks of the goals, the
# supervised variant at low rank, and one lever changed at a time at 10 and 25.
SETTINGS = [
    ("default", {}, (5, 10, 25, 50)),
    ("supervised=True", {"supervised": True}, (2, 5)),
    ("subspace='words'", {"subspace": "words"}, (5, 10, 25)),
    ("postprocess=None", {"postprocess": None}, (10, 25)),
    ("postprocess='ppa'", {"postprocess": "ppa"}, (10, 25)),
    ("pooling='mean'", {"pooling": "mean"}, (10, 25)),
    ("pooling='sif'", {"pooling": "sif"}, (10, 25)),
    ("weighting='log-frequency'", {"weighting": "log-frequency"}, (10, 25)),
    ("vocabulary='all'", {"vocabulary": "all"}, (10, 25)),
    (
        "v0.1 defaults",
        {
            "vocabulary": "corpus",
            "weighting": "log-frequency",
            "pooling": "mean",
            "postprocess": None,
            "subspace": "words",
        },
        (10, 25),
    ),
]
WORD_SETTINGS = ["default", "postprocess=None", "postprocess='ppa'", "v0.1 defaults"]
RANK_FRACTIONS = (0.5, 0.7, 0.8, 0.9, 0.95)


def classifier() -> LogisticRegression:
    return LogisticRegression(max_iter=2000)


def tfidf_baseline():
    """The strongest simple alternative: TF-IDF (sparse) + the same classifier."""
    return make_pipeline(TfidfVectorizer(), classifier())


def raw_mean_vectors(documents: list[str]) -> np.ndarray:
    """The "full" baseline: mean of the raw table rows of each document's tokens."""
    table = load_vectors(VECTORS)
    counts = count_tokens(documents, build_analyzer(), table.key_to_index)
    return pool(counts, np.asarray(table.vectors), pooling="mean")


def movie_reviews(folds):
    documents, labels = fetch_movie_reviews(return_X_y=True)
    full = cross_val_score(
        classifier(), raw_mean_vectors(documents), labels, cv=folds
    ).mean()

    def score(params):
        pipeline = make_pipeline(FactorizedEmbedding(**params), classifier())
        return cross_val_score(pipeline, documents, labels, cv=folds).mean()

    tfidf = cross_val_score(tfidf_baseline(), documents, labels, cv=folds).mean()
    return full, score, tfidf


def ag_news():
    train, train_labels = fetch_ag_news(subset="train", return_X_y=True)
    test, test_labels = fetch_ag_news(subset="test", return_X_y=True)
    full = (
        classifier()
        .fit(raw_mean_vectors(train), train_labels)
        .score(raw_mean_vectors(test), test_labels)
    )

    def score(params):
        pipeline = make_pipeline(FactorizedEmbedding(**params), classifier())
        return pipeline.fit(train, train_labels).score(test, test_labels)

    tfidf = tfidf_baseline().fit(train, train_labels).score(test, test_labels)
    return full, score, tfidf


def subspace_choice_on_ag_news_training_folds(folds) -> None:
    """How the default subspace was chosen for AG News: 5-fold CV of train."""
    train, labels = fetch_ag_news(subset="train", return_X_y=True)
    full = cross_val_score(classifier(), raw_mean_vectors(train), labels, cv=folds)
    print("\nAG News, 5-fold CV of train only (ratio to full, the raw mean vectors):")
    print("| rank | subspace='documents' | subspace='words' |")
    print("|---:|---:|---:|")
    for rank in (5, 10, 25):
        cells = []
        for subspace in ("documents", "words"):
            pipeline = make_pipeline(
                FactorizedEmbedding(rank=rank, subspace=subspace), classifier()
            )
            score = cross_val_score(pipeline, train, labels, cv=folds).mean()
            cells.append(f"{score / full.mean():.3f}")
        print(f"| {rank} | " + " | ".join(cells) + " |", flush=True)


def word_similarity():
    table = load_vectors(VECTORS)
    raw = KeyedVectors(vector_size=table.vector_size)
    raw.add_vectors(
        table.index_to_key[:N_FREQUENT_WORDS], table.vectors[:N_FREQUENT_WORDS]
    )

    def mean_spearman(vectors):
        scores = [evaluate_word_similarity(vectors, name) for name in WORD_SIMILARITY]
        return np.mean([result.spearman for result in scores])

    def score(params):
        params = {**params, "vocabulary": N_FREQUENT_WORDS}
        return mean_spearman(FactorizedEmbedding(**params).fit())

    return mean_spearman(raw), score, None


LOW_RESOURCE_FRACTIONS = (0.1, 0.3)
LOW_RESOURCE_SETTINGS = [
    ("default", {}, (10, 25, 50)),
    ("vocabulary='all'", {"vocabulary": "all"}, (10, 25, 50)),
    ("pooling='mean'", {"pooling": "mean"}, (10, 25, 50)),
    ("supervised='tune'", {"supervised": "tune"}, (10, 25)),
    (
        "supervised='tune', pooling='mean', tune_alpha=3e-5, tune_max_iter=50",
        {
            "supervised": "tune",
            "pooling": "mean",
            "tune_alpha": 3e-5,
            "tune_max_iter": 50,
        },
        (10, 25),
    ),
    (
        "supervised='tune', tune_solver='adam'",
        {"supervised": "tune", "tune_solver": "adam", "random_state": 0},
        (10, 25),
    ),
]


def low_resource_splits(fraction: float):
    """(name, train documents, train labels, test documents, test labels) of
    each of the 3 stratified splits of each dataset at ``fraction``."""
    splitter = StratifiedShuffleSplit(n_splits=3, train_size=fraction, random_state=0)
    documents, labels = fetch_movie_reviews(return_X_y=True)
    documents = np.asarray(documents, dtype=object)
    for train, rest in splitter.split(documents, labels):
        yield (
            "movie reviews",
            list(documents[train]),
            labels[train],
            list(documents[rest]),
            labels[rest],
        )
    train_documents, train_labels = fetch_ag_news(subset="train", return_X_y=True)
    test_documents, test_labels = fetch_ag_news(subset="test", return_X_y=True)
    train_documents = np.asarray(train_documents, dtype=object)
    for train, _ in splitter.split(train_documents, train_labels):
        yield (
            "AG News",
            list(train_documents[train]),
            train_labels[train],
            test_documents,
            test_labels,
        )


def low_resource(settings=LOW_RESOURCE_SETTINGS) -> dict:
    """Ratio to full, mean and standard deviation over the splits, by
    (dataset, fraction, setting, rank)."""
    ratios: dict = {}
    for fraction in LOW_RESOURCE_FRACTIONS:
        for dataset, train, train_y, test, test_y in low_resource_splits(fraction):
            full = (
                classifier()
                .fit(raw_mean_vectors(train), train_y)
                .score(raw_mean_vectors(test), test_y)
            )
            tfidf = tfidf_baseline().fit(train, train_y).score(test, test_y)
            key = (dataset, fraction, "TF-IDF + LogisticRegression", None)
            ratios.setdefault(key, []).append(tfidf / full)
            for setting, params, ranks in settings:
                for rank in ranks:
                    pipeline = make_pipeline(
                        FactorizedEmbedding(**params, rank=rank), classifier()
                    )
                    score = pipeline.fit(train, train_y).score(test, test_y)
                    key = (dataset, fraction, setting, rank)
                    ratios.setdefault(key, []).append(score / full)
    print("\nLow resource: ratio to full, mean (standard deviation) over 3 splits")
    print("| dataset | training data | setting | rank | ratio to full |")
    print("|---|---:|---|---:|---:|")
    summary = {}
    for (dataset, fraction, setting, rank), values in ratios.items():
        summary[dataset, fraction, setting, rank] = (np.mean(values), np.std(values))
        print(
            f"| {dataset} | {fraction:.0%} | {setting} | {rank or ''} | "
            f"{np.mean(values):.3f} ({np.std(values):.3f}) |",
            flush=True,
        )
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--low-resource", action="store_true", help="run the low-resource splits only"
    )
    if parser.parse_args().low_resource:
        low_resource()
        return
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    tasks = {
        "movie reviews (5-fold CV accuracy)": movie_reviews(folds),
        "AG News (test accuracy)": ag_news(),
        "word similarity (mean Spearman)": word_similarity(),
    }
    results = {}
    print("| dataset | rank | setting | score | ratio to full |")
    print("|---|---:|---|---:|---:|")
    for dataset, (full, score, tfidf) in tasks.items():
        print(f"| {dataset} | 50 | full (raw GloVe 50d) | {full:.4f} | 1.000 |")
        if tfidf is not None:
            results[dataset, "TF-IDF + LogisticRegression", None] = tfidf / full
            print(
                f"| {dataset} | | TF-IDF + LogisticRegression | {tfidf:.4f} | "
                f"{tfidf / full:.3f} |"
            )
        for setting, params, ranks in SETTINGS:
            if dataset.startswith("word") and setting not in WORD_SETTINGS:
                continue
            for rank in ranks:
                value = score({**params, "rank": rank})
                results[dataset, setting, rank] = value / full
                print(
                    f"| {dataset} | {rank} | {setting} | {value:.4f} | "
                    f"{value / full:.3f} |",
                    flush=True,
                )

    documents, _ = fetch_movie_reviews(return_X_y=True)
    print("\nRank a variance fraction resolves to (default settings, movie reviews):")
    print("| rank= | rank_ |")
    print("|---:|---:|")
    for fraction in RANK_FRACTIONS:
        fitted = FactorizedEmbedding(rank=fraction).fit(documents)
        print(f"| {fraction} | {fitted.rank_} |")

    subspace_choice_on_ag_news_training_folds(folds)
    low = low_resource()
    print(
        "\nREADME table (ratio to full; low resource: mean (standard deviation) "
        "over 3 splits):"
    )
    print(
        "| rank | setting | movie reviews | AG News | word similarity | "
        "movie reviews 10% | movie reviews 30% | AG News 10% | AG News 30% |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for setting, rank in [
        ("TF-IDF + LogisticRegression", None),
        ("default", 5),
        ("default", 10),
        ("default", 25),
        ("default", 50),
        ("subspace='words'", 5),
        ("subspace='words'", 10),
        ("subspace='words'", 25),
        ("vocabulary='all'", 10),
        ("vocabulary='all'", 25),
        ("supervised=True", 2),
        ("supervised=True", 5),
    ]:
        cells = [
            f"{results[dataset, setting, rank]:.3f}"
            if (dataset, setting, rank) in results
            else "n/a"
            for dataset in tasks
        ]
        for dataset in ("movie reviews", "AG News"):
            for fraction in LOW_RESOURCE_FRACTIONS:
                mean_std = low.get((dataset, fraction, setting, rank))
                cells.append(
                    "" if mean_std is None else "{:.3f} ({:.3f})".format(*mean_std)
                )
        print(f"| {rank or ''} | {setting} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
