"""A fingerprint of the software and hardware a result came from."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from functools import lru_cache
from importlib import metadata

from .startup import startup_values

UNKNOWN = "unknown"


def _package_version(distribution_names: tuple[str, ...]) -> str:
    for name in distribution_names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or UNKNOWN


def _gpus() -> str:
    """GPU names and driver from `nvidia-smi`; 'none' when there is no such tool."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return "none"
    try:
        completed = subprocess.run(
            [nvidia_smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    return "; ".join(line.strip() for line in completed.stdout.splitlines() if line.strip()) or "none"


#: The distributions whose version is the backend's, by Keras backend name.
_BACKEND_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos"),
    "jax": ("jax",),
    "torch": ("torch",),
}


def keras_backend_name() -> str:
    """The Keras backend of this process, without importing Keras when it is not imported yet."""
    keras = sys.modules.get("keras")
    if keras is not None:
        try:
            return str(keras.backend.backend())
        except AttributeError:  # Keras half imported
            pass
    return os.environ.get("KERAS_BACKEND") or "tensorflow"


def backend_fingerprint() -> dict[str, str]:
    """The Keras backend's name and its library's version (JAX's with jaxlib's)."""
    name = keras_backend_name()
    version = _package_version(_BACKEND_DISTRIBUTIONS.get(name, (name,)))
    if name == "jax":
        version = f"{version} (jaxlib {_package_version(('jaxlib',))})"
    return {"name": name, "version": version}


@lru_cache(maxsize=1)
def environment_fingerprint() -> dict[str, object]:
    """Versions, platform, CPU, GPU, the Keras backend and the start-up values of named variables.

    Cached: none of it changes while a process runs (Keras picks its backend once).
    """
    packages = {
        "numpy": _package_version(("numpy",)),
        "tensorflow": _package_version(("tensorflow", "tensorflow-cpu", "tensorflow-macos")),
        "keras": _package_version(("keras",)),
    }
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpus(),
        "packages": packages,
        "backend": backend_fingerprint(),
        "startup_variables": startup_values(),
    }
