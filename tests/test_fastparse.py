"""The fast parser builds exactly Lark's AST, or leaves the file to Lark.

`fastparse.parse_valid` must never accept a file that Lark rejects, must
build the same nodes with the same spans (and the same `edges`, which
decide implicit multiplication), and must not give up on the valid files
gradc is actually given.
"""

from __future__ import annotations

import dataclasses
import random
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import UnexpectedInput

from compiler.errors import GradcError
from compiler.front.fastparse import parse_valid
from compiler.front.parse import _parser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from random_circuit import circuit  # noqa: E402

FILES = sorted((ROOT / "tests" / "cases").glob("*.txt")) + sorted((ROOT / "examples").glob("*.txt"))


_ARRAY_SYNTAX = re.compile(r"^[^#\n]*([:@ᵀ\[]|,\s*\w+\s*=)", re.M)


def _lark(text: str):
    try:
        return _parser().parse(text)
    except (UnexpectedInput, GradcError):
        return None


def _same_tree(fast, slow) -> bool:
    """Field-by-field equality, edges included, without recursion."""
    pending = [(fast, slow)]
    while pending:
        a, b = pending.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, tuple):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b))
        elif dataclasses.is_dataclass(a):
            pending.extend((getattr(a, f.name), getattr(b, f.name))
                           for f in dataclasses.fields(a))
        elif a != b:
            return False
    return True


def _agrees(text: str) -> bool:
    """True when the fast parser built the AST, False when it gave up."""
    fast, slow = parse_valid(text), _lark(text)
    if fast is None:
        return False
    assert slow is not None, f"accepted what Lark rejects: {text!r}"
    assert _same_tree(fast, slow), f"a different AST for {text!r}"
    return True


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_case_file_and_example(path):
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    if _ARRAY_SYNTAX.search(text):
        # Declarations, '@', 'ᵀ' and axis= are left to Lark: array files are small.
        assert parse_valid(text) is None
        return
    # Every file Lark accepts is read by the fast parser too.
    assert _agrees(text) == (_lark(text) is not None)


def test_random_circuit():
    assert _agrees(circuit(2000, seed=3))


@pytest.mark.parametrize("text", [
    "f = " + "(" * 3_000 + "x" + ")" * 3_000,
    "f = " + "σ(" * 3_000 + "x" + ")" * 3_000,
    "f = " + "x ^ " * 3_000 + "2",
    "f = " + "-" * 3_000 + "x",
])
def test_deep_nesting_does_not_recurse(text):
    # Deeper than Python's default recursion limit (1,000) three times over.
    assert _agrees(text)


@pytest.mark.parametrize("text", [
    "f = x y", "f = x 2", "f = (x", "f = x)", "f = max(x, )", "f = ()", "f = x,y",
    "f = x = y", "q = 1e999", "f = x\r", "f = x ^^ 2", "f(x, 2) = x", "f = x $ y", "2 = x",
])
def test_gives_up_on_every_error(text):
    assert parse_valid(text) is None and _lark(text) is None


# Pieces of formulas, most of them valid in most orders.
_ATOMS = ["x", "y", "q", "2", ".5", "1e3", "3.", "π", "e", "x₁", "ⅈ"]
_OPERATORS = list("+-−*/^·×÷") + ["**"]


def _expression(rng: random.Random, depth: int) -> str:
    blank = rng.choice(["", " ", "\t"])
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(_ATOMS)
    sub = lambda: _expression(rng, depth - 1)  # noqa: E731
    return rng.choice([
        lambda: sub() + blank + rng.choice(_OPERATORS) + blank + sub(),
        lambda: rng.choice("-+−") + blank + sub(),
        lambda: "(" + blank + sub() + blank + ")",
        lambda: rng.choice(["σ", "max", "f", "atan2", "x"]) + blank + "("
        + ", ".join(sub() for _ in range(rng.randint(1, 3))) + ")",
        lambda: rng.choice(["2", "3.5", "(x)", "σ(y)"]) + blank + sub(),
        lambda: sub() + blank + sub(),
    ])()


def _file(seed: int) -> str:
    rng = random.Random(seed)
    statements = [rng.choice(["a = ", "b=", "f(x, y) = ", "", "(a) = ", "+a = ", "x = "])
                  + _expression(rng, rng.randint(1, 4)) + rng.choice(["", " # c", ";"])
                  for _ in range(rng.randint(1, 3))]
    return rng.choice(["\n", "\r\n", ";", "\n\n"]).join(statements) + rng.choice(["", "\n"])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(0, 2**32))
def test_random_formulas(seed):
    _agrees(_file(seed))


_FRAGMENTS = ["x", "y", "e", "π", "σ", "(", ")", "+", "-", "−", "*", "**", "^", "/", "÷", "·",
              "=", ",", ";", "\n", "\r\n", " ", "\t", "#", "2", ".5", "1e3", "1e999", "f(",
              "max(", "₀", "\x00", "\r", "\f", "é", "@", "²"]


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join))
def test_near_formulas(text):
    _agrees(text)


def test_the_random_files_mostly_parse_fast():
    # The generators above must reach the fast parser's AST building, or
    # the agreement tests would prove little.
    assert sum(_agrees(_file(seed)) for seed in range(300)) > 150


def test_the_operators_binding_powers_come_from_the_grammar():
    from compiler import resources
    from compiler.front.fastparse import _operator_levels
    grammar = resources.read_text("grammar", "gradc.lark")
    assert _operator_levels(grammar) == (
        {"PLUS": 1, "MINUS": 1, "TIMES": 2, "DIVIDE": 2, "MATMUL": 2, "POW": 4},
        {"implicit": 2, "unary": 3}, {4})
    # Layers swapped in the grammar swap the levels the fast parser uses.
    swapped = grammar.replace("sum PLUS product", "sum TIMES product").replace(
        "product TIMES unary", "product PLUS unary")
    assert _operator_levels(swapped)[0]["PLUS"] == 2
    assert _operator_levels(swapped)[0]["TIMES"] == 1
    # A power written left-recursive would group to the left.
    assert _operator_levels(grammar.replace("postfix POW unary", "power POW unary"))[2] == set()
