"""examples/train_digits.py, a few steps of it: the loss goes down, and the
gradient the compiled modules return is the hand-written backward pass's.

It needs scikit-learn (the digits) and, for the plot, matplotlib: the
`examples` extra, which CI installs.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from helpers import softmax_rows, two_layer_by_hand
from conftest import EXAMPLES

pytest.importorskip("sklearn", reason="the training example needs scikit-learn's digits: "
                                      "pip install -e '.[examples]'")


def _example():
    spec = importlib.util.spec_from_file_location("train_digits", EXAMPLES / "train_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


train_digits = _example()


@pytest.fixture(scope="module")
def data():
    return train_digits.digits()


def test_the_split_is_held_out_and_standardized(data):
    X, y, X_test, y_test = data
    assert (len(X), len(X_test)) == (1437, 360)
    assert y.shape == (1437,) and set(np.unique(y)) == set(range(10))
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    assert set(np.unique(y_test)) == set(range(10))


@pytest.mark.parametrize("name", list(train_digits.MODELS))
def test_a_few_steps_bring_the_loss_down(data, name):
    X, y, X_test, y_test = data
    model = train_digits.MODELS[name](X.shape[1], 10, np.random.default_rng(0))
    losses, accuracies = train_digits.train(model, X, y, X_test, y_test, steps=8, every=4,
                                            log=None)
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0]
    assert [step for step, _ in accuracies] == [4, 8]
    assert accuracies[-1][1] > 0.8


def _close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-14)


def test_softmax_regression_gradient_is_the_hand_written_one(data):
    X, y = data[:2]
    Y = np.eye(10)[y]
    model = train_digits.SoftmaxRegression(X.shape[1], 10, np.random.default_rng(1))
    loss, (dW, db) = model.grad(X, y)
    W, b = model.values["W"], model.values["b"]
    probs = softmax_rows(X @ W + b)
    dscores = (probs - Y) / len(X)
    _close(loss, -np.sum(Y * np.log(probs)) / len(X))
    _close(dW, X.T @ dscores)
    _close(db, dscores.sum(axis=0))


def test_two_layer_gradient_is_the_hand_written_one_after_training(data):
    X, y, X_test, y_test = data
    Y = np.eye(10)[y]
    model = train_digits.TwoLayer(X.shape[1], 10, np.random.default_rng(2), reg=0.01)
    # some steps first, so that the ReLUs and the softmax are not at their start
    train_digits.train(model, X, y, X_test, y_test, steps=3, log=None)
    loss, grads = model.grad(X, y)
    W1, b1, W2, b2 = (model.values[name] for name in model.params)
    expected, hand, hidden = two_layer_by_hand(X, Y, W1, b1, W2, b2, model.reg)
    assert 0 < np.mean(hidden > 0) < 1
    _close(loss, expected)
    assert len(grads) == 4                  # wrt= the parameters: no dX; labels have none
    for actual, wanted in zip(grads, hand):
        _close(actual, wanted)


def test_the_plot_is_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib: "
                                             "pip install -e '.[examples]'")
    path = tmp_path / "train.png"
    histories = {"model": ([2.0, 1.0, 0.5], [(1, 0.9), (3, 0.95)])}
    train_digits.plot(histories, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
