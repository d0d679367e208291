"""`gradc check --hvp` on a formula of numbers: jvp, hvp and hessian at
each point, against SymPy and central differences (LANGUAGE.md §10).

At each point one random direction v is drawn (seeded), and compared:

* `jvp`: with SymPy's gradient times v, and with the central difference of
  forward along v;
* `hvp x`, one row per input: (H·v) in x's entry, with SymPy's Hessian
  times v, and with the central difference of grad's x entry along v;
* `H[x, y]`: hessian's entry, with SymPy's second derivative, and with the
  central difference of grad's x entry along y.

A wrong forward rule, or a wrong tangent of a backward line, shows as a
failing row that names the input whose entry is off.
"""

from __future__ import annotations

import random

from compiler.checker.checking import central_difference, judge, sympy_budget, without_sympy
from compiler.checker.checkpoints import Drawn, Probe, kinks_at, operand_values
from compiler.checker.records import PointReport, Row


def direction(rng: random.Random, count: int) -> tuple[float, ...]:
    """A direction of whole tenths in [-1, 1], none of them 0, so that the
    report can show it exactly."""
    return tuple(rng.choice((-1, 1)) * rng.randint(1, 10) / 10 for _ in range(count))


def second_order_reports(probe: Probe, program, drawn: list[Drawn], reports, seed: int,
                         rtol: float, atol: float, sympy_timeout) -> tuple[tuple, str]:
    """Each point's report with the rows of jvp, hvp and hessian added, and
    how SymPy was used for them."""
    staged = probe.ir.staged
    wrt = staged.gradient_inputs
    rng = random.Random(seed + 1)
    directions = [direction(rng, len(wrt)) for _ in drawn]
    status, exact = sympy_budget(sympy_timeout, lambda: _sympy(probe, program, drawn,
                                                               directions), len(drawn))
    why = without_sympy(status)
    out = []
    for point, report, v, sympy in zip(drawn, reports, directions, exact):
        rows = _rows(probe, point, v, sympy, rtol, atol, why)
        out.append(PointReport(report.values, report.origin, report.redraws, report.kinks,
                               report.rows + rows, report.upstream))
    return tuple(out), status


def _sympy(probe: Probe, program, drawn: list[Drawn], directions) -> list:
    """At each point: SymPy's gradient times v, its Hessian times v, and
    its Hessian, over the differentiated inputs."""
    import sympy as sp

    from compiler.checker import oracle

    formula = oracle.build(program)
    staged = probe.ir.staged
    symbols = [formula.symbols[staged.inputs.index(name)] for name in staged.gradient_inputs]
    gradient = [sp.diff(formula.value, s) for s in symbols]
    hessian = [sp.diff(g, s) for g in gradient for s in symbols]
    compiled = formula.compile(gradient + hessian)
    results = []
    for d, v in zip(drawn, directions):
        numbers = formula.evaluate(compiled, d.point, operand_values(probe.ir, d.trace))
        if numbers is None:
            results.append(None)
            continue
        n = len(symbols)
        grad, flat = numbers[:n], numbers[n:]
        matrix = [flat[i * n:(i + 1) * n] for i in range(n)]
        results.append((sum(g * x for g, x in zip(grad, v)),
                        [sum(h * x for h, x in zip(row, v)) for row in matrix], matrix))
    return results


def _rows(probe: Probe, drawn: Drawn, v, sympy, rtol, atol, why: str) -> tuple[Row, ...]:
    module, staged = probe.module, probe.ir.staged
    wrt = staged.gradient_inputs
    names = {name: probe.names[staged.inputs.index(name)] for name in wrt}
    point = list(drawn.point)
    keywords = {f"v_{name}": x for name, x in zip(wrt, v)}
    kink = bool(kinks_at(probe.ir, drawn.trace)[1])
    magnitude = max(abs(value) for value in drawn.trace.values.values())

    def along(function, towards):
        """The central difference of `function` at the point along `towards`;
        none at a kink, which it would straddle (only SymPy, which follows
        the convention there, is judged, as for gradients)."""
        if kink:
            return None
        moved = dict(zip(wrt, towards))
        return central_difference(
            lambda s: function(*[p + s * moved.get(name, 0.0)
                                 for p, name in zip(point, staged.inputs)]),
            [0.0], 0, magnitude)

    def entry(index):
        return lambda *args: module.grad(*args)[1][index]

    _, tangent = module.jvp(*point, **keywords)
    shown = " ".join(f"v_{names[name]}={x:g}" for name, x in zip(wrt, v))
    rows = [judge(f"jvp ({shown})", True, tangent, sympy and sympy[0],
                  along(lambda *args: module.forward(*args)[0], v), magnitude, kink,
                  rtol, atol, why)]
    _, _, product = module.hvp(*point, **keywords)
    for i, name in enumerate(wrt):
        rows.append(judge(f"hvp {names[name]}", True, product[i], sympy and sympy[1][i],
                          along(entry(i), v), magnitude, kink, rtol, atol, why))
    if hasattr(module, "hessian"):
        _, _, matrix = module.hessian(*point)
        for i, first in enumerate(wrt):
            for j, second in enumerate(wrt):
                unit = [1.0 if k == j else 0.0 for k in range(len(wrt))]
                rows.append(judge(f"H[{names[first]}, {names[second]}]", True, matrix[i][j],
                                  sympy and sympy[2][i][j], along(entry(i), unit), magnitude,
                                  kink, rtol, atol, why))
    return tuple(rows)


# -- arrays ----------------------------------------------------------------------

