"""hvp against grad: gradc's forward over reverse beside JAX's and PyTorch's,
as the time of one Hessian-vector product over the time of one gradient.

    python benchmarks/hvp.py                # the network, the staged example, the batches
    python benchmarks/hvp.py --quick        # a few seconds
    python benchmarks/hvp.py --elementwise  # the batches alone

Three problems:

- the two-layer network of examples/arrays/two_layer.txt at the digits
  size (N=1437 examples, D=64, H=128, C=10), differentiated with respect
  to W1, b1, W2, b2 (compiled `--hvp --wrt W1,b1,W2,b2`);
- the staged example of examples/staged.txt, on two numbers;
- the elementwise examples (staged, logistic_loss, circuit, neuron) on
  batches of 10^4 and 10^6 points, every input and direction an array of
  them, gradc alone, on each target that takes a batch (numpy, numba,
  array-api over NumPy): grad and hvp of one module timed side by side.

Columns, each written as its users write it, arrays and tensors made
before timing:

- `gradc`: the module's `grad(...)` and `hvp(..., v_W1=..., ...)`, which
  returns the value and the gradient as well;
- `JAX`: `jit(value_and_grad(loss))` and `jit(lambda p, v: jvp(grad(loss),
  (p,), (v,)))`, 64-bit, `block_until_ready`;
- `PyTorch`: `torch.func.grad_and_value(loss)` and torch.func's recipe for
  the product, `jvp(grad(loss), (p,), (v,))` (torch.func has no function
  named hvp; this is forward over reverse, as its documentation writes it).

Every library runs on one thread (BLAS, XLA and PyTorch's own), so that
the ratios do not depend on how threads share a busy machine.  The time of
a call is the minimum over rounds, the columns interleaved, so that a slow
moment of the machine falls on all of them.  The figure that
matters is each library's own ratio, hvp / grad: forward over reverse
allows a small constant, and LANGUAGE.md §10 asks gradc for at most 3.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# One thread everywhere, set before NumPy, JAX or PyTorch is imported.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ["XLA_FLAGS"] = ("--xla_cpu_multi_thread_eigen=false "
                           "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compiler import load  # noqa: E402

ELEMENTWISE = ("staged", "logistic_loss", "circuit", "neuron")
BATCH_TARGETS = ("numpy", "numba", "array-api")
NETWORK = ROOT / "examples" / "arrays" / "two_layer.txt"
STAGED = ROOT / "examples" / "staged.txt"
PARAMS = ("W1", "b1", "W2", "b2")
DIGITS = (1437, 64, 128, 10)
REG = 1e-3


def network_data(n: int, d: int, h: int, c: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    params = (rng.standard_normal((d, h)) * np.sqrt(2.0 / d), 0.01 * rng.standard_normal(h),
              rng.standard_normal((h, c)) * np.sqrt(2.0 / h), 0.01 * rng.standard_normal(c))
    Y = np.eye(c)[rng.integers(0, c, n)]
    directions = tuple(rng.standard_normal(p.shape) for p in params)
    return X, params, Y, directions


def gradc_network(X, params, Y, directions):
    module = load(NETWORK, second_order=("jvp", "hvp"), wrt=PARAMS)
    W1, b1, W2, b2 = params
    keywords = {f"v_{name}": v for name, v in zip(PARAMS, directions)}
    return (lambda: module.grad(X, W1, b1, W2, b2, Y, REG),
            lambda: module.hvp(X, W1, b1, W2, b2, Y, REG, **keywords))


def jax_network(X, params, Y, directions):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    X, Y = jax.device_put(X), jax.device_put(Y)
    params = tuple(jax.device_put(p) for p in params)
    directions = tuple(jax.device_put(v) for v in directions)

    def loss(p):
        W1, b1, W2, b2 = p
        hidden = jax.nn.relu(X @ W1 + b1)
        scores = hidden @ W2 + b2
        return (-jnp.sum(Y * jax.nn.log_softmax(scores, axis=1)) / X.shape[0]
                + 0.5 * REG * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2)))

    gradient = jax.jit(jax.value_and_grad(loss))
    product = jax.jit(lambda p, v: jax.jvp(jax.grad(loss), (p,), (v,)))
    return (lambda: jax.block_until_ready(gradient(params)),
            lambda: jax.block_until_ready(product(params, directions)))


def torch_network(X, params, Y, directions):
    import torch
    from torch.func import grad, grad_and_value, jvp

    torch.set_num_threads(1)
    X, Y = torch.tensor(X), torch.tensor(Y)
    params = tuple(torch.tensor(p) for p in params)
    directions = tuple(torch.tensor(v) for v in directions)

    def loss(p):
        W1, b1, W2, b2 = p
        hidden = torch.relu(X @ W1 + b1)
        scores = hidden @ W2 + b2
        return (-(Y * torch.log_softmax(scores, dim=1)).sum() / X.shape[0]
                + 0.5 * REG * ((W1 * W1).sum() + (W2 * W2).sum()))

    gradient = grad_and_value(loss)
    return (lambda: gradient(params),
            lambda: jvp(grad(loss), (params,), (directions,)))


def gradc_staged():
    module = load(STAGED, second_order=("jvp", "hvp"))
    return (lambda: module.grad(3.0, -4.0), lambda: module.hvp(3.0, -4.0, v_x=0.5, v_y=-1.0))


def jax_staged():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def f(p):
        x, y = p
        return (x + jax.nn.sigmoid(y)) / (jax.nn.sigmoid(x) + (x + y) ** 2)

    point = (jnp.float64(3.0), jnp.float64(-4.0))
    direction = (jnp.float64(0.5), jnp.float64(-1.0))
    gradient = jax.jit(jax.value_and_grad(f))
    product = jax.jit(lambda p, v: jax.jvp(jax.grad(f), (p,), (v,)))
    return (lambda: jax.block_until_ready(gradient(point)),
            lambda: jax.block_until_ready(product(point, direction)))


def torch_staged():
    import torch
    from torch.func import grad, grad_and_value, jvp

    torch.set_num_threads(1)

    def f(p):
        x, y = p
        return (x + torch.sigmoid(y)) / (torch.sigmoid(x) + (x + y) ** 2)

    point = (torch.tensor(3.0, dtype=torch.float64), torch.tensor(-4.0, dtype=torch.float64))
    direction = (torch.tensor(0.5, dtype=torch.float64), torch.tensor(-1.0, dtype=torch.float64))
    gradient = grad_and_value(f)
    return (lambda: gradient(point), lambda: jvp(grad(f), (point,), (direction,)))


def gradc_batch(stem: str, target: str, points: int):
    """grad and hvp of one example's module on `points` points."""
    module = load(ROOT / "examples" / f"{stem}.txt", target=target,
                  second_order=("jvp", "hvp"))
    rng = np.random.default_rng(points)
    inputs = [rng.normal(size=points) for _ in module.INPUTS]
    directions = {f"v_{name}": rng.normal(size=points) for name in module.INPUTS}
    return (lambda: module.grad(*inputs), lambda: module.hvp(*inputs, **directions))


