"""The "Python 3 (reproducible)" kernel: fixed at start what no cell can fix later."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

#: The module the reproducible kernel loads at start. Installed kernel specs name it, so it never moves.
KERNEL_EXTENSION_MODULE = "repro_magics.kernel_extension"
#: The IPython `--ext` argument that loads the extension at kernel start.
KERNEL_EXT_ARGUMENT = f"--ext={KERNEL_EXTENSION_MODULE}"

KERNEL_NAME = "repro-python3"
DISPLAY_NAME = "Python 3 (reproducible)"

#: Settings only a new process can take. PYTHONHASHSEED fixes the order of
#: sets of strings. Thread counts and oneDNN are left to the machine: fixing
#: them trades speed for bits that match across machines, a choice the docs
#: leave to the user (see docs/how-it-works.md).
START_ENVIRONMENT = {"PYTHONHASHSEED": "0"}


def kernel_spec_dict(python: str = "python") -> dict[str, Any]:
    """The kernel.json contents; `python` is the interpreter the kernel runs.

    With the default "python", jupyter_client runs the interpreter that starts
    the kernel, which is what a spec shipped inside a wheel wants.
    """
    return {
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}", KERNEL_EXT_ARGUMENT],
        "display_name": DISPLAY_NAME,
        "env": dict(START_ENVIRONMENT),
        "language": "python",
        "metadata": {"debugger": True},
    }


def kernel_spec_json(python: str = "python") -> str:
    return json.dumps(kernel_spec_dict(python), indent=1, sort_keys=True) + "\n"


def install_kernel_spec(*, user: bool = False, prefix: str | None = None) -> str:
    """Install the kernel for this interpreter; returns the folder it went to.

    `user` installs for the current user, `prefix` into `PREFIX/share/jupyter`
    (pass `sys.prefix` for the active environment).
    """
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "kernel.json").write_text(kernel_spec_json(sys.executable), encoding="utf-8")
        return KernelSpecManager().install_kernel_spec(folder, KERNEL_NAME, user=user, prefix=prefix)
