"""The server extension: the verification API, and its kernels stopped when the server stops."""

from __future__ import annotations

from pathlib import Path

from jupyter_server.extension.application import ExtensionApp

from .handlers import handlers
from .jobs import VerificationJobs


class ReproVerifyExtension(ExtensionApp):
    """Restart-and-verify for notebooks the server serves, behind the server's authentication."""

    name = "repro_magics"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        self.jobs = VerificationJobs()

    def initialize_handlers(self) -> None:
        assert self.serverapp is not None
        self.handlers.extend(handlers(self.jobs, Path(self.serverapp.root_dir)))

    def current_activity(self) -> bool:
        # A server culled for inactivity would kill a verification half-way.
        return bool(self.jobs.running())

    async def stop_extension(self) -> None:
        self.jobs.stop_all()
