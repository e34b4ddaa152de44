"""Low-rank factorized word embeddings as scikit-learn transformers."""

from ._embedding import FactorizedEmbedding
from ._vectors import load_vectors

__all__ = ["FactorizedEmbedding", "load_vectors"]
__version__ = "0.1.0.dev0"
