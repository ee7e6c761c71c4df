"""Unit tests of the SDK's reading of policy/clarify.json (run by test/integration/python-engine.test.ts).

Run: /usr/bin/python3 -B -m unittest discover -s services/engines/python-sdk/tests -t services/engines/python-sdk
"""

import json
import unittest

from selene_engine.clarify_policy import DEFAULT_PATH, ClarifyPolicy, PolicyError, load_policy, missing_because, normalize_value


class ClarifyPolicyTest(unittest.TestCase):
    def setUp(self) -> None:
        self.policy = load_policy(("calc.evaluate",))

    def test_reads_the_blocking_fields_and_question_of_calc_evaluate(self) -> None:
        [rule] = self.policy.blocking_fields("calc.evaluate")
        self.assertEqual(rule.field, "expression")
        self.assertEqual(self.policy.question(rule), "What should I calculate?")
        self.assertEqual(self.policy.question(rule, "fr"), "Que dois-je calculer ?")
        self.assertEqual(self.policy.question(rule, "de"), "What should I calculate?")

    def test_judges_missing_values_as_the_router_does(self) -> None:
        [rule] = self.policy.blocking_fields("calc.evaluate")
        cases = {
            None: "absent",
            "": "empty",
            " \t ": "empty",
            "\u200b": "empty",
            # No pattern: what an expression may hold is the evaluator's to say.
            "abc": None,
            "１２ * ７": None,
            "1 + 2": None,
        }
        for value, expected in cases.items():
            args = {} if value is None else {"expression": value}
            self.assertEqual(missing_because("expression", args, rule), expected, repr(value))
        self.assertEqual(self.policy.first_missing("calc.evaluate", {"expression": "2 * 3"}), None)

    def test_normalises_nfc_nfd_width_and_space(self) -> None:
        self.assertEqual(normalize_value("Jose\u0301"), normalize_value("José"))
        self.assertEqual(normalize_value("  ＨＩＭ \u3000 "), "him")

    def test_refuses_a_policy_without_the_served_capability(self) -> None:
        with open(DEFAULT_PATH, encoding="utf-8") as file:
            document = json.load(file)
        del document["capabilities"]["calc.evaluate"]
        with self.assertRaises(PolicyError):
            ClarifyPolicy(document, ("calc.evaluate",))


if __name__ == "__main__":
    unittest.main()
