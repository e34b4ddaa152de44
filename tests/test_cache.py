"""The process caches: least-recently-used eviction, computing once under
concurrency, the fingerprints that key them, and the registry of caches."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_factorembed import _cache
from sklearn_factorembed._cache import (
    LRUCache,
    cache_sizes,
    cached,
    clear_caches,
    fingerprint,
)


@pytest.fixture
def registry(monkeypatch):
    """An empty registry of caches for the test, so that the caches it
    registers neither see nor touch the package's own."""
    fresh = {}
    monkeypatch.setattr(_cache, "_registry", fresh)
    return fresh


class _Counting:
    """A function of one argument that counts its calls."""

    def __init__(self, function=lambda x: x):
        self.function = function
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


class _Digested:
    """An object that names its own digest, as tables and vocabularies do."""

    def __init__(self, digest, payload=None):
        self.fingerprint = digest
        self.payload = payload


# -- LRUCache ----------------------------------------------------------------------


def test_lru_cache_evicts_the_least_recently_used_entry():
    cache = LRUCache(maxsize=2)
    cache.get_or_compute("a", lambda: 1)
    cache.get_or_compute("b", lambda: 2)
    assert cache.get_or_compute("a", lambda: 99) == 1  # "a" is now the most recent
    cache.get_or_compute("c", lambda: 3)
    assert "a" in cache and "c" in cache
    assert "b" not in cache
    assert len(cache) == 2


def test_lru_cache_computes_on_a_miss_only():
    cache = LRUCache(maxsize=4)
    compute = _Counting(lambda: object())
    first = cache.get_or_compute("key", compute)
    assert cache.get_or_compute("key", compute) is first
    assert compute.calls == 1


def test_lru_cache_of_size_zero_computes_every_time_and_keeps_nothing():
    cache = LRUCache(maxsize=0)
    compute = _Counting(lambda: 1)
    cache.get_or_compute("key", compute)
    cache.get_or_compute("key", compute)
    assert compute.calls == 2
    assert len(cache) == 0 and "key" not in cache


def test_lru_cache_clear_empties_it():
    cache = LRUCache(maxsize=2)
    cache.get_or_compute("a", lambda: 1)
    cache.clear()
    assert len(cache) == 0
    assert cache.get_or_compute("a", lambda: 2) == 2


def test_concurrent_requests_for_one_key_compute_it_once():
    cache = LRUCache(maxsize=4)
    n_threads = 8
    start = threading.Barrier(n_threads, timeout=10)

    def slow():
        threading.Event().wait(0.05)  # long enough for every thread to miss
        return object()

    compute = _Counting(slow)

    def request(_):
        start.wait()
        return cache.get_or_compute("key", compute)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        results = list(pool.map(request, range(n_threads)))
    assert compute.calls == 1
    assert all(result is results[0] for result in results)


def test_a_computation_may_use_another_entry_of_the_same_cache():
    cache = LRUCache(maxsize=4)
    outcome = {}

    def outer():
        return cache.get_or_compute("inner", lambda: 1) + 1

    # In a daemon thread: a lock that is not reentrant would hang the test, not
    # the run.
    thread = threading.Thread(
        target=lambda: outcome.update(value=cache.get_or_compute("outer", outer)),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=10)
    assert outcome == {"value": 2}
    assert "inner" in cache and "outer" in cache


# -- fingerprint ------------------------------------------------------------------


def test_fingerprint_is_a_hex_digest_equal_for_equal_parts():
    digest = fingerprint("glove", 3, np.arange(3))
    assert len(digest) == 40 and int(digest, 16) >= 0
    assert fingerprint("glove", 3, np.arange(3)) == digest
    assert fingerprint("glove", 4, np.arange(3)) != digest


def test_arrays_are_told_apart_by_bytes_dtype_and_shape():
    array = np.zeros((2, 3), dtype=np.int64)
    assert fingerprint(array) == fingerprint(array.copy())
    changed = array.copy()
    changed[1, 2] = 1
    assert fingerprint(changed) != fingerprint(array)
    # The same 48 zero bytes, read as another dtype or another shape.
    assert fingerprint(array.view(np.float64)) != fingerprint(array)
    assert fingerprint(array.reshape(3, 2)) != fingerprint(array)
    assert fingerprint(array.ravel()) != fingerprint(array)


