"""The array gates of LANGUAGE.md §8: NumPy code, each with a backward rule
over the upstream gradient `{g}` for its operands' ranks, and a shape rule
(compiler/passes/shapes.py).  Rows of the gate table like any other."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from compiler.gates.row import ConstForm, Form, Gate


def _matmul_vjp(index: int, ranks: tuple[int, ...]) -> str:
    """The lecture's dimension analysis: for D = W @ X, dW = dD @ X.T and
    dX = W.T @ dD; a vector's side of a matrix product is an outer product,
    and two vectors make a dot product."""
    a, b = ranks
    if a == 1 and b == 1:
        return ("{g} * {b}", "{g} * {a}")[index]
    if index == 0:
        return "np.outer({g}, {b})" if b == 1 else "{g} @ {b}.T"
    return "np.outer({a}, {g})" if a == 1 else "{a}.T @ {g}"


def fixed(*rules: str) -> Callable[[int, tuple[int, ...]], str]:
    return lambda index, ranks: rules[index]


AXES = ("", "0", "1")
_KEEP = {"": "", "-1": "", "0": "", "1": "[:, None]"}
"""How a reduction's gradient regains the axis it removed: NumPy lines
shapes up at the last axis, so only a matrix's axis 1 must be put back."""


def _axis_rows(name: str, forward: str, vjp: str, jvp: str, symbol: str,
               rule: str = "reduce", axes=AXES, spelled: bool = True,
               forms=lambda fill: (), kink: str | None = None,
               kink_at: str | None = None, helpers=lambda axis: ()) -> list[Gate]:
    """A function of an array with an optional axis: one row for every entry
    (`sum(A)`) and one per axis (`sum(A, 1)`, the row `sum1`), which the
    first row's constant forms choose.  In the snippets, `{axis}` is
    `, axis=k` (or nothing) and `{keep}` how `{g}` regains the axis; `vjp`
    is the backward rule and `jvp` the forward rule."""
    def row(axis: str, **extra) -> Gate:
        fill = _Keep(axis=f", axis={axis}" if axis else "", keep=_KEEP[axis],
                     # The spread of a reduction's gradient over the operand's
                     # shape, made from its sizes alone: `(N, D)`, `N * D`.
                     spread=f"np.ones({{shape_a}}) * {{g}}{_KEEP[axis]}" if axis.isdigit()
                     else "np.full({shape_a}, {g})",
                     mean=f"np.ones({{shape_a}}) * ({{g}}{_KEEP[axis]} / {{axis_a}})"
                     if axis.isdigit() else "np.full({shape_a}, {g} / ({size_a}))")
        first = axis == axes[0]
        return Gate(name if first else name + axis, (name,) if first and spelled else (), 1,
                    forward.format_map(fill), ("",), f"{symbol}{{a}}", symbol, symbol,
                    notation=f"{name}({{a}}{', ' + axis if axis.isdigit() else ''})" if spelled
                    else f"{symbol}({{a}}{', axis=' + axis if axis.isdigit() else ''})",
                    shape_rule=rule, axis=int(axis) if axis else None,
                    vjp=fixed(vjp.format_map(fill)), jvp=fixed(jvp.format_map(fill)),
                    forms=forms(fill), kink=kink,
                    kink_at=kink_at and kink_at.format_map(fill), helpers=helpers(axis),
                    **extra)
    if not spelled:  # the reductions of a function that is elementwise too: max(A)
        return [row(axis) for axis in axes]
    return [row(axes[0], optional=1, const_forms=_axis_forms(name, axes[1:]),
                axis_rows=_axis_names(name, axes)),
            *(row(axis) for axis in axes[1:])]


def _axis_names(name: str, axes=AXES) -> tuple[str, ...]:
    return tuple(name if axis == axes[0] else name + axis for axis in axes)


def _axis_forms(name: str, axes) -> tuple[ConstForm, ...]:
    return tuple(ConstForm(1, name + axis, float(axis)) for axis in axes)


