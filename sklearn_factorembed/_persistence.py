"""Save and load fitted estimators as portable files that never run code.

A model file is a zip archive readable by ``np.load(allow_pickle=False)``: one
``.npy`` member per fitted array and a ``metadata.json`` member holding the format
name and version, the estimator's class name and parameters, its fitted scalars,
its vocabulary (the words in row order) and a SHA-256 checksum of all of it.
Nothing in the file is a pickle, so loading a file from an untrusted source can
fail but cannot execute code.

The file format knows nothing about any estimator class: it saves every
attribute whose name ends in ``_`` (the scikit-learn convention for fitted
state), so fitted attributes added later are saved without changes here.
Pickles and skops files carry the same fitted state, through the
``__getstate__`` and ``__setstate__`` of :class:`FittedStateMixin`, and it is
checked when set as a model file's is.

Files are written atomically (see :func:`._files.replace_atomically`), so a
crash mid-write leaves any earlier file intact.

Reading trusts nothing in the file: the zip's table of contents, each member's
stated and compressed sizes, each ``.npy`` header and the metadata are checked
against one another and against fixed bounds before the bytes they describe are
read, so that a crafted file is refused at the cost of reading its headers, not
of allocating what they promise.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._files import replace_atomically, special_file_kind
from ._model2vec import write_model2vec
from ._options import EXPORT_FORMATS
from ._quantize import StoredArray, restore_quantized, store_quantized
from ._validation import check_fitted_state
from ._vectors import Vocabulary, in_row_order
from ._version import __version__

FORMAT_NAME = "sklearn-factorembed-model"
FORMAT_VERSION = 1

_METADATA = "metadata.json"
_ZIP_MAGIC = b"PK\x03\x04"
# Bounds no model file comes near, so that a crafted one costs bounded memory and
# time. The metadata of a model with 10 million words takes about 150 MB, and
# nests 5 levels deep.
_MAX_METADATA_BYTES = 1 << 28
_MAX_NESTING = 32
# A deflated member may inflate to this many times its compressed size (arrays
# of floats deflate by about 1.1, the words of a vocabulary by about 3), plus
# _INFLATION_ALLOWANCE whatever its size; zip bombs inflate by up to 1032.
_MAX_INFLATION = 100
_INFLATION_ALLOWANCE = 1 << 16
_LOCAL_HEADER_BYTES = 30  # before a member's name, extra field and data
_MAX_NPY_HEADER_BYTES = 10_000  # numpy's own bound for headers it parses
_READ_BYTES = 1 << 22  # members are read in chunks this big, into their array
# How each byte of JSON changes the nesting, outside strings.
_BRACKET_STEPS = np.zeros(256, dtype=np.int8)
_BRACKET_STEPS[[ord("["), ord("{")]] = 1
_BRACKET_STEPS[[ord("]"), ord("}")]] = -1
_WHITESPACE = re.compile(r"\s")
# scikit-learn's convention (and check_is_fitted's): fitted state ends in "_" and
# does not start with "__".
_FITTED_NAME = re.compile(r"_?[A-Za-z]\w*_")


# -- writing ---------------------------------------------------------------------


def _json_value(value, name: str):
    """``value`` as plain JSON types, or a ValueError naming ``name``."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(item, name) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _json_value(item, name) for key, item in value.items()}
    raise ValueError(
        f"{name}={_short_repr(value)} cannot be saved portably: a model file holds "
        "only numbers, strings, lists, dicts and numeric arrays, never Python "
        "objects or code"
    )


