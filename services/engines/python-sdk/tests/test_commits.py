"""Tests of commits.py, digests.py and config.py (run as test_clarify_policy.py says)."""

import unittest

from selene.engine.v1 import engine_pb2
from selene.kernel.v1 import envelope_pb2
from selene_engine import Commits, SeleneError, effect_digest
from selene_engine.config import Addresses, ConfigError, load_config

DEFAULTS = Addresses(addr="127.0.0.1:1", health_addr="127.0.0.1:2", metrics_addr="127.0.0.1:3")


def commit(key: str, fields: dict[str, str], digest: str | None = None) -> engine_pb2.CommitRequest:
    return engine_pb2.CommitRequest(
        envelope=envelope_pb2.Envelope(tenant_id="t1", idempotency_key=key),
        capability="notes.add",
        simulation_id="sim-1",
        fields=fields,
        effect_digest=digest if digest is not None else effect_digest("notes.add", fields),
    )


class CommitsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.effects: list[str] = []
        self.commits = Commits(clock=lambda: 1_700_000_000.5)

    def perform(self) -> tuple[str, str]:
        self.effects.append("done")
        return f"e{len(self.effects)}", "added"

    def test_one_effect_per_key_and_the_same_answer_marked_deduplicated(self) -> None:
        first = self.commits.run(commit("k1", {"text": "a"}), self.perform)
        second = self.commits.run(commit("k1", {"text": "a"}), self.perform)
        self.assertEqual(self.effects, ["done"])
        self.assertFalse(first.deduplicated)
        self.assertTrue(second.deduplicated)
        self.assertEqual((second.effect_id, second.summary, second.committed_at), (first.effect_id, first.summary, first.committed_at))
        self.assertEqual(first.committed_at.ToMilliseconds(), 1_700_000_000_500)
        other = self.commits.run(commit("k2", {"text": "a"}), self.perform)
        self.assertEqual((other.effect_id, len(self.effects)), ("e2", 2))

    def test_refuses_fields_that_do_not_match_the_digest(self) -> None:
        with self.assertRaises(SeleneError) as caught:
            self.commits.run(commit("k1", {"text": "a"}, effect_digest("notes.add", {"text": "b"})), self.perform)
        self.assertEqual((caught.exception.reason, caught.exception.field_path), ("SIMULATION_DIGEST_MISMATCH", "effect_digest"))
        self.assertEqual(self.effects, [])

    def test_refuses_a_key_reused_for_another_effect(self) -> None:
        self.commits.run(commit("k1", {"text": "a"}), self.perform)
        with self.assertRaises(SeleneError) as caught:
            self.commits.run(commit("k1", {"text": "b"}), self.perform)
        self.assertEqual(caught.exception.reason, "IDEMPOTENCY_KEY_REUSED")
        self.assertEqual(self.effects, ["done"])


class DigestTest(unittest.TestCase):
    def test_effect_digest_is_canonical(self) -> None:
        self.assertEqual(effect_digest("a.b", {"x": "1", "y": "2"}), effect_digest("a.b", {"y": "2", "x": "1"}))
        self.assertNotEqual(effect_digest("a.b", {"x": "1"}), effect_digest("a.b", {"x": "2"}))
        self.assertRegex(effect_digest("a.b", {}), r"^sha256:[0-9a-f]{64}\Z")


class ConfigTest(unittest.TestCase):
    def test_reads_the_variables_named_after_the_engine(self) -> None:
        config = load_config("my-engine", DEFAULTS, {"SELENE_MY_ENGINE_ADDR": "127.0.0.1:9000"})
        self.assertEqual((config.addr, config.health_addr, config.metrics_addr), ("127.0.0.1:9000", "127.0.0.1:2", "127.0.0.1:3"))

    def test_names_the_variable_it_cannot_use(self) -> None:
        with self.assertRaisesRegex(ConfigError, "SELENE_NOTES_HEALTH_ADDR must be host:port"):
            load_config("notes", DEFAULTS, {"SELENE_NOTES_HEALTH_ADDR": "nowhere"})
        with self.assertRaisesRegex(ConfigError, "must differ"):
            load_config("notes", DEFAULTS, {"SELENE_NOTES_ADDR": "127.0.0.1:2"})


if __name__ == "__main__":
    unittest.main()
