"""Low-rank factorized word embeddings as scikit-learn transformers."""

import importlib
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

if TYPE_CHECKING:  # what type checkers see; at run time, __getattr__ below
    from ._cache import clear_caches
    from ._dask import fit_dask, transform_dask
    from ._embedding import FactorizedEmbedding
    from ._vectors import load_vectors

__all__ = [
    "FactorizedEmbedding",
    "clear_caches",
    "fit_dask",
    "load_vectors",
    "transform_dask",
]

# The module of each public name, imported when the name is first used (PEP 562):
# importing the package loads neither scikit-learn nor gensim, so that the
# console script starts fast.
_MODULES = {
    "FactorizedEmbedding": "._embedding",
    "clear_caches": "._cache",
    "fit_dask": "._dask",
    "load_vectors": "._vectors",
    "transform_dask": "._dask",
}


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name], __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
