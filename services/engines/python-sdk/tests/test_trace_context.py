"""Tests of trace_context.py (run as test_clarify_policy.py says)."""

import unittest

from selene_engine.trace_context import TraceContext, from_metadata, log_fields, parse_traceparent

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"


class ParseTraceparentTest(unittest.TestCase):
    def test_reads_trace_and_parent_span_ids(self) -> None:
        self.assertEqual(parse_traceparent(f"00-{TRACE_ID}-{SPAN_ID}-01"), TraceContext(TRACE_ID, SPAN_ID))

    def test_accepts_a_future_version_with_more_parts(self) -> None:
        self.assertEqual(parse_traceparent(f"01-{TRACE_ID}-{SPAN_ID}-01-extra"), TraceContext(TRACE_ID, SPAN_ID))

    def test_refuses_malformed_and_all_zero_values(self) -> None:
        for value in (
            "",
            "garbage",
            f"00-{TRACE_ID.upper()}-{SPAN_ID}-01",
            f"00-{'0' * 32}-{SPAN_ID}-01",
            f"00-{TRACE_ID}-{'0' * 16}-01",
            f"ff-{TRACE_ID}-{SPAN_ID}-01",
            f"00-{TRACE_ID}-{SPAN_ID}-01-extra",
        ):
            with self.subTest(value=value):
                self.assertIsNone(parse_traceparent(value))


class FromMetadataTest(unittest.TestCase):
    def test_finds_traceparent_among_other_keys(self) -> None:
        metadata = [("selene-correlation-id", "c-1"), ("traceparent", f"00-{TRACE_ID}-{SPAN_ID}-00")]
        self.assertEqual(log_fields(from_metadata(metadata)), {"trace_id": TRACE_ID, "parent_span_id": SPAN_ID})

    def test_gives_no_fields_without_traceparent(self) -> None:
        self.assertEqual(log_fields(from_metadata([("selene-correlation-id", "c-1")])), {})


if __name__ == "__main__":
    unittest.main()
