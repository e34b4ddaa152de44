"""Word-similarity and analogy benchmarks shipped with gensim, and their scores.

The benchmark files come inside the gensim wheel
(``gensim.test.utils.datapath``), so these functions need no network and no data
home. The evaluators take a gensim ``KeyedVectors`` or anything with a
``to_keyedvectors()`` method, such as a fitted ``FactorizedEmbedding``; duck
typing keeps this module upstream of the estimator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy.stats import spearmanr
from sklearn.utils import Bunch

from .._vectors import is_keyed_vectors

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

_WORDSIM353_DESCR = """\
WordSimilarity-353
------------------

353 English word pairs with the mean of 13 to 16 human judgements of their
relatedness on a 0-10 scale (Finkelstein et al., 2002), the version shipped with
gensim (``wordsim353.tsv``). Words are lower case except proper nouns
("Jerusalem") and acronyms ("CD"); the pair money/cash appears twice, as in the
file. It scores relatedness (cup/coffee score high) as much as similarity.

Lev Finkelstein, Evgeniy Gabrilovich, Yossi Matias, Ehud Rivlin, Zach Solan,
Gadi Wolfman, Eytan Ruppin. Placing Search in Context: The Concept Revisited.
ACM TOIS 20(1), 2002.
"""

_SIMLEX999_DESCR = """\
SimLex-999
----------

999 English word pairs (666 noun, 222 verb, 111 adjective pairs) with human
ratings of similarity, not relatedness, on a 0-10 scale (Hill, Reichart &
Korhonen, 2015), the version shipped with gensim (``simlex999.txt``), all lower
case. Related but dissimilar pairs (coffee/cup) score low, which makes it harder
for distributional vectors than WordSim-353.

