"""What a saved model knows without its table, per number of extra words.

Run from the repository root:

    FACTOREMBED_DATA=../shared/data python benchmarks/open_vocabulary.py

Fits the default model (rank 25) on the movie reviews, saves it with
``extra_words`` in 0, 25,000, 50,000, 100,000 (the default) and 150,000, and
prints the file size and the share of the tokens of AG News ``test`` that GloVe
covers which the saved model covers without GloVe (its fit vocabulary and its
extra words): what ``save``'s default was chosen on.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed._vectors import load_table
from sklearn_factorembed.datasets import fetch_ag_news, fetch_movie_reviews

EXTRA_WORDS = (0, 25_000, 50_000, 100_000, 150_000)


def main() -> None:
    documents, _ = fetch_movie_reviews(return_X_y=True)
    embedding = FactorizedEmbedding(rank=25).fit(documents)
    table = load_table(embedding.vectors).vocabulary
    analyzer = embedding.build_analyzer()
    news, _ = fetch_ag_news(subset="test", return_X_y=True)
    counts = Counter(token for document in news for token in analyzer(document))
    in_table = {token: count for token, count in counts.items() if token in table}
    total = sum(in_table.values())
    print(f"fit vocabulary: {len(embedding.vocabulary_):,} words")
    print("| extra_words | file size | AG News test tokens covered without GloVe |")
    print("|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        for n_words in EXTRA_WORDS:
            embedding.save(path, extra_words=n_words)
            loaded = FactorizedEmbedding.load(path)
            known = set(loaded.vocabulary_) | set(loaded.extra_vocabulary_ or ())
            covered = sum(count for token, count in in_table.items() if token in known)
            print(
                f"| {n_words:,} | {path.stat().st_size / 1e6:.2f} MB | "
                f"{covered / total:.2%} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
