"""An in-process IPython shell with repro_magics loaded and its ledger in a temporary folder."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from repro_magics.kernel.determinism import is_op_determinism_enabled
from repro_magics.kernel.notebook_context import LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR

#: The first cell of the shell: Keras, and TensorFlow where it is the backend.
TENSORFLOW_IMPORTS = "import keras\nimport tensorflow as tf"


def determinism_off() -> None:
    """Turn TF op determinism off (only a private TF function can)."""
    from tensorflow.python.framework import config

    config.disable_op_determinism()


def determinism_on() -> None:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def run(shell: Any, source: str) -> None:
    result = shell.run_cell(source, store_history=False)
    if not result.success:
        raise RuntimeError(f"benchmark cell failed: {result.error_before_exec or result.error_in_exec!r}")


@contextlib.contextmanager
def reproducible_shell(imports: str = TENSORFLOW_IMPORTS) -> Iterator[Any]:
    """`InteractiveShell.instance()` with `%load_ext repro_magics`; environment and cwd put back after."""
    from IPython.core.interactiveshell import InteractiveShell

    saved = {name: os.environ.get(name) for name in (LEDGER_ENV_VAR, NOTEBOOK_ENV_VAR)}
    was_deterministic = is_op_determinism_enabled() if "tensorflow" in imports else None
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="repro-bench-magic-") as folder:
        os.environ[LEDGER_ENV_VAR] = str(Path(folder) / "bench.repro.json")
        os.environ.pop(NOTEBOOK_ENV_VAR, None)
        os.chdir(folder)
        shell = InteractiveShell.instance()
        try:
            run(shell, imports)
            # The first cell warns once that PYTHONHASHSEED was not fixed at start.
            with contextlib.redirect_stderr(io.StringIO()):
                shell.run_line_magic("load_ext", "repro_magics")
                run(shell, "%%reproducible seed=1\npass\n")
            yield shell
        finally:
            shell.run_line_magic("unload_ext", "repro_magics")
            os.chdir(cwd)
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            if was_deterministic is False:
                determinism_off()
