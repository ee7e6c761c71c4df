"""Safe arithmetic for calc.evaluate, without eval.

A tokenizer and a recursive-descent parser that evaluates as it parses, over
decimal numbers (so 0.1 + 0.2 is 0.3). The grammar is the whole language:

    expression := sum END
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := ("+" | "-") unary | power
    power      := atom (("^" | "**") unary)?        right-associative: 2^3^2 = 2^9
    atom       := NUMBER | "(" sum ")"
    NUMBER     := [0-9]+ ("." [0-9]*)? | "." [0-9]+

Unary minus binds looser than power (-2^2 = -4), as in written mathematics.
"%" is the remainder, with the sign of the dividend (the nlp engine turns
"mod" into it). Everything is bounded so that no input can take long or grow
large: at most MAX_EXPRESSION_CHARS characters, MAX_DEPTH nested parentheses
and signs, exponents within +-MAX_EXPONENT, PRECISION significant digits and
magnitudes below 1e1000. Every refusal is an EvaluationError with a stable
code; the message is deterministic for the same input.
"""

from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from decimal import Decimal

MAX_EXPRESSION_CHARS = 256
MAX_DEPTH = 64
MAX_EXPONENT = 1000
PRECISION = 34
_EMAX = 999

# ASCII digits only: Python's \d and Decimal() would also accept other scripts' digits.
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_SPACE = frozenset(" \t")
_SINGLE = frozenset("+-*/%^()")


class EvaluationError(ValueError):
    """An expression that cannot be evaluated; `code` is stable, callers branch on it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    kind: str  # "number", an operator ("+", "-", "*", "/", "%", "^"), "(", ")" or "end"
    text: str
    position: int  # 1-based column in the expression


def _context() -> decimal.Context:
    return decimal.Context(
        prec=PRECISION,
        rounding=decimal.ROUND_HALF_EVEN,
        Emax=_EMAX,
        Emin=-_EMAX,
        capitals=1,
        clamp=0,
        flags=[],
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow, decimal.Underflow],
    )


def tokenize(expression: str) -> list[Token]:
    """Splits an expression into tokens; refuses any character outside the language."""
    tokens: list[Token] = []
    i = 0
    while i < len(expression):
        char = expression[i]
        if char in _SPACE:
            i += 1
            continue
        number = _NUMBER.match(expression, i)
        if number is not None:
            tokens.append(Token("number", number.group(), i + 1))
            i = number.end()
            continue
        if expression.startswith("**", i):
            tokens.append(Token("^", "**", i + 1))
            i += 2
            continue
        if char in _SINGLE:
            tokens.append(Token(char, char, i + 1))
            i += 1
            continue
        shown = char if char.isprintable() else f"U+{ord(char):04X}"
        raise EvaluationError("invalid_character", f"character '{shown}' at position {i + 1} is not allowed")
    tokens.append(Token("end", "", len(expression) + 1))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._at = 0
        self._depth = 0

    def parse(self) -> Decimal:
        value = self._sum()
        token = self._peek()
        if token.kind != "end":
            raise _unexpected(token)
        return value

    def _peek(self) -> Token:
        return self._tokens[self._at]

    def _take(self) -> Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _enter(self, token: Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise EvaluationError(
                "too_deep", f"the expression nests more than {MAX_DEPTH} levels deep at position {token.position}"
            )

    def _sum(self) -> Decimal:
        value = self._product()
        while self._peek().kind in ("+", "-"):
            operator = self._take()
            right = self._product()
            value = _apply(operator, value, right)
        return value

    def _product(self) -> Decimal:
        value = self._unary()
        while self._peek().kind in ("*", "/", "%"):
            operator = self._take()
            right = self._unary()
            value = _apply(operator, value, right)
        return value

    def _unary(self) -> Decimal:
        token = self._peek()
        if token.kind not in ("+", "-"):
            return self._power()
        self._take()
        self._enter(token)
        operand = self._unary()
        self._depth -= 1
        return operand.copy_negate() if token.kind == "-" else operand

    def _power(self) -> Decimal:
        base = self._atom()
        if self._peek().kind != "^":
            return base
        operator = self._take()
        self._enter(operator)
        exponent = self._unary()
        self._depth -= 1
        return _apply(operator, base, exponent)

    def _atom(self) -> Decimal:
        token = self._take()
        if token.kind == "number":
            return +Decimal(token.text)  # unary plus rounds a long literal to PRECISION digits
        if token.kind == "(":
            self._enter(token)
            value = self._sum()
            closing = self._take()
            if closing.kind != ")":
                if closing.kind == "end":
                    raise EvaluationError("syntax", f"the parenthesis at position {token.position} is never closed")
                raise _unexpected(closing)
            self._depth -= 1
            return value
        raise _unexpected(token)


def _unexpected(token: Token) -> EvaluationError:
    if token.kind == "end":
        return EvaluationError("syntax", "the expression ends where a number was expected")
    return EvaluationError("syntax", f"unexpected '{token.text}' at position {token.position}")


def _apply(operator: Token, left: Decimal, right: Decimal) -> Decimal:
    kind = operator.kind
    where = f"at position {operator.position}"
    if kind in ("/", "%") and right.is_zero():
        raise EvaluationError("division_by_zero", f"division by zero {where}")
    if kind == "^":
        if abs(right) > MAX_EXPONENT:
            raise EvaluationError(
                "exponent_too_large", f"the exponent {where} must lie between -{MAX_EXPONENT} and {MAX_EXPONENT}"
            )
        if left.is_zero() and right.is_zero():
            raise EvaluationError("undefined", f"0 ^ 0 {where} is undefined")
        if left.is_zero() and right < 0:
            raise EvaluationError("division_by_zero", f"division by zero {where} (0 to a negative power)")
        if left < 0 and right != right.to_integral_value():
            raise EvaluationError("undefined", f"a negative number to a fractional power {where} has no real value")
    try:
        if kind == "+":
            return left + right
        if kind == "-":
            return left - right
        if kind == "*":
            return left * right
        if kind == "/":
            return left / right
        if kind == "%":
            return left % right
        return left**right
    except decimal.Overflow:
        raise EvaluationError("out_of_range", f"the result {where} is too large (at most 1e{_EMAX + 1})") from None
    except decimal.Underflow:
        raise EvaluationError("out_of_range", f"the result {where} is too small to represent") from None
    except decimal.DivisionByZero:
        raise EvaluationError("division_by_zero", f"division by zero {where}") from None
    except decimal.InvalidOperation:
        raise EvaluationError("out_of_range", f"the operation {where} has no representable result") from None


def evaluate(expression: str) -> Decimal:
    """Evaluates an arithmetic expression; raises EvaluationError for anything outside the language."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise EvaluationError(
            "too_long", f"the expression has {len(expression)} characters; at most {MAX_EXPRESSION_CHARS} are allowed"
        )
    if expression.strip(" \t") == "":
        raise EvaluationError("empty", "the expression is empty")
    with decimal.localcontext(_context()):
        tokens = tokenize(expression)
        try:
            return _Parser(tokens).parse()
        except decimal.DecimalException:
            # Rounding a literal or a sign can only overflow or underflow.
            raise EvaluationError("out_of_range", "a number in the expression is out of range") from None


def format_number(value: Decimal) -> str:
    """Formats a result the way JavaScript prints numbers: plain from 1e-7 up to 1e21, else 1.5e+30."""
    if value.is_zero():
        return "0"
    with decimal.localcontext(_context()):
        normal = value.normalize()
    exponent = normal.adjusted()
    if -7 < exponent < 21:
        return format(normal, "f")
    return format(normal, "e")
