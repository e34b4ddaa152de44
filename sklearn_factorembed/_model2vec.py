"""model2vec folders: a model's word vectors written as one, and one read as a table.

A model2vec folder, what ``model2vec.StaticModel.from_pretrained`` loads, holds
``model.safetensors`` (the matrix, one row per token id, under the key
``"embeddings"``), ``tokenizer.json`` (a Hugging Face ``tokenizers`` tokenizer)
and ``config.json``. ``StaticModel.encode`` tokenizes each document, drops the
tokens its tokenizer maps to the unknown token and averages the rows of the
others: with a word-level tokenizer that lower-cases and splits as a model's
analyzer does, that is ``transform`` with ``pooling="mean"``.

The analyzer runs Python's ``re.findall`` on ``str.lower()``'d text; the
tokenizer runs Oniguruma, the regular-expression engine of ``tokenizers``, on
text lower-cased by its ``Lowercase`` normalizer. The engines disagree on what
``\\w``, ``\\s``, ``\\b``, ``$`` and the inline flags mean, so the token pattern
is translated rather than copied (:func:`oniguruma_pattern`): each character
class is spelled out as the code points Python's engine matches, each anchor as
the lookarounds Python's means. Lower-casing differs in one rule, the final
form of a capital sigma, which a ``Replace`` normalizer applies first.

Reading trusts nothing in the folder: the tokenizer must be word-level with the
ids ``0..n-1``, one per row of a 2-d matrix whose dtype and shape are checked
before it is read.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import numpy as np

from ._files import replace_folder_atomically, special_file_kind

try:  # Python 3.11 and later
    from re import _constants as _sre_constants
    from re import _parser as _sre_parser
except ImportError:  # Python 3.10
    import sre_constants as _sre_constants
    import sre_parse as _sre_parser

MODEL_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "config.json"
EMBEDDINGS = "embeddings"  # the key of the matrix in MODEL_FILE
FOLDER_FILES = frozenset({MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE})  # written
TABLE_FILES = (MODEL_FILE, TOKENIZER_FILE)  # what a table is read from
# Far beyond the tokenizer of any word list: 10 million words take about 200 MB.
_MAX_TOKENIZER_BYTES = 1 << 30
# The safetensors dtypes a table may hold (model2vec quantizes to these).
_DTYPES = ("F16", "F32", "F64", "I8")

# -- the token pattern in Oniguruma's syntax ----------------------------------------

_C = _sre_constants
_N_CODE_POINTS = 0x110000
_SURROGATES = slice(0xD800, 0xE000)  # never in UTF-8 text, nor in a class
_CATEGORIES = {
    _C.CATEGORY_DIGIT: (r"\d", False),
    _C.CATEGORY_NOT_DIGIT: (r"\d", True),
    _C.CATEGORY_SPACE: (r"\s", False),
    _C.CATEGORY_NOT_SPACE: (r"\s", True),
    _C.CATEGORY_WORD: (r"\w", False),
    _C.CATEGORY_NOT_WORD: (r"\w", True),
}
_REPEATS = {
    _C.MAX_REPEAT: "",
    _C.MIN_REPEAT: "?",
    getattr(_C, "POSSESSIVE_REPEAT", None): "+",
}
_NEVER = "(?!)"


_LOOKAROUNDS = {
    (_C.ASSERT, 1): "?=",
    (_C.ASSERT_NOT, 1): "?!",
    (_C.ASSERT, -1): "?<=",
    (_C.ASSERT_NOT, -1): "?<!",
}


class _Untranslatable(ValueError):
    """What in a token pattern no Oniguruma pattern can match as Python does."""


@functools.cache
def _every_character() -> str:
    """Every code point but the surrogates, in order."""
    return "".join(map(chr, range(_SURROGATES.start))) + "".join(
        map(chr, range(_SURROGATES.stop, _N_CODE_POINTS))
    )


def _mask_of(characters: list[str]) -> np.ndarray:
    mask = np.zeros(_N_CODE_POINTS, dtype=bool)
    code_points = np.frombuffer("".join(characters).encode("utf-32-le"), np.uint32)
    mask[code_points] = True
    return mask


@functools.cache
def _category_mask(escape: str, ascii: bool) -> np.ndarray:
    """Which code points Python's ``re`` matches with ``escape`` (``\\w``, ...)."""
    mask = _mask_of(re.findall(escape, _every_character(), re.ASCII if ascii else 0))
    mask.flags.writeable = False
    return mask


def _class(mask: np.ndarray) -> str:
    """An Oniguruma class matching the code points of ``mask``."""
    mask = mask.copy()
    mask[_SURROGATES] = False
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False]))))
    if not len(edges):
        return _NEVER
    ranges = (
        f"\\x{{{first:x}}}" if first == last else f"\\x{{{first:x}}}-\\x{{{last:x}}}"
        for first, last in zip(
            edges[::2].tolist(), (edges[1::2] - 1).tolist(), strict=True
        )
    )
    return f"[{''.join(ranges)}]"


