"""The ``factorembed`` console script: compress, export, evaluate and inspect.

Thin by design: parse the arguments, call the library, print. Every error, a
malformed command line included, ends with one line on stderr naming the flag or
file at fault, and exit status 1; an interrupt exits with status 130. No
traceback reaches the user.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from ._files import check_folder_target, special_file_kind
from ._options import (
    DEFAULT_POSTPROCESS,
    EXPORT_FORMATS,
    POSTPROCESSINGS,
    QUANTIZATIONS,
    SOLVERS,
    SPACES,
    WEIGHTINGS,
)

# The library, tqdm included, is imported by the commands that use it: building
# the parser (--help, an error in the arguments) loads neither scikit-learn nor
# gensim.
if TYPE_CHECKING:
    from tqdm import tqdm

    from ._embedding import FactorizedEmbedding

FORMATS = ("npz", *EXPORT_FORMATS)
# The format the name of --out implies when --format is not given. gensim
# compresses the word2vec formats when the name ends in .gz or .bz2.
_VECTOR_SUFFIXES = {
    f"{suffix}{compression}": format
    for suffix, format in [
        (".txt", "word2vec"),
        (".vec", "word2vec"),
        (".bin", "word2vec-bin"),
    ]
    for compression in ("", ".gz", ".bz2")
} | {".kv": "kv"}
_MODEL_SUFFIXES = {".npz": "npz", **_VECTOR_SUFFIXES}
SIMILARITY_BENCHMARKS = ("wordsim353", "simlex999")
INTERRUPTED = 128 + 2  # the shell's status for a process ended by SIGINT

# Library errors name parameters ("rank=60 exceeds the vector size 50 of ..."); on
# the command line they are flags. Quoted text (paths, table names) is matched
# first and kept as it is.
_FLAG_OF_PARAMETER = {
    "vectors": "SOURCE",
    "rank_": "the rank",
    "rank": "--rank",
    "vocabulary": "--vocabulary",
    "weighting": "--weighting",
    "solver": "--solver",
    "postprocess": "--postprocess",
    "quantization": "--quantization",
    "pq_subvectors": "--pq-subvectors",
    "format": "--format",
}
_PARAMETER_NAMES = "|".join(_FLAG_OF_PARAMETER)
_PARAMETER = re.compile(rf"""('[^']*'|"[^"]*")|\b({_PARAMETER_NAMES})=""")


def _in_flags(message: str) -> str:
    """``message`` with the parameters it names replaced by their flags.

    Examples
    --------
    >>> _in_flags("rank=60 exceeds the vector size 50 of 'runs/rank=60.txt'")
    "--rank 60 exceeds the vector size 50 of 'runs/rank=60.txt'"
    """
    return _PARAMETER.sub(
        lambda match: match[1] or f"{_FLAG_OF_PARAMETER[match[2]]} ", message
    )


def _one_line(text: str) -> str:
    # splitlines, not split("\n"): a word can hold U+0085 or U+2028.
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


# -- argument types: a bad value is an error naming its flag, before any work ---------


def _rank(text: str) -> int | float:
    try:
        value: int | float = int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            value = 0
    if (isinstance(value, int) and value >= 1) or (
        isinstance(value, float) and 0 < value < 1
    ):
        return value
    raise argparse.ArgumentTypeError(
        f"expected an int from 1 to the vector size or a float in (0, 1), got {text!r}"
    )


