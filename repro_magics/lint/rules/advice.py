"""Advice: good practice that does not change what a fresh run gives (RM106 to RM109, RM113), off unless selected."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..defuse import Facts
from ..made import DATASET, GENERATOR, ITERATOR, LAYER, MODEL, OPTIMIZER, Made
from ..names import is_constant, jit_compile_true, keyword, method_name
from ..registry import ADVICE, Finding, at, python_cells, rule, statements

_HARMLESS_ATTRIBUTES = {
    "weights", "trainable_weights", "non_trainable_weights", "variables", "trainable_variables", "layers",
    "name", "summary", "history", "get_weights", "save", "save_weights", "evaluate", "predict", "count_params",
    "input_shape", "output_shape", "element_spec", "cardinality", "learning_rate", "get_config", "to_json",
    "compile", "state", "kernel", "bias", "built", "input", "output", "inputs", "outputs", "metrics_names",
}  # fmt: skip
_HARMLESS_CALLS = {"print", "len", "type", "isinstance", "id", "repr", "str", "display", "hasattr", "getattr"}
_TRAINING_METHODS = {"fit", "train_on_batch", "fit_generator", "train_step"}
_KIND_WORDS = {
    MODEL: "a model",
    LAYER: "a layer",
    OPTIMIZER: "an optimizer",
    DATASET: "a dataset",
    ITERATOR: "an iterator",
    GENERATOR: "a random generator",
}


def _draws_from(
    name: str, made: Made, statement: ast.AST, parents: dict[ast.AST, ast.AST], facts: Facts
) -> ast.AST | None:
    """Where `statement` uses `name` in a way that draws from (or advances) the object's own state."""
    for node in ast.walk(statement):
        if not (isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute):
            if parent.attr in _HARMLESS_ATTRIBUTES:
                continue
            if made.kind in (MODEL, LAYER) and parent.attr not in _TRAINING_METHODS:
                continue
            return node
        if isinstance(parent, ast.Call) and parent.func is node:
            if made.kind in (MODEL, LAYER) and not (
                made.draws_randomness or is_constant(keyword(parent, "training"), True)
            ):
                continue
            return node
        if isinstance(parent, ast.Call):
            if isinstance(parent.func, ast.Name) and parent.func.id in _HARMLESS_CALLS:
                continue
            if made.kind in (MODEL, LAYER):
                function = facts.functions.get(parent.func.id) if isinstance(parent.func, ast.Name) else None
                if function is None or not function.trains:
                    continue
            return node
        if isinstance(parent, ast.keyword):
            return node
        if made.kind in (DATASET, ITERATOR, GENERATOR) and isinstance(parent, ast.For | ast.comprehension):
            return node
    return None