def _spreading(rows: list[Gate]) -> list[Gate]:
    """The rows of a sum: of every entry, its gradient is the upstream
    number spread over the operand (Gate.spreads)."""
    return [replace(rows[0], spreads=True), *rows[1:]]


def _softmax_rows() -> list[Gate]:
    """softmax is exp(log_softmax): each entry is exp of a number <= 0, and
    log(softmax(S)) is log_softmax(S) once log(exp(·)) is rewritten."""
    def row(axis: str, **extra) -> Gate:
        return Gate("softmax" + axis, ("softmax",) if not axis else (), 1, "", ("",),
                    "softmax{a}", "softmax", "softmax", notation="softmax({a})",
                    shape_rule="along", axis=int(axis) if axis else -1,
                    staged_as=("exp", ("log_softmax" + axis, 0)), **extra)
    return [row("", optional=1, const_forms=_axis_forms("softmax", ("0", "1")),
                axis_rows=_axis_names("softmax")),
            row("0"), row("1")]


def _extremum_rows(name: str) -> list[Gate]:
    """`max(A)`, `max(A, axis=k)`: the largest entry, of all or along an
    axis.  At a tie every tied entry gets an equal share of the gradient, as
    JAX and PyTorch's amax do, so the shares add up to the upstream."""
    tied = "({a} == {out}{keep})"
    rule = "{g}{keep} * " + tied + " / np.sum(" + tied + "{axis}, keepdims=True)"
    # The tangent by the same convention: the mean of the tied entries' tangents.
    tangent = "np.sum(" + tied + " * {t}{axis}) / np.sum(" + tied + "{axis})"

    def forms(fill):
        # The standard multiplies no booleans: they are cast to the inputs'
        # type; and it regains an axis with expand_dims.
        def kept(value: str) -> str:
            return f"xp.expand_dims({value}, axis=1)" if fill["keep"] else value
        tied_xp = f"xp.astype({{a}} == {kept('{out}')}, dtype)"
        rule_xp = f"{kept('{g}')} * {tied_xp} / xp.sum({tied_xp}{fill['axis']}, keepdims=True)"
        tangent_xp = f"xp.sum({tied_xp} * {{t}}{fill['axis']}) / xp.sum({tied_xp}{fill['axis']})"
        return (("array-api", Form(f"xp.{name}({{a}}{fill['axis']})", ("",), fixed(rule_xp),
                                   fixed(tangent_xp))),)
    return _axis_rows("a" + name, f"np.{name}({{a}}{{axis}})", rule, tangent, name,
                      spelled=False, forms=forms,
                      kink=f"{name} tie: the tied entries share the gradient evenly by "
                           "convention",
                      kink_at="np.sum(" + tied + "{axis}) > 1")


class _Keep(dict):
    """Fills the axis fields of a snippet and leaves its placeholders."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


_MAX_KEPT = "np.max({a}{axis}, keepdims=True)"
# Each row's picked entry marked, for the scatter of pick's gradient.
_PICKED = "(np.arange({axis_a}) == {b}[:, None])"
_MARKED_XP = "xp.arange({axis_a}, device=device) == xp.expand_dims({b}, axis=1)"
_PICKED_XP = f"xp.astype({_MARKED_XP}, dtype)"
# The picked entries summed out of each row with the others set to 0, not
# multiplied by 0, which makes a masked-out logit of -inf NaN.
_PICK_XP = "xp.sum(xp.where(" + _MARKED_XP + ", {a}, xp.zeros_like({a})), axis=1)"
_ONEHOT = "(np.arange({b}) == {a}[:, None])"


def _log_sum(keep: str, count: str) -> str:
    """log Σ exp({a} - max) along the row's axis, as log1p of the sum
    without one largest term (whose exp is 1): log of 1 + tiny would lose
    the tiny part, the whole of logsumexp([0, -40]) - 0.  The maxima's
    count, less one, is added back exactly; `count` spells it."""
    rest = f"np.sum(np.where({{a}} < {_MAX_KEPT}, np.exp({{a}} - {_MAX_KEPT}), 0.0){{axis}}{keep})"
    return f"np.log1p({rest} + ({count} - 1))"


def _count(keep: str) -> str:
    """The number of entries at the maximum: numpy sums booleans."""
    return f"np.sum({{a}} == {_MAX_KEPT}{{axis}}{keep})"


def _count_xp(keep: str) -> str:
    """The same in the standard, which sums numbers only."""
    return f"np.sum(np.astype({{a}} == {_MAX_KEPT}, dtype){{axis}}{keep})"


def _log_sum_forms(fill, forward: str, keep: str):
    """The row's array-api code: numpy's, with the count in the standard's terms."""
    counted = forward.replace(_count(keep), _count_xp(keep)).replace("np.", "xp.")
    return (("array-api", Form(counted.format_map(fill), ("",))),)


