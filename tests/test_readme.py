"""README's Quickstart: its refit function on hand-made ``cv_results_``, and
(with the ``docs`` tests) the whole block run as written, printing what its
comments say."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def quickstart_code() -> str:
    """The first Python block of README's Quickstart section."""
    section = README.read_text(encoding="utf-8").split("\n## Quickstart\n", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


def quickstart_definitions() -> dict:
    """The Quickstart's imports, constants and functions, without its fit."""
    tree = ast.parse(quickstart_code())
    tree.body = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef)
        or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant))
    ]
    namespace: dict = {}
    exec(compile(tree, str(README), "exec"), namespace)
    return namespace


def _cv_results(ranks, means, best_std):
    """``cv_results_`` of a 5-fold search over rank: the best candidate's
    standard deviation ``best_std``, the others' 0.01."""
    means = np.array(means)
    std = np.full(len(means), 0.01)
    std[np.argmax(means)] = best_std
    return {
        "param_factorizedembedding__rank": np.ma.masked_array(ranks),
        "mean_test_score": means,
        "std_test_score": std,
    }


@pytest.mark.parametrize(
    "means, expected",
    [
        # one standard error of the best (rank 50, 0.702) is 0.003: rank 10
        # (0.700) is within it, rank 5 (0.690) is not
        ([0.698, 0.702, 0.690, 0.700], 3),
        # no smaller rank within it: the best
        ([0.690, 0.702, 0.680, 0.685], 1),
        # rank 5 within it, though rank 10 is not
        ([0.690, 0.702, 0.6995, 0.685], 2),
    ],
)
def test_quickstart_refit_keeps_the_smallest_rank_within_one_standard_error(
    means, expected
):
    refit = quickstart_definitions()["smallest_rank_within_one_standard_error"]
    # Candidates out of rank order, so that the index is not the rank's place.
    cv_results = _cv_results([25, 50, 5, 10], means, best_std=0.003 * np.sqrt(5))
    assert refit(cv_results) == expected


@pytest.mark.docs
def test_quickstart_prints_what_its_comments_say(
    movie_reviews, tmp_path, monkeypatch, capsys
):
    # movie_reviews: the data is at hand, so the Quickstart downloads nothing.
    if os.environ.get("FACTOREMBED_DATA"):
        data = Path(os.environ["FACTOREMBED_DATA"]).resolve()
        monkeypatch.setenv("FACTOREMBED_DATA", str(data))
    monkeypatch.chdir(tmp_path)  # where it saves sentiment.npz
    code = quickstart_code()
    exec(compile(code, str(README), "exec"), {"__name__": "__main__"})
    printed = capsys.readouterr().out.splitlines()
    commented = [line[2:] for line in code.splitlines() if line.startswith("# ")]
    assert printed == commented
    assert (tmp_path / "sentiment.npz").is_file()
