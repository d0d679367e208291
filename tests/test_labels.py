"""Class labels (LANGUAGE.md §8): `y: [N] of C`, `pick` and `onehot`.

CS231n's softmax and multiclass SVM losses, written by hand here in
vectorized NumPy as the course's assignment writes them, are the reference
for examples/arrays/softmax_loss.txt and svm_loss.txt."""

from __future__ import annotations

import numpy as np
import pytest

from compiler import GradcError, compile_source
from compiler.cli import main
from conftest import EXAMPLES, build

RNG = np.random.default_rng(231)


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y])) / num_train + reg * np.sum(W * W)
    dscores = probs.copy()
    dscores[np.arange(num_train), y] -= 1
    dscores /= num_train
    dW = X.T.dot(dscores) + 2 * reg * W
    return loss, dW


def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(num_train), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    binary = (margins > 0).astype(float)
    binary[np.arange(num_train), y] = -np.sum(binary, axis=1)
    dW = X.T.dot(binary) / num_train + 2 * reg * W
    return loss, dW


def _data(N=50, D=20, C=10):
    return (RNG.standard_normal((D, C)) * 0.01, RNG.standard_normal((N, D)),
            RNG.integers(0, C, N), 0.1)


@pytest.mark.parametrize("name, reference", [("softmax_loss", softmax_loss_vectorized),
                                             ("svm_loss", svm_loss_vectorized)])
@pytest.mark.parametrize("target", ["numpy", "array-api"])
def test_cs231n_losses_agree_with_the_courses_vectorized_numpy(name, reference, target):
    module = build((EXAMPLES / "arrays" / f"{name}.txt").read_text(encoding="utf-8"),
                   target=target)
    assert module.INPUTS == ("W", "X", "y", "reg")
    for _ in range(3):
        W, X, y, reg = _data()
        loss, (dW, dX, dreg) = module.grad(W, X, y, reg)
        expected, expected_dW = reference(W, X, y, reg)
        assert float(loss) == pytest.approx(expected, rel=1e-12)
        np.testing.assert_allclose(np.asarray(dW), expected_dW, rtol=1e-12, atol=1e-14)
        assert float(dreg) == pytest.approx(np.sum(W * W), rel=1e-12)


def test_pick_and_onehot_compute_what_numpy_indexing_does():
    module = build("S: [N, C]\nv: [C]\ny: [N] of C\nZ = onehot(y) * 2 + outer(pick(S, y), v)")
    S, v, y = RNG.standard_normal((4, 3)), RNG.standard_normal(3), np.array([2, 0, 1, 2])
    Z, cache = module.forward(S, v, y)
    assert Z.tolist() == (np.eye(3)[y] * 2 + np.outer(S[np.arange(4), y], v)).tolist()
    G = RNG.standard_normal((4, 3))
    dS, dv = module.backward(cache, G)
    scattered = np.zeros((4, 3))
    scattered[np.arange(4), y] = G @ v
    assert dS.tolist() == scattered.tolist()


def test_labels_get_no_gradient_and_a_number_counts_classes():
    module = build("S: [N, 3]\ny: [N] of 3\nf = sum(pick(S, y))")
    value, gradient = module.grad(np.arange(6.0).reshape(2, 3), [1, 2])
    assert value == 1.0 + 5.0
    assert len(gradient) == 1 and gradient[0].tolist() == [[0, 1, 0], [0, 0, 1]]


@pytest.mark.parametrize("target", ["numpy", "array-api"])
@pytest.mark.parametrize("labels, message", [
    ([0, 1.5], "y holds class labels, which are whole numbers, but "),
    ([0, 3], "y holds class labels in 0 ... 2, but "),
    ([-1, 0], "y holds class labels in 0 ... 2, but "),
])
def test_labels_out_of_range_or_not_whole_raise_naming_the_input(target, labels, message):
    module = build("S: [N, C]\ny: [N] of C\nf = sum(pick(S, y))", target=target)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        module.forward(np.zeros((2, 3)), np.array(labels, dtype=float))


