"""What a compile holds at once: a big file's emit and build keep no record
per contribution or per AST node beyond the step that reads it.

The figures are tracemalloc's, of this process's Python objects, on
R(5,000) (benchmarks/random_circuit.py); the times are in benchmarks/.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from random_circuit import circuit  # noqa: E402

from compiler.driver import adjoint_ir  # noqa: E402
from compiler.emit.context import FUSED_GRAD_LIMIT, context  # noqa: E402

GATES = 5_000


@pytest.fixture(scope="module")
def big():
    return adjoint_ir(circuit(GATES))


def _traced(step):
    """The step's result, the memory it keeps, and its peak: both above
    what was held before it.  tracemalloc counts only what it saw made."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = step()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, kept - before, peak - before


def test_a_big_lecture_module_is_printed_without_holding_its_terms(big):
    # Each block's lines are made as soon as its local gradients are
    # printed; holding every Local and Term first took 2.7 times the
    # memory of the lines themselves.
    assert len(big.staged.stages) > FUSED_GRAD_LIMIT
    for target in ("math", "array-api"):
        _, kept, peak = _traced(lambda: context(big, "lecture", target))
        assert peak - kept < 0.5 * kept, target


def test_the_lines_made_as_printed_are_the_terms_lines(big):
    # jvp and hvp read every term, so that context keeps them: the same
    # lines either way.
    for target in ("math", "array-api"):
        streamed, with_terms = (context(big, "lecture", target, with_terms=terms)
                                for terms in (False, True))
        assert streamed.blocks == with_terms.blocks
        assert streamed.forward_lines == with_terms.forward_lines
        assert (streamed.seed_line, streamed.grad_blocks) == \
            (with_terms.seed_line, with_terms.grad_blocks)
        assert sum(map(len, (block.lines for block in streamed.blocks))) > GATES


def test_each_line_filled_at_once_is_the_lecture_line_of_its_local_gradient():
    # A big file's lines are filled from the stage's values with no `Local`
    # made on the way: every row's contributions, in every file of numbers,
    # for each target whose big lecture modules are printed so.
    from compiler.emit.stages import StagePrinter
    from compiler.emit.terms import lecture_line
    from compiler.errors import GradcError
    from compiler.files import read_source
    from compiler.gates.targets import TARGETS

    sources = sorted((ROOT / "examples").glob("*.txt")) + sorted((ROOT / "tests" / "cases")
                                                                  .glob("*.txt"))
    compared = set()
    for source in sources:
        try:
            ir = adjoint_ir(read_source(source))
        except GradcError:
            continue
        if ir.staged.shaped:
            continue
        for target in ("math", "numba", "array-api"):
            accumulate = TARGETS[target].accumulate
            fast, slow = StagePrinter(target), StagePrinter(target)
            for block in ir.blocks:
                code, lines = fast.lecture_stage(block.stage, block.shares, accumulate)
                expected, locals_ = slow.stage(block.stage, block.contributions)
                assert (code, lines) == (expected, tuple(
                    lecture_line(c, local, accumulate)
                    for c, local in zip(block.contributions, locals_))), source
                compared.update((block.stage.gate.name, index) for index, _ in block.shares)
            assert fast.reads == slow.reads
    assert len(compared) > 40


def test_a_given_program_is_freed_binding_by_binding_as_it_is_staged():
    # The AST of R(n) takes more memory than its stages: holding it whole
    # until the last binding was lowered made staging the compile's peak.
    from compiler.passes.stage import stage, stage_given

    text = circuit(GATES)
    staged, peak_given = _staging_peak(lambda owned: stage_given(owned), text)
    staged_whole, peak_whole = _staging_peak(lambda owned: stage(owned.pop()), text)
    assert staged == staged_whole
    assert peak_given < 0.6 * peak_whole


def _staging_peak(step, text: str):
    """The stages, and the peak above the program while they are made:
    tracemalloc sees the program freed only if it saw it made."""
    from compiler.front.parse import parse
    from compiler.front.resolve import resolve

    gc.collect()
    tracemalloc.start()
    try:
        owned = [resolve(parse(text))]
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        staged = step(owned)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert owned == []
    return staged, peak - before


