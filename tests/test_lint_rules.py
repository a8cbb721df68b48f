"""Each repro-lint rule on a notebook with its trap (reported, at the place) and with the fix (silent)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import write_notebook

from repro_magics.lint import RULES, Finding, lint_path

LOAD = "%load_ext repro_magics\nimport numpy as np\nimport tensorflow as tf\nimport keras"
MODEL = (
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.5), keras.layers.Dense(1)])\n"
    'model.compile("adam", "mse")'
)


TORCH = "import torch\nfrom torch import nn\nfrom torch.utils.data import DataLoader\ndata = torch.ones(8, 2)"
PYDATASET = (
    "class Batches(keras.utils.PyDataset):\n"
    "    def __len__(self):\n"
    "        return 4\n\n"
    "    def __getitem__(self, idx):\n"
    "        x = np.ones((2, 4))\n"
    "{draw}"
    "        return x, np.ones(2)"
)
NOISE_FROM_GLOBAL = "        x = x + np.random.normal(size=x.shape)\n"
NOISE_KEYED = "        x = x + np.random.default_rng(idx).normal(size=x.shape)\n"
NOISY_TORCH_DATASET = (
    "import random\n\n\nclass Noisy(torch.utils.data.Dataset):\n"
    "    def __len__(self):\n        return 8\n\n"
    "    def __getitem__(self, i):\n        return torch.ones(2) * random.random()"
)
#: Resuming from what is in the folder before the fit that writes it: the second run finds the first run's files.
CHECKPOINTS = (
    "folder = {folder}\n"
    "import os\n\n"
    "names = sorted(os.listdir(folder))\n"
    "model.fit(np.ones((8, 4)), np.ones(8), callbacks=[keras.callbacks.ModelCheckpoint(folder + '/m.keras')])"
)


@dataclass(frozen=True)
class Case:
    code: str
    trap: tuple[str, ...]
    fixed: tuple[str, ...]
    #: (cell, line, column) of the finding in `trap`.
    where: tuple[int, int, int]


CASES = [
    Case(
        "RM101",
        ("import numpy as np\nrng = np.random.default_rng()",),
        ("import numpy as np\nrng = np.random.default_rng(42)",),
        (1, 2, 7),
    ),
    Case("RM101", ("import random\nr = random.Random()",), ("import random\nr = random.Random(3)",), (1, 2, 5)),
    Case(
        "RM101",
        ("from numpy.random import RandomState\nstate = RandomState(seed=None)",),
        ("from numpy.random import RandomState\nstate = RandomState(seed=7)",),
        (1, 2, 9),
    ),
    Case(
        "RM102",
        ("import tensorflow as tf\ng = tf.random.Generator.from_non_deterministic_state()",),
        ("import tensorflow as tf\ng = tf.random.Generator.from_seed(1)",),
        (1, 2, 5),
    ),
    Case(
        "RM103",
        (LOAD, "%%reproducible seed=1 record=stamp\nimport time\nstamp = {'t': time.time()}"),
        (LOAD, "%%reproducible seed=1 record=stamp\nimport time\nstamp = {'t': 1.0}\nprint(time.time())"),
        (2, 3, 15),
    ),
    Case(
        "RM104",
        (
            "import tensorflow as tf\n"
            "ds = tf.data.Dataset.range(9).map(tf.square, num_parallel_calls=4, deterministic=False)",
        ),
        ("import tensorflow as tf\nds = tf.data.Dataset.range(9).map(tf.square, num_parallel_calls=4)",),
        (1, 2, 82),
    ),
    Case(
        "RM105",
        (
            "import tensorflow as tf\n"
            "ds = tf.data.Dataset.range(9).map(lambda x: x + tf.random.uniform([], 0, 9, tf.int64),\n"
            "                                  num_parallel_calls=4)",
            "values = [int(x) for x in ds]",
        ),
        (
            "import tensorflow as tf\n"
            "ds = tf.data.Dataset.range(9).map(lambda x: x + tf.random.uniform([], 0, 9, tf.int64))",
            "values = [int(x) for x in ds]",
        ),
        (2, 1, 27),
    ),
    Case(
        "RM106",
        (
            LOAD,
            "dropout = keras.layers.Dropout(0.5)",
            "%%reproducible seed=1 record=out\nout = dropout(np.ones((1, 8)), training=True)",
        ),
        (
            LOAD,
            "dropout = keras.layers.Dropout(0.5)",
            "%%reproducible seed=1 record=out\n"
            "dropout = keras.layers.Dropout(0.5)\n"
            "out = dropout(np.ones((1, 8)), training=True)",
        ),
        (3, 2, 7),
    ),
    Case(
        "RM106",
        (
            LOAD,
            "batches = iter(tf.data.Dataset.range(10).batch(2))",
            "%%reproducible seed=1 record=batch\nbatch = next(batches)",
        ),
        (
            LOAD,
            "batches = iter(tf.data.Dataset.range(10).batch(2))",
            "%%reproducible seed=1 record=batch\nbatch = next(iter(tf.data.Dataset.range(10).batch(2)))",
        ),
        (3, 2, 14),
    ),
    Case(
        "RM107",
        (LOAD, MODEL, "history = model.fit(np.ones((8, 4)), np.ones(8), epochs=2)"),
        (LOAD, MODEL, "%%reproducible seed=1\nhistory = model.fit(np.ones((8, 4)), np.ones(8), epochs=2)"),
        (3, 1, 11),
    ),
    Case(
        "RM107",
        (LOAD, MODEL, "for step in range(3):\n    optimizer.apply_gradients(zip(grads, model.trainable_variables))"),
        (
            LOAD,
            MODEL,
            "%%reproducible seed=1 record=model\n"
            "for step in range(3):\n"
            "    optimizer.apply_gradients(zip(grads, model.trainable_variables))",
        ),
        (3, 2, 5),
    ),
    Case(
        "RM108",
        (
            LOAD,
            "%%reproducible seed=1 record=model\n" + MODEL.replace('"mse")', '"mse", jit_compile=True)'),
        ),
        (
            LOAD,
            "%%reproducible seed=1 record=model\n" + MODEL.replace('"mse")', '"mse", jit_compile=False)'),
        ),
        (2, 3, 42),
    ),
    Case(
        "RM109",
        ("import os\nos.environ['PYTHONHASHSEED'] = '0'",),
        ("import os\nos.environ['KERAS_BACKEND'] = 'tensorflow'",),
        (1, 2, 1),
    ),
    Case("RM109", ("%env TF_DETERMINISTIC_OPS=1",), ("%env TF_CPP_MIN_LOG_LEVEL=2",), (1, 1, 1)),
    Case(
        "RM110",
        (LOAD, MODEL, PYDATASET.format(draw=NOISE_FROM_GLOBAL), "%%reproducible seed=1\nmodel.fit(Batches(workers=4))"),
        (LOAD, MODEL, PYDATASET.format(draw=NOISE_KEYED), "%%reproducible seed=1\nmodel.fit(Batches(workers=4))"),
        (4, 2, 27),
    ),
    Case(
        "RM110",
        (TORCH, NOISY_TORCH_DATASET, "loader = DataLoader(Noisy(), num_workers=2)\nmeans = [b.mean() for b in loader]"),
        (
            TORCH,
            NOISY_TORCH_DATASET,
            "loader = DataLoader(Noisy(), num_workers=2, generator=torch.Generator().manual_seed(0))\n"
            "means = [b.mean() for b in loader]",
        ),
        (3, 1, 10),
    ),
    Case(
        "RM111",
        ("species = {'cat', 'dog', 'bird'}\nlabel_ids = {name: i for i, name in enumerate(species)}",),
        ("species = {'cat', 'dog', 'bird'}\nlabel_ids = {name: i for i, name in enumerate(sorted(species))}",),
        (1, 2, 47),
    ),
    Case(
        "RM112",
        ("import numpy as np", "%%reproducible seed=1 record=x\nx = np.ones(3)"),
        ("%load_ext repro_magics", "%%reproducible seed=1 record=x\nx = np.ones(3)"),
        (2, 1, 1),
    ),
    Case(
        "RM113",
        (LOAD, "%%reproducible seed=1\nx = np.random.rand(3)"),
        (LOAD, "%%reproducible seed=1 record=x\nx = np.random.rand(3)"),
        (2, 1, 1),
    ),
    Case(
        "RM114",
        (LOAD, "idx = np.random.permutation(10)"),
        (LOAD, "np.random.seed(0)\nidx = np.random.permutation(10)"),
        (2, 1, 7),
    ),
    Case("RM114", (LOAD, MODEL), (LOAD, "keras.utils.set_random_seed(1)\n" + MODEL), (2, 1, 46)),
    Case(
        "RM114",
        (LOAD, MODEL, "keras.utils.set_random_seed(1)"),
        (LOAD, "%%reproducible seed=1 record=n\n" + MODEL + "\nn = 1", MODEL),
        (2, 1, 46),
    ),
    Case("RM114", (TORCH, "w = torch.randn(3)"), (TORCH, "torch.manual_seed(0)\nw = torch.randn(3)"), (2, 1, 5)),
    Case(
        "RM114",
        (TORCH, "def init():\n    return nn.Linear(4, 2)", "net = init()\ntorch.manual_seed(0)"),
        (TORCH, "def reset():\n    torch.manual_seed(0)", "reset()\nnet = nn.Linear(4, 2)"),
        (3, 1, 7),
    ),
    Case(
        "RM114",
        (LOAD, "ds = tf.data.Dataset.range(9).shuffle(9)"),
        (LOAD, "ds = tf.data.Dataset.range(9).shuffle(9, seed=1)"),
        (2, 1, 6),
    ),
    Case(
        "RM115",
        (LOAD, MODEL, CHECKPOINTS.format(folder='"./ckpt"')),
        (LOAD, MODEL, "import tempfile\n" + CHECKPOINTS.format(folder="tempfile.mkdtemp()")),
        (3, 4, 16),
    ),
    Case(
        "RM116",
        (TORCH, "loader = DataLoader(data, shuffle=True)", "first = next(iter(loader))"),
        (TORCH, "loader = DataLoader(data, shuffle=True)", "torch.manual_seed(0)\nfirst = next(iter(loader))"),
        (2, 1, 10),
    ),
    Case(
        "RM117",
        (TORCH, "torch.backends.cudnn.benchmark = True"),
        (TORCH, "torch.backends.cudnn.benchmark = False"),
        (2, 1, 1),
    ),
    Case(
        "RM101",
        ("import time\nimport jax\nkey = jax.random.PRNGKey(int(time.time()))",),
        ("import time\nimport jax\nkey = jax.random.PRNGKey(0)\nprint(time.time())",),
        (1, 3, 7),
    ),
    Case(
        "RM101",
        (LOAD, "import time\nseed = time.time_ns() % 1000", "keras.utils.set_random_seed(seed)"),
        (LOAD, "import time\nseed = 1000", "keras.utils.set_random_seed(seed)"),
        (3, 1, 1),
    ),
]


def _lint(tmp_path: Path, sources: tuple[str, ...]) -> list[Finding]:
    return lint_path(write_notebook(tmp_path / "nb.ipynb", *sources), select=["ALL"])


def _case_id(case: Case) -> str:
    return f"{case.code}-{case.where[0]}-{case.where[1]}-{case.where[2]}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_when_a_notebook_has_the_trap_then_the_rule_reports_it_where_it_is(tmp_path: Path, case: Case) -> None:
    found = [(f.cell, f.line, f.column) for f in _lint(tmp_path, case.trap) if f.code == case.code]
    assert found == [case.where]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_when_the_trap_is_fixed_then_the_rule_is_silent(tmp_path: Path, case: Case) -> None:
    assert [f for f in _lint(tmp_path, case.fixed) if f.code == case.code] == []


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    assert {case.code for case in CASES} == {rule.code for rule in RULES}


def test_when_the_kernel_is_the_reproducible_one_then_no_load_ext_is_needed(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", "import numpy as np", "%%reproducible seed=1 record=x\nx = np.ones(3)")
    content = json.loads(path.read_text())
    content["metadata"]["kernelspec"] = {
        "name": "repro-python3",
        "display_name": "Python 3 (reproducible)",
        "language": "python",
    }
    path.write_text(json.dumps(content))
    assert [f.code for f in lint_path(path)] == []


def test_when_a_dataset_function_shuffles_only_for_training_then_the_test_set_is_not_random_state(
    tmp_path: Path,
) -> None:
    make = (
        "def make(x, training):\n"
        "    ds = tf.data.Dataset.from_tensor_slices(x)\n"
        "    if training:\n"
        "        ds = ds.shuffle(10)\n"
        "    return ds.batch(2)"
    )
    made = "train_ds = make(np.ones(10), training=True)\ntest_ds = make(np.ones(10), training=False)"
    uses = "%%reproducible seed=1 record=a,b\na = [x for x in test_ds]\nb = [x for x in train_ds]"
    findings = _lint(tmp_path, (LOAD, make, made, uses))
    # The training set shuffles before any reset (a trap); the test set does not shuffle at all.
    assert [(f.code, f.cell, f.line) for f in findings] == [("RM114", 3, 1), ("RM106", 4, 3)]
    assert "'train_ds' is a dataset made in cell 3" in findings[1].message


def test_when_cells_hold_magics_and_shell_lines_then_findings_point_at_the_lines_the_user_sees(tmp_path: Path) -> None:
    source = (
        "!pip install numpy\n%matplotlib inline\nfiles = !ls\nimport numpy as np\n"
        "if True:\n    %time rng = np.random.default_rng()"
    )
    findings = _lint(tmp_path, (source,))
    assert [(f.code, f.cell, f.line, f.column) for f in findings] == [("RM101", 1, 6, 17)]


def test_when_a_cell_runs_another_language_then_it_is_not_read_as_python(tmp_path: Path) -> None:
    assert _lint(tmp_path, ("%%bash\npython -c 'import numpy as np; np.random.default_rng()'",)) == []


def test_when_a_cell_has_code_python_warns_about_then_the_lint_prints_no_warning(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "nb.ipynb", 'import re\npattern = re.compile("\\d+")\nassert (1, 2)')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert lint_path(path) == []
    assert [str(warning.message) for warning in caught] == []


def test_when_a_cell_does_not_parse_then_the_other_cells_are_still_linted(tmp_path: Path) -> None:
    findings = _lint(tmp_path, ("def broken(:", "import random\nr = random.Random()"))
    assert [(f.code, f.cell) for f in findings] == [("RM101", 2)]
