"""The inputs a formula is run at, for `check`, `explain` and `draw`.

Below both the tools and the checker, so that a drawing, an explanation
and a check of the same file and seed see the same numbers.

* `--at x=3 y=-4`: numbers by name (`parse_point`); in a file that
  declares shapes, its number inputs.
* `--dims N=4 D=3`: dimension sizes; every other dimension gets the
  smallest size from 2 up that no other dimension has, the declared whole
  numbers included.  Distinct sizes make a transposed or swapped axis a
  shape error or a wrong entry instead of a coincidence that passes.
* `--at-file point.npz`: arrays (and numbers) by name, as NumPy saves
  them (`numpy.savez`), checked against the declared shapes; their shapes
  fix the sizes of the dimensions they span.
* Anything not given is drawn uniformly from [-3, 3] and rounded to three
  decimals, so that a report shows it exactly; a layer's upstream
  gradient too.  A draw where the module's value or gradient is not
  finite is drawn again (`draw`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable, Mapping

from compiler.errors import GradcError
from compiler.front.resolve import Program

DRAW_RANGE = 3.0
MAX_DRAWS = 100
"""Draws per random point before giving up; a formula finite nowhere in
[-3, 3] needs a point given with --at."""
FIRST_SIZE = 2
"""No dimension is 1: a size-1 axis would broadcast where the file's does not."""


def parse_point(texts: list[str], inputs: tuple[str, ...]) -> tuple[float, ...]:
    """Values for every one of `inputs` from `name=value` words."""
    values = parse_numbers(texts, inputs)
    missing = [name for name in inputs if name not in values]
    if missing:
        raise GradcError(f"--at gives no value for {', '.join(missing)}")
    return tuple(values[name] for name in inputs)


def parse_numbers(texts: list[str], inputs: tuple[str, ...],
                  arrays: Mapping[str, tuple] = {}) -> dict[str, float]:
    """`name=value` words -> {name: value}; `arrays` are the inputs that
    --at cannot give, with their declared shapes."""
    values: dict[str, float] = {}
    for text in texts:
        name, equals, number = text.partition("=")
        if not equals:
            raise GradcError(f"expected name=value in --at, got '{text}'")
        if name in arrays:
            raise GradcError(f"--at gives numbers, but '{name}' is declared "
                             f"{_shown(arrays[name])}: give its entries with --at-file, or "
                             "leave them random (--seed)")
        if name not in inputs and name not in arrays:
            known = f"the inputs are {', '.join(inputs)}" if inputs else "the formula has none"
            raise GradcError(f"'{name}' is not an input: {known}")
        try:
            values[name] = float(number)
        except ValueError:
            raise GradcError(f"expected a number for '{name}' in --at, got '{number}'") \
                from None
        if not math.isfinite(values[name]):
            raise GradcError(f"expected a finite number for '{name}' in --at")
    return values


def at_words(at) -> list[list[str]]:
    """`at` as the API takes it (a mapping, `"x=3 y=-4"`, a list of either,
    or None) -> one list of `name=value` words per point."""
    if at is None:
        return []
    if isinstance(at, (str, Mapping)):
        at = [at]
    return [item.split() if isinstance(item, str) else
            [f"{name}={float(value)!r}" for name, value in item.items()] for item in at]


def point_words(program: Program, at, at_file) -> list[list[str]]:
    """For a file of numbers: one list of `name=value` words per point,
    from `at` and the numbers stored in `at_file`."""
    words = at_words(at)
    if not at_file:
        return words
    stored = [f"{name}={value!r}" for name, value in read_npz(at_file, program, {}).items()]
    return [w + stored for w in words] or [stored]


# -- sizes ---------------------------------------------------------------------

def parse_dims(dims, program: Program) -> dict[str, int]:
    """The sizes given as words (`N=4 D=3`), a list of words, or a mapping."""
    if dims is None:
        return {}
    if not program.shaped:
        raise GradcError("--dims gives sizes of dimensions, but the formula declares no "
                         "shapes")
    if isinstance(dims, Mapping):
        words = [f"{name}={size}" for name, size in dims.items()]
    else:
        words = dims.split() if isinstance(dims, str) else list(dims)
    given: dict[str, int] = {}
    for word in words:
        name, equals, size = word.partition("=")
        if not equals:
            raise GradcError(f"expected NAME=SIZE in --dims, such as N=4, got '{word}'")
        if name not in program.dims:
            known = ", ".join(program.dims) or "none: every shape is written in numbers"
            raise GradcError(f"'{name}' is not a dimension of the formula: its dimensions "
                             f"are {known}")
        if name in given:
            raise GradcError(f"'{name}' is given twice in --dims")
        if not size.isdigit() or int(size) < 1:
            raise GradcError(f"expected a whole number of 1 or more for '{name}' in "
                             f"--dims, got '{size}'")
        given[name] = int(size)
    return given


