"""A small numpy training job for the `envsnap repro --image` test: seeded linear regression by
gradient descent; writes weights.npy and metrics.json into the working directory."""

import json

import numpy as np

rng = np.random.default_rng(0)
x = rng.standard_normal((512, 16))
y = x @ rng.standard_normal(16) + 0.1 * rng.standard_normal(512)
w = np.zeros(16)
for _ in range(300):
    grad = x.T @ (x @ w - y) / len(y)
    w -= 0.05 * grad
np.save("weights.npy", w)
with open("metrics.json", "w") as fh:
    json.dump({"mse": float(np.mean((x @ w - y) ** 2))}, fh)
