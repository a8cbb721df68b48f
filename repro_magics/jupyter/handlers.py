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

from ..exceptions import LedgerError, NotebookError
from ..verify.verification import read_input
from .jobs import AlreadyRunning, VerificationJobs, notebook_file, stale_cells, verify_options

API = "repro-magics"


class _Handler(APIHandler):
    def initialize(self, jobs: VerificationJobs, root: Path) -> None:
        self.jobs, self.root = jobs, root

    def fail(self, status: int, message: str, **extra: Any) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message, **extra}))

    def read_notebook_input(self, notebook: str) -> Any:
        """The notebook and its ledger as `repro-verify` reads them; None after answering with an error."""
        try:
            path = notebook_file(self.root, notebook)
        except PermissionError as error:
            self.fail(403, str(error))
            return
        except ValueError as error:
            self.fail(400, str(error))
            return
        try:
            return read_input(path, None)
        except NotebookError as error:
            self.fail(404 if not path.exists() else 400, str(error))
        except LedgerError as error:
            self.fail(400, str(error))
        return


class VerificationsHandler(_Handler):
    @web.authenticated
    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except json.JSONDecodeError:
            self.fail(400, "the request body is not JSON")
            return
        if not isinstance(body, dict) or not isinstance(body.get("path"), str):
            self.fail(400, 'say which notebook to verify: {"path": "folder/notebook.ipynb"}')
            return
        try:
            options = verify_options(body)
        except ValueError as error:
            self.fail(400, str(error))
            return
        given = self.read_notebook_input(body["path"])
        if given is None:
            return
        try:
            job = self.jobs.start(body["path"], given, options)
        except AlreadyRunning as running:
            self.fail(409, str(running), job=running.job.to_json())
            return
        self.set_status(202)
        self.finish(json.dumps(job.to_json()))

    @web.authenticated
    def get(self) -> None:
        notebook = self.get_query_argument("path")
        job = self.jobs.latest(notebook)
        if job is None:
            self.fail(404, f"{notebook} has not been verified since the server started")
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
        given = self.read_notebook_input(self.get_query_argument("path"))
        if given is None:
            return
        self.finish(json.dumps({"stale": stale_cells(given)}))
        return


def handlers(jobs: VerificationJobs, root: Path) -> list[tuple[str, Any, dict[str, Any]]]:
    """The routes, below the server's base URL (the extension app prepends it)."""
    arguments = {"jobs": jobs, "root": root}
    return [
        (f"/{API}/verifications", VerificationsHandler, arguments),
        (f"/{API}/verifications/([0-9a-f]{{32}})", VerificationHandler, arguments),
        (f"/{API}/stale", StaleHandler, arguments),
    ]
