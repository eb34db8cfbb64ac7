"""Writes crates/optim/tests/golden/optim.json: optimizer trajectories and schedule values
produced by Keras 3 itself.

    /opt/kvenv/bin/python tools/golden/optim.py   (a venv with tensorflow-cpu)
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "optim", "tests", "golden", "optim.json")
rng = np.random.default_rng(7)
STEPS = 6
w0 = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)]
grads = [[(rng.normal(size=w.shape) * 1.5).astype(np.float32) for w in w0] for _ in range(STEPS)]

S = keras.optimizers.schedules
configs = {
    "sgd": lambda: keras.optimizers.SGD(0.05),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "sgd_weight_decay": lambda: keras.optimizers.SGD(0.05, momentum=0.5, weight_decay=0.1),
    "sgd_clipvalue": lambda: keras.optimizers.SGD(0.05, clipvalue=0.5),
    "sgd_clipnorm": lambda: keras.optimizers.SGD(0.05, clipnorm=0.5),
    "sgd_global_clipnorm": lambda: keras.optimizers.SGD(0.05, global_clipnorm=0.5),
    "sgd_exponential_decay": lambda: keras.optimizers.SGD(S.ExponentialDecay(0.1, 2, 0.5)),
    "adagrad": lambda: keras.optimizers.Adagrad(0.1),
    "adagrad_weight_decay": lambda: keras.optimizers.Adagrad(0.1, weight_decay=0.05),
    "rmsprop": lambda: keras.optimizers.RMSprop(0.01),
    "rmsprop_momentum_centered": lambda: keras.optimizers.RMSprop(0.01, momentum=0.9, centered=True),
    "rmsprop_clipnorm": lambda: keras.optimizers.RMSprop(0.01, clipnorm=1.0),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    "adam_global_clipnorm": lambda: keras.optimizers.Adam(0.01, global_clipnorm=1.0),
    "adamw": lambda: keras.optimizers.AdamW(0.01, weight_decay=0.1),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
    "adamax_clipvalue": lambda: keras.optimizers.Adamax(0.01, clipvalue=0.3),
    "nadam": lambda: keras.optimizers.Nadam(0.01),
    "nadam_weight_decay": lambda: keras.optimizers.Nadam(0.01, weight_decay=0.05),
}

trajectories = {}
for name, make in configs.items():
    opt = make()
    vs = [keras.Variable(w.copy()) for w in w0]
    steps = []
    for g in grads:
        opt.apply_gradients(zip([tf.constant(x) for x in g], vs))
        steps.append([np.asarray(v.numpy(), dtype=np.float32).ravel().tolist() for v in vs])
    trajectories[name] = steps

schedules = {}
points = list(range(0, 41))
def evaluate(s):
    return [float(s(step)) for step in points]
schedules["exponential"] = evaluate(S.ExponentialDecay(0.1, 10, 0.5))
schedules["exponential_staircase"] = evaluate(S.ExponentialDecay(0.1, 10, 0.5, staircase=True))
schedules["inverse_time"] = evaluate(S.InverseTimeDecay(0.1, 5, 0.5))
schedules["inverse_time_staircase"] = evaluate(S.InverseTimeDecay(0.1, 5, 0.5, staircase=True))
schedules["piecewise"] = evaluate(S.PiecewiseConstantDecay([5, 15], [0.1, 0.05, 0.01]))
schedules["polynomial"] = evaluate(S.PolynomialDecay(0.1, 20))
schedules["polynomial_power_cycle"] = evaluate(S.PolynomialDecay(0.1, 15, end_learning_rate=0.01, power=2.0, cycle=True))
schedules["cosine"] = evaluate(S.CosineDecay(0.1, 30, alpha=0.1))
schedules["cosine_warmup"] = evaluate(S.CosineDecay(0.0, 25, warmup_target=0.2, warmup_steps=10))
schedules["cosine_restarts"] = evaluate(S.CosineDecayRestarts(0.1, 5))
schedules["cosine_restarts_t1_m05"] = evaluate(S.CosineDecayRestarts(0.1, 7, t_mul=1.0, m_mul=0.5, alpha=0.05))

# The seed's exponential schedule as a per-epoch function, lr0 * 0.1 ** (epoch / s), run through
# Keras's LearningRateScheduler on a tiny model so the values are the ones History records.
def exponential_decay_fn(epoch):
    return 0.01 * 0.1 ** (epoch / 20)

tiny = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
tiny.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
history = tiny.fit(np.zeros((4, 1), np.float32), np.zeros((4, 1), np.float32), epochs=16, verbose=0,
                   callbacks=[keras.callbacks.LearningRateScheduler(exponential_decay_fn)])
schedules["seed_history_learning_rate"] = [float(v) for v in history.history["learning_rate"]]

# One step with a NaN in the first variable's gradient (and an infinity in the second's, for the
# clipping cases): which weights Keras makes NaN, and what the others become. JSON has no NaN or
# infinity: they are written as the strings "nan", "inf" and "-inf".
def enc(x):
    return [v if np.isfinite(v) else ("nan" if np.isnan(v) else ("inf" if v > 0 else "-inf"))
            for v in np.asarray(x, dtype=np.float32).ravel().tolist()]


nf_grads = [g.copy() for g in grads[0]]
nf_grads[0].ravel()[1] = np.nan
nf_configs = {
    "sgd_clipnorm": lambda: keras.optimizers.SGD(0.05, clipnorm=0.5),
    "sgd_clipvalue": lambda: keras.optimizers.SGD(0.05, clipvalue=0.5),
    "sgd_global_clipnorm": lambda: keras.optimizers.SGD(0.05, global_clipnorm=0.5),
    "sgd_momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "adamax": lambda: keras.optimizers.Adamax(0.01),
}
non_finite = {}
for label, gs in [("nan", nf_grads)]:
    for name, make in nf_configs.items():
        opt = make()
        vs = [keras.Variable(w.copy()) for w in w0]
        opt.apply_gradients(zip([tf.constant(x) for x in gs], vs))
        non_finite[name] = [enc(v.numpy()) for v in vs]
inf_grads = [g.copy() for g in grads[0]]
inf_grads[1].ravel()[0] = np.inf
for name in ["sgd_clipnorm", "sgd_clipvalue"]:
    opt = nf_configs[name]()
    vs = [keras.Variable(w.copy()) for w in w0]
    opt.apply_gradients(zip([tf.constant(x) for x in inf_grads], vs))
    non_finite[name + "_inf"] = [enc(v.numpy()) for v in vs]

golden = {
    "generator": "tools/golden/optim.py", "keras": keras.__version__, "tensorflow": tf.__version__,
    "initial": [w.ravel().tolist() for w in w0], "shapes": [list(w.shape) for w in w0],
    "gradients": [[x.ravel().tolist() for x in g] for g in grads],
    "trajectories": trajectories, "schedule_steps": points, "schedules": schedules,
    "non_finite": {"gradients_nan": [enc(g) for g in nf_grads], "gradients_inf": [enc(g) for g in inf_grads],
                   "after_one_step": non_finite},
}
with open(OUT, "w") as f:
    json.dump(golden, f)
print("wrote", os.path.normpath(OUT))
