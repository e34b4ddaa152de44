"""The ``factorembed`` console script, end to end and through ``main``."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from gensim.test.utils import datapath

import sklearn_factorembed
from sklearn_factorembed import (
    FactorizedEmbedding,
    _persistence,
    _vectors,
    cli,
    load_vectors,
)
from sklearn_factorembed.cli import main
from sklearn_factorembed.datasets import evaluate_word_similarity

LEE = datapath("lee_fasttext.vec")  # 1,762 words x 10 dims


def _console_script() -> str:
    beside_python = Path(sys.executable).parent / "factorembed"
    script = str(beside_python) if beside_python.exists() else None
    script = script or shutil.which("factorembed")
    assert script, "the factorembed console script is not installed"
    return script


def _environment() -> dict[str, str]:
    # The script must import the package under test, wherever it was imported
    # from here.
    root = str(Path(sklearn_factorembed.__file__).parents[1])
    python_path = os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": python_path}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_console_script(), *args],
        capture_output=True,
        text=True,
        env=_environment(),
    )


def _one_line(stderr: str) -> str:
    """The error line of ``stderr``, checked to be all of it."""
    assert "Traceback" not in stderr
    assert stderr.endswith("\n") and stderr.count("\n") == 1, stderr
    assert len(stderr.splitlines()) == 1, stderr  # no \r, U+0085 or U+2028 either
    return stderr.rstrip("\n")


def _model_without(attribute: str, path: Path) -> Path:
    """A model file that passes the checksum but lacks a fitted attribute."""
    embedding = FactorizedEmbedding(LEE, rank=3, vocabulary="all", weighting=None)
    embedding.fit()
    delattr(embedding, attribute)
    embedding.save(path, extra_words=0)
    return path


def _centred_table():
    table = KeyedVectors.load_word2vec_format(LEE)
    vectors = table.vectors.astype(np.float64)
    return table, vectors - vectors.mean(axis=0)


def _scores(output: str) -> dict[str, float]:
    """benchmark -> score from the table ``evaluate`` prints."""
    rows = [line.split() for line in output.splitlines()]
    return {
        row[0]: float(row[2])
        for row in rows
        if row and row[0] in ("wordsim353", "simlex999", "analogies")
    }


# -- end to end, through the installed console script -------------------------------


def test_compress_to_word2vec_then_gensim_loads_it_and_evaluate_scores_it(tmp_path):
    out = tmp_path / "codes.txt"
    compressed = _run(
        "compress", LEE, "--rank", "4", "--postprocess", "none", "--out", str(out), "-q"
    )
    assert compressed.returncode == 0, compressed.stderr
    assert compressed.stderr == ""  # --quiet: no progress bars
    assert "17,620 -> " in compressed.stdout  # 1,762 x 10 parameters before

    codes = KeyedVectors.load_word2vec_format(str(out))
    table, centred = _centred_table()
    assert codes.index_to_key == table.index_to_key
    assert codes.vector_size == 4
    # Independent check: the codes' Gram matrix is that of the centred table
    # projected on its top 4 right singular vectors (sign-free).
    _, _, right = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ right[:4].T
    np.testing.assert_allclose(
        codes.vectors @ codes.vectors.T, projected @ projected.T, atol=1e-4
    )

    evaluated = _run("evaluate", str(out))
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stderr  # progress bars without --quiet
    scores = _scores(evaluated.stdout)
    assert scores.keys() == {"wordsim353", "simlex999", "analogies"}
    expected = evaluate_word_similarity(codes, "simlex999").spearman
    assert scores["simlex999"] == pytest.approx(expected, abs=1e-4)


def test_user_mistake_is_one_line_on_stderr_and_exit_status_1(tmp_path):
    out = str(tmp_path / "m.npz")
    result = _run("compress", LEE, "--rank", "50", "--out", out, "-q")
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        f"factorembed compress: error: --rank 50 exceeds the vector size 10 of {LEE!r}"
    )


def test_malformed_rank_is_one_line_and_exit_status_1_like_other_bad_ranks(tmp_path):
    # argparse's own errors used to print the usage and exit with 2.
    result = _run("compress", LEE, "--rank", "abc", "--out", str(tmp_path / "m.npz"))
    assert result.returncode == 1
    assert _one_line(result.stderr) == (
        "factorembed compress: error: --rank: expected an int from 1 to the vector "
        "size or a float in (0, 1), got 'abc'"
    )


def test_help_still_exits_0():
    result = _run("compress", "--help")
    assert result.returncode == 0
    assert "--rank R" in result.stdout
    assert "--weighting {none,frequency,log-frequency}" in result.stdout
    assert result.stderr == ""


def test_error_after_progress_bars_is_still_one_line(tmp_path):
    # Without --quiet the bars are cleared with carriage returns before the error.
    out = str(tmp_path / "m.npz")
    result = subprocess.run(
        [_console_script(), "compress", LEE, "--rank", "50", "--out", out],
        capture_output=True,  # bytes: text mode would turn "\r" into "\n"
        env=_environment(),
    )
    assert result.returncode == 1
    assert b"\r" in result.stderr  # the bars were drawn
    assert result.stderr.count(b"\n") == 1 and result.stderr.endswith(b"\n")
    last = result.stderr.split(b"\r")[-1].decode()
    assert last.startswith("factorembed compress: error: --rank 50 exceeds")


def test_interrupt_exits_130_without_traceback():
    process = subprocess.Popen(
        [_console_script(), "evaluate", "glove-6b-50d"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    try:
        # Interrupt once the bar of the last step is drawn whole: then the command
        # is inside main, where the interrupt is handled, and busy with the
        # analogies on 30,000 words, which take far longer than this test.
        shown = b""
        while not shown.endswith(b"]") or b"evaluating analogies" not in shown:
            byte = process.stderr.read(1)
            assert byte, f"the command ended before the analogies: {shown!r}"
            shown += byte
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    last = (shown + stderr).decode().split("\r")[-1]
    assert last == "factorembed evaluate: interrupted\n"
    assert b"Traceback" not in shown + stderr


def test_closed_stdout_is_neither_a_traceback_nor_a_complaint(tmp_path):
    model = tmp_path / "model.npz"
    assert main(["compress", LEE, "--rank", "3", "--out", str(model), "-q"]) == 0
    process = subprocess.Popen(
        [_console_script(), "info", str(model)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_environment(),
    )
    process.stdout.close()  # as `factorembed info model.npz | head -0` would
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert stderr == b""


# -- in process, through main ---------------------------------------------------------


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    commands = {"compress", "export", "evaluate", "info"}
    assert commands <= set(capsys.readouterr().out.split())


@pytest.mark.parametrize("command", ["compress", "export", "evaluate", "info"])
def test_every_command_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"usage: factorembed {command}" in capsys.readouterr().out


def test_version_exits_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"factorembed {sklearn_factorembed.__version__}\n"


def test_compress_to_npz_then_info_and_evaluate_the_model(tmp_path, capsys):
    model = tmp_path / "model.npz"
    assert main(["compress", LEE, "--rank", "3", "--out", str(model), "-q"]) == 0
    embedding = FactorizedEmbedding.load(model)
    assert embedding.rank_ == 3 and len(embedding.vocabulary_) == 1762
    capsys.readouterr()

    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "FactorizedEmbedding" in info
    assert "1,762 words ('the'" in info
    assert "embedding_" in info and "(1762, 3)" in info

    assert main(["evaluate", str(model), "--no-analogies", "-q"]) == 0
    from_model = _scores(capsys.readouterr().out)
    codes = tmp_path / "codes.bin"
    assert main(["compress", LEE, "--rank", "3", "--out", str(codes), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(codes), "--no-analogies", "-q"]) == 0
    assert _scores(capsys.readouterr().out) == pytest.approx(from_model, abs=1e-6)
    assert set(from_model) == {"wordsim353", "simlex999"}


def test_compress_reconstructed_vectors_are_the_projected_table(tmp_path):
    out = tmp_path / "vectors.bin"
    argv = ["compress", LEE, "--rank", "4", "--postprocess", "none", "--out"]
    argv += [str(out), "--space"]
    assert main([*argv, "reconstructed", "-q"]) == 0
    loaded = KeyedVectors.load_word2vec_format(str(out), binary=True)
    table, centred = _centred_table()
    _, _, right = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ right[:4].T @ right[:4] + table.vectors.mean(axis=0)
    assert loaded.vector_size == 10
    np.testing.assert_allclose(loaded.vectors, projected, atol=1e-4)


def test_compress_rank_fraction_and_vocabulary(tmp_path, capsys):
    out = tmp_path / "model.npz"
    argv = ["compress", LEE, "--rank", "0.9", "--vocabulary", "500", "--out"]
    assert main([*argv, str(out), "-q"]) == 0
    table, _ = _centred_table()
    first = table.vectors[:500].astype(np.float64)
    singular_values = np.linalg.svd(first - first.mean(axis=0), compute_uv=False)
    explained = np.cumsum(singular_values**2) / np.sum(singular_values**2)
    expected_rank = int(np.searchsorted(explained, 0.9) + 1)
    embedding = FactorizedEmbedding.load(out)
    assert embedding.rank_ == expected_rank
    assert list(embedding.vocabulary_) == table.index_to_key[:500]
    assert f"rank                  {expected_rank}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compress", "missing.txt", "--rank", "2"], "no such vectors file"),
        (["compress", "glove-7b", "--rank", "2"], "neither an existing file"),
        (["compress", LEE, "--rank", "0"], "--rank: expected an int from 1"),
        (["compress", "folder", "--rank", "2"], "SOURCE 'folder' is a folder"),
        (["compress", LEE, "--rank", "2", "--space", "codes"], "--space applies"),
        (["info", LEE], "not a zip archive"),
        (["evaluate", "missing.npz"], "neither an existing file"),
    ],
)
def test_user_mistakes_exit_1_with_a_one_line_error(
    argv, message, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    if argv[0] == "compress":
        argv = [*argv, "--out", str(tmp_path / "model.npz")]
    assert main([*argv, "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    assert error.startswith(f"factorembed {argv[0]}: error: ")
    assert message in error


def test_bad_vector_file_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "table.txt").write_bytes(b"a 1 0\nb 0 nan\n")
    assert main(["evaluate", str(tmp_path / "table.txt"), "-q"]) == 1
    assert "table.txt' holds NaN" in capsys.readouterr().err


def test_output_into_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "model.npz"
    assert main(["compress", LEE, "--rank", "2", "--out", str(out), "-q"]) == 1
    assert "the folder" in capsys.readouterr().err


RANK_EXPECTED = "--rank: expected an int from 1 to the vector size or a float in (0, 1)"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compress", LEE, "--rank", "ten"], f"{RANK_EXPECTED}, got 'ten'"),
        (["compress", LEE, "--rank", "-3"], f"{RANK_EXPECTED}, got '-3'"),
        (["compress", LEE, "--rank", "1.5"], f"{RANK_EXPECTED}, got '1.5'"),
        (["compress", LEE, "--rank", "1.0"], f"{RANK_EXPECTED}, got '1.0'"),
        (["compress", LEE, "--rank", "nan"], f"{RANK_EXPECTED}, got 'nan'"),
        (
            ["compress", LEE, "--rank", "2", "--vocabulary", "0"],
            "--vocabulary: expected a positive int (keep that many words) or 'all', "
            "got '0'",
        ),
        (
            ["compress", LEE, "--rank", "2", "--vocabulary", "corpus"],
            "--vocabulary: expected a positive int",
        ),
        (
            ["compress", LEE, "--rank", "4", "--quantization", "pq"]
            + ["--pq-subvectors", "0"],
            "--pq-subvectors: expected a positive int, got '0'",
        ),
        (
            ["compress", LEE, "--rank", "2", "--weighting", "sqrt"],
            "--weighting: invalid choice: 'sqrt'",
        ),
        (
            ["compress", LEE, "--rank", "2", "--format", "csv"],
            "--format: invalid choice: 'csv'",
        ),
        (["compress", LEE], "the following arguments are required: --rank"),
        (
            ["evaluate", LEE, "--restrict-vocab", "-3"],
            "--restrict-vocab: expected a positive int, got '-3'",
        ),
        (["info", "a.npz", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["frobnicate"], "COMMAND: invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_malformed_command_lines_exit_1_with_one_line_naming_the_flag(
    argv, message, tmp_path, capsys
):
    if argv[:1] == ["compress"] and "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "model.npz")]
    assert main(argv) == 1
    error = _one_line(capsys.readouterr().err)
    assert error.startswith("factorembed")
    assert ": error: " in error
    assert message in error
    assert "usage" not in error
    assert "parameter" not in error and "FactorizedEmbedding" not in error
    assert list(tmp_path.iterdir()) == []


def test_compress_with_postprocessing_removes_the_dominant_direction(tmp_path):
    out = tmp_path / "codes.txt"
    assert (
        main(
            [
                "compress",
                LEE,
                "--rank",
                "4",
                "--postprocess",
                "abtt",
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    codes = KeyedVectors.load_word2vec_format(str(out))
    _, centred = _centred_table()
    _, _, right = np.linalg.svd(centred, full_matrices=False)
    # All-but-the-top: the codes carry directions 2..5 of the table, not 1..4.
    projected = centred @ right[1:5].T
    np.testing.assert_allclose(
        codes.vectors @ codes.vectors.T, projected @ projected.T, atol=1e-4
    )


def test_compress_with_product_quantization_writes_one_byte_per_group(tmp_path, capsys):
    out = tmp_path / "model.npz"
    argv = ["compress", LEE, "--rank", "4", "--quantization", "pq"]
    assert main([*argv, "--pq-subvectors", "2", "--out", str(out), "-q"]) == 0
    model = FactorizedEmbedding.load(out)
    assert model.quantized_codes_.shape == (1762, 2)
    assert model.quantized_codes_.dtype == np.uint8


def test_compress_rejects_pq_subvectors_that_do_not_divide_the_rank(tmp_path, capsys):
    argv = ["compress", LEE, "--rank", "4", "--quantization", "pq"]
    argv += ["--pq-subvectors", "3", "--out", str(tmp_path / "m.npz"), "-q"]
    assert main(argv) == 1
    error = _one_line(capsys.readouterr().err)
    assert error == (
        "factorembed compress: error: --pq-subvectors 3 does not divide the rank 4; "
        "use one of [1, 2, 4]"
    )


def test_flag_names_replace_parameter_names_but_not_inside_quotes():
    assert cli._in_flags(
        "rank=9 exceeds the 4 words of 'runs/rank=9/vectors=x.txt'; vocabulary=4"
    ) == ("--rank 9 exceeds the 4 words of 'runs/rank=9/vectors=x.txt'; --vocabulary 4")


# -- --weighting and the progress label --------------------------------------------


@pytest.mark.parametrize("weighting", ["frequency", "log-frequency"])
def test_weighting_flag_is_the_weighting_of_the_fit(weighting, tmp_path):
    out = tmp_path / "model.npz"
    argv = ["compress", LEE, "--rank", "3", "--weighting", weighting, "--out"]
    assert main([*argv, str(out), "-q"]) == 0
    saved = FactorizedEmbedding.load(out)
    assert saved.weighting == weighting
    expected = FactorizedEmbedding(
        LEE, rank=3, vocabulary="all", weighting=weighting
    ).fit()
    unweighted = FactorizedEmbedding(LEE, rank=3, vocabulary="all", weighting=None)
    unweighted.fit()
    np.testing.assert_allclose(
        np.abs(saved.components_), np.abs(expected.components_), atol=1e-5
    )
    # The flag changes what is fitted: the table's rows do not weigh the same.
    assert not np.allclose(np.abs(saved.mean_), np.abs(unweighted.mean_), atol=1e-3)


def test_weighting_defaults_to_none(tmp_path):
    out = tmp_path / "model.npz"
    assert main(["compress", LEE, "--rank", "3", "--out", str(out), "-q"]) == 0
    assert FactorizedEmbedding.load(out).weighting is None


@pytest.mark.parametrize(
    "vocabulary, label",
    [
        ([], "factorizing 1,762 words x 10 dims"),
        (["--vocabulary", "500"], "factorizing 500 words x 10 dims"),
        (["--vocabulary", "5000"], "factorizing 1,762 words x 10 dims"),
    ],
)
def test_progress_label_counts_the_words_kept(vocabulary, label, tmp_path, capsys):
    out = str(tmp_path / "model.npz")
    assert main(["compress", LEE, "--rank", "3", *vocabulary, "--out", out]) == 0
    progress = capsys.readouterr().err
    assert label in progress
    assert progress.count("factorizing") == progress.count(label)


# -- --out -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, format, space",
    [
        ("codes.txt.gz", "word2vec", "codes"),
        ("codes.vec", "word2vec", "codes"),
        ("vectors.bin.bz2", "word2vec-bin", "reconstructed"),
        ("codes.kv", "kv", "codes"),
    ],
)
def test_out_suffix_chooses_the_format(name, format, space, tmp_path, capsys):
    out = tmp_path / name
    argv = ["compress", LEE, "--rank", "3", "--space", space, "--out", str(out)]
    assert main([*argv, "-q"]) == 0
    assert f"written               {out} ({format}, {space}," in capsys.readouterr().out
    if format == "kv":
        loaded = KeyedVectors.load(str(out))
    else:
        loaded = KeyedVectors.load_word2vec_format(
            str(out), binary=format == "word2vec-bin"
        )
    assert len(loaded) == 1762
    assert loaded.vector_size == (3 if space == "codes" else 10)


@pytest.mark.parametrize(
    "name, named", [("model.foo", "the suffix '.foo'"), ("model", "a name without")]
)
def test_unknown_out_suffix_is_an_error_naming_it_and_the_accepted_ones(
    name, named, tmp_path, capsys
):
    out = tmp_path / name
    assert main(["compress", LEE, "--rank", "3", "--out", str(out), "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    assert f"--out {str(out)!r}: unknown output format for {named}" in error
    assert ".npz, .txt, .vec, .bin, .kv" in error and "--format" in error
    assert list(tmp_path.iterdir()) == []


def test_format_flag_wins_over_the_out_suffix(tmp_path):
    out = tmp_path / "vectors.dat"
    argv = ["compress", LEE, "--rank", "3", "--format", "word2vec-bin", "--out"]
    assert main([*argv, str(out), "-q"]) == 0
    assert KeyedVectors.load_word2vec_format(str(out), binary=True).vector_size == 3


@pytest.fixture(params=["fifo", "folder"])
def special_file(request, tmp_path) -> Path:
    """An existing path that is not a regular file; named as a model would be."""
    path = tmp_path / "special" / "model.npz"
    path.parent.mkdir()
    if request.param == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("command", ["compress", "export"])
def test_out_that_is_not_a_regular_file_is_refused_before_writing(
    command, special_file, tmp_path, capsys
):
    model = tmp_path / "model.npz"
    assert main(["compress", LEE, "--rank", "3", "--out", str(model), "-q"]) == 0
    capsys.readouterr()
    source = [LEE, "--rank", "3"] if command == "compress" else [str(model)]
    out = ["--out", str(special_file), "--format", "word2vec"]
    mode = special_file.stat().st_mode
    assert main([command, *source, *out, "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a folder"
    assert error == (
        f"factorembed {command}: error: --out {str(special_file)!r} is {kind}; name "
        "a regular file, new or to be replaced"
    )
    # Nothing replaced it, nothing written beside it.
    assert special_file.stat().st_mode == mode
    assert list(special_file.parent.iterdir()) == [special_file]


# -- export --------------------------------------------------------------------------


@pytest.fixture
def saved_model(tmp_path) -> Path:
    model = tmp_path / "model.npz"
    argv = ["compress", LEE, "--rank", "3", "--postprocess", "none", "--out"]
    assert main([*argv, str(model), "-q"]) == 0
    return model


@pytest.mark.parametrize(
    "name, format", [("codes.txt", "word2vec"), ("codes.bin", "word2vec-bin")]
)
def test_export_writes_the_codes_of_a_saved_model(
    saved_model, name, format, tmp_path, capsys
):
    capsys.readouterr()
    out = tmp_path / name
    assert main(["export", str(saved_model), "--out", str(out), "-q"]) == 0
    assert f"{out} ({format}, codes," in capsys.readouterr().out
    exported = KeyedVectors.load_word2vec_format(
        str(out), binary=format == "word2vec-bin"
    )
    table, centred = _centred_table()
    assert exported.index_to_key == table.index_to_key
    # Independent check: the codes' Gram matrix is that of the centred table
    # projected on its top 3 right singular vectors.
    _, _, right = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ right[:3].T
    np.testing.assert_allclose(
        exported.vectors @ exported.vectors.T, projected @ projected.T, atol=1e-4
    )


def test_export_reconstructed_kv_is_the_projected_table(saved_model, tmp_path):
    out = tmp_path / "vectors.kv"
    argv = ["export", str(saved_model), "--space", "reconstructed", "--out", str(out)]
    assert main([*argv, "-q"]) == 0
    exported = KeyedVectors.load(str(out))
    table, centred = _centred_table()
    _, _, right = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ right[:3].T @ right[:3] + table.vectors.mean(axis=0)
    np.testing.assert_allclose(exported.vectors, projected, atol=1e-4)


def test_export_format_flag_and_refusal_of_a_model_suffix(
    saved_model, tmp_path, capsys
):
    out = tmp_path / "vectors.npz"
    assert main(["export", str(saved_model), "--out", str(out), "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    assert "unknown output format for the suffix '.npz'" in error
    assert ".txt, .vec, .bin, .kv" in error
    assert main(["export", str(saved_model), "--out", str(out), "--format", "kv"]) == 0
    assert KeyedVectors.load(str(out)).vector_size == 3


def test_export_model2vec_writes_a_folder_model2vec_loads(
    saved_model, tmp_path, capsys
):
    model2vec = pytest.importorskip("model2vec")
    capsys.readouterr()
    out = tmp_path / "model2vec"
    argv = ["export", str(saved_model), "--format", "model2vec", "--out", str(out)]
    assert main([*argv, "-q"]) == 0
    assert f"{out} (model2vec, codes, " in capsys.readouterr().out
    assert model2vec.StaticModel.from_pretrained(out).dim == 3
    codes = FactorizedEmbedding.load(saved_model).to_keyedvectors()
    exported = load_vectors(out)
    assert exported.index_to_key == codes.index_to_key
    np.testing.assert_array_equal(exported.vectors, codes.vectors)


def test_compress_to_model2vec_writes_the_reconstructed_table(tmp_path, capsys):
    out = tmp_path / "model2vec"
    argv = ["compress", LEE, "--rank", "3", "--format", "model2vec", "--out"]
    assert main([*argv, str(out), "--space", "reconstructed", "-q"]) == 0
    assert f"{out} (model2vec, reconstructed, " in capsys.readouterr().out
    assert load_vectors(out).vector_size == load_vectors(LEE).vector_size


@pytest.mark.parametrize(
    "existing, message",
    [("file", "it is a regular file, not a folder"), ("folder", "holds 'notes.txt'")],
)
def test_export_model2vec_refuses_what_it_would_destroy(
    existing, message, saved_model, tmp_path, capsys
):
    out = tmp_path / "out"
    if existing == "file":
        out.write_text("mine")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    argv = ["export", str(saved_model), "--format", "model2vec", "--out", str(out)]
    assert main([*argv, "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    assert error.startswith("factorembed export: error: --out: cannot write the folder")
    assert message in error
    assert "mine" in {
        path.read_text() for path in [out, out / "notes.txt"] if path.is_file()
    }


def test_export_of_a_file_that_is_not_a_model_is_one_line(tmp_path, capsys):
    out = tmp_path / "codes.txt"
    assert main(["export", LEE, "--out", str(out), "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    assert error.startswith("factorembed export: error: cannot load the model file")
    assert not out.exists()


def test_word2vec_refusal_of_a_spaced_word_names_the_format_flag(tmp_path, capsys):
    table = KeyedVectors(vector_size=4)
    words = ["new york", "a", "b", "c", "d"]
    table.add_vectors(words, np.random.default_rng(0).normal(size=(5, 4)))
    table.save(str(tmp_path / "spaced.kv"))
    model = tmp_path / "model.npz"
    argv = ["compress", str(tmp_path / "spaced.kv"), "--rank", "2", "-q", "--out"]
    assert main([*argv, str(model)]) == 0
    capsys.readouterr()
    out = tmp_path / "codes.txt"
    assert main(["export", str(model), "--out", str(out), "-q"]) == 1
    error = _one_line(capsys.readouterr().err)
    assert error.endswith("export with --format 'kv'")
    assert not out.exists()


# -- models that do not load ---------------------------------------------------------


@pytest.mark.parametrize("attribute", ["embedding_", "pooling_weights_", "mean_"])
@pytest.mark.parametrize("command", ["info", "evaluate", "export"])
def test_model_missing_a_fitted_attribute_is_refused(
    command, attribute, tmp_path, capsys
):
    model = _model_without(attribute, tmp_path / "model.npz")
    argv = [command, str(model), "-q"]
    if command == "export":
        argv += ["--out", str(tmp_path / "codes.txt")]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _one_line(captured.err) == (
        f"factorembed {command}: error: cannot load the model file {str(model)!r}: "
        f"it has no fitted attribute {attribute!r}"
    )


def test_truncated_model_is_one_line(tmp_path, capsys):
    model = tmp_path / "model.npz"
    FactorizedEmbedding(LEE, rank=3, vocabulary="all").fit().save(model)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(model.read_bytes()[:2000])
    assert main(["info", str(truncated), "-q"]) == 1
    assert "truncated or corrupt" in _one_line(capsys.readouterr().err)


# -- the last resort -----------------------------------------------------------------


ERRORS = [
    (ValueError("bad\nvalue"), "bad value"),
    (
        FileNotFoundError(2, "No such file", "x.txt"),
        "[Errno 2] No such file: 'x.txt'",
    ),
    (TypeError("expected a str"), "expected a str"),
    (KeyError("embedding_"), "KeyError: 'embedding_'"),
    (MemoryError(), "MemoryError: out of memory"),
    (RecursionError("maximum recursion depth exceeded"), "RecursionError: max"),
    (zipfile.BadZipFile("File is not a zip file"), "BadZipFile: File is not a"),
    (EOFError(), "EOFError"),
    (
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff",
    ),
    (RuntimeError("first line\n  second\u2028third"), "first line second third"),
    (AssertionError(), "AssertionError"),
]


@pytest.mark.parametrize(
    "error, shown", ERRORS, ids=[type(error).__name__ for error, _ in ERRORS]
)
def test_any_error_is_one_line_and_exit_status_1(
    error, shown, monkeypatch, tmp_path, capsys
):
    def fail(source):
        raise error

    monkeypatch.setattr(_vectors, "load_vectors", fail)
    out = str(tmp_path / "model.npz")
    assert main(["compress", LEE, "--rank", "2", "--out", out, "-q"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("factorembed compress: error: ")
    assert shown in line


def test_interrupt_in_process_returns_130(monkeypatch, tmp_path, capsys):
    def interrupt(source):
        raise KeyboardInterrupt

    monkeypatch.setattr(_vectors, "load_vectors", interrupt)
    out = str(tmp_path / "model.npz")
    assert main(["compress", LEE, "--rank", "2", "--out", out, "-q"]) == 130
    assert _one_line(capsys.readouterr().err) == "factorembed compress: interrupted"


# -- crafted files and real resource errors, through the console script -------------


def _rewritten(model: Path, path: Path, edit) -> Path:
    """A copy of a model file with ``edit(metadata, arrays)`` applied and the
    checksum recomputed, so that the file's contents, not its checksum, fail."""
    with zipfile.ZipFile(model) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    with np.load(model, allow_pickle=False) as archive:
        arrays = {
            name: archive[name] for name in archive.files if name != "metadata.json"
        }
    edit(metadata, arrays)
    for name, array in arrays.items():
        metadata["attributes"][name].update(
            dtype=array.dtype.str, shape=list(array.shape)
        )
    del metadata["sha256"]
    metadata["sha256"] = _persistence._checksum(metadata, arrays)
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array)
        archive.writestr("metadata.json", json.dumps(metadata))
    return path


