"""No input of any kind gets anything but a module or a GradcError."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler import GradcError, compile_source

# Fragments that make up near-formulas, so that most inputs get deep into
# the parser and past it, not only to the first character.
_FRAGMENTS = ["x", "y", "e", "pi", "π", "σ", "(", ")", "+", "-", "−", "*", "**", "^", "/",
              "÷", "·", "=", ",", ";", "\n", "\r\n", " ", "\t", "#", "2", ".5", "1e3", "0",
              "f(", "max(", "atan2(", "log(", "sqrt(", "q", "dq", "lambda", "__name__",
              "₀", "1e999", "\x00", "\ufeff", "é", "@", "\\", '"""', "{{", "%s"]

near_formulas = st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join)


def _compiles_or_reports(text: str) -> None:
    try:
        compile_source(text)
    except GradcError as error:
        assert error.message and error.message[0].islower() or error.message[0] in "'"
        if error.span is not None:
            assert error.span.line >= 1 and error.span.column >= 1


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(near_formulas)
def test_near_formulas_never_crash(text):
    _compiles_or_reports(text)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(text):
    _compiles_or_reports(text)
