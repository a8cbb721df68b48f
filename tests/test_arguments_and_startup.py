"""The `%%reproducible` line, seeds, and what was fixed at process start."""

from __future__ import annotations

import re

import pytest

from repro_magics.exceptions import ArgumentError, SeedError
from repro_magics.kernel import startup
from repro_magics.kernel.arguments import CellOptions, parse_cell_line
from repro_magics.kernel.seeding import default_seed_from_environment, parse_seed

ACCEPTED = "seed must be a whole number from 0 to 4294967295, written with the digits 0-9 only, got "


@pytest.mark.parametrize(
    "line",
    [
        "seed=812 record=a,b",
        "--seed 812 --record a,b",
        "--seed=812 --record=a,b",
        "record=a,b seed=812",
        "seed=812 --record 'a, b'",
    ],
)
def test_both_forms_parse_to_the_same_options(line: str) -> None:
    assert parse_cell_line(line) == CellOptions(seed=812, record=("a", "b"))


def test_an_empty_line_means_the_default_seed_and_no_names() -> None:
    assert parse_cell_line("   ") == CellOptions(seed=None, record=())


@pytest.mark.parametrize("line", ["812", "--seed", "seed='unclosed"])
def test_when_the_line_is_malformed_then_argument_error(line: str) -> None:
    with pytest.raises(ArgumentError):
        parse_cell_line(line)


def test_seed_limits() -> None:
    assert parse_seed("0") == 0
    assert parse_seed(str(2**32 - 1)) == 2**32 - 1
    assert parse_seed(" 007 ") == 7
    for bad in ("1.5", "", "0x10", str(2**32)):
        with pytest.raises(SeedError):
            parse_seed(bad)


@pytest.mark.parametrize("text", ["+5", "1_000", "\u0663", "\u0661\u0662", "-0", "\uff15"])
def test_when_a_seed_is_not_ascii_decimal_digits_then_each_way_of_giving_it_says_what_is_accepted(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SeedError, match="^" + re.escape(f"{ACCEPTED}{text!r}") + "$"):
        parse_seed(text)
    with pytest.raises(ArgumentError, match="^" + re.escape(f"{ACCEPTED}{text!r}") + "$"):
        parse_cell_line(f"seed={text}")
    with pytest.raises(ArgumentError, match=re.escape(f"{ACCEPTED}{text!r}")):
        parse_cell_line(f"--seed {text}")
    monkeypatch.setenv("REPRO_MAGICS_SEED", text)
    with pytest.raises(SeedError, match="^" + re.escape(f"REPRO_MAGICS_SEED: {ACCEPTED}{text!r}") + "$"):
        default_seed_from_environment()


def test_when_the_kernel_started_without_a_hash_seed_then_one_line_names_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(startup.sys, "flags", type("F", (), {"hash_randomization": 1})())
    monkeypatch.setattr(startup, "startup_environment", lambda: {"PATH": "/bin"})
    warning = startup.hash_seed_warning()
    assert warning is not None and "\n" not in warning
    assert "PYTHONHASHSEED unset" in warning and "install-kernel" in warning
    monkeypatch.setattr(startup, "startup_environment", lambda: {"PYTHONHASHSEED": "123"})
    assert startup.hash_seed_warning() is None


def test_startup_values_name_only_the_listed_variables() -> None:
    values = startup.startup_values()
    assert set(values) == set(startup.STARTUP_VARIABLES)


def test_the_environment_fingerprint_holds_named_facts_only() -> None:
    from repro_magics.kernel.environment import environment_fingerprint

    fingerprint = environment_fingerprint()
    assert set(fingerprint) == {
        "python",
        "implementation",
        "platform",
        "machine",
        "cpu",
        "cpu_count",
        "gpu",
        "packages",
        "backend",
        "startup_variables",
    }
    assert set(fingerprint["packages"]) == {"numpy", "tensorflow", "keras"}
    assert set(fingerprint["backend"]) == {"name", "version"}
    assert set(fingerprint["startup_variables"]) == set(startup.STARTUP_VARIABLES)
