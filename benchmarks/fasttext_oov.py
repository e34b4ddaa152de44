"""fastText n-grams compressed: sizes, and the vectors of words missing from
the table, against compress-fasttext 0.1.5.

Run from the repository root (compress-fasttext is needed by this script
only: ``pip install compress-fasttext==0.1.5``):

    FACTOREMBED_DATA=../shared/data python benchmarks/fasttext_oov.py

No large pretrained fastText model is at hand offline, so one is trained here
with gensim on the movie reviews and AG News (train and test): 100 dims,
n-grams of 3 to 6 characters in 500,000 buckets, words seen 3 times or more.
``HELD_OUT`` of its words (drawn among those seen 5 to 50 times) are then
removed from its table: they are the words missing from the table, whose
vectors every model builds from n-grams. Each compressed model keeps the
``VOCABULARY`` most frequent words of that table and its n-grams, and is
scored on:

- **OOV vs full**: the mean cosine between its vector of a held-out word and
  the uncompressed model's (gensim's ``get_vector``, the mean of the word's
  n-gram rows): what compression loses. A model trained on so little text
  has vectors that mostly point one way (cosines of unrelated words near
  0.9), so cosines are taken between vectors less the uncompressed table's
  mean; the first row, the uncompressed vector of another held-out word,
  is chance;
- **in-vocabulary vs full**: the same for the ``VOCABULARY`` kept words;
- **WordSim-353**: Spearman's rank correlation of cosine similarities with the
  human scores, every pair (words outside a model's vocabulary from its
  n-grams). So small a corpus teaches fastText spelling more than meaning:
  even the uncompressed model is near chance, so this column only shows that
  compression does not change that;
- **size**: the bytes of the saved model on disk (a ``.kv`` save for gensim's
  and compress-fasttext's models, ``save(extra_words=0)`` for
  FactorizedEmbedding, whose model is then loaded without its table).

compress-fasttext's ``prune_ft_freq`` keeps the buckets the table's words use
most (times their norm) and reads the others as zeros; its ``prune_ft``
rehashes the n-grams to fewer buckets and merges their rows, as
``ngram_buckets`` does, but stores float16 rows and draws the buckets no
n-gram reaches at random.

FactorizedEmbedding fits at rank 50 without post-processing (so that its
vectors, ``inverse_transform`` of its codes, are comparable to the table's);
its product quantization stores one byte per 2 code dimensions, as
compress-fasttext's ``qdim=50`` does for the 100 dims. The numbers move a
little from run to run (gensim's training uses 2 threads).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from gensim.models import FastText, KeyedVectors
from gensim.models.fasttext import FastTextKeyedVectors

from sklearn_factorembed import FactorizedEmbedding
from sklearn_factorembed.datasets import (
    evaluate_word_similarity,
    fetch_ag_news,
    fetch_movie_reviews,
    load_word_similarity,
)

HELD_OUT = 1_000
VOCABULARY = 10_000
BUCKETS = 500_000
RANK = 50
SEED = 0


def sentences(analyzer) -> list[list[str]]:
    documents = list(fetch_movie_reviews(return_X_y=True)[0])
    for subset in ("train", "test"):
        documents += list(fetch_ag_news(subset=subset, return_X_y=True)[0])
    return [analyzer(document) for document in documents]


def train(corpus: list[list[str]]) -> FastTextKeyedVectors:
    model = FastText(
        corpus,
        vector_size=100,
        min_count=3,
        bucket=BUCKETS,
        epochs=10,
        workers=2,
        seed=SEED,
    )
    return model.wv


def held_out_words(vectors: FastTextKeyedVectors, corpus) -> list[str]:
    counts = Counter(token for sentence in corpus for token in sentence)
    candidates = sorted(
        word
        for word in vectors.index_to_key
        if 5 <= counts[word] <= 50 and word.isalpha()
    )
    rng = np.random.default_rng(SEED)
    return list(rng.choice(candidates, size=HELD_OUT, replace=False))


def without(vectors: FastTextKeyedVectors, words: list[str]) -> FastTextKeyedVectors:
    """The table less ``words``, its n-gram buckets unchanged."""
    removed = set(words)
    kept = [row for row, word in enumerate(vectors.index_to_key) if word not in removed]
    table = FastTextKeyedVectors(
        vectors.vector_size, vectors.min_n, vectors.max_n, vectors.bucket
    )
    table.index_to_key = [vectors.index_to_key[row] for row in kept]
    table.key_to_index = {word: row for row, word in enumerate(table.index_to_key)}
    table.vectors = vectors.vectors[kept]
    table.vectors_vocab = vectors.vectors_vocab[kept]
    table.vectors_ngrams = vectors.vectors_ngrams
    table.allocate_vecattrs(attrs=["count"], types=[np.int64])
    table.expandos["count"][:] = vectors.expandos["count"][kept]
    table.recalc_char_ngram_buckets()
    return table


def mean_cosine(vectors: np.ndarray, reference: np.ndarray, mean: np.ndarray) -> float:
    vectors, reference = vectors - mean, reference - mean
    dots = np.einsum("ij,ij->i", vectors, reference)
    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
    return float(np.mean(dots / np.maximum(norms, 1e-12)))


def disk_size(path: Path) -> int:
    return sum(file.stat().st_size for file in path.parent.glob(f"{path.name}*"))


def wordsim(vector_of) -> float:
    words = sorted(
        {str(word).lower() for word in load_word_similarity("wordsim353").data.ravel()}
    )
    table = KeyedVectors(vector_size=len(vector_of(words[:1])[0]))
    table.add_vectors(words, vector_of(words))
    return evaluate_word_similarity(table, "wordsim353").spearman


def gensim_vectors(model) -> callable:
    return lambda words: np.stack([model.get_vector(word) for word in words])


def factorized_vectors(embedding: FactorizedEmbedding) -> callable:
    return lambda words: embedding.inverse_transform(embedding.transform_words(words))


def main() -> None:
    analyzer = FactorizedEmbedding().build_analyzer()
    corpus = sentences(analyzer)
    start = time.perf_counter()
    trained = train(corpus)
    held_out = held_out_words(trained, corpus)
    table = without(trained, held_out)
    print(
        f"fastText trained in {time.perf_counter() - start:.0f} s on "
        f"{sum(map(len, corpus)):,} tokens: {len(trained):,} words, "
        f"{BUCKETS:,} buckets; {HELD_OUT:,} words held out, {VOCABULARY:,} kept\n"
    )
    full = gensim_vectors(table)(held_out)
    kept = table.index_to_key[:VOCABULARY]
    full_kept = table.vectors[:VOCABULARY]
    mean = table.vectors.astype(np.float64).mean(axis=0)
    chance = np.roll(full, 1, axis=0)
    rows = [("chance: another held-out word", None, mean_cosine(chance, full, mean))]

    def score(name: str, size: int, vector_of) -> None:
        rows.append(
            (
                name,
                size,
                mean_cosine(vector_of(held_out), full, mean),
                mean_cosine(vector_of(kept), full_kept, mean),
                wordsim(vector_of),
            )
        )
        print(f"  {name}: done", flush=True)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        table_path = folder / "table.kv"
        table.save(str(table_path))
        score(
            "fastText (gensim, uncompressed)",
            disk_size(table_path),
            gensim_vectors(table),
        )
        compress_fasttext(table, folder, score)
        for quantization, n_buckets in (
            (None, None),
            (None, 1 << 17),
            ("int8", None),
            ("int8", 1 << 17),
            ("int8", 1 << 15),
            ("pq", None),
            ("pq", 1 << 17),
            ("pq", 1 << 15),
        ):
            embedding = FactorizedEmbedding(
                str(table_path),
                rank=RANK,
                vocabulary=VOCABULARY,
                postprocess=None,
                subspace="words",
                quantization=quantization,
                pq_subvectors=RANK // 2,
                ngram_buckets=n_buckets,
                random_state=SEED,
            ).fit()
            model_path = folder / "model.npz"
            embedding.save(model_path, extra_words=0)
            loaded = with_table_away(table_path, model_path)
            buckets = "all" if n_buckets is None else f"2**{n_buckets.bit_length() - 1}"
            score(
                f"FactorizedEmbedding {quantization or 'float32'}, {buckets} buckets",
                model_path.stat().st_size,
                factorized_vectors(loaded),
            )

    print("\n| model | size | OOV vs full | in-vocabulary vs full | WordSim-353 |")
    print("|---|---:|---:|---:|---:|")
    print(f"| {rows[0][0]} | | {rows[0][2]:.3f} | | |")
    for name, size, oov, in_vocabulary, spearman in rows[1:]:
        print(
            f"| {name} | {size / 1e6:.1f} MB | {oov:.3f} | {in_vocabulary:.3f} | "
            f"{spearman:.3f} |"
        )


def with_table_away(table_path: Path, model_path: Path) -> FactorizedEmbedding:
    """The saved model loaded where its table is not: it encodes its words and
    the others from n-grams."""
    hidden = table_path.with_name("hidden")
    hidden.mkdir(exist_ok=True)
    files = list(table_path.parent.glob(f"{table_path.name}*"))
    for file in files:
        os.replace(file, hidden / file.name)
    try:
        return FactorizedEmbedding.load(model_path)
    finally:
        for file in files:
            os.replace(hidden / file.name, file)


def compress_fasttext(table, folder: Path, score) -> None:
    try:
        import compress_fasttext
    except ImportError:
        print("compress-fasttext is not installed: its rows are left out")
        return
    for name, compress in (
        (
            "compress-fasttext prune_ft_freq, 2**17 buckets",
            lambda: compress_fasttext.prune_ft_freq(
                table, new_vocab_size=VOCABULARY, new_ngrams_size=1 << 17, qdim=50
            ),
        ),
        (
            "compress-fasttext prune_ft_freq, 2**15 buckets",
            lambda: compress_fasttext.prune_ft_freq(
                table, new_vocab_size=VOCABULARY, new_ngrams_size=1 << 15, qdim=50
            ),
        ),
        (
            "compress-fasttext prune_ft (rehashed), 2**17 buckets, float16",
            lambda: compress_fasttext.prune_ft(
                table, new_vocab_size=VOCABULARY, new_ngrams_size=1 << 17
            ),
        ),
        (
            "compress-fasttext quantize_ft (all words and buckets)",
            lambda: compress_fasttext.quantize_ft(table, qdim=50),
        ),
    ):
        compressed = compress()
        path = folder / "compressed.kv"
        compressed.save(str(path))
        score(name, disk_size(path), gensim_vectors(compressed))
        for file in folder.glob("compressed.kv*"):
            file.unlink()


if __name__ == "__main__":
    main()
