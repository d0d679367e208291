"""One training step of the two-layer network: gradc's module against the
same gradient written by hand in NumPy, PyTorch eager and JAX jit.

    python benchmarks/train_step.py               # both sizes, own threads and one thread
    python benchmarks/train_step.py --quick       # tiny sizes, a few seconds
    python benchmarks/train_step.py --threads 1   # one thread each, the process on one core
    python benchmarks/train_step.py --lines       # gradc's module, line by line

The step is loss and gradient of examples/arrays/two_layer.txt (a ReLU
layer of H units, softmax cross-entropy over C classes, L2 on the weights)
with respect to W1, b1, W2 and b2, on a batch of N examples of D features
with one-hot targets:

- `gradc`: the module `gradc compile --wrt W1,b1,W2,b2` makes, its `grad`;
- `gradc f+b`: the same module's `forward` and then `backward`, the lecture's
  listing, which is what its `grad` ran before it wrote into its own arrays
  (docs/targets.md): the new grad against the old in one run;
- `gradc all`: generated/arrays/two_layer.py, which also returns dX and dY
  (dX is one more product of the size of X @ W1);
- `hand`: the forward and backward pass of the CS231n assignment, in NumPy
  (`dscores = (probs - Y) / N`, `dhidden[hidden <= 0] = 0`);
- `PyTorch`: eager, CPU, float64, the tensors made before timing, the
  weights `requires_grad`, `loss.backward()`; each call clears the grads;
- `JAX jit`: `jit(value_and_grad)` of the loss in jax.numpy, 64-bit
  floats, the arrays put on the device before timing, `block_until_ready`;
- `floor`: the step's five matrix products alone (`X @ W1`, `h @ W2`,
  `dS @ W2.T`, `h.T @ dS`, `X.T @ dh`), on the same arrays: no step that
  computes the gradient by these products can take less.

With no --threads, each thread count (the libraries' own, then one) runs
in a process of its own, since XLA reads its thread flags at start.

Every column is checked against `hand` once before timing.  The time of a
column is the minimum over calls, the columns interleaved (in rounds, each
column a burst of calls after a rest, the order rotated), so that a slow moment of the
machine falls on all of them.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from one_core import THREAD_VARIABLES, pin_to_one_core  # noqa: E402

from compiler import load  # noqa: E402
from compiler.loader import module_from_source  # noqa: E402

FORMULA = ROOT / "examples" / "arrays" / "two_layer.txt"
GENERATED = ROOT / "generated" / "arrays" / "two_layer.py"
PARAMS = ("W1", "b1", "W2", "b2")
SIZES = {"digits": (1437, 64, 128, 10), "large": (65536, 256, 512, 10)}
QUICK = {"digits": (200, 64, 128, 10), "large": (2048, 256, 512, 10)}
REG = 1e-3


def batch(n: int, d: int, h: int, c: int, seed: int = 0):
    """Standard normal features, He-initialized weights, one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W1, b1 = rng.standard_normal((d, h)) * np.sqrt(2.0 / d), 0.01 * rng.standard_normal(h)
    W2, b2 = rng.standard_normal((h, c)) * np.sqrt(2.0 / h), 0.01 * rng.standard_normal(c)
    Y = np.eye(c)[rng.integers(0, c, n)]
    return X, W1, b1, W2, b2, Y


def hand_grad(X, W1, b1, W2, b2, Y, reg):
    """The two-layer network's loss and gradient as the CS231n assignment
    writes them, with one-hot targets (each row of Y sums to 1)."""
    N = X.shape[0]
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(Y * log_probs) / N + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dscores = (np.exp(log_probs) - Y) / N
    dW2 = hidden.T @ dscores + reg * W2
    db2 = dscores.sum(axis=0)
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0
    dW1 = X.T @ dhidden + reg * W1
    db1 = dhidden.sum(axis=0)
    return loss, (dW1, db1, dW2, db2)