Felix Hill, Roi Reichart, Anna Korhonen. SimLex-999: Evaluating Semantic Models
with (Genuine) Similarity Estimation. Computational Linguistics 41(4), 2015.
"""

# benchmark name -> (file name inside gensim's test data, description)
_BENCHMARKS = {
    "wordsim353": ("wordsim353.tsv", _WORDSIM353_DESCR),
    "simlex999": ("simlex999.txt", _SIMLEX999_DESCR),
}
_ANALOGIES = "questions-words.txt"


class WordSimilarityResult(NamedTuple):
    """How well cosine similarities rank the pairs of a benchmark.

    Attributes
    ----------
    spearman : float
        Spearman's rank correlation between the cosine similarity of the vectors
        and the human score, over the pairs whose two words are both known.
    coverage : float
        The fraction of the benchmark's pairs whose two words are both known.
    n_pairs : int
        The number of pairs in the benchmark.
    """

    spearman: float
    coverage: float
    n_pairs: int


class WordAnalogyResult(NamedTuple):
    """How many questions "a is to b as c is to ?" the vectors answer right.

    Attributes
    ----------
    accuracy : float
        The fraction of right answers among the questions whose four words are
        all known.
    coverage : float
        The fraction of the questions whose four words are all known.
    n_questions : int
        The number of questions in the benchmark.
    """

    accuracy: float
    coverage: float
    n_questions: int


def load_word_similarity(name: str) -> Bunch:
    """Load a word-similarity benchmark: word pairs and their human scores.

    Parameters
    ----------
    name : {"wordsim353", "simlex999"}
        WordSim-353 (353 pairs, relatedness) or SimLex-999 (999 pairs, genuine
        similarity).

    Returns
    -------
    Bunch
        ``data``, an object array of shape (n_pairs, 2) holding the two words of
        each pair as ``str`` in the case of the file; ``target``, the float64
        human scores (0-10); ``DESCR``.

    Raises
    ------
    ValueError
        If ``name`` is not one of the benchmarks above.

    Examples
    --------
    >>> from sklearn_factorembed.datasets import load_word_similarity
    >>> simlex = load_word_similarity("simlex999")
    >>> simlex.data.shape
    (999, 2)
    >>> list(simlex.data[0]), float(simlex.target[0])
    (['old', 'new'], 1.58)
    """
    if name not in _BENCHMARKS:
        raise ValueError(
            f"name={name!r} is not a word-similarity benchmark; expected one of "
            f"{', '.join(map(repr, _BENCHMARKS))}"
        )
    file_name, descr = _BENCHMARKS[name]
    words, scores = _read_pairs(_shipped_file(file_name))
    return Bunch(data=words, target=scores, DESCR=descr)


def _shipped_file(file_name: str) -> str:
    """The path of a benchmark file shipped in the gensim wheel (gensim is
    imported here, not with the datasets)."""
    from gensim.test.utils import datapath

    return datapath(file_name)


def _read_pairs(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``word<TAB>word<TAB>score`` lines, skipping blanks and '#' comments."""
    pairs = []
    scores = []
    with open(path, encoding="utf-8") as file:
        for line_number, line in enumerate(file, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise ValueError(
                    f"Line {line_number} of {path} has {len(fields)} tab-separated "
                    f"fields, expected 3 (word, word, score): {line!r}"
                )
            pairs.append(fields[:2])
            scores.append(float(fields[2]))
    words = np.empty((len(pairs), 2), dtype=object)
    words[:] = pairs
    return words, np.asarray(scores, dtype=np.float64)


def evaluate_word_similarity(vectors: Any, name: str) -> WordSimilarityResult:
    """Score word vectors on a word-similarity benchmark.

    The cosine similarity of the two vectors of each pair is compared with the
    human score by Spearman's rank correlation. Pairs with an unknown word are
    left out (and lower ``coverage``) rather than given a made-up similarity. A
    word missing from the table is looked up again lower-cased, so that the
    capitalized words of WordSim-353 ("Jerusalem") find the rows of a lower-case
    table such as GloVe.

    Parameters
    ----------
    vectors : KeyedVectors or object with a ``to_keyedvectors()`` method
        The word vectors, e.g. a gensim ``KeyedVectors`` or a fitted
        ``FactorizedEmbedding``.
    name : {"wordsim353", "simlex999"}
        The benchmark, see :func:`load_word_similarity`.

    Returns
    -------
    WordSimilarityResult
        ``(spearman, coverage, n_pairs)``.

    Raises
    ------
    TypeError
        If ``vectors`` is neither of the above.
    ValueError
        If fewer than 2 pairs have both words known, too few for a correlation.

    Examples
    --------
    Random vectors know nothing of meaning, so they rank the pairs at random:

    >>> import numpy as np
    >>> from gensim.models import KeyedVectors
    >>> from sklearn_factorembed.datasets import (
    ...     evaluate_word_similarity, load_word_similarity)
    >>> words = np.unique(load_word_similarity("wordsim353").data)
    >>> table = KeyedVectors(vector_size=20)
    >>> rng = np.random.default_rng(0)
    >>> table.add_vectors(list(words), rng.normal(size=(len(words), 20)))
    >>> result = evaluate_word_similarity(table, "wordsim353")
    >>> result.coverage, result.n_pairs
    (1.0, 353)
    >>> abs(result.spearman) < 0.2
    True
    """
    keyed_vectors = _as_keyed_vectors(vectors)
    benchmark = load_word_similarity(name)
    rows = _find_rows(keyed_vectors, benchmark.data)
    known = (rows >= 0).all(axis=1)
    n_pairs, n_known = len(rows), int(known.sum())
    if n_known < 2:
        raise ValueError(
            f"Only {n_known} of the {n_pairs} pairs of {name!r} have both words "
            "among the vectors; a rank correlation needs at least 2"
        )
    first = keyed_vectors.vectors[rows[known, 0]].astype(np.float64)
    second = keyed_vectors.vectors[rows[known, 1]].astype(np.float64)
    dots = np.einsum("ij,ij->i", first, second)
    norms = np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1)
    # A zero vector is similar to nothing, as in gensim.
    cosines = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
    spearman, _ = spearmanr(benchmark.target[known], cosines)
    return WordSimilarityResult(
        spearman=float(spearman), coverage=n_known / n_pairs, n_pairs=n_pairs
    )


