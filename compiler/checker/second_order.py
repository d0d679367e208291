"""`gradc check --hvp`: jvp, hvp and hessian at each point, against SymPy
and central differences (LANGUAGE.md §10), for numbers and arrays alike.

At each point one random direction v is drawn (seeded, of whole tenths, so
that a number's direction can be shown exactly), and compared, entry by
entry:

* `jvp`: with SymPy's gradient times v (for a layer, the output's
  derivative along v), and with the central difference of forward along v;
* `hvp x`, one row per input: (H·v) in x's entries, with SymPy's gradient
  of ∇f · v, and with the central difference of grad's x entry along v;
* `H[x, y]`, where the differentiated inputs are numbers: hessian's entry,
  with SymPy's, and with the central difference of grad's x entry along y.

Central differences are not taken at a kink, which they would straddle;
SymPy, which follows the convention there, is judged alone.  A wrong
forward rule, or a wrong tangent of a backward line, shows as a failing
row that names the input whose entry is off.
"""

from __future__ import annotations

import random

import numpy as np

from compiler.checker.checkpoints import Drawn, Setup, kinks_at, operand_values
from compiler.checker.compare import _scale, judge, summary, where
from compiler.checker.records import PointReport, Row


def direction(rng: random.Random, like):
    """A direction in the shape of `like` (a number or an array), of whole
    tenths in [-1, 1], none of them 0, so that the report can show it exactly."""
    def tenth() -> float:
        return rng.choice((-1, 1)) * rng.randint(1, 10) / 10
    if not np.ndim(like):
        return tenth()
    return np.array([tenth() for _ in range(int(np.size(like)))]).reshape(np.shape(like))


def second_order_reports(setup: Setup, drawn: list[Drawn], reports, seed: int,
                         rtol: float, atol: float, sympy_timeout) -> tuple[tuple, str]:
    """Each point's report with the rows of jvp, hvp and hessian added, and
    how SymPy was used for them."""
    from compiler.checker.checking import sympy_budget, without_sympy

    staged = setup.staged
    rng = random.Random(seed + 1)
    directions = []
    for d in drawn:
        values = dict(zip(staged.inputs, d.point.values))
        directions.append({name: direction(rng, values[name]) for name in staged.gradient_inputs})
    status, exact = sympy_budget(sympy_timeout, lambda: _sympy(setup, drawn, directions),
                                 len(drawn))
    why = without_sympy(status)
    return tuple(_rows(setup, d, r, v, e, rtol, atol, why)
                 for d, r, v, e in zip(drawn, reports, directions, exact)), status


def _sympy(setup: Setup, drawn: list[Drawn], directions) -> list:
    """At each point: SymPy's jvp entries, its H·v entries by input (a
    dict) and its Hessian (or None); or None where it has no finite real
    number.  Inputs go by the names the module gives them."""
    from compiler.checker.checking import flat

    products = _Products(setup)
    results = []
    for d, v in zip(drawn, directions):
        entries = flat(d.point)
        chosen = products.oracle.choose(entries,
                                        operand_values(setup.formula.adjoint, d.trace))
        along = products.at(entries, chosen, [float(x) for name in products.wrt
                                               for x in np.ravel(v[name])])
        if along is None:
            results.append(None)
            continue
        directional, by_input, upstream = along
        jvp = upstream if d.point.upstream is not None else [directional]
        results.append((jvp, by_input, _sympy_hessian(setup, products.wrt, lambda unit: (
            products.at(entries, chosen, unit)))))
    return results


class _Products:
    """SymPy's ∇f · v and its gradient, compiled once for every point."""

    def __init__(self, setup: Setup):
        from compiler.checker import oracle as oracles

        staged = setup.staged
        self.oracle = oracles.build(setup.program, setup.sizes)
        self.counts = [(name, int(np.prod(setup.shape(k))))
                       for k, name in enumerate(staged.inputs)]
        self.compiled = self.oracle.compile_directional(
            [name in staged.gradient_inputs for name, count in self.counts
             for _ in range(count)])
        self.wrt = [name for name, _ in self.counts if name in staged.gradient_inputs]

    def at(self, entries, chosen, tangents) -> tuple | None:
        """∇f · v, and the gradient of ∇f · v by each input (a dict), then
        by the upstream's entries."""
        numbers = self.oracle.evaluate(self.compiled, entries + tangents, chosen)
        if numbers is None:
            return None
        by_input, offset = {}, 1
        for name, count in self.counts:
            by_input[name] = numbers[offset:offset + count]
            offset += count
        return numbers[0], by_input, numbers[offset:]


