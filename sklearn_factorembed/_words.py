"""Codes of every word a fitted model can encode, not only its fit words.

A model stores the codes of its fit vocabulary, so that it stays small. Every
other word of its table gets the same projection, ``(row - mean) @
components.T``, and the same quantization, computed from the (memory-mapped)
table the first time a batch of documents uses it and remembered by the model.
Without the table (a model loaded elsewhere), the words are those of the fit
vocabulary and the extra words saved with the model. A model of a fastText
table also encodes any other word from the codes of its character n-grams
(see :mod:`._subwords`), with or without the table.
"""

from __future__ import annotations

import threading
import warnings
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from ._cache import cached
from ._quantize import Int8Codes, ProductCodes, dequantize_int8, quantize_int8
from ._subwords import Subwords, ngram_hashes, pooling_matrix
from ._text import _SEPARATOR, ChainedVocabulary, pool, used_columns
from ._vectors import Table, Vocabulary, load_table_if_available

# The fitted attributes of the extra words a saved model holds, in the order of
# quantize_int8's results after the words.
EXTRA_ATTRIBUTES = (
    "extra_vocabulary_",
    "extra_codes_",
    "extra_code_scales_",
    "extra_code_offsets_",
)


@cached("word-rows", maxsize=16, key=lambda vocabulary, table: (vocabulary, table))
def _code_of_table_row(vocabulary: Vocabulary, table: Table) -> np.ndarray:
    """For each row of ``table``, the row of its word in ``vocabulary`` (-1 if
    not in it), read-only; shared by the models fitted on the same words."""
    table_rows = np.fromiter(
        map(table.lookup.get, vocabulary, repeat(-1)),
        dtype=np.int64,
        count=len(vocabulary),
    )
    code_of_row = np.full(len(table), -1, dtype=np.int64)
    in_table = table_rows >= 0
    code_of_row[table_rows[in_table]] = np.flatnonzero(in_table)
    code_of_row.setflags(write=False)
    return code_of_row


# Words met only through their n-grams are remembered, so that each is encoded
# once. Past this many a model starts a new memory (see WordCodes.is_full):
# a service fed arbitrary text would otherwise grow without bound.
MAX_SUBWORD_WORDS = 1 << 18


