"""`pytest --repro-verify`: each notebook is a test that runs what `repro-verify` runs.

Registered through the `pytest11` entry point. Without `--repro-verify` (or
`repro_verify = true` in the ini file) it collects nothing, so it lives
beside nbval and nbmake. A notebook that fails to run is an error (raised
while setting the test up), one whose results differ a failure; either way
the text is `repro-verify`'s report, not a traceback of this plugin.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .exceptions import ArgumentError, ShardError
from .verify.options import parse_non_negative_float
from .verify.shard import Shard, parse_shard

if TYPE_CHECKING:
    from .verify.options import VerifyOptions
    from .verify.verification import NotebookVerification

#: Each option on the command line, and its help; the ini file's name drops the dashes (`repro_rtol`).
_HELP = {
    "--repro-verify": "collect each .ipynb under the given paths as a test that re-runs it and compares its records",
    "--repro-rtol": "relative tolerance (default 0: bitwise)",
    "--repro-atol": "absolute tolerance (default 0: bitwise)",
    "--repro-update": "replace each ledger with the new run's records after showing differences",
    "--repro-timeout": "limit in seconds for each cell (default 600; 0: none)",
    "--repro-kernel": "an installed kernel spec to run (default: the reproducible kernel of this Python)",
    "--repro-require-records": "fail a notebook whose %%reproducible cells recorded no value to compare",
    "--repro-shard": "run only the K-th of N disjoint shares of the notebooks (K/N), as repro-verify --shard",
    "--repro-changed": "skip notebooks unchanged since the verification noted in their ledger (repro-verify --changed)",
}
_FLAGS = {"--repro-verify", "--repro-update", "--repro-require-records", "--repro-changed"}


def _ini_name(option: str) -> str:
    return option.removeprefix("--").replace("-", "_")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("repro-verify", "notebook reproducibility (repro_magics)")
    for option, help_text in _HELP.items():
        if option in _FLAGS:
            group.addoption(option, action="store_true", default=None, help=help_text)
            parser.addini(_ini_name(option), help_text, type="bool", default=False)
        else:
            group.addoption(option, default=None, metavar="VALUE", help=help_text)
            parser.addini(_ini_name(option), help_text, default=None)


@dataclass(frozen=True)
class _Settings:
    options: VerifyOptions
    shard: Shard | None
    changed: bool = False


_SETTINGS = pytest.StashKey[_Settings]()


def _setting(config: pytest.Config, option: str) -> Any:
    """The command line's value, else the ini file's."""
    value = config.getoption(_ini_name(option))
    return config.getini(_ini_name(option)) if value is None else value


def _number(config: pytest.Config, option: str, default: float) -> float:
    text = _setting(config, option)
    if text in (None, ""):
        return default
    try:
        return parse_non_negative_float(text)
    except ArgumentError as error:
        raise pytest.UsageError(f"{option} {error}") from None


def pytest_configure(config: pytest.Config) -> None:
    if not _setting(config, "--repro-verify"):
        return
    # Imported here: a pytest session without --repro-verify pays nothing for nbclient and numpy.
    from .compare.agreement import Tolerance
    from .verify.options import VerifyOptions

    shard_text = _setting(config, "--repro-shard")
    try:
        shard = parse_shard(shard_text) if shard_text else None
    except ShardError as error:
        raise pytest.UsageError(f"--repro-shard {error}") from None
    kernel = _setting(config, "--repro-kernel") or None
    if kernel:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

        try:
            KernelSpecManager().get_kernel_spec(kernel)
        except NoSuchKernel:
            raise pytest.UsageError(f"--repro-kernel: no Jupyter kernel named {kernel!r} is installed") from None
    options = VerifyOptions(
        update=bool(_setting(config, "--repro-update")),
        tolerance=Tolerance(rtol=_number(config, "--repro-rtol", 0.0), atol=_number(config, "--repro-atol", 0.0)),
        timeout=_number(config, "--repro-timeout", 600.0) or None,
        kernel_name=kernel,
        require_records=bool(_setting(config, "--repro-require-records")),
    )
    config.stash[_SETTINGS] = _Settings(options, shard, bool(_setting(config, "--repro-changed")))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".ipynb" and _SETTINGS in parent.config.stash:
        notebook: NotebookFile = NotebookFile.from_parent(parent, path=file_path)
        return notebook
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or settings.shard is None:
        return
    shard = settings.shard
    # The path from the rootdir, as `repro-verify --shard` hashes the path as given from the repository's root.
    root = config.rootpath
    elsewhere = [
        item
        for item in items
        if isinstance(item, NotebookItem)
        and not shard.holds(item.path.relative_to(root) if item.path.is_relative_to(root) else item.path)
    ]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


class NotebookFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        return [NotebookItem.from_parent(self, name=self.path.name)]


class NotebookItem(pytest.Item):
    """One notebook: set up by verifying it (a failed run is an error), tested by its verdict."""

    result: NotebookVerification | None = None
    report_lines: list[str]

    def setup(self) -> None:
        from .exceptions import KernelNotFound, LedgerError, NotebookError
        from .report.text import format_verification
        from .verify.changed import kernel_environment_key, note_verification, shown_time, unchanged_since
        from .verify.verification import read_input, verify_notebook

        settings = self.config.stash[_SETTINGS]
        options = settings.options
        # Relative to where pytest started, as repro-verify shows the path it was given.
        start = self.config.invocation_params.dir
        shown = self.path.relative_to(start) if self.path.is_relative_to(start) else self.path
        refusal: str | None = None
        try:
            given = read_input(shown, None)
            if settings.changed:
                since = unchanged_since(shown, given.notebook, given.ledger, kernel_environment_key())
                if since is not None:
                    pytest.skip(f"{shown}: skipped: unchanged since its verification at {shown_time(since)}")
            self.result = verify_notebook(given, options)
        except (NotebookError, LedgerError, KernelNotFound) as error:
            refusal = str(error)
        # Failed outside the `except`: inside it, pytest would show the message twice, chained.
        if refusal is not None or self.result is None:
            _fail([refusal or "repro-verify gave no result"])
        if settings.changed:
            problem = note_verification(self.result, given.notebook)
            if problem is not None:
                _fail([problem])
        self.report_lines = format_verification(self.result, options.tolerance)
        text = "\n".join(self.report_lines)
        # Kept for --junitxml; a failure shows the lines as its message, so a report section would repeat them.
        self.user_properties.append(("repro-verify", text))
        if self.result.exit_status == 0:
            self.add_report_section("setup", "repro-verify", text)
        if self.result.failure:
            _fail(self.report_lines)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.exit_status != 0:
            _fail(self.report_lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"repro-verify {self.path.name}"


def _fail(lines: list[str]) -> NoReturn:
    pytest.fail("\n".join(lines), pytrace=False)
