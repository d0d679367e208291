"""Program -> StagedIR: one gate per stage, in the lecture's order.

Lowering walks each binding's expression in post-order (operands left to
right, then the gate), so the stages come out in the order a person would
write them: the staged example gives sigy, num, sigx, xpy, xpysqr, den,
invden, f.  What a gate becomes is asked of its row: a composite such as
division is expanded by `staged_as`, a constant operand picks a
`const_forms` specialisation (scale, shift, square, ...), and operands that
are all constant are folded by evaluating the gate's own forward snippet.

Names are given after each binding is lowered, in forward order, so that a
mnemonic can spell its operands' final names (`xpy` -> `xpysqr`).

A row's `rewrites` replace a gate applied to an unnamed stage of another
gate by an exact reformulation (log of σ is -softplus(-x); the negation of
a negation is the value itself), before any other lowering.  Before a
binding is lowered, each subtree that spells a fused row (fusion.py: the
cross-entropy of σ) becomes one call of that row.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import NamedTuple, Union

from compiler import gates
from compiler.passes import shapes
from compiler.errors import GradcError, Span
from compiler.gates import Gate
from compiler.passes.fusion import Matcher, StageValue, may_fuse
from compiler.passes.naming import Namer, builtins_called
from compiler.passes.notation import ArrayNotation, Axis, RowVector
from compiler.passes.values import Const, Operand, Ref
from compiler.front.resolve import Program
from compiler.passes.shapes import Shape
from compiler.gates.snippets import fill
from compiler.front.syntax import Apply, Expr, Keyword, Name, Number, fold, spelled


class Stage(NamedTuple):
    name: str
    gate: Gate
    operands: tuple[Operand, ...]
    constant: Const | None
    at: int
    """Where the file writes it: the int of its `span`, as the AST keeps one."""
    shape: Shape = ()
    """What the stage holds: () for a number (compiler/passes/shapes.py)."""

    @property
    def span(self) -> Span:
        return Span.of(self.at)


@dataclass(frozen=True)
class StagedIR:
    inputs: tuple[str, ...]
    stages: tuple[Stage, ...]
    output: str
    user_names: dict[str, str] = field(compare=False)
    """The name each user-written name has in the generated code."""
    wrt: tuple[str, ...] | None = None
    """The inputs whose gradients `backward` returns, in that order; None
    for all of `inputs` (see optimize.restrict_gradients)."""
    roles: dict[str, str] = field(default_factory=dict, compare=False)
    """The role (`num`, `den`) that named a stage gradc named, by its name."""
    declared: dict[str, Shape] = field(default_factory=dict, compare=False)
    """Each array input's declared shape (§8), by its Python name."""
    dims: tuple[str, ...] = ()
    """The dimension names; a stage may read one as a number, its size."""
    declared_at: dict[str, Span] = field(default_factory=dict, compare=False)
    """Where each array input is declared, by its Python name."""
    input_at: dict[str, Span] = field(default_factory=dict, compare=False)
    """Where the file first names each input (its signature, or its first
    use), by its Python name, for errors about the input as a whole."""
    read_through: frozenset[str] = frozenset()
    """The stages the file names that a stable rewrite read through (`ŷ =
    σ(z)` before `log(ŷ)`): they stay in the forward pass though nothing
    may read them, since the file named them as steps (§5)."""
    labels: dict[str, str | int] = field(default_factory=dict, compare=False)
    """Each input that holds class labels, by its Python name, and its class
    count as the file writes it (a dimension name or a number)."""

    @property
    def shaped(self) -> bool:
        return bool(self.declared)

    def shapes(self) -> dict[str, Shape]:
        """The shape of every input and stage, by name (() for a number)."""
        shapes = dict.fromkeys(self.inputs, ())
        shapes.update(self.declared)
        shapes.update((stage.name, stage.shape) for stage in self.stages)
        return shapes

    def dimension_names(self) -> dict[str, str]:
        """Each dimension's Python name (`lambda_`) by its name in the file
        (`lambda`), which SHAPES, shapes and messages keep."""
        python = set(self.dims)
        return {written: name for written, name in self.user_names.items() if name in python}

    def input_free(self) -> frozenset[str]:
        """The stages that depend on no input: made of sizes and constants."""
        depends = set(self.inputs)
        for stage in self.stages:
            if any(isinstance(op, Ref) and op.name in depends for op in stage.operands):
                depends.add(stage.name)
        return frozenset(stage.name for stage in self.stages if stage.name not in depends)

    @property
    def gradient_inputs(self) -> tuple[str, ...]:
        return self.inputs if self.wrt is None else self.wrt


