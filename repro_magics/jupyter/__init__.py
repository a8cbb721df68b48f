"""Restart-and-verify in JupyterLab and Notebook 7: a server extension and its prebuilt frontend.

Installing the package enables both: `etc/jupyter/jupyter_server_config.d/repro_magics.json`
turns the server extension on and `share/jupyter/labextensions/repro-magics` holds the frontend.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__

__all__ = ["__version__"]

LABEXTENSION_NAME = "repro-magics"


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import ReproVerifyExtension

    return [{"module": "repro_magics.jupyter", "app": ReproVerifyExtension}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "../labextension", "dest": LABEXTENSION_NAME}]
