"""Text handling: validating documents, tokenizing, counting, word weights, pooling.

Documents become a sparse (n_documents x n_words) count matrix; pooling word codes
into document codes is then a sparse-dense product, with no Python loop per
document outside tokenization itself. The corpus statistics learned from the
counts (word counts, document frequencies) give the word weights of the
factorization and of pooling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, islice, repeat

import numpy as np
import scipy.sparse as sp

from ._cache import cached, fingerprint

try:  # Python 3.11 and later
    from re import _constants as _sre_constants
    from re import _parser as _sre_parser
except ImportError:  # Python 3.10
    import sre_constants as _sre_constants
    import sre_parse as _sre_parser

# Pretrained tables (GloVe, word2vec) were built from text tokenized the Penn
# Treebank way: clitics ("'s", "n't") and punctuation are tokens of their own,
# while hyphenated words and numbers such as "co-writer" and "1.8" stay whole.
DEFAULT_TOKEN_PATTERN = (
    r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|m|d)\b|\w+(?:[-.]\w+)*|[^\w\s]"
)

SIF_SMOOTHING = 1e-3

# A batch of documents is tokenized as one string joined by this character. It is
# neither a word character nor white space, so the default pattern makes it a
# token of its own and never lets a token, a lookahead or a word boundary (or
# str.lower's final-sigma rule) see across it: the tokens between two separators
# are exactly those of the document alone.
_SEPARATOR = "\x00"
_STR_TYPES = frozenset({str, np.str_})

# Larger batches are not cached (about 1M tokens, 12 MB of counts): bounded memory
# matters more than a hit.
_CACHED_MAX_CHARACTERS = 4_000_000


def _as_iterable(documents, name: str) -> Iterable:
    if documents is None or isinstance(documents, (str, bytes)):
        raise TypeError(
            f"{name} must be an iterable of documents (str), got "
            f"{'None' if documents is None else 'a single ' + type(documents).__name__}"
            "; wrap a single document in a list"
        )
    if hasattr(documents, "to_numpy"):
        documents = documents.to_numpy()
    if isinstance(documents, np.ndarray):
        if documents.ndim == 2 and documents.shape[1] == 1:
            documents = documents[:, 0]
        elif documents.ndim != 1:
            raise ValueError(
                f"{name} must be 1-d (one document per row), got an array of shape "
                f"{documents.shape}"
            )
    elif not isinstance(documents, Iterable):
        raise TypeError(
            f"{name} must be an iterable of documents (str), got "
            f"{type(documents).__name__}"
        )
    return documents


def _check_str(documents: list, name: str, offset: int = 0) -> list[str]:
    if set(map(type, documents)) <= _STR_TYPES:
        return documents
    for position, document in enumerate(documents, start=offset):
        if not isinstance(document, str):
            raise TypeError(
                f"{name} must contain only str values; element {position} is "
                f"{document!r} of type {type(document).__name__}"
            )
    return documents


def check_documents(documents, *, name: str = "X") -> list[str]:
    """Validate an iterable of documents and return it as a list of str.

    Accepts a list, tuple, generator or 1-d array of str, a pandas Series, or a
    one-column 2-d array or DataFrame (what ``ColumnTransformer`` passes for
    ``["text"]``).
    """
    return _check_str(list(_as_iterable(documents, name)), name)


def document_batches(
    documents, batch_size: int, *, name: str = "X"
) -> Iterator[list[str]]:
    """Validate documents lazily and yield them as lists of ``batch_size``.

    A generator is consumed one batch at a time, so memory stays bounded by the
    batch whatever the length of the stream.

    Examples
    --------
    >>> [len(batch) for batch in document_batches((str(i) for i in range(5)), 2)]
    [2, 2, 1]
    """
    iterator = iter(_as_iterable(documents, name))
    offset = 0
    while batch := list(islice(iterator, batch_size)):
        yield _check_str(batch, name, offset)
        offset += len(batch)


@dataclass(frozen=True)
class Analyzer:
    """Turns one document into its list of tokens (see :func:`build_analyzer`)."""

    lowercase: bool = True
    token_pattern: str | None = DEFAULT_TOKEN_PATTERN
    tokenizer: Callable[[str], list[str]] | None = None

    def __call__(self, document: str) -> list[str]:
        if self.lowercase:
            document = document.lower()
        if self.tokenizer is not None:
            return self.tokenizer(document)
        return re.findall(self.token_pattern, document)

    @property
    def fingerprint(self) -> str | None:
        """A digest of how documents are tokenized; None with a ``tokenizer``
        callable, which can't be digested."""
        if self.tokenizer is not None:
            return None
        return fingerprint(self.lowercase, self.token_pattern)

    @property
    def joins_documents(self) -> bool:
        """Whether a batch may be tokenized as one string (see ``_SEPARATOR``)."""
        return self.tokenizer is None and self.token_pattern == DEFAULT_TOKEN_PATTERN


