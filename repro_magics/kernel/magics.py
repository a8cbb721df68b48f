"""The IPython magics: thin shells that parse, call the plain functions, and print."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import display

from ..exceptions import ArgumentError, LedgerError, SeedError
from ..ledger import journal
from ..ledger.staleness import source_hash
from ..ledger.store import LedgerAppender, environment_key
from ..notebooks import first_line
from .arguments import parse_cell_line
from .backends import reproducible_setup
from .determinism import jax_determinism_warning, jax_started
from .environment import environment_fingerprint
from .notebook_context import CellLocator, magic_cell_source
from .recording import CellRecord, capturing_histories, record_named_values
from .seeding import default_seed_from_environment, parse_seed
from .startup import hash_seed_warning
from .status import ledger_status, status_html, status_text
from .tracing import trace_folder, tracing_fits, write_trace

#: Cell sources whose top-level-await check is remembered.
_REMEMBERED_CELLS = 256


@magics_class
class ReproducibleMagics(Magics):
    """`%%reproducible`, `%repro_seed` and `%repro_status`; one instance per kernel."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._ipython: Any = shell  # `Magics.shell` is typed Optional; a loaded extension always has one
        try:
            self.default_seed = default_seed_from_environment()
        except SeedError as error:
            print(f"repro_magics: {error}; using 0 instead.", file=sys.stderr)
            self.default_seed = 0
        self._hash_seed_checked = False
        self._jax_flags_checked = False
        #: Whether each cell source seen here needs the event loop (top-level await).
        self._needs_loop: dict[str, bool] = {}
        self._announced_ledger: Path | None = None
        self._cell_id: str | None = None
        self._locator = CellLocator()
        self._environment_key: str | None = None
        #: How often each cell source has run here without a cell id, to keep apart cells that share a source.
        self._runs_without_id: Counter[str] = Counter()
        self._appender: LedgerAppender | None = None

    def remember_cell_id(self, info: Any) -> None:
        """`pre_run_cell` handler: the id the front end sent for the cell about to run."""
        self._cell_id = getattr(info, "cell_id", None)

    @line_magic
    def repro_seed(self, line: str) -> None:
        """Show or set the seed `%%reproducible` uses when its line names none.

        Usage: `%repro_seed` shows it; `%repro_seed 812` sets it for this
        kernel. A kernel starts with `REPRO_MAGICS_SEED` from its environment,
        or 0.
        """
        text = line.strip()
        if not text:
            print(f"repro_magics: the default seed is {self.default_seed}")
            return
        try:
            self.default_seed = parse_seed(text.removeprefix("seed="))
        except SeedError as error:
            raise UsageError(str(error)) from None

    @line_magic
    def repro_status(self, line: str) -> None:
        """Show this notebook's ledger: each recorded cell, its seed, when it was recorded, its environment
        key and its training curves; a cell whose source changed since its record is marked stale.

        Usage: `%repro_status`. The notebook is read as last saved. In a
        notebook the table is rich output; terminal IPython prints it as text.
        """
        if line.strip():
            raise UsageError("%repro_status takes no arguments")
        # Imported here: the report's modules are not needed to load the extension.
        from ..exceptions import PlottingMissing
        from ..plotting import require_matplotlib

        notebook = self._locator.notebook(self._ipython.user_ns)
        path, _ = self._locator.ledger_destination(notebook)
        try:
            status = ledger_status(path, notebook)
        except LedgerError as error:
            raise UsageError(str(error)) from None
        try:
            require_matplotlib()
            curves = True
        except PlottingMissing:
            curves = False
        display({"text/plain": status_text(status), "text/html": status_html(status, curves=curves)}, raw=True)

    @cell_magic
    def reproducible(self, line: str, cell: str) -> None:
        """Run the cell with every source of randomness reset, and record what it produced.

        Usage::

            %%reproducible [seed=N] [record=NAME[,NAME...]]
            %%reproducible [--seed N] [--record NAME[,NAME...]]

        At the start of the cell, Python's `random`, NumPy's global state,
        Keras' global `SeedGenerator` and Keras' automatic layer names are
        reset from the seed (your Keras settings, such as the dtype policy,
        are kept), and so are the backend's generators: TensorFlow's global
        seed, op-seed counter and global `Generator`; PyTorch's CPU and CUDA
        generators (JAX has none). The cell runs under TensorFlow op
        determinism and `torch.use_deterministic_algorithms(True)`, for
        whichever of the two is imported, put back as they were afterwards.
        JAX's determinism on GPU is an XLA flag set when the extension loads.
        Every Keras training history the cell
        produces, and the variables named by `record`, are written to the
        notebook's ledger (`NOTEBOOK.repro.json`) for `repro-verify`.

        seed: a whole number from 0 to 2**32 - 1. Without it, the kernel's
        default seed is used (see `%repro_seed`) and the cell says which.
        """
        __tracebackhide__ = True
        try:
            options = parse_cell_line(line)
        except ArgumentError as error:
            raise UsageError(str(error)) from None
        if self._needs_event_loop(cell):
            raise UsageError(
                "%%reproducible can't run top-level await: the kernel's event loop is busy running this cell; "
                "move the awaited code to a cell without %%reproducible"
            )
        cell_id = self._cell_id
        seed = self.default_seed if options.seed is None else options.seed
        self._warn_once_about_hash_seed()
        if options.seed is None:
            print(f"repro_magics: seed {seed} (this kernel's default; set it with %repro_seed)")

        record = CellRecord(
            cell_id=cell_id,
            seed=seed,
            source_first_line=first_line(cell),
            source_hash=source_hash(line, cell),
        )
        if cell_id is None:
            self._runs_without_id[record.source_hash] += 1
            record.occurrence = self._runs_without_id[record.source_hash]
        traced = trace_folder()
        fits: list[dict[str, Any]] = []
        loops: list[dict[str, Any]] = []
        tracing = tracing_fits(fits, loops) if traced else contextlib.nullcontext()
        with reproducible_setup(seed), capturing_histories(record.histories), tracing:
            self._run_body(cell)
        self._warn_once_about_jax_flags()
        if traced:
            write_trace(traced, cell_id, fits, loops)
        record.values = record_named_values(self._ipython.user_ns, options.record)
        record.recorded_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._save(record, magic_cell_source(line, cell))

    def _needs_event_loop(self, cell: str) -> bool:
        # Transforming the cell costs a tenth of the magic's own time; a notebook reruns the same cells.
        known = self._needs_loop.get(cell)
        if known is not None:
            return known
        shell = self._ipython
        try:
            needs = bool(shell.should_run_async(cell, transformed_cell=shell.transform_cell(cell)))
        except Exception:  # a cell IPython can't transform fails, with its own message, when it runs
            needs = False
        if len(self._needs_loop) >= _REMEMBERED_CELLS:
            self._needs_loop.clear()
        self._needs_loop[cell] = needs
        return needs

    def _run_body(self, cell: str) -> None:
        # The body runs as a cell of its own, so magics and the display of
        # the last expression work as usual. Its traceback is shown once, by
        # the outer cell, so that front ends and nbclient see the cell fail
        # with the user's own exception.
        __tracebackhide__ = True
        shell = self._ipython
        silenced = ("showtraceback", "showsyntaxerror")
        own = {name: shell.__dict__[name] for name in silenced if name in shell.__dict__}
        for name in silenced:
            setattr(shell, name, _ignore)
        try:
            result = shell.run_cell(cell, store_history=False)
        finally:
            for name in silenced:
                if name in own:
                    setattr(shell, name, own[name])
                else:
                    delattr(shell, name)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            raise error

    def _warn_once_about_hash_seed(self) -> None:
        if self._hash_seed_checked:
            return
        self._hash_seed_checked = True
        warning = hash_seed_warning()
        if warning:
            print(warning, file=sys.stderr)

    def _warn_once_about_jax_flags(self) -> None:
        # After the body: a cell that starts JAX is the one that can tell.
        if self._jax_flags_checked or not jax_started():
            return
        self._jax_flags_checked = True
        warning = jax_determinism_warning()
        if warning:
            print(warning, file=sys.stderr)

    def _save(self, record: CellRecord, source: str) -> None:
        notebook = self._locator.notebook(self._ipython.user_ns, source)
        path, beside_notebook = self._locator.ledger_destination(notebook)
        place = self._locator.place(notebook, record.cell_id, source, record.occurrence or 1)
        if record.cell_id is None and place.cell_id is not None:
            record.cell_id, record.occurrence = place.cell_id, None
        record.cell_number = place.cell_number
        record.source_first_line = place.first_line or record.source_first_line
        environment = environment_fingerprint()
        if self._environment_key is None:
            self._environment_key = environment_key(environment)
        if self._appender is None or self._appender.path != path:
            self._appender = LedgerAppender(path)
        try:
            self._appender.add(record.to_json(), environment, self._environment_key)
        except journal.LockTimeout:
            print(
                f"repro_magics: another process held {journal.lock_path_for(path)} "
                f"for {journal.LOCK_TIMEOUT_SECONDS:g} s; this cell's record was not saved.",
                file=sys.stderr,
            )
            return
        except LedgerError as error:
            print(
                f"repro_magics: {error}; this cell's record was not saved, and the file was left as it is.",
                file=sys.stderr,
            )
            return
        except OSError as error:
            print(
                f"repro_magics: could not write {path} ({error.strerror or error}); this cell's record was not saved.",
                file=sys.stderr,
            )
            return
        if not beside_notebook and self._announced_ledger != path:
            self._announced_ledger = path
            print(
                f"repro_magics: no notebook found for this kernel; records go to {path}, a file of this kernel's "
                "own (rename it to NOTEBOOK.repro.json to make it that notebook's ledger)",
                file=sys.stderr,
            )


def _ignore(*_args: Any, **_kwargs: Any) -> None:
    return None
