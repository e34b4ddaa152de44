"""Low-rank factorized word embeddings as scikit-learn transformers."""

from importlib.metadata import PackageNotFoundError, version

from ._cache import clear_caches
from ._dask import fit_dask, transform_dask
from ._embedding import FactorizedEmbedding
from ._vectors import load_vectors

try:
    __version__ = version("sklearn-factorembed")
except PackageNotFoundError:  # run from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "FactorizedEmbedding",
    "clear_caches",
    "fit_dask",
    "load_vectors",
    "transform_dask",
]