def _set_mask(items, flags: int) -> np.ndarray:
    """The code points a parsed ``[...]`` (an ``IN`` node) matches."""
    mask = np.zeros(_N_CODE_POINTS, dtype=bool)
    negate = False
    for op, argument in items:
        if op is _C.NEGATE:
            negate = True
        elif op is _C.LITERAL:
            mask[argument] = True
        elif op is _C.RANGE:
            mask[argument[0] : argument[1] + 1] = True
        elif op is _C.CATEGORY and argument in _CATEGORIES:
            escape, negated = _CATEGORIES[argument]
            category = _category_mask(escape, bool(flags & re.ASCII))
            mask |= ~category if negated else category
        else:
            raise _Untranslatable(f"the class item {op} {argument}")
    return ~mask if negate else mask


def _word_boundary(flags: int, inside: bool) -> str:
    word = _class(_category_mask(r"\w", bool(flags & re.ASCII)))
    if inside:  # \b: a word character on one side only
        return f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
    return f"(?:(?<={word})(?={word})|(?<!{word})(?!{word}))"


def _anchor(code, flags: int) -> str:
    multiline = flags & re.MULTILINE
    if code is _C.AT_BEGINNING_STRING or (code is _C.AT_BEGINNING and not multiline):
        return r"\A"
    if code is _C.AT_BEGINNING:
        return r"(?:\A|(?<=\n))"
    if code is _C.AT_END_STRING:
        return r"\z"
    if code is _C.AT_END:
        return r"(?=\n|\z)" if multiline else r"(?=\n?\z)"
    if code in (_C.AT_BOUNDARY, _C.AT_NON_BOUNDARY):
        return _word_boundary(flags, inside=code is _C.AT_BOUNDARY)
    raise _Untranslatable(f"the anchor {code}")


def _repeat(op, low: int, high: int, item: str) -> str:
    greedy = _REPEATS[op]
    if high == _C.MAXREPEAT:
        count = f"{{{low},}}"
    elif low == high:
        # Oniguruma reads "{n}?" as an optional "{n}"; an exact count is
        # the same greedy or not.
        count, greedy = f"{{{low}}}", "" if greedy == "?" else greedy
    else:
        count = f"{{{low},{high}}}"
    if greedy == "+":  # Oniguruma's Ruby syntax has no possessive intervals
        return f"(?>(?:{item}){count})"
    return f"(?:{item}){count}{greedy}"


def _translate(parsed, flags: int) -> str:
    parts = []
    for op, argument in parsed:
        if op is _C.LITERAL:
            parts.append(f"\\x{{{argument:x}}}")
        elif op is _C.NOT_LITERAL:
            mask = np.ones(_N_CODE_POINTS, dtype=bool)
            mask[argument] = False
            parts.append(_class(mask))
        elif op is _C.ANY:
            mask = np.ones(_N_CODE_POINTS, dtype=bool)
            mask[ord("\n")] = bool(flags & re.DOTALL)
            parts.append(_class(mask))
        elif op is _C.IN:
            parts.append(_class(_set_mask(argument, flags)))
        elif op is _C.BRANCH:
            branches = (_translate(branch, flags) for branch in argument[1])
            parts.append(f"(?:{'|'.join(branches)})")
        elif op is _C.SUBPATTERN:
            _, add_flags, del_flags, subpattern = argument
            if add_flags & re.IGNORECASE:
                raise _Untranslatable("case-insensitive matching")
            inner = _translate(subpattern, (flags | add_flags) & ~del_flags)
            parts.append(f"(?:{inner})")
        elif op in _REPEATS:
            low, high, item = argument
            parts.append(_repeat(op, low, high, _translate(item, flags)))
        elif op is _C.AT:
            parts.append(_anchor(argument, flags))
        elif op in (_C.ASSERT, _C.ASSERT_NOT):
            direction, subpattern = argument
            lookaround = _LOOKAROUNDS[op, direction]
            parts.append(f"({lookaround}{_translate(subpattern, flags)})")
        elif op is getattr(_C, "ATOMIC_GROUP", None):
            parts.append(f"(?>{_translate(argument, flags)})")
        else:
            raise _Untranslatable(str(op).lower().replace("_", " "))
    return "".join(parts)