class _Draft(NamedTuple):
    """A stage before it has a name.  The user's name and the role that
    name a few drafts are kept beside them, by index (`_Lowering`), so that
    a draft, made per gate, is a tuple."""

    gate: Gate
    operands: list  # _Slot (a draft of the same binding), Ref or Const
    constant: Const | None
    span: int  # the node's, a `Span`'s int
    shape: Shape = ()


class _Slot(NamedTuple):
    """A reference to a draft stage, before stages have names."""

    index: int


# Records made once per stage or operand are made by the tuple constructor
# itself: a named tuple's own `__new__` is a Python function, which doubles
# their cost.
_tuple_new = tuple.__new__

# The gates some rewrite reformulates: only their stages are remembered.
REWRITE_OPERANDS = frozenset(rewrite.operand for row in gates.GATES.values()
                             for rewrite in row.rewrites)

# The rows that lower to one stage of their own, unless all their operands
# are constants: no rewrite, no specialised form, no expansion, no helper.
_DIRECT = frozenset(name for name, row in gates.GATES.items() if row.on_numbers and not (
    row.axis_rows or row.arrays_staged_as or row.rewrites or row.const_forms or row.staged_as
    or row.helpers))


def stage(program: Program, interface: frozenset[str] = frozenset(),
          target: str | None = None) -> StagedIR:
    """`interface`: the module's interface names beyond §6's, which the
    user's names then avoid (`jvp`, `hvp`, `hessian` with --hvp); `target`:
    the module's, whose builtins they avoid too (None: the default one)."""
    return _Lowering(program, interface, target).run(list(reversed(program.bindings)))


def stage_given(owned: list, interface: frozenset[str] = frozenset(),
                target: str | None = None) -> StagedIR:
    """`stage` of the program `owned` holds, given up: each binding's
    expression is freed as soon as it is lowered, so that the AST and the
    stages are never both whole in memory."""
    program = owned.pop()
    pending = list(reversed(program.bindings))
    lowering = _Lowering(program, interface, target)
    lowering.program = dataclasses.replace(program, bindings=())
    del program
    return lowering.run(pending)