def _short_repr(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _encode_parameter(name: str, value) -> dict:
    if isinstance(value, np.dtype) or (
        isinstance(value, type) and issubclass(value, np.generic)
    ):
        return {"kind": "dtype", "value": np.dtype(value).name}
    return {"kind": "json", "value": _json_value(value, name)}


def _is_vocabulary(value) -> bool:
    """A non-empty dict of words to the rows ``0 .. n-1``, in row order."""
    if not isinstance(value, dict) or not value:
        return False
    # Type sets rather than a generator of isinstance calls: a vocabulary can
    # hold millions of words.
    if set(map(type, value)) != {str} or set(map(type, value.values())) != {int}:
        return False
    return in_row_order(value)


def _encode_attribute(name: str, value, arrays: dict[str, np.ndarray]) -> dict:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise ValueError(
                f"{name} is an array of dtype {value.dtype}, which can only be "
                "saved as a pickle; a model file holds only numeric arrays"
            )
        arrays[name] = np.ascontiguousarray(value)
        return {"kind": "array", "dtype": value.dtype.str, "shape": list(value.shape)}
    if _is_vocabulary(value):
        return {"kind": "vocabulary", "words": list(value)}
    return {"kind": "json", "value": _json_value(value, name)}


def fitted_attributes(state: dict) -> dict:
    """The fitted attributes in an estimator's pickled ``state``."""
    return {
        name: value for name, value in state.items() if _FITTED_NAME.fullmatch(name)
    }


def _canonical_json(metadata: dict) -> bytes:
    return json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode()


def _checksum(metadata: dict, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(_canonical_json(metadata))
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def save_estimator(estimator, path: str | os.PathLike, attributes: dict) -> None:
    """Write a fitted estimator's parameters and fitted state to ``path``.

    Parameters
    ----------
    estimator : fitted scikit-learn estimator
        Its parameters must be numbers, strings, paths, dtypes or lists of them.
    path : str or path-like
        The file to write, replaced atomically if it exists; its folder must
        exist.
    attributes : dict
        The fitted attributes to store (names ending in ``_``), as the
        estimator's ``__setstate__`` takes them back: numeric arrays, numbers,
        strings, vocabularies, or dicts and lists of them.

    Raises
    ------
    ValueError
        If a parameter or attribute cannot be stored without pickling (a
        callable, a ``KeyedVectors``, an object array, ...).
    FileNotFoundError
        If the folder of ``path`` does not exist.
    """
    check_is_fitted(estimator)
    params = {
        name: _encode_parameter(name, value)
        for name, value in estimator.get_params(deep=False).items()
    }
    arrays: dict[str, np.ndarray] = {}
    attributes = {
        name: _encode_attribute(name, value, arrays)
        for name, value in attributes.items()
    }
    metadata = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "estimator": type(estimator).__name__,
        "library_version": __version__,
        "params": params,
        "attributes": attributes,
    }
    metadata["sha256"] = _checksum(metadata, arrays)

    def write(name: str) -> None:
        with zipfile.ZipFile(name, "w", zipfile.ZIP_STORED) as archive:
            for array_name, array in arrays.items():
                with archive.open(f"{array_name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
            # The words of the vocabularies compress about threefold.
            archive.writestr(
                _METADATA, json.dumps(metadata), compress_type=zipfile.ZIP_DEFLATED
            )

    replace_atomically(path, write)


# -- reading ---------------------------------------------------------------------


class _Invalid(ValueError):
    """A file that is not a valid model file; the message says what is wrong."""


def _check_regular_file(mode: int, path: Path) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(
            f"cannot load the model file {str(path)!r}: it is a folder"
        )
    kind = special_file_kind(mode)
    if kind is not None:
        raise OSError(
            f"cannot load the model file {str(path)!r}: it is {kind}, not a "
            "regular file; it is refused without being opened"
        )


def _open_regular_file(path: Path):
    """Open ``path`` for reading if it is a regular file.

    Refused before opening, as opening a FIFO blocks until something writes to
    it and a device can read forever; opened without blocking and checked
    again, in case the path changed in between. FileNotFoundError names the
    path.
    """
    _check_regular_file(path.stat().st_mode, path)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        _check_regular_file(os.fstat(descriptor).st_mode, path)
    except OSError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def is_model_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a zip archive with a model file's metadata member.

    A quick look at the archive's table of contents, not a validation: loading
    may still fail.
    """
    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as stream:
        if stream.read(4) != _ZIP_MAGIC:
            return False
    try:
        with zipfile.ZipFile(path) as archive:
            return _METADATA in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _members(archive: zipfile.ZipFile, file_size: int) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name, once their sizes are known to be
    possible: each member's data inside the file and apart from the others',
    and no more inflation than _MAX_INFLATION allows, member by member and in
    all."""
    members: dict[str, zipfile.ZipInfo] = {}
    end = file_size
    for info in sorted(archive.infolist(), key=lambda info: -info.header_offset):
        name = info.filename
        if name in members:
            raise _Invalid(f"it holds the member {name!r} twice")
        members[name] = info
        if info.flag_bits & 0x1:
            raise _Invalid(f"its member {name!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # bzip2 and lzma decompress a chunk at a time without bound.
            raise _Invalid(
                f"its member {name!r} uses compression method {info.compress_type}; "
                "model files are stored or deflated"
            )
        # Members do not overlap (a zip bomb can point many members at the
        # same bytes), so that their compressed sizes add up to at most the
        # file's.
        if info.header_offset + _LOCAL_HEADER_BYTES + info.compress_size > end:
            raise _Invalid(
                f"its member {name!r} claims {info.compress_size} bytes past the "
                "end of the file or into another member (truncated or crafted)"
            )
        end = info.header_offset
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size != info.compress_size:
                raise _Invalid(
                    f"its member {name!r} is stored in {info.compress_size} bytes "
                    f"but claims to hold {info.file_size} (truncated or crafted)"
                )
        elif info.file_size > (
            _MAX_INFLATION * info.compress_size + _INFLATION_ALLOWANCE
        ):
            raise _Invalid(
                f"its member {name!r} claims to inflate from {info.compress_size} "
                f"to {info.file_size} bytes, more than a model file's members "
                f"do (at most {_MAX_INFLATION} times, plus "
                f"{_INFLATION_ALLOWANCE} bytes)"
            )
    # Many small members could each use their allowance.
    total = sum(info.file_size for info in members.values())
    if total > _MAX_INFLATION * file_size + _INFLATION_ALLOWANCE:
        raise _Invalid(
            f"its members claim {total} bytes in all, more than {_MAX_INFLATION} "
            f"times the file's {file_size}"
        )
    return members


def _read_into(member, buffer: memoryview) -> None:
    """Fill ``buffer`` from ``member`` a chunk at a time: ``read(n)`` of a
    zip member gathers all ``n`` bytes in a temporary first."""
    filled = 0
    while filled < len(buffer):
        chunk = member.read(min(len(buffer) - filled, _READ_BYTES))
        if not chunk:
            raise EOFError("the member ends before its stated size")
        buffer[filled : filled + len(chunk)] = chunk
        filled += len(chunk)


def _json_nesting(raw: bytes | bytearray) -> int:
    """How deep the arrays and objects of the JSON ``raw`` nest, counted without
    parsing it (so without recursion), in memory bounded by a copy of it.

    Brackets inside strings do not count. Escapes are dropped first, escaped
    backslashes then escaped quotes (a backslash always starts an escape, so
    left-to-right pairs are JSON's), which leaves every quote a delimiter.
    """
    structure = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    deepest = depth = n_quotes = 0
    for start in range(0, len(structure), _READ_BYTES):
        codes = np.frombuffer(structure, np.uint8, offset=start)[:_READ_BYTES]
        quotes = np.flatnonzero(codes == ord('"'))
        brackets = np.flatnonzero(
            (codes == ord("[")) | (codes == ord("]")) | (codes == ord("{"))
            | (codes == ord("}"))
        )  # fmt: skip
        # Outside strings: after an even number of quotes.
        outside = (np.searchsorted(quotes, brackets) + n_quotes) % 2 == 0
        depths = depth + np.cumsum(_BRACKET_STEPS[codes[brackets[outside]]], dtype=int)
        if len(depths):
            deepest, depth = max(deepest, int(depths.max())), int(depths[-1])
        n_quotes += len(quotes)
    return deepest


def _parse_metadata(raw: bytes | bytearray) -> dict:
    try:
        if (depth := _json_nesting(raw)) > _MAX_NESTING:
            raise _Invalid(
                f"its {_METADATA} nests {depth} levels deep, more than the "
                f"{_MAX_NESTING} a model file's metadata may"
            )
        metadata = json.loads(raw.decode("utf-8"))
    except _Invalid:
        raise
    except RecursionError:  # the count above should have caught it
        raise _Invalid(f"its {_METADATA} nests too deeply") from None
    except ValueError as error:  # also UnicodeDecodeError
        raise _Invalid(f"its {_METADATA} is not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _Invalid(f"it is not a {FORMAT_NAME} file")
    version = metadata.get("version")
    if not isinstance(version, int) or version < 1:
        raise _Invalid(f"its format version {version!r} is not a positive int")
    if version > FORMAT_VERSION:
        raise _Invalid(
            f"it has format version {version}, newer than the version "
            f"{FORMAT_VERSION} this library reads; upgrade sklearn-factorembed"
        )
    for key, kind in [
        ("estimator", str),
        ("params", dict),
        ("attributes", dict),
        ("sha256", str),
    ]:
        if not isinstance(metadata.get(key), kind):
            raise _Invalid(f"its metadata has no valid {key!r} entry")
    return metadata


def _read_metadata(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    if info.file_size > _MAX_METADATA_BYTES:
        raise _Invalid(
            f"its {_METADATA} is {info.file_size} bytes, more than the "
            f"{_MAX_METADATA_BYTES} a model file's metadata may have"
        )
    raw = bytearray(info.file_size)
    with archive.open(info) as member:
        _read_into(member, memoryview(raw))
    return _parse_metadata(raw)


def _array_names(metadata: dict) -> set[str]:
    names = set()
    for name, entry in metadata["attributes"].items():
        # Only names save_estimator writes: setting "__dict__" or "__class__"
        # from a file would rewrite the object itself.
        if not _FITTED_NAME.fullmatch(name):
            raise _Invalid(f"{name!r} is not the name of a fitted attribute")
        if not isinstance(entry, dict) or entry.get("kind") not in (
            "array",
            "vocabulary",
            "json",
        ):
            raise _Invalid(f"its entry for the attribute {name!r} is malformed")
        if entry["kind"] == "array":
            names.add(name)
    return names


def _read_npy_header(member, name: str) -> tuple[tuple, bool, np.dtype, int, bytes]:
    """The shape, order and dtype of an ``.npy`` member, the length of its
    header, and the bytes of its data read with the header."""
    prefix = member.read(_MAX_NPY_HEADER_BYTES + 16)
    stream = io.BytesIO(prefix)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }.get(version)
        if read_header is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, fortran_order, dtype = read_header(
            stream, max_header_size=_MAX_NPY_HEADER_BYTES
        )
    # numpy parses the header (at most _MAX_NPY_HEADER_BYTES) with tokenize and
    # ast, whose errors are of many kinds.
    except Exception as error:
        raise _Invalid(
            f"its array {name!r} has no valid .npy header ({_one_line(error)})"
        ) from None
    return shape, fortran_order, dtype, stream.tell(), prefix[stream.tell() :]


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _read_array(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, entry: dict
) -> np.ndarray:
    """Read an ``.npy`` member, once its header agrees with the metadata and
    with the member's stated size, into an array allocated once."""
    with archive.open(info) as member:
        shape, fortran_order, dtype, header_bytes, data = _read_npy_header(member, name)
        if dtype.hasobject:
            raise _Invalid(
                f"its array {name!r} cannot be read (it holds Python objects, which "
                "would have to be unpickled)"
            )
        if dtype.str != entry.get("dtype") or list(shape) != entry.get("shape"):
            raise _Invalid(
                f"its array {name!r} has dtype {dtype.str} and shape "
                f"{list(shape)}, but the metadata says {entry.get('dtype')} and "
                f"{entry.get('shape')}"
            )
        n_bytes = math.prod(shape) * dtype.itemsize
        stated = info.file_size - header_bytes
        if stated != n_bytes:
            raise _Invalid(
                f"its array {name!r} holds {stated} bytes after its header where "
                f"its shape {list(shape)} and dtype {dtype.str} need {n_bytes}"
            )
        buffer = np.empty(n_bytes, dtype=np.uint8)
        buffer[: len(data)] = np.frombuffer(data, dtype=np.uint8)
        _read_into(member, memoryview(buffer)[len(data) :])
    try:
        return buffer.view(dtype).reshape(shape, order="F" if fortran_order else "C")
    except (ValueError, TypeError) as error:
        raise _Invalid(f"its array {name!r} cannot be read ({error})") from None


def _read_arrays(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], metadata: dict
) -> dict[str, np.ndarray]:
    expected = _array_names(metadata)
    # Named as np.load names them: the member's name without ".npy".
    files = {name.removesuffix(".npy"): info for name, info in members.items()}
    present = set(files) - {_METADATA}
    if present - expected:
        raise _Invalid(
            "it holds members its metadata does not describe: "
            f"{sorted(present - expected)}"
        )
    if expected - present:
        raise _Invalid(f"the arrays {sorted(expected - present)} are missing")
    return {
        name: _read_array(archive, files[name], name, metadata["attributes"][name])
        for name in sorted(expected)
    }


def _read(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with _open_regular_file(path) as stream:
        if stream.read(4) != _ZIP_MAGIC:
            raise _Invalid(f"it is not a {FORMAT_NAME} file (not a zip archive)")
        stream.seek(0)
        file_size = os.fstat(stream.fileno()).st_size
        try:
            with zipfile.ZipFile(stream) as archive:
                members = _members(archive, file_size)
                if _METADATA not in members:
                    raise _Invalid(f"it is not a {FORMAT_NAME} file (no {_METADATA})")
                metadata = _read_metadata(archive, members[_METADATA])
                arrays = _read_arrays(archive, members, metadata)
        except _Invalid:
            raise
        except (
            zipfile.BadZipFile,
            EOFError,
            zlib.error,
            NotImplementedError,
            struct.error,
            # From the zip's own fields: names that are not UTF-8, impossible
            # dates or offsets.
            ValueError,
            # The file is open: an OSError now comes from offsets in a corrupt
            # archive (a seek before its start), not from the disk.
            OSError,
        ) as error:
            raise _Invalid(f"it is truncated or corrupt ({_one_line(error)})") from None
    stored = metadata.pop("sha256")
    if _checksum(metadata, arrays) != stored:
        raise _Invalid("its checksum does not match its contents (corrupt or edited)")
    return metadata, arrays


def _decode_parameter(name: str, entry) -> object:
    if (
        not isinstance(entry, dict)
        or entry.get("kind") not in ("json", "dtype")
        or "value" not in entry
    ):
        raise _Invalid(f"its entry for the parameter {name!r} is malformed")
    if entry["kind"] == "dtype":
        # Only a name: np.dtype would also build structured dtypes from lists.
        # It parses names with ast and warns of deprecated ones: any error or
        # warning means a name save does not write.
        try:
            if not isinstance(entry["value"], str):
                raise TypeError
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                return np.dtype(entry["value"]).type
        except (TypeError, ValueError, SyntaxError, Warning):
            raise _Invalid(f"its dtype {entry['value']!r} is unknown") from None
    return entry["value"]


def _decode_attribute(name: str, entry: dict, arrays: dict) -> object:
    if entry["kind"] == "array":
        return arrays[name]
    if entry["kind"] == "vocabulary":
        words = entry.get("words")
        if not isinstance(words, list) or not set(map(type, words)) <= {str}:
            raise _Invalid(f"its vocabulary {name!r} is not a list of words")
        vocabulary = Vocabulary(zip(words, range(len(words)), strict=True))
        if len(vocabulary) != len(words):
            raise _Invalid(f"its vocabulary {name!r} holds duplicate words")
        return vocabulary
    return entry.get("value")


def _invalid_file(path: Path, reason: str) -> ValueError:
    return ValueError(f"cannot load the model file {str(path)!r}: {reason}")


def read_model(path: str | os.PathLike) -> tuple[dict, dict, dict]:
    """Read and validate a model file.

    Returns
    -------
    metadata : dict
        Format, version, estimator class name, library version, and the raw
        entries of parameters and attributes.
    params : dict
        The estimator's parameters, decoded.
    attributes : dict
        The fitted attributes, decoded (arrays as ndarrays, the vocabulary as a
        read-only dict of word to row).

    Raises
    ------
    ValueError
        If the file is not a model file, or is truncated, corrupt or edited;
        the message names the file and what is wrong.
    FileNotFoundError
        If ``path`` does not exist.
    OSError
        If ``path`` is a folder, FIFO, device or socket: it is refused without
        being opened.
    """
    path = Path(path)
    try:
        metadata, arrays = _read(path)
        params = {
            name: _decode_parameter(name, entry)
            for name, entry in metadata["params"].items()
        }
        attributes = {
            name: _decode_attribute(name, entry, arrays)
            for name, entry in metadata["attributes"].items()
        }
    except _Invalid as error:
        raise _invalid_file(path, str(error)) from None
    return metadata, params, attributes


def load_estimator(path: str | os.PathLike, estimator_class: type):
    """Rebuild an estimator of ``estimator_class`` saved by :func:`save_estimator`.

    Parameters are validated as ``fit`` would; the fitted attributes are set
    through ``__setstate__``, which checks them as it does a pickle's
    (``FactorizedEmbedding`` runs :func:`._validation.check_fitted_state`).

    Raises
    ------
    ValueError
        If the file is invalid (see :func:`read_model`), holds another class,
        holds parameters ``estimator_class`` does not accept, or fitted
        attributes its ``__setstate__`` refuses.
    """
    path = Path(path)
    metadata, params, attributes = read_model(path)
    if metadata["estimator"] != estimator_class.__name__:
        raise _invalid_file(
            path,
            f"it holds a {metadata['estimator']}, not a {estimator_class.__name__}",
        )
    try:
        estimator = estimator_class(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as error:
        raise _invalid_file(
            path,
            f"its parameters do not fit this version of {estimator_class.__name__} "
            f"({error}); it was saved by sklearn-factorembed "
            f"{metadata.get('library_version')}",
        ) from None
    state = estimator.__getstate__()
    state.update(attributes)
    try:
        estimator.__setstate__(state)
    except ValueError as error:
        # What the state's check found, without the "cannot restore" around it.
        raise _invalid_file(path, str(error.__cause__ or error)) from None
    return estimator


# -- pickles and skops files -----------------------------------------------------


def _stored(state: dict) -> dict:
    """The estimator's ``state`` as pickles and model files store it: no
    word-code cache (rebuilt when needed, with the table) and quantized codes
    in their stored form."""
    state.pop("_word_codes", None)
    store_quantized(state)
    return state


def _picklable(state: dict) -> dict:
    """:func:`_stored`, with the vocabularies packed into two arrays
    (:meth:`Vocabulary.packed`), which any serializer stores compactly and
    rebuilds (skops fills a dict subclass item by item, which a read-only
    :class:`Vocabulary` refuses)."""
    state = _stored(state)
    for name in ("vocabulary_", "extra_vocabulary_"):
        if isinstance(state.get(name), Vocabulary):
            state[name] = state[name].packed()
    return state


def _unpickled(estimator_class: type, state: dict) -> dict:
    """The inverse of :func:`_picklable`, with a fitted state checked as a
    model file's is (:func:`check_fitted_state`): skops files, which cannot
    run code, set it through ``__setstate__`` too, and may be crafted. What
    the check finds is the cause of the ``ValueError`` raised."""
    try:
        for name in ("vocabulary_", "extra_vocabulary_"):
            value = state.get(name)
            if isinstance(value, tuple):
                if len(value) != 2:
                    raise ValueError(
                        f"{name} must be packed as two arrays, got {len(value)} items"
                    )
                state[name] = Vocabulary.from_packed(*value, name=name)
        attributes = fitted_attributes(state)
        if attributes:
            params = estimator_class._get_param_names()
            embedding = estimator_class(**{k: state[k] for k in params if k in state})
            embedding._validate_params()
            check_fitted_state(embedding, attributes)
    except ValueError as error:
        raise ValueError(
            f"cannot restore a fitted {estimator_class.__name__}: {error}"
        ) from error
    restore_quantized(state)
    return state


class FittedStateMixin:
    """The fitted state of ``FactorizedEmbedding`` as pickles, skops files and
    model files store it, and the attributes that describe it.

    With quantization, ``embedding_`` is derived: pickles and model files
    carry the stored codes of the quantized-codes object instead, under their
    public names, and it is rebuilt from them when unpickled. Put before
    ``BaseEstimator`` among the bases, whose ``__getstate__`` and
    ``__setstate__`` it extends.
    """

    # The arrays the quantized codes store. They are documented in the
    # estimator's Attributes section, which numpydoc renders from the
    # docstring's text, and inherited like nbytes_ (which autodoc lists with
    # the inherited members): the docs need neither defined on the estimator.
    quantized_codes_ = StoredArray()
    code_scales_ = StoredArray()
    code_offsets_ = StoredArray()
    codebooks_ = StoredArray()

    @property
    def nbytes_(self) -> int:
        """Bytes of all the fitted arrays as pickled, the word codes in their
        stored (quantized) form."""
        check_is_fitted(self)
        # The stored state, not __getstate__: that also packs the vocabularies
        # into bytes, which this sum leaves out.
        return sum(
            value.nbytes
            for value in self._stored_attributes().values()
            if isinstance(value, np.ndarray)
        )

    def __getstate__(self):
        # A copy: BaseEstimator may return the instance's own __dict__.
        return _picklable(dict(super().__getstate__()))

    def __setstate__(self, state):
        super().__setstate__(_unpickled(type(self), dict(state)))

    def _stored_attributes(self) -> dict:
        """The fitted attributes as a model file stores them."""
        return fitted_attributes(_stored(dict(vars(self))))


# -- export ----------------------------------------------------------------------


def write_keyed_vectors(
    keyed_vectors,
    path: str | os.PathLike,
    *,
    format: str = "word2vec",
    analyzer: Callable | None = None,
) -> None:
    """Write gensim ``KeyedVectors`` to ``path``, atomically.

    Parameters
    ----------
    keyed_vectors : KeyedVectors
    path : str or path-like
        ``.gz`` or ``.bz2`` at the end compresses the word2vec formats.
    format : {"word2vec", "word2vec-bin", "kv", "model2vec"}, default="word2vec"
        word2vec text (one ``word v1 v2 ...`` line per word after a ``count
        dims`` header), word2vec binary, gensim's native format (a pickle:
        ``KeyedVectors.load`` runs code from the file, so share it only with
        people who trust you), or a model2vec folder
        (:func:`._model2vec.write_model2vec`).
    analyzer : Analyzer, default=None
        With ``"model2vec"``, required: how the model tokenizes documents,
        which the folder's tokenizer does alike.
    """
    if format not in EXPORT_FORMATS:
        raise ValueError(f"format={format!r} is not one of {EXPORT_FORMATS}")
    if format == "model2vec":
        write_model2vec(keyed_vectors, path, analyzer)
        return
    if format == "kv":
        # separately=[]: one file, so that the atomic rename moves all of it.
        replace_atomically(path, lambda name: keyed_vectors.save(name, separately=[]))
        return
    unwritable = next(
        (
            word
            for word in keyed_vectors.index_to_key
            if not word or _WHITESPACE.search(word)
        ),
        None,
    )
    if unwritable is not None:
        raise ValueError(
            f"the word {unwritable!r} is empty or holds whitespace, which the "
            "word2vec format cannot represent; export with format='kv'"
        )
    replace_atomically(
        path,
        lambda name: keyed_vectors.save_word2vec_format(
            name, binary=format == "word2vec-bin"
        ),
    )
