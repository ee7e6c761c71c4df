"""Canonical JSON and sha256 digests, the same bytes as services/runtime/content-digest.ts.

content_digest is a read result's provenance digest; effect_digest binds a Simulate's answer to
the Commit that follows it (the router passes the digest on; different fields, different digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace; equal values give equal strings in every service."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(text: str, data: Mapping[str, str]) -> str:
    return sha256_digest(canonical_json({"data": dict(data), "text": text}))


def effect_digest(capability: str, fields: Mapping[str, str]) -> str:
    return sha256_digest(canonical_json({"capability": capability, "fields": dict(fields)}))
