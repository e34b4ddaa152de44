"""Low-rank factorized word embeddings as scikit-learn transformers."""

from ._dask import fit_dask, transform_dask
from ._embedding import FactorizedEmbedding
from ._vectors import load_vectors

__all__ = ["FactorizedEmbedding", "fit_dask", "load_vectors", "transform_dask"]
__version__ = "0.1.0.dev0"
