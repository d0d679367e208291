"""The fields of a module's interface: its docstring, imports, own names,
inputs, what forward caches and backward returns, and, in a file that
declares shapes, the declared shapes and forward's checks of its inputs.
"""

from __future__ import annotations

from compiler.emit.stages import StagePrinter
from compiler.passes.adjoint import AdjointIR, adjoint_name
from compiler.passes.naming import ARRAY_INTERNAL, INTERNAL, internal_names
from compiler.passes.shapes import shown
from compiler.passes.stage import Ref, StagedIR


def tuple_code(names) -> str:
    """Code as a tuple's display: `(x,)`, `(x, y)`."""
    names = list(names)
    return f"({names[0]},)" if len(names) == 1 else f"({', '.join(names)})"


def unpacking(names) -> str:
    """Names as the left side of an assignment that unpacks a tuple."""
    names = list(names)
    return f"{names[0]}," if len(names) == 1 else ", ".join(names)


def _unpack(names: tuple[str, ...], cache: str) -> str:
    return f"{unpacking(names)} = {cache}" if names else ""


def _import(module: str, alias: str) -> str:
    """What follows `import`: `numpy as np`, `math`, `math as math_`."""
    return module if alias == module else f"{module} as {alias}"


def taken(staged: StagedIR) -> frozenset[str]:
    """The names the module gives to values and their adjoints, which a
    function called by its bare name must not shadow; in a file that
    declares shapes, also every name the file writes and its dimensions."""
    values = _values(staged)
    return frozenset((*values, *map(adjoint_name, values)))


def _values(staged: StagedIR) -> tuple[str, ...]:
    values = (*staged.inputs, *(stage.name for stage in staged.stages), staged.output)
    if staged.shaped:
        values += (*staged.user_names.values(), *staged.dims)
    return values


def own_names(staged: StagedIR, spec) -> dict[str, str]:
    """The module's own names, each chosen around every name of the
    formula's (naming.internal_names)."""
    internal = INTERNAL + (ARRAY_INTERNAL if staged.shaped else ()) + spec.own_names
    # Of the names `taken` gives, only one that is an own name with `_`s
    # after it can be in the way: the others are left out, of which a file
    # of 10^5 stages would otherwise make a set, adjoints and all.
    stems = {name.rstrip("_") for name in internal}
    prefix = adjoint_name("")
    adjoint_stems = {stem.removeprefix(prefix) for stem in stems if stem.startswith(prefix)}
    values = _values(staged)
    near = [name for name in values if name.rstrip("_") in stems]
    near += [adjoint_name(name) for name in values if name.rstrip("_") in adjoint_stems]
    return internal_names(near, internal)


def module_fields(staged: StagedIR, spec, printer: StagePrinter, names: dict[str, str]) -> dict:
    """The module's docstring, imports, inputs and own names."""
    params = ", ".join(staged.inputs)
    return {
        "title": f"{staged.output}({params}) and its gradient, staged one gate per line.",
        # Imports follow from what was printed: a formula without math
        # functions imports nothing.
        "imports": tuple(_import(module, names[module]) for module in spec.also_imports)
        + tuple(_import(module, names[spec.alias]) for module in printer.modules()),
        "bare_import": printer.bare_import(),
        "own_functions": printer.own_functions(),
        "names": names,
        "sys_import": _import("sys", names["sys"]),
        "unicodedata_import": _import("unicodedata", names["unicodedata"]),
        "inputs": staged.inputs,
        "inputs_literal": tuple_code(repr(name) for name in staged.inputs),
        "params": params,
        "output": staged.output,
        "script_example": " ".join(f"{name}=1.0" for name in staged.inputs),
    }


def interface_fields(adjoint_ir: AdjointIR, cached_names: tuple[str, ...],
                     names: dict[str, str], module: str) -> dict:
    """What forward caches, and which gradients backward returns."""
    staged = adjoint_ir.staged
    gradient_names = tuple(adjoint_name(name) for name in staged.gradient_inputs)
    return {
        "cache_tuple": tuple_code(cached_names),
        "unpack_line": _unpack(cached_names, names["cache"]),
        "zero_lines": _zero_lines(adjoint_ir, module),
        "gradients": tuple_code(gradient_names),
        "gradient_names": gradient_names,
        "gradient_inputs": "INPUTS" if staged.wrt is None else tuple_code(map(repr, staged.wrt)),
        "wrt_params": tuple_code(staged.gradient_inputs),
    }


def _zero_lines(adjoint_ir: AdjointIR, module: str) -> tuple[str, ...]:
    """The gradient of an input the output does not depend on: zeros of its
    shape, which `forward` caches (`zero_arrays`), or 0.0 for a number."""
    arrays = zero_arrays(adjoint_ir)
    return tuple(f"{adjoint_name(name)} = "
                 + (f"{module}.zeros_like({name})" if name in arrays else "0.0")
                 for name in adjoint_ir.zero)


def zero_arrays(adjoint_ir: AdjointIR) -> tuple[str, ...]:
    """The inputs without a gradient that are arrays."""
    declared = adjoint_ir.staged.declared
    return tuple(name for name in adjoint_ir.zero if declared.get(name))


