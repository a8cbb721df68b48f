"""Cross-cell def-use: which names hold objects with their own random state, and where they were made.

One pass over the cells in order builds what the rules ask about: the kind of
object an expression makes (a model, a dataset...), what each function defined
in the notebook does (trains, returns a dataset, draws from a stateful op), and
the names bound at the start of each cell. It is deliberately simple: top-level
names, one level of functions, no aliasing through containers.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from .cells import Cell, Notebook
from .made import (
    DATASET,
    DATASET_METHODS,
    GENERATOR,
    GENERATOR_CALLS,
    ITERATOR,
    LAYER,
    MODEL,
    MODEL_CALLS,
    MODEL_PREFIXES,
    OPTIMIZER,
    RANDOM_LAYER_PREFIXES,
    STATEFUL_RANDOM_OPS,
    TF_DATA_ONLY_METHODS,
    FunctionFacts,
    Made,
)
from .names import (
    Imports,
    calls_in,
    executed_nodes,
    is_true,
    iterated_names,
    jit_compile_true,
    keyword,
    method_name,
    names_in,
    root_name,
)

_KERAS_FIT_HINTS = {"epochs", "batch_size", "validation_data", "validation_split", "callbacks", "steps_per_epoch"}
_TRAINING_METHODS = {"train_on_batch", "fit_generator", "apply_gradients"}
ENTROPY_CALLS = (
    "time.time", "time.time_ns", "time.perf_counter", "time.perf_counter_ns", "time.monotonic",
    "time.process_time", "time.ctime", "time.localtime", "datetime.datetime.now", "datetime.datetime.utcnow",
    "datetime.datetime.today", "datetime.date.today", "datetime.now", "datetime.utcnow", "datetime.today",
    "date.today", "uuid.uuid1", "uuid.uuid4", "os.urandom", "os.getpid", "secrets.",
)  # fmt: skip


class Facts:
    """What the rules need to know about a notebook, computed once."""

    def __init__(self, notebook: Notebook) -> None:
        self.notebook = notebook
        self._nodes: dict[int, list[ast.AST]] = {
            cell.number: list(ast.walk(cell.tree)) for cell in notebook.cells if cell.tree is not None
        }
        self.imports = Imports(node for nodes in self._nodes.values() for node in nodes)
        self.uses_keras = any(name.split(".")[0] in ("keras", "tensorflow") for name in self.imports.aliases.values())
        self.functions: dict[str, FunctionFacts] = {}
        self.classes: dict[str, str] = {}
        #: Every class the notebook defines, by name (the last definition wins, as it does when run).
        self.class_nodes: dict[str, ast.ClassDef] = {}
        #: Names bound to objects with random state when each cell starts (by cell number).
        self.bound_at_start: dict[int, dict[str, Made]] = {}
        self._bound_before: dict[int, dict[str, Made]] = {}
        self._calls: dict[int, list[ast.Call]] = {}
        self._executed: dict[int, list[ast.AST]] = {}
        self._parents: dict[int, dict[ast.AST, ast.AST]] = {}
        self._executed_by_statement: dict[int, list[ast.AST]] = {}
        #: What rules derive from these facts and share (computed once, by whoever needs it first).
        self.derived: dict[str, object] = {}
        bound: dict[str, Made] = {}
        for cell in notebook.cells:
            self.bound_at_start[cell.number] = dict(bound)
            if cell.tree is None:
                continue
            executed: list[ast.AST] = []
            for statement in cell.tree.body:
                self._bound_before[id(statement)] = dict(bound)
                nodes = executed_nodes([statement])
                self._executed_by_statement[id(statement)] = nodes
                executed.extend(nodes)
                self.bind(statement, bound, cell.number, nodes)
            self._executed[cell.number] = executed

    def bound_before(self, statement: ast.stmt) -> dict[str, Made]:
        """Names bound to objects with random state just before a cell's top-level statement runs."""
        return self._bound_before[id(statement)]

    def statement_executed(self, statement: ast.stmt) -> list[ast.AST]:
        """The nodes a cell's top-level statement runs, leaving out function and class bodies."""
        return self._executed_by_statement[id(statement)]

    def nodes(self, cell: Cell) -> list[ast.AST]:
        """Every node of a cell, function bodies included."""
        return self._nodes.get(cell.number, [])

    def calls(self, cell: Cell) -> list[ast.Call]:
        """Every call in a cell, function bodies included (computed once)."""
        if cell.number not in self._calls:
            self._calls[cell.number] = [node for node in self.nodes(cell) if isinstance(node, ast.Call)]
        return self._calls[cell.number]

    def executed(self, cell: Cell) -> list[ast.AST]:
        """The nodes a cell runs when it runs, leaving out function and class bodies."""
        return self._executed.get(cell.number, [])

    def parents(self, cell: Cell) -> dict[ast.AST, ast.AST]:
        """Each node of a cell mapped to the node that contains it (computed once)."""
        if cell.number not in self._parents and cell.tree is not None:
            self._parents[cell.number] = {
                child: parent for parent in self.nodes(cell) for child in ast.iter_child_nodes(parent)
            }
        return self._parents.get(cell.number, {})

    # -- what an expression is --------------------------------------------------------------

    def resolve(self, node: ast.AST) -> str | None:
        return self.imports.resolve(node)

    def made_by(self, node: ast.AST, bound: dict[str, Made], cell: int) -> Made | None:
        """The object with random state that evaluating `node` makes or returns, if any."""
        if isinstance(node, ast.Name):
            return bound.get(node.id)
        if isinstance(node, ast.Await):
            return self.made_by(node.value, bound, cell)
        if isinstance(node, ast.List | ast.Tuple):
            # A list of augmentation layers applied one by one in a loop.
            elements = [self.made_by(element, bound, cell) for element in node.elts]
            if any(made is not None and made.kind == LAYER and made.draws_randomness for made in elements):
                return Made(LAYER, cell, draws_randomness=True)
            return None
        if not isinstance(node, ast.Call):
            return None
        name = self.resolve(node.func)
        if name is not None:
            if name in MODEL_CALLS or name.startswith(MODEL_PREFIXES) or name == "keras.models.clone_model":
                return Made(MODEL, cell, draws_randomness=self._contains_random_layers(node, bound))
            if name.startswith("keras.layers.") and name.split(".")[-1][:1].isupper():
                return Made(LAYER, cell, draws_randomness=self._contains_random_layers(node, bound))
            if name.startswith("keras.optimizers.") and name.split(".")[-1][:1].isupper():
                return Made(OPTIMIZER, cell)
            if name in GENERATOR_CALLS:
                return Made(GENERATOR, cell)
            if name.startswith(("tensorflow.data.", "tensorflow_datasets.load")) or (
                name.startswith(("keras.utils.", "keras.preprocessing.")) and "_dataset_from_" in name
            ):
                return self._dataset(node, Made(DATASET, cell), bound, cell)
            if name in ("iter", "builtins.iter") and node.args:
                source = self.made_by(node.args[0], bound, cell)
                if source is not None and source.kind == DATASET:
                    return Made(ITERATOR, cell, draws_randomness=True)
                return None
            if name in self.functions:
                return self._returned(self.functions[name], node, cell)
            if name in self.classes:
                return Made(self.classes[name], cell, draws_randomness=True)
        method = method_name(node)
        if method in ("as_numpy_iterator", "__iter__", "flow", "flow_from_directory", "flow_from_dataframe"):
            return Made(ITERATOR, cell)
        if method in DATASET_METHODS and isinstance(node.func, ast.Attribute):
            source = self.made_by(node.func.value, bound, cell)
            if source is None and (method in TF_DATA_ONLY_METHODS or keyword(node, "num_parallel_calls") is not None):
                source = Made(DATASET, cell)
            if source is not None and source.kind == DATASET:
                return self._dataset(node, source, bound, cell)
        return None

    def _contains_random_layers(self, node: ast.AST, bound: dict[str, Made]) -> bool:
        for child in ast.walk(node):
            if isinstance(child, ast.Call) and (self.resolve(child.func) or "").startswith(RANDOM_LAYER_PREFIXES):
                return True
            if isinstance(child, ast.Name) and (made := bound.get(child.id)) is not None and made.draws_randomness:
                return True
        return False

    def _returned(self, function: FunctionFacts, call: ast.Call, cell: int) -> Made | None:
        made = function.returns
        if made is None:
            return None
        made = replace(made, cell=cell, random_when=None)
        if function.returns is not None and function.returns.random_when is not None:
            parameter = function.returns.random_when
            positional = [arg.arg for arg in function.node.args.args]
            given = keyword(call, parameter)
            if given is None and parameter in positional and positional.index(parameter) < len(call.args):
                given = call.args[positional.index(parameter)]
            if isinstance(given, ast.Constant) and not given.value:
                made = replace(made, draws_randomness=False)
        return made

    def _dataset(self, call: ast.Call, source: Made, bound: dict[str, Made], cell: int) -> Made:
        made = replace(source, cell=cell)
        method = method_name(call)
        if method == "shuffle" or (method == "map" and call.args and self.stateful_random(call.args[0], bound)):
            made = replace(made, draws_randomness=True)
        parallel = method == "map" and keyword(call, "num_parallel_calls") is not None and call.args
        if parallel and self.stateful_random(call.args[0], bound):
            made = replace(made, random_parallel_map=(call.lineno, call.col_offset + 1))
        return made

    def stateful_random(self, function: ast.AST, bound: dict[str, Made]) -> bool:
        """Whether a function given to `map` (a lambda or a name) draws from a stateful random op."""
        if isinstance(function, ast.Lambda):
            return self._draws(function.body, bound)
        if isinstance(function, ast.Name) and function.id in self.functions:
            return self.functions[function.id].stateful_random
        return False

    def _draws(self, node: ast.AST, bound: dict[str, Made]) -> bool:
        for call in calls_in(node):
            name = self.resolve(call.func) or ""
            if name.startswith(STATEFUL_RANDOM_OPS) or name.startswith(RANDOM_LAYER_PREFIXES):
                return True
            if is_true(keyword(call, "training")):
                return True
            if isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
                # `rng.make_seeds(2)`, `rng.normal(...)`: a generator made once, shared by every call of the map.
                made = bound.get(call.func.value.id)
                if made is not None and made.kind == GENERATOR:
                    return True
            if isinstance(call.func, ast.Name):
                made = bound.get(call.func.id)
                if made is not None and made.draws_randomness:
                    return True
                facts = self.functions.get(call.func.id)
                if facts is not None and facts.stateful_random:
                    return True
        return False

    def training_call(self, node: ast.AST, bound: dict[str, Made]) -> ast.Call | None:
        """The call that trains a model in `node`: `fit`, a custom loop's `apply_gradients`, a function that does."""
        for call in calls_in(node):
            method = method_name(call)
            if method in _TRAINING_METHODS:
                return call
            if method == "fit" and isinstance(call.func, ast.Attribute):
                receiver = self.made_by(call.func.value, bound, 0)
                hinted = any(item.arg in _KERAS_FIT_HINTS for item in call.keywords)
                named = "model" in (root_name(call.func.value) or "").lower() and self.uses_keras
                if hinted or named or (receiver is not None and receiver.kind == MODEL):
                    return call
            if (
                isinstance(call.func, ast.Name)
                and call.func.id in self.functions
                and self.functions[call.func.id].trains
            ):
                return call
        return None

    def entropy_call(self, node: ast.AST) -> ast.Call | None:
        """The first call in `node` that reads the clock or fresh entropy (directly or through a function)."""
        for call in calls_in(node):
            name = self.resolve(call.func) or ""
            if name.startswith(ENTROPY_CALLS):
                return call
            if (
                isinstance(call.func, ast.Name)
                and call.func.id in self.functions
                and self.functions[call.func.id].entropy
            ):
                return call
        return None

    # -- binding names --------------------------------------------------------------------------

    def bind(self, statement: ast.stmt, bound: dict[str, Made], cell: int, executed: list[ast.AST]) -> None:
        """Update `bound` with what a top-level statement (whose executed nodes are given) defines."""
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            self.functions[statement.name] = self._summarise(statement, bound, cell)
            bound.pop(statement.name, None)
            return
        if isinstance(statement, ast.ClassDef):
            self.class_nodes[statement.name] = statement
            bases = [self.resolve(base) or "" for base in statement.bases]
            if any(base in MODEL_CALLS for base in bases):
                self.classes[statement.name] = MODEL
            elif any(base.startswith("keras.layers.") for base in bases):
                self.classes[statement.name] = LAYER
            return
        for node in executed:
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                made = self.made_by(node.value, bound, cell)
                for target in targets:
                    if isinstance(target, ast.Name):
                        if made is not None:
                            bound[target.id] = made
                        else:
                            bound.pop(target.id, None)
                    elif isinstance(target, ast.Tuple | ast.List):
                        # `train_ds, val_ds = image_dataset_from_directory(..., subset="both")`
                        for element in ast.walk(target):
                            if isinstance(element, ast.Name):
                                if made is not None and made.kind == DATASET:
                                    bound[element.id] = made
                                else:
                                    bound.pop(element.id, None)

    def _summarise(
        self, function: ast.FunctionDef | ast.AsyncFunctionDef, bound: dict[str, Made], cell: int
    ) -> FunctionFacts:
        facts = FunctionFacts(function.name, cell, function)
        local = dict(bound)
        parameters = {arg.arg for arg in function.args.args + function.args.kwonlyargs}
        self._summarise_block(function.body, facts, local, cell, parameters, None)
        body = ast.Module(body=function.body, type_ignores=[])
        facts.trains = self.training_call(body, local) is not None
        facts.stateful_random = self._draws(body, local)
        facts.jit_compile_true = jit_compile_true(calls_in(function))
        if not facts.entropy and any(
            isinstance(node, ast.Return)
            and node.value is not None
            and names_in(node.value) & self._tainted_locals(function)
            for node in ast.walk(function)
        ):
            facts.entropy = True
        random_parallel = {name for name, made in local.items() if made.random_parallel_map is not None}
        facts.iterates_random_parallel_map = bool(random_parallel & iterated_names(body))
        return facts

    def _summarise_block(
        self,
        statements: list[ast.stmt],
        facts: FunctionFacts,
        local: dict[str, Made],
        cell: int,
        parameters: set[str],
        condition: str | None,
    ) -> None:
        """Bind a function's local names in order; randomness under `if <parameter>:` is conditional."""
        for statement in statements:
            if (
                isinstance(statement, ast.If)
                and isinstance(statement.test, ast.Name)
                and statement.test.id in parameters
            ):
                self._summarise_block(statement.body, facts, local, cell, parameters, statement.test.id)
                self._summarise_block(statement.orelse, facts, local, cell, parameters, condition)
                continue
            if isinstance(statement, ast.For) and isinstance(statement.target, ast.Name):
                made = self.made_by(statement.iter, local, cell)
                if made is not None and made.kind == LAYER:
                    local[statement.target.id] = made
            for node in ast.walk(statement):
                if isinstance(node, ast.Assign) and node.value is not None:
                    made = self.made_by(node.value, local, cell)
                    for target in node.targets:
                        if not isinstance(target, ast.Name):
                            continue
                        if made is None:
                            local.pop(target.id, None)
                            continue
                        before = local.get(target.id)
                        if condition is not None and made.draws_randomness and not (before and before.draws_randomness):
                            made = replace(made, random_when=condition)
                        local[target.id] = made
                elif isinstance(node, ast.Return) and node.value is not None:
                    made = self.made_by(node.value, local, cell)
                    if made is not None:
                        facts.returns = made
                    if self.entropy_call(node.value) is not None:
                        facts.entropy = True

    def _tainted_locals(self, function: ast.AST) -> set[str]:
        tainted: set[str] = set()
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and self.entropy_call(node.value) is not None:
                tainted |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        return tainted
