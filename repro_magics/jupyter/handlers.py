"""The REST API the browser calls; every handler requires the server's authentication.

POST   /repro-magics/verifications          {"path", "rtol", "atol", "runs", "update"} -> 202 job
GET    /repro-magics/verifications?path=P   the notebook's latest verification
GET    /repro-magics/verifications/ID       one verification: progress, then the report
DELETE /repro-magics/verifications/ID       cancel it: its kernel is stopped at once
GET    /repro-magics/stale?path=P           cells whose source changed since the ledger recorded them
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from .jobs import AlreadyRunning, VerificationJobs, stale_cells
from .notebook_input import read_notebook_input
from .options import request_body, verify_options
from .paths import Refused, resolved_notebook, shown

API = "repro-magics"


class _Handler(APIHandler):
    def initialize(self, jobs: VerificationJobs, root: Path) -> None:
        self.jobs, self.root = jobs, root

    def fail(self, status: int, message: str, **extra: Any) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message, **extra}))


class VerificationsHandler(_Handler):
    @web.authenticated
    def post(self) -> None:
        try:
            body = request_body(self.request.body)
            options = verify_options(body)
            given = read_notebook_input(self.root, body["path"])
        except Refused as refused:
            self.fail(refused.status, refused.message)
            return
        try:
            job = self.jobs.start(body["path"], given, options, self.root)
        except AlreadyRunning as running:
            self.fail(409, str(running), job=running.job.to_json())
            return
        self.set_status(202)
        self.finish(json.dumps(job.to_json()))

    @web.authenticated
    def get(self) -> None:
        notebook = self.get_query_argument("path")
        try:
            job = self.jobs.latest(resolved_notebook(self.root, notebook))
        except Refused as refused:
            self.fail(refused.status, refused.message)
            return
        if job is None:
            self.fail(404, f"{shown(notebook)} has not been verified since the server started")
            return
        self.finish(json.dumps(job.to_json()))


class VerificationHandler(_Handler):
    @web.authenticated
    def get(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            self.fail(404, f"no verification {job_id}")
            return
        self.finish(json.dumps(job.to_json()))

    @web.authenticated
    def delete(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is None:
            self.fail(404, f"no verification {job_id}")
            return
        job.cancel()
        self.set_status(202)
        self.finish(json.dumps(job.to_json()))


class StaleHandler(_Handler):
    @web.authenticated
    def get(self) -> None:
        try:
            given = read_notebook_input(self.root, self.get_query_argument("path"))
        except Refused as refused:
            self.fail(refused.status, refused.message)
            return
        self.finish(json.dumps({"stale": stale_cells(given)}))


def handlers(jobs: VerificationJobs, root: Path) -> list[tuple[str, Any, dict[str, Any]]]:
    """The routes, below the server's base URL (the extension app prepends it)."""
    arguments = {"jobs": jobs, "root": root}
    return [
        (f"/{API}/verifications", VerificationsHandler, arguments),
        (f"/{API}/verifications/([0-9a-f]{{32}})", VerificationHandler, arguments),
        (f"/{API}/stale", StaleHandler, arguments),
    ]
