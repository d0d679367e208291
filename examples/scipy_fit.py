"""Least-squares fits of NIST StRD problems with SciPy's trust-ncg, which
takes the Hessian only as products: the generated module's `hvp`.

Each problem's loss is a formula file in examples/nist/, compiled with
`--hvp --wrt b1,b2` (the data x, y are held fixed); `compiler.scipy_objective`
packs b1, b2 into SciPy's vector.  For each problem and each of NIST's two
starts, trust-ncg (gradient and Hessian products) runs beside BFGS
(gradient only), and the script prints the iterations each took and the
digits of the certified parameters each reached.

    python examples/scipy_fit.py

The data and certified values are NIST's (https://www.itl.nist.gov/div898/
strd/nls/nls_main.shtml).  The parameters of these problems differ by up
to six orders of magnitude (Misra1a: b1 = 239, b2 = 0.00055), and a trust
region is a ball: each fit scales every parameter by a typical size
(`SCALES`, read off the model: b1 near the largest y, b2 near one over the
x range) so that the optimizer works with numbers near 1.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import compiler  # noqa: E402
from compiler.scipy_objective import Objective  # noqa: E402


@dataclass(frozen=True)
class Problem:
    name: str
    formula: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    starts: tuple[tuple[float, float], ...]
    certified: tuple[float, float]
    residual: float
    """The certified residual sum of squares."""


PROBLEMS = (
    Problem("Misra1a", "misra1a.txt",
            (77.6, 114.9, 141.1, 190.8, 239.9, 289.0, 332.8, 378.4, 434.8, 477.3, 536.8,
             593.1, 689.1, 760.0),
            (10.07, 14.73, 17.94, 23.93, 29.61, 35.18, 40.02, 44.82, 50.76, 55.05, 61.01,
             66.40, 75.47, 81.78),
            ((500.0, 1e-4), (250.0, 5e-4)), (2.3894212918e+02, 5.5015643181e-04),
            1.2455138894e-01),
    Problem("DanWood", "danwood.txt", (1.309, 1.471, 1.490, 1.565, 1.611, 1.680),
            (2.138, 3.421, 3.597, 4.340, 4.882, 5.660), ((1.0, 5.0), (0.7, 4.0)),
            (7.6886226176e-01, 3.8604055871e+00), 4.3173084083e-03),
    Problem("BoxBOD", "boxbod.txt", (1.0, 2.0, 3.0, 5.0, 7.0, 10.0),
            (109.0, 149.0, 149.0, 191.0, 213.0, 224.0), ((1.0, 1.0), (100.0, 0.75)),
            (2.1380940889e+02, 5.4723748542e-01), 1.1680088766e+03),
)


def scales(problem: Problem) -> dict[str, float]:
    """A typical size of each parameter, from the data alone: b1 is of the
    size of the largest y, and b2 of one over the x range (exponential
    models) or 1 (DanWood's power)."""
    b2 = 1.0 if problem.name == "DanWood" else 1.0 / (max(problem.x) - min(problem.x))
    return {"b1": max(problem.y), "b2": b2}


def digits(got: float, certified: float) -> float:
    """How many leading digits agree: -log10 of the relative error."""
    error = abs(got - certified) / abs(certified)
    return 15.0 if error == 0 else min(15.0, -math.log10(error))


def fit(problem: Problem, start, method: str, scaled: bool = True):
    module = compiler.load(HERE / "nist" / problem.formula, second_order=("jvp", "hvp"),
                           wrt=("b1", "b2"))
    objective = Objective(module, start={"b1": start[0], "b2": start[1]},
                          fixed={"x": np.array(problem.x), "y": np.array(problem.y)},
                          scale=scales(problem) if scaled else {})
    options = {"gtol": 1e-10, "maxiter": 2000}
    extra = {"hessp": objective.hessp} if method == "trust-ncg" else {}
    # A trial step far out (BoxBOD's b2 of -50) overflows exp: the loss is
    # inf there, and the optimizer shrinks its step, as it should.
    with np.errstate(over="ignore", invalid="ignore"):
        result = minimize(objective.fun, objective.pack(objective.start), jac=True,
                          method=method, options=options, **extra)
    found = objective.unpack(result.x)
    return result, (found["b1"], found["b2"])


def main() -> None:
    print(f"{'problem':9} {'start':>16}  {'method':9} {'scaled':>6} {'iterations':>10}  "
          f"{'digits b1':>9} {'digits b2':>9}  {'residual SS':>14}")
    for problem in PROBLEMS:
        for start in problem.starts:
            for method in ("trust-ncg", "BFGS"):
                for scaled in (True, False):
                    result, found = fit(problem, start, method, scaled)
                    shown = [f"{digits(f, c):9.1f}" for f, c in zip(found, problem.certified)]
                    print(f"{problem.name:9} {str(start):>16}  {method:9} "
                          f"{'yes' if scaled else 'no':>6} {result.nit:10d}  {shown[0]} "
                          f"{shown[1]}  {result.fun:14.10g}")
        print(f"{'':9} certified: b1 = {problem.certified[0]:.10e}, "
              f"b2 = {problem.certified[1]:.10e}, residual SS {problem.residual:.10e}")


if __name__ == "__main__":
    main()
