"""A read result with its provenance, built the way every engine builds it.

One source (id, trust 0-100) retrieved now and LIVE; the source's content_digest is over what it
contributed (the canonical JSON of `data`), the result's over {"data", "text"}
(digests.content_digest), so the router and any client can recompute both.
"""

from __future__ import annotations

from collections.abc import Mapping

from selene.engine.v1 import engine_pb2
from selene.kernel.v1 import provenance_pb2

from .digests import canonical_json, content_digest, sha256_digest


def read_result(text: str, data: Mapping[str, str], source_id: str, trust: int, now_ms: int) -> engine_pb2.ReadResult:
    provenance = provenance_pb2.Provenance(
        sources=[
            provenance_pb2.Source(id=source_id, trust=trust, content_digest=sha256_digest(canonical_json(dict(data))))
        ],
        content_digest=content_digest(text, data),
        freshness=provenance_pb2.Freshness(state=provenance_pb2.FRESHNESS_STATE_LIVE),
    )
    provenance.sources[0].retrieved_at.FromMilliseconds(now_ms)
    provenance.retrieved_at.FromMilliseconds(now_ms)
    return engine_pb2.ReadResult(text=text, data=dict(data), provenance=provenance)
