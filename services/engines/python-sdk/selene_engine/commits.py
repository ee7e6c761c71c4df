"""Commit idempotency: one effect per (tenant, idempotency key), the same answer on every replay.

`Commits.run(request, perform)` checks the request's effect digest against its fields
(SIMULATION_DIGEST_MISMATCH when they differ), performs the effect once per key, and answers a
repeated commit with the first answer, marked deduplicated. The same key with other fields is
IDEMPOTENCY_KEY_REUSED. Answers are kept in memory, so they last as long as the process; an
engine whose effects must survive a restart keeps them where it keeps its effects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from selene.engine.v1 import engine_pb2

from .digests import effect_digest
from .errors import SeleneError


class Commits:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._done: dict[tuple[str, str], tuple[str, engine_pb2.CommitResponse]] = {}

    def run(
        self, request: engine_pb2.CommitRequest, perform: Callable[[], tuple[str, str]]
    ) -> engine_pb2.CommitResponse:
        """`perform()` does the effect and returns (effect_id, summary); it runs once per key."""
        digest = effect_digest(request.capability, request.fields)
        if request.effect_digest != digest:
            raise SeleneError(
                "SIMULATION_DIGEST_MISMATCH",
                "the fields differ from the ones simulated: simulate again",
                field_path="effect_digest",
            )
        key = (request.envelope.tenant_id, request.envelope.idempotency_key)
        with self._lock:  # one commit at a time per engine: a retry waits for the first to finish
            done = self._done.get(key)
            if done is not None:
                if done[0] != digest:
                    raise SeleneError(
                        "IDEMPOTENCY_KEY_REUSED",
                        "this idempotency key was used for another effect",
                        field_path="envelope.idempotency_key",
                    )
                replay = engine_pb2.CommitResponse()
                replay.CopyFrom(done[1])
                replay.deduplicated = True
                return replay
            effect_id, summary = perform()
            response = engine_pb2.CommitResponse(effect_id=effect_id, summary=summary)
            response.committed_at.FromMilliseconds(int(self._clock() * 1000))
            self._done[key] = (digest, response)
            return response
