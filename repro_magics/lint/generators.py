"""The global generators a notebook draws from, what resets them, and the calls that draw from them.

Python's `random` (from which Keras draws the seeds of its initializers, random
layers and `SeedGenerator`s), NumPy's global state, TensorFlow's global seed and
PyTorch's default generator: `order.py` follows them through the notebook.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .defuse import Facts
from .names import is_constant, keyword

PYTHON, NUMPY, TENSORFLOW, TORCH = "python", "numpy", "tensorflow", "torch"
#: A library that shuffles with a seed it takes from one of Python's, NumPy's or TensorFlow's global
#: generators (which one is its own business): reset only once all three are.
ANY = "any"
FAMILIES = frozenset({PYTHON, NUMPY, TENSORFLOW, TORCH, ANY})
KERAS_FAMILIES = frozenset({PYTHON, NUMPY, TENSORFLOW})
FAMILY_WORDS = {
    PYTHON: "Python's global random generator (Keras draws the seeds of initializers and random layers from it)",
    NUMPY: "NumPy's global generator",
    TENSORFLOW: "TensorFlow's global seed",
    TORCH: "PyTorch's default generator",
    ANY: "a global generator (the library takes its shuffling seed from Python's, NumPy's or TensorFlow's)",
}
RESET_HINT = {
    PYTHON: "keras.utils.set_random_seed(...) or a %%reproducible cell",
    NUMPY: "keras.utils.set_random_seed(...), np.random.seed(...) or a %%reproducible cell",
    TENSORFLOW: "keras.utils.set_random_seed(...) or a %%reproducible cell",
    TORCH: "torch.manual_seed(...) or a %%reproducible cell",
    ANY: "keras.utils.set_random_seed(...) or a %%reproducible cell",
}
#: Calls that reset global generators, given a seed.
RESETS: dict[str, frozenset[str]] = {
    "keras.utils.set_random_seed": FAMILIES,
    "random.seed": frozenset({PYTHON}),
    "numpy.random.seed": frozenset({NUMPY}),
    "tensorflow.random.set_seed": frozenset({TENSORFLOW}),
    "torch.manual_seed": frozenset({TORCH}),
    "torch.random.manual_seed": frozenset({TORCH}),
    "lightning.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "pytorch_lightning.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
    "lightning.pytorch.seed_everything": frozenset({PYTHON, NUMPY, TORCH}),
}
PYTHON_DRAWS = {
    "random", "randint", "choice", "choices", "shuffle", "sample", "uniform", "gauss", "randrange", "getrandbits",
    "normalvariate", "triangular", "betavariate", "expovariate", "lognormvariate", "vonmisesvariate",
    "paretovariate", "weibullvariate", "randbytes", "binomialvariate", "gammavariate",
}  # fmt: skip
NUMPY_NOT_DRAWS = {
    "default_rng", "RandomState", "Generator", "SeedSequence", "PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64",
    "BitGenerator", "seed", "get_state", "set_state", "get_bit_generator", "set_bit_generator",
}  # fmt: skip
TF_DRAWS = {
    "tensorflow.random.normal", "tensorflow.random.uniform", "tensorflow.random.truncated_normal",
    "tensorflow.random.shuffle", "tensorflow.random.categorical", "tensorflow.random.gamma",
    "tensorflow.random.poisson", "tensorflow.nn.dropout",
}  # fmt: skip
#: Names in tf.random that make generators, seeds or stateless draws rather than draw from the global seed.
_TF_RANDOM_NOT_DRAWS = {
    "set_seed", "Generator", "get_global_generator", "set_global_generator", "create_rng_state", "Algorithm",
    "experimental", "fold_in", "split",
}  # fmt: skip


def is_tf_random_op(module: str, last: str) -> bool:
    """A stateful op of `tf.random` (`tf.random.log_uniform_candidate_sampler`...): it takes its seed from the
    global one unless given `seed=`. Stateless ops and `tf.random.experimental` are not draws."""
    return module == "tensorflow.random" and last not in _TF_RANDOM_NOT_DRAWS and not last.startswith("stateless")


TORCH_DRAWS = {
    "randn", "rand", "randint", "randperm", "normal", "bernoulli", "multinomial", "rand_like", "randn_like",
    "randint_like", "poisson",
}  # fmt: skip
#: Keras layers that create no initializer and no seed generator when made.
KERAS_LAYERS_WITHOUT_DRAWS = {
    "Input", "InputLayer", "Flatten", "Reshape", "Permute", "Activation", "ReLU", "Softmax", "LeakyReLU", "ELU",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
    "AveragePooling2D", "AveragePooling3D", "Concatenate", "Add", "Multiply", "Subtract", "Average", "Maximum",
    "Minimum", "Dot", "Rescaling", "Normalization", "CenterCrop", "Resizing", "TextVectorization", "StringLookup",
    "IntegerLookup", "Hashing", "CategoryEncoding", "Discretization", "Lambda", "Masking", "Cropping1D",
    "Cropping2D", "Cropping3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "UpSampling1D", "UpSampling2D",
    "UpSampling3D", "RepeatVector", "Identity", "Pipeline",
}  # fmt: skip
TORCH_MODULES_WITH_WEIGHTS = (
    "Linear", "Bilinear", "LazyLinear", "Conv", "LazyConv", "Embedding", "RNN", "LSTM", "GRU",
    "MultiheadAttention", "Transformer",
)  # fmt: skip
SKLEARN_SPLITS = ("train_test_split", "sklearn.utils.shuffle", "sklearn.utils.resample")
#: scikit-learn classes that draw from NumPy's global generator when `random_state` is left at None
#: (the splitters that shuffle only when `shuffle=True`).
SKLEARN_SHUFFLING_SPLITTERS = {"KFold", "StratifiedKFold", "GroupKFold"}
SKLEARN_RANDOM_CLASSES = {
    "ShuffleSplit", "StratifiedShuffleSplit", "GroupShuffleSplit", "RepeatedKFold", "RepeatedStratifiedKFold",
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor", "KMeans", "MiniBatchKMeans", "TSNE",
    "MLPClassifier", "MLPRegressor", "SGDClassifier", "SGDRegressor", "IsolationForest", "BaggingClassifier",
    "BaggingRegressor", "RandomizedSearchCV",
}  # fmt: skip


@dataclass(frozen=True)
class Draw:
    """A draw from a global generator (or an object made from one), at a node."""

    family: str
    node: ast.AST
    #: What draws, in the user's words: `np.random.permutation()`, `keras.layers.Dense(...) (its initializer)`.
    what: str
    #: In a function's body, the parameter an `if <parameter>:` around the draw tests.
    only_if: str | None = None


def draw_words(node: ast.Call) -> str:
    text = ast.unparse(node.func)
    return f"{text[:60]}()"


def keras_backend(facts: Facts) -> str:
    """The Keras backend the notebook sets (`KERAS_BACKEND`), TensorFlow when it sets none."""
    for nodes in (facts.nodes(cell) for cell in facts.notebook.cells):
        for node in nodes:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and facts.resolve(target.value) == "os.environ"
                        and is_constant_text(target.slice, "KERAS_BACKEND")
                    ):
                        return str(node.value.value)
    return "tensorflow"


def is_given(call: ast.Call, name: str) -> bool:
    value = keyword(call, name)
    return value is not None and not is_constant(value, None)


#: tf.data functions that shuffle or sample at random unless told not to, with the keyword that seeds them.
RANDOM_UNLESS_SEEDED = {
    "tensorflow.data.experimental.make_csv_dataset": "shuffle_seed",
    "tensorflow.data.experimental.make_batched_features_dataset": "shuffle_seed",
    "tensorflow.data.Dataset.list_files": "seed",
    "tensorflow.data.Dataset.sample_from_datasets": "seed",
    "tensorflow.data.experimental.sample_from_datasets": "seed",
    "tensorflow.data.Dataset.random": "seed",
}
#: Keywords that give a call its own seed or generator.
_SEED_KEYWORDS = ("seed", "random_state", "generator", "rng", "key")


def shuffles_unseeded(name: str, call: ast.Call) -> bool:
    """A library function called with `shuffle=True` and nothing that seeds it (`keras.utils.split_dataset`):
    it draws its shuffling seed from a global generator. PyTorch's loaders draw when iterated (RM116)."""
    if not name or name.startswith(("torch", "sklearn.", "numpy.", "random.")) or "." not in name:
        return False
    if not is_constant(keyword(call, "shuffle"), True):
        return False
    return not any(
        item.arg is not None and any(word in item.arg for word in _SEED_KEYWORDS) and not is_constant(item.value, None)
        for item in call.keywords
    )


def is_constant_text(node: ast.AST, text: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == text
