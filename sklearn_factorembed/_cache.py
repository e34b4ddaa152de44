"""Bounded in-process caches and the fingerprints that key them.

A grid search clones the estimator for every candidate and fold, so work that
depends only on the data (loading a table, tokenizing a fold, decomposing a
weighted table) is repeated unless it is remembered across estimator objects. A
cache here is a small least-recently-used mapping guarded by a lock, keyed by a
digest of everything the cached value depends on.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np


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


def fingerprint(*parts) -> str:
    """A digest of ``parts``: arrays by dtype, shape and bytes, the rest by repr.

    Examples
    --------
    >>> import numpy as np
    >>> fingerprint("glove", np.arange(3)) == fingerprint("glove", np.arange(3))
    True
    >>> fingerprint("glove", np.arange(3)) == fingerprint("glove", np.arange(4))
    False
    """
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part)
            digest.update(f"ndarray{part.dtype.str}{part.shape}".encode())
            digest.update(part.view(np.uint8).ravel())
        elif isinstance(part, str):
            digest.update(f"str{len(part)}".encode())
            digest.update(part.encode("utf-8", "surrogatepass"))
        else:
            digest.update(repr(part).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()
