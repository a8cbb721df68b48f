"""Each backend's determinism, switched on for a block and back to what it was.

TensorFlow and PyTorch can switch it on and off at any time. JAX's (XLA's
`--xla_gpu_deterministic_ops`) is read once, when JAX starts its first
computation: it goes into the environment when the extension loads, before
that, and a cell says so once when it came too late. PyTorch's cuBLAS needs
`CUBLAS_WORKSPACE_CONFIG` for deterministic CUDA matrix products.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

#: XLA's switch for run-to-run determinism on GPU ("Guarantees run-to-run determinism on GPU", in XLA's own
#: help for it). It changes nothing on CPU, where XLA is deterministic already.
XLA_DETERMINISM_FLAG = "--xla_gpu_deterministic_ops=true"
XLA_FLAGS_VARIABLE = "XLA_FLAGS"
#: The cuBLAS workspace setting PyTorch asks for before it runs CUDA matrix products deterministically.
CUBLAS_WORKSPACE_VARIABLE = "CUBLAS_WORKSPACE_CONFIG"
CUBLAS_WORKSPACE_SETTING = ":4096:8"

JAX_TOO_LATE = (
    "repro_magics: JAX started its first computation before XLA_FLAGS held "
    f"{XLA_DETERMINISM_FLAG}, so results on this {{platform}} can change from run to run; "
    "load repro_magics before JAX computes anything, or start the kernel from 'Python 3 (reproducible)'."
)


def deterministic_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """The variables to add to `environment` so that a new process starts deterministic on every backend.

    The XLA flag is appended to the user's own `XLA_FLAGS`; a user who set
    `xla_gpu_deterministic_ops` either way, or `CUBLAS_WORKSPACE_CONFIG`, keeps it.
    """
    added = {}
    flags = environment.get(XLA_FLAGS_VARIABLE, "")
    if "xla_gpu_deterministic_ops" not in flags:
        added[XLA_FLAGS_VARIABLE] = f"{flags} {XLA_DETERMINISM_FLAG}".strip()
    if not environment.get(CUBLAS_WORKSPACE_VARIABLE):
        added[CUBLAS_WORKSPACE_VARIABLE] = CUBLAS_WORKSPACE_SETTING
    return added


def prepare_process() -> None:
    """Put `deterministic_environment` into this process's environment where it can still take effect.

    Called when the extension loads: the XLA flag only while JAX has not
    started, cuBLAS's setting only while PyTorch has not started CUDA.
    """
    added = deterministic_environment(os.environ)
    if XLA_FLAGS_VARIABLE in added and not jax_started():
        os.environ[XLA_FLAGS_VARIABLE] = added[XLA_FLAGS_VARIABLE]
    if CUBLAS_WORKSPACE_VARIABLE in added and not _cuda_started():
        os.environ[CUBLAS_WORKSPACE_VARIABLE] = added[CUBLAS_WORKSPACE_VARIABLE]


def jax_started() -> bool:
    """Whether JAX has started a backend, after which it reads no more `XLA_FLAGS`."""
    if sys.modules.get("jax") is None:
        return False
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - private module moved: assume the worst
        return True
    return bool(xla_bridge.backends_are_initialized())


def _cuda_started() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.cuda.is_initialized())


def jax_determinism_warning() -> str | None:
    """One line when JAX runs on an accelerator without XLA's determinism flag; None otherwise.

    On CPU the flag changes nothing, so there is nothing to say.
    """
    if not jax_started() or XLA_DETERMINISM_FLAG in os.environ.get(XLA_FLAGS_VARIABLE, ""):
        return None
    import jax

    platform = jax.default_backend()
    return None if platform == "cpu" else JAX_TOO_LATE.format(platform=platform.upper())


@contextlib.contextmanager
def torch_determinism(torch: Any) -> Iterator[None]:
    """`torch.use_deterministic_algorithms(True)` and no cuDNN autotuning for the block, then as before.

    Under it, an operation without a deterministic implementation raises
    PyTorch's own error, which names it.
    """
    was_on = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = torch.backends.cudnn
    autotuning = cudnn.benchmark
    if not os.environ.get(CUBLAS_WORKSPACE_VARIABLE):
        # Older PyTorch releases check it before each cuBLAS call under deterministic algorithms.
        os.environ[CUBLAS_WORKSPACE_VARIABLE] = CUBLAS_WORKSPACE_SETTING
    _use_deterministic_algorithms(torch, True, warn_only=False)
    cudnn.benchmark = False
    try:
        yield
    finally:
        _use_deterministic_algorithms(torch, was_on, warn_only=warn_only)
        cudnn.benchmark = autotuning


def _use_deterministic_algorithms(torch: Any, mode: bool, *, warn_only: bool) -> None:
    """`torch.use_deterministic_algorithms`, without importing PyTorch's compiler.

    The public function imports `torch._inductor` (and with it Triton) to set
    the compiler's own switch: seconds in a notebook that only uses PyTorch
    for a `DataLoader`, and in a process that had loaded TensorFlow that
    import crashed the interpreter (a segmentation fault, seen here). The
    compiler's switch is set when the compiler is already loaded.
    """
    set_operations = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_operations is None:  # pragma: no cover - private function moved
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
        return
    compiler: Any = sys.modules.get("torch._inductor.config")
    if compiler is not None:
        compiler.deterministic = mode
    set_operations(mode, warn_only=warn_only)


def is_op_determinism_enabled() -> bool | None:
    """Whether TF op determinism is on; None when this TensorFlow cannot say."""
    try:
        from tensorflow.python.framework import config
    except ImportError:  # pragma: no cover - private module moved
        return None
    probe = getattr(config, "is_op_determinism_enabled", None)
    return None if probe is None else bool(probe())


def _disable_op_determinism() -> bool:
    try:
        from tensorflow.python.framework import config
    except ImportError:  # pragma: no cover
        return False
    disable = getattr(config, "disable_op_determinism", None)
    if disable is None:  # pragma: no cover
        return False
    disable()
    return True


@contextlib.contextmanager
def op_determinism() -> Iterator[None]:
    """Run the block with `tf.config.experimental.enable_op_determinism()` on.

    Afterwards determinism is off again if it was off before, also when the
    block raises or is interrupted. Turning it off is only possible through a
    private TensorFlow function; where that is gone, it stays on and a warning
    says so.
    """
    import tensorflow as tf

    was_enabled = is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        restored = was_enabled is True or (was_enabled is False and _disable_op_determinism())
        if not restored:  # pragma: no cover - only where TF's private functions moved
            warnings.warn(
                "repro_magics could not turn TensorFlow op determinism off again; "
                "it stays on for the rest of this kernel.",
                stacklevel=3,
            )
