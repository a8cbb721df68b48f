"""A verification request's body: JSON in UTF-8, with options checked as `repro-verify` checks its flags."""

from __future__ import annotations

import json
from typing import Any

from ..compare.ledgers import Tolerance
from ..exceptions import ArgumentError
from ..verify.options import VerifyOptions, non_negative_number, run_count
from .paths import Refused, shown

OPTIONS = ("path", "rtol", "atol", "runs", "update")
#: Each run holds a kernel on the server for the whole notebook; the command line has no such cap.
MAX_RUNS = 100


def request_body(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object naming a notebook in "path"; `Refused` (400) says what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the request body is not UTF-8 text") from None
    try:
        body = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        raise Refused(400, "the request body is not JSON") from None
    except RecursionError:
        raise Refused(400, "the request body is nested too deeply to read") from None
    except ValueError:  # an integer of more digits than Python converts
        raise Refused(400, "the request body holds a number too long to read") from None
    if not isinstance(body, dict) or not isinstance(body.get("path"), str):
        raise Refused(400, 'say which notebook to verify: {"path": "folder/notebook.ipynb"}')
    return body


def verify_options(body: dict[str, Any]) -> VerifyOptions:
    """The request's options; `Refused` (400) names the first one that is wrong and what it got."""
    unknown = sorted(set(body) - set(OPTIONS))
    if unknown:
        raise Refused(400, f"unknown option {shown(repr(unknown[0]))}; the options are rtol, atol, runs and update")
    tolerance = {name: _tolerance(name, body.get(name, 0)) for name in ("rtol", "atol")}
    runs = body.get("runs")
    if runs is not None:
        try:
            runs = run_count(runs, MAX_RUNS, shown)
        except ArgumentError as error:
            raise Refused(400, str(error)) from None
    update = body.get("update", False)
    if not isinstance(update, bool):
        raise Refused(400, f"update must be true or false, got {shown(repr(update))}")
    return VerifyOptions(runs=runs, update=update, tolerance=Tolerance(**tolerance))


def _tolerance(name: str, value: Any) -> float:
    try:
        return non_negative_number(value)
    except ArgumentError:
        raise Refused(400, f"{name} must be a finite number of 0 or more, got {shown(repr(value))}") from None
