"""The rules: each a small function from a notebook's facts to findings, with a code and a docs anchor."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .cells import Cell
from .defuse import (
    DATASET,
    GENERATOR,
    ITERATOR,
    LAYER,
    MODEL,
    OPTIMIZER,
    Facts,
    Made,
    calls_in,
    iterated_names,
    jit_compile_true,
)
from .names import is_constant, keyword, method_name, root_name
from .order_rules import loaders_with_random_workers
from .registry import ADVICE, TRAP, Finding, at, rule
from .seeds import SEEDING_CALLS, entropy_seeds
from .workers import class_items_draw, instances_of_drawing_classes


def python_cells(facts: Facts) -> Iterator[Cell]:
    """The cells read as Python (not those of another language or with a syntax error)."""
    return (cell for cell in facts.notebook.cells if cell.tree is not None)


def statements(cell: Cell) -> list[ast.stmt]:
    return cell.tree.body if cell.tree is not None else []


def _source(node: ast.AST) -> str:
    return ast.unparse(node)


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
                f"{_source(call.func)}() without a seed draws fresh entropy on every run; pass a seed",
            )
    yield from entropy_seeds(facts)


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


def _assigned_names(node: ast.AST) -> list[str]:
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    names: list[str] = []
    for target in targets:
        names.extend(child.id for child in ast.walk(target) if isinstance(child, ast.Name))
    return names


_MUTATING_METHODS = {"append", "extend", "update", "insert", "add", "setdefault"}


def _self_attribute(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
        return node.attr
    return None


def _entropy_attributes(facts: Facts) -> dict[str, tuple[int, dict[str, ast.AST]]]:
    """For each notebook class, the attributes its methods fill from the clock or fresh entropy (a callback
    keeping `self.times.append(time.time() - self.start)`), and the class's cell: {class: (cell, {attr: call})}."""
    found: dict[str, tuple[int, dict[str, ast.AST]]] = {}
    for cell in facts.notebook.cells:
        for node in cell.tree.body if cell.tree is not None else []:
            if not isinstance(node, ast.ClassDef) or facts.entropy_call(node) is None:
                continue
            attributes: dict[str, ast.AST] = {}
            for _ in range(2):  # an attribute computed from another one filled in an earlier method
                for child in ast.walk(node):
                    targets: list[str | None] = []
                    values: list[ast.AST] = []
                    if isinstance(child, ast.Assign | ast.AugAssign) and child.value is not None:
                        targets = [
                            _self_attribute(t) for t in getattr(child, "targets", [getattr(child, "target", None)])
                        ]
                        values = [child.value]
                    elif isinstance(child, ast.Call) and method_name(child) in _MUTATING_METHODS:
                        targets = [_self_attribute(child.func.value)] if isinstance(child.func, ast.Attribute) else []
                        values = [*child.args, *(k.value for k in child.keywords)]
                    for value in values:
                        origin = facts.entropy_call(value) or next(
                            (attributes[a] for n in ast.walk(value) if (a := _self_attribute(n)) in attributes), None
                        )
                        if origin is not None:
                            attributes.update({target: origin for target in targets if target is not None})
            if attributes:
                found[node.name] = (cell.number, attributes)
    return found


