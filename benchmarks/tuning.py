"""Task-tuned codes (``supervised="tune"``) beside frozen codes and TF-IDF.

Run from the repository root (about ten minutes on two cores):

    FACTOREMBED_DATA=../shared/data python benchmarks/tuning.py

Prints, for movie reviews (5-fold CV, ``StratifiedKFold(5, shuffle=True,
random_state=0)``) and AG News (fit on ``train``, scored on ``test``), the
accuracy of ``LogisticRegression(max_iter=2000)`` on frozen codes, on tuned
codes at each ``tune_alpha`` of the grid (L-BFGS) and tuned by Adam
(``tune_solver="adam"``), and on TF-IDF, with fit times as
ratios to the frozen fit at the same rank. Then the leak check on movie
reviews: the downstream classifier trained on the tuned codes of its own
training documents (in-fold, what a Pipeline does) against one trained on
their out-of-fold codes (cross-fitted over 3 inner folds, as scikit-learn's
``TargetEncoder.fit_transform`` does), both scored on the held-out fold.
``--alphas`` and ``--ranks`` change the grid; the leak check runs at the
default ``tune_alpha``, with either solver.

``--nested`` runs instead what a user would: the pooling, ``tune_solver``
and the downstream classifier's ``C`` chosen per training split by
``GridSearchCV`` (3 inner folds of the training documents only, grid
``SEARCHED``), beside TF-IDF + LogisticRegression with its ``C`` searched the
same way; movie reviews scored on each outer fold, AG News on ``test``.

``--seeds`` measures how much ``tune_solver="adam"`` depends on its seed:
accuracy over ``random_state`` 0 to 4, under LogisticRegression with the
``C`` that ``--nested`` chose on AG News and with the default ``C=1``.

``--ceiling`` asks how far other word-count features or a non-linear head
could go:
- the best of the TF-IDF + LogisticRegression variants in ``TFIDF_VARIANTS``
  (uni- and bigrams, sublinear tf, ``C``), chosen on the test data itself: an
  upper bound for TF-IDF features, not a model to pick;
- frozen and tuned codes (L-BFGS, the default) at rank 25 under
  LogisticRegression and under an ``MLPClassifier`` head (one hidden layer of
  512, as model2vec's classifier).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, ParameterGrid, StratifiedKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_factorembed import FactorizedEmbedding, clear_caches
from sklearn_factorembed._embedding import TUNE_ALPHA
from sklearn_factorembed.datasets import fetch_ag_news, fetch_movie_reviews

# The grid --nested searches: the two poolings, each tuned by either solver,
# under a downstream classifier regularised as by default or harder (the
# codes of the training documents were tuned on their labels).
SEARCHED = {
    "factorizedembedding__pooling": ["sif-weighted", "mean"],
    "factorizedembedding__tune_solver": ["lbfgs", "adam"],
    "logisticregression__C": [0.03, 0.3, 1.0],
}
DATASETS = ("movie reviews", "AG News")
TFIDF_SEARCHED = {"logisticregression__C": [0.3, 1.0, 3.0, 10.0]}
# The linear models of word counts --ceiling tries.
TFIDF_VARIANTS = {
    "tfidfvectorizer__ngram_range": [(1, 1), (1, 2)],
    "tfidfvectorizer__sublinear_tf": [False, True],
    "logisticregression__C": [1.0, 3.0, 10.0, 30.0],
}


def classifier() -> LogisticRegression:
    return LogisticRegression(max_iter=2000)


def score(model, train, train_y, test, test_y) -> tuple[float, float]:
    """Accuracy on ``test`` of a classifier on ``model``'s codes, and the
    seconds ``model`` took to fit."""
    clear_caches()  # each fit pays for its own decomposition
    start = time.perf_counter()
    codes = model.fit_transform(train, train_y)
    seconds = time.perf_counter() - start
    head = classifier().fit(codes, train_y)
    return head.score(model.transform(test), test_y), seconds


def splits(dataset: str):
    if dataset == "movie reviews":
        documents, labels = fetch_movie_reviews(return_X_y=True)
        documents = np.asarray(documents, dtype=object)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        for train, test in folds.split(documents, labels):
            yield (
                list(documents[train]),
                labels[train],
                list(documents[test]),
                labels[test],
            )
    else:
        train, train_y = fetch_ag_news(subset="train", return_X_y=True)
        test, test_y = fetch_ag_news(subset="test", return_X_y=True)
        yield train, train_y, test, test_y


def compare(ranks, alphas, datasets) -> None:
    print("| dataset | rank | codes | accuracy | fit time, ratio to frozen |")
    print("|---|---:|---|---:|---:|")
    for dataset in datasets:
        tfidf = np.mean(
            [
                make_pipeline(TfidfVectorizer(), classifier())
                .fit(train, train_y)
                .score(test, test_y)
                for train, train_y, test, test_y in splits(dataset)
            ]
        )
        print(f"| {dataset} | | TF-IDF + LogisticRegression | {tfidf:.4f} | |")
        for rank in ranks:
            models = {"frozen": FactorizedEmbedding(rank=rank)} | {
                f"tuned, tune_alpha={alpha:g}": FactorizedEmbedding(
                    rank=rank, supervised="tune", tune_alpha=alpha
                )
                for alpha in alphas
            }
            models["tuned, tune_solver='adam'"] = FactorizedEmbedding(
                rank=rank, supervised="tune", tune_solver="adam", random_state=0
            )
            results = {name: [] for name in models}
            for train, train_y, test, test_y in splits(dataset):
                for name, model in models.items():
                    results[name].append(
                        score(clone(model), train, train_y, test, test_y)
                    )
            frozen_seconds = np.mean([s for _, s in results["frozen"]])
            for name, values in results.items():
                accuracy = np.mean([a for a, _ in values])
                ratio = np.mean([s for _, s in values]) / frozen_seconds
                print(
                    f"| {dataset} | {rank} | {name} | {accuracy:.4f} | {ratio:.1f} |",
                    flush=True,
                )


def nested(ranks, datasets) -> None:
    print("| dataset | model | accuracy | settings chosen (count over splits) |")
    print("|---|---|---:|---|")
    inner = StratifiedKFold(3, shuffle=True, random_state=1)
    models = {
        "TF-IDF + LogisticRegression": (
            make_pipeline(TfidfVectorizer(), classifier()),
            TFIDF_SEARCHED,
        )
    }
    for rank in ranks:
        tuned = FactorizedEmbedding(rank=rank, supervised="tune", random_state=0)
        models[f"tuned, rank {rank}"] = (make_pipeline(tuned, classifier()), SEARCHED)
    for dataset in datasets:
        for name, (pipeline, grid) in models.items():
            scores, chosen = [], {}
            for train, train_y, test, test_y in splits(dataset):
                search = GridSearchCV(pipeline, grid, cv=inner).fit(train, train_y)
                scores.append(search.score(test, test_y))
                settings = ", ".join(
                    f"{key.split('__')[1]}={value}"
                    for key, value in sorted(search.best_params_.items())
                )
                chosen[settings] = chosen.get(settings, 0) + 1
            described = "; ".join(f"{key} ({n})" for key, n in chosen.items())
            print(
                f"| {dataset} | {name} | {np.mean(scores):.4f} "
                f"({np.std(scores):.3f}) | {described} |",
                flush=True,
            )


def leak(rank: int, alpha: float, solver: str = "lbfgs") -> None:
    print(
        f"\nLeak check, movie reviews, rank {rank}, tune_alpha={alpha:g}, "
        f"tune_solver={solver!r}:"
    )
    print("| downstream classifier trained on | held-out accuracy |")
    print("|---|---:|")
    in_fold, out_of_fold = [], []
    inner = StratifiedKFold(3, shuffle=True, random_state=1)
    for train, train_y, test, test_y in splits("movie reviews"):
        model = FactorizedEmbedding(
            rank=rank,
            supervised="tune",
            tune_alpha=alpha,
            tune_solver=solver,
            random_state=0,
        )
        codes = model.fit_transform(train, train_y)
        test_codes = model.transform(test)
        in_fold.append(classifier().fit(codes, train_y).score(test_codes, test_y))
        crossed = np.zeros_like(codes)
        train = np.asarray(train, dtype=object)
        for fit_rows, held_rows in inner.split(train, train_y):
            part = clone(model).fit(list(train[fit_rows]), train_y[fit_rows])
            crossed[held_rows] = part.transform(list(train[held_rows]))
        out_of_fold.append(classifier().fit(crossed, train_y).score(test_codes, test_y))
    print(f"| in-fold tuned codes | {np.mean(in_fold):.4f} ({np.std(in_fold):.3f}) |")
    print(
        f"| out-of-fold tuned codes | {np.mean(out_of_fold):.4f} "
        f"({np.std(out_of_fold):.3f}) |"
    )


def mean_score(model, dataset: str) -> float:
    return np.mean(
        [
            clone(model).fit(train, train_y).score(test, test_y)
            for train, train_y, test, test_y in splits(dataset)
        ]
    )


def seeds(ranks, datasets, n_seeds: int = 5, strengths=(0.03, 1.0)) -> None:
    print("| dataset | rank | downstream C | accuracy, mean (std) over seeds | range |")
    print("|---|---:|---:|---:|---|")
    for dataset in datasets:
        for rank in ranks:
            accuracy = {C: [] for C in strengths}
            for seed in range(n_seeds):
                model = FactorizedEmbedding(
                    rank=rank, supervised="tune", tune_solver="adam", random_state=seed
                )
                scores = {C: [] for C in strengths}
                for train, train_y, test, test_y in splits(dataset):
                    fitted = clone(model)
                    train_codes = fitted.fit_transform(train, train_y)
                    test_codes = fitted.transform(test)
                    for C in strengths:
                        head = LogisticRegression(C=C, max_iter=2000)
                        head.fit(train_codes, train_y)
                        scores[C].append(head.score(test_codes, test_y))
                for C in strengths:
                    accuracy[C].append(np.mean(scores[C]))
            for C, values in accuracy.items():
                print(
                    f"| {dataset} | {rank} | {C:g} | {np.mean(values):.4f} "
                    f"({np.std(values):.4f}) | {min(values):.4f}-{max(values):.4f} |",
                    flush=True,
                )


def ceiling(datasets) -> None:
    print("| dataset | model | accuracy |")
    print("|---|---|---:|")
    heads = {
        "LogisticRegression": classifier(),
        "MLPClassifier(512)": make_pipeline(
            StandardScaler(),
            MLPClassifier((512,), early_stopping=True, max_iter=300, random_state=0),
        ),
    }
    for dataset in datasets:
        tfidf = make_pipeline(TfidfVectorizer(), classifier())
        best = max(
            (
                (mean_score(tfidf.set_params(**settings), dataset), settings)
                for settings in ParameterGrid(TFIDF_VARIANTS)
            ),
            key=lambda scored: scored[0],
        )
        settings = ", ".join(
            f"{key.split('__')[1]}={value}" for key, value in sorted(best[1].items())
        )
        print(
            f"| {dataset} | TF-IDF + LogisticRegression, best of "
            f"{len(ParameterGrid(TFIDF_VARIANTS))} ({settings}) | {best[0]:.4f} |",
            flush=True,
        )
        for supervised in (False, "tune"):
            codes = FactorizedEmbedding(rank=25, supervised=supervised)
            name = "tuned" if supervised else "frozen"
            for head_name, head in heads.items():
                accuracy = mean_score(make_pipeline(codes, head), dataset)
                print(
                    f"| {dataset} | {name} codes, rank 25, {head_name} "
                    f"| {accuracy:.4f} |",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[10, 25])
    parser.add_argument("--alphas", type=float, nargs="+", default=[3e-6, 1e-5, 3e-5])
    parser.add_argument("--no-leak", action="store_true")
    parser.add_argument("--nested", action="store_true")
    parser.add_argument("--ceiling", action="store_true")
    parser.add_argument("--seeds", action="store_true")
    parser.add_argument(
        "--datasets", nargs="+", choices=DATASETS, default=list(DATASETS)
    )
    args = parser.parse_args()
    if args.nested:
        nested(args.ranks, args.datasets)
        return
    if args.ceiling:
        ceiling(args.datasets)
        return
    if args.seeds:
        seeds(args.ranks, args.datasets)
        return
    compare(args.ranks, args.alphas, args.datasets)
    if not args.no_leak:
        for solver in ("lbfgs", "adam"):
            leak(25, TUNE_ALPHA, solver)


if __name__ == "__main__":
    main()
