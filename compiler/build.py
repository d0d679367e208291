"""Formula text -> Build: the one compiled formula every command consumes.

    text -parse-> statements -resolve-> Program -stage-> StagedIR
         -optimize-> StagedIR -adjoint-> AdjointIR

`compile`, `check`, `explain`, `draw` and `compiler.load` each parse a file
once, here, with one set of pass switches (`Passes`), and read what they
need from the result: the resolved program (the checker's oracle), the
staged IR (the stages a drawing shows) and the adjoint IR (the module).
Nothing here imports NumPy, SymPy or a tool.
"""

from __future__ import annotations

import contextlib
import gc
import os
import types
from dataclasses import dataclass
from pathlib import Path

from compiler.files import read_source
from compiler.front.parse import parse
from compiler.front.resolve import Program, resolve
from compiler.passes.adjoint import AdjointIR, adjoint
from compiler.passes.naming import SECOND_ORDER_INTERFACE
from compiler.passes.optimize import Passes, optimize
from compiler.passes.stage import StagedIR, stage_given


@dataclass(frozen=True)
class Build:
    text: str
    program: Program
    staged: StagedIR
    """After the optimization passes: the stages the module computes."""
    adjoint: AdjointIR
    passes: Passes
    label: str = "<source>"
    """The file the text came from, as the user named it, for reports."""
    second_order: tuple[str, ...] = ()
    """The functions of §10 the module adds: (), ("jvp",) or ("jvp", "hvp")."""
    target: str | None = None
    """The target whose builtins the user's names avoid (None: the default)."""

    @property
    def shaped(self) -> bool:
        return self.staged.shaped

    def module(self, target: str | None = None, style: str = "lecture") -> str:
        """The generated module's source (`target` None: numpy for a file
        that declares shapes, else math)."""
        from compiler.driver import emit

        if (target or self.default_target) != (self.target or self.default_target):
            # Another target calls other builtins, which the names avoid.
            return build(self.text, self.passes, self.label, self.second_order,
                         target).module(target, style)
        return emit(self.adjoint, target, style, self.second_order)

    @property
    def default_target(self) -> str:
        return "numpy" if self.shaped else "math"

    def load(self, target: str | None = None, style: str = "lecture",
             name: str = "formula") -> types.ModuleType:
        """The generated module, imported (a numba module from a cached file)."""
        from compiler.loader import imported

        return imported(self.module(target, style), target, name, Path(self.label).name)


def build(text: str, passes: Passes = Passes(), label: str = "<source>",
          second_order: tuple[str, ...] = (), target: str | None = None) -> Build:
    """`second_order`: the functions of §10 the module adds, whose names a
    user's name then does not take, nor the builtins `target`'s module calls."""
    with without_cyclic_gc():
        program = resolve(parse(text))
        staged = _optimized([program], passes, second_order, target)
        return Build(text, program, staged, adjoint(staged), passes, label, second_order,
                     target)


def module_ir(text: str, passes: Passes = Passes(), second_order: tuple[str, ...] = ()
              ) -> AdjointIR:
    """The adjoint IR alone, which a module is emitted from: the resolved
    program, whose AST takes as much memory as the staged IR, is freed as
    soon as it is staged, before the passes and the adjoint pass run."""
    return module_ir_given([text], passes, second_order)


def module_ir_given(owned: list, passes: Passes = Passes(),
                    second_order: tuple[str, ...] = (), target: str | None = None
                    ) -> AdjointIR:
    """`module_ir` of the text `owned` holds, given up to be freed once
    parsed (16 MB at 10^6 gates, beside the module's lines at emit)."""
    with without_cyclic_gc():
        return adjoint(_optimized([resolve(parse(owned.pop()))], passes, second_order, target))


def _optimized(owned: list, passes: Passes, second_order: tuple[str, ...],
               target: str | None = None) -> StagedIR:
    """`owned` holds the program, given up to be freed once staged."""
    # --jvp adds jvp alone, so hvp and hessian stay free for the user's names.
    interface = SECOND_ORDER_INTERFACE if "hvp" in second_order else frozenset(second_order)
    return optimize(stage_given(owned, interface, target), passes)


def read(path: str | os.PathLike, passes: Passes = Passes(),
         second_order: tuple[str, ...] = (), target: str | None = None) -> Build:
    """The formula file at `path`, built; its label is the path as given."""
    return build(read_source(path), passes, str(path), second_order, target)


def passes_of(wrt=None, fold: bool = True, cse: bool = True, dce: bool = True) -> Passes:
    """`Passes` from the keyword options `compile_source` and `load` take;
    `wrt` is input names as the file writes them (None: all inputs)."""
    return Passes(fold=fold, cse=cse, dce=dce, wrt=None if wrt is None else tuple(wrt))


def module_name(path: str | os.PathLike) -> str:
    stem = Path(path).stem
    return stem if stem.isidentifier() else "formula"


@contextlib.contextmanager
def without_cyclic_gc():
    # Every step allocates a node per gate and frees nothing until the end;
    # the cyclic GC would walk that growing heap again and again (three
    # times the whole compile time at 10^5 gates).  Reference counting
    # still frees everything, and the IRs hold no cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
