"""The benchmark's peers (benchmarks/peers.py) compute what gradc computes.

Each peer that is installed gets every example, and a formula that spells
every gate, and must give gradc's own value and gradient, scalar and on
arrays; a peer that is not installed skips its own cases.
"""

from __future__ import annotations

import random
import shutil
import sys

import numpy as np
import pytest

from compiler import gates

from conftest import EXAMPLES, ROOT, build

sys.path.insert(0, str(ROOT / "benchmarks"))
import peers  # noqa: E402

MODULES = {"JAX jit": "jax", "PyTorch": "torch", "CasADi": "casadi"}
TABLES = {"JAX jit": peers.jax_ops, "PyTorch": peers.torch_ops, "CasADi": peers.casadi_ops}

# Every gate a formula can spell, at points where each is smooth and defined
# (x in (0.1, 0.9), y in (0.2, 0.9): asin, acos, log, sqrt and x^y apply).
EVERY_GATE = (
    "f(x, y, z) = max(x, y, 0.95) + min(x, z) + abs(x - y) + relu(y) + softplus(x)"
    " + log1p(y) + σ(z) + atan2(x, y) + expm1(z) + asin(x) + acos(y) + atan(z)"
    " + sinh(x) + cosh(y) + tan(z) + x^y + exp(x) * log(y) - sqrt(y) / tanh(x)"
    " + sin(y) * cos(z)\n"
)
FORMULAS = {path.stem: path.read_text(encoding="utf-8") for path in sorted(EXAMPLES.glob("*.txt"))}
FORMULAS["every_gate"] = EVERY_GATE


def _points(count: int, seed: int) -> list[tuple[float, ...]]:
    rng = random.Random(seed)
    return [tuple(rng.uniform(0.1, 0.9) if i != 1 else rng.uniform(0.2, 0.9)
                  for i in range(count)) for _ in range(3)]


def _flat(result) -> list[float]:
    """[f, df/dx, ...] from a peer's (value, gradients) or flat list."""
    if len(result) == 2 and isinstance(result[1], (tuple, list)):
        return [_float(result[0]), *(_float(g) for g in result[1])]
    return [_float(item) for item in result]


def _float(number) -> float:
    # A torch value still holds its graph; float() of it warns.
    return float(number.detach() if hasattr(number, "detach") else number)


@pytest.mark.parametrize("peer", sorted(MODULES))
def test_each_peer_spells_every_gate(peer):
    pytest.importorskip(MODULES[peer])
    spelled = {row.name for row in gates.SPELLINGS.values() if row.on_numbers}
    missing = spelled - set(peers.OPERATORS) - set(TABLES[peer]())
    assert not missing, f"{peer} has no function for {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(FORMULAS))
@pytest.mark.parametrize("peer", sorted(MODULES))
def test_scalar_peer_matches_gradc(peer, name):
    pytest.importorskip(MODULES[peer])
    text = FORMULAS[name]
    module = build(text)
    grad = peers.PEERS[peer](text)
    for point in _points(len(module.INPUTS), seed=len(name)):
        value, gradient = module.grad(*point)
        expected = [value, *gradient]
        assert _flat(grad(*point)) == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_peer_source_keeps_every_named_stage_a_variable():
    source = peers.peer_source(peers.resolve(peers.parse(FORMULAS["staged"])))
    assert source == (
        "def formula(a0, a1):\n"
        "    s0 = ((a0 + sigmoid(a1)) / (sigmoid(a0) + ((a0 + a1) ** 2.0)))\n"
        "    return s0\n")
    source = peers.peer_source(peers.resolve(peers.parse("q = x + e\nf = q * π")))
    assert source == (
        "def formula(a0):\n"
        f"    s0 = (a0 + {2.718281828459045!r})\n"
        f"    s1 = (s0 * {3.141592653589793!r})\n"
        "    return s1\n")


# The array peers: JAX and PyTorch have each example written by hand, CasADi
# takes gradc's program (it compiles each mapped Function with gcc, half a
# second: four formulas).
ARRAY_MODULES = {"JAX vmap": "jax", "JAX vjp": "jax", "PyTorch": "torch", "CasADi": "casadi"}
HAND = {"JAX": ("jax", peers.jax_formulas), "PyTorch": ("torch", peers.torch_formulas)}
STEMS = sorted(path.stem for path in EXAMPLES.glob("*.txt"))
ARRAY_CASES = [pytest.param(peer, name, id=f"{peer}-{name}")
               for peer in ARRAY_MODULES
               for name in (("staged", "circuit", "neuron", "every_gate") if peer == "CasADi"
                            else STEMS)]


def _importorskip(module: str):
    return pytest.importorskip(module, reason=f"{module} is not installed "
                               "(pip install '.[bench]'): its peer is not checked")


@pytest.mark.parametrize("peer", sorted(HAND))
def test_every_example_has_a_hand_written_array_peer(peer):
    module, formulas = HAND[peer]
    _importorskip(module)
    assert sorted(formulas()) == STEMS


@pytest.mark.parametrize("peer, name", ARRAY_CASES)
def test_array_peer_matches_gradc_numpy_target(peer, name):
    """The call the array benchmark times gives the numpy target's value and
    gradient, at points of either sign."""
    _importorskip(ARRAY_MODULES[peer])
    if peer == "CasADi" and shutil.which("gcc") is None:
        pytest.skip("CasADi's jit needs gcc")
    text = FORMULAS[name]
    target = build(text, target="numpy")
    rng = np.random.default_rng(7)
    size = 33
    if name == "every_gate":
        arrays = [rng.uniform(0.1, 0.9, size) if i != 1 else rng.uniform(0.2, 0.9, size)
                  for i in range(len(target.INPUTS))]
    else:
        arrays = [rng.uniform(0.05, 3.0, size) * rng.choice([-1.0, 1.0], size)
                  for _ in target.INPUTS]
    value, gradient = peers.ARRAY_PEERS[peer](name, text, arrays)()
    expected_value, expected_gradient = target.grad(*arrays)
    np.testing.assert_allclose(np.asarray(value), expected_value, rtol=1e-12, atol=1e-14)
    assert len(gradient) == len(expected_gradient)
    for got, want in zip(gradient, expected_gradient):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-14)
