"""The notebook in execution order: which global generators have been reset when each statement runs.

`repro-verify` promises what a fresh kernel gives running the cells top to
bottom. In a fresh kernel every global generator starts from fresh entropy:
Python's `random` (from which Keras draws the seeds of its initializers, random
layers and `SeedGenerator`s), NumPy's global state, TensorFlow's global seed and
PyTorch's default generator. A draw from one of them before it is first reset
differs from run to run; after the reset it is as fixed as the seed. A
`%%reproducible` cell resets them all when it starts.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import replace

from .cells import Cell
from .defuse import Facts
from .generators import (
    ANY,
    FAMILIES,
    KERAS_FAMILIES,
    KERAS_LAYERS_WITHOUT_DRAWS,
    NUMPY,
    NUMPY_NOT_DRAWS,
    PYTHON,
    PYTHON_DRAWS,
    RANDOM_UNLESS_SEEDED,
    RESETS,
    SKLEARN_RANDOM_CLASSES,
    SKLEARN_SHUFFLING_SPLITTERS,
    SKLEARN_SPLITS,
    TENSORFLOW,
    TF_DRAWS,
    TORCH,
    TORCH_DRAWS,
    TORCH_MODULES_WITH_WEIGHTS,
    Draw,
    draw_words,
    is_given,
    is_tf_random_op,
    keras_backend,
    shuffles_unseeded,
)
from .names import is_constant, keyword, method_name, root_name


class Order:
    """Reset state per statement, and the draws each statement makes, for one notebook."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.backend = keras_backend(facts)
        self._function_draws: dict[str, list[Draw]] = {}
        self._function_resets: dict[str, frozenset[str]] = {}
        self._class_kinds: dict[str, str | None] = {}
        self._instances: dict[str, str] | None = None
        #: Names the notebook binds to a generator of its own (`rng.shuffle(x)` draws from it, not from a global).
        self.own_generators = {
            target.id
            for cell in facts.notebook.cells
            for node in facts.nodes(cell)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
            and (facts.resolve(node.value.func) or "").startswith(("numpy.random.", "random.Random", "torch.Generator"))
            for target in node.targets
            if isinstance(target, ast.Name)
        }  # fmt: skip
        #: Families reset before each top-level statement runs (by id of the statement).
        self.reset_before: dict[int, frozenset[str]] = {}
        #: The first cell that resets each family.
        self.first_reset: dict[str, int] = {}
        reset: frozenset[str] = frozenset()
        for cell in facts.notebook.cells:
            if cell.tree is None:
                continue
            if cell.reproducible:
                reset = FAMILIES
                for family in FAMILIES:
                    self.first_reset.setdefault(family, cell.number)
            for statement in cell.tree.body:
                self.reset_before[id(statement)] = reset
                added = self.resets_in(statement)
                if reset | added >= KERAS_FAMILIES:
                    added = added | {ANY}
                for family in added - reset:
                    self.first_reset.setdefault(family, cell.number)
                reset = reset | added

    # -- resets -----------------------------------------------------------------------------

    def resets_in(self, statement: ast.stmt) -> frozenset[str]:
        """The families a top-level statement resets (directly or through a notebook function it calls)."""
        found: set[str] = set()
        for node in self.facts.statement_executed(statement):
            if isinstance(node, ast.Call):
                found |= self._call_resets(node)
        return frozenset(found)

    def _call_resets(self, call: ast.Call) -> frozenset[str]:
        name = self.facts.resolve(call.func) or ""
        if name in RESETS:
            seed = call.args[0] if call.args else keyword(call, "seed")
            return frozenset() if seed is None or is_constant(seed, None) else RESETS[name]
        if isinstance(call.func, ast.Name) and call.func.id in self.facts.functions:
            return self.function_resets(call.func.id)
        return frozenset()

    def function_resets(self, name: str) -> frozenset[str]:
        if name not in self._function_resets:
            self._function_resets[name] = frozenset()  # a recursive function resets nothing more
            function = self.facts.functions[name].node
            found: set[str] = set()
            for node in _body_nodes(function):
                if isinstance(node, ast.Call):
                    found |= self._call_resets(node)
            self._function_resets[name] = frozenset(found)
        return self._function_resets[name]

    # -- draws ------------------------------------------------------------------------------

    def draws_in(self, statement: ast.stmt) -> Iterator[Draw]:
        """The draws from global generators a top-level statement makes when it runs."""
        for node in self.facts.statement_executed(statement):
            if isinstance(node, ast.Call):
                yield from self.call_draws(node)

    def call_draws(self, call: ast.Call) -> list[Draw]:
        facts = self.facts
        name = facts.resolve(call.func) or ""
        module, _, last = name.rpartition(".")
        if module == "random" and last in PYTHON_DRAWS:
            return [Draw(PYTHON, call, draw_words(call))]
        if module == "numpy.random" and last not in NUMPY_NOT_DRAWS:
            return [Draw(NUMPY, call, draw_words(call))]
        if name in TF_DRAWS or name.startswith("tensorflow.image.random_") or is_tf_random_op(module, last):
            # An op seed without a global one is fixed too (TensorFlow pairs it with a default global seed).
            return [] if is_given(call, "seed") else [Draw(TENSORFLOW, call, draw_words(call))]
        if module == "torch" and last in TORCH_DRAWS:
            return [] if is_given(call, "generator") else [Draw(TORCH, call, draw_words(call))]
        if name.startswith("torch.nn.init."):
            return [Draw(TORCH, call, draw_words(call))]
        if module == "torch.nn" and last.startswith(TORCH_MODULES_WITH_WEIGHTS):
            return [Draw(TORCH, call, f"{draw_words(call)} (its initial weights)")]
        if name.endswith("random_split") and name.startswith("torch") and keyword(call, "generator") is None:
            return [Draw(TORCH, call, draw_words(call))]
        if module == "keras.layers" and last[:1].isupper() and last not in KERAS_LAYERS_WITHOUT_DRAWS:
            if is_given(call, "seed"):  # seeded by its maker: `RandomFlip(seed=1)`, `Dropout(0.2, seed=1)`
                return []
            return [Draw(PYTHON, call, f"{draw_words(call)} (the seed of its initializers or random ops)")]
        if name.startswith("keras.applications.") or name == "keras.models.clone_model":
            return [Draw(PYTHON, call, f"{draw_words(call)} (the seeds of its initializers)")]
        if module in ("keras.initializers", "keras.random") and keyword(call, "seed") is None:
            if module == "keras.random" and last == "SeedGenerator" and (call.args or keyword(call, "seed")):
                return []
            if module == "keras.initializers" and not last[:1].isupper():
                return []
            return [Draw(PYTHON, call, draw_words(call))]
        if (name.endswith(SKLEARN_SPLITS) and name.startswith("sklearn")) or last == "train_test_split":
            if keyword(call, "random_state") is None or is_constant(keyword(call, "random_state"), None):
                return [Draw(NUMPY, call, f"{draw_words(call)} without random_state")]
            return []
        if name.startswith("sklearn.datasets.make_") and not is_given(call, "random_state"):
            return [Draw(NUMPY, call, f"{draw_words(call)} without random_state")]
        if name.startswith("sklearn.") and self._sklearn_unseeded(last, call):
            return [Draw(NUMPY, call, f"{draw_words(call)} without random_state")]
        if self._dataset_from_files_unseeded(name, call):
            return [Draw(NUMPY, call, f"{draw_words(call)} without seed= (it draws its shuffle seed from NumPy)")]
        if (
            name in RANDOM_UNLESS_SEEDED
            and not is_given(call, RANDOM_UNLESS_SEEDED[name])
            and not is_constant(keyword(call, "shuffle"), False)
        ):
            return [Draw(TENSORFLOW, call, f"{draw_words(call)} without {RANDOM_UNLESS_SEEDED[name]}=")]
        if shuffles_unseeded(name, call) and root_name(call.func) in facts.imports.aliases:
            return [Draw(ANY, call, f"{draw_words(call)} with shuffle=True and no seed")]
        method = method_name(call)
        if method == "map" and call.args:
            traced = self._traced_draws(call.args[0])
            if traced is not None:
                return [Draw(TENSORFLOW, call, f"{draw_words(call)}, whose function calls {traced.what},")]
        if (
            method == "shuffle"
            and module not in ("random", "numpy.random")
            and keyword(call, "seed") is None
            and len(call.args) < 2
            and not name.startswith(("numpy.", "random.", "sklearn."))
            and not (isinstance(call.func, ast.Attribute) and self._own_or_module(call.func.value))
        ):
            return [Draw(TENSORFLOW, call, f"{draw_words(call)} without a seed")]
        if (
            method == "sample"
            and (keyword(call, "frac") is not None or keyword(call, "n") is not None)
            and keyword(call, "random_state") is None
        ):
            return [Draw(NUMPY, call, f"{draw_words(call)} without random_state")]
        if isinstance(call.func, ast.Name):
            if call.func.id in facts.functions:
                skipped = self._parameters_given_false(call)
                return [
                    Draw(draw.family, call, f"{call.func.id}(), which calls {draw.what}")
                    for draw in self.function_draws(call.func.id)
                    if draw.only_if not in skipped
                ][:1]
            kind = self.class_kind(call.func.id)
            if kind == "keras":
                return [Draw(PYTHON, call, f"{call.func.id}() (the layers it creates draw their seeds)")]
            if kind == "torch":
                return [Draw(TORCH, call, f"{call.func.id}() (its initial weights)")]
            made = self.init_draws(call.func.id)
            if made:
                return [Draw(made[0].family, call, f"{call.func.id}(), whose __init__ calls {made[0].what}")]
            if call.func.id in self.instances:
                # A tf.Module that makes its variables on its first call (`FlexibleDense`).
                drawn = self.method_draws(self.instances[call.func.id], "__call__")
                if drawn:
                    return [Draw(drawn[0].family, call, f"{call.func.id}(...), whose __call__ calls {drawn[0].what}")]
        return []

    def init_draws(self, name: str) -> list[Draw]:
        """The draws a notebook class's `__init__` makes (a `tf.Module` making `tf.Variable(tf.random.normal(...))`),
        its own or the first one up its notebook bases."""
        return self.method_draws(name, "__init__")

    def method_draws(self, name: str, method: str) -> list[Draw]:
        """The draws a method of a notebook class makes, its own or the first one up its notebook bases."""
        key = f"class {name}.{method}"
        if key not in self._function_draws:
            self._function_draws[key] = []  # a class deriving from itself draws nothing more
            node = self.facts.class_nodes.get(name)
            found: list[Draw] = []
            if node is not None:
                body = next(
                    (item for item in node.body if isinstance(item, ast.FunctionDef) and item.name == method), None
                )
                if body is not None:
                    for child in _body_nodes(body):
                        if isinstance(child, ast.Call):
                            found.extend(self.call_draws(child))
                else:
                    for base in node.bases:
                        if isinstance(base, ast.Name) and base.id != name:
                            found = self.method_draws(base.id, method)
                            if found:
                                break
            self._function_draws[key] = found
        return self._function_draws[key]

    @property
    def instances(self) -> dict[str, str]:
        """Top-level names bound to an instance of a notebook class that is neither Keras nor torch: {name: class}."""
        if self._instances is None:
            self._instances = {}
            for cell in self.facts.notebook.cells:
                for node in self.facts.executed(cell):
                    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                        func = node.value.func
                        made = func.id if isinstance(func, ast.Name) and func.id in self.facts.class_nodes else None
                        for target in node.targets:
                            if isinstance(target, ast.Name) and made is not None and self.class_kind(made) is None:
                                self._instances[target.id] = made
        return self._instances

    def _traced_draws(self, function: ast.AST) -> Draw | None:
        """An unseeded TensorFlow random op in a function that `Dataset.map` traces when it is called:
        its op seed is fixed then, from TensorFlow's global seed as it is at that moment."""
        if isinstance(function, ast.Lambda):
            for node in ast.walk(function.body):
                if isinstance(node, ast.Call):
                    for draw in self.call_draws(node):
                        if draw.family == TENSORFLOW:
                            return draw
        elif isinstance(function, ast.Name) and function.id in self.facts.functions:
            for draw in self.function_draws(function.id):
                if draw.family == TENSORFLOW:
                    return draw
        return None

    def _own_or_module(self, receiver: ast.AST) -> bool:
        """A receiver that is a generator of the notebook's own, or a module (`random.Random(1).shuffle`)."""
        root = root_name(receiver)
        if root is None:
            return False
        module = self.facts.imports.aliases.get(root, root).split(".")[0]
        return root in self.own_generators or module in ("random", "numpy", "torch", "sklearn")

    def _parameters_given_false(self, call: ast.Call) -> set[str | None]:
        """Parameters of a notebook function that a call sets to a false literal (`training=False`)."""
        assert isinstance(call.func, ast.Name)
        positional = [arg.arg for arg in self.facts.functions[call.func.id].node.args.args]
        given = {item.arg: item.value for item in call.keywords if item.arg is not None}
        given.update(zip(positional, call.args, strict=False))
        return {name for name, value in given.items() if isinstance(value, ast.Constant) and not value.value}

    @staticmethod
    def _sklearn_unseeded(last: str, call: ast.Call) -> bool:
        state = keyword(call, "random_state")
        if state is not None and not is_constant(state, None):
            return False
        if last in SKLEARN_SHUFFLING_SPLITTERS:
            return is_constant(keyword(call, "shuffle"), True)
        return last in SKLEARN_RANDOM_CLASSES

    def _dataset_from_files_unseeded(self, name: str, call: ast.Call) -> bool:
        if not name.startswith(("keras.utils.", "keras.preprocessing.")):
            return False
        if keyword(call, "seed") is not None and not is_constant(keyword(call, "seed"), None):
            return False
        shuffle = keyword(call, "shuffle")
        if name.endswith("timeseries_dataset_from_array"):
            return is_constant(shuffle, True)
        return "_dataset_from_" in name and not is_constant(shuffle, False)

    def function_draws(self, name: str) -> list[Draw]:
        """The draws a notebook function's body makes (through the functions it calls too)."""
        if name not in self._function_draws:
            self._function_draws[name] = []  # recursion draws nothing more
            function = self.facts.functions[name].node
            conditions = _under_parameter_tests(function)
            found: list[Draw] = []
            for node in _body_nodes(function):
                if isinstance(node, ast.Call):
                    found.extend(replace(draw, only_if=conditions.get(id(node))) for draw in self.call_draws(node))
            self._function_draws[name] = found
        return self._function_draws[name]

    def class_kind(self, name: str) -> str | None:
        """`keras` for a notebook class that is a Keras model or layer, `torch` for a torch module, else None."""
        if name not in self._class_kinds:
            node = self.facts.class_nodes.get(name)
            kind: str | None = None
            if node is not None:
                for base in node.bases:
                    resolved = self.facts.resolve(base) or ""
                    if resolved.startswith(("keras.Model", "keras.models.", "keras.layers.", "keras.Sequential")):
                        kind = "keras"
                    elif resolved in ("torch.nn.Module", "torch.nn.modules.module.Module"):
                        kind = "torch"
                    elif isinstance(base, ast.Name) and base.id != name:
                        kind = self.class_kind(base.id)
            self._class_kinds[name] = kind
        return self._class_kinds[name]


def order_of(facts: Facts) -> Order:
    """The notebook's `Order`, computed once per `Facts`."""
    cached = facts.derived.get("order")
    if not isinstance(cached, Order):
        cached = facts.derived["order"] = Order(facts)
    return cached


def _under_parameter_tests(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[int, str]:
    """Nodes of a function's body run only under `if <parameter>:` (`if training:`), by id: the parameter."""
    parameters = {arg.arg for arg in function.args.args + function.args.kwonlyargs}
    found: dict[int, str] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id in parameters:
            for statement in node.body:
                for child in ast.walk(statement):
                    found.setdefault(id(child), node.test.id)
    return found


def _body_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, leaving out nested functions and classes."""
    pending = list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            pending.extend(ast.iter_child_nodes(node))


def plain_statements(facts: Facts) -> Iterator[tuple[Cell, ast.stmt]]:
    """Top-level statements of cells without `%%reproducible`, in execution order (definitions left out)."""
    for cell in facts.notebook.cells:
        if cell.tree is None or cell.reproducible:
            continue
        for statement in cell.tree.body:
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield cell, statement