def _pq_indices_past_the_codebooks(metadata, arrays):
    arrays["codebooks_"] = arrays["codebooks_"][:, :200]
    arrays["quantized_codes_"][7, 0] = 250


@pytest.fixture(scope="module")
def crafted_models(tmp_path_factory) -> dict[str, Path]:
    """Model files that gave a traceback: a PQ model indexing past its
    codebooks (IndexError), a metadata.json of 200,000 nested lists
    (RecursionError), an .npy header of 10^12 x 10 floats (MemoryError)."""
    folder = tmp_path_factory.mktemp("crafted-models")
    model = folder / "pq.npz"
    argv = ["compress", LEE, "--rank", "4", "--quantization", "pq", "--out"]
    assert main([*argv, str(model), "-q"]) == 0
    with zipfile.ZipFile(model) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**12, 10)}
    )
    members["huge_.npy"] = header.getvalue() + bytes(64)
    metadata = json.loads(members["metadata.json"])
    metadata["attributes"]["huge_"] = {
        "kind": "array",
        "dtype": "<f4",
        "shape": [10**12, 10],
    }
    members["metadata.json"] = json.dumps(metadata).encode()
    huge = folder / "huge.npz"
    with zipfile.ZipFile(huge, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    nested = folder / "nested.npz"
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("metadata.json", "[" * 200_000 + "]" * 200_000)
    indices = _rewritten(model, folder / "indices.npz", _pq_indices_past_the_codebooks)
    return {"indices": indices, "nested": nested, "huge": huge}


@pytest.mark.parametrize(
    "name, message",
    [
        ("indices", "quantized_codes_ index centroid 255 but the codebooks_ hold 200"),
        ("nested", "its metadata.json nests 200000 levels deep"),
        ("huge", "need 40000000000000"),
    ],
)
@pytest.mark.parametrize("command", ["info", "evaluate", "export"])
def test_crafted_model_is_a_one_line_error_naming_it(
    crafted_models, command, name, message, tmp_path, capsys
):
    path = crafted_models[name]
    argv = [command, str(path), "-q"]
    if command == "export":
        argv += ["--out", str(tmp_path / "codes.txt")]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    line = _one_line(captured.err)
    assert line.startswith(
        f"factorembed {command}: error: cannot load the model file {str(path)!r}: "
    )
    assert message in line
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def truncated_gz(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("truncated") / "vectors.txt.gz"
    compressed = gzip.compress(Path(LEE).read_bytes())
    path.write_bytes(compressed[: len(compressed) // 2])
    return path


@pytest.mark.parametrize("command", ["evaluate", "compress"])
def test_truncated_txt_gz_is_a_one_line_error_naming_it(
    truncated_gz, command, tmp_path, capsys
):
    argv = [command, str(truncated_gz), "-q"]
    if command == "compress":
        argv += ["--rank", "2", "--out", str(tmp_path / "model.npz")]
    assert main(argv) == 1
    assert _one_line(capsys.readouterr().err) == (
        f"factorembed {command}: error: the vectors file {str(truncated_gz)!r} ends "
        "early (truncated?): Compressed file ended before the end-of-stream marker "
        "was reached"
    )


_FAIL_FOR_REAL = """
import contextlib, io, json, resource, sys
from sklearn_factorembed import _vectors, cli

def exhaust_memory(source):
    return bytearray(8 << 30)

def recurse(source):
    return recurse(source)

resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
outcomes = {}
for name, failure in [("memory", exhaust_memory), ("recursion", recurse)]:
    _vectors.load_vectors = failure  # what the command imports when it runs
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        status = cli.main(["compress", sys.argv[1], "--rank", "2", "-q", "--out",
                           sys.argv[2]])
    outcomes[name] = [status, stderr.getvalue()]
print(json.dumps(outcomes))
"""


def test_real_memory_and_recursion_errors_are_one_line(tmp_path):
    # Raised for real (an allocation beyond a memory limit, a recursion without
    # end) rather than by a stand-in, so that printing the line works in the
    # state those errors leave.
    out = str(tmp_path / "model.npz")
    result = subprocess.run(
        [sys.executable, "-c", _FAIL_FOR_REAL, LEE, out],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcomes = json.loads(result.stdout)
    assert outcomes["memory"][0] == outcomes["recursion"][0] == 1
    assert _one_line(outcomes["memory"][1]) == (
        "factorembed compress: error: MemoryError: out of memory"
    )
    assert _one_line(outcomes["recursion"][1]) == (
        "factorembed compress: error: RecursionError: maximum recursion depth exceeded"
    )
    assert not Path(out).exists()