def oniguruma_pattern(token_pattern: str) -> str:
    r"""An Oniguruma pattern whose matches, found one after another as the
    ``tokenizers`` ``Split`` pre-tokenizer finds them, are the tokens
    ``re.findall(token_pattern, text)`` returns, whatever the text.

    Raises
    ------
    ValueError
        If ``token_pattern`` is case-insensitive (the engines fold case
        differently), has a capturing group (``findall`` then returns the
        group, ``Split`` the whole match), or can match the empty string
        (``findall`` returns empty matches and tries again at the same place,
        which ``Split`` does not).

    Examples
    --------
    >>> oniguruma_pattern(r"[a-c]+")
    '(?:[\\x{61}-\\x{63}]){1,}'
    """
    parsed = _sre_parser.parse(token_pattern)  # valid: build_analyzer checked it

    def refuse(what: str) -> ValueError:
        return ValueError(
            f"token_pattern={token_pattern!r} cannot be written as a tokenizers "
            f"pre-tokenizer that splits text the same way: it has {what}"
        )

    if parsed.state.flags & re.IGNORECASE:
        raise refuse("case-insensitive matching")
    if parsed.state.groups > 1:
        raise refuse("a capturing group (findall returns the group, not the match)")
    if parsed.getwidth()[0] == 0:
        raise refuse("matches of the empty string")
    try:
        return _translate(parsed, parsed.state.flags)
    except _Untranslatable as error:
        raise refuse(str(error)) from None


# -- lower-casing ---------------------------------------------------------------


@functools.cache
def _final_sigma_pattern() -> str:
    r"""The capital sigmas that ``str.lower()`` turns into a final sigma.

    Python lower-cases "Σ" to "ς" after a cased letter and not before one,
    case-ignorable characters (apostrophes, accents) skipped, as Unicode's
    Final_Sigma rule says; the ``Lowercase`` normalizer, character by
    character, always to "σ". The two classes of characters are read off
    ``str.lower()`` itself: ``c + "Σ"`` ends in "ς" when ``c`` is cased (and
    not case-ignorable), ``"A" + c + "Σ"`` when ``c`` is either. ``\K`` starts
    the match at the sigma, so that only the sigma is replaced.
    """
    characters = _every_character()
    cased = _mask_of([c for c in characters if (c + "Σ").lower()[-1] == "ς"])
    either = _mask_of([c for c in characters if ("A" + c + "Σ").lower()[-1] == "ς"])
    cased_class, ignorable_class = _class(cased), _class(either & ~cased)
    return (
        f"{cased_class}{ignorable_class}*\\K\\x{{3a3}}"
        f"(?!{ignorable_class}*{cased_class})"
    )


# -- writing -----------------------------------------------------------------------