def choose_sizes(program: Program, given: dict[str, int]) -> dict[str, int]:
    """A size for every dimension name, in the order the file names them."""
    taken = set(given.values()) | {d for shape in (program.shapes or {}).values()
                                   for d in shape if isinstance(d, int)}
    sizes = dict(given)
    candidate = FIRST_SIZE
    for name in program.dims:
        if name in sizes:
            continue
        while candidate in taken:
            candidate += 1
        sizes[name] = candidate
        taken.add(candidate)
    return {name: sizes[name] for name in program.dims}


def dimensions_line(sizes: dict[str, int], given) -> str:
    """`dimensions: N=3 (given), D=2 H=4 (chosen; set with --dims)`, as
    check and explain head their reports."""
    named = [f"{name}={size}" for name, size in sizes.items() if name in given]
    chosen = [f"{name}={size}" for name, size in sizes.items() if name not in given]
    parts = ([f"{' '.join(named)} (given)"] if named else []) + \
        ([f"{' '.join(chosen)} (chosen; set with --dims)"] if chosen else [])
    return f"dimensions: {', '.join(parts)}"


def shape_of(program: Program, name: str, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(sizes.get(d, d) for d in (program.shapes or {}).get(name, ()))


def _shown(shape: tuple) -> str:
    return f"[{', '.join(map(str, shape))}]"


# -- what the user gave --------------------------------------------------------

@dataclass(frozen=True)
class Given:
    """Everything the command line fixed about the inputs."""

    sizes: dict[str, int]
    """Every dimension's size."""
    dims: tuple[str, ...]
    """The dimensions whose sizes were given (--dims, or --at-file's shapes)."""
    points: tuple[dict, ...] = ()
    """One {input: value} per given point; what a point leaves out is drawn."""


def given(program: Program, dims=None, at=None, at_file=None) -> Given:
    """Sizes and points from --dims, --at (words or the API's forms) and
    --at-file, checked against the file's declarations."""
    arrays = {name: shape for name, shape in (program.shapes or {}).items() if shape}
    numbers = tuple(n.id for n in program.inputs if n.id not in arrays)
    sized = parse_dims(dims, program)
    stored = read_npz(at_file, program, sized) if at_file else {}
    sized.update(_sizes_of(stored, program, sized))
    words = at_words(at)
    points = [{**stored, **parse_numbers(w, numbers, arrays)} for w in words] or \
        ([stored] if at_file else [])
    return Given(choose_sizes(program, sized), tuple(sized), tuple(points))


def read_npz(path, program: Program, sized: dict[str, int]) -> dict:
    """The inputs stored in a NumPy .npz file, as float64, each checked
    against its declaration and the sizes known so far."""
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, ValueError) as failure:
        raise GradcError(f"cannot read the --at-file '{path}': expected a NumPy .npz "
                         f"file ({failure})") from None
    inputs = [n.id for n in program.inputs]
    values, bound = {}, dict(sized)
    for name, array in arrays.items():
        if name not in inputs:
            raise GradcError(f"'{name}' in {path} is not an input: the inputs are "
                             f"{', '.join(inputs)}")
        values[name] = _checked(path, name, array, program, bound)
    return values


def _checked(path, name: str, array, program: Program, bound: dict[str, int]):
    import numpy as np

    declared = (program.shapes or {}).get(name, ())
    where = f"'{name}' in {path}"
    if array.dtype.kind not in "biuf":
        raise GradcError(f"{where} holds {array.dtype} values: expected real numbers")
    if array.ndim != len(declared):
        kind = "a number" if not declared else f"declared {_shown(declared)}"
        raise GradcError(f"{where} has shape {array.shape}, but it is {kind}")
    for dim, size in zip(declared, array.shape):
        expected = dim if isinstance(dim, int) else bound.setdefault(dim, size)
        if size != expected:
            raise GradcError(f"{where} has shape {array.shape}, but it is declared "
                             f"{_shown(declared)} and {dim} is {expected}")
    # Labels stay whole numbers, for the module's own check of their range.
    values = array if name in (program.labels or {}) else array.astype(float)
    if not np.all(np.isfinite(values)):
        raise GradcError(f"{where} holds a value that is not finite")
    return float(values) if not declared else values


def _sizes_of(stored: dict, program: Program, sized: dict[str, int]) -> dict[str, int]:
    """The dimension sizes the stored arrays' shapes fix."""
    sizes = {}
    for name, value in stored.items():
        for dim, size in zip((program.shapes or {}).get(name, ()), getattr(value, "shape", ())):
            if isinstance(dim, str):
                sizes[dim] = size
    return sizes


# -- drawing and running -------------------------------------------------------