@rule(
    "RM106",
    "random-state-from-another-cell",
    ADVICE,
    "a %%reproducible cell using an object with its own random state made elsewhere",
)
def random_state_from_another_cell(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Reports a `%%reproducible` cell that draws from an object
    with its own random state that another cell made: a layer called with
    `training=True` or containing random layers, a model trained with `fit`, an
    optimizer, a shuffled or randomly mapped dataset, an iterator, a random
    generator (`tf.random.Generator`, `np.random.default_rng(seed)`,
    `keras.random.SeedGenerator`). Reading such an object (`model.weights`,
    `model.predict`, `model.summary()`) is not a draw.

    This is advice about re-running a cell on its own. Run top to bottom in a
    fresh kernel, an object made in a `%%reproducible` cell or after a reset is
    the same every run, so a model built in one `%%reproducible` cell and trained
    in the next reproduces; an object made *before* any reset is a trap, which
    [RM114](#RM114) reports where it is made.

    **Why is this bad?** The magic resets the global random state; an object's own
    state (a `SeedGenerator` inside a `Dropout`, a generator's counter, an
    iterator's position, an optimizer's moments, a model's trained weights) is
    wherever the earlier cells left it. Re-running the cell alone, or after
    another cell touched the object, gives other numbers than the run from the
    top.

    ```python
    dropout = keras.layers.Dropout(0.5)
    ```

    ```python
    %%reproducible seed=812 record=mask
    mask = dropout(ones, training=True)
    ```

    **Use instead:** make the object in the cell that uses it.

    ```python
    %%reproducible seed=812 record=mask
    dropout = keras.layers.Dropout(0.5)
    mask = dropout(ones, training=True)
    ```
    """
    for cell in python_cells(facts):
        if not cell.reproducible:
            continue
        reported: set[str] = set()
        parents = facts.parents(cell)
        for statement in statements(cell):
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                for name, made in facts.bound_before(statement).items():
                    if made.cell == cell.number or name in reported:
                        continue
                    if made.kind == DATASET and not made.draws_randomness:
                        continue
                    use = _draws_from(name, made, statement, parents, facts)
                    if use is not None:
                        reported.add(name)
                        yield at(
                            cell,
                            use,
                            "RM106",
                            f"'{name}' is {_KIND_WORDS[made.kind]} made in cell {made.cell}; "
                            "its own random state is not reset by this cell, so re-running this cell alone continues "
                            "from where the last run left it; create it inside the cell",
                        )


@rule("RM107", "training-outside-reproducible", ADVICE, "fit or a training loop in a cell without %%reproducible")
def training_outside_reproducible(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds Keras training in a cell without `%%reproducible`:
    `fit` (on a model, or with `epochs=`, `batch_size=`, `callbacks=`...),
    `train_on_batch`, a custom loop's `apply_gradients`, or a call of a notebook
    function that does one of these. scikit-learn style `fit(X, y)` on other
    objects is left alone.

    This is advice: run top to bottom after a reset, a plain cell trains from a
    seeded state and gives the same numbers each fresh run (training before any
    reset is a trap, which [RM114](#RM114) reports).

    **Why is this bad?** The result depends on every random draw made before in
    the kernel (which cells ran, how often), so it changes when cells are re-run
    or run in another order; and `repro-verify` records nothing of it to compare.

    ```python
    model.fit(x_train, y_train, epochs=10, validation_split=0.1)
    ```

    **Use instead:**

    ```python
    %%reproducible seed=812 record=model
    model = build_model()
    history = model.fit(x_train, y_train, epochs=10, validation_split=0.1)
    ```
    """
    for cell in python_cells(facts):
        if cell.reproducible:
            continue
        for statement in statements(cell):
            if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                call = facts.training_call(statement, facts.bound_before(statement))
                if call is not None:
                    yield at(
                        cell,
                        call,
                        "RM107",
                        f"{ast.unparse(call.func)}() trains outside %%reproducible: its result depends on every random "
                        "draw made before it in the kernel, and repro-verify records nothing of it; "
                        "train in a %%reproducible cell",
                    )


@rule("RM108", "jit-compile-under-magic", ADVICE, "jit_compile=True in a model trained by a %%reproducible cell")
def jit_compile_under_magic(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds `jit_compile=True` in a `%%reproducible` cell, in a
    notebook function such a cell calls, or in `compile` of a model that such a
    cell trains.

    **Why is this bad?** Keras turns XLA off under op determinism when the model is
    compiled in the cell (with a warning), so the numbers differ from those of the
    same code outside the magic; a model compiled with XLA before the cell keeps
    it, and XLA lacks deterministic versions of some ops. See
    [Limits](limits.md#xla-jit_compile-and-gpus). On a CPU each fresh run gives
    the same numbers, hence advice.

    ```python
    model.compile("adam", "mse", jit_compile=True)
    ```

    **Use instead:**

    ```python
    model.compile("adam", "mse", jit_compile=False)
    ```
    """
    reproducible = [cell for cell in python_cells(facts) if cell.reproducible]
    if not reproducible:
        return
    message = (
        "jit_compile=True {where}: XLA is turned off under op determinism when compiled in the cell (numbers differ "
        "from a run without the magic), and a model compiled with it outside keeps XLA in the cell; leave "
        "jit_compile at False"
    )
    called: set[str] = set()
    trained: set[str] = set()
    for cell in reproducible:
        for item in jit_compile_true(facts.calls(cell)):
            yield at(cell, item.value, "RM108", message.format(where="in a %%reproducible cell"))
        for call in facts.calls(cell):
            if isinstance(call.func, ast.Name):
                called.add(call.func.id)
            if (
                method_name(call) in _TRAINING_METHODS
                and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
            ):
                trained.add(call.func.value.id)
    for function in facts.functions.values():
        if function.name in called:
            cell = facts.notebook.cells[function.cell - 1]
            for item in function.jit_compile_true:
                yield at(
                    cell,
                    item.value,
                    "RM108",
                    message.format(where=f"in {function.name}(), which a %%reproducible cell calls"),
                )
    for cell in python_cells(facts):
        if cell.reproducible:
            continue
        for call in facts.calls(cell):
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if method_name(call) == "compile" and isinstance(receiver, ast.Name) and receiver.id in trained:
                for item in call.keywords:
                    if item.arg == "jit_compile" and is_constant(item.value, True):
                        yield at(
                            cell,
                            item.value,
                            "RM108",
                            message.format(where=f"on '{receiver.id}', which a %%reproducible cell trains"),
                        )


_START_ONLY_VARIABLES = ("PYTHONHASHSEED", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC")


def _env_message(variable: str) -> str:
    if variable == "PYTHONHASHSEED":
        return (
            "setting PYTHONHASHSEED in a cell changes nothing: Python reads it when the kernel starts; use the "
            "'Python 3 (reproducible)' kernel or start Jupyter with it set"
        )
    return (
        f"setting {variable} in a cell is too late once TensorFlow has run (it is read once); %%reproducible turns op "
        "determinism on for its cells"
    )


@rule("RM109", "start-only-variable-set-in-cell", ADVICE, "PYTHONHASHSEED or TF_DETERMINISTIC_OPS set in a cell")
def start_only_variable_set_in_cell(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds `PYTHONHASHSEED`, `TF_DETERMINISTIC_OPS` or
    `TF_CUDNN_DETERMINISTIC` set in a cell: `os.environ[...] = ...`,
    `os.environ.setdefault`, `os.environ.update`, `os.putenv`, `%env`, `%set_env`.

    **Why is this bad?** Python reads `PYTHONHASHSEED` once, when the kernel
    starts: setting it in a cell changes nothing for that kernel. TensorFlow reads
    `TF_DETERMINISTIC_OPS` once, so a cell that sets it after TensorFlow has run
    (any re-run) is too late, and the setting hides the fact that it did not apply.
    Advice: the setting itself changes no number (string-set order, which
    `PYTHONHASHSEED` does change, is [RM111](#RM111)'s trap).

    ```python
    import os

    os.environ["PYTHONHASHSEED"] = "0"
    ```

    **Use instead:** start the kernel with it set: the "Python 3 (reproducible)"
    kernel (`python -m repro_magics install-kernel --user`) fixes
    `PYTHONHASHSEED`, and `%%reproducible` turns op determinism on for its cells.
    """
    for cell in facts.notebook.cells:
        for magic in cell.line_magics:
            if magic.name in ("env", "set_env"):
                variable = magic.arguments.replace("=", " ").split(" ")[0]
                if variable in _START_ONLY_VARIABLES and ("=" in magic.arguments or " " in magic.arguments.strip()):
                    yield Finding(cell.number, magic.line, 1, "RM109", _env_message(variable))
        if cell.tree is None:
            continue
        for node in facts.nodes(cell):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and facts.resolve(target.value) == "os.environ":
                        key = target.slice
                        if isinstance(key, ast.Constant) and key.value in _START_ONLY_VARIABLES:
                            yield at(cell, target, "RM109", _env_message(str(key.value)))
            elif isinstance(node, ast.Call):
                name = facts.resolve(node.func) or ""
                keys: list[ast.expr] = []
                if name in ("os.environ.setdefault", "os.putenv") and node.args:
                    keys = [node.args[0]]
                elif name == "os.environ.update":
                    keys = [ast.Constant(item.arg) for item in node.keywords if item.arg is not None]
                    keys += [
                        key for arg in node.args if isinstance(arg, ast.Dict) for key in arg.keys if key is not None
                    ]
                for key in keys:
                    if isinstance(key, ast.Constant) and key.value in _START_ONLY_VARIABLES:
                        yield at(cell, node, "RM109", _env_message(str(key.value)))


@rule("RM113", "records-nothing", ADVICE, "a %%reproducible cell that records nothing")
def records_nothing(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Reports a `%%reproducible` cell with no `record=` and no
    training (`fit` records its history by itself).

    **Why is this bad?** The cell is reset and run deterministically, but nothing
    of it goes into the ledger, so `repro-verify` cannot tell whether it
    reproduced.

    ```python
    %%reproducible seed=812
    embedding = encoder.predict(x_test)
    ```

    **Use instead:**

    ```python
    %%reproducible seed=812 record=embedding
    embedding = encoder.predict(x_test)
    ```
    """
    for cell in python_cells(facts):
        if not cell.reproducible or cell.options is None or cell.options.record:
            continue
        if not any(facts.training_call(statement, facts.bound_before(statement)) for statement in statements(cell)):
            yield at(
                cell,
                None,
                "RM113",
                "this %%reproducible cell records nothing (no record= and no fit), so repro-verify has nothing of "
                "it to compare; "
                "name what it produces in record=",
            )
