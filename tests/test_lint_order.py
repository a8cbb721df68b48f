"""Rules that follow a fresh kernel's execution order, the likely causes they give, and the labelled pairs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from helpers import write_notebook

from repro_magics.lint import lint, lint_path, read_notebook
from repro_magics.lint.causes import likely_causes
from repro_magics.lint.defuse import Facts

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "lint_corpus"
LOAD = "%load_ext repro_magics\nimport numpy as np\nimport tensorflow as tf\nimport keras"
BUILD = "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])"
FIT = "%%reproducible seed=1 record=history\nhistory = model.fit(np.ones((8, 4)), np.ones(8), epochs=1, verbose=0)"


def found(tmp_path: Path, *sources: str) -> list[tuple[int, str]]:
    return [(f.cell, f.code) for f in lint_path(write_notebook(tmp_path / "nb.ipynb", *sources))]


def test_when_a_model_is_built_before_any_reset_then_the_cell_that_built_it_is_the_trap(tmp_path: Path) -> None:
    findings = lint_path(write_notebook(tmp_path / "nb.ipynb", LOAD, BUILD, FIT))
    assert [(f.cell, f.code) for f in findings] == [(2, "RM114")]
    assert findings[0].message.startswith(
        "keras.layers.Dense() (the seed of its initializers or random ops) draws from Python's global random "
        "generator (Keras draws the seeds of initializers and random layers from it) before any reset "
        "(it is first reset in cell 3)"
    )


def test_when_the_model_is_built_after_a_reset_in_a_plain_cell_then_nothing_is_reported(tmp_path: Path) -> None:
    assert found(tmp_path, LOAD + "\nkeras.utils.set_random_seed(7)", BUILD, FIT) == []
    assert found(tmp_path, LOAD, "%%reproducible seed=1 record=n\nn = 1", BUILD, FIT) == []


@pytest.mark.parametrize(
    ("reset", "draw", "expected"),
    [
        ("random.seed(1)", "x = np.random.rand()", [(2, "RM114")]),
        ("np.random.seed(1)", "x = np.random.rand()", []),
        ("np.random.seed(1)", "x = tf.random.normal([2])", [(2, "RM114")]),
        ("tf.random.set_seed(1)", "x = tf.random.normal([2])", []),
        ("torch.manual_seed(1)", "x = torch.randn(2)", []),
        ("keras.utils.set_random_seed(1)", "x = torch.randn(2)", []),
        ("np.random.seed()", "x = np.random.rand()", [(2, "RM101"), (2, "RM114")]),
    ],
)
def test_each_reset_covers_its_own_generators(tmp_path: Path, reset: str, draw: str, expected: list[object]) -> None:
    head = LOAD + "\nimport random\nimport torch"
    assert found(tmp_path, head, f"{reset}\n{draw}") == expected


def test_when_a_draw_in_a_plain_cell_comes_after_a_magic_cell_then_it_is_seeded(tmp_path: Path) -> None:
    assert found(tmp_path, LOAD, "%%reproducible seed=1 record=n\nn = 1", "idx = np.random.permutation(8)") == []


def test_when_a_random_map_built_under_the_magic_is_iterated_in_a_plain_cell_then_that_cell_is_the_trap(
    tmp_path: Path,
) -> None:
    build = (
        "%%reproducible seed=1 record=n\n"
        "ds = tf.data.Dataset.range(8).map(lambda x: x + tf.random.uniform([], 0, 9, tf.int64),"
        " num_parallel_calls=4)\nn = 8"
    )
    assert found(tmp_path, LOAD, build, "preview = [int(x) for x in ds.take(3)]") == [(3, "RM105")]
    assert found(tmp_path, LOAD, build, "first = ds.take(1).get_single_element()") == [(3, "RM105")]
    assert found(tmp_path, LOAD, build, "total = ds.reduce(0, lambda a, b: a + b)") == [(3, "RM105")]


def test_when_a_pydataset_with_workers_draws_nothing_then_it_is_left_alone(tmp_path: Path) -> None:
    dataset = (
        "class Batches(keras.utils.PyDataset):\n    def __len__(self):\n        return 2\n\n"
        "    def __getitem__(self, idx):\n        return np.ones((2, 4)) * idx, np.ones(2)"
    )
    train = "%%reproducible seed=1 record=history\n" + BUILD + "\nmodel.compile('adam', 'mse')\n"
    train += "history = model.fit(Batches(workers=4, use_multiprocessing=True), epochs=1)"
    assert found(tmp_path, LOAD, dataset, train) == []


def test_when_the_notebook_restores_the_newest_checkpoint_of_a_folder_it_writes_then_the_reading_cell_is_the_trap(
    tmp_path: Path,
) -> None:
    restore = (
        'import os\nckpt = "./ckpt"\nnames = os.listdir(ckpt)\n'
        "model = keras.models.load_model(os.path.join(ckpt, max(names))) if names else None"
    )
    save = FIT + "\nmodel.save(ckpt + '/last.keras')"
    findings = lint_path(
        write_notebook(tmp_path / "nb.ipynb", LOAD + "\n" + BUILD.replace("model", "m0"), restore, save)
    )
    assert [(f.cell, f.line, f.code) for f in findings] == [(1, 5, "RM114"), (2, 3, "RM115")]
    assert "os.listdir reads the folder 'ckpt', which this notebook writes (save in cell 3)" in findings[1].message


def test_when_a_generator_is_used_in_a_function_called_by_the_diverged_cell_then_its_cell_is_a_cause(
    tmp_path: Path,
) -> None:
    sources = (
        [LOAD]
        + ["x = 1"] * 5
        + [
            "noise = tf.random.Generator.from_non_deterministic_state()",  # cell 7
            "unrelated = np.random.default_rng()",  # cell 8: nothing the diverged cell uses
            "def train_step(batch):\n    return batch + noise.normal([2])",  # cell 9
            "model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])",  # cell 10, after no reset
            "%%reproducible seed=1\nout = model(train_step(tf.ones((1, 2))))",  # cell 11: records nothing (advice)
        ]
    )
    notebook = read_notebook(write_notebook(tmp_path / "nb.ipynb", *sources))
    facts = Facts(notebook)
    causes = likely_causes(facts, 11, lint(notebook, select=["ALL"], facts=facts))
    listed = [(cause.finding.cell, cause.finding.code, cause.category, cause.made_here) for cause in causes]
    assert listed == [
        (7, "RM102", "trap", ("noise",)),
        (10, "RM114", "trap", ("model",)),
        (11, "RM113", "advice", ()),
    ]


def _pairs() -> list[tuple[Path, dict[str, object]]]:
    pairs = []
    for path in sorted(CORPUS.glob("*.ipynb")):
        label = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("lint_corpus")
        if label is not None:
            pairs.append((path, label))
    return pairs


def test_the_corpus_pairs_are_labelled_and_split_by_the_hash_of_their_name() -> None:
    pairs = _pairs()
    assert len(pairs) >= 40
    for path, label in pairs:
        digest = hashlib.sha256(str(label["pair"]).encode()).digest()[0]
        if label["half"] != "after-rules":  # written after the rules were final, measured once
            assert label["half"] == ("development" if digest % 2 == 0 else "held-out"), path.name
        assert label["verdict"] in ("trap", "varies-unrecorded", "reproducible"), path.name
        assert bool(label["causes"]) == (label["verdict"] != "reproducible"), path.name


@pytest.mark.parametrize(
    ("path", "label"),
    [pair for pair in _pairs() if pair[1]["half"] == "development"],
    ids=lambda value: value.name if isinstance(value, Path) else "",
)
def test_on_the_development_half_each_trap_is_found_at_its_cause_and_each_reproducible_notebook_passes(
    path: Path, label: dict[str, object]
) -> None:
    findings = {(f.cell, f.code) for f in lint_path(path)}
    causes = {(int(str(c["cell"])), str(c["code"])) for c in label["causes"]}  # type: ignore[attr-defined]
    assert findings == causes


def test_when_a_torchvision_dataset_gets_random_transforms_by_name_then_workers_before_a_reset_are_a_trap(
    tmp_path: Path,
) -> None:
    head = (
        "import torch\nimport torchvision\nimport torchvision.transforms as transforms\n"
        "from torch.utils.data import DataLoader"
    )
    data = (
        "transform = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor()])\n"
        'trainset = torchvision.datasets.CIFAR10(root="./data", train=True, transform=transform)'
    )
    load = "trainloader = DataLoader(trainset, batch_size=4, num_workers=2)"
    loop = "for images, labels in trainloader:\n    pass"
    assert found(tmp_path, head, data, load, loop) == [(3, "RM110")]
    assert found(tmp_path, head, data, load, "torch.manual_seed(0)\n" + loop) == []
    plain = data.replace("transforms.RandomHorizontalFlip(), ", "")
    assert found(tmp_path, head, plain, load, loop) == []


def test_when_an_unordered_pipeline_is_iterated_only_under_the_magic_then_op_determinism_keeps_it_in_order(
    tmp_path: Path,
) -> None:
    build = "ds = tf.data.Dataset.range(8).map(tf.square, num_parallel_calls=4, deterministic=False).batch(2)"
    under_the_magic = "%%reproducible seed=1 record=total\ntotal = sum(int(x.numpy().sum()) for x in ds)"
    assert found(tmp_path, LOAD, build, under_the_magic) == []
    assert found(tmp_path, LOAD, build, "first = next(iter(ds))") == [(2, "RM104")]
    batched = "batches = ds.prefetch(1)"
    assert found(tmp_path, LOAD, build, batched, "first = next(iter(batches))") == [(2, "RM104")]


def test_when_a_model_is_cached_in_a_file_it_saves_then_the_existence_check_is_the_trap(tmp_path: Path) -> None:
    cache = (
        'import os\npath = "model.keras"\nif os.path.exists(path):\n    model = keras.models.load_model(path)\n'
        "else:\n    " + BUILD + "\n    model.save(path)"
    )
    assert found(tmp_path, LOAD + "\nkeras.utils.set_random_seed(1)", cache) == [(2, "RM115")]
    saved_then_loaded = BUILD + '\nmodel.save("model.keras")\nmodel = keras.models.load_model("model.keras")'
    assert found(tmp_path, LOAD + "\nkeras.utils.set_random_seed(1)", saved_then_loaded) == []
    elsewhere = 'import os\nif os.path.exists("data.csv"):\n    print("data there")'
    assert found(tmp_path, LOAD, elsewhere) == []


def test_when_scikit_learn_shuffles_without_random_state_before_a_reset_then_it_is_a_draw(tmp_path: Path) -> None:
    head = LOAD + "\nfrom sklearn.model_selection import KFold\nfrom sklearn.ensemble import RandomForestClassifier"
    assert found(tmp_path, head, "folds = list(KFold(3, shuffle=True).split(np.ones(9)))") == [(2, "RM114")]
    assert found(tmp_path, head, "folds = list(KFold(3).split(np.ones(9)))") == []
    assert found(tmp_path, head, "folds = list(KFold(3, shuffle=True, random_state=0).split(np.ones(9)))") == []
    assert found(tmp_path, head, "forest = RandomForestClassifier(50)") == [(2, "RM114")]
    assert found(tmp_path, head, "np.random.seed(0)\nforest = RandomForestClassifier(50)") == []


def test_when_a_set_is_made_of_a_list_of_words_then_its_order_is_a_trap(tmp_path: Path) -> None:
    words = 'words = "b a c a".split()'
    assert found(tmp_path, words, "ids = {w: i for i, w in enumerate(set(words))}") == [(2, "RM111")]
    assert found(tmp_path, words, "ids = {w: i for i, w in enumerate(sorted(set(words)))}") == []
    assert found(tmp_path, "numbers = [3, 1, 2]", "order = list(set(numbers))") == []


def test_when_a_draw_has_its_own_seed_or_generator_then_no_reset_is_needed(tmp_path: Path) -> None:
    head = LOAD + "\nimport torch"
    assert found(tmp_path, head, "x = tf.random.normal([2], seed=1)") == []
    assert found(tmp_path, head, "x = tf.image.random_flip_left_right(tf.ones((2, 2, 1)), seed=1)") == []
    assert found(tmp_path, head, "x = torch.randn(2, generator=torch.Generator().manual_seed(0))") == []
    assert found(tmp_path, head, "x = tf.random.normal([2])") == [(2, "RM114")]


def test_when_the_newest_checkpoint_is_loaded_after_this_run_wrote_it_then_nothing_is_reported(tmp_path: Path) -> None:
    head = LOAD + "\nimport os"
    train = (
        "%%reproducible seed=1 record=history\n" + BUILD + "\nmodel.compile('adam', 'mse')\n"
        "checkpoint = keras.callbacks.ModelCheckpoint('training_2/cp-{epoch:04d}.weights.h5', save_weights_only=True)\n"
        "history = model.fit(np.ones((8, 4)), np.ones(8), epochs=2, callbacks=[checkpoint], verbose=0)"
    )
    newest = "%%reproducible seed=1 record=w\nmodel.load_weights('training_2/' + max(os.listdir('training_2')))\n"
    newest += "w = model.get_weights()"
    assert found(tmp_path, head, train, newest) == []
    saved = FIT + "\nmodel.save('my_model.keras')"
    assert found(tmp_path, head, saved, "print(os.path.exists('my_model.keras'))") == []


def test_when_the_folder_is_read_before_the_first_fit_that_writes_it_then_the_reading_cell_is_the_trap(
    tmp_path: Path,
) -> None:
    head = LOAD + "\nimport os\nkeras.utils.set_random_seed(1)"
    callback = "checkpoint = keras.callbacks.ModelCheckpoint('ckpt/model-{epoch}.keras')\n" + BUILD
    resume = "names = os.listdir('ckpt')\nif names:\n    model = keras.models.load_model('ckpt/' + max(names))"
    train = FIT.replace("verbose=0)", "verbose=0, callbacks=[checkpoint])")
    assert found(tmp_path, head, callback, resume, train) == [(3, "RM115")]
    scaled = callback + "\nscaler.fit(np.ones((8, 4)))"  # a fit without callbacks writes no checkpoint
    assert found(tmp_path, head, scaled, resume, train) == [(3, "RM115")]
    manager = (
        "%%reproducible seed=1 record=steps\nckpt = tf.train.Checkpoint(step=tf.Variable(1))\n"
        "manager = tf.train.CheckpointManager(ckpt, './tf_ckpts', max_to_keep=3)\n"
        "ckpt.restore(manager.latest_checkpoint)\nsteps = []\nfor _ in range(3):\n"
        "    ckpt.step.assign_add(1)\n    steps.append(int(ckpt.step))\n    manager.save()"
    )
    assert found(tmp_path, head, manager) == [(2, "RM115")]


def test_when_a_library_shuffles_without_a_seed_before_a_reset_then_it_is_a_draw(tmp_path: Path) -> None:
    split = "train, val = keras.utils.split_dataset((np.ones((9, 2)), np.ones(9)), left_size=0.8, shuffle=True)"
    assert found(tmp_path, LOAD, split) == [(2, "RM114")]
    assert found(tmp_path, LOAD, split.replace("shuffle=True", "shuffle=True, seed=1")) == []
    assert found(tmp_path, LOAD, "keras.utils.set_random_seed(1)\n" + split) == []
    assert found(tmp_path, LOAD, "np.random.seed(1)\n" + split) == [(2, "RM114")]  # which generator is the library's
    csv = "ds = tf.data.experimental.make_csv_dataset('a.csv', batch_size=4, label_name='y', num_epochs=1)"
    assert found(tmp_path, LOAD, csv) == [(2, "RM114")]
    assert found(tmp_path, LOAD, csv.replace("num_epochs=1", "num_epochs=1, shuffle_seed=1")) == []
    resampled = "ds = tf.data.Dataset.sample_from_datasets([pos_ds, neg_ds], weights=[0.5, 0.5])"
    assert found(tmp_path, LOAD, resampled) == [(2, "RM114")]
    assert found(tmp_path, LOAD, resampled.replace("0.5])", "0.5], seed=1)")) == []
    assert found(tmp_path, LOAD, "files = tf.data.Dataset.list_files('data/*/*', shuffle=False)") == []
    assert found(tmp_path, LOAD, "history = model.fit(x, y, shuffle=True)") == []  # not a library function


def test_when_data_is_generated_by_scikit_learn_or_sampled_by_pandas_without_random_state_then_it_is_a_draw(
    tmp_path: Path,
) -> None:
    head = LOAD + "\nimport pandas as pd\nfrom sklearn.datasets import make_moons"
    assert found(tmp_path, head, "x, y = make_moons(200, noise=0.1)") == [(2, "RM114")]
    assert found(tmp_path, head, "x, y = make_moons(200, noise=0.1, random_state=0)") == []
    frame = "frame = pd.DataFrame({'a': range(9)})\n"
    assert found(tmp_path, head, frame + "val = frame.sample(n=3)") == [(2, "RM114")]
    assert found(tmp_path, head, frame + "val = frame.sample(n=3, random_state=1)") == []


def test_when_dataset_map_traces_an_unseeded_random_op_before_a_reset_then_the_map_is_a_draw(tmp_path: Path) -> None:
    augment = "def augment(image, label):\n    return tf.image.random_brightness(image, 0.2), label"
    mapped = "train_ds = train_ds.map(augment)"
    assert found(tmp_path, LOAD, augment, mapped, FIT) == [(3, "RM114")]
    assert found(tmp_path, LOAD, augment, "keras.utils.set_random_seed(1)\n" + mapped, FIT) == []
    stateless = augment.replace("random_brightness(image, 0.2)", "stateless_random_brightness(image, 0.2, (1, 2))")
    assert found(tmp_path, LOAD, stateless, mapped, FIT) == []
    flip = "train_ds = train_ds.map(lambda x, y: (tf.image.random_flip_left_right(x), y))"
    assert found(tmp_path, LOAD, flip, FIT) == [(2, "RM114")]


def test_when_a_random_layer_is_given_its_own_seed_then_no_reset_is_needed(tmp_path: Path) -> None:
    assert found(tmp_path, LOAD, "flip = keras.layers.RandomFlip('horizontal', seed=1)") == []
    assert found(tmp_path, LOAD, "flip = keras.layers.RandomFlip('horizontal')") == [(2, "RM114")]


def test_when_a_class_of_the_notebook_draws_in_its_init_then_making_one_before_a_reset_is_a_draw(
    tmp_path: Path,
) -> None:
    module = (
        "class Dense(tf.Module):\n    def __init__(self, n_in, n_out):\n        super().__init__()\n"
        "        self.w = tf.Variable(tf.random.normal([n_in, n_out]))\n\n"
        "    def __call__(self, x):\n        return x @ self.w"
    )
    record = "%%reproducible seed=1 record=y\ny = layer(tf.ones((1, 3)))"
    assert found(tmp_path, LOAD, module, "layer = Dense(3, 2)", record) == [(3, "RM114")]
    assert found(tmp_path, LOAD, module, "tf.random.set_seed(1)\nlayer = Dense(3, 2)", record) == []
    seeded = module.replace("tf.random.normal([n_in, n_out])", "tf.random.normal([n_in, n_out], seed=1)")
    assert found(tmp_path, LOAD, seeded, "layer = Dense(3, 2)", record) == []


def test_when_a_keras_seed_generator_is_made_without_a_seed_before_a_reset_then_it_is_a_draw(tmp_path: Path) -> None:
    assert found(tmp_path, LOAD, "generator = keras.random.SeedGenerator()") == [(2, "RM114")]
    assert found(tmp_path, LOAD, "generator = keras.random.SeedGenerator(1337)") == []
    assert found(tmp_path, LOAD, "generator = keras.random.SeedGenerator(seed=1337)") == []


def test_when_pydataset_workers_share_one_seeded_generator_then_it_is_a_trap(tmp_path: Path) -> None:
    dataset = (
        "class Noisy(keras.utils.PyDataset):\n    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n"
        "        self.rng = np.random.default_rng(0)\n\n    def __len__(self):\n        return 4\n\n"
        "    def __getitem__(self, idx):\n        return self.rng.normal(size=(2, 4)), np.ones(2)"
    )
    train = "%%reproducible seed=1 record=history\n" + BUILD + "\nmodel.compile('adam', 'mse')\n"
    train += "history = model.fit(Noisy(workers=4), epochs=1, verbose=0)"
    assert found(tmp_path, LOAD, dataset, train) == [(3, "RM110")]
    keyed = dataset.replace("self.rng.normal(size=(2, 4))", "np.random.default_rng(idx).normal(size=(2, 4))")
    assert found(tmp_path, LOAD, keyed, train) == []
    assert found(tmp_path, LOAD, dataset, train.replace("workers=4", "workers=1")) == []


def test_when_a_callback_keeps_epoch_times_and_the_cell_records_them_then_it_is_a_trap(tmp_path: Path) -> None:
    callback = (
        "import time\n\nclass TimeHistory(keras.callbacks.Callback):\n"
        "    def on_train_begin(self, logs=None):\n        self.times, self.losses = [], []\n\n"
        "    def on_epoch_begin(self, epoch, logs=None):\n        self.start = time.time()\n\n"
        "    def on_epoch_end(self, epoch, logs=None):\n        self.times.append(time.time() - self.start)\n"
        "        self.losses.append(logs['loss'])"
    )
    train = (
        "%%reproducible seed=1 record=kept\ntimer = TimeHistory()\n" + BUILD + "\nmodel.compile('adam', 'mse')\n"
        "model.fit(np.ones((8, 4)), np.ones(8), epochs=2, callbacks=[timer], verbose=0)\nkept = timer.times"
    )
    assert found(tmp_path, LOAD, callback, train) == [(3, "RM103")]
    assert found(tmp_path, LOAD, callback, train.replace("timer.times", "timer.losses")) == []


def _blind() -> list[tuple[Path, dict[str, object]]]:
    return [
        (path, json.loads(path.read_text(encoding="utf-8"))["metadata"]["lint_corpus"])
        for path in sorted((CORPUS / "blind").glob("*.ipynb"))
    ]


def test_the_blind_set_is_labelled_as_a_group_of_its_own() -> None:
    blind = _blind()
    assert len(blind) >= 24
    for path, label in blind:
        assert label["half"] == "blind", path.name
        assert label["verdict"] in ("trap", "varies-unrecorded", "reproducible"), path.name
        assert bool(label["causes"]) == (label["verdict"] != "reproducible"), path.name


@pytest.mark.parametrize(("path", "label"), _blind(), ids=lambda value: value.name if isinstance(value, Path) else "")
def test_on_the_blind_set_traps_are_found_at_their_cause_reproducible_notebooks_pass_and_variation_is_flagged(
    path: Path, label: dict[str, object]
) -> None:
    cells = {f.cell for f in lint_path(path)}
    causes = {int(str(c["cell"])) for c in label["causes"]}  # type: ignore[attr-defined]
    if label["verdict"] == "trap":
        assert causes <= cells
    elif label["verdict"] == "reproducible":
        assert cells == set()
    else:
        assert cells


def test_when_a_parallel_map_shares_a_tf_generator_and_is_previewed_in_a_plain_cell_then_it_is_flagged(
    tmp_path: Path,
) -> None:
    build = (
        "%%reproducible seed=1\nrng = tf.random.Generator.from_seed(123)\n\n\ndef augment(x):\n"
        "    seed = rng.make_seeds(2)[0]\n    return tf.image.stateless_random_brightness(x, 0.5, seed=seed)\n\n\n"
        "ds = tf.data.Dataset.from_tensor_slices(tf.ones((8, 2, 2, 1))).map(augment, num_parallel_calls=4)"
    )
    assert found(tmp_path, LOAD, build, "preview = [x for x in ds.take(3)]") == [(3, "RM105")]
    assert found(tmp_path, LOAD, build, "%%reproducible seed=1 record=kept\nkept = [x for x in ds.take(3)]") == []


def test_when_any_stateful_tf_random_op_runs_before_a_reset_then_it_is_a_draw(tmp_path: Path) -> None:
    sampler = "s = tf.random.log_uniform_candidate_sampler(true_classes=t, num_true=1, num_sampled=4, unique=True, "
    assert found(tmp_path, LOAD, sampler + "range_max=9)") == [(2, "RM114")]
    assert found(tmp_path, LOAD, sampler + "range_max=9, seed=1)") == []
    assert found(tmp_path, LOAD, "a = tf.random.stateless_uniform([2], seed=(1, 2))") == []


def test_when_a_module_makes_its_random_variables_on_its_first_call_before_a_reset_then_the_call_is_a_draw(
    tmp_path: Path,
) -> None:
    module = (
        "class FlexibleDense(tf.Module):\n    def __init__(self, out_features):\n        super().__init__()\n"
        "        self.out_features, self.is_built = out_features, False\n\n    def __call__(self, x):\n"
        "        if not self.is_built:\n"
        "            self.w = tf.Variable(tf.random.normal([x.shape[-1], self.out_features]))\n"
        "            self.is_built = True\n        return x @ self.w"
    )
    record = "%%reproducible seed=1 record=y\ny = layer(tf.ones((1, 3)))"
    assert found(tmp_path, LOAD, module, "layer = FlexibleDense(2)\nfirst = layer(tf.ones((1, 3)))", record) == [
        (3, "RM114")
    ]
    assert found(tmp_path, LOAD, module, "layer = FlexibleDense(2)", record) == []