def build_analyzer(
    *,
    lowercase: bool = True,
    token_pattern: str | None = DEFAULT_TOKEN_PATTERN,
    tokenizer: Callable[[str], list[str]] | None = None,
) -> Analyzer:
    """Return a function that turns one document into its list of tokens.

    Examples
    --------
    >>> analyze = build_analyzer()
    >>> analyze("The film's cast doesn't shine!")
    ['the', 'film', "'s", 'cast', 'does', "n't", 'shine', '!']
    """
    if tokenizer is None:
        try:
            pattern = re.compile(token_pattern)
        except re.error as error:
            raise ValueError(
                f"token_pattern={token_pattern!r} is not a valid regular "
                f"expression: {error}"
            ) from None
        if pattern.groups > 1:
            # findall would return tuples of groups instead of tokens.
            raise ValueError(
                f"token_pattern={token_pattern!r} has {pattern.groups} capturing "
                "groups; use at most one, or non-capturing groups (?:...)"
            )
    return Analyzer(lowercase, token_pattern, tokenizer)


_REPEATS = tuple(
    getattr(_sre_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(_sre_constants, name)
)
_BACKREFERENCES = (_sre_constants.GROUPREF, _sre_constants.GROUPREF_EXISTS)
_MAX_GROUP_NESTING = 100


def backtracking_hazard(token_pattern: str) -> str | None:
    r"""What in ``token_pattern`` can make matching take exponential time, or
    None if nothing can.

    Python's regular expressions backtrack: a part that can match the same
    text in many ways, repeated, makes a failing match try every way, as
    ``(?:a+)+b`` does on ``"aaa...a"`` (2^n tries). The rule, on the parsed
    pattern: no part repeated more than once (under ``*``, ``+`` or
    ``{m,n}`` with ``n > 1``) holds another repeat (``?`` included) or an
    alternation (``|`` of single characters is a character class and is
    fine), no backreference or conditional group appears anywhere, and groups
    nest at most 100 deep (compiling deeper ones can exhaust the stack). The
    default pattern breaks the rule in a way that cannot backtrack (its
    repeated part ``[-.]\w+`` starts with a character ``\w+`` does not match)
    and is accepted as it is. The rule excludes the exponential cases only:
    several repeats in a row over the same characters (``\w*\w*x``) still
    take time polynomial in the length of a run.

    Raises
    ------
    ValueError
        If ``token_pattern`` is not a valid regular expression.

    Examples
    --------
    >>> backtracking_hazard(r"\w+") is None
    True
    >>> backtracking_hazard(r"(?:a+)+b")
    'a repeat inside a repeat'
    """
    if token_pattern == DEFAULT_TOKEN_PATTERN:
        return None
    try:
        parsed = _sre_parser.parse(token_pattern)
        return _hazard(parsed, repeated=False, depth=0)
    except re.error as error:
        raise ValueError(
            f"token_pattern={token_pattern!r} is not a valid regular expression: "
            f"{error}"
        ) from None
    except RecursionError:
        return f"groups nested more than {_MAX_GROUP_NESTING} deep"


def _hazard(subpattern, repeated: bool, depth: int) -> str | None:
    """The first hazard (see :func:`backtracking_hazard`) in a parsed
    ``subpattern``, a repeated part if ``repeated``, ``depth`` groups deep."""
    if depth > _MAX_GROUP_NESTING:
        # The matcher's compiler recurses too: deep enough, compiling the
        # pattern in transform would raise RecursionError.
        return f"groups nested more than {_MAX_GROUP_NESTING} deep"
    constants = _sre_constants
    for op, argument in subpattern:
        if op in _BACKREFERENCES:
            return "a backreference or conditional group"
        if op in _REPEATS:
            low, high, item = argument
            if repeated and (low, high) != (1, 1):
                return "a repeat inside a repeat"
            # An optional part (at most once) can match in at most two ways.
            parts = [(item, repeated or high > 1)]
        elif op is constants.BRANCH:
            if repeated:
                return "an alternation inside a repeat"
            parts = [(branch, repeated) for branch in argument[1]]
        elif op is constants.SUBPATTERN:
            parts = [(argument[-1], repeated)]
        elif op in (constants.ASSERT, constants.ASSERT_NOT):
            parts = [(argument[1], repeated)]
        elif op is getattr(constants, "ATOMIC_GROUP", None):
            parts = [(argument, repeated)]
        else:  # a character, class, category or anchor
            continue
        for part, part_repeated in parts:
            if found := _hazard(part, part_repeated, depth + 1):
                return found
    return None


@dataclass(frozen=True, eq=False)
class ChainedVocabulary:
    """The columns of the words of ``first``, then of the other words of
    ``second`` after them (at ``len(first)`` + their column in ``second``).

    Counting over it looks every token up in the small ``first`` (a model's
    fit words) and only the rest in the large ``second`` (its whole table).

    Examples
    --------
    >>> vocabulary = ChainedVocabulary({"b": 0}, {"a": 0, "b": 1})
    >>> vocabulary.get("b"), vocabulary.get("a"), vocabulary.get("c", -1)
    (0, 1, -1)
    """

    first: Mapping[str, int]
    second: Mapping[str, int]

    def __len__(self) -> int:
        return len(self.first) + len(self.second)

    def __contains__(self, word) -> bool:
        return word in self.first or word in self.second

    def get(self, word, default=None):
        column = self.first.get(word)
        if column is None:
            column = self.second.get(word)
            return default if column is None else len(self.first) + column
        return column

    @property
    def fingerprint(self) -> str | None:
        return fingerprint(self.first, self.second)


def _token_rows(tokens: list[str], vocabulary) -> np.ndarray:
    """The column of each token in ``vocabulary``, -1 for unknown tokens."""
    if not isinstance(vocabulary, ChainedVocabulary):
        return np.fromiter(
            map(vocabulary.get, tokens, repeat(-1)), dtype=np.int64, count=len(tokens)
        )
    rows = _token_rows(tokens, vocabulary.first)
    unknown = np.flatnonzero(rows < 0)
    found = _token_rows(
        list(map(tokens.__getitem__, unknown.tolist())), vocabulary.second
    )
    rows[unknown[found >= 0]] = found[found >= 0] + len(vocabulary.first)
    return rows


def _joined_token_rows(text: str, analyzer: Analyzer, vocabulary):
    tokens = re.findall(analyzer.token_pattern, text)
    rows = _token_rows(tokens, vocabulary)
    # Separators are out-of-vocabulary tokens: look for them among those only.
    unknown = np.flatnonzero(rows < 0)
    is_separator = np.fromiter(
        map(_SEPARATOR.__eq__, map(tokens.__getitem__, unknown.tolist())),
        dtype=bool,
        count=len(unknown),
    )
    return rows, np.concatenate(([0], unknown[is_separator], [len(tokens)]))


def _per_document_token_rows(documents, analyzer, vocabulary):
    tokens_per_document = list(map(analyzer, documents))
    try:
        lengths = np.fromiter(
            map(len, tokens_per_document), dtype=np.int64, count=len(documents)
        )
        boundaries = np.concatenate(([0], np.cumsum(lengths)))
        rows = _token_rows(list(chain.from_iterable(tokens_per_document)), vocabulary)
    except TypeError as error:  # only a user's tokenizer can cause this
        raise TypeError(
            f"the tokenizer must return a list of str tokens per document ({error})"
        ) from error
    return rows, boundaries


def _count_matrix(rows, boundaries, n_words: int) -> sp.csr_matrix:
    # Tokens come document by document, so the row pointer of the count matrix is
    # the number of known tokens before each document boundary: no COO sort.
    known = rows >= 0
    known_before = np.concatenate(([0], np.cumsum(known)))
    index_dtype = np.int32 if n_words < np.iinfo(np.int32).max else np.int64
    counts = sp.csr_matrix(
        (
            np.ones(int(known_before[-1])),
            rows[known].astype(index_dtype),
            known_before[boundaries].astype(index_dtype),
        ),
        shape=(len(boundaries) - 1, n_words),
    )
    counts.sum_duplicates()
    return counts


def _counted_inputs(documents, analyzer, vocabulary, *, remember=False):
    if not remember or sum(map(len, documents)) > _CACHED_MAX_CHARACTERS:
        return None
    return (documents, analyzer, vocabulary)


@cached("counts", maxsize=16, key=_counted_inputs)
def _count_tokens(documents, analyzer, vocabulary, *, remember=False):
    if not documents:
        return sp.csr_matrix((0, len(vocabulary)))
    text = _SEPARATOR.join(documents)
    # Joining is only unambiguous when no document holds the separator itself.
    joinable = text.count(_SEPARATOR) == len(documents) - 1
    if isinstance(analyzer, Analyzer) and analyzer.joins_documents and joinable:
        joined = text.lower() if analyzer.lowercase else text
        rows = _joined_token_rows(joined, analyzer, vocabulary)
    else:
        rows = _per_document_token_rows(documents, analyzer, vocabulary)
    # Its length once the tokens are looked up: a vocabulary may grow as it
    # meets words (see _subwords.SubwordVocabulary).
    counts = _count_matrix(*rows, len(vocabulary))
    _read_only(counts)
    return counts


def count_tokens(
    documents: list[str],
    analyzer: Callable[[str], list[str]],
    vocabulary: dict[str, int],
    *,
    remember: bool = False,
) -> sp.csr_matrix:
    """Count the tokens of each document that are in ``vocabulary``.

    With the default token pattern the documents are tokenized as one joined
    string, which saves a regular-expression call and a list per document; any
    other analyzer runs per document.

    Parameters
    ----------
    documents : list of str
    analyzer : callable
        From a document to its tokens, as :func:`build_analyzer` returns.
    vocabulary : dict of str to int or ChainedVocabulary
        Token -> column.
    remember : bool, default=False
        Keep the counts in a process cache, keyed by the documents, the
        analyzer and the vocabulary (unless the analyzer holds a ``tokenizer``
        callable, or the documents more text than an entry should hold), so
        that rescoring the same documents (a grid search over rank) tokenizes
        them once.

    Returns
    -------
    csr_matrix of shape (n_documents, len(vocabulary)), float64
        Entry (i, j) is how often word j occurs in document i; tokens outside
        the vocabulary are dropped. Read-only when remembered.

    Examples
    --------
    >>> counts = count_tokens(["a b a", "c"], build_analyzer(), {"a": 0, "b": 1})
    >>> counts.toarray()
    array([[2., 1.],
           [0., 0.]])
    """
    return _count_tokens(documents, analyzer, vocabulary, remember=remember)


def _read_only(counts: sp.csr_matrix) -> None:
    for array in (counts.data, counts.indices, counts.indptr):
        array.setflags(write=False)


@dataclass(frozen=True)
class DocumentCounts:
    """Token counts of documents over a vocabulary, read-only, and a digest of
    what they count (None when it is not known, as for a stream)."""

    matrix: sp.csr_matrix
    fingerprint: str | None

    def columns(self, rows) -> DocumentCounts:
        """The counts of the words ``rows`` (a slice or sorted columns)."""
        matrix = self.matrix[:, rows].tocsr()
        _read_only(matrix)
        rows_part = (rows.start, rows.stop) if isinstance(rows, slice) else rows
        return DocumentCounts(matrix, fingerprint(self, rows_part))


def count_corpus(
    documents,
    analyzer: Analyzer,
    vocabulary: dict[str, int],
    batch_size: int,
    *,
    others=None,
) -> tuple[CorpusStatistics, DocumentCounts]:
    """The corpus statistics and token counts of a fit corpus, ``batch_size``
    documents at a time.

    A collection of at most ``batch_size`` documents is remembered (see
    :func:`count_tokens`): a grid search refits and rescores whole folds, while
    the batches of a long stream would only evict them.

    With ``others``, a mapping that gives a token outside ``vocabulary`` a
    column when it first meets it (as ``_words.SubwordVocabulary`` does), the
    counts cover those tokens too, in the columns after ``vocabulary``'s (see
    :class:`ChainedVocabulary`), and the statistics ``vocabulary``'s words
    only: a fit reads the first columns, ``fit_transform`` pools them all.
    They are not remembered, since ``others`` fills as it counts.
    """
    if others is not None:
        counts = _batch_counts(
            documents, analyzer, ChainedVocabulary(vocabulary, others), batch_size
        )
        _read_only(counts)
        statistics = CorpusStatistics.from_counts(counts[:, : len(vocabulary)])
        return statistics, DocumentCounts(counts, None)
    if hasattr(documents, "__len__") and len(documents) <= batch_size:
        return _count_collection(check_documents(documents), analyzer, vocabulary)
    return _counted(_batch_counts(documents, analyzer, vocabulary, batch_size), None)


def _batch_counts(documents, analyzer, vocabulary, batch_size):
    batches = [
        count_tokens(batch, analyzer, vocabulary)
        for batch in document_batches(documents, batch_size)
    ]
    if not batches:
        raise ValueError("X is empty: fit needs at least one document")
    for batch in batches:
        # A vocabulary that grows as it counts has more columns than it had
        # for the first batches: growing a matrix's width moves no entry.
        batch.resize(batch.shape[0], len(vocabulary))
    return sp.vstack(batches, format="csr") if len(batches) > 1 else batches[0]


def _collection_inputs(documents, analyzer, vocabulary):
    if sum(map(len, documents)) > _CACHED_MAX_CHARACTERS:
        return None
    return (documents, analyzer, vocabulary)


@cached("corpora", maxsize=16, key=_collection_inputs)
def _count_collection(documents, analyzer, vocabulary):
    counts = _batch_counts(documents, analyzer, vocabulary, max(1, len(documents)))
    inputs = _collection_inputs(documents, analyzer, vocabulary)
    return _counted(counts, None if inputs is None else fingerprint(*inputs))


def _counted(counts, digest):
    _read_only(counts)
    return CorpusStatistics.from_counts(counts), DocumentCounts(counts, digest)


@dataclass(frozen=True)
class CorpusStatistics:
    """Sums over a corpus from which the factors and pooling weights are learned.

    They add up across batches and partitions (``+``), so a corpus can be counted
    piece by piece (``partial_fit``, Dask) and give what counting it whole gives.

    Attributes
    ----------
    n_documents : int
    word_counts : csr_matrix of shape (1, n_words)
        Occurrences of each word.
    document_frequency : csr_matrix of shape (1, n_words)
        Number of documents containing each word.
    """

    n_documents: int
    word_counts: sp.csr_matrix
    document_frequency: sp.csr_matrix

    @classmethod
    def from_counts(cls, counts: sp.csr_matrix) -> CorpusStatistics:
        """The statistics of a count matrix, as :func:`count_tokens` returns.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> statistics = CorpusStatistics.from_counts(
        ...     sp.csr_matrix([[2.0, 0.0], [1.0, 1.0]])
        ... )
        >>> statistics.word_counts.toarray(), statistics.document_frequency.toarray()
        (array([[3., 1.]]), array([[2., 1.]]))
        """
        n_words = counts.shape[1]
        word_counts = np.bincount(counts.indices, counts.data, minlength=n_words)
        columns = np.flatnonzero(word_counts)
        document_frequency = np.bincount(counts.indices, minlength=n_words)

        def row_vector(values):
            # Built from its parts: sorted columns, no zeros, canonical.
            return sp.csr_matrix(
                (values.astype(np.float64), columns, [0, len(columns)]),
                shape=(1, n_words),
            )

        return cls(
            counts.shape[0],
            row_vector(word_counts[columns]),
            row_vector(document_frequency[columns]),
        )

    @cached_property
    def fingerprint(self) -> str:
        """A digest of the statistics (computed once: they are read-only)."""
        return fingerprint(
            self.n_documents,
            self.word_counts.indices,
            self.word_counts.data,
            self.document_frequency.data,
        )

    def words(self) -> np.ndarray:
        """The words that occur, as sorted columns."""
        return _sorted(self.word_counts).indices

    def counts_at(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """Word counts and document frequencies of the words ``rows`` (a slice,
        or sorted columns), dense."""
        return (
            _values_at(self.word_counts, rows),
            _values_at(self.document_frequency, rows),
        )

    def __add__(self, other: CorpusStatistics) -> CorpusStatistics:
        if self.word_counts.shape != other.word_counts.shape:
            raise ValueError(
                f"cannot add the statistics of {self.word_counts.shape[1]} words "
                f"to those of {other.word_counts.shape[1]} words"
            )
        return CorpusStatistics(
            self.n_documents + other.n_documents,
            self.word_counts + other.word_counts,
            self.document_frequency + other.document_frequency,
        )


def _sorted(vector: sp.csr_matrix) -> sp.csr_matrix:
    return vector if vector.has_sorted_indices else vector.sorted_indices()


def _values_at(vector: sp.csr_matrix, rows) -> np.ndarray:
    """The entries of a (1, n) row vector at the sorted columns ``rows``, dense,
    found among its stored entries rather than in a dense copy of all n."""
    if isinstance(rows, slice):
        return vector.toarray().ravel()[rows]
    vector = _sorted(vector)
    values = np.zeros(len(rows))
    if vector.nnz:
        positions = np.minimum(np.searchsorted(vector.indices, rows), vector.nnz - 1)
        found = vector.indices[positions] == rows
        values[found] = vector.data[positions[found]]
    return values


def frequency_weights(word_counts: np.ndarray, weighting: str) -> np.ndarray:
    """Row weights of the factorization from token counts.

    ``"frequency"`` is ``sqrt(count)``, ``"log-frequency"`` ``log(1 + count)``:
    frequent words matter more than rare ones, but not in proportion to their
    counts, which would hand the whole subspace to a few function words and
    punctuation.

    Examples
    --------
    >>> frequency_weights(np.array([0.0, 4.0]), "frequency")
    array([0., 2.])
    """
    if weighting == "log-frequency":
        return np.log1p(word_counts)
    return np.sqrt(word_counts)


def zipf_counts(table_rows: np.ndarray) -> np.ndarray:
    """Relative token counts of words from their rows in a frequency-ordered table.

    Pretrained tables (GloVe, word2vec, fastText) list words from the most to
    the least frequent; by Zipf's law the word of row ``i`` occurs about
    ``1 / (i + 1)`` times as often as the first.

    Examples
    --------
    >>> zipf_counts(np.array([0, 1, 3]))
    array([1.  , 0.5 , 0.25])
    """
    counts = np.add(table_rows, 1.0, dtype=np.float64)
    return np.divide(1.0, counts, out=counts)


def idf_weights(document_frequency: np.ndarray, n_documents: int) -> np.ndarray:
    """Smoothed inverse document frequency, as scikit-learn's TfidfTransformer."""
    return np.log((1 + n_documents) / (1 + document_frequency)) + 1.0


def sif_weights(word_counts: np.ndarray, smoothing: float = SIF_SMOOTHING):
    """Smooth inverse frequency ``a / (a + p(w))`` (Arora et al., 2017)."""
    total = word_counts.sum()
    # In place: one array of the vocabulary's length rather than three.
    weights = word_counts / total if total > 0 else np.zeros(len(word_counts))
    weights += smoothing
    return np.divide(smoothing, weights, out=weights)


def used_columns(counts: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
    """The columns ``counts`` uses, sorted, and ``counts`` over those only.

    Examples
    --------
    >>> used, compact = used_columns(sp.csr_matrix([[0.0, 2.0, 0.0, 1.0]]))
    >>> used, compact.toarray()
    (array([1, 3]), array([[2., 1.]]))
    """
    present = np.zeros(counts.shape[1], dtype=bool)
    present[counts.indices] = True
    used = np.flatnonzero(present)
    column_of_row = np.cumsum(present) - 1
    compact = sp.csr_matrix(
        (counts.data, column_of_row[counts.indices], counts.indptr),
        shape=(counts.shape[0], len(used)),
    )
    return used, compact


def pool(
    counts: sp.csr_matrix,
    codes: np.ndarray,
    *,
    pooling: str,
    word_weights: np.ndarray | None = None,
    common_component: np.ndarray | None = None,
) -> np.ndarray:
    """Pool word codes into one code per document.

    Parameters
    ----------
    counts : csr_matrix of shape (n_documents, n_words)
        Token counts, as returned by :func:`count_tokens`.
    codes : ndarray of shape (n_words, r)
        One code per word.
    pooling : {"mean", "sum", "max", "tfidf", "sif", "sif-weighted"}
        ``"tfidf"``, ``"sif"`` and ``"sif-weighted"`` are means weighted by
        ``word_weights``.
    word_weights : ndarray of shape (n_words,), default=None
        Per-word weights of the weighted means.
    common_component : ndarray of shape (r,), default=None
        A unit direction projected out of every pooled code (``"sif"``).

    Returns
    -------
    ndarray of shape (n_documents, r)
        Documents without a known token get a row of zeros.
    """
    if pooling == "max":
        return _max_pool(counts, codes)
    if word_weights is not None:
        # Scale each stored count by its word's weight: O(nnz), where a product
        # with a diagonal matrix would be a sparse matrix product.
        counts = sp.csr_matrix(
            (counts.data * word_weights[counts.indices], counts.indices, counts.indptr),
            shape=counts.shape,
        )
    pooled = np.asarray(counts @ codes, dtype=codes.dtype)
    if pooling != "sum":
        totals = np.asarray(counts.sum(axis=1)).ravel()
        nonempty = totals > 0
        pooled[nonempty] /= totals[nonempty, None].astype(codes.dtype)
    if common_component is not None:
        pooled -= np.outer(pooled @ common_component, common_component)
    return pooled


def _max_pool(counts: sp.csr_matrix, codes: np.ndarray) -> np.ndarray:
    pooled = np.zeros((counts.shape[0], codes.shape[1]), dtype=codes.dtype)
    nonempty = np.diff(counts.indptr) > 0
    if nonempty.any():
        pooled[nonempty] = np.maximum.reduceat(
            codes[counts.indices], counts.indptr[:-1][nonempty], axis=0
        )
    return pooled