_LSE = "np.max({a}{axis}) + " + _log_sum("", _count(""))
# log_softmax from the shifted entries {p} = a - max, a stage of its own
# (`helpers`), so that each row's maximum is computed once: the entries
# below the maximum are those below 0, and exp sees only numbers <= 0.
_COUNT_SHIFTED = "np.sum({p} == 0{axis}, keepdims=True)"
_LSM = ("{p} - np.log1p(np.sum(np.where({p} < 0, np.exp({p}), 0.0){axis}, keepdims=True)"
        " + (" + _COUNT_SHIFTED + " - 1))")
# The shift's own rules, which no backward line reads (log_softmax does not
# change with it): at the maximum ({out} == 0) the gradient is shared, as max's is.
_AT_MAX = "({out} == 0)"
_SHIFT_VJP = ("{g} - " + _AT_MAX + " * np.sum({g}{axis}, keepdims=True) / np.sum("
              + _AT_MAX + "{axis}, keepdims=True)")
_SHIFT_JVP = ("{t} - np.sum(" + _AT_MAX + " * {t}{axis}, keepdims=True) / np.sum("
              + _AT_MAX + "{axis}, keepdims=True)")


def _lsm_forms(fill):
    """log_softmax in the standard, which sums numbers only."""
    counted = _LSM.replace(_COUNT_SHIFTED, "np.sum(np.astype({p} == 0, dtype){axis}, keepdims=True)")
    return (("array-api", Form(counted.replace("np.", "xp.").format_map(fill), ("",))),)