def _tokenizer(words: list[str], analyzer):
    """A word-level ``tokenizers`` tokenizer of ``words`` (ids in their order)
    that lower-cases and splits text as ``analyzer`` does; its unknown token,
    which model2vec drops, has the last id."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    if analyzer.tokenizer is not None:
        raise ValueError(
            "a model with a tokenizer callable cannot be exported to model2vec, "
            "whose tokenizer splits text with a regular expression; fit with "
            "token_pattern instead"
        )
    pattern = oniguruma_pattern(analyzer.token_pattern)
    vocabulary = dict(zip(words, range(len(words)), strict=True))
    unknown = "[UNK]"
    while unknown in vocabulary:
        unknown = f"[{unknown}]"
    vocabulary[unknown] = len(words)
    tokenizer = Tokenizer(WordLevel(vocabulary, unk_token=unknown))
    if analyzer.lowercase:
        tokenizer.normalizer = normalizers.Sequence(
            [
                normalizers.Replace(Regex(_final_sigma_pattern()), "ς"),
                normalizers.Lowercase(),
            ]
        )
    try:
        regex = Regex(pattern)
    except Exception as error:  # tokenizers raises a bare Exception
        raise ValueError(
            f"token_pattern={analyzer.token_pattern!r} cannot be written as a "
            f"tokenizers pre-tokenizer: Oniguruma refuses its translation ({error})"
        ) from None
    # invert=True: the matches are the tokens and the text between them is
    # dropped, which is what re.findall returns.
    tokenizer.pre_tokenizer = pre_tokenizers.Split(
        regex, behavior="removed", invert=True
    )
    return tokenizer


def write_model2vec(keyed_vectors, path: str | os.PathLike, analyzer) -> None:
    """Write the words and vectors of ``keyed_vectors`` as a model2vec folder
    whose ``StaticModel.encode`` tokenizes as ``analyzer`` and averages the
    vectors of the known words (see the module's docstring); atomically, see
    :func:`._files.replace_folder_atomically`."""
    from safetensors.numpy import save_file

    words, vectors = keyed_vectors.index_to_key, keyed_vectors.vectors
    tokenizer = _tokenizer(words, analyzer)
    # The unknown token's row: never read, as model2vec drops the token.
    matrix = np.concatenate([vectors, np.zeros((1, vectors.shape[1]), vectors.dtype)])
    # What model2vec reads: no normalization of the means, and no truncation
    # of long documents (its default is 512 tokens).
    config = {"normalize": False, "max_length": None}

    def write(folder: Path) -> None:
        save_file({EMBEDDINGS: matrix}, str(folder / MODEL_FILE))
        tokenizer.save(str(folder / TOKENIZER_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")

    replace_folder_atomically(path, write, FOLDER_FILES)


# -- reading -----------------------------------------------------------------------


def _checked_file(folder: Path, name: str) -> Path:
    path = folder / name
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise IsADirectoryError(
            f"vectors={str(folder)!r} is a folder, and not a model2vec folder: it "
            f"has no {name}"
        ) from None
    kind = special_file_kind(mode)
    if kind is not None:
        raise OSError(
            f"the model2vec file {str(path)!r} is {kind}, not a regular file; it "
            "is refused without being opened"
        )
    return path


def _read_vocabulary(path: Path) -> tuple[list[str], str | None]:
    """The tokens of a word-level tokenizer file in id order, and its unknown
    token."""
    from tokenizers import Tokenizer

    size = path.stat().st_size
    if size > _MAX_TOKENIZER_BYTES:
        raise ValueError(
            f"the tokenizer file {str(path)!r} takes {size} bytes, more than the "
            f"{_MAX_TOKENIZER_BYTES} bytes the tokenizer of a word list needs"
        )
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception
        raise ValueError(
            f"the tokenizer file {str(path)!r} is not a tokenizers file: {error}"
        ) from None
    kind = type(tokenizer.model).__name__
    if kind != "WordLevel":
        raise ValueError(
            f"the tokenizer file {str(path)!r} holds a {kind} tokenizer: only "
            "word-level model2vec folders can be tables, as the tokens of a "
            "subword tokenizer are not words"
        )
    vocabulary = tokenizer.get_vocab()  # with its added tokens, as model2vec
    ids = np.fromiter(vocabulary.values(), dtype=np.int64, count=len(vocabulary))
    order = np.argsort(ids)
    if not np.array_equal(ids[order], np.arange(len(ids))):
        raise ValueError(
            f"the tokenizer file {str(path)!r} is malformed: the ids of its "
            f"{len(ids)} tokens are not 0 to {len(ids) - 1}, one each"
        )
    tokens = list(vocabulary)
    return list(map(tokens.__getitem__, order.tolist())), tokenizer.model.unk_token


def _read_matrix(path: Path, n_rows: int) -> np.ndarray:
    """The ``"embeddings"`` matrix of a safetensors file, checked to have
    ``n_rows`` rows and a dtype of a table before it is read."""
    from safetensors import safe_open

    def malformed(problem: str) -> ValueError:
        return ValueError(f"the model2vec file {str(path)!r} is malformed: {problem}")

    try:
        # safe_open checks the header against the size of the file.
        with safe_open(str(path), framework="numpy") as tensors:
            names = set(tensors.keys())
            if names != {EMBEDDINGS}:
                raise malformed(
                    f"it holds the tensors {sorted(names)}, where a table is the "
                    f"one tensor {EMBEDDINGS!r} (a vocabulary-quantized model "
                    "adds 'weights' and 'mapping', which tables do not support)"
                )
            header = tensors.get_slice(EMBEDDINGS)
            dtype, shape = header.get_dtype(), tuple(header.get_shape())
            if dtype not in _DTYPES:
                raise malformed(
                    f"its matrix holds {dtype} values, not one of {_DTYPES}"
                )
            if len(shape) != 2 or shape[0] != n_rows:
                raise malformed(
                    f"its matrix has the shape {shape}, where the {n_rows} tokens "
                    "of its tokenizer need one row each"
                )
            matrix = tensors.get_tensor(EMBEDDINGS)
    except ValueError:
        raise
    except Exception as error:  # safetensors's own errors
        raise malformed(str(error)) from None
    if matrix.dtype.kind != "f":  # int8, as model2vec quantizes
        matrix = matrix.astype(np.float32)
    return matrix


def read_model2vec(folder: Path) -> tuple[list[str], np.ndarray]:
    """The words and vectors of a word-level model2vec folder: the tokens of
    its tokenizer in id order, less the unknown token (model2vec drops it),
    and the rows of its matrix."""
    tokenizer_path = _checked_file(folder, TOKENIZER_FILE)
    model_path = _checked_file(folder, MODEL_FILE)
    tokens, unknown = _read_vocabulary(tokenizer_path)
    matrix = _read_matrix(model_path, len(tokens))
    if unknown in tokens:
        row = tokens.index(unknown)
        del tokens[row]
        matrix = np.delete(matrix, row, axis=0)
    return tokens, matrix