class WordCodes:
    """The codes and pooling weights of every word a fitted model can encode.

    Documents are counted over ``lookup`` (word -> column). With a ``table``,
    it chains the fit words (their rows of ``codes``) and the table's words (at
    ``len(vocabulary)`` + their table row): a fit word takes its stored code,
    any other word the code its table row projects to (``encode`` with
    ``mean`` and ``components``, then ``quantized``'s rounding), computed for
    a batch's new words in one product and remembered. Without a table, the
    columns are the fit words, then the ``extra`` words (a vocabulary and its
    codes). With ``subwords`` (the codes of a fastText model's n-gram
    buckets), any other word with n-grams gets a column after all those,
    when first looked up (in ``subword_vocabulary``), and the mean of its
    n-grams' codes.

    Parameters
    ----------
    vocabulary : Vocabulary
        The fit words, in the order of ``codes``.
    codes : ndarray of shape (n_words, rank)
    word_weights : ndarray of shape (n_words,) or None
        Pooling weights of the fit words.
    unseen_weight : float or None
        The pooling weight of every other word.
    mean, components : ndarray
        The projection of table rows to codes.
    quantized : Int8Codes, ProductCodes or None
        The quantization of the stored codes, which new codes go through too.
    table : Table, default=None
    extra : tuple of (Vocabulary, ndarray), default=None
        Words beyond the fit vocabulary and their codes, used without a table.
    subwords : Subwords, default=None
        The codes of n-gram buckets, which encode the words of neither.
    subword_vocabulary : SubwordVocabulary, default=None
        The columns of those words, when documents were counted over it
        already (``fit_transform``'s, after the table's words); else a new one.
    """

    def __init__(
        self,
        vocabulary: Vocabulary,
        codes: np.ndarray,
        word_weights: np.ndarray | None,
        unseen_weight: float | None,
        mean: np.ndarray,
        components: np.ndarray,
        quantized: Int8Codes | ProductCodes | None,
        *,
        table: Table | None = None,
        extra: tuple[Vocabulary, np.ndarray] | None = None,
        subwords: Subwords | None = None,
        subword_vocabulary: SubwordVocabulary | None = None,
    ):
        self._mean, self._components, self._quantized = mean, components, quantized
        self._table, self._subwords = table, subwords
        self._lock = threading.Lock()
        self._unseen_weight = unseen_weight
        self._vocabulary = vocabulary
        self._n_table = 0 if table is None else len(table)
        if table is not None:
            self.lookup = ChainedVocabulary(vocabulary, table.lookup)
        elif extra is not None and len(extra[0]):
            extra_vocabulary, extra_codes = extra
            words = list(vocabulary) + [
                word for word in extra_vocabulary if word not in vocabulary
            ]
            self.lookup = Vocabulary.of_words(words)
            rows = [extra_vocabulary[word] for word in words[len(vocabulary) :]]
            codes = np.concatenate([codes, extra_codes[rows].astype(codes.dtype)])
        else:
            self.lookup = vocabulary
        # Columns past these hold the words encoded when first met: the
        # table's other words (at their row), then those of n-grams only.
        self._n_fitted = len(codes)
        if subwords is not None:
            if subword_vocabulary is None:
                subword_vocabulary = SubwordVocabulary(subwords.min_n, subwords.max_n)
            self._subword_vocabulary = subword_vocabulary
            if table is None:
                self.lookup = ChainedVocabulary(self.lookup, self._subword_vocabulary)
            else:
                self.lookup = ChainedVocabulary(
                    vocabulary,
                    ChainedVocabulary(table.lookup, self._subword_vocabulary),
                )
        self._codes = codes
        self._weights = word_weights
        if word_weights is not None and len(word_weights) < len(codes):
            self._weights = np.concatenate(
                [word_weights, self._unseen_weights(len(codes) - len(word_weights))]
            )
        # The code row of each column past the stored codes, once needed (-1:
        # not encoded yet).
        self._code_of_row = None

    @classmethod
    def of_model(
        cls,
        model,
        quantized: Int8Codes | ProductCodes | None,
        subword_vocabulary: SubwordVocabulary | None = None,
    ) -> WordCodes:
        """The word codes of a fitted ``FactorizedEmbedding`` (read through its
        fitted attributes), with its table if that can be had offline, else
        with the extra words it was saved with."""
        extra = None
        if getattr(model, "extra_codes_", None) is not None:
            extra = (
                model.extra_vocabulary_,
                dequantize_int8(
                    model.extra_codes_,
                    model.extra_code_scales_,
                    model.extra_code_offsets_,
                ),
            )
        subwords = None
        if getattr(model, "ngram_embedding_", None) is not None:
            subwords = Subwords(model.ngram_embedding_, model.min_n_, model.max_n_)
        unseen_weight = getattr(model, "unseen_weight_", None)
        if unseen_weight is None and model.pooling_weights_ is not None:
            # A model saved before unseen_weight_ existed: the nearest stand-in.
            unseen_weight = float(model.pooling_weights_.max())
        return cls(
            model.vocabulary_,
            model.embedding_,
            model.pooling_weights_,
            unseen_weight,
            model.mean_,
            model.components_,
            quantized,
            table=load_table_if_available(model.vectors),
            extra=extra,
            subwords=subwords,
            subword_vocabulary=subword_vocabulary,
        )

    def codes_of(self, words: list[str]) -> np.ndarray:
        """The codes of ``words``; zeros for those it cannot encode."""
        columns = np.fromiter(
            map(self.lookup.get, words, repeat(-1)), dtype=np.int64, count=len(words)
        )
        codes = np.zeros((len(words), self._codes.shape[1]), dtype=self._codes.dtype)
        known = columns >= 0
        distinct, position = np.unique(columns[known], return_inverse=True)
        codes[known] = self.gather(distinct)[0][position]
        return codes

    def extra_attributes(self, n_words: int) -> dict:
        """The int8 codes of the table's ``n_words`` most frequent words beyond
        the fit words, as the fitted attributes that store them in a model
        file; none without the table (what a loaded model holds is kept)."""
        if self._table is None:
            return {}
        words = frequent_words_beyond(self._vocabulary, self._table, n_words)
        if not words:
            return dict.fromkeys(EXTRA_ATTRIBUTES)
        levels, scales, offsets = quantize_int8(self.codes_of(words))
        return dict(
            zip(
                EXTRA_ATTRIBUTES,
                (Vocabulary.of_words(words), levels, scales, offsets),
                strict=True,
            )
        )

    @property
    def n_words(self) -> int:
        """The number of words encoded so far (fit, extra and new ones)."""
        return len(self._codes)

    @property
    def is_full(self) -> bool:
        """Whether it remembers ``MAX_SUBWORD_WORDS`` words of n-grams: the
        model then encodes its next documents with new word codes (the same
        codes, computed again)."""
        return (
            self._subwords is not None
            and len(self._subword_vocabulary) >= MAX_SUBWORD_WORDS
        )

    def _unseen_weights(self, n_words: int) -> np.ndarray:
        return np.full(n_words, self._unseen_weight, dtype=self._weights.dtype)

    def gather(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The codes and pooling weights of the distinct ``columns`` of
        ``lookup`` (encoding, once, the words that have none yet)."""
        code_rows = columns
        if self._table is not None or self._subwords is not None:
            code_rows = columns.copy()
            new = columns >= self._n_fitted
            if new.any():
                code_rows[new] = self._code_rows_of(columns[new] - self._n_fitted)
        weights = None if self._weights is None else self._weights[code_rows]
        return self._codes[code_rows], weights

    def _code_rows_of(self, rows: np.ndarray) -> np.ndarray:
        """The code rows of the distinct ``rows`` past the stored codes: table
        rows, then the n-gram words' columns."""
        code_of_row = self._code_of_row
        if code_of_row is not None and rows.max() < len(code_of_row):
            code_rows = code_of_row[rows]
            if np.all(code_rows >= 0):
                return code_rows
        with self._lock:
            if self._code_of_row is None:
                # Shared and read-only until a new word is met: the fit
                # documents of fit_transform hold none, and copy nothing.
                self._code_of_row = (
                    np.empty(0, dtype=np.int64)
                    if self._table is None
                    else _code_of_table_row(self._vocabulary, self._table)
                )
            code_of_row = self._code_of_row
            if rows.max() >= len(code_of_row):
                missing = np.full(rows.max() + 1 - len(code_of_row), -1)
                code_of_row = np.concatenate([code_of_row, missing])
            new = rows[code_of_row[rows] < 0]
            if len(new):
                # Codes and weights grow before the rows point at them, so that
                # a reader without the lock never sees a row past their end.
                n_codes = len(self._codes)
                self._codes = np.concatenate(
                    [self._codes, self._new_codes(new).astype(self._codes.dtype)]
                )
                if self._weights is not None:
                    self._weights = np.concatenate(
                        [self._weights, self._unseen_weights(len(new))]
                    )
                if not code_of_row.flags.writeable:
                    code_of_row = code_of_row.copy()
                code_of_row[new] = np.arange(n_codes, n_codes + len(new))
            self._code_of_row = code_of_row
            return code_of_row[rows]

    def _new_codes(self, rows: np.ndarray) -> np.ndarray:
        """The codes of the table's ``rows``, and of the n-gram words at the
        rows past the table's, float64."""
        codes = np.empty((len(rows), self._codes.shape[1]))
        in_table = rows < self._n_table
        if in_table.any():
            # In float64 with einsum's plain loops rather than BLAS, whose
            # blocking depends on the number of rows: a word's code does
            # not depend on the batch it was first met in.
            vectors = np.asarray(self._table.vectors[rows[in_table]], np.float64)
            codes[in_table] = np.einsum(
                "wd,rd->wr", vectors - self._mean, self._components.astype(float)
            )
            if self._quantized is not None:
                codes[in_table] = self._quantized.round(codes[in_table])
        if not in_table.all():
            # The mean of their n-grams' (stored, quantized) codes, as gensim
            # averages the n-grams' vectors.
            pooling = self._subword_vocabulary.pooling(
                rows[~in_table] - self._n_table, self._subwords.n_buckets
            )
            buckets, pooling = used_columns(pooling)
            codes[~in_table] = pooling @ self._subwords.rows[buckets].astype(float)
        return codes

    def over_lookup(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Counts over the table's rows (a fit corpus's), then over
        ``subword_vocabulary``'s words, as counts over ``lookup``: the same
        words, in the columns after the fit words'."""
        return sp.csr_matrix(
            (
                counts.data,
                counts.indices + self._n_fitted,
                counts.indptr,
            ),
            shape=(counts.shape[0], len(self.lookup)),
        )

    def pool(
        self,
        counts: sp.csr_matrix,
        *,
        pooling: str,
        common_component: np.ndarray | None = None,
    ) -> np.ndarray:
        """Pool the documents of ``counts`` (over ``lookup``), as
        :func:`._text.pool` does, from the codes of the words they use only."""
        used, compact = used_columns(counts)
        codes, weights = self.gather(used)
        return pool(
            compact,
            codes,
            pooling=pooling,
            word_weights=weights,
            common_component=common_component,
        )


class SubwordVocabulary:
    """Columns for words outside a model's vocabulary and table, met while
    counting tokens: a word gets the next column the first time it is looked
    up, unless it has no n-gram of ``min_n`` to ``max_n`` characters (or
    holds the documents' separator). Columns never change, so counts taken
    earlier stay valid; it has no fingerprint, so counts over it are not
    remembered across models.

    Examples
    --------
    >>> vocabulary = SubwordVocabulary(3, 6)
    >>> vocabulary.get("unseen"), vocabulary.get("other"), vocabulary.get("unseen")
    (0, 1, 0)
    >>> SubwordVocabulary(5, 6).get("ab", -1)  # "<ab>": too short
    -1
    """

    fingerprint = None

    def __init__(self, min_n: int, max_n: int):
        self.min_n, self.max_n = min_n, max_n
        self._columns: dict[str, int] = {}
        self._hashes: list[list[int]] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, word) -> bool:
        return word in self._columns or self._hashes_of(word) is not None

    def _hashes_of(self, word) -> list[int] | None:
        # The separator of a batch's documents is never a word.
        if not isinstance(word, str) or _SEPARATOR in word:
            return None
        return ngram_hashes([word], self.min_n, self.max_n)[0] or None

    def get(self, word, default=None):
        column = self._columns.get(word)
        if column is not None:
            return column
        hashes = self._hashes_of(word)
        if hashes is None:
            return default
        with self._lock:
            column = self._columns.get(word)
            if column is None:
                # The hashes first: a column is only handed out once the
                # pooling matrix can cover it.
                self._hashes.append(hashes)
                column = self._columns[word] = len(self._hashes) - 1
            return column

    @classmethod
    def of_table(cls, table: Table) -> SubwordVocabulary | None:
        """A new vocabulary of the words ``table``'s n-grams encode; None for
        a table without n-grams."""
        subwords = table.subwords
        return None if subwords is None else cls(subwords.min_n, subwords.max_n)

    def pooling(self, columns: np.ndarray, n_buckets: int) -> sp.csr_matrix:
        """The mean over the n-grams, hashed to ``n_buckets``, of the words of
        ``columns`` (see :func:`pooling_matrix`)."""
        return pooling_matrix(
            list(map(self._hashes.__getitem__, columns.tolist())), n_buckets
        )


def frequent_words_beyond(
    vocabulary: Vocabulary, table: Table, n_words: int
) -> list[str]:
    """The first ``n_words`` words of ``table`` (pretrained tables list the
    most frequent first) that are not in ``vocabulary``."""
    rows = np.flatnonzero(_code_of_table_row(vocabulary, table) < 0)[:n_words]
    return [table.words[row] for row in rows.tolist()]


def warn_of_empty_documents(n_empty: int, n_documents: int, source) -> None:
    """One warning for the ``n_empty`` of ``n_documents`` documents without a
    word the model of the table ``source`` can encode."""
    if n_empty:
        warnings.warn(
            f"{n_empty} of the {n_documents} documents have no word this model "
            f"can encode (a word of the table {str(source)!r}) and are rows of "
            "zeros; check their language, lowercase and the tokenizer",
            UserWarning,
            stacklevel=4,
        )
