"""The process caches, in one registry, and the fingerprints that key them.

A grid search clones the estimator for every candidate and fold, so work that
depends only on the data (loading a table, tokenizing a fold, decomposing a
weighted table) is repeated unless it is remembered across estimator objects.
Every such cache is a small least-recently-used mapping guarded by a lock,
registered here under a name, and filled by a function wrapped with
:func:`cached`: the key is a digest of the function's inputs, so callers never
build keys. :func:`clear_caches` empties them all.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import scipy.sparse as sp

_registry: dict[str, LRUCache] = {}
_STR = {str, np.str_}


class LRUCache:
    """A thread-safe mapping that keeps its ``maxsize`` most recently used entries.

    Examples
    --------
    >>> cache = LRUCache(maxsize=2)
    >>> cache.get_or_compute("a", lambda: 1), cache.get_or_compute("a", lambda: 2)
    (1, 1)
    >>> _ = cache.get_or_compute("b", lambda: 2), cache.get_or_compute("c", lambda: 3)
    >>> "a" in cache, len(cache)
    (False, 2)
    """

    def __init__(self, maxsize: int):
        self.maxsize = maxsize
        self._entries: OrderedDict = OrderedDict()
        # Reentrant, so that a computation may use another entry of the same cache.
        self._lock = threading.RLock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``key``, computing and storing it on a miss.

        The lock is held while computing, so concurrent threads asking for the
        same key compute it once.
        """
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            value = compute()
            if self.maxsize > 0:
                self._entries[key] = value
                if len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def fingerprint(*parts) -> str | None:
    """A digest of ``parts``, or None if one of them cannot be fingerprinted.

    Objects with a ``fingerprint`` attribute (a table, a vocabulary, counted
    documents) are digested by that digest of their own, or not at all when it
    is None; arrays and sparse matrices by dtype, shape and bytes; sequences of
    str by their lengths and text; dataclasses, tuples and lists part by part;
    anything else by ``repr``.

    Examples
    --------
    >>> import numpy as np
    >>> fingerprint("glove", np.arange(3)) == fingerprint("glove", np.arange(3))
    True
    >>> fingerprint("glove", np.arange(3)) == fingerprint("glove", np.arange(4))
    False
    >>> fingerprint(["a b", "c"]) == fingerprint(["a", "b c"])
    False
    """
    digest = hashlib.blake2b(digest_size=20)
    return digest.hexdigest() if _digest(digest, parts) else None


def _digest(digest, part) -> bool:
    """Add ``part`` to ``digest``; False if it cannot be fingerprinted."""
    if hasattr(part, "fingerprint"):
        if part.fingerprint is None:
            return False
        digest.update(f"{type(part).__name__}:{part.fingerprint}".encode())
    elif isinstance(part, np.ndarray):
        part = np.ascontiguousarray(part)
        digest.update(f"ndarray{part.dtype.str}{part.shape}".encode())
        digest.update(part.reshape(-1).view(np.uint8))
    elif sp.issparse(part):
        part = part.tocsr()
        digest.update(f"sparse{part.shape}".encode())
        return _digest(digest, (part.indptr, part.indices, part.data))
    elif isinstance(part, str):
        digest.update(f"str{len(part)}".encode())
        digest.update(part.encode("utf-8", "surrogatepass"))
    elif isinstance(part, dict):
        return False  # a plain dict would be digested by a repr of all of it
    elif isinstance(part, (list, tuple)) and part and set(map(type, part)) <= _STR:
        # The lengths tell ["a b", "c"] from ["a", "b c"]; one join, no loop.
        digest.update(np.fromiter(map(len, part), np.int64, len(part)).view(np.uint8))
        digest.update("".join(part).encode("utf-8", "surrogatepass"))
    elif isinstance(part, (list, tuple)):
        digest.update(f"{type(part).__name__}{len(part)}".encode())
        if not all(_digest(digest, item) for item in part):
            return False
    elif dataclasses.is_dataclass(part) and not isinstance(part, type):
        digest.update(type(part).__name__.encode())
        values = [getattr(part, field.name) for field in dataclasses.fields(part)]
        return _digest(digest, values)
    else:
        digest.update(repr(part).encode())
    digest.update(b"\x1f")
    return True


def cached(name: str, maxsize: int, *, key: Callable[..., tuple | None]):
    """Remember the results of a pure function in the registered cache ``name``.

    ``key`` receives the function's arguments and returns the inputs the
    result depends on, fingerprinted into the cache key, or None when this call
    is not to be remembered (e.g. a seed that is not an int). A call whose
    inputs cannot be fingerprinted is computed afresh.

    Examples
    --------
    >>> @cached("doctest-square", maxsize=2, key=lambda x: (x,))
    ... def square(x):
    ...     print("computing")
    ...     return x * x
    >>> square(3), square(3)
    computing
    (9, 9)
    >>> clear_caches(); square(3)
    computing
    9
    """
    cache = _registry.setdefault(name, LRUCache(maxsize))

    def decorate(function):
        @functools.wraps(function)
        def remembered(*args, **kwargs):
            parts = key(*args, **kwargs)
            digest = None if parts is None else fingerprint(name, *parts)
            if digest is None:
                return function(*args, **kwargs)
            return cache.get_or_compute(digest, lambda: function(*args, **kwargs))

        return remembered

    return decorate


def cache_sizes() -> dict[str, int]:
    """The number of entries of each registered cache, by name."""
    return {name: len(cache) for name, cache in _registry.items()}


def clear_caches() -> None:
    """Empty every process cache of the package.

    sklearn-factorembed remembers, per process, the tables it loaded, the
    counts of recently seen documents and the factors of recent fits, so that
    clones, refits at another rank and grid searches reuse them. The caches
    are bounded (a few entries each); clear them to free their memory, or to
    time a fit from scratch.

    Examples
    --------
    >>> from sklearn_factorembed import clear_caches
    >>> clear_caches()
    """
    for cache in _registry.values():
        cache.clear()
