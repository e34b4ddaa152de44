"""Sentiment on movie reviews with the default vectors: accuracy and size per rank.

Run from the repository root:

    FACTOREMBED_DATA=../shared/data python benchmarks/demo_sentiment.py

Prints a markdown table: 5-fold cross-validated accuracy of
``FactorizedEmbedding(rank=r) -> LogisticRegression`` (the vocabulary and the
factors learned on the training folds only), beside the parameters the factorized
table needs and the full-dimension baseline.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed.datasets import fetch_movie_reviews

RANKS = (5, 10, 25, 50)  # rank 50 = d: the table itself, nothing post-processed


def main() -> None:
    documents, labels = fetch_movie_reviews(return_X_y=True)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    print(f"movie reviews: {len(documents)} sentences, 5-fold CV, LogisticRegression")
    print("| rank | accuracy | ratio to rank 50 | parameters | compression |")
    print("|---:|---:|---:|---:|---:|")
    rows = []
    for rank in RANKS:
        pipeline = make_pipeline(
            FactorizedEmbedding(rank=rank), LogisticRegression(max_iter=1000)
        )
        scores = cross_validate(
            pipeline, documents, labels, cv=folds, return_estimator=True
        )
        embedding = scores["estimator"][0].named_steps["factorizedembedding"]
        rows.append((rank, scores["test_score"].mean(), embedding))
    full_accuracy = rows[-1][1]
    for rank, accuracy, embedding in rows:
        print(
            f"| {rank} | {accuracy:.4f} | {accuracy / full_accuracy:.3f} | "
            f"{embedding.n_parameters_:,} | {embedding.compression_ratio_:.2f}x |"
        )
    n_words = len(rows[0][2].vocabulary_)
    print(
        f"\n(parameters of one fold's model; {n_words:,} words kept; the raw "
        f"table of those words has {n_words * 50:,})"
    )


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