def _vocabulary(text: str) -> int | str:
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive int (keep that many words) or 'all', got {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors end like every other error of the command:
    one line on stderr and exit status 1, where argparse prints the usage and
    exits with 2. ``--help`` and ``--version`` still exit with 0."""

    def error(self, message: str) -> NoReturn:
        # "argument --rank: expected ..." -> "--rank: expected ...".
        message = re.sub(r"^argument ([^\s/:]+)(?:/[^\s:]+)?: ", r"\1: ", message)
        self.exit(1, f"{self.prog}: error: {_one_line(message)}\n")


# -- output files ---------------------------------------------------------------


def _check_out(out: Path, output_format: str) -> None:
    """Refuse an --out that cannot become a regular file (with model2vec, a
    folder), before any work.

    The writers replace the target by renaming a temporary file over it: over a
    FIFO or a device that would silently replace the special file (/dev/null,
    as root), over a folder it fails only after the work is done. A model2vec
    folder replaces only a folder holding an earlier one.
    """
    if not out.parent.is_dir():
        raise ValueError(
            f"--out {str(out)!r}: the folder {str(out.parent)!r} does not exist"
        )
    if output_format == "model2vec":
        from ._model2vec import FOLDER_FILES

        try:
            check_folder_target(out, FOLDER_FILES)
        except OSError as error:
            raise ValueError(f"--out: {error}") from None
    elif out.exists():  # follows a symbolic link: one to /dev/null is refused too
        mode = out.stat().st_mode
        kind = special_file_kind(mode)
        if kind is not None:
            raise ValueError(
                f"--out {str(out)!r} is {kind}; name a "
                "regular file, new or to be replaced"
            )


def _written(out: Path, output_format: str, space: str | None) -> str:
    """What was written to ``out``: its name, format, space and size."""
    files = list(out.iterdir()) if out.is_dir() else [out]
    size = _size(sum(file.stat().st_size for file in files))
    return f"{out} ({', '.join(filter(None, [output_format, space, size]))})"


def _output_format(out: Path, format: str | None, suffixes: dict[str, str]) -> str:
    """``format``, else the one the name of ``out`` ends with."""
    if format is not None:
        return format
    name = out.name.lower()
    # Longest first: "codes.txt.gz" is word2vec text, compressed.
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffixes[suffix]
    named = f"the suffix {out.suffix!r}" if out.suffix else "a name without a suffix"
    plain = [suffix for suffix in suffixes if not suffix.endswith((".gz", ".bz2"))]
    raise ValueError(
        f"--out {str(out)!r}: unknown output format for {named}; end the name "
        f"with one of {', '.join(plain)} (.txt, .vec and .bin also with .gz or "
        ".bz2), or choose the format with --format"
    )


# -- printing -------------------------------------------------------------------


def _size(n_bytes: float) -> str:
    for unit in ("B", "kB", "MB"):
        if n_bytes < 1000:
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:,.1f} GB"


def _steps(total: int, quiet: bool) -> tqdm:
    """A progress bar over the steps of a command, on stderr."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        disable=quiet,
        leave=False,
        bar_format="{desc}step {n_fmt}/{total_fmt} [{elapsed}]",
    )