def floor_step(arrays):
    """The products of one step, on operands of the step's shapes and values."""
    X, W1, b1, W2, b2, Y = arrays
    hidden = np.maximum(0, X @ W1 + b1)
    dscores = hidden @ W2 - Y
    dhidden = dscores @ W2.T

    def step():
        return (X @ W1, hidden @ W2, dscores @ W2.T, hidden.T @ dscores, X.T @ dhidden)
    return step


def gradc_step(arrays):
    module = load(FORMULA, wrt=PARAMS)
    return lambda: module.grad(*arrays, REG)


def gradc_forward_backward_step(arrays):
    module = load(FORMULA, wrt=PARAMS)

    def step():
        loss, cache = module.forward(*arrays, REG)
        return loss, module.backward(cache)
    return step


def gradc_all_step(arrays):
    module = module_from_source(GENERATED.read_text(encoding="utf-8"), "two_layer", str(GENERATED))

    def step():
        loss, grads = module.grad(*arrays, REG)
        return loss, grads[1:5]
    return step


def hand_step(arrays):
    return lambda: hand_grad(*arrays, REG)


def torch_step(arrays):
    import torch
    X, W1, b1, W2, b2, Y = (torch.tensor(a, dtype=torch.float64) for a in arrays)
    weights = [w.requires_grad_() for w in (W1, b1, W2, b2)]
    n = X.shape[0]

    def step():
        for w in weights:
            w.grad = None
        hidden = torch.relu(X @ W1 + b1)
        scores = hidden @ W2 + b2
        loss = (-(Y * torch.log_softmax(scores, dim=1)).sum() / n
                + 0.5 * REG * ((W1 * W1).sum() + (W2 * W2).sum()))
        loss.backward()
        return loss.item(), tuple(w.grad for w in weights)
    return step


def jax_step(arrays):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def loss(W1, b1, W2, b2, X, Y):
        hidden = jax.nn.relu(X @ W1 + b1)
        scores = hidden @ W2 + b2
        return (-jnp.sum(Y * jax.nn.log_softmax(scores, axis=1)) / X.shape[0]
                + 0.5 * REG * (jnp.sum(W1 * W1) + jnp.sum(W2 * W2)))

    compiled = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2, 3)))
    X, W1, b1, W2, b2, Y = (jax.device_put(a) for a in arrays)
    return lambda: jax.block_until_ready(compiled(W1, b1, W2, b2, X, Y))


COLUMNS = {"gradc": (None, gradc_step), "gradc f+b": (None, gradc_forward_backward_step),
           "gradc all": (None, gradc_all_step),
           "hand": (None, hand_step), "PyTorch": ("torch", torch_step),
           "JAX jit": ("jax", jax_step), "floor": (None, floor_step)}


def installed(package: str | None) -> bool:
    return package is None or importlib.util.find_spec(package) is not None


def measure(size, rounds: int, burst: int, gap: float = 0.25) -> dict[str, float]:
    """Each column's minimum seconds per step over `rounds` rounds in which
    every column in turn, after `gap` seconds of rest, makes `burst` calls.

    The rest and the burst keep one column's threads out of the next one's
    time: OpenBLAS's, torch's OpenMP and XLA's Eigen threads keep spinning
    for a while after a call, and on two cores a column measured right
    after another library's call loses up to half its speed to them."""
    arrays = batch(*size)
    steps = {name: make(arrays) for name, (package, make) in COLUMNS.items()
             if installed(package)}
    expected = hand_grad(*arrays, REG)
    for name, step in steps.items():
        if name == "floor":
            step()
        else:
            check(name, step(), expected)    # and the first call: JAX's trace
    best = dict.fromkeys(steps, float("inf"))
    names = list(steps)
    for round_ in range(rounds):
        # Each round starts one column later: no column always follows the same one.
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            step = steps[name]
            time.sleep(gap)
            for _ in range(burst):
                begin = time.perf_counter()
                step()
                best[name] = min(best[name], time.perf_counter() - begin)
    return best


def check(name: str, result, expected) -> None:
    loss, grads = result
    np.testing.assert_allclose(float(loss), expected[0], rtol=1e-10, err_msg=name)
    for got, want in zip(grads, expected[1]):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-8, atol=1e-12,
                                   err_msg=name)


