#!/usr/bin/python3
"""The calc engine: one READ capability, calc.evaluate, on the Python engine SDK (selene_engine).

    SELENE_PKI_DIR=.selene/pki /usr/bin/python3 services/engines/calc/calc_engine.py

Invoke reads `read.args["expression"]`, evaluates it (evaluate.py) and answers a ReadResult with
Provenance: one source `calc:python` (trust 100), retrieved now, LIVE. The engine has no effects,
so Simulate and Commit are refused with ENGINE_REJECTED, as is an utterance (it understands none).
The blocking fields Describe publishes, and what makes the expression count as missing, are the
clarify policy's (policy/clarify.json, the router's file); a missing expression is refused with
the policy's question as the message. Everything else (mTLS, the router-only gate, the boundary
check, health, reflection, metrics, logs, the refusal audit, draining) is the SDK's; the
environment it reads is in services/engines/python-sdk/selene_engine/config.py (SELENE_CALC_*).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-sdk"))

from selene_engine import Addresses, Engine, SeleneError, Violation, main, read_result  # noqa: E402
from selene_engine.boundary import violation_error  # noqa: E402
from selene_engine.clarify_policy import ClarifyPolicy, load_policy  # noqa: E402
from selene.engine.v1 import engine_pb2  # noqa: E402

from evaluate import EvaluationError, evaluate, format_number  # noqa: E402

CAPABILITY = "calc.evaluate"
EXPRESSION = "expression"
EXPRESSION_PATH = 'read.args["expression"]'
SOURCE_ID = "calc:python"
SOURCE_TRUST = 100
DEFAULTS = Addresses(addr="127.0.0.1:50064", health_addr="127.0.0.1:50164", metrics_addr="127.0.0.1:50264")


class CalcEngine(Engine):
    """`clock` returns epoch seconds (a parameter for tests)."""

    name = "calc"

    def __init__(self, clock: Callable[[], float] = time.time, policy: ClarifyPolicy | None = None) -> None:
        self._clock = clock
        self._policy = policy if policy is not None else load_policy((CAPABILITY,))

    def capabilities(self) -> list[engine_pb2.Capability]:
        required = [rule.field for rule in self._policy.blocking_fields(CAPABILITY)]
        return [engine_pb2.Capability(name=CAPABILITY, kind=engine_pb2.CAPABILITY_KIND_READ, required_fields=required)]

    def invoke(self, request: engine_pb2.InvokeRequest) -> engine_pb2.InvokeResponse:
        if request.WhichOneof("input") != "read":
            raise SeleneError(
                "ENGINE_REJECTED",
                f'{CAPABILITY} is a read: send read.args["{EXPRESSION}"]; the calc engine understands no utterances',
                field_path="utterance",
            )
        expression = _expression(request.read.args, self._policy)
        try:
            value = evaluate(expression)
        except EvaluationError as err:
            raise violation_error(
                "FIELD_INVALID", [Violation(EXPRESSION_PATH, f"calc.{err.code}", err.message)]
            ) from None
        shown, result = expression.strip(" \t"), format_number(value)
        data = {"expression": shown, "result": result}
        now_ms = int(self._clock() * 1000)
        return engine_pb2.InvokeResponse(
            read_result=read_result(f"{shown} = {result}", data, SOURCE_ID, SOURCE_TRUST, now_ms)
        )


def _expression(args: Mapping[str, str], policy: ClarifyPolicy) -> str:
    extra = sorted(key for key in args if key != EXPRESSION)
    if extra:
        raise violation_error(
            "FIELD_INVALID",
            [
                Violation(f"read.args[{json.dumps(key, ensure_ascii=False)}]", "calc.unknown_argument",
                          f"{CAPABILITY} takes no argument {key!r}; it takes only {EXPRESSION!r}")
                for key in extra
            ],
        )
    missing = policy.first_missing(CAPABILITY, dict(args))
    if missing is not None:
        rule, because = missing
        rule_id = "required" if because in ("absent", "empty") else f"clarify.{because}"
        path = f"read.args[{json.dumps(rule.field, ensure_ascii=False)}]"
        raise violation_error("FIELD_INVALID", [Violation(path, rule_id, policy.question(rule))])
    return args.get(EXPRESSION, "")


if __name__ == "__main__":
    main(CalcEngine(), DEFAULTS)