def read_inputs(staged: StagedIR) -> tuple[str, ...]:
    """The inputs the output reads or is, in INPUTS order: only their shapes make
    the batch of points, as forward's broadcasting does."""
    unread = set(staged.inputs) - {staged.output}
    for stage in staged.stages:
        unread.difference_update(op.name for op in stage.operands if isinstance(op, Ref))
        if not unread:  # usually within the first few stages
            break
    return tuple(name for name in staged.inputs if name not in unread)


NUMPY_MAX_ARGS = 64
"""np.broadcast takes at most this many arrays (NumPy's NPY_MAXARGS)."""


def broadcast_size(arguments: tuple[str, ...], np: str) -> str:
    """Code for the number of points the arguments broadcast to: np.broadcast
    where it can take them all, a tenth of the time of np.broadcast_shapes,
    which takes any number."""
    if len(arguments) <= NUMPY_MAX_ARGS:
        return f"{np}.broadcast({', '.join(arguments)}).size"
    return f"int({np}.prod({np}.broadcast_shapes(*map({np}.shape, {tuple_code(arguments)}))))"


def loop_fields(adjoint_ir: AdjointIR) -> dict:
    """The fields that say what a loop over the points reads and writes."""
    staged = adjoint_ir.staged
    inputs = read_inputs(staged)
    outputs = (staged.output,) + tuple(adjoint_name(name) for name in staged.gradient_inputs
                                       if name not in adjoint_ir.zero)
    unread = tuple(repr(name) for name in staged.inputs if name not in inputs)
    return {"loop_inputs": inputs, "loop_inputs_literal": tuple_code(inputs),
            "unread_inputs": tuple_code(unread) if unread else "",
            "loop_outputs": outputs,
            "loop_targets": unpacking(outputs)}


def shaped_fields(staged: StagedIR, names: dict[str, str], cached_names) -> dict:
    """What a file that declares shapes adds (none of it for one of numbers):
    SHAPES, the output's shape, and forward's checks of its inputs."""
    if not staged.shaped:
        return {}
    output_shape = staged.shapes()[staged.output]
    return {
        "shaped": True,
        "shapes_literal": "{" + ", ".join(f"{name!r}: {tuple_code(map(repr, shape))}"
                                          for name, shape in staged.declared.items()) + "}",
        "output_shape": shown(output_shape),
        "layer": bool(output_shape),
        "bind_lines": _bind_lines(staged, names, cached_names),
        "labels": bool(staged.labels),
        "classes_literal": "{" + ", ".join(f"{name!r}: {count!r}" for name, count
                                           in staged.labels.items()) + "}" if staged.labels else "",
        "upstream_line": _upstream_line(staged, names),
        "written_inputs": _written_inputs(staged),
    }


def _written_inputs(staged: StagedIR) -> str:
    """The inputs as the file writes them, where the module renamed one
    (`len` for `len_`), for the messages about them; else empty."""
    written = {python: name for name, python in staged.user_names.items()}
    if all(written.get(name, name) == name for name in staged.inputs):
        return ""
    return tuple_code(repr(written.get(name, name)) for name in staged.inputs)


def upstream_sizes(staged: StagedIR) -> tuple[str, ...]:
    """The sizes a layer's backward reads to check its upstream gradient."""
    if not staged.shaped:
        return ()
    dims = staged.dimension_names()
    return tuple(dims[dim] for dim in staged.shapes()[staged.output] if isinstance(dim, str))


def _upstream_line(staged: StagedIR, names: dict[str, str]) -> str:
    """A layer's check of its upstream gradient against the output's shape."""
    shape = staged.shapes()[staged.output]
    if not shape:
        return ""
    dims = staged.dimension_names()
    sizes = [dims[dim] if isinstance(dim, str) else str(dim) for dim in shape]
    seed = adjoint_name(staged.output)
    written = {python: name for name, python in staged.user_names.items()}
    return (f"{seed} = {names['_upstream']}({seed!r}, {seed}, ({', '.join(sizes)},), "
            f"{written.get(staged.output, staged.output)!r})")


def _bind_lines(staged, names: dict[str, str], cached_names) -> tuple[str, ...]:
    """The checks of the inputs, then of the labels against their class
    counts, then the sizes a stage or backward reads."""
    sizes = names["sizes"]
    lines = [f"{sizes} = {{}}"] if staged.declared else []
    written = {python: name for name, python in staged.user_names.items()}
    lines += [f"{name} = {names['_bind']}({name!r}, {name}, {sizes}"
              + (f", {written[name]!r})" if written.get(name, name) != name else ")")
              for name in staged.declared]
    lines += [f"{name} = {names['_number']}({written.get(name, name)!r}, {name})"
              for name in staged.inputs if name not in staged.declared
              and name not in staged.labels]
    lines += [f"{name} = {names['_labels']}({written.get(name, name)!r}, {name}, "
              + (f"{sizes}[{count!r}][0])" if isinstance(count, str) else f"{count})")
              for name, count in staged.labels.items()]
    read = {*cached_names, *(op.name for stage in staged.stages for op in stage.operands
                             if isinstance(op, Ref))}
    lines += [f"{dim} = {sizes}[{written!r}][0]"
              for written, dim in staged.dimension_names().items() if dim in read]
    return tuple(lines)
