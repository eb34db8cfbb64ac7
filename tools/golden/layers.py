"""Writes crates/layers/tests/golden/layers.json: reference values produced by Keras 3 itself.

Run from the repository root with a virtualenv holding tensorflow-cpu (Keras 3):
    python3 -m venv /opt/kvenv && /opt/kvenv/bin/pip install tensorflow-cpu
    /opt/kvenv/bin/python tools/golden/layers.py
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "layers", "tests", "golden", "layers.json")
rng = np.random.default_rng(1234)


def arr(x):
    return np.asarray(x, dtype=np.float32).ravel().tolist()


golden = {"generator": "tools/golden/layers.py", "keras": keras.__version__, "tensorflow": tf.__version__}

# Activations by name, on a grid that covers both tails.
x = np.linspace(-8.0, 8.0, 161, dtype=np.float32)
acts = {}
for name in ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish", "sigmoid", "tanh", "softplus", "linear"]:
    acts[name] = arr(keras.activations.get(name)(x))
acts["gelu_approximate"] = arr(keras.activations.gelu(x, approximate=True))
rows = rng.normal(size=(4, 5)).astype(np.float32) * 3
acts["softmax_input"] = arr(rows)
acts["softmax"] = arr(keras.activations.softmax(rows))
acts["layer_leaky_relu_default"] = arr(keras.layers.LeakyReLU()(x))
acts["layer_elu_0.5"] = arr(keras.layers.ELU(alpha=0.5)(x))
golden["activations"] = {"x": arr(x), "outputs": acts}

# PReLU with a given alpha.
prelu = keras.layers.PReLU()
px = rng.normal(size=(3, 4)).astype(np.float32)
prelu.build((None, 4))
alpha = np.array([0.0, 0.1, -0.2, 0.5], dtype=np.float32)
prelu.set_weights([alpha])
golden["prelu"] = {"x": arr(px), "alpha": arr(alpha), "y": arr(prelu(px)), "initial_alpha": arr(keras.layers.PReLU()(px) * 0 + 0)}

# Initializer statistics on the chapter's first kernel shape.
inits = {}
for name in ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform"]:
    w = keras.initializers.get({"class_name": name, "config": {"seed": 42}})((784, 300)).numpy()
    inits[name] = {"std": float(w.std()), "mean": float(w.mean()), "max_abs": float(np.abs(w).max())}
vs = keras.initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform", seed=42)((784, 300)).numpy()
inits["variance_scaling_2_fan_avg_uniform"] = {"std": float(vs.std()), "mean": float(vs.mean()), "max_abs": float(np.abs(vs).max())}
for name, init in [("random_normal", keras.initializers.RandomNormal(seed=1)), ("random_uniform", keras.initializers.RandomUniform(seed=1)), ("truncated_normal", keras.initializers.TruncatedNormal(seed=1))]:
    w = init((784, 300)).numpy()
    inits[name] = {"std": float(w.std()), "mean": float(w.mean()), "max_abs": float(np.abs(w).max())}
golden["initializers"] = {"shape": [784, 300], "stats": inits}

# Dense forward with given weights.
dx = rng.normal(size=(5, 6)).astype(np.float32)
dk = rng.normal(size=(6, 3)).astype(np.float32)
db = rng.normal(size=(3,)).astype(np.float32)
dense = keras.layers.Dense(3, activation="selu")
dense.build((None, 6))
dense.set_weights([dk, db])
golden["dense"] = {"x": arr(dx), "kernel": arr(dk), "bias": arr(db), "activation": "selu", "y": arr(dense(dx))}

# BatchNormalization: training output and moving statistics after one step, then inference.
bx = (rng.normal(size=(8, 4)) * 2 + 1).astype(np.float32)
bn = keras.layers.BatchNormalization()
bn.build((None, 4))
gamma = np.array([1.5, 0.5, 1.0, 2.0], dtype=np.float32)
beta = np.array([0.1, -0.2, 0.0, 0.3], dtype=np.float32)
mm = np.array([0.2, -0.1, 0.0, 0.5], dtype=np.float32)
mv = np.array([1.2, 0.8, 1.0, 2.0], dtype=np.float32)
bn.set_weights([gamma, beta, mm, mv])
y_infer_before = bn(bx, training=False)
y_train = bn(bx, training=True)
mm1, mv1 = bn.get_weights()[2:]
y_infer_after = bn(bx, training=False)
bn.trainable = False
y_frozen_train = bn(bx, training=True)
golden["batch_normalization"] = {
    "x": arr(bx), "gamma": arr(gamma), "beta": arr(beta), "moving_mean": arr(mm), "moving_variance": arr(mv),
    "y_inference": arr(y_infer_before), "y_training": arr(y_train), "moving_mean_after": arr(mm1),
    "moving_variance_after": arr(mv1), "y_inference_after": arr(y_infer_after), "y_frozen_training": arr(y_frozen_train),
    "variables": [v.name for v in bn.weights],
}

# AlphaDropout statistics on standard-normal input (SELU's fixed point).
ax = rng.normal(size=(200000,)).astype(np.float32)
ad = keras.layers.AlphaDropout(0.2, seed=3)(ax, training=True).numpy()
golden["alpha_dropout"] = {"rate": 0.2, "mean": float(ad.mean()), "std": float(ad.std()), "input_mean": float(ax.mean()), "input_std": float(ax.std())}

# Penalties and constraints.
w = rng.normal(size=(4, 3)).astype(np.float32)
golden["regularizers"] = {
    "w": arr(w),
    "l1_0.01": float(keras.regularizers.L1(0.01)(w)),
    "l2_0.01": float(keras.regularizers.L2(0.01)(w)),
    "l1_l2_0.01_0.02": float(keras.regularizers.L1L2(l1=0.01, l2=0.02)(w)),
}
golden["constraints"] = {
    "w": arr(w),
    "max_norm_1_axis0": arr(keras.constraints.MaxNorm(max_value=1.0, axis=0)(w)),
    "max_norm_1_axis1": arr(keras.constraints.MaxNorm(max_value=1.0, axis=1)(w)),
    "non_neg": arr(keras.constraints.NonNeg()(w)),
    "unit_norm_axis0": arr(keras.constraints.UnitNorm(axis=0)(w)),
}

# Non-finite inputs: what each activation and the softmax cross-entropy make of NaN and ±inf
# (a diverging model must show NaN, not a finite value, so that TerminateOnNaN sees it).
# JSON has no NaN or infinity: they are written as the strings "nan", "inf" and "-inf".
def enc(x):
    return [v if np.isfinite(v) else ("nan" if np.isnan(v) else ("inf" if v > 0 else "-inf"))
            for v in np.asarray(x, dtype=np.float32).ravel().tolist()]


nf_x = np.array([np.nan, np.inf, -np.inf, 100.0, -100.0, 0.5], dtype=np.float32)
nf = {}
for name in ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "sigmoid", "tanh", "softplus"]:
    nf[name] = enc(keras.activations.get(name)(nf_x))
nf["gelu_approximate"] = enc(keras.activations.gelu(nf_x, approximate=True))
nf_rows = np.array([[np.nan, 1.0, 2.0], [np.inf, 1.0, 2.0], [-np.inf, 1.0, 2.0], [1.0, 2.0, 3.0]], dtype=np.float32)
nf_labels = np.array([1, 1, 1, 1])
nf_ce = [float(keras.losses.sparse_categorical_crossentropy(nf_labels[i:i + 1], nf_rows[i:i + 1], from_logits=True).numpy()[0])
         for i in range(len(nf_rows))]
golden["non_finite"] = {
    "x": enc(nf_x), "outputs": nf, "softmax_input": enc(nf_rows), "softmax": enc(keras.activations.softmax(nf_rows)),
    "log_softmax": enc(keras.activations.log_softmax(nf_rows)), "labels": nf_labels.tolist(),
    "sparse_ce_from_logits_per_row": enc(nf_ce),
}

with open(OUT, "w") as f:
    json.dump(golden, f, indent=1)
print("wrote", os.path.normpath(OUT))