def _print_rows(rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def _load_model(path: str) -> FactorizedEmbedding:
    """Load a model file and transform one of its words.

    ``FactorizedEmbedding.load`` checks everything the methods read (the one
    validation of a model file, :func:`._validation.check_fitted_state`);
    transforming a word shows that the model works, before anything is
    written.
    """
    from ._embedding import FactorizedEmbedding

    embedding = FactorizedEmbedding.load(path)
    with warnings.catch_warnings():
        # The word may not be a token of its own (it may hold a space).
        warnings.simplefilter("ignore", UserWarning)
        embedding.transform([next(iter(embedding.vocabulary_), "")])
    return embedding


@contextlib.contextmanager
def _in_flags_of_the_command():
    """Reword the errors of the library calls inside in flags (see _in_flags).

    Only around calls on the command's own arguments: a model file's saved
    parameters are not flags.
    """
    try:
        yield
    except (ValueError, OSError) as error:
        raise ValueError(_in_flags(_message(error))) from None


# -- compress --------------------------------------------------------------------


def _compress(args: argparse.Namespace) -> int:
    from ._embedding import FactorizedEmbedding
    from ._vectors import load_vectors

    out = Path(args.out)
    output_format = _output_format(out, args.format, _MODEL_SUFFIXES)
    _check_out(out, output_format)
    if output_format == "npz" and args.space is not None:
        raise ValueError(
            "--space applies to the word-vector formats "
            f"{', '.join(EXPORT_FORMATS)}; an npz model holds the codes and the "
            "directions, hence both"
        )
    embedding = FactorizedEmbedding(
        args.source,
        rank=args.rank,
        solver=args.solver,
        vocabulary=args.vocabulary,
        weighting=None if args.weighting == "none" else args.weighting,
        postprocess=None if args.postprocess == "none" else args.postprocess,
        quantization=args.quantization,
        pq_subvectors=args.pq_subvectors,
    )
    with _steps(3, args.quiet) as steps, _in_flags_of_the_command():
        steps.set_description(f"loading {args.source}")
        table = load_vectors(args.source)
        steps.update()
        n_kept = len(table)
        if args.vocabulary != "all":
            n_kept = min(args.vocabulary, n_kept)
        steps.set_description(
            f"factorizing {n_kept:,} words x {table.vector_size} dims"
        )
        embedding.fit()
        steps.update()
        steps.set_description(f"writing {out}")
        if output_format == "npz":
            embedding.save(out)
        else:
            embedding.export(out, format=output_format, space=args.space or "codes")
        steps.update()

    n_words, n_dims = len(embedding.vocabulary_), embedding.components_.shape[1]
    space = None if output_format == "npz" else args.space or "codes"
    _print_rows(
        [
            ("source", str(args.source)),
            ("words x dims", f"{n_words:,} x {n_dims}"),
            ("rank", str(embedding.rank_)),
            ("parameters", f"{n_words * n_dims:,} -> {embedding.n_parameters_:,}"),
            ("compression", f"{embedding.compression_ratio_:.2f}x"),
            (
                "explained variance",
                f"{float(embedding.explained_variance_ratio_.sum()):.1%}",
            ),
            (
                "reconstruction error",
                f"{embedding.reconstruction_error_:.4f} (relative Frobenius)",
            ),
            ("written", _written(out, output_format, space)),
        ]
    )
    return 0


# -- export ----------------------------------------------------------------------


def _export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    output_format = _output_format(out, args.format, _VECTOR_SUFFIXES)
    _check_out(out, output_format)
    with _steps(2, args.quiet) as steps:
        steps.set_description(f"loading {args.model}")
        embedding = _load_model(args.model)
        steps.update()
        steps.set_description(f"writing {out}")
        with _in_flags_of_the_command():
            embedding.export(out, format=output_format, space=args.space)
        steps.update()

    n_dims = embedding.rank_
    if args.space == "reconstructed":
        n_dims = embedding.components_.shape[1]
    _print_rows(
        [
            ("model", args.model),
            ("words x dims", f"{len(embedding.vocabulary_):,} x {n_dims}"),
            ("written", _written(out, output_format, args.space)),
        ]
    )
    return 0


# -- evaluate --------------------------------------------------------------------


def _evaluate(args: argparse.Namespace) -> int:
    from ._persistence import is_model_file
    from ._vectors import load_vectors
    from .datasets import evaluate_word_analogies, evaluate_word_similarity

    n_steps = 1 + len(SIMILARITY_BENCHMARKS) + (not args.no_analogies)
    results = []
    with _steps(n_steps, args.quiet) as steps:
        steps.set_description(f"loading {args.source}")
        if is_model_file(args.source):
            vectors = _load_model(args.source).to_keyedvectors()
        else:
            with _in_flags_of_the_command():
                vectors = load_vectors(args.source)
        steps.update()
        for name in SIMILARITY_BENCHMARKS:
            steps.set_description(f"evaluating {name}")
            try:
                result = evaluate_word_similarity(vectors, name)
                results.append((name, "spearman", result.spearman, result.coverage))
            except ValueError:  # too few known pairs for a correlation
                results.append((name, "spearman", None, 0.0))
            steps.update()
        if not args.no_analogies:
            steps.set_description("evaluating analogies")
            try:
                result = evaluate_word_analogies(
                    vectors, restrict_vocab=args.restrict_vocab
                )
                results.append(
                    ("analogies", "accuracy", result.accuracy, result.coverage)
                )
            except ValueError:  # no question with all four words known
                results.append(("analogies", "accuracy", None, 0.0))
            steps.update()

    print(f"{args.source}: {len(vectors):,} words x {vectors.vector_size} dims")
    print(f"{'benchmark':<12} {'metric':<9} {'score':>7} {'coverage':>9}")
    for name, metric, score, coverage in results:
        shown = "n/a" if score is None else f"{score:.4f}"
        print(f"{name:<12} {metric:<9} {shown:>7} {coverage:>9.1%}")
    return 0


# -- info ------------------------------------------------------------------------


def _describe(entry: dict, value) -> str:
    if entry["kind"] == "array":
        return f"array {entry['dtype']} {tuple(entry['shape'])}, {_size(value.nbytes)}"
    if entry["kind"] == "vocabulary":
        first = ", ".join(map(repr, list(value)[:5]))
        return f"{len(value):,} words ({first}{', ...' if len(value) > 5 else ''})"
    return repr(value)


def _info(args: argparse.Namespace) -> int:
    from ._persistence import read_model

    # The file is shown as stored, once it is known to load and transform.
    _load_model(args.path)
    metadata, params, attributes = read_model(args.path)
    size = os.path.getsize(args.path)
    print(f"{args.path}: {metadata['estimator']}, {_size(size)}")
    print(
        f"format {metadata['format']} version {metadata['version']}, saved by "
        f"sklearn-factorembed {metadata.get('library_version', '?')}"
    )
    print("\nparameters")
    _print_rows([(f"  {name}", repr(value)) for name, value in params.items()])
    print("\nfitted")
    _print_rows(
        [
            (f"  {name}", _describe(metadata["attributes"][name], value))
            for name, value in attributes.items()
        ]
    )
    return 0


# -- the parser ------------------------------------------------------------------


def _add_output_arguments(command: argparse.ArgumentParser, formats) -> None:
    model = "npz" in formats
    command.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="the file to write, replaced if it exists; not a folder, FIFO or "
        "device (with --format model2vec, the folder to write: new, or one "
        "holding an earlier export, which it replaces)",
    )
    command.add_argument(
        "--format",
        choices=formats,
        help=("npz: a model file; " if model else "")
        + "word2vec, word2vec-bin, kv: word vectors for gensim and other tools; "
        "model2vec: a folder for model2vec.StaticModel.from_pretrained "
        "(default: from the name of --out: "
        + (".npz npz, " if model else "")
        + ".txt and .vec word2vec, .bin word2vec-bin, each also with .gz or .bz2 "
        "to compress, .kv kv; any other name is an error)",
    )


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars on stderr"
    )
    parser = _Parser(
        prog="factorembed",
        description="Compress pretrained word vectors by low-rank factorization, "
        "export, evaluate and inspect the models. Errors are one line on stderr "
        "with exit status 1; an interrupt exits with 130.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    compress = commands.add_parser(
        "compress",
        parents=[common],
        help="factorize a vector table and write the model or its vectors",
        description="Factorize a word-vector table to rank R and write it as a "
        "model file (npz, loadable with FactorizedEmbedding.load) or as word "
        "vectors for other tools; print the parameter counts, compression ratio "
        "and reconstruction error.",
    )
    compress.add_argument(
        "source",
        metavar="SOURCE",
        help="a table name ('glove-6b-50d', a gensim-data name) or a vector file "
        "(word2vec .txt/.bin, GloVe .txt, fastText .vec/.bin, gensim .kv)",
    )
    compress.add_argument(
        "--rank",
        type=_rank,
        required=True,
        metavar="R",
        help="dimension of the codes (an int from 1 to the vector size), or the "
        "fraction of the variance to keep (a float in (0, 1))",
    )
    compress.add_argument(
        "--vocabulary",
        type=_vocabulary,
        default="all",
        metavar="K",
        help="keep the K first (most frequent) words of the table (default: all)",
    )
    _add_output_arguments(compress, FORMATS)
    compress.add_argument(
        "--space",
        choices=SPACES,
        help="with a word-vector format: the rank-R codes (default) or their "
        "d-dim reconstructions",
    )
    compress.add_argument(
        "--weighting",
        choices=("none", *WEIGHTINGS),
        default="none",
        help="how much each word counts in the factorization: none (all equally, "
        "the default), frequency (the square root of its count) or log-frequency "
        "(log(1 + count)); compress has no documents to count in, so the counts "
        "follow Zipf's law over the order of the table, most frequent first",
    )
    compress.add_argument(
        "--solver",
        choices=SOLVERS,
        default="auto",
        help="the factorization solver (default: auto)",
    )
    compress.add_argument(
        "--postprocess",
        choices=("none", *POSTPROCESSINGS),
        default=DEFAULT_POSTPROCESS or "none",
        help="remove the dominant directions before (abtt) or before and after "
        "(ppa) factorizing (default: %(default)s)",
    )
    compress.add_argument(
        "--quantization",
        choices=QUANTIZATIONS,
        help="store the codes as int8 or by product quantization (npz models)",
    )
    compress.add_argument(
        "--pq-subvectors",
        type=_positive_int,
        metavar="M",
        help="with --quantization pq: bytes per word; must divide the rank",
    )
    compress.set_defaults(run=_compress)

    export = commands.add_parser(
        "export",
        parents=[common],
        help="write the word vectors of a saved model for other tools",
        description="Write the words of a model file (written by compress or "
        "FactorizedEmbedding.save) and their codes or reconstructed vectors as "
        "word2vec text, word2vec binary, a gensim .kv file or a model2vec "
        "folder.",
    )
    export.add_argument("model", metavar="MODEL", help="a model file")
    _add_output_arguments(export, EXPORT_FORMATS)
    export.add_argument(
        "--space",
        choices=SPACES,
        default="codes",
        help="the rank-R codes (default) or their d-dim reconstructions",
    )
    export.set_defaults(run=_export)

    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="score vectors on word similarity and analogies",
        description="Score a vector table or a saved model (its codes) on "
        "WordSim-353 and SimLex-999 (Spearman correlation) and the Google "
        "analogies (accuracy), printed as a table with the coverage of each.",
    )
    evaluate.add_argument(
        "source",
        metavar="SOURCE_OR_SAVED",
        help="a table name, a vector file, or a model file written by compress",
    )
    evaluate.add_argument(
        "--restrict-vocab",
        type=_positive_int,
        default=30000,
        metavar="N",
        help="analogies use the N first words of the table (default: 30000)",
    )
    evaluate.add_argument(
        "--no-analogies",
        action="store_true",
        help="skip the analogies, which take about a minute at the default N",
    )
    evaluate.set_defaults(run=_evaluate)

    info = commands.add_parser(
        "info",
        parents=[common],
        help="show what a saved model holds",
        description="Validate a model file (it must load and transform) and "
        "print its format, parameters and fitted attributes.",
    )
    info.add_argument("path", metavar="PATH", help="a model file")
    info.set_defaults(run=_info)
    return parser


def _message(error: BaseException) -> str:
    """``error`` as one line: the message alone for the errors written for users
    (ValueError, OSError, TypeError); the type first for any other, whose message
    can be a bare key or nothing."""
    text = _one_line(str(error))
    if isinstance(error, (ValueError, OSError, TypeError)) and not isinstance(
        error, UnicodeError
    ):
        return text or type(error).__name__
    if isinstance(error, MemoryError):
        text = text or "out of memory"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``factorembed`` command line; return the exit status.

    Examples
    --------
    >>> main(["info", "no-such-model.npz"])
    1
    """
    parser = _build_parser()
    prog = parser.prog
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit:  # --help, --version, or an error already shown
            return exit.code if isinstance(exit.code, int) else 1
        prog = f"{parser.prog} {args.command}"
        status = args.run(args)
        sys.stdout.flush()  # so that a closed pipe shows here, not at exit
        return status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout left (`factorembed info model.npz | head -1`):
        # nobody to tell. Point stdout at devnull so that the flush at exit does
        # not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as error:  # the last resort: one line, never a traceback
        print(f"{prog}: error: {_message(error)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
