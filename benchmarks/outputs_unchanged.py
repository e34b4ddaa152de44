"""Check that a refactoring left the outputs as they were.

Fits fixed settings on the movie reviews and records the codes ``transform``
gives on the fit documents (and the word codes of a fit without documents);
run it once on the code before a change with ``--record`` and once after it
without: it compares each output to the recorded one, equal to ``--rtol``
relative (of the output's largest entry) up to the sign of each column.

    FACTOREMBED_DATA=../shared/data python benchmarks/outputs_unchanged.py --record
    # ... change the code ...
    FACTOREMBED_DATA=../shared/data python benchmarks/outputs_unchanged.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed.datasets import fetch_movie_reviews

SETTINGS = {
    "rank5": {"rank": 5},
    "rank25": {"rank": 25},
    "rank50": {"rank": 50},
    "words-mean": {"rank": 25, "subspace": "words", "pooling": "mean"},
    "tfidf-ppa": {"rank": 25, "pooling": "tfidf", "postprocess": "ppa"},
    "sif": {"rank": 25, "pooling": "sif"},
    "supervised5": {"rank": 5, "supervised": True},
    "int8": {"rank": 25, "quantization": "int8"},
}
# A fit without documents: the codes of the table's first words.
TABLE_ONLY = {"rank": 25, "vocabulary": 20_000}


def outputs() -> dict[str, np.ndarray]:
    reviews = fetch_movie_reviews()
    documents, labels = reviews.data, reviews.target
    results = {}
    for name, params in SETTINGS.items():
        embedding = FactorizedEmbedding(**params)
        results[name] = embedding.fit(documents, labels).transform(documents)
    results["table-only"] = FactorizedEmbedding(**TABLE_ONLY).fit().embedding_
    return results


def _aligned_difference(before: np.ndarray, after: np.ndarray) -> float:
    """Largest difference relative to the largest entry, each column of
    ``after`` signed to agree with ``before``."""
    signs = np.sign(np.sum(before * after, axis=0))
    signs[signs == 0] = 1.0
    scale = max(float(np.abs(before).max()), np.finfo(np.float32).tiny)
    return float(np.abs(before - after * signs).max()) / scale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", action="store_true")
    parser.add_argument(
        "--file", default=Path(__file__).parent / "results" / "outputs_before.npz"
    )
    parser.add_argument("--rtol", type=float, default=1e-5)
    args = parser.parse_args(argv)
    results = outputs()
    if args.record:
        Path(args.file).parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.file, **results)
        print(f"recorded {len(results)} outputs in {args.file}")
        return 0
    failed = False
    with np.load(args.file) as recorded:
        for name, after in results.items():
            before = recorded[name]
            if before.shape != after.shape:
                print(f"{name:12s} shape {after.shape} != {before.shape}  FAIL")
                failed = True
                continue
            difference = _aligned_difference(before, after)
            verdict = "ok" if difference <= args.rtol else "FAIL"
            failed |= verdict == "FAIL"
            print(f"{name:12s} max relative difference {difference:.2e}  {verdict}")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
