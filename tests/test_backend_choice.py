"""Which backend `repro-verify` runs, the kernels' determinism variables, the cross-backend verdict; no kernel."""

from __future__ import annotations

from typing import Any

import pytest

from repro_magics.compare.environment import backend_of
from repro_magics.compare.ledgers import compare_ledgers
from repro_magics.kernel.determinism import (
    CUBLAS_WORKSPACE_SETTING,
    XLA_DETERMINISM_FLAG,
    deterministic_environment,
    jax_determinism_warning,
    jax_started,
)
from repro_magics.ledger.store import Ledger
from repro_magics.verify.options import VerifyOptions, chosen_backend


def _ledger(backend: str | None, value: float) -> Ledger:
    environment: dict[str, Any] = {"python": "3.11.7"}
    if backend is not None:
        environment["backend"] = {"name": backend, "version": "1"}
    record = {
        "cell_id": "c1",
        "seed": 812,
        "source_hash": "h",
        "source_first_line": "%%reproducible",
        "histories": [],
        "values": {"x": {"type": "float", "value": value}},
    }
    return Ledger().with_record(record, environment)


def test_when_backend_is_given_then_it_wins_over_the_ledger_and_the_environment() -> None:
    chosen = chosen_backend(VerifyOptions(backend="torch"), _ledger("jax", 1.0), {"KERAS_BACKEND": "tensorflow"})
    assert chosen == ("torch", "--backend")


def test_when_no_backend_is_given_then_the_ledgers_comes_before_keras_backend() -> None:
    assert chosen_backend(VerifyOptions(), _ledger("jax", 1.0), {"KERAS_BACKEND": "torch"}) == ("jax", "the ledger")


def test_when_the_ledger_predates_backends_then_it_was_tensorflow() -> None:
    assert chosen_backend(VerifyOptions(), _ledger(None, 1.0), {"KERAS_BACKEND": "jax"}) == ("tensorflow", "the ledger")
    assert backend_of({}) is None


def test_when_there_is_no_ledger_then_keras_backend_then_keras_default() -> None:
    assert chosen_backend(VerifyOptions(), None, {"KERAS_BACKEND": "jax"}) == ("jax", "KERAS_BACKEND")
    assert chosen_backend(VerifyOptions(), None, {}) == (None, "Keras' default")


def test_when_ledgers_come_from_two_backends_then_the_comparison_names_both() -> None:
    comparison = compare_ledgers(_ledger("jax", 1.0), _ledger("tensorflow", 2.0), new_label="run 1")
    assert comparison.backend_change == ("jax", "tensorflow")
    same = compare_ledgers(_ledger("jax", 1.0), _ledger("jax", 2.0))
    assert same.backend_change is None


def test_when_the_user_set_xla_flags_then_the_determinism_flag_is_appended_and_theirs_kept() -> None:
    added = deterministic_environment({"XLA_FLAGS": "--xla_dump_to=/tmp/x"})
    assert added == {
        "XLA_FLAGS": f"--xla_dump_to=/tmp/x {XLA_DETERMINISM_FLAG}",
        "CUBLAS_WORKSPACE_CONFIG": CUBLAS_WORKSPACE_SETTING,
    }


def test_when_the_user_chose_either_setting_then_it_is_left_alone() -> None:
    chosen = {"XLA_FLAGS": "--xla_gpu_deterministic_ops=false", "CUBLAS_WORKSPACE_CONFIG": ":16:8"}
    assert deterministic_environment(chosen) == {}


def test_when_jax_started_on_the_cpu_without_the_flag_then_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    import jax.numpy as jnp

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert float(jnp.ones(3).sum()) == 3.0  # JAX has started, on the CPU: the flag would change nothing there
    assert jax_started()
    assert jax_determinism_warning() is None


def test_when_ledgers_come_from_two_backends_then_every_report_says_that_instead_of_the_numbers() -> None:
    from repro_magics.compare.results import difference_text

    comparison = compare_ledgers(_ledger("jax", 1.0), _ledger("tensorflow", 2.0), new_label="run 1")
    assert difference_text(comparison, comparison.differences[0]) == (
        "ledger was recorded on the jax backend, run 1 ran on tensorflow"
    )
