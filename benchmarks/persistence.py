"""What the load-time checks and the model file cost.

Run from the repository root:

    python benchmarks/persistence.py

Prints markdown tables, medians of REPEATS runs side by side in one process:

1. Loading the default vectors (GloVe 6B 50d, 400,000 x 50, memory-mapped),
   warm: the bare load beside the checks ``load_vectors`` now runs once per
   table (shape, duplicate words, NaN/inf).
2. The row-length check of a text table beside gensim's own parsing of it, on
   the first 100,000 GloVe rows written as word2vec text.
3. Saving and loading a rank-25 model of the whole GloVe table (model file)
   beside pickling it and ``skops.io`` (``pip install -e ".[test]"``).
"""

from __future__ import annotations

import pickle
import platform
import statistics
import tempfile
import time
from pathlib import Path

import gensim
import numpy as np
import skops.io
from gensim.models import KeyedVectors

import sklearn_factorembed
from sklearn_factorembed import FactorizedEmbedding, _vectors

REPEATS = 5


def _median_seconds(function, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _load_default() -> None:
    print("## Loading the default vectors, warm\n")
    table = _vectors._load_default_glove()  # warms the page cache
    load = _median_seconds(_vectors._load_default_glove)
    check = _median_seconds(lambda: _vectors._check_table(table, "glove-6b-50d"))
    print("| step | seconds | ratio to bare load |")
    print("|---|---:|---:|")
    print(f"| bare load (memory map + word index) | {load:.3f} | 1.00 |")
    print(f"| load-time checks | {check:.3f} | {check / load:.2f} |")
    print(f"| load_vectors (both) | {load + check:.3f} | {(load + check) / load:.2f} |")


def _text_rows(folder: Path) -> None:
    print("\n## Row-length check of a word2vec text table (100,000 x 50)\n")
    table = _vectors._load_default_glove()
    text = KeyedVectors(vector_size=50)
    text.add_vectors(table.index_to_key[:100_000], np.asarray(table.vectors[:100_000]))
    path = folder / "glove-100k.txt"
    text.save_word2vec_format(str(path))
    header = _vectors._read_header(path)
    check = _median_seconds(lambda: _vectors._check_text_rows(path, header, str(path)))
    parse = _median_seconds(
        lambda: KeyedVectors.load_word2vec_format(str(path)), repeats=1
    )
    print("| step | seconds | ratio to gensim's parse |")
    print("|---|---:|---:|")
    print(f"| gensim load_word2vec_format | {parse:.3f} | 1.00 |")
    print(f"| row-length check | {check:.3f} | {check / parse:.3f} |")


def _model_file(folder: Path) -> None:
    print("\n## A rank-25 model of all 400,000 GloVe words\n")
    embedding = FactorizedEmbedding(rank=25, vocabulary="all").fit()
    path = folder / "model.npz"
    save = _median_seconds(lambda: embedding.save(path))
    load = _median_seconds(lambda: FactorizedEmbedding.load(path))
    pickled = pickle.dumps(embedding)
    dump = _median_seconds(lambda: pickle.dumps(embedding))
    undump = _median_seconds(lambda: pickle.loads(pickled))
    skops_path = folder / "model.skops"
    skops_dump = _median_seconds(lambda: skops.io.dump(embedding, skops_path))
    trusted = skops.io.get_untrusted_types(file=skops_path)
    skops_load = _median_seconds(lambda: skops.io.load(skops_path, trusted=trusted))
    print("| format | write s | read s | MB |")
    print("|---|---:|---:|---:|")
    print(f"| model file | {save:.3f} | {load:.3f} | {path.stat().st_size / 1e6:.1f} |")
    print(f"| pickle | {dump:.3f} | {undump:.3f} | {len(pickled) / 1e6:.1f} |")
    print(
        f"| skops | {skops_dump:.3f} | {skops_load:.3f} | "
        f"{skops_path.stat().st_size / 1e6:.1f} |"
    )


def main() -> None:
    print(
        f"{platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}, numpy {np.__version__}, gensim "
        f"{gensim.__version__}, sklearn-factorembed {sklearn_factorembed.__version__}"
        f"; medians of {REPEATS} runs\n"
    )
    _load_default()
    with tempfile.TemporaryDirectory() as folder:
        _text_rows(Path(folder))
        _model_file(Path(folder))


if __name__ == "__main__":
    main()