def test_array_views_are_digested_by_their_elements():
    table = np.arange(24.0).reshape(4, 6)
    every_other = table[:, ::2]
    assert not every_other.flags.c_contiguous
    assert fingerprint(every_other) == fingerprint(np.ascontiguousarray(every_other))
    assert fingerprint(every_other) != fingerprint(table[:, 1::2])


def test_arrays_that_print_alike_are_told_apart():
    # Their reprs are equal (numpy elides the middle), their bytes are not.
    first = np.zeros(5_000)
    second = first.copy()
    second[2_500] = 1.0
    assert repr(first) == repr(second)
    assert fingerprint(first) != fingerprint(second)


def test_lists_of_str_are_told_apart_by_lengths_and_text():
    assert fingerprint(["a b", "c"]) != fingerprint(["a", "b c"])
    assert fingerprint(["ab"]) != fingerprint(["a", "b"])
    assert fingerprint(["a", ""]) != fingerprint(["", "a"])
    assert fingerprint(["a b", "c"]) == fingerprint(["a b", "c"])
    assert fingerprint(["a b", "c"]) != fingerprint(["a b", "d"])


def test_numpy_str_elements_are_digested_as_str():
    assert fingerprint([np.str_("a"), "b"]) == fingerprint(["a", "b"])


def test_separate_str_parts_are_told_apart_from_their_concatenation():
    assert fingerprint("ab", "c") != fingerprint("a", "bc")
    assert fingerprint("abc") != fingerprint("ab", "c")
    # Text may hold any character, the digest's own separators included.
    assert fingerprint("a\x1fstrb", "c", 1) != fingerprint("a", "b\x1fstrc", 1)


def test_sparse_matrices_are_digested_by_their_csr_form():
    dense = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 3.0]])
    matrix = sp.csr_matrix(dense)
    assert fingerprint(sp.csc_matrix(dense)) == fingerprint(matrix)
    changed = dense.copy()
    changed[1, 2] = 4.0
    assert fingerprint(sp.csr_matrix(changed)) != fingerprint(matrix)
    assert fingerprint(sp.csr_matrix(dense.T)) != fingerprint(matrix)


def test_object_with_a_fingerprint_is_digested_by_it_alone():
    # The payload is not looked at: the object vouches for its digest.
    assert fingerprint(_Digested("x", payload=1)) == fingerprint(
        _Digested("x", payload=2)
    )
    assert fingerprint(_Digested("x")) != fingerprint(_Digested("y"))


def test_objects_of_other_types_with_the_same_fingerprint_differ():
    class _Other(_Digested):
        pass

    assert fingerprint(_Other("x")) != fingerprint(_Digested("x"))


@pytest.mark.parametrize(
    "parts",
    [
        ("glove", _Digested(None)),
        (["a", _Digested(None)],),
        ((1, (2, _Digested(None))),),
    ],
    ids=["top-level", "in-a-list", "nested-tuple"],
)
def test_a_part_without_a_fingerprint_makes_the_whole_none(parts):
    assert fingerprint(*parts) is None


@dataclasses.dataclass(frozen=True)
class _Settings:
    name: str
    weights: np.ndarray | None


@dataclasses.dataclass(frozen=True)
class _OtherSettings:
    name: str
    weights: np.ndarray | None


def test_dataclasses_are_digested_part_by_part():
    weights = np.zeros(5_000)
    changed = weights.copy()
    changed[2_500] = 1.0  # the same repr: only a digest of the array sees it
    settings = _Settings("a", weights)
    assert fingerprint(settings) == fingerprint(_Settings("a", weights.copy()))
    assert fingerprint(settings) != fingerprint(_Settings("a", changed))
    assert fingerprint(settings) != fingerprint(_Settings("b", weights))
    assert fingerprint(settings) != fingerprint(_OtherSettings("a", weights))


def test_a_dataclass_field_without_a_fingerprint_makes_the_whole_none():
    assert fingerprint(_Settings("a", _Digested(None))) is None


@pytest.mark.parametrize(
    "parts",
    [({"a": 1},), ("glove", [{"a": 1}]), (_Settings("a", {"a": 1}),)],
    ids=["top-level", "in-a-list", "in-a-dataclass"],
)
def test_plain_dicts_are_refused(parts):
    assert fingerprint(*parts) is None


def test_a_dict_with_a_fingerprint_is_digested_by_it():
    class _Vocabulary(dict):
        fingerprint = "v1"

    assert fingerprint(_Vocabulary(a=0)) is not None
    assert fingerprint(_Vocabulary(a=0)) == fingerprint(_Vocabulary(b=1))


