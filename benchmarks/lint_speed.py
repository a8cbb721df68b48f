"""How long `repro-lint` takes on a 300-cell notebook, in process and as a command.

    python -m benchmarks.lint_speed [--rounds N]

The notebook cycles through the code cells of the labelled corpus
(tests/lint_corpus) until it has 300. The command's time includes starting
Python; `python -c pass` is timed in the same rounds to show what part that is.
The CPU time of the in-process run is printed too: on a shared machine the wall
times include waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from repro_magics.lint import lint, read_notebook

from .timing import interleaved, median

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "lint_corpus"
CELLS = 300


def write_long_notebook(path: Path, cells: int = CELLS) -> Path:
    sources = [
        cell["source"]
        for notebook in sorted(CORPUS.glob("*.ipynb"))
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        if cell["cell_type"] == "code"
    ]
    code_cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": sources[n % len(sources)],
        }
        for n in range(cells)
    ]
    content = {"cells": code_cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default: 15)")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        notebook = write_long_notebook(Path(folder) / "long.ipynb")
        lines = sum(len(cell.source.splitlines()) for cell in read_notebook(notebook).cells)
        findings = len(lint(read_notebook(notebook), honour_suppressions=False, select=["ALL"]))
        command = [sys.executable, "-m", "repro_magics.lint", str(notebook)]
        samples = interleaved(
            {
                "in process": lambda: lint(read_notebook(notebook)),
                "repro-lint command": lambda: subprocess.run(command, capture_output=True, check=False),
                "python -c pass": lambda: subprocess.run([sys.executable, "-c", "pass"], check=True),
            },
            arguments.rounds,
        )
        cpu: list[float] = []
        cpu_every_rule: list[float] = []
        for _ in range(arguments.rounds):
            started = time.process_time()
            lint(read_notebook(notebook))
            cpu.append(time.process_time() - started)
            started = time.process_time()
            lint(read_notebook(notebook), select=["ALL"])
            cpu_every_rule.append(time.process_time() - started)
    print(f"{CELLS} code cells, {lines} lines, {findings} findings of every rule; median of {arguments.rounds} rounds:")
    for name, seconds in samples.items():
        print(f"  {name:<20} {1000 * median(seconds):7.1f} ms")
    # CPU time is what a loaded machine (other jobs on the same cores) does not inflate.
    print(f"  {'in process, CPU':<20} {1000 * median(cpu):7.1f} ms  (default rules: the traps)")
    print(f"  {'in process, CPU':<20} {1000 * median(cpu_every_rule):7.1f} ms  (--select ALL)")


if __name__ == "__main__":
    main()
