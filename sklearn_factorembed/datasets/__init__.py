"""Dataset loaders, word-similarity benchmarks and their evaluation."""

from ._ag_news import fetch_ag_news
from ._base import get_data_home
from ._movie_reviews import fetch_movie_reviews
from ._word_similarity import (
    WordAnalogyResult,
    WordSimilarityResult,
    evaluate_word_analogies,
    evaluate_word_similarity,
    load_word_similarity,
)

__all__ = [
    "WordAnalogyResult",
    "WordSimilarityResult",
    "evaluate_word_analogies",
    "evaluate_word_similarity",
    "fetch_ag_news",
    "fetch_movie_reviews",
    "get_data_home",
    "load_word_similarity",
]
