"""Writes crates/models/tests/golden/models.json: Keras 3's summary of the seed's
batch-normalization model (before and after an optimizer is built), the variables of its
first BatchNormalization layer, and loss values of every compiled loss.

    /opt/kvenv/bin/python tools/golden/models.py   (a venv with tensorflow-cpu)
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "models", "tests", "golden", "models.json")
golden = {"generator": "tools/golden/models.py", "keras": keras.__version__, "tensorflow": tf.__version__}


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    return "\n".join(lines)


# The seed's cell 4: batch normalization after each hidden layer's activation.
model = keras.Sequential([
    keras.Input(shape=[28, 28]),
    keras.layers.Flatten(),
    keras.layers.BatchNormalization(),
    keras.layers.Dense(300, activation="relu", kernel_initializer="he_normal"),
    keras.layers.BatchNormalization(),
    keras.layers.Dense(100, activation="relu", kernel_initializer="he_normal"),
    keras.layers.BatchNormalization(),
    keras.layers.Dense(10, activation="softmax"),
])
golden["bn_model_summary"] = summary_text(model)
golden["bn_layer_variables"] = [[v.name, bool(v.trainable)] for v in model.layers[1].variables]
golden["bn_model_counts"] = {
    "total": int(model.count_params()),
    "trainable": int(sum(np.prod(v.shape) for v in model.trainable_variables)),
    "non_trainable": int(sum(np.prod(v.shape) for v in model.non_trainable_variables)),
}
model.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.01, momentum=0.9), metrics=["accuracy"])
x = np.random.default_rng(0).random((64, 28, 28)).astype(np.float32)
y = (np.arange(64) % 10).astype(np.int64)
model.fit(x, y, epochs=1, verbose=0)
golden["bn_model_summary_after_fit"] = summary_text(model)

# The seed's second BN model: BN before the activation, no bias in the Dense layers.
# A fresh session resets Keras's global layer-name counters (Strata names per model).
keras.backend.clear_session()
model2 = keras.Sequential([
    keras.Input(shape=[28, 28]),
    keras.layers.Flatten(),
    keras.layers.BatchNormalization(),
    keras.layers.Dense(300, kernel_initializer="he_normal", use_bias=False),
    keras.layers.BatchNormalization(),
    keras.layers.Activation("relu"),
    keras.layers.Dense(100, kernel_initializer="he_normal", use_bias=False),
    keras.layers.BatchNormalization(),
    keras.layers.Activation("relu"),
    keras.layers.Dense(10, activation="softmax"),
])
golden["bn_before_activation_summary"] = summary_text(model2)

# Loss values, from probabilities and from logits.
rng = np.random.default_rng(3)
logits = rng.normal(size=(6, 4)).astype(np.float32) * 3
probs = tf.nn.softmax(logits).numpy()
probs[0] = [1.0, 0.0, 0.0, 0.0]  # exercises the clipping
labels = np.array([1, 0, 3, 2, 2, 1])
onehot = np.eye(4, dtype=np.float32)[labels]
bin_logits = rng.normal(size=(6, 1)).astype(np.float32) * 4
bin_probs = tf.sigmoid(bin_logits).numpy()
bin_probs[0, 0] = 1.0
bin_targets = np.array([[1], [0], [1], [1], [0], [0]], dtype=np.float32)
L = keras.losses
golden["losses"] = {
    "logits": logits.ravel().tolist(), "probs": probs.ravel().tolist(), "labels": labels.tolist(),
    "bin_logits": bin_logits.ravel().tolist(), "bin_probs": bin_probs.ravel().tolist(), "bin_targets": bin_targets.ravel().tolist(),
    "sparse_cce_probs": float(L.SparseCategoricalCrossentropy()(labels, probs)),
    "sparse_cce_logits": float(L.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)),
    "cce_probs": float(L.CategoricalCrossentropy()(onehot, probs)),
    "cce_logits": float(L.CategoricalCrossentropy(from_logits=True)(onehot, logits)),
    "bce_probs": float(L.BinaryCrossentropy()(bin_targets, bin_probs)),
    "bce_logits": float(L.BinaryCrossentropy(from_logits=True)(bin_targets, bin_logits)),
    "mse": float(L.MeanSquaredError()(bin_targets, bin_probs)),
}

with open(OUT, "w") as f:
    json.dump(golden, f, indent=1, ensure_ascii=False)
print("wrote", os.path.normpath(OUT))