def evaluate_word_analogies(
    vectors: Any, *, restrict_vocab: int = 30000
) -> WordAnalogyResult:
    """Score word vectors on the Google analogy questions ("a : b :: c : ?").

    Runs gensim's ``KeyedVectors.evaluate_word_analogies`` on
    ``questions-words.txt`` (19,544 questions in 14 sections): the answer is the
    word nearest to ``b - a + c`` (3CosAdd) among the first ``restrict_vocab``
    words, other than ``a``, ``b`` and ``c``. Case is ignored. Questions with a
    word outside the first ``restrict_vocab`` words are skipped and lower
    ``coverage``. Each question is a search over ``restrict_vocab`` vectors, so
    the default takes on the order of a minute.

    Parameters
    ----------
    vectors : KeyedVectors or object with a ``to_keyedvectors()`` method
        The word vectors, e.g. a gensim ``KeyedVectors`` or a fitted
        ``FactorizedEmbedding``; frequent words first, as in GloVe.
    restrict_vocab : int, default=30000
        How many of the first words of the table take part, as questions and as
        answers.

    Returns
    -------
    WordAnalogyResult
        ``(accuracy, coverage, n_questions)``.

    Raises
    ------
    TypeError
        If ``vectors`` is neither of the above.
    ValueError
        If ``restrict_vocab`` is not a positive integer, or no question has all
        four words among the first ``restrict_vocab`` words.

    Examples
    --------
    Four capitals and their countries, one country offset from its capital by
    the same vector:

    >>> import numpy as np
    >>> from gensim.models import KeyedVectors
    >>> from sklearn_factorembed.datasets import evaluate_word_analogies
    >>> capitals = ["athens", "berlin", "paris", "rome"]
    >>> countries = ["greece", "germany", "france", "italy"]
    >>> capital_vectors = np.eye(5)[:4]
    >>> table = KeyedVectors(vector_size=5)
    >>> table.add_vectors(
    ...     capitals + countries,
    ...     np.vstack([capital_vectors, capital_vectors + np.eye(5)[4]]))
    >>> result = evaluate_word_analogies(table)
    >>> result.accuracy, result.n_questions
    (1.0, 19544)
    >>> round(result.coverage * result.n_questions)  # questions on these 8 words
    15
    """
    if isinstance(restrict_vocab, bool) or not isinstance(
        restrict_vocab, (int, np.integer)
    ):
        raise ValueError(
            f"restrict_vocab={restrict_vocab!r} is not an int; expected a positive "
            "number of words"
        )
    if restrict_vocab < 1:
        raise ValueError(
            f"restrict_vocab={restrict_vocab} is not positive; expected a positive "
            "number of words"
        )
    keyed_vectors = _as_keyed_vectors(vectors)
    path = _shipped_file(_ANALOGIES)
    _, sections = keyed_vectors.evaluate_word_analogies(
        path, restrict_vocab=int(restrict_vocab), case_insensitive=True
    )
    total = sections[-1]  # gensim appends the "Total accuracy" section last
    n_correct, n_wrong = len(total["correct"]), len(total["incorrect"])
    n_answered = n_correct + n_wrong
    n_questions = _count_analogy_questions(path)
    if n_answered == 0:
        raise ValueError(
            f"None of the {n_questions} analogy questions has all four words among "
            f"the first {restrict_vocab} words of the vectors"
        )
    return WordAnalogyResult(
        accuracy=n_correct / n_answered,
        coverage=n_answered / n_questions,
        n_questions=n_questions,
    )


def _count_analogy_questions(path: str) -> int:
    """Count the 4-word lines, the ones gensim reads as questions."""
    with open(path, encoding="utf-8") as file:
        return sum(
            1 for line in file if not line.startswith(": ") and len(line.split()) == 4
        )


def _as_keyed_vectors(vectors: Any) -> KeyedVectors:
    """Return ``vectors`` itself or, failing that, ``vectors.to_keyedvectors()``."""
    if is_keyed_vectors(vectors):
        return vectors
    to_keyedvectors = getattr(vectors, "to_keyedvectors", None)
    if not callable(to_keyedvectors):
        raise TypeError(
            f"vectors is a {type(vectors).__name__}; expected a gensim KeyedVectors "
            "or an object with a to_keyedvectors() method, such as a fitted "
            "FactorizedEmbedding"
        )
    keyed_vectors = to_keyedvectors()
    if not is_keyed_vectors(keyed_vectors):
        raise TypeError(
            f"{type(vectors).__name__}.to_keyedvectors() returned a "
            f"{type(keyed_vectors).__name__}; expected a gensim KeyedVectors"
        )
    return keyed_vectors


def _find_rows(keyed_vectors: KeyedVectors, words: np.ndarray) -> np.ndarray:
    """Row of each word in the table, else of its lower case, else -1."""
    unique_words, inverse = np.unique(words, return_inverse=True)
    key_to_index = keyed_vectors.key_to_index
    unique_rows = np.fromiter(
        (
            key_to_index.get(word, key_to_index.get(word.lower(), -1))
            for word in unique_words
        ),
        dtype=np.int64,
        count=len(unique_words),
    )
    return unique_rows[inverse].reshape(words.shape)
