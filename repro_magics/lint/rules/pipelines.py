"""tf.data pipelines whose order or draws depend on thread scheduling outside `%%reproducible`: RM104, RM105."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ..cells import Cell
from ..defuse import Facts
from ..names import calls_in, is_constant, iterated_names, method_name, root_name
from ..registry import TRAP, Finding, at, python_cells, rule, statements


@rule("RM104", "tf-data-nondeterministic", TRAP, "deterministic=False in tf.data outside %%reproducible")
def tf_data_nondeterministic(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds `deterministic=False` passed to any call
    (`Dataset.map`, `interleave`, a function of yours that passes it on) and
    `options.deterministic = False` (or `experimental_deterministic`), outside
    `%%reproducible` cells. A dataset built with it in a plain cell and iterated
    only in `%%reproducible` cells is left alone.

    **Why is this bad?** tf.data then returns the elements of a parallel stage in
    whatever order they finish, which changes from run to run. Inside
    `%%reproducible`, op determinism makes tf.data keep the order anyway (it
    applies when the dataset is iterated, not when it is built), so the rule is
    silent there.

    ```python
    ds = files.interleave(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ```

    **Use instead:**

    ```python
    ds = files.interleave(load, num_parallel_calls=tf.data.AUTOTUNE)
    ```
    """
    for cell in python_cells(facts):
        if cell.reproducible:
            continue  # op determinism makes tf.data keep the order there
        for node in facts.nodes(cell):
            if isinstance(node, ast.Call):
                for item in node.keywords:
                    if (
                        item.arg == "deterministic"
                        and is_constant(item.value, False)
                        and not (
                            method_name(node) in _TF_DATA_STAGES and _iterated_only_under_the_magic(facts, cell, item)
                        )
                    ):
                        yield at(
                            cell,
                            item.value,
                            "RM104",
                            "deterministic=False lets tf.data return elements in whatever order they finish; "
                            "drop it, or run the pipeline in a %%reproducible cell",
                        )
            elif isinstance(node, ast.Assign) and is_constant(node.value, False):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr in (
                        "deterministic",
                        "experimental_deterministic",
                    ):
                        yield at(
                            cell,
                            target,
                            "RM104",
                            f"{target.attr} = False lets tf.data return elements in whatever order they finish; "
                            "leave it True",
                        )


_TF_DATA_STAGES = {"map", "interleave", "batch", "padded_batch", "flat_map", "parallel_interleave"}


def _iterated_only_under_the_magic(facts: Facts, cell: Cell, item: ast.keyword) -> bool:
    """Whether the dataset a top-level `name = ...(deterministic=False)` makes is iterated under the magic only."""
    assert cell.tree is not None
    statement = next(
        (s for s in cell.tree.body if isinstance(s, ast.Assign) and any(n is item for n in ast.walk(s.value))), None
    )
    if statement is None:
        return False
    names = {target.id for target in statement.targets if isinstance(target, ast.Name)}
    under_the_magic = False
    for later in facts.notebook.cells[cell.number - 1 :]:
        for node in later.tree.body if later.tree is not None else []:
            if later is cell and node is statement:
                continue
            if isinstance(node, ast.Assign) and root_name(node.value) in names:
                names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if iterated_names(node) & names:
                if not later.reproducible:
                    return False
                under_the_magic = True
    return under_the_magic


def _first_name(node: ast.AST, name: str) -> ast.AST:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id == name:
            return child
    return node


@rule(
    "RM105",
    "random-parallel-map-outside",
    TRAP,
    "a stateful random op in a parallel map, iterated outside %%reproducible",
)
def random_parallel_map_outside(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds a dataset mapped with `num_parallel_calls` by a
    function that calls a stateful random op (`tf.random.normal`,
    `tf.image.random_*`, `keras.random.*`, a random layer such as `RandomFlip`, a
    call with `training=True`, a method of a `tf.random.Generator` made outside
    the function such as `rng.make_seeds(2)`), iterated (a `for` loop, `iter`, `list`, `fit`,
    `evaluate`, `predict`) in a cell without `%%reproducible`.

    **Why is this bad?** The map runs on several threads, which draw from the op's
    shared random state in whatever order they are scheduled: the same seed gives
    different augmentations on each run. Op determinism (inside `%%reproducible`)
    runs such a map in order.

    ```python
    train_ds = train_ds.map(
        lambda x, y: (x + tf.random.normal(tf.shape(x), stddev=0.05), y), num_parallel_calls=tf.data.AUTOTUNE
    )
    model.fit(train_ds, epochs=5)
    ```

    **Use instead:** iterate it in a `%%reproducible` cell, or use stateless ops
    keyed by the element:

    ```python
    %%reproducible seed=812 record=model
    model.fit(train_ds, epochs=5)
    ```
    """
    for cell in python_cells(facts):
        if cell.reproducible:
            continue
        for statement in statements(cell):
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            bound = facts.bound_before(statement)
            for name in sorted(iterated_names(statement)):
                made = bound.get(name)
                if made is not None and made.random_parallel_map is not None:
                    yield at(
                        cell,
                        _first_name(statement, name),
                        "RM105",
                        f"'{name}' runs a stateful random op in a parallel map (cell {made.cell}, line "
                        f"{made.random_parallel_map[0]}); "
                        "iterated outside %%reproducible, the threads draw in a different order each run",
                    )
            for call in calls_in(statement):
                function = facts.functions.get(call.func.id) if isinstance(call.func, ast.Name) else None
                if function is not None and function.iterates_random_parallel_map:
                    yield at(
                        cell,
                        call,
                        "RM105",
                        f"{function.name}() iterates a dataset with a stateful random op in a parallel map; "
                        "outside %%reproducible the threads draw in a different order each run",
                    )