@rule("RM103", "entropy-recorded", TRAP, "the clock, a uuid, os.urandom or secrets feeding a recorded value")
def entropy_recorded(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Follows values read from the clock (`time.time()`,
    `datetime.now()`...), `uuid.uuid1/uuid4()`, `os.urandom()`, `os.getpid()` and
    `secrets` through assignments and `append`/`update` calls, also into the
    attributes of an object of a notebook class (a callback that keeps
    `self.times.append(time.time() - self.start)`), and reports a
    `%%reproducible` cell whose `record=` names one of them.

    **Why is this bad?** The recorded value differs on every run, so
    `repro-verify` reports the notebook as diverged although the model is
    reproducible.

    ```python
    %%reproducible seed=1 record=results
    started = time.time()
    history = model.fit(x, y, epochs=3, verbose=0)
    results = {"val_accuracy": history.history["val_accuracy"][-1], "seconds": time.time() - started}
    ```

    **Use instead:** record what the cell computes, and print or log the rest.

    ```python
    %%reproducible seed=1 record=results
    started = time.time()
    history = model.fit(x, y, epochs=3, verbose=0)
    results = {"val_accuracy": history.history["val_accuracy"][-1]}
    print(f"{time.time() - started:.1f} s")
    ```
    """
    # name -> (cell number, node) where a value read from the clock or fresh entropy came in
    tainted: dict[str, tuple[int, ast.AST]] = {}
    recording = any(
        cell.reproducible and cell.options is not None and cell.options.record for cell in python_cells(facts)
    )
    classes = _entropy_attributes(facts) if recording else {}
    # name -> the class with entropy-filled attributes it is an instance of
    instances: dict[str, str] = {}
    for cell in python_cells(facts):
        for node in facts.executed(cell):
            value = getattr(node, "value", None)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                made = node.value.func.id if isinstance(node.value.func, ast.Name) else None
                for target in node.targets:
                    if isinstance(target, ast.Name) and made in classes:
                        instances[target.id] = made
                    elif isinstance(target, ast.Name):
                        instances.pop(target.id, None)
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and value is not None:
                origin = _taint_origin(facts, value, tainted, cell)
                if origin is None and instances:
                    origin = _instance_origin(value, instances, classes)
                for name in _assigned_names(node):
                    if origin is not None:
                        tainted[name] = origin
                    elif isinstance(node, ast.Assign):
                        tainted.pop(name, None)
            elif isinstance(node, ast.Call) and method_name(node) in _MUTATING_METHODS:
                receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
                if isinstance(receiver, ast.Name):
                    for argument in [*node.args, *(k.value for k in node.keywords)]:
                        origin = _taint_origin(facts, argument, tainted, cell)
                        if origin is not None:
                            tainted[receiver.id] = origin
        if cell.reproducible and cell.options is not None:
            for name in cell.options.record:
                if name in tainted:
                    origin_cell, entropy = tainted[name]
                    where = (
                        ""
                        if origin_cell == cell.number
                        else f" (in cell {origin_cell}, line {getattr(entropy, 'lineno', 1)})"
                    )
                    yield at(
                        cell,
                        entropy if origin_cell == cell.number else None,
                        "RM103",
                        f"recorded value '{name}' comes from {_source(entropy)}{where}, which differs on every run; "
                        "record what does not depend on the clock or fresh entropy",
                    )


def _instance_origin(
    value: ast.AST, instances: dict[str, str], classes: dict[str, tuple[int, dict[str, ast.AST]]]
) -> tuple[int, ast.AST] | None:
    """`callback.times`, where `callback` is an instance of a class that fills `times` from the clock."""
    for node in ast.walk(value):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in instances:
            cell, attributes = classes[instances[node.value.id]]
            if node.attr in attributes:
                return cell, attributes[node.attr]
    return None


#: Keyword arguments that name where to write or log, not values a result is computed from.
_NOT_DATA_KEYWORDS = {"callbacks", "log_dir", "filepath", "name", "path", "directory", "logdir"}


def _taint_origin(
    facts: Facts, value: ast.AST, tainted: dict[str, tuple[int, ast.AST]], cell: Cell
) -> tuple[int, ast.AST] | None:
    """Where the clock or fresh entropy reaches `value`; not through a seed (RM101's) nor a log folder's name."""
    pending: list[ast.AST] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Call):
            if (facts.resolve(node.func) or "") in SEEDING_CALLS:
                continue
            if facts.entropy_call(node) is node:
                return cell.number, node
            pending.append(node.func)
            pending.extend(node.args)
            pending.extend(item.value for item in node.keywords if item.arg not in _NOT_DATA_KEYWORDS)
            continue
        if isinstance(node, ast.Name) and node.id in tainted:
            return tainted[node.id]
        pending.extend(ast.iter_child_nodes(node))
    return None


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
                        f"{_source(call.func)}() trains outside %%reproducible: its result depends on every random "
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


def _positive_or_unknown(node: ast.AST, above: int) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool) and node.value > above
    return not (isinstance(node, ast.UnaryOp))


@rule("RM110", "random-draws-in-workers", TRAP, "random draws in data-loading workers, or results taken as they finish")
def random_draws_in_workers(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds data loading in several threads or processes where
    what is loaded is drawn at random:

    - a Keras `PyDataset` made or trained with `workers=` above 1 (or not a
      literal) or `use_multiprocessing=True`, whose `__getitem__` (or a method it
      calls) draws random numbers (`np.random.*`, `random.*`, `tf.random.*`,
      `keras.random.*`, a random layer, a call with `training=True`, or a
      generator made once and shared by the workers: `self.rng.normal(...)` after
      `self.rng = np.random.default_rng(0)`, or a notebook-level `rng`);
    - a PyTorch `DataLoader` with `num_workers` above 0 over a dataset that draws
      (a class of yours whose `__getitem__` draws, a `transforms.Random*`), without
      `generator=`, iterated before any torch reset;
    - `concurrent.futures.as_completed()` and `Pool.imap_unordered()`.

    A `PyDataset` whose `__getitem__` draws nothing is left alone: Keras'
    `OrderedEnqueuer` hands the batches to `fit` in index order, whatever the
    order the threads finish in.

    **Why is this bad?** The worker threads call `__getitem__` at the same time
    and draw from one shared global generator in whatever order the threads are
    scheduled, so the same seed gives each batch other numbers on each run
    (worker processes each draw from a copy of the parent's state, in the order
    the pool hands them indices). PyTorch's workers seed themselves from a base
    seed drawn from the default generator; before any reset that is fresh
    entropy. Results collected as they complete come in a different order on
    each run. See [Limits](limits.md#keras-random-calls-in-worker-threads).

    ```python
    class Noisy(keras.utils.PyDataset):
        def __getitem__(self, idx):
            batch = self.x[idx * 64 : (idx + 1) * 64]
            return batch + np.random.normal(0, 0.05, batch.shape), self.y[idx * 64 : (idx + 1) * 64]


    model.fit(Noisy(x, y, workers=4), epochs=10)
    ```

    **Use instead:** draw from a generator keyed by the batch index (or use one
    worker):

    ```python
    rng = np.random.default_rng(idx)
    return batch + rng.normal(0, 0.05, batch.shape), labels
    ```
    """
    drawing = instances_of_drawing_classes(facts)
    for cell in python_cells(facts):
        for call in facts.calls(cell):
            items = _drawing_items(facts, call, drawing)
            for item in call.keywords:
                parallel = (item.arg == "workers" and _positive_or_unknown(item.value, 1)) or (
                    item.arg == "use_multiprocessing" and is_constant(item.value, True)
                )
                if parallel and items is not None:
                    yield at(
                        cell,
                        item.value,
                        "RM110",
                        f"{item.arg}={_source(item.value)}: {items}.__getitem__ draws random numbers, and the workers "
                        "draw from the shared generator in whatever order they run (Keras keeps the batches' order, "
                        "not the draws'); draw from a generator keyed by the batch index, e.g. "
                        "np.random.default_rng(idx), or use workers=1",
                    )
            name = facts.resolve(call.func) or ""
            if name.endswith("as_completed") or method_name(call) == "imap_unordered":
                yield at(
                    cell,
                    call,
                    "RM110",
                    f"{_source(call.func)}() yields results in the order the workers finish, which changes from run "
                    "to run; "
                    "collect them in submission order",
                )
    yield from loaders_with_random_workers(facts)


def _drawing_items(facts: Facts, call: ast.Call, drawing: dict[str, str]) -> str | None:
    """The notebook class whose drawing `__getitem__` this call makes or trains on, if any."""
    if isinstance(call.func, ast.Name) and class_items_draw(facts, call.func.id):
        return call.func.id
    if method_name(call) in ("fit", "evaluate", "predict", "fit_generator"):
        source = call.args[0] if call.args else keyword(call, "x")
        if isinstance(source, ast.Name) and source.id in drawing:
            return drawing[source.id]
        if isinstance(source, ast.Call) and method_name(source) in (
            "flow",
            "flow_from_directory",
            "flow_from_dataframe",
        ):
            # ImageDataGenerator's random transforms draw from NumPy's global generator in each worker thread.
            return f"{_source(source.func)}(...)"
    return None


_STRING_METHODS = {
    "split",
    "lower",
    "upper",
    "strip",
    "title",
    "replace",
    "listdir",
    "glob",
    "iterdir",
    "keys",
    "decode",
}
_ORDERING_CALLS = {
    "list",
    "tuple",
    "enumerate",
    "zip",
    "iter",
    "next",
    "array",
    "asarray",
    "join",
    "fromkeys",
    "Series",
    "constant",
    "StringLookup",
}


def _is_string_set(node: ast.AST, string_sets: set[str], string_lists: frozenset[str] = frozenset()) -> bool:
    if isinstance(node, ast.Set):
        return any(isinstance(e, ast.Constant) and isinstance(e.value, str | bytes) for e in node.elts)
    if isinstance(node, ast.Name):
        return node.id in string_sets
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.Sub):
        return _is_string_set(node.left, string_sets) or _is_string_set(node.right, string_sets)
    if isinstance(node, ast.SetComp):
        return _mentions_strings(node, string_sets)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
        return any(_mentions_strings(arg, string_sets | string_lists) for arg in node.args)
    if (
        isinstance(node, ast.Call)
        and method_name(node) in ("union", "intersection", "difference")
        and isinstance(node.func, ast.Attribute)
    ):
        return _is_string_set(node.func.value, string_sets)
    return False


def _mentions_strings(node: ast.AST, string_sets: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            return True
        if isinstance(child, ast.JoinedStr):
            return True
        if isinstance(child, ast.Call) and (
            method_name(child) in _STRING_METHODS or (isinstance(child.func, ast.Name) and child.func.id == "str")
        ):
            return True
        if isinstance(child, ast.Name) and child.id in string_sets:
            return True
    return False


@rule("RM111", "string-set-order", TRAP, "iterating a set of strings into an ordered result")
def string_set_order(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Finds a set of strings (a set literal of strings; `set()` of
    split, lowered or listed names, or of a list of strings such as
    `words = text.split()`; a name bound to one) iterated into something
    ordered: a `for` loop, a comprehension, `enumerate`, `list`, `zip`, `join`,
    `np.array`, unpacking with `*`. Sorting it first (`sorted(s)`) is the fix, and
    membership tests and `len` are fine.

    **Why is this bad?** The order of a set of strings depends on the string hash,
    which Python randomises per process unless `PYTHONHASHSEED` is fixed when the
    kernel starts: label ids, vocabularies and column orders change from kernel to
    kernel.

    ```python
    species = {"cat", "dog", "bird"}
    label_ids = {name: index for index, name in enumerate(species)}
    ```

    **Use instead:**

    ```python
    label_ids = {name: index for index, name in enumerate(sorted(species))}
    ```
    """
    string_sets: set[str] = set()
    #: Names bound to a list of strings (`words = text.split()`): a set made of one is a set of strings.
    string_lists: set[str] = set()
    for cell in python_cells(facts):
        parents = facts.parents(cell)
        for node in facts.executed(cell):
            sources: list[ast.AST] = []
            if isinstance(node, ast.For | ast.comprehension):
                sources = [node.iter]
            elif isinstance(node, ast.Starred) and not isinstance(parents.get(node), ast.Set):
                sources = [node.value]
            elif isinstance(node, ast.Call):
                callee = node.func.id if isinstance(node.func, ast.Name) else method_name(node)
                if callee in _ORDERING_CALLS and not _inside_sorted(node, parents):
                    sources = list(node.args)
            for source in sources:
                if _is_string_set(source, string_sets, frozenset(string_lists)) and not (
                    isinstance(node, ast.comprehension) and isinstance(parents.get(node), ast.SetComp)
                ):
                    yield at(
                        cell,
                        source,
                        "RM111",
                        f"iterating the set {_source(source)!s:.40} gives an order that changes with PYTHONHASHSEED "
                        "from kernel to kernel; "
                        "iterate sorted(...) instead",
                    )
            if isinstance(node, ast.Assign):
                for name in _assigned_names(node):
                    if _is_string_set(node.value, string_sets, frozenset(string_lists)):
                        string_sets.add(name)
                    else:
                        string_sets.discard(name)
                    if _is_string_list(node.value):
                        string_lists.add(name)
                    else:
                        string_lists.discard(name)


def _is_string_list(node: ast.AST) -> bool:
    """A list of strings: a literal of strings, or what `str.split()` / `splitlines()` / `readlines()` return."""
    if isinstance(node, ast.List | ast.Tuple):
        return bool(node.elts) and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return isinstance(node, ast.Call) and method_name(node) in ("split", "splitlines", "readlines")


def _inside_sorted(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in ("sorted", "set", "frozenset", "len")
    )


def _loads_extension(facts: Facts, cell: Cell) -> bool:
    if any(m.name in ("load_ext", "reload_ext") and "repro_magics" in m.arguments.split() for m in cell.line_magics):
        return True
    if cell.tree is None:
        return False
    for call in facts.calls(cell):
        arguments = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
        if method_name(call) == "run_line_magic" and "repro_magics" in " ".join(map(str, arguments)):
            return True
        if (facts.resolve(call.func) or "").endswith("repro_magics.load_ipython_extension"):
            return True
    return False


@rule("RM112", "extension-not-loaded", TRAP, "%%reproducible before %load_ext repro_magics")
def extension_not_loaded(facts: Facts) -> Iterator[Finding]:
    """
    **What it does.** Reports the first `%%reproducible` cell when no earlier cell
    runs `%load_ext repro_magics` and the notebook's kernel is not the
    reproducible one (kernel spec name `repro-python3`).

    **Why is this bad?** Run from the top in a fresh kernel, the cell fails with
    "Cell magic `%%reproducible` not found".

    **Use instead:** `%load_ext repro_magics` in the first cell, or the
    "Python 3 (reproducible)" kernel.
    """
    if facts.notebook.kernel_name == "repro-python3":
        return
    loaded = False
    for cell in facts.notebook.cells:
        if cell.reproducible and not loaded:
            yield at(
                cell,
                None,
                "RM112",
                "%%reproducible before %load_ext repro_magics: run from the top, this cell fails with 'Cell magic "
                "not found'; "
                "add %load_ext repro_magics to an earlier cell",
            )
            return
        loaded = loaded or _loads_extension(facts, cell)


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