def test_other_objects_are_digested_by_repr():
    assert fingerprint(1) != fingerprint(1.0)
    assert fingerprint(None) == fingerprint(None)
    assert fingerprint(None) != fingerprint("None")


# -- cached, cache_sizes, clear_caches ----------------------------------------------


def test_cached_computes_once_per_distinct_input(registry):
    square = _Counting(lambda x: x * x)
    remembered = cached("squares", maxsize=4, key=lambda x: (x,))(square)
    assert remembered(np.arange(3)).tolist() == [0, 1, 4]
    # An equal input, another object: keyed by content, not identity.
    assert remembered(np.arange(3)).tolist() == [0, 1, 4]
    assert square.calls == 1
    assert remembered(np.arange(4)).tolist() == [0, 1, 4, 9]
    assert square.calls == 2
    assert cache_sizes() == {"squares": 2}


def test_cached_keys_by_the_inputs_the_key_function_names(registry):
    scale = _Counting(lambda x, *, factor, label: x * factor)
    remembered = cached(
        "scaled", maxsize=4, key=lambda x, *, factor, label: (x, factor)
    )(scale)
    assert remembered(2, factor=3, label="a") == 6
    assert remembered(2, factor=3, label="b") == 6  # label is not an input
    assert remembered(2, factor=4, label="a") == 8
    assert scale.calls == 2


def test_cached_recomputes_after_clear_caches(registry):
    square = _Counting(lambda x: x * x)
    remembered = cached("squares", maxsize=4, key=lambda x: (x,))(square)
    remembered(3)
    clear_caches()
    assert cache_sizes() == {"squares": 0}
    assert remembered(3) == 9
    assert square.calls == 2


def test_cached_does_not_remember_when_the_key_function_returns_none(registry):
    square = _Counting(lambda x: x * x)
    remembered = cached("squares", maxsize=4, key=lambda x: None if x < 0 else (x,))(
        square
    )
    assert remembered(-3) == remembered(-3) == 9
    assert square.calls == 2
    assert cache_sizes() == {"squares": 0}
    remembered(3)
    remembered(3)
    assert square.calls == 3


@pytest.mark.parametrize("unfingerprinted", [_Digested(None), {"a": 1}])
def test_cached_does_not_remember_an_input_without_a_fingerprint(
    registry, unfingerprinted
):
    identity = _Counting()
    remembered = cached("identity", maxsize=4, key=lambda x: (x,))(identity)
    assert remembered(unfingerprinted) is unfingerprinted
    remembered(unfingerprinted)
    assert identity.calls == 2
    assert cache_sizes() == {"identity": 0}


def test_cached_keeps_at_most_maxsize_entries(registry):
    square = _Counting(lambda x: x * x)
    remembered = cached("squares", maxsize=2, key=lambda x: (x,))(square)
    for x in (1, 2, 3, 1):
        remembered(x)
    assert cache_sizes() == {"squares": 2}
    assert square.calls == 4  # 1 was evicted by 3


def test_functions_registered_under_other_names_keep_separate_caches(registry):
    double = cached("doubles", maxsize=4, key=lambda x: (x,))(lambda x: 2 * x)
    triple = cached("triples", maxsize=4, key=lambda x: (x,))(lambda x: 3 * x)
    assert (double(5), triple(5)) == (10, 15)
    assert cache_sizes() == {"doubles": 1, "triples": 1}


def test_cached_keeps_the_name_and_docstring_of_the_function(registry):
    def square(x):
        """The square of x."""
        return x * x

    remembered = cached("squares", maxsize=4, key=lambda x: (x,))(square)
    assert remembered.__name__ == "square"
    assert remembered.__doc__ == "The square of x."


def test_cache_sizes_lists_every_registered_cache_even_empty(registry):
    cached("empty", maxsize=4, key=lambda x: (x,))(lambda x: x)
    filled = cached("filled", maxsize=4, key=lambda x: (x,))(lambda x: x)
    filled(1)
    filled(2)
    assert cache_sizes() == {"empty": 0, "filled": 2}


def test_the_package_registers_its_caches_by_name():
    # The names the fit path, the text counts and the tables are cached under.
    assert {
        "factors",
        "documents-spectra",
        "counts",
        "corpora",
        "tables",
        "table-vocabularies",
    } <= set(cache_sizes())
