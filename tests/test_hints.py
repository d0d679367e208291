"""Messages for what a NumPy or lecture reader writes first: each names
the language's own spelling.  The whole report is compared: location, the
line, the caret and the words, with exit status 2 and no file written."""

from __future__ import annotations

import pytest

from compiler.cli import main

_INDEXING = ("indexing is not part of the language, which works on whole arrays: for each "
             "row's entry at its label, as S[range(N), y], declare the labels y: [N] of C "
             "and write pick(S, y), or onehot(y) * S")
_FUNCTIONS = ("abs, acos, arccos, arcsin, arctan, asin, atan, atan2, cos, cosh, exp, expm1, "
              "ln, log, log1p, log_softmax, logsumexp, max, mean, min, norm, onehot, outer, "
              "pick, relu, sigmoid, sin, sinh, softmax, softplus, sqrt, sum, tan, tanh, "
              "transpose, σ")

REPORTS = {
    "index": ("S: [N, C]\nl = -log(softmax(S))[0, 1]\n",
              f"2:21: error: {_INDEXING}\nl = -log(softmax(S))[0, 1]\n                    ^"),
    "index_vector": ("x: [D]\nf = x[0] * 2\n",
                     f"2:6: error: {_INDEXING}\nf = x[0] * 2\n     ^"),
    "index_transpose": ("x: [D]\nf = x @ xᵀ[1]\n",
                        f"2:11: error: {_INDEXING}\nf = x @ xᵀ[1]\n          ^"),
    "slice_in_call": ("x: [D]\nf = sum(x[0:2])\n",
                      f"2:10: error: {_INDEXING}\nf = sum(x[0:2])\n         ^"),
    "numpy_transpose": ("W: [H, D]\nx: [H]\nf = sum(W.T @ x)\n",
                        "3:10: error: '.T' is not part of the language: write Wᵀ or "
                        "transpose(W) for the transpose\nf = sum(W.T @ x)\n         ^"),
    "numpy_dot": ("W: [H, D]\nX: [D, N]\nD2 = W.dot(X)\n",
                  "3:7: error: '.dot' is not part of the language: write W @ X for the "
                  "matrix product\nD2 = W.dot(X)\n      ^"),
    "numpy_method": ("W: [H, D]\nf = W.sum()\n",
                     "2:6: error: '.' is not part of the language, which has no attributes or "
                     "methods: write Wᵀ for the transpose, W @ X for the matrix product, and "
                     "functions as calls, sum(W)\nf = W.sum()\n     ^"),
    "index_spaced": ("x: [D]\nf = x [0]\n",
                     f"2:7: error: {_INDEXING}\nf = x [0]\n      ^"),
    "shape_without_colon": ("X [N, D]\nf = sum(X)\n",
                            "1:3: error: expected ':' between the name and its shape, as in "
                            "X: [N, D]\nX [N, D]\n  ^"),
    "parameter_shape_without_colon": ("f(a, X [N, D]) = sum(X)\n",
                                      "1:8: error: expected ':' between the name and its "
                                      "shape, as in X: [N, D]\nf(a, X [N, D]) = sum(X)\n"
                                      "       ^"),
    "index_after_signature": ("f(X: [N, D]) = sum(X[0])\n",
                              f"1:21: error: {_INDEXING}\nf(X: [N, D]) = sum(X[0])\n"
                              "                    ^"),
    "numpy_transpose_of_group": ("X: [N, D]\nf = sum((X + 1).T)\n",
                                 "2:16: error: '.T' is not part of the language: write (...)ᵀ "
                                 "or transpose(...) for the transpose\nf = sum((X + 1).T)\n"
                                 "               ^"),
    "stray_dot": ("f = x + .\n",
                  "1:9: error: unexpected character '.': expected a name, a number, an "
                  "operator (+ - * / ^), a parenthesis or a comma\nf = x + .\n        ^"),
    "names_side_by_side_arrays": (
        "z(x: [1, M], W: [M, N]) = xW\n",
        "1:27: error: 'xW' is not an input of z(x, W): letters written together make one "
        "name; to multiply, write x @ W, or list it in the signature or assign it\n"
        "z(x: [1, M], W: [M, N]) = xW\n                          ^"),
    "names_side_by_side_numbers": (
        "z(x, w1, b) = xw1b\n",
        "1:15: error: 'xw1b' is not an input of z(x, w1, b): letters written together make "
        "one name; to multiply, write x * w1 * b, or list it in the signature or assign it\n"
        "z(x, w1, b) = xw1b\n              ^"),
    "unknown_name": ("f(x, y) = xz\n",
                     "1:11: error: 'xz' is not an input of f(x, y): list it in the signature "
                     "or assign it\nf(x, y) = xz\n          ^"),
    "unknown_function": ("y = conv(x, w)\n",
                         f"1:5: error: unknown function 'conv': the functions are {_FUNCTIONS}\n"
                         "y = conv(x, w)\n    ^"),
    "input_called": ("f(a, x) = a(x + 1)\n",
                     "1:11: error: 'a' is a variable, not a function: write a*(...) to "
                     "multiply\nf(a, x) = a(x + 1)\n          ^"),
    "minus_as_typed": ("S: [N, C]\nm = sum(min(S - 1, -1))\n",
                       "2:9: error: min(S - 1, -1): -1 after an array could be an axis or a "
                       "number: write min(S - 1, axis=-1) for the min along axis -1, or "
                       "min(S - 1, -1.0) for the elementwise min of S - 1 and -1\n"
                       "m = sum(min(S - 1, -1))\n        ^"),
    "unicode_minus_in_ascii": ("X: [N, D]\nm: [K]\nf = sum(X − m)\n",
                               "3:11: error: X - m: X is [N, D] and m is [K]; shapes broadcast "
                               "only where their dimensions agree from the last axis (D and K "
                               "differ)\nf = sum(X − m)\n          ^"),
}


@pytest.mark.parametrize("name", REPORTS)
def test_the_report_names_the_language_s_spelling(name, tmp_path, capsys, monkeypatch):
    text, report = REPORTS[name]
    (tmp_path / "f.txt").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["compile", "f.txt", "-o", "f.py"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"f.txt:{report}\n"
    assert "Traceback" not in captured.err + captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