def uniform(rng: random.Random, shape: tuple[int, ...]):
    """A number, or a float64 array of `shape`, drawn from [-3, 3] in
    steps of 0.001."""
    if not shape:
        return round(rng.uniform(-DRAW_RANGE, DRAW_RANGE), 3)
    import numpy as np

    count = math.prod(shape)
    return np.array([round(rng.uniform(-DRAW_RANGE, DRAW_RANGE), 3)
                     for _ in range(count)]).reshape(shape)


def labels(rng: random.Random, shape: tuple[int, ...], classes: int):
    """Class labels (§8): whole numbers in 0 ... classes - 1."""
    import numpy as np

    return np.array([rng.randrange(classes) for _ in range(math.prod(shape))]).reshape(shape)


@dataclass(frozen=True)
class Point:
    values: tuple
    """One float or float64 array per input, in INPUTS order."""
    origin: str
    """"given" when --at or --at-file gave any of it, else "random"."""
    upstream: object
    """The random upstream gradient of a layer's output; None for a number."""
    redraws: tuple[str, ...]
    value: object
    """What the module computed: the output (a float or an array), ..."""
    gradient: tuple
    """... and the gradient, one array (or float) per input backward
    returns; () when backward raised, which is a wrong gradient, not a bad
    point: ..."""
    cache: tuple
    broken: str = ""
    """... what it raised."""


def draw(module, program: Program, sizes: dict[str, int], rng: random.Random,
         output_shape: tuple[int, ...], fixed: dict | None = None,
         usable: Callable[[tuple, object], str] | None = None,
         output: str = "the output") -> Point:
    """A point where the module's value and gradient are finite: `fixed`
    values as given, the rest drawn (again, until finite).  `usable`, when
    given, says first why a point cannot be used ('' when it can)."""
    fixed = fixed or {}
    redraws, outcome = [], ""
    classes = {name: sizes.get(count, count) for name, count in (program.labels or {}).items()}
    for _ in range(1 if fixed and len(fixed) == len(program.inputs) else MAX_DRAWS):
        values = tuple(fixed[n.id] if n.id in fixed else
                       labels(rng, shape_of(program, n.id, sizes), classes[n.id])
                       if n.id in classes else
                       uniform(rng, shape_of(program, n.id, sizes)) for n in program.inputs)
        upstream = uniform(rng, output_shape) if output_shape else None
        outcome = (usable and usable(values, upstream)) or run(module, values, upstream)
        if not isinstance(outcome, str):
            origin = "given" if fixed else "random"
            return Point(values, origin, upstream, tuple(redraws), *outcome)
        where = show_point([n.id for n in program.inputs], values)
        redraws.append(f"at {where}: {outcome}" if where else outcome)
    if len(redraws) == 1:
        where = show_point([n.id for n in program.inputs], values) or "the given point"
        raise GradcError(f"expected a point where {output} and its gradient are finite, "
                         f"but at {where}, {outcome}")
    # The given values may be what fails every draw: the last reason says.
    raise GradcError(f"found no point where {output} and its gradient are finite in "
                     f"{MAX_DRAWS} random draws from [-{DRAW_RANGE:g}, {DRAW_RANGE:g}]"
                     + (" of the inputs --at and --at-file do not give" if fixed
                        else ": give one with --at")
                     + f"; the last was rejected because {outcome}")


def show_point(names, values) -> str:
    """`x=3 y=-4`, when every value is a number; '' when one is an array,
    which is too long for a line."""
    if any(getattr(value, "ndim", 0) for value in values):
        return ""
    return " ".join(f"{name}={show_number(value)}" for name, value in zip(names, values))


def show_number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def run(module, values, upstream):
    """(value, gradient, cache, what backward raised) from the module, or
    why the point is unusable.

    NumPy warns instead of raising where a function has no finite value,
    so the results are tested for finiteness instead.  A forward pass that
    raises rejects the point; a backward pass that raises after a finite
    forward pass has a wrong rule (a matrix product's gradient that does
    not fit, say), and the check reports it."""
    import numpy as np

    with np.errstate(all="ignore"):
        try:
            value, cache = module.forward(*values)
        except (ArithmeticError, ValueError, TypeError) as error:
            return f"the module raises {type(error).__name__}: {error}"
        if not np.all(np.isfinite(value)):
            return "the module's value is not finite there"
        try:
            gradient = module.backward(cache, 1.0 if upstream is None else upstream)
        except Exception as error:  # noqa: BLE001 (any error is the rule's)
            return value, (), cache, f"backward raises {type(error).__name__}: {error}"
    if not all(np.all(np.isfinite(np.asarray(part, dtype=float))) for part in gradient):
        return "the module's gradient is not finite there"
    return value, tuple(gradient), cache, ""


def forward_sum(module, values, upstream) -> float:
    """The number central differences differentiate: the output, or for a
    layer the upstream-weighted sum of its entries."""
    import numpy as np

    with np.errstate(all="ignore"):
        value = module.forward(*values)[0]
    return float(value if upstream is None else np.sum(upstream * value))
