"""Cell sources shared by the in-process and the real-kernel tests."""

# Dropout, a shuffled tf.data pipeline, and a parallel map calling a stateful
# random op: the combination that needs every reset and op determinism.
TRAINING = """\
import numpy as np
import keras
import tensorflow as tf

features = np.linspace(-1, 1, 512, dtype="float32").reshape(128, 4)
labels = (features.sum(axis=1) > 0).astype("float32")
dataset = (
    tf.data.Dataset.from_tensor_slices((features, labels))
    .shuffle(128)
    .map(lambda x, y: (x + tf.random.normal(tf.shape(x), stddev=0.1), y), num_parallel_calls=4)
    .batch(16)
)
model = keras.Sequential([
    keras.Input((4,)),
    keras.layers.Dense(8, activation="relu"),
    keras.layers.Dropout(0.5),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
# shuffle=False: the dataset shuffles itself, and Keras warns that fit's own
# shuffle=True is ignored for a dataset.
history = model.fit(dataset, epochs=2, shuffle=False, verbose=0)
layer_names = [layer.name for layer in model.layers]
"""

# Random work of every kind, run between reproducible cells to disturb any
# state the reset misses.
OTHER_RANDOM_WORK = """\
import random
import numpy as np
import keras
import tensorflow as tf

random.random()
np.random.rand(7)
tf.random.normal([5])
tf.random.get_global_generator().normal([3])
keras.random.normal([2])
keras.layers.Dense(3)
keras.layers.Dropout(0.1)
"""