ARRAY_ROWS: tuple[Gate, ...] = (
    Gate("matmul", ("@",), 2, "{a} @ {b}", ("", ""), "{a}{b}", "matmul", "@",
         notation="{a} @ {b}", shape_rule="matrix_product", vjp=_matmul_vjp, vjp_note=True,
         # The product rule; `@` pairs any ranks as the product itself did.
         jvp=fixed("{t} @ {b}", "{a} @ {t}"), row_vector_left=True),
    Gate("transpose", ("transpose",), 1, "{a}.T", ("",), "{a}T", "tr", "ᵀ",
         notation="{a}ᵀ", shape_rule="swap_axes", vjp=fixed("{g}.T"), jvp=fixed("{t}.T"),
         vector_as_row=True),
    Gate("outer", ("outer",), 2, "np.outer({a}, {b})", ("", ""), "{a}{b}", "outer", "⊗",
         notation="outer({a}, {b})", shape_rule="outer_product", vjp=fixed("{g} @ {b}", "{a} @ {g}"),
         jvp=fixed("np.outer({t}, {b})", "np.outer({a}, {t})"), vjp_note=True),
    Gate("norm", ("norm",), 1, "np.linalg.norm({a})", ("",), "norm{a}", "norm", "‖·‖",
         notation="‖{a}‖", shape_rule="reduce",
         # 0 at the zero array by convention: there {a} is 0 and so is the quotient.
         vjp=fixed("{g} * {a} / np.where({out} > 0, {out}, 1.0)"),
         jvp=fixed("np.sum({a} * {t}) / np.where({out} > 0, {out}, 1.0)")),
    *_spreading(_axis_rows("sum", "np.sum({a}{axis})", "{spread}", "np.sum({t}{axis})", "sum")),
    *_axis_rows("mean", "np.mean({a}{axis})", "{mean}", "np.mean({t}{axis})", "mean"),
    # The max shift makes exp see only numbers <= 0; its gradient cancels
    # exactly, so the rules treat it as a constant.
    *_axis_rows("logsumexp", _LSE,
                "{g}{keep} * np.exp({a} - {out}{keep})",
                # The softmax-weighted sum of the tangent, the softmax again
                # as exp of a number <= 0.
                "np.sum(np.exp({a} - {out}{keep}) * {t}{axis})", "lse",
                forms=lambda fill: _log_sum_forms(fill, _LSE, "")),
    *_axis_rows("shift", "{a} - " + _MAX_KEPT, _SHIFT_VJP, _SHIFT_JVP, "shift", rule="along",
                axes=("-1", "0", "1"), spelled=False),
    *_axis_rows("log_softmax", _LSM,
                "{g} - np.exp({out}) * np.sum({g}{axis}, keepdims=True)",
                "{t} - np.sum(np.exp({out}) * {t}{axis}, keepdims=True)", "lsm",
                rule="along", axes=("-1", "0", "1"), forms=_lsm_forms,
                helpers=lambda axis: (("p", ("shift" + axis if axis != "-1" else "shift", 0)),)),
    *_softmax_rows(),
    *_extremum_rows("max"),
    *_extremum_rows("min"),
    # Alignment by name (§8): `m` of `X - m`, for X: [N, D] and m: [N], as a
    # column [N, 1]; the column's gradient, summed back over the row by the
    # stage that broadcast it, is a vector again.
    # Labels (§8): S[range(N), y] and its scatter back into the picked
    # entries; the labels as rows of 0 and 1.  The standard has no indexing
    # by arrays: each row's entries are marked by comparing whole numbers
    # (arange(C) with the labels), and the marked entry is summed out.
    Gate("pick", ("pick",), 2, "{a}[np.arange({a}.shape[0]), {b}]", ("", ""), "{a}at{b}",
         "pick", "pick", notation="pick({a}, {b})", shape_rule="picked", axis=1,
         label_operands=(1,), vjp=fixed(_PICKED + " * {g}[:, None]", "0"),
         jvp=fixed("{t}[np.arange({t}.shape[0]), {b}]", "0"),
         forms=(("array-api", Form(
             _PICK_XP.replace("{axis_a}", "{a}.shape[1]"),
             ("", ""), fixed(_PICKED_XP + " * xp.expand_dims({g}, axis=1)", "0"),
             fixed(_PICK_XP.replace("{axis_a}", "{t}.shape[1]").replace("{a}", "{t}"),
                   "0"))),)),
    Gate("onehot", ("onehot",), 2, _ONEHOT + ".astype(float)", ("", ""), "onehot{a}",
         "onehot", "onehot", notation="onehot({a})", shape_rule="one_hot",
         label_operands=(0,), reads_classes=True, vjp=fixed("0", "0"), jvp=fixed("0", "0"),
         forms=(("array-api", Form(
             "xp.astype(xp.arange({b}, device=device) == xp.expand_dims({a}, axis=1), dtype)",
             ("", ""), fixed("0", "0"), fixed("0", "0"))),)),
    Gate("column", (), 1, "{a}[:, None]", ("",), "{a}col", "col", "↕",
         notation="{a}[:, None]", shape_rule="as_column", vjp=fixed("{g}[:, 0]"),
         jvp=fixed("{t}[:, None]")),
)
