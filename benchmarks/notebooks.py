"""How long each tutorial notebook takes to execute, as the test suite runs it.

Run from the repository root:

    FACTOREMBED_DATA=../shared/data python benchmarks/notebooks.py

Executes every notebook of ``notebooks/`` in a fresh kernel with
``tests/test_notebooks.py``'s harness (BLAS threads as the environment has
them), ``--runs`` times each (default 3), and prints the median and the spread
of the wall-clock times, with the machine's load average at the start. The
target is under a minute each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_notebooks import NOTEBOOKS, execute_notebook  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    print(f"load average at start: {os.getloadavg()[0]:.1f}, {runs} runs each\n")
    print("| notebook | median (s) | min (s) | max (s) |")
    print("|---|---:|---:|---:|")
    for path in NOTEBOOKS:
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            execute_notebook(path)
            seconds.append(time.perf_counter() - start)
        print(
            f"| {path.name} | {statistics.median(seconds):.1f} | "
            f"{min(seconds):.1f} | {max(seconds):.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
