"""Train softmax regression and a two-layer ReLU network on scikit-learn's
digits with the gradient gradc compiles.

    pip install -e ".[examples]"      # scikit-learn and matplotlib
    python examples/train_digits.py   # prints the loss and test accuracy, saves docs/train_digits.png

The models are the formula files examples/arrays/softmax_regression_labels.txt
and examples/arrays/two_layer_labels.txt, which read each image's class as a
label (`y: [N] of C`, through `pick`); `compiler.load` compiles each with
`wrt=` its parameters, so `grad` returns the loss and the gradients of the
weights and biases only (not of the data X; labels have none).  Training is
plain full-batch gradient descent with momentum, on 80% of the 1,797 8x8
images (standardized with the training split's mean and deviation); the
other 20% are held out and only ever used to measure the accuracy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import compiler  # noqa: E402

ARRAYS = ROOT / "examples" / "arrays"
SEED = 0


CLASSES = 10


def digits(seed: int = SEED):
    """(X_train, y_train, X_test, y_test): standardized features and the
    labels, whole numbers 0 ... 9; an 80/20 stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    data = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=seed, stratify=data.target)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0                  # pixels that are 0 in every training image
    return (X_train - mean) / std, y_train, (X_test - mean) / std, y_test


class SoftmaxRegression:
    formula = ARRAYS / "softmax_regression_labels.txt"
    params = ("W", "b")

    def __init__(self, features: int, classes: int, rng):
        self.values = {"W": 0.01 * rng.standard_normal((features, classes)),
                       "b": np.zeros(classes)}
        self.module = compiler.load(self.formula, wrt=self.params)

    def grad(self, X, y):
        v = self.values
        return self.module.grad(X, v["W"], v["b"], y)

    def scores(self, X):
        return X @ self.values["W"] + self.values["b"]


class TwoLayer:
    formula = ARRAYS / "two_layer_labels.txt"
    params = ("W1", "b1", "W2", "b2")

    def __init__(self, features: int, classes: int, rng, hidden: int = 128, reg: float = 1e-3):
        self.reg = reg
        self.values = {"W1": rng.standard_normal((features, hidden)) * np.sqrt(2.0 / features),
                       "b1": np.zeros(hidden),
                       "W2": rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden),
                       "b2": np.zeros(classes)}
        self.module = compiler.load(self.formula, wrt=self.params)

    def grad(self, X, y):
        v = self.values
        return self.module.grad(X, v["W1"], v["b1"], v["W2"], v["b2"], y, self.reg)

    def scores(self, X):
        v = self.values
        return np.maximum(X @ v["W1"] + v["b1"], 0.0) @ v["W2"] + v["b2"]


MODELS = {"softmax regression": SoftmaxRegression, "two-layer ReLU net": TwoLayer}


def accuracy(model, X, y) -> float:
    return float(np.mean(np.argmax(model.scores(X), axis=1) == y))


def train(model, X, y, X_test, y_test, steps: int, rate: float = 0.1,
          momentum: float = 0.9, every: int = 10, log=print):
    """Gradient descent with momentum on the whole training split:
    v = momentum * v - rate * grad, p = p + v.  Returns the training loss
    at each step and (step, test accuracy) every `every` steps and at the end."""
    velocity = {name: np.zeros_like(value) for name, value in model.values.items()}
    losses, accuracies = [], []
    for step in range(steps):
        loss, grads = model.grad(X, y)
        losses.append(float(loss))
        for name, gradient in zip(model.params, grads):
            velocity[name] = momentum * velocity[name] - rate * gradient
            model.values[name] = model.values[name] + velocity[name]
        if (step + 1) % every == 0 or step + 1 == steps:
            accuracies.append((step + 1, accuracy(model, X_test, y_test)))
            if log:
                log(f"  step {step + 1:4d}  loss {loss:.4f}  test accuracy "
                    f"{accuracies[-1][1]:.2%}")
    return losses, accuracies


def plot(histories: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for name, (losses, accuracies) in histories.items():
        left.plot(range(1, len(losses) + 1), losses, label=name)
        steps, values = zip(*accuracies)
        right.plot(steps, [100 * a for a in values], label=name)
    left.set(xlabel="step", ylabel="training loss (cross-entropy + L2)", yscale="log",
             title="Training loss")
    right.set(xlabel="step", ylabel="test accuracy (%)", title="Held-out accuracy (360 images)",
              ylim=(80, 100))
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle("scikit-learn digits, gradient from gradc, gradient descent with momentum")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="steps per model (default 300)")
    parser.add_argument("--rate", type=float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--momentum", type=float, default=0.9, help="(default 0.9)")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "train_digits.png"),
                        help="where to save the plot (default docs/train_digits.png); "
                             "'' for none")
    args = parser.parse_args(argv)
    X, y, X_test, y_test = digits()
    print(f"digits: {len(X)} training images, {len(X_test)} held out, "
          f"{X.shape[1]} features, {CLASSES} classes")
    histories = {}
    for name, make in MODELS.items():
        print(f"{name} ({make.formula.relative_to(ROOT)}):")
        model = make(X.shape[1], CLASSES, np.random.default_rng(SEED))
        histories[name] = train(model, X, y, X_test, y_test, args.steps, args.rate,
                                args.momentum, every=25)
        print(f"  final test accuracy {histories[name][1][-1][1]:.2%}")
    if args.plot:
        plot(histories, Path(args.plot))
        print(f"saved {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
