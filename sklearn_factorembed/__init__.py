"""Low-rank factorized word embeddings as scikit-learn transformers."""

from ._cache import clear_caches
from ._dask import fit_dask, transform_dask
from ._embedding import FactorizedEmbedding
from ._vectors import load_vectors
from ._version import __version__ as __version__

__all__ = [
    "FactorizedEmbedding",
    "clear_caches",
    "fit_dask",
    "load_vectors",
    "transform_dask",
]