class _Lowering(ArrayNotation):
    def __init__(self, program: Program, interface: frozenset[str] = frozenset(),
                 target: str | None = None):
        self.program = program
        self.drafts: list[_Draft] = []
        # By a draft's index: the user's name of the binding's value, and
        # the role (`num`, `den`) a composite gave an operand.
        self.draft_names: dict[int, str] = {}
        self.draft_roles: dict[int, str] = {}
        # The user's names are claimed first, so that a generated name
        # never takes one; then the output's, if the user gave it none.
        target = target or ("numpy" if program.shaped else "math")
        self.namer = Namer(arrays=program.shaped, interface=interface,
                           called=builtins_called(target, interface))
        self.python = self.namer.claim_user_names(_user_names(program) + list(program.dims))
        last = program.bindings[-1].name
        self.output = self.python[last] if program.output_named \
            else self.namer.claim_generated("f", "f")
        # One Ref per input, shared by every stage that reads it.
        self.bindings: dict[str, object] = {name.id: Ref(self.python[name.id])
                                            for name in program.inputs + tuple(
                                                Name(dim, None) for dim in program.dims)}
        self.roles: dict[str, str] = {}
        declared = program.shapes or {}
        self.declared = {self.python[name]: tuple(shape) for name, shape in declared.items()}
        self.shapes: dict[str, Shape] = dict(self.declared)
        self.classes = {self.python[name]: count
                        for name, count in (program.labels or {}).items()}
        # The stages of earlier lines that a rewrite may read through, and
        # those it did.
        self.rewritable_stages: dict[Ref, Stage] = {}
        self.read_through: set[str] = set()
        # Those stages by what they compute, for a row's helpers to reuse.
        self.computed: dict[tuple, Ref] = {}
        # The gate of each function name, and each row by name: read once
        # per node, so held here rather than reached through the program.
        self.calls = program.calls or {}
        self.rows = gates.GATES
        self.constants = program.constants
        # Without shapes, most rows lower to one stage of their own.
        self.direct = frozenset() if program.shaped else _DIRECT
        # Through `self.program`, which `stage_given` replaces by one
        # without its bindings.
        self.fusing = Matcher(lambda node: self.program.gate_name(node), self._stage_named,
                              self._leaf) if may_fuse((program.calls or {}).values()) else None

    def run(self, pending: list) -> StagedIR:
        """`pending`: the bindings, last first, each dropped once lowered."""
        stages: list[Stage] = []
        while pending:
            binding = pending.pop()
            value = self._lower(binding.value)
            if isinstance(value, RowVector):
                self._refuse_row_vector(value)
            if isinstance(value, Const):
                value = self._new(gates.GATES[gates.CONST], [], value, binding.span)
            elif not isinstance(value, _Slot):
                # `q = x` or `r = q` names a value that already exists.
                value = self._new(gates.GATES[gates.COPY], [value], None, binding.span)
            self.draft_names[value.index] = binding.name
            refs = self._named(stages, is_output=not pending)
            self.bindings[binding.name] = refs[value.index]
        inputs = tuple(self.python[n.id] for n in self.program.inputs)
        # Labels are data: they get no gradient, as if --wrt left them out.
        wrt = tuple(name for name in inputs if name not in self.classes) \
            if self.classes else None
        return StagedIR(inputs, tuple(stages), self.output, self.python, roles=self.roles,
                        wrt=wrt, labels=self.classes,
                        declared=self.declared,
                        declared_at={self.python[name]: span for name, span
                                     in (self.program.declared_at or {}).items()},
                        input_at={self.python[n.id]: Span.of(n.span)
                                  for n in self.program.inputs},
                        dims=tuple(self.python[dim] for dim in self.program.dims),
                        read_through=frozenset(self.read_through))

    # -- lowering ------------------------------------------------------------

    def _lower(self, root: Expr):
        if self.fusing is not None:
            root = self.fusing.rewrite(root)
            self.read_through |= self.fusing.read_through
        return fold(root, self._leaf, self._operation)

    def _stage_named(self, name: str) -> Stage | None:
        """The stage a name of the file gives, where a rewrite may read it."""
        value = self.bindings.get(name)
        return self.rewritable_stages.get(value) if isinstance(value, Ref) else None

    def _operation(self, node: Apply, args: list):
        gate = self.rows[self.calls[node.func] if node.is_call else node.func]
        if gate.name in self.direct and not _all_constant(args):
            # What `_apply` would decide, without asking: most gates.
            self.drafts.append(_tuple_new(_Draft, (gate, args, None, node.span, ())))
            return _tuple_new(_Slot, (len(self.drafts) - 1,))
        if gate.axis_rows:
            gate, args = self._row_for_call(node, gate, list(args))
        if self.declared:
            gate, args = self._product(node, gate, args)
            for arg in args:
                if isinstance(arg, RowVector):
                    self._refuse_row_vector(arg, node, gate)
            if gate.vector_as_row and len(self._shape(args[0])) == 1:
                return RowVector(args[0], node)
            if gate.on_numbers and not gate.arrays_staged_as:
                args = self._aligned(args, node.span)
            if gate.reads_classes:
                args = [*args, self._class_count(args[gate.label_operands[0]])]
        if self.declared or not gate.on_numbers:
            self._check_shapes(node, gate, args)
        return self._apply(gate, args, node.span)

    def _class_count(self, labels: Ref):
        """The class count of labels as an operand: its size, or a number."""
        count = self.classes[labels.name]
        return Const(float(count), True) if isinstance(count, int) else self.bindings[count]

    def _classes(self, operands) -> list:
        return [self.classes.get(op.name) if isinstance(op, Ref) else None for op in operands]

    def _check_shapes(self, node: Apply, gate: Gate, args: list) -> None:
        """The shape rule of the gate the user wrote, located at its
        operator and told in the file's own words; the stages it lowers to
        then agree by construction."""
        for form in gate.const_forms:
            # An optional constant operand (an axis) picks the row to check.
            chosen = args[form.position] if gate.arity <= form.position < len(args) else None
            if isinstance(chosen, Const) and form.matches(chosen.value):
                gate, args = gates.GATES[form.gate], args[:form.position]
                break
        operand_shapes = [self._shape(arg) for arg in args]
        shapes.infer(gate, operand_shapes,
                     lambda: ([spelled(arg) for arg in node.args[:len(args)]], spelled(node)),
                     node.func_span, self._classes(args))

    def _shape(self, value) -> Shape:
        if isinstance(value, _Slot):
            return self.drafts[value.index].shape
        return self.shapes.get(value.name, ()) if isinstance(value, Ref) else ()

    def _leaf(self, node: Union[Name, Number, Keyword]):
        kind = type(node)
        if kind is Name:  # most leaves: a value the file names
            constant = self.constants.get(node.id)
            return self.bindings[node.id] if constant is None else Const(constant)
        if kind is Number:
            return _tuple_new(Const, (node.value, node.integral))
        if kind is StageValue:
            return Ref(node.id)
        if kind is Keyword:
            value = node.value
            return Axis(int(value.value) if isinstance(value, Number) else value.id, node)
        raise TypeError(f"not a leaf: {node!r}")

    def _apply(self, gate: Gate, args: list, span: Span):
        if gate.on_numbers and _all_constant(args):
            return _fold(gate, args, None, span)
        if gate.arrays_staged_as and all(map(self._shape, args)):
            return self._expand(gate.arrays_staged_as, args, span)
        if gate.rewrites:
            rewritten = self._rewritten(gate, args, None, span)
            if rewritten is not None:
                return rewritten
        for form in gate.const_forms:
            chosen = args[form.position] if form.position < len(args) else None
            if isinstance(chosen, Const) and form.matches(chosen.value):
                rest = [arg for i, arg in enumerate(args) if i != form.position]
                special = gates.GATES[form.gate]
                if special.staged_as:
                    return self._expand(special.staged_as, rest, span)
                constant = chosen if special.takes_constant else None
                # The specialised row may rewrite too: `1 - σ(x)` is csub's.
                rewritten = self._rewritten(special, rest, constant, span)
                return rewritten if rewritten is not None \
                    else self._new(special, rest, constant, span)
        if gate.staged_as:
            for role, arg in zip(gate.roles, args):
                if isinstance(arg, _Slot):
                    self.draft_roles.setdefault(arg.index, role)
            return self._expand(gate.staged_as, args, span)
        return self._new(gate, args, None, span)

    def _rewritten(self, gate: Gate, args: list, constant: Const | None, span: Span):
        """The lowering of the first of the row's rewrites that applies, or None."""
        for rewrite in gate.rewrites:
            if not rewrite.applies(constant):
                continue
            named = self._named_stage(args[0], rewrite)
            if named is not None:
                self.read_through.add(named.name)
                return self._expand(rewrite.plan, list(named.operands), span)
            if self._rewritable(args[0], rewrite):
                inner = self.drafts.pop()
                if rewrite.inner is not None:
                    inner = self.drafts.pop()
                return self._expand(rewrite.plan, inner.operands, span)
        return None

    def _rewritable(self, arg, rewrite) -> bool:
        """Whether `arg` is the stage just lowered, unnamed and of the gate the
        rewrite names: then nothing else reads it, and it can be replaced.  A
        stage the user named is kept, as written.  With `rewrite.inner`, the
        stage before it must be that stage's operand, and match in turn."""
        if not self._unnamed_last(arg, rewrite.operand, 1):
            return False
        return rewrite.inner is None or self._unnamed_last(
            self.drafts[arg.index].operands[0], rewrite.inner, 2)

    def _named_stage(self, arg, rewrite) -> Stage | None:
        """The stage of an earlier line that `arg` names, when the rewrite
        applies to it: `ŷ = σ(z)` and then `log(ŷ)` is `-softplus(-z)`.  The
        named stage stays, for its other readers; the rewrite reads its
        operands instead of its value."""
        stage = self.rewritable_stages.get(arg) if isinstance(arg, Ref) else None
        if stage is None or stage.gate.name != rewrite.operand or rewrite.inner is not None:
            return None
        return stage

    def _unnamed_last(self, arg, gate_name: str, depth: int) -> bool:
        if not (isinstance(arg, _Slot) and arg.index == len(self.drafts) - depth):
            return False
        return self.drafts[arg.index].gate.name == gate_name \
            and arg.index not in self.draft_names and arg.index not in self.draft_roles

    def _expand(self, plan, args: list, span: Span):
        if isinstance(plan, int):
            return args[plan]
        name, *operands = plan
        return self._apply(gates.GATES[name], [self._expand(p, args, span) for p in operands],
                           span)

    def _new(self, gate, operands, constant, span) -> _Slot:
        shape = ()
        if self.declared:
            operand_shapes = [self._shape(op) for op in operands]
            shape = shapes.infer(gate, operand_shapes,
                                 lambda: ([gate.name] * len(operands), gate.name), span,
                                 self._classes(operands))
        if gate.helpers:
            # The values its code reads beside its operands, stages of their own.
            operands = [*operands, *(self._helper(plan, list(operands), span)
                                     for _, plan in gate.helpers)]
        self.drafts.append(_tuple_new(_Draft, (gate, list(operands), constant, span, shape)))
        return _tuple_new(_Slot, (len(self.drafts) - 1,))

    def _helper(self, plan, operands: list, span: Span):
        """A value a row reads beside its operands: the stage of an earlier
        line that computes it already (`ŷ = σ(z)` for the cross-entropy of
        z), or a stage of its own."""
        if not isinstance(plan, int) and all(isinstance(part, int) for part in plan[1:]):
            known = self.computed.get((plan[0], *(operands[part] for part in plan[1:])))
            if known is not None:
                return known
        return self._expand(plan, operands, span)

    # -- naming --------------------------------------------------------------

    def _named(self, stages: list[Stage], is_output: bool) -> list[Ref]:
        """Names one binding's drafts, in forward order, as stages, and
        returns a Ref to each.  Everything a name depends on is known once
        the binding is lowered, so its drafts need not outlive it."""
        refs: list[Ref] = []  # one per stage, shared by the stages that read it
        output_at = len(self.drafts) - 1 if is_output else -1
        for index, draft in enumerate(self.drafts):
            operands = tuple([refs[op.index] if type(op) is _Slot else op
                              for op in draft.operands])
            name = self.output if index == output_at else self._name_of(index, draft, operands)
            ref = _tuple_new(Ref, (name,))
            named = _tuple_new(Stage, (name, draft.gate, operands, draft.constant, draft.span,
                                       draft.shape))
            refs.append(ref)
            stages.append(named)
            if draft.shape:
                self.shapes[name] = draft.shape
            if draft.gate.name in REWRITE_OPERANDS:
                self.rewritable_stages[ref] = named
                self.computed.setdefault((draft.gate.name, *operands), ref)
        self.drafts.clear()
        self.draft_names.clear()
        self.draft_roles.clear()
        return refs

    def _name_of(self, index: int, draft: _Draft, operands) -> str:
        user_name = self.draft_names.get(index)
        if user_name is not None:
            return self.python[user_name]
        role = self.draft_roles.get(index)
        name = _generated_name(self.namer, draft.gate, operands, role)
        if role is not None:
            self.roles[name] = role
        return name


