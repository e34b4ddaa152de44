"""Codes of every word a fitted model can encode, not only its fit words.

A model stores the codes of its fit vocabulary, so that it stays small. Every
other word of its table gets the same projection, ``(row - mean) @
components.T``, and the same quantization, computed from the (memory-mapped)
table the first time a batch of documents uses it and remembered by the model.
Without the table (a model loaded elsewhere), the words are those of the fit
vocabulary and the extra words saved with the model.
"""

from __future__ import annotations

import threading
import warnings
from itertools import repeat

import numpy as np
import scipy.sparse as sp

from ._cache import cached
from ._quantize import Int8Codes, ProductCodes, dequantize_int8, quantize_int8
from ._text import ChainedVocabulary, pool, used_columns
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


class WordCodes:
    """The codes and pooling weights of every word a fitted model can encode.

    Documents are counted over ``lookup`` (word -> column). With a ``table``,
    it chains the fit words (their rows of ``codes``) and the table's words (at
    ``len(vocabulary)`` + their table row): a fit word takes its stored code,
    any other word the code its table row projects to (``encode`` with
    ``mean`` and ``components``, then ``quantized``'s rounding), computed for
    a batch's new words in one product and remembered. Without a table, the
    columns are the fit words, then the ``extra`` words (a vocabulary and its
    codes).

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
    ):
        self._mean, self._components, self._quantized = mean, components, quantized
        self._table = table
        self._lock = threading.Lock()
        self._unseen_weight = unseen_weight
        self._n_fitted = len(vocabulary)
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
        self._codes = codes
        self._weights = word_weights
        if word_weights is not None and len(word_weights) < len(codes):
            self._weights = np.concatenate(
                [word_weights, self._unseen_weights(len(codes) - len(word_weights))]
            )
        # The code row of each table row, once needed (-1: not encoded yet).
        self._code_of_table_row = None

    @classmethod
    def of_model(cls, model, quantized: Int8Codes | ProductCodes | None) -> WordCodes:
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
        words = frequent_words_beyond(self.lookup.first, self._table, n_words)
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

    def _unseen_weights(self, n_words: int) -> np.ndarray:
        return np.full(n_words, self._unseen_weight, dtype=self._weights.dtype)

    def gather(self, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The codes and pooling weights of the distinct ``columns`` of
        ``lookup`` (encoding, once, the table words that have none yet)."""
        code_rows = columns
        if self._table is not None:
            code_rows = columns.copy()
            in_table = columns >= self._n_fitted
            if in_table.any():
                code_rows[in_table] = self._code_rows_of(
                    columns[in_table] - self._n_fitted
                )
        weights = None if self._weights is None else self._weights[code_rows]
        return self._codes[code_rows], weights

    def _code_rows_of(self, table_rows: np.ndarray) -> np.ndarray:
        code_of_row = self._code_of_table_row
        if code_of_row is not None:
            code_rows = code_of_row[table_rows]
            if np.all(code_rows >= 0):
                return code_rows
        with self._lock:
            if self._code_of_table_row is None:
                # Shared and read-only until a new word is met: the fit
                # documents of fit_transform hold none, and copy nothing.
                self._code_of_table_row = _code_of_table_row(
                    self.lookup.first, self._table
                )
            code_of_row = self._code_of_table_row
            new = table_rows[code_of_row[table_rows] < 0]
            if len(new):
                # In float64 with einsum's plain loops rather than BLAS, whose
                # blocking depends on the number of rows: a word's code does
                # not depend on the batch it was first met in.
                vectors = np.asarray(self._table.vectors[new], dtype=np.float64)
                codes = np.einsum(
                    "wd,rd->wr", vectors - self._mean, self._components.astype(float)
                )
                if self._quantized is not None:
                    codes = self._quantized.round(codes)
                # Codes and weights grow before the rows point at them, so that
                # a reader without the lock never sees a row past their end.
                n_codes = len(self._codes)
                self._codes = np.concatenate(
                    [self._codes, codes.astype(self._codes.dtype)]
                )
                if self._weights is not None:
                    self._weights = np.concatenate(
                        [self._weights, self._unseen_weights(len(new))]
                    )
                if not code_of_row.flags.writeable:
                    code_of_row = code_of_row.copy()
                code_of_row[new] = np.arange(n_codes, n_codes + len(new))
                self._code_of_table_row = code_of_row
            return code_of_row[table_rows]

    def over_lookup(self, table_counts: sp.csr_matrix) -> sp.csr_matrix:
        """Counts over the table's rows (a fit corpus's) as counts over
        ``lookup``: the same words, in the table's part of the columns."""
        return sp.csr_matrix(
            (
                table_counts.data,
                table_counts.indices + self._n_fitted,
                table_counts.indptr,
            ),
            shape=(table_counts.shape[0], len(self.lookup)),
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