def batch_report(sizes: tuple[int, ...], rounds: int) -> list[str]:
    """One line per example, target and size: grad, hvp, hvp / grad."""
    lines = ["elementwise examples on batches, gradc's hvp / grad",
             f"  {'example':14} {'target':10} {'points':>8} {'grad':>12} {'hvp':>12} "
             f"{'hvp / grad':>11}"]
    for stem in ELEMENTWISE:
        for target in BATCH_TARGETS:
            for points in sizes:
                gradient, product = gradc_batch(stem, target, points)
                burst = max(1, 10**5 // points)
                times = best_times({"grad": gradient, "hvp": product}, rounds, burst)
                lines.append(f"  {stem:14} {target:10} {points:>8} {_shown(times['grad']):>12} "
                             f"{_shown(times['hvp']):>12} "
                             f"{times['hvp'] / times['grad']:10.2f}x")
                print(lines[-1], flush=True)
    return lines


def best_times(calls: dict, rounds: int, burst: int) -> dict:
    """The least time of one call of each, over interleaved rounds."""
    for call in calls.values():
        call()  # compile, warm up
    best = dict.fromkeys(calls, float("inf"))
    names = list(calls)
    for number in range(rounds):
        for name in names[number % len(names):] + names[:number % len(names)]:
            start = time.perf_counter()
            for _ in range(burst):
                calls[name]()
            best[name] = min(best[name], (time.perf_counter() - start) / burst)
    return best


def report(title: str, makers: dict, rounds: int, burst: int) -> list[str]:
    calls = {}
    for library, make in makers.items():
        try:
            gradient, product = make()
        except ImportError as missing:
            print(f"  {library}: not installed ({missing})")
            continue
        calls[(library, "grad")] = gradient
        calls[(library, "hvp")] = product
    times = best_times(calls, rounds, burst)
    lines = [title, f"  {'':8} {'grad':>12} {'hvp':>12} {'hvp / grad':>11}"]
    for library in makers:
        if (library, "grad") not in times:
            continue
        grad_time, hvp_time = times[library, "grad"], times[library, "hvp"]
        lines.append(f"  {library:8} {_shown(grad_time):>12} {_shown(hvp_time):>12} "
                     f"{hvp_time / grad_time:10.2f}x")
    return lines


def _shown(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, a smaller batch")
    parser.add_argument("--elementwise", action="store_true",
                        help="the elementwise examples on batches alone")
    args = parser.parse_args(argv)
    sizes = (200, 64, 128, 10) if args.quick else DIGITS
    rounds, burst = (3, 3) if args.quick else (15, 10)
    batches = (10**3, 10**4) if args.quick else (10**4, 10**6)
    if args.elementwise:
        print("\n".join(batch_report(batches, rounds)))
        return
    X, params, Y, directions = network_data(*sizes)
    data = (X, params, Y, directions)
    lines = report(f"two-layer network, N={sizes[0]} D={sizes[1]} H={sizes[2]} C={sizes[3]}, "
                   "wrt W1, b1, W2, b2",
                   {"gradc": lambda: gradc_network(*data), "JAX": lambda: jax_network(*data),
                    "PyTorch": lambda: torch_network(*data)}, rounds, burst)
    lines += [""] + report("staged example f(x, y) at x=3, y=-4",
                           {"gradc": gradc_staged, "JAX": jax_staged, "PyTorch": torch_staged},
                           rounds, burst * 20)
    lines += [""] + batch_report(batches, rounds)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
