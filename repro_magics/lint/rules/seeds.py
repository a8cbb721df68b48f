"""Generators and resets without a seed, or seeded from the clock or fresh entropy: RM101, RM102."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..defuse import Facts
from ..generators import RESETS
from ..names import is_constant, keyword, method_name
from ..registry import TRAP, Finding, at, python_cells, rule

_SEEDED_CONSTRUCTORS = {
    "numpy.random.default_rng",
    "numpy.random.RandomState",
    "numpy.random.SeedSequence",
    "numpy.random.PCG64",
    "numpy.random.PCG64DXSM",
    "numpy.random.MT19937",
    "numpy.random.Philox",
    "numpy.random.SFC64",
    "random.Random",
    "numpy.random.seed",
    "random.seed",
}


@rule("RM101", "unseeded-generator", TRAP, "a random generator or reset without a seed, or seeded from the clock")
def unseeded_generator(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds `np.random.default_rng()`, `np.random.RandomState()`,
    `random.Random()`, NumPy bit generators (`PCG64()`...) and `SeedSequence()`
    created without a seed (or with `seed=None`), `np.random.seed()` and
    `random.seed()` called without one, and `random.SystemRandom()`. Also finds
    a seed read from the clock or fresh entropy (`time.time()`, `os.urandom`,
    `uuid4`, `secrets`..., directly or through a variable or a function of yours)
    given to any reset or seeded generator: `keras.utils.set_random_seed`,
    `np.random.seed`, `tf.random.set_seed`, `torch.manual_seed`,
    `jax.random.PRNGKey`/`jax.random.key`, `np.random.default_rng`...

    **Why is this bad?** Without a seed the generator starts from fresh operating
    system entropy, so every run draws different numbers. `%%reproducible` resets
    the global generators, not one you make: it cannot reach a generator seeded
    from entropy.

    ```python
    rng = np.random.default_rng()
    jitter = rng.normal(0, 0.01, size=x.shape)
    ```

    **Use instead:**

    ```python
    rng = np.random.default_rng(812)
    jitter = rng.normal(0, 0.01, size=x.shape)
    ```
    """
    for cell in python_cells(facts):
        for call in facts.calls(cell):
            name = facts.resolve(call.func)
            if name == "random.SystemRandom":
                yield at(
                    cell,
                    call,
                    "RM101",
                    "random.SystemRandom() draws from the operating system and cannot be seeded; "
                    "use random.Random(seed)",
                )
                continue
            if name not in _SEEDED_CONSTRUCTORS:
                continue
            seed = call.args[0] if call.args else keyword(call, "seed")
            unpacked = any(isinstance(arg, ast.Starred) for arg in call.args) or any(
                k.arg is None for k in call.keywords
            )
            if unpacked or (seed is not None and not is_constant(seed, None)):
                continue
            yield at(
                cell,
                call,
                "RM101",
                f"{ast.unparse(call.func)}() without a seed draws fresh entropy on every run; pass a seed",
            )
    yield from _entropy_seeds(facts)


@rule("RM102", "non-deterministic-generator", TRAP, "tf.random.Generator.from_non_deterministic_state()")
def non_deterministic_generator(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds `tf.random.Generator.from_non_deterministic_state()`.

    **Why is this bad?** The generator's state comes from fresh entropy, so its
    draws differ on every run; under op determinism (inside `%%reproducible`)
    TensorFlow refuses to create it and raises a `RuntimeError`.

    ```python
    g = tf.random.Generator.from_non_deterministic_state()
    ```

    **Use instead:**

    ```python
    g = tf.random.Generator.from_seed(812)
    ```
    """
    for cell in python_cells(facts):
        for call in facts.calls(cell):
            if facts.resolve(call.func) == "tensorflow.random.Generator.from_non_deterministic_state":
                yield at(
                    cell,
                    call,
                    "RM102",
                    "Generator.from_non_deterministic_state() starts from fresh entropy on every run (and raises "
                    "under op determinism); "
                    "use tf.random.Generator.from_seed(seed)",
                )


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


def _entropy_seeds(facts: Facts) -> Iterator[Finding]:
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
