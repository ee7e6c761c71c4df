#!/usr/bin/python3
"""An example engine on the Python SDK: notes.add (an effect) and notes.count (a read), per tenant.

    npm run pki -- --engine notes
    SELENE_PKI_DIR=.selene/pki /usr/bin/python3 services/engines/python-sdk/example/notes_engine.py
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # the SDK
from selene_engine import Addresses, Commits, Engine, SeleneError, effect_digest, main, read_result  # noqa: E402
from selene.engine.v1 import engine_pb2  # noqa: E402
from selene.kernel.v1 import effect_pb2  # noqa: E402

READ, EFFECT = engine_pb2.CAPABILITY_KIND_READ, engine_pb2.CAPABILITY_KIND_EFFECT


class NotesEngine(Engine):
    name = "notes"  # its certificate is notes.crt, its SPIFFE id .../sa/notes

    def __init__(self) -> None:
        self.notes: dict[str, list[str]] = {}  # tenant -> texts; a real engine keeps them in a database
        self.lock, self.commits = threading.Lock(), Commits()

    def capabilities(self) -> list[engine_pb2.Capability]:
        added = engine_pb2.SideEffect(name="notes.added", reversible=False)
        return [engine_pb2.Capability(name="notes.add", kind=EFFECT, side_effects=[added], required_fields=["text"]),
                engine_pb2.Capability(name="notes.count", kind=READ)]

    def invoke(self, request: engine_pb2.InvokeRequest) -> engine_pb2.InvokeResponse:
        with self.lock:
            count = str(len(self.notes.get(request.envelope.tenant_id, [])))
        result = read_result(f"{count} notes", {"count": count}, "notes:memory", 100, int(time.time() * 1000))
        return engine_pb2.InvokeResponse(read_result=result)

    def simulate(self, request: engine_pb2.SimulateRequest) -> engine_pb2.SimulateResponse:
        text = _text(request.fields)  # nothing is written: the same request gives the same bytes
        preview = effect_pb2.EffectPreview(capability=request.capability, summary=f"add the note {text!r}",
                                           fields=dict(request.fields))
        return engine_pb2.SimulateResponse(preview=preview, effect_digest=effect_digest(request.capability, request.fields))

    def commit(self, request: engine_pb2.CommitRequest) -> engine_pb2.CommitResponse:
        def add() -> tuple[str, str]:  # runs once per idempotency key; a replay gets the first answer
            with self.lock:
                notes = self.notes.setdefault(request.envelope.tenant_id, [])
                notes.append(_text(request.fields))
                return f"note-{len(notes)}", f"added the note {notes[-1]!r}"
        return self.commits.run(request, add)


def _text(fields: dict[str, str]) -> str:
    if not fields.get("text", "").strip():
        raise SeleneError("FIELD_INVALID", "notes.add needs a non-empty text", field_path='fields["text"]')
    return fields["text"].strip()


if __name__ == "__main__":
    main(NotesEngine(), Addresses("127.0.0.1:50065", "127.0.0.1:50165", "127.0.0.1:50265"))