def _sympy_hessian(setup: Setup, wrt, products) -> list | None:
    """The Hessian by the differentiated inputs when they are numbers (the
    module then has `hessian`), column by column: the Hessian times each
    unit direction.  None otherwise, or where SymPy has no number."""
    if not hasattr(setup.module, "hessian"):
        return None
    columns = {name: products([1.0 if other == name else 0.0 for other in wrt])
               for name in wrt}
    if any(column is None for column in columns.values()):
        return None
    order = setup.staged.gradient_inputs
    return [[columns[second][1][first][0] for second in order] for first in order]


class _Rows:
    """The rows of one point, each quantity's entries judged at once."""

    def __init__(self, setup: Setup, drawn: Drawn, rtol, atol, why: str):
        self.setup, self.point = setup, drawn.point
        self.values = dict(zip(setup.staged.inputs, drawn.point.values))
        self.magnitude = drawn.magnitude
        # At a kink central differences straddle two pieces: SymPy alone judges.
        self.kink = bool(kinks_at(setup, drawn.trace)[1])
        self.rtol, self.atol, self.why = rtol, atol, why

    def row(self, name: str, got, exact, function, towards: dict, shape, scale=0.0) -> Row:
        """`got` (a number or an array) against SymPy's entries `exact` and
        the central difference of `function` of the inputs along `towards`."""
        moved = lambda s: [value + s * towards.get(name, 0.0)  # noqa: E731
                           for name, value in self.values.items()]
        fd = None if self.kink else _vector_difference(lambda s: function(moved(s)),
                                                       self.magnitude)
        exact = exact if exact is not None else [None] * int(np.size(got))
        scale = max(scale, _scale(exact), self.magnitude)
        judged = [(where(np.shape(got), k),
                   judge(name, True, float(g), s, None if fd is None else (fd[0][k], fd[1][k]),
                         scale, False, self.rtol, self.atol, self.why))
                  for k, (g, s) in enumerate(zip(np.ravel(got), exact))]
        return summary(name, shape, judged, True)


def _rows(setup: Setup, drawn: Drawn, report: PointReport, v: dict, sympy, rtol, atol,
          why: str) -> PointReport:
    module, staged, point = setup.module, setup.staged, drawn.point
    wrt = staged.gradient_inputs
    user = dict(zip(staged.inputs, setup.names))
    keywords = {f"v_{name}": v[name] for name in wrt}
    rows = _Rows(setup, drawn, rtol, atol, why)
    shapes = staged.shapes()
    _, tangent = module.jvp(*point.values, **keywords)
    terms = sum(float(np.sum(np.abs(g * v[name]))) for g, name in zip(point.gradient, wrt)) \
        if point.upstream is None and point.gradient else 0.0
    added = [rows.row(_jvp_name(user, v), tangent, sympy and sympy[0],
                      lambda args: module.forward(*args)[0], v, shapes[staged.output], terms)]
    if hasattr(module, "hvp"):
        _, _, product = module.hvp(*point.values, **keywords)
        added += [rows.row(f"hvp {user[name]}", product[i], sympy and sympy[1][name],
                           lambda args, i=i: module.grad(*args)[1][i], v, shapes[name])
                  for i, name in enumerate(wrt)]
    if hasattr(module, "hessian"):
        _, _, matrix = module.hessian(*point.values)
        exact = sympy and sympy[2]
        added += [rows.row(f"H[{user[first]}, {user[second]}]", matrix[i][j],
                           exact and [exact[i][j]], lambda args, i=i: module.grad(*args)[1][i],
                           {second: 1.0}, ())
                  for i, first in enumerate(wrt) for j, second in enumerate(wrt)]
    return PointReport(report.values, report.origin, report.redraws, report.kinks,
                       report.rows + tuple(added), report.upstream)


def _jvp_name(user: dict[str, str], v: dict) -> str:
    """`jvp (v_x=0.3 v_y=-1)` when the direction is numbers; `jvp` over arrays."""
    if any(np.ndim(x) for x in v.values()):
        return "jvp"
    return f"jvp ({' '.join(f'v_{user[name]}={x:g}' for name, x in v.items())})"


def _vector_difference(function, magnitude: float):
    """The central difference of an array-valued `function` of s at 0, and
    each entry's error estimate (steps h and 2h), or None."""
    import numpy as np

    step = (2.0**-52) ** (1 / 3)
    try:
        with np.errstate(all="ignore"):
            points = [np.ravel(np.asarray(function(s), dtype=float))
                      for s in (step, -step, 2 * step, -2 * step)]
    except (ArithmeticError, ValueError, TypeError):
        return None
    near = (points[0] - points[1]) / (2 * step)
    far = (points[2] - points[3]) / (4 * step)
    if not (np.all(np.isfinite(near)) and np.all(np.isfinite(far))):
        return None
    size = max(magnitude, *(float(np.max(np.abs(p))) for p in points))
    return near, np.abs(near - far) + 4 * 2.0**-52 * size / step