def limit_threads(count: int) -> None:
    """BLAS, torch and XLA on `count` threads, and for one thread the whole
    process on one core, since XLA also splits its elementwise loops over
    every core (XLA reads its flags at start, so this runs before JAX is
    imported)."""
    import os
    if count == 1:
        print(f"pinned to CPU {pin_to_one_core()}")
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(count)
    except ImportError:
        os.environ.update({k: str(count) for k in THREAD_VARIABLES if k.endswith("THREADS")})
    if installed("torch"):
        import torch
        torch.set_num_threads(count)


def blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    found = [f"{i['internal_api']} {i['version']} ({i.get('architecture', '?')}, "
             f"{i['num_threads']} threads)" for i in threadpool_info() if i["user_api"] == "blas"]
    return ", ".join(found) or "none found"


def table(rows) -> None:
    """Each column's time over the floor's, and gradc's over each other column's."""
    names = [name for name in COLUMNS if name in rows[0][2] and name != "floor"]
    others = [name for name in names if name != "gradc"]
    print("| size | N, D, H, C | floor ms | " + " | ".join(f"{n} / floor" for n in names)
          + "".join(f" | gradc / {n}" for n in others) + " |")
    print("|---|---|---:|" + "---:|" * (len(names) + len(others)))
    for label, size, best in rows:
        gradc = best.get("gradc", float("nan"))
        cells = [f"{best[n] / best['floor']:.2f}" for n in names]
        cells += [f"{gradc / best[n]:.2f}" for n in others]
        print(f"| {label} | {', '.join(map(str, size))} | {best['floor'] * 1e3:.2f} | "
              + " | ".join(cells) + " |")


def lines(sizes, labels, rounds: int) -> int:
    """The costliest lines of the module `gradc` times, at each size."""
    from line_costs import line_costs, print_costs

    module = load(FORMULA, wrt=PARAMS)
    for label in labels:
        print(f"\n### {label}: {', '.join(map(str, sizes[label]))}\n")
        print_costs(line_costs(module, (*batch(*sizes[label]), REG), rounds))
    return 0


def each_thread_count(argv: list[str]) -> int:
    """This script again in a process per thread count: the libraries' own, then one."""
    import subprocess
    for threads, title in (("0", "The libraries' own threads"), ("1", "One thread each")):
        print(f"### {title}\n", flush=True)
        status = subprocess.call([sys.executable, __file__, *argv, "--threads", threads])
        if status:
            return status
        print()
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for BLAS, torch and XLA; 0: theirs "
                             "(default: a table for each, in processes of their own)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds per size (default: 20 digits, 5 large)")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--columns", nargs="+", choices=list(COLUMNS), default=list(COLUMNS),
                        help="in this order; floor is always measured")
    parser.add_argument("--lines", action="store_true",
                        help="instead: the time of each line of gradc's module")
    args = parser.parse_args(argv)
    if args.lines:
        if args.threads:
            limit_threads(args.threads)
        return lines(QUICK if args.quick else SIZES, args.sizes, args.rounds or 5)
    if args.threads is None:
        return each_thread_count(sys.argv[1:] if argv is None else list(argv))
    chosen = dict.fromkeys(args.columns + ["floor"])
    COLUMNS.update((name, COLUMNS.pop(name)) for name in list(chosen))
    for name in [name for name in COLUMNS if name not in chosen]:
        del COLUMNS[name]
    if args.threads:
        limit_threads(args.threads)
    print(f"NumPy {np.__version__}, BLAS: {blas()}; Python {platform.python_version()}")
    for package in ("torch", "jax"):
        if installed(package):
            module = __import__(package)
            extra = f", {module.get_num_threads()} threads" if package == "torch" else ""
            print(f"{package} {module.__version__}{extra}")
    sizes = QUICK if args.quick else SIZES
    rows = []
    for label, size in ((label, sizes[label]) for label in args.sizes):
        rounds = args.rounds or (3 if args.quick else 20 if label == "digits" else 5)
        best = measure(size, rounds, burst=20 if label == "digits" else 2,
                       gap=0.02 if args.quick else 0.25)
        rows.append((label, size, best))
    print()
    table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