def array_second_order(setup, drawn, reports, rng: random.Random, rtol: float, atol: float,
                       sympy_timeout) -> tuple[tuple, str]:
    """An array file's points with rows for jvp and hvp (and hessian, when
    the differentiated inputs are numbers) added, and how SymPy was used
    for them.  One random direction v is drawn per point; every entry is
    compared with SymPy (one symbol per entry: ∇f · v, and the gradient of
    ∇f · v, which is H·v; for a layer, the output's derivative along v) and
    with the central difference along v of forward (jvp) or of the
    gradient (hvp)."""
    staged = setup.staged
    directions = [{name: _gaussian(rng, value) for name, value in zip(staged.inputs, point.values)
                   if name in staged.gradient_inputs} for point in drawn]
    status, exact = sympy_budget(sympy_timeout, lambda: _array_sympy(setup, drawn, directions),
                                 len(drawn))
    why = without_sympy(status)
    return tuple(_array_rows(setup, d, r, v, e, rtol, atol, why)
                 for d, r, v, e in zip(drawn, reports, directions, exact)), status


def _gaussian(rng: random.Random, like):
    """Random normal numbers in the shape of `like` (a number or an array)."""
    import numpy as np

    if not np.ndim(like):
        return rng.gauss(0.0, 1.0)
    return np.array([rng.gauss(0.0, 1.0) for _ in range(int(np.size(like)))]).reshape(
        np.shape(like))


def _array_sympy(setup, drawn, directions) -> list:
    """At each point: SymPy's jvp entries, its H·v entries by input (a
    dict) and its Hessian (or None); or None where it has no finite real
    number.  Inputs go by the names the module gives them."""
    import numpy as np

    from compiler.checker import oracle as oracles
    from compiler.inputs import shape_of

    program, staged = setup.program, setup.staged
    oracle = oracles.build(program, setup.sizes)
    counts = [(name, int(np.prod(shape_of(program, n.id, setup.sizes))))
              for name, n in zip(staged.inputs, program.inputs)]
    directed = [name in staged.gradient_inputs for name, count in counts for _ in range(count)]
    compiled = oracle.compile_directional(directed)
    wrt = [name for name, _ in counts if name in staged.gradient_inputs]

    def products(flat, chosen, tangents) -> tuple | None:
        """∇f · v, and the gradient of ∇f · v by each input (a dict), then
        by the upstream's entries."""
        numbers = oracle.evaluate(compiled, flat + tangents, {}, chosen)
        if numbers is None:
            return None
        by_input, offset = {}, 1
        for name, count in counts:
            by_input[name] = numbers[offset:offset + count]
            offset += count
        return numbers[0], by_input, numbers[offset:]

    results = []
    for point, v in zip(drawn, directions):
        flat = [float(x) for value in point.values for x in np.ravel(value)]
        flat += [] if point.upstream is None else [float(x) for x in np.ravel(point.upstream)]
        chosen, _ = oracle.choose(flat, {})
        along = products(flat, chosen, [float(x) for name in wrt for x in np.ravel(v[name])])
        if along is None:
            results.append(None)
            continue
        directional, by_input, upstream = along
        jvp = upstream if point.upstream is not None else [directional]
        results.append((jvp, by_input, _sympy_hessian(setup, wrt, lambda unit: products(
            flat, chosen, unit))))
    return results


def _sympy_hessian(setup, wrt, products) -> list | None:
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


def _array_rows(setup, point, report: PointReport, v: dict, sympy, rtol, atol,
                why: str) -> PointReport:
    import numpy as np

    from compiler.checker.array_checking import _magnitude, _scale, _summary, _where

    module, staged = setup.module, setup.staged
    wrt = staged.gradient_inputs
    values = dict(zip(staged.inputs, point.values))
    keywords = {f"v_{name}": v[name] for name in wrt}
    magnitude = _magnitude(point)

    def moved(towards, s):
        return [value + s * towards.get(name, 0.0) for name, value in values.items()]

    def rows(name, got, exact, function, towards, shape, scale=None):
        fd = _vector_difference(lambda s: function(moved(towards, s)), magnitude)
        exact = exact if exact is not None else [None] * int(np.size(got))
        scale = _scale(exact) if scale is None else scale
        judged = [(_where(np.shape(got), k),
                   judge(name, True, float(g), s,
                         None if fd is None else (fd[0][k], fd[1][k]),
                         scale, False, rtol, atol, why))
                  for k, (g, s) in enumerate(zip(np.ravel(got), exact))]
        return _summary(name, shape, judged, True)

    shapes = staged.shapes()
    _, tangent = module.jvp(*point.values, **keywords)
    terms = sum(float(np.sum(np.abs(g * v[name]))) for g, name in zip(point.gradient, wrt)) \
        if point.upstream is None and point.gradient else None
    added = [rows("jvp", tangent, sympy and sympy[0], lambda args: module.forward(*args)[0], v,
                  shapes[staged.output], terms)]
    if hasattr(module, "hvp"):
        _, _, product = module.hvp(*point.values, **keywords)
        for i, name in enumerate(wrt):
            added.append(rows(f"hvp {name}", product[i], sympy and sympy[1][name],
                              lambda args, i=i: module.grad(*args)[1][i], v, shapes[name]))
    if hasattr(module, "hessian"):
        _, _, matrix = module.hessian(*point.values)
        exact = sympy and sympy[2]
        for i, first in enumerate(wrt):
            for j, second in enumerate(wrt):
                added.append(rows(f"H[{first}, {second}]", matrix[i][j],
                                  exact and [exact[i][j]],
                                  lambda args, i=i: module.grad(*args)[1][i],
                                  {second: 1.0}, ()))
    return PointReport(report.values, report.origin, report.redraws, report.kinks,
                       report.rows + tuple(added), report.upstream)


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
