"""Writes crates/models/tests/golden/fit.json: what Keras 3's `fit` does, step for step, to
two small models on a fixed dataset with shuffling off, so that Strata's training loop can be
compared with it number for number (loss and accuracy per epoch, and the final weights).

The inputs and labels follow a formula that the Rust test recomputes exactly; the initial
weights are drawn here (Keras initializers, fixed seed) and stored.

    /opt/kvenv/bin/python tools/golden/fit.py   (a venv with tensorflow-cpu)
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "models", "tests", "golden", "fit.json")
N, FEATURES, CLASSES = 60, 20, 4


def data():
    # The Rust test computes the same values: f64 arithmetic, then rounded to f32.
    x = np.array([[((i * 7 + j * 3) % 11) / 10.0 - 0.5 for j in range(FEATURES)] for i in range(N)])
    y = np.array([(i * 5 + i // 3) % CLASSES for i in range(N)], dtype=np.int64)
    return x.astype(np.float32), y


def mlp():
    return keras.Sequential([
        keras.Input(shape=[FEATURES]),
        keras.layers.Dense(16, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dense(8, activation="relu", kernel_initializer="he_normal"),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])


def bn():
    return keras.Sequential([
        keras.Input(shape=[FEATURES]),
        keras.layers.Dense(16, kernel_initializer="he_normal", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dense(CLASSES, activation="softmax"),
    ])


def case(build, optimizer):
    keras.utils.set_random_seed(7)
    model = build()
    initial = [w.tolist() for w in model.get_weights()]
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    x, y = data()
    history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    return {
        "initial_weights": initial,
        "loss": [float(v) for v in history.history["loss"]],
        "accuracy": [float(v) for v in history.history["accuracy"]],
        "final_weights": [w.tolist() for w in model.get_weights()],
    }


golden = {
    "generator": "tools/golden/fit.py",
    "keras": keras.__version__,
    "tensorflow": tf.__version__,
    "mlp_sgd": case(mlp, keras.optimizers.SGD(learning_rate=0.1)),
    "mlp_sgd_nesterov": case(mlp, keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True)),
    "bn_adam": case(bn, keras.optimizers.Adam(learning_rate=0.01)),
}
with open(OUT, "w") as f:
    json.dump(golden, f)
print("wrote", os.path.normpath(OUT))