def test_a_contribution_spells_its_stages_adjoint_only_when_asked(big):
    # A second string per stage, `dsigx` beside `sigx`, held for the whole
    # compile: 5.5 of the adjoint IR's 69 MiB at 10^5 gates.
    contributions = [c for block in big.blocks for c in block.contributions]
    assert len(contributions) > GATES
    assert all(c.spread_to is None and c.upstream == "d" + c.stage.name
               for c in contributions)


def test_a_big_module_is_written_as_it_is_rendered_never_whole(tmp_path):
    # Joining the module's text, then encoding it, held it twice over
    # above the lines it is made of: 354 MB at 10^6 gates.  Now a piece is
    # at most a thousand blocks of backward lines, a third of this module.
    from compiler.driver import compile_source, compiled
    from compiler.files import write_atomically

    text = circuit(GATES)
    module = compile_source(text)
    pieces = compiled(text)
    target = tmp_path / "r.py"
    _, _, peak = _traced(lambda: write_atomically(target, pieces))
    assert target.read_text(encoding="utf-8") == module
    assert peak < 0.5 * len(module)


def test_the_adjoint_ir_holds_no_record_per_contribution():
    # A block says which operands its contributions reach in one int, and
    # makes them when asked: a record each, and a tuple of them per block,
    # held 277 bytes per stage above the staged IR, 190 MB at 10^6 gates.
    from compiler.driver import staged_ir
    from compiler.passes.adjoint import adjoint

    staged = staged_ir(circuit(GATES))
    ir, kept, _ = _traced(lambda: adjoint(staged))
    assert kept < 120 * len(staged.stages)
    assert sum(len(block.contributions) for block in ir.blocks) > 1.2 * len(ir.blocks)


def test_a_big_module_keeps_the_derivation_a_row_writes_in_its_comment():
    # A fused cross-entropy's line says how its stable form follows from
    # the lecture's; a module past FUSED_GRAD_LIMIT made its lines without
    # that comment.
    terms = " + ".join(f"a*{k}" for k in range(1, FUSED_GRAD_LIMIT + 200))
    ir = adjoint_ir(f"h1 = w*x\nh2 = σ(h1)\ne = -log(h2)\nf = e + sin({terms})\n")
    streamed, with_terms = (context(ir, "lecture", "math", with_terms=terms)
                            for terms in (False, True))
    assert streamed.blocks == with_terms.blocks
    lines = [line for block in streamed.blocks for line in block.lines if "dh1 =" in line]
    assert lines == ["dh1 = (-signegh1) * de  # df/dh2 · dh2/dh1 = "
                     "(h2 − 1)/(h2(1 − h2)) · h2(1 − h2)"]


def test_a_span_is_one_int_in_the_ast():
    # Four ints in a tuple took 80 bytes a span, one per name, number and
    # operator and per operator node: the AST was 145 bytes a token, 690
    # MiB resident at 10^6 gates; with an int of 32 bytes, 103.
    from compiler.front.fastparse import _TOKEN
    from compiler.front.parse import parse

    text = circuit(GATES)
    tokens = sum(1 for match in _TOKEN.finditer(text) if match.lastindex)
    _, kept, _ = _traced(lambda: parse(text))
    assert kept < 110 * tokens


def test_the_text_is_freed_once_parsed(monkeypatch):
    # `gradc compile` held the file's text to the end: 30 MB at 10^6 gates
    # (σ makes it two bytes a character), beside the module's lines at emit.
    from compiler import build

    freed: list[bool] = []

    class Text(str):
        def __del__(self):
            freed.append(True)

    resolve, freed_at_resolve = build.resolve, []

    def resolve_noting(statements):
        freed_at_resolve.append(bool(freed))
        return resolve(statements)

    expected = adjoint_ir(circuit(200))
    monkeypatch.setattr(build, "resolve", resolve_noting)
    assert build.module_ir_given([Text(circuit(200))]) == expected
    assert freed_at_resolve == [True]
