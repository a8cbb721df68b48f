"""Seeds taken from the clock or fresh entropy: a reset or a generator seeded that way is no reset at all."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .defuse import Facts
from .names import keyword, method_name
from .order import RESETS
from .registry import Finding, at

#: Calls that take a seed, as their first argument or `seed=`.
SEEDING_CALLS = set(RESETS) | {
    "numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.SeedSequence", "random.Random",
    "numpy.random.PCG64", "numpy.random.MT19937", "numpy.random.Philox", "numpy.random.SFC64",
    "tensorflow.random.Generator.from_seed", "keras.random.SeedGenerator", "jax.random.PRNGKey", "jax.random.key",
}  # fmt: skip


def _seed_argument(facts: Facts, call: ast.Call) -> ast.expr | None:
    name = facts.resolve(call.func) or ""
    if name in SEEDING_CALLS or method_name(call) == "manual_seed":
        return call.args[0] if call.args else keyword(call, "seed")
    return None


class _Taint:
    """Top-level names holding a value read from the clock or fresh entropy, followed in execution order."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.names: dict[str, ast.Call] = {}

    def source(self, node: ast.AST) -> ast.Call | None:
        call = self.facts.entropy_call(node)
        if call is not None:
            return call
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and child.id in self.names:
                return self.names[child.id]
        return None

    def bind(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            origin = self.source(node.value)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    if origin is not None:
                        self.names[target.id] = origin
                    else:
                        self.names.pop(target.id, None)


def _seed_parameters(facts: Facts) -> dict[str, set[int]]:
    """For each notebook function, the positions of its parameters that it passes on as a seed."""
    found: dict[str, set[int]] = {}
    for name, function in facts.functions.items():
        parameters = [arg.arg for arg in function.node.args.args]
        for node in ast.walk(function.node):
            if isinstance(node, ast.Call):
                seed = _seed_argument(facts, node)
                if seed is not None:
                    used = {child.id for child in ast.walk(seed) if isinstance(child, ast.Name)}
                    positions = {parameters.index(p) for p in used if p in parameters}
                    if positions:
                        found.setdefault(name, set()).update(positions)
    return found


def entropy_seeds(facts: Facts) -> Iterator[Finding]:
    """RM101's second half: a seed read from the clock or from fresh entropy."""
    taint = _Taint(facts)
    parameters = _seed_parameters(facts)
    for cell in facts.notebook.cells:
        for node in facts.executed(cell):
            if isinstance(node, ast.Call):
                seeds: list[ast.expr] = []
                seed = _seed_argument(facts, node)
                if seed is not None:
                    seeds.append(seed)
                elif isinstance(node.func, ast.Name) and node.func.id in parameters:
                    seeds.extend(node.args[p] for p in sorted(parameters[node.func.id]) if p < len(node.args))
                for seed in seeds:
                    origin = taint.source(seed)
                    if origin is not None:
                        yield at(
                            cell,
                            node,
                            "RM101",
                            f"{ast.unparse(node.func)}() is seeded from {ast.unparse(origin.func)}(), which differs "
                            "on every run, so nothing after it repeats; use a fixed seed (and print or record it)",
                        )
            taint.bind(node)
