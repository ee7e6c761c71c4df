"""Tests of engine_service.py's gates before an engine runs (run as test_clarify_policy.py says)."""

import unittest

from selene.engine.v1 import engine_pb2
from selene_engine import Engine, SeleneError
from selene_engine.engine_service import EngineService


class Notes(Engine):
    name = "notes"

    def capabilities(self) -> list[engine_pb2.Capability]:
        return [
            engine_pb2.Capability(name="notes.count", kind=engine_pb2.CAPABILITY_KIND_READ),
            engine_pb2.Capability(name="notes.add", kind=engine_pb2.CAPABILITY_KIND_EFFECT),
        ]


class Nameless(Notes):
    name = "Not A Name"


class EngineServiceTest(unittest.TestCase):
    def setUp(self) -> None:
        self.service = EngineService(Notes())

    def refusal(self, method: str, capability: str) -> tuple[str, str]:
        with self.assertRaises(SeleneError) as caught:
            self.service._check_capability(method, capability)
        return caught.exception.reason, caught.exception.field_path

    def test_describes_the_engine_under_its_workload_identity(self) -> None:
        description = self.service.describe(engine_pb2.DescribeRequest())
        self.assertEqual(description.engine_id, "notes")
        self.assertEqual(description.spiffe_id, "spiffe://selene.local/ns/selene/sa/notes")
        self.assertEqual([c.name for c in description.capabilities], ["notes.count", "notes.add"])
        self.assertGreater(len(description.supported_versions), 0)

    def test_refuses_a_capability_it_does_not_describe(self) -> None:
        for method in ("Invoke", "Simulate", "Commit"):
            self.assertEqual(self.refusal(method, "notes.remove"), ("CAPABILITY_UNKNOWN", "capability"))

    def test_refuses_a_method_of_the_wrong_kind(self) -> None:
        self.assertEqual(self.refusal("Invoke", "notes.add"), ("ENGINE_REJECTED", "capability"))
        self.assertEqual(self.refusal("Simulate", "notes.count"), ("ENGINE_REJECTED", "capability"))
        self.assertEqual(self.refusal("Commit", "notes.count"), ("ENGINE_REJECTED", "capability"))
        self.service._check_capability("Invoke", "notes.count")
        self.service._check_capability("Commit", "notes.add")

    def test_a_description_that_breaks_the_contract_stops_the_engine(self) -> None:
        with self.assertRaises(SeleneError) as caught:
            EngineService(Nameless())
        self.assertEqual(caught.exception.reason, "FIELD_INVALID")


if __name__ == "__main__":
    unittest.main()
