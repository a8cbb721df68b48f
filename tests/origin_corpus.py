"""Trap notebooks whose fresh runs part in a cell that records nothing, each with a fixed twin that reproduces.

Each trap names the cell (a code cell number, from 1) where the runs part and
the cell that causes it; its twin differs only in the fix. `repro-verify` on
the trap must name the origin cell first; on the twin, say nothing of an origin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Trap:
    name: str
    trap: tuple[str, ...]
    fixed: tuple[str, ...]
    #: The cell after which the two runs' states first differ.
    origin_cell: int
    #: The names that differ there.
    origin_names: tuple[str, ...]
    #: The cell whose code causes it (a helper's definition, a restore).
    cause_cell: int


# The whole permutation is recorded: two runs' permutations of 10 differ but for a 1 in 3,628,800 chance.
_RECORDED = "%%reproducible seed=1 record=picked\npicked = values[order]"

PLAIN_CELL = Trap(
    "plain cell",
    trap=(
        "import numpy as np",
        "values = np.linspace(0.0, 1.0, 10)",
        "order = np.random.permutation(10)",
        _RECORDED,
    ),
    fixed=(
        "import numpy as np",
        "values = np.linspace(0.0, 1.0, 10)",
        "order = np.random.default_rng(8).permutation(10)",
        _RECORDED,
    ),
    origin_cell=3,
    origin_names=("order",),
    cause_cell=3,
)

HELPER_FUNCTION = Trap(
    "helper function",
    trap=(
        "import numpy as np",
        "def shuffled(n):\n    generator = np.random.default_rng()\n    return generator.permutation(n)",
        "values = np.linspace(0.0, 1.0, 10)\norder = shuffled(10)",
        _RECORDED,
    ),
    fixed=(
        "import numpy as np",
        "def shuffled(n):\n    generator = np.random.default_rng(8)\n    return generator.permutation(n)",
        "values = np.linspace(0.0, 1.0, 10)\norder = shuffled(10)",
        _RECORDED,
    ),
    origin_cell=3,
    origin_names=("order",),
    cause_cell=2,
)

_SAVE = "import os\nos.makedirs('ckpt', exist_ok=True)\nnp.save(os.path.join('ckpt', 'values.npy'), values)"

FILES = Trap(
    "files",
    trap=(
        "import os\nimport numpy as np\norder = np.arange(10)",
        "if os.path.exists('ckpt/values.npy'):\n    values = np.load('ckpt/values.npy')\n"
        "else:\n    values = np.zeros(10)",
        "values = values + 1.0",
        _RECORDED,
        _SAVE,
    ),
    fixed=(
        "import os\nimport numpy as np\norder = np.arange(10)",
        "values = np.zeros(10)",
        "values = values + 1.0",
        _RECORDED,
        _SAVE,
    ),
    origin_cell=2,
    origin_names=("values",),
    cause_cell=2,
)

THREAD = Trap(
    "thread",
    trap=(
        "import random\nimport threading\nimport numpy as np\nvalues = np.linspace(0.0, 1.0, 10)",
        "def draw(into):\n    into.extend(random.sample(range(10), 10))\n\n"
        "drawn = []\nworker = threading.Thread(target=draw, args=(drawn,))\nworker.start()\nworker.join()\n"
        "order = np.array(drawn)",
        _RECORDED,
    ),
    fixed=(
        "import random\nimport threading\nimport numpy as np\nvalues = np.linspace(0.0, 1.0, 10)",
        "def draw(into):\n    into.extend(random.Random(8).sample(range(10), 10))\n\n"
        "drawn = []\nworker = threading.Thread(target=draw, args=(drawn,))\nworker.start()\nworker.join()\n"
        "order = np.array(drawn)",
        _RECORDED,
    ),
    origin_cell=2,
    origin_names=("drawn", "order"),
    cause_cell=2,
)

TRAPS = (PLAIN_CELL, HELPER_FUNCTION, FILES, THREAD)
