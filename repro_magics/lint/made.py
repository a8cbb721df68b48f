"""The objects with their own random state that the lint follows from cell to cell; what a notebook function does."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

MODEL, LAYER, OPTIMIZER, DATASET, ITERATOR, GENERATOR = (
    "model",
    "layer",
    "optimizer",
    "dataset",
    "iterator",
    "generator",
)
MODEL_CALLS = {"keras.Sequential", "keras.Model", "keras.models.Sequential", "keras.models.Model"}
MODEL_PREFIXES = ("keras.applications.", "keras_hub.models.", "keras_nlp.models.", "keras_cv.models.")
GENERATOR_CALLS = {
    "tensorflow.random.Generator",
    "tensorflow.random.Generator.from_seed",
    "tensorflow.random.Generator.from_non_deterministic_state",
    "tensorflow.random.Generator.from_state",
    "tensorflow.random.Generator.from_key_counter",
    "numpy.random.default_rng",
    "numpy.random.RandomState",
    "numpy.random.Generator",
    "random.Random",
    "keras.random.SeedGenerator",
}
DATASET_METHODS = {
    "map", "batch", "shuffle", "prefetch", "cache", "repeat", "take", "skip", "filter", "unbatch",
    "padded_batch", "interleave", "apply", "with_options", "shard", "flat_map", "concatenate",
    "rebatch", "ragged_batch", "enumerate", "window", "zip",
}  # fmt: skip


# Methods only tf.data datasets have, among the objects notebooks chain methods on.
TF_DATA_ONLY_METHODS = {"prefetch", "shuffle", "interleave", "with_options", "padded_batch", "unbatch", "rebatch"}
RANDOM_LAYER_PREFIXES = ("keras.layers.Random", "keras.layers.Dropout", "keras.layers.Gaussian",
                          "keras.layers.AlphaDropout", "keras.layers.SpatialDropout")  # fmt: skip
STATEFUL_RANDOM_OPS = (
    "tensorflow.random.normal", "tensorflow.random.uniform", "tensorflow.random.truncated_normal",
    "tensorflow.random.shuffle", "tensorflow.random.categorical", "tensorflow.random.gamma",
    "tensorflow.random.poisson", "tensorflow.nn.dropout", "tensorflow.image.random_", "keras.random.",
    "numpy.random.",
)  # fmt: skip


@dataclass(frozen=True)
class Made:
    """An object with its own random state, and the cell that made it."""

    kind: str
    cell: int
    #: A dataset mapped in parallel (`num_parallel_calls`) with a stateful random op: (line, column) of the map.
    random_parallel_map: tuple[int, int] | None = None
    #: A layer or model containing random layers (dropout, random augmentation), a shuffled dataset.
    draws_randomness: bool = False
    #: Made by a function that draws only when this parameter of it is true (`if training: ds = ds.shuffle(...)`).
    random_when: str | None = None


@dataclass
class FunctionFacts:
    name: str
    cell: int
    node: ast.FunctionDef | ast.AsyncFunctionDef
    returns: Made | None = None
    trains: bool = False
    stateful_random: bool = False
    #: It builds a dataset with a stateful random parallel map and iterates it itself.
    iterates_random_parallel_map: bool = False
    entropy: bool = False
    jit_compile_true: list[ast.keyword] = field(default_factory=list)
