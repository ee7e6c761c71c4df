"""Unit tests of the calc evaluator (stdlib unittest; test/integration/python-engine.test.ts runs them).

Run: /usr/bin/python3 -B -m unittest discover -s services/engines/calc -p 'test_*.py'
"""

import unittest
from decimal import Decimal

from evaluate import MAX_DEPTH, MAX_EXPRESSION_CHARS, EvaluationError, evaluate, format_number


def calc(expression: str) -> str:
    return format_number(evaluate(expression))


class EvaluateTest(unittest.TestCase):
    def assert_refused(self, expression: str, code: str) -> EvaluationError:
        with self.assertRaises(EvaluationError) as caught:
            evaluate(expression)
        self.assertEqual(caught.exception.code, code, caught.exception.message)
        return caught.exception

    def test_operators_and_precedence(self) -> None:
        cases = {
            "(3 + 4) * 2": "14",
            "12 * 7": "84",
            "1 + 2 * 3": "7",
            "10 - 4 - 3": "3",
            "100 / 4 / 5": "5",
            "7 % 3": "1",
            "-7 % 3": "-1",
            "2 ^ 10": "1024",
            "2 ** 10": "1024",
            "2 ^ 3 ^ 2": "512",
            "(2 ^ 3) ^ 2": "64",
            "2 * 3 ^ 2": "18",
        }
        for expression, expected in cases.items():
            with self.subTest(expression=expression):
                self.assertEqual(calc(expression), expected)

    def test_unary_signs(self) -> None:
        self.assertEqual(calc("-3 + 5"), "2")
        self.assertEqual(calc("-(-(-1))"), "-1")
        self.assertEqual(calc("2 * -3"), "-6")
        self.assertEqual(calc("3 - -3"), "6")
        self.assertEqual(calc("+4"), "4")
        self.assertEqual(calc("-2 ^ 2"), "-4")
        self.assertEqual(calc("(-2) ^ 2"), "4")
        self.assertEqual(calc("2 ^ -1"), "0.5")

    def test_decimals_are_exact(self) -> None:
        self.assertEqual(calc("0.1 + 0.2"), "0.3")
        self.assertEqual(calc(".5 + 5."), "5.5")
        self.assertEqual(calc("1.50 * 2"), "3")
        self.assertEqual(calc("1 / 3"), "0.3333333333333333333333333333333333")
        self.assertEqual(evaluate("2.5 * 4"), Decimal(10))

    def test_formatting_follows_javascript_number_style(self) -> None:
        self.assertEqual(calc("10 ^ 20"), "100000000000000000000")
        self.assertEqual(calc("10 ^ 21"), "1e+21")
        self.assertEqual(calc("1.5 * 10 ^ 30"), "1.5e+30")
        self.assertEqual(calc("0.000001"), "0.000001")
        self.assertEqual(calc("0.0000001"), "1e-7")
        self.assertEqual(calc("0 * -1"), "0")

    def test_division_by_zero(self) -> None:
        error = self.assert_refused("1 / 0", "division_by_zero")
        self.assertEqual(error.message, "division by zero at position 3")
        self.assert_refused("5 % (2 - 2)", "division_by_zero")
        self.assert_refused("0 ^ -1", "division_by_zero")

    def test_syntax_errors(self) -> None:
        for expression in ["1 +", "2 3", "1.2.3", "()", ")", "(1", "* 2", "2 * * 3", "2(3)", "1 ^", "1 // 2"]:
            with self.subTest(expression=expression):
                self.assert_refused(expression, "syntax")

    def test_only_the_language_is_accepted(self) -> None:
        for expression in [
            "__import__('os')",
            "1e5",
            "abs(-1)",
            "x + 1",
            "2 & 3",
            "\u0663 + 1",  # an Arabic-Indic digit: Decimal() would accept it
            "1\n+1",
            "[1]",
        ]:
            with self.subTest(expression=expression):
                self.assert_refused(expression, "invalid_character")

    def test_empty_and_too_long(self) -> None:
        self.assert_refused("", "empty")
        self.assert_refused("   ", "empty")
        self.assertEqual(calc("1" + " + 1" * ((MAX_EXPRESSION_CHARS - 1) // 4)), str(1 + (MAX_EXPRESSION_CHARS - 1) // 4))
        self.assert_refused("1" * (MAX_EXPRESSION_CHARS + 1), "too_long")

    def test_nesting_is_bounded(self) -> None:
        self.assertEqual(calc("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH), "1")
        self.assert_refused("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "too_deep")
        self.assertEqual(calc("-" * MAX_DEPTH + "1"), "1")
        self.assert_refused("-" * (MAX_DEPTH + 1) + "1", "too_deep")

    def test_powers_and_magnitudes_are_bounded(self) -> None:
        self.assert_refused("2 ^ 1001", "exponent_too_large")
        self.assert_refused("2 ^ -1001", "exponent_too_large")
        self.assert_refused("9 ^ 9 ^ 9", "exponent_too_large")
        self.assert_refused("10 ^ 999 * 10", "out_of_range")
        self.assert_refused("1 / 10 ^ 999 / 10 ^ 999", "out_of_range")
        self.assert_refused("0 ^ 0", "undefined")
        self.assert_refused("(-8) ^ 0.5", "undefined")
        self.assertEqual(calc("(-2) ^ 3"), "-8")
        self.assertEqual(calc("4 ^ 0.5"), "2")

    def test_same_input_same_outcome(self) -> None:
        for expression in ["2 ^ 0.5", "1 / 7", "(1 + 2"]:
            with self.subTest(expression=expression):
                outcomes = set()
                for _ in range(3):
                    try:
                        outcomes.add(calc(expression))
                    except EvaluationError as error:
                        outcomes.add((error.code, error.message))
                self.assertEqual(len(outcomes), 1)


if __name__ == "__main__":
    unittest.main()
