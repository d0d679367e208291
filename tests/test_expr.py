"""The gate table's snippets as trees (compiler/gates/expr.py) and the
printers that spell them per target (compiler/emit/printers.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy
import pytest

from compiler.emit.printers import UFUNCS, printer
from compiler.gates import GATES, expr
from compiler.gates.expr import BinOp, Field, Function, Call, Number, UnaryOp, parse
from conftest import ROOT

RANKS = ((0,), (1,), (2,), (0, 0), (1, 1), (1, 2), (2, 1), (2, 2))


def _texts(form, count):
    forward = form.forward(count) if callable(form.forward) else form.forward
    local = tuple(form.local(i, count) for i in range(count)) if callable(form.local) \
        else form.local
    return (forward, *local)


def _table_snippets() -> set[str]:
    found = set()
    for row in GATES.values():
        forms = [row.form(), *(form for _, form in row.forms)] + [row.compact] * bool(row.compact)
        for form in forms:
            found.update(_texts(form, max(row.arity, 3) if row.variadic else row.arity))
        for rule in (row.vjp, *(form.vjp for _, form in row.forms)):
            found.update(rule(i, ranks) for ranks in RANKS if len(ranks) == row.arity
                         for i in range(row.arity) if rule)
    return {text for text in found if text}


SNIPPETS = sorted(_table_snippets())


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_every_snippet_prints_back_to_itself_in_its_own_spelling(snippet):
    target = "array-api" if "xp." in snippet else "numpy" if "np." in snippet else "math"
    # `print` spells the tree as it is; calling the printer also lowers it to
    # what the target computes (array-api: NumPy's calls in the standard's terms).
    assert printer(target).print(parse(snippet)) == snippet


@pytest.mark.parametrize("tree, math_code", [
    (BinOp("*", BinOp("+", Field("a"), Field("b")), Field("c")), "({a} + {b}) * {c}"),
    (BinOp("-", Field("a"), BinOp("-", Field("b"), Field("c"))), "{a} - ({b} - {c})"),
    (BinOp("-", BinOp("-", Field("a"), Field("b")), Field("c")), "{a} - {b} - {c}"),
    (UnaryOp("-", BinOp("**", Field("a"), Number("2"))), "-{a}**2"),
    (BinOp("**", UnaryOp("-", Field("a")), Number("2")), "(-{a})**2"),
    (BinOp("**", Number("-2"), Field("a")), "(-2)**{a}"),
    (BinOp("/", Field("g"), Field("size_a")), "{g} / ({size_a})"),
    (expr.Attr(BinOp("<", Field("a"), Field("b")), "T"), "({a} < {b}).T"),
    (BinOp("<", BinOp("<", Field("a"), Field("b")), Field("c")), "({a} < {b}) < {c}"),
])
def test_a_made_tree_gets_the_parentheses_precedence_needs(tree, math_code):
    assert printer("math")(tree) == math_code


@pytest.mark.parametrize("target, code", [
    ("math", "math.asin({a}) + math.pow({a}, 2)"),
    ("numpy", "np.arcsin({a}) + np.power({a}, 2)"),
    ("numba", "np.arcsin({a}) + np.power({a}, 2)"),
    ("array-api", "xp.asin({a}) + xp.pow({a}, 2)"),
])
def test_one_tree_is_spelled_by_each_target(target, code):
    assert printer(target)(parse("math.asin({a}) + math.pow({a}, 2)")) == code
    assert printer(target)(parse("np.arcsin({a}) + np.power({a}, 2)")) == code


def test_the_module_name_and_bare_calls_are_the_printers():
    tree = parse("math.exp({a}) * math.log({a})")
    assert printer("numpy", module="np_")(tree) == "np_.exp({a}) * np_.log({a})"
    bare = printer("math", bare=frozenset({"log"}))
    assert bare(tree) == "exp({a}) * math.log({a})"
    assert bare.bare_names == {"exp"} and bare.calls_module


def test_the_array_api_printer_writes_numpy_calls_the_standard_lacks():
    print_ = printer("array-api")
    assert print_(parse("np.outer({g}, {b})")) == "xp.expand_dims({g}, axis=1) * {b}"
    assert print_(parse("np.full({shape_a}, {g} / ({size_a}))")) == \
        "xp.ones_like({a}) * ({g} / ({size_a}))"
    assert print_(parse("(({a} == {out}) & ({b} != {out})).astype(float)")) == \
        "xp.astype((({a} == {out}) & ({b} != {out})), dtype)"
    assert print_(parse("{g}[:, None] * {a}")) == "xp.expand_dims({g}, axis=1) * {a}"


def test_written_parentheses_that_precedence_does_not_need_are_kept():
    assert parse("-1.0 / ({a}**2)").right == expr.Group(BinOp("**", Field("a"), Number("2")))
    assert parse("(1 - {out}) * {out}").left == BinOp("-", Number("1"), Field("out"))
    assert parse("-1") == Number("-1")


def test_fields_and_map_fields():
    tree = parse("{b} * math.pow({a}, {b} - 1)")
    assert expr.fields(tree) == ("b", "a", "b")
    renamed = expr.map_fields(tree, lambda field: Field(field.name.upper()))
    assert printer("math")(renamed) == "{B} * math.pow({A}, {B} - 1)"
    assert renamed.right == Call(Function("pow"), (Field("A"), BinOp("-", Field("B"),
                                                                       Number("1"))))


def test_text_outside_the_language_is_refused():
    for text in ("lambda: 1", "{a}[1:2]", "+{a}", "{a} < {b} < {c}"):
        with pytest.raises((ValueError, SyntaxError)):
            parse(text)


def test_the_ufuncs_named_are_numpys_ufuncs():
    assert all(isinstance(getattr(numpy, name), numpy.ufunc) for name in UFUNCS)
    called = {printer("numpy").known.get(node.func.name, node.func.name)
              for text in SNIPPETS for node in expr.walk(parse(text))
              if isinstance(node, Call) and isinstance(node.func, Function)}
    ufuncs = {name for name in called if "." not in name
              and isinstance(getattr(numpy, name, None), numpy.ufunc)}
    assert ufuncs <= UFUNCS


def test_compiling_for_numpy_does_not_import_numpy():
    code = ("import sys; from compiler import compile_source; "
            "compile_source('f = exp(x) * y', target='numpy'); "
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
