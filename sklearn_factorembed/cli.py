"""The ``factorembed`` console script: compress, evaluate and inspect tables.

Thin by design: parse the arguments, call the library, print. Mistakes in the
input (a missing file, a malformed table, an invalid rank) end with a one-line
error and exit status 1; argparse's own usage errors exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from . import __version__
from ._embedding import SPACES, FactorizedEmbedding
from ._factorize import SOLVERS
from ._persistence import EXPORT_FORMATS, is_model_file, read_model
from ._postprocess import POSTPROCESSINGS
from ._vectors import load_vectors

FORMATS = ("npz", *EXPORT_FORMATS)
# --format defaults to what the name of --out says, else npz.
_FORMAT_OF_SUFFIX = {
    ".txt": "word2vec",
    ".vec": "word2vec",
    ".bin": "word2vec-bin",
    ".kv": "kv",
}
SIMILARITY_BENCHMARKS = ("wordsim353", "simlex999")


def _rank(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid rank {text!r}: expected an int such as 25 or a fraction of "
            "the variance such as 0.9"
        ) from None


def _vocabulary(text: str) -> int | str:
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid vocabulary {text!r}: expected a number of words or 'all'"
        ) from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: expected a positive int"
        )
    return value


def _size(n_bytes: float) -> str:
    for unit in ("B", "kB", "MB"):
        if n_bytes < 1000:
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    return f"{n_bytes:,.1f} GB"


def _steps(total: int, quiet: bool) -> tqdm:
    """A progress bar over the steps of a command, on stderr."""
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


# -- compress --------------------------------------------------------------------


def _compress(args: argparse.Namespace) -> int:
    out = Path(args.out)
    output_format = args.format or _FORMAT_OF_SUFFIX.get(out.suffix.lower(), "npz")
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
        weighting=None,
        postprocess=None if args.postprocess == "none" else args.postprocess,
        quantization=args.quantization,
        pq_subvectors=args.pq_subvectors,
    )
    with _steps(3, args.quiet) as steps:
        steps.set_description(f"loading {args.source}")
        table = load_vectors(args.source)
        steps.update()
        steps.set_description(f"factorizing {len(table):,} x {table.vector_size}")
        embedding.fit()
        steps.update()
        steps.set_description(f"writing {out}")
        if output_format == "npz":
            embedding.save(out)
        else:
            embedding.export(out, format=output_format, space=args.space or "codes")
        steps.update()

    n_words, n_dims = len(embedding.vocabulary_), embedding.components_.shape[1]
    written = f"{out} ({output_format}"
    if output_format != "npz":
        written += f", {args.space or 'codes'}"
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
            ("written", f"{written}, {_size(out.stat().st_size)})"),
        ]
    )
    return 0


# -- evaluate --------------------------------------------------------------------


def _evaluate(args: argparse.Namespace) -> int:
    from .datasets import evaluate_word_analogies, evaluate_word_similarity

    n_steps = 1 + len(SIMILARITY_BENCHMARKS) + (not args.no_analogies)
    results = []
    with _steps(n_steps, args.quiet) as steps:
        steps.set_description(f"loading {args.source}")
        if is_model_file(args.source):
            vectors = FactorizedEmbedding.load(args.source).to_keyedvectors()
        else:
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


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars on stderr"
    )
    parser = argparse.ArgumentParser(
        prog="factorembed",
        description="Compress pretrained word vectors by low-rank factorization, "
        "evaluate them, and inspect saved models.",
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
        help="dimension of the codes (int), or a fraction of the variance to keep "
        "(float in (0, 1))",
    )
    compress.add_argument(
        "--vocabulary",
        type=_vocabulary,
        default="all",
        metavar="K",
        help="keep the K first (most frequent) words of the table (default: all)",
    )
    compress.add_argument(
        "--out", required=True, metavar="PATH", help="the file to write"
    )
    compress.add_argument(
        "--format",
        choices=FORMATS,
        help="npz: a model file; word2vec, word2vec-bin, kv: word vectors for "
        "gensim and other tools (default: from the suffix of --out, else npz)",
    )
    compress.add_argument(
        "--space",
        choices=SPACES,
        help="with a word-vector format: the rank-R codes (default) or their "
        "d-dim reconstructions",
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
        default=FactorizedEmbedding().postprocess or "none",
        help="remove the dominant directions before (abtt) or before and after "
        "(ppa) factorizing (default: %(default)s)",
    )
    compress.add_argument(
        "--quantization",
        choices=("int8", "pq"),
        help="store the codes as int8 or by product quantization (npz models)",
    )
    compress.add_argument(
        "--pq-subvectors",
        type=_positive_int,
        metavar="M",
        help="with --quantization pq: bytes per word; must divide the rank",
    )
    compress.set_defaults(run=_compress)

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
        description="Validate a model file and print its format, parameters and "
        "fitted attributes.",
    )
    info.add_argument("path", metavar="PATH", help="a model file")
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``factorembed`` command line; return the exit status.

    Examples
    --------
    >>> main(["info", "no-such-model.npz"])
    1
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"factorembed {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