def test_wrt_refuses_labels(tmp_path, capsys):
    path = tmp_path / "loss.txt"
    path.write_text("S: [N, C]\ny: [N] of C\nf = sum(pick(S, y))\n", encoding="utf-8")
    assert main(["compile", str(path), "--wrt", "y", "-o", str(tmp_path / "out.py")]) == 2
    assert "--wrt names 'y', which holds class labels: labels are data and have no " \
           "gradient" in capsys.readouterr().err
    assert not (tmp_path / "out.py").exists()


@pytest.mark.parametrize("text, expected", [
    ("S: [N, C]\ny: [N] of C\nf = sum(S * y)",
     "3:13: 'y' holds class labels, which are read only through pick(S, y) or onehot(y)"),
    ("S: [N, C]\nz: [N]\nf = sum(pick(S, z))",
     "3:17: pick reads labels here: an input declared as y: [N] of C"),
    ("S: [N, C]\ny: [N, C] of C\nf = sum(pick(S, y))",
     "2:1: labels are a vector, one class number per example: declare them as y: [N] of C"),
    ("S: [N, D]\ny: [N] of C\nf = sum(onehot(y))",
     "2:11: 'C' counts the classes of y but no array has it in its shape, so no call would "
     "say how many there are: write the number (y: [...] of 10), or declare the scores' "
     "shape with it"),
    ("S: [N, D]\ny: [N] of C\nx: [C]\nf = sum(pick(S, y))",
     "4:9: pick(S, y): S is [N, D] and y is [N] of C; pick needs S to be [N, C]"),
])
def test_labels_are_read_only_through_pick_and_onehot(text, expected):
    with pytest.raises(GradcError) as caught:
        compile_source(text)
    assert f"{caught.value.span}: {caught.value.message}" == expected


@pytest.mark.parametrize("target", ["numpy"])
def test_the_forward_rule_of_a_labelled_loss_matches_central_differences(target):
    text = (EXAMPLES / "arrays" / "svm_loss.txt").read_text(encoding="utf-8")
    module = build(text, target=target, second_order=("jvp",))
    W, X, y, reg = _data(N=6, D=4, C=3)
    v_W, v_X = RNG.standard_normal(W.shape), RNG.standard_normal(X.shape)
    value, tangent = module.jvp(W, X, y, reg, v_W=v_W, v_X=v_X)
    step = 1e-6
    estimate = (module.loss(W + step * v_W, X + step * v_X, y, reg)
                - module.loss(W - step * v_W, X - step * v_X, y, reg)) / (2 * step)
    assert float(tangent) == pytest.approx(float(estimate), rel=1e-7)
    # onehot's rows are constants: the tangent of a loss through them.
    onehot = build("S: [N, C]\ny: [N] of C\nf = sum(onehot(y) * S * S)", target=target,
                   second_order=("jvp",))
    S = RNG.standard_normal((3, 4))
    _, tangent = onehot.jvp(S, np.array([0, 3, 1]), v_S=np.ones((3, 4)))
    assert float(tangent) == pytest.approx(2 * (S[0, 0] + S[1, 3] + S[2, 1]), rel=1e-14)


@pytest.mark.parametrize("labels, message", [
    ([0, 1.5], "y holds class labels, which are whole numbers, but it has 1.5"),
    ([0, 3], "y holds class labels in 0 ... 2, but it has 3"),
    ([-1, 0], "y holds class labels in 0 ... 2, but it has -1"),
])
def test_the_numpy_label_check_shows_the_offending_label_as_written(labels, message):
    module = build("S: [N, C]\ny: [N] of C\nf = sum(pick(S, y))", target="numpy")
    with pytest.raises(ValueError) as raised:
        module.forward(np.zeros((2, 3)), np.array(labels, dtype=float))
    assert str(raised.value) == message


def test_a_class_count_written_as_a_number_sizes_onehot():
    module = build("X: [N, D]\ny: [N] of 3\nZ = onehot(y) * sum(X, axis=1)")
    Z = module.Z(np.ones((2, 4)), [2, 0])
    assert Z.tolist() == [[0.0, 0.0, 4.0], [4.0, 0.0, 0.0]]