def _all_constant(operands: list) -> bool:
    for operand in operands:
        if type(operand) is not Const:
            return False
    return True


def _generated_name(namer: Namer, gate: Gate, operands, role: str | None) -> str:
    """A name for a stage the user did not name: its role (`num`), or its
    gate's mnemonic of its operands' names (`xpy`, `sigxpy`)."""
    if role is not None:
        return namer.claim_generated(role, role)
    spelled = [op.name if type(op) is Ref else "" for op in operands]
    mnemonic = gate.mnemonic.format(a=spelled[0] if spelled else "",
                                    b=spelled[1] if len(spelled) > 1 else "",
                                    args="".join(spelled))
    return namer.claim_generated(mnemonic, gate.stem)


def renamed(staged: StagedIR) -> StagedIR:
    """The stages with every name gradc made up given again, in forward
    order and by the same rules as when they were staged: once a pass has
    merged or dropped stages, `xpy2sqr` reads `xpysqr` again.  The user's
    names and the output keep theirs."""
    namer = Namer(arrays=staged.shaped)
    kept = {*staged.user_names.values(), staged.output}
    namer.claim_fixed(kept)
    refs: dict[Ref, Ref] = {}  # a renamed stage -> its new name
    stages = []
    for stage in staged.stages:
        operands = stage.operands
        if refs and not refs.keys().isdisjoint(operands):
            operands = tuple([refs.get(op, op) for op in operands])
        name = stage.name if stage.name in kept else _generated_name(
            namer, stage.gate, operands, staged.roles.get(stage.name))
        if name != stage.name:
            refs[Ref(stage.name)] = Ref(name)
        stages.append(stage if name == stage.name and operands is stage.operands
                      else stage._replace(name=name, operands=operands))
    if not refs:
        return staged
    new = {old.name: ref.name for old, ref in refs.items()}
    return dataclasses.replace(staged, stages=tuple(stages), roles={
        new.get(name, name): role for name, role in staged.roles.items()})


def _user_names(program: Program) -> list[str]:
    """Every name the user wrote, inputs first; the output's only if named."""
    names = [n.id for n in program.inputs] + [b.name for b in program.bindings[:-1]]
    if program.output_named:
        names.append(program.bindings[-1].name)
    return names


def _fold(gate: Gate, operands: list, constant: Const | None, span: Span) -> Const:
    """Evaluates a gate on constants with its own forward snippet, so that
    folding and the generated code can never disagree."""
    code = fill(gate.forward, gate, operands, constant)
    try:
        value = eval(code, {"math": math, "__builtins__": gates.SNIPPET_BUILTINS})
        if isinstance(value, complex):
            raise ValueError("no real value")
        value = float(value)
    except (ArithmeticError, ValueError) as failure:
        raise GradcError(f"this constant expression has no value: {failure}", span) from None
    if not math.isfinite(value):
        raise GradcError("this constant expression overflows a 64-bit float", span)
    integral = all(getattr(op, "integral", False) for op in operands) and value.is_integer() \
        and abs(value) < 2**53
    return Const(value, integral)

