"""The clarify policy (policy/clarify.json, docs/CLARIFY.md), read the way the router reads it.

An engine asks nothing itself, but where it can tell the user what is missing it follows the
same file: Describe publishes the policy's blocking fields of its capabilities in their priority
order, and a read whose argument counts as missing (absent, empty, invalid) is refused with the
policy's question as the message. A value is judged in the same normalised form as in
services/runtime/policy/clarify-policy.ts: NFKC, format characters (Cf) removed, white space
trimmed and collapsed, lower case. Only the patterns of the capabilities served here are compiled,
with Python's `re`; a file this engine cannot use stops it at start.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass

DEFAULT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "policy", "clarify.json")


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the place."""


@dataclass(frozen=True)
class BlockingField:
    field: str
    valid_pattern: re.Pattern[str] | None
    ambiguous: frozenset[str]
    questions: dict[str, str]


def normalize_value(value: str) -> str:
    text = unicodedata.normalize("NFKC", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join(text.split()).lower()


def missing_because(field: str, args: dict[str, str], rule: BlockingField | None) -> str | None:
    """Why `field` counts as missing from `args` ("absent", "empty", "invalid", "ambiguous"), or None."""
    if field not in args:
        return "absent"
    normalized = normalize_value(args[field])
    if normalized == "":
        return "empty"
    if rule is not None and rule.valid_pattern is not None and rule.valid_pattern.search(normalized) is None:
        return "invalid"
    if rule is not None and normalized in rule.ambiguous:
        return "ambiguous"
    return None


class ClarifyPolicy:
    """The blocking fields and questions of the capabilities this engine serves."""

    def __init__(self, document: dict, capabilities: tuple[str, ...], path: str = "policy/clarify.json") -> None:
        if not isinstance(document, dict) or document.get("version") != 1:
            raise PolicyError(f"{path}: version must be 1")
        self.default_locale = document.get("default_locale")
        if not isinstance(self.default_locale, str):
            raise PolicyError(f"{path}: default_locale must be a string")
        table = document.get("capabilities")
        if not isinstance(table, dict):
            raise PolicyError(f"{path}: capabilities must be an object")
        self._fields: dict[str, list[BlockingField]] = {}
        for capability in capabilities:
            entry = table.get(capability)
            if not isinstance(entry, dict) or not isinstance(entry.get("blocking_fields"), list):
                raise PolicyError(f"{path}: capabilities.{capability}.blocking_fields must be a list")
            self._fields[capability] = [
                self._field(f"{path}: capabilities.{capability}.blocking_fields[{i}]", raw)
                for i, raw in enumerate(entry["blocking_fields"])
            ]

    def _field(self, where: str, raw: object) -> BlockingField:
        if not isinstance(raw, dict) or not isinstance(raw.get("field"), str):
            raise PolicyError(f"{where}: must be an object with a field name")
        pattern = raw.get("valid_pattern")
        try:
            compiled = re.compile(pattern) if isinstance(pattern, str) else None
        except re.error as err:
            raise PolicyError(f"{where}.valid_pattern: {err}") from None
        questions = {
            locale: text["text"]
            for locale, text in (raw.get("questions") or {}).items()
            if isinstance(text, dict) and isinstance(text.get("text"), str)
        }
        if self.default_locale not in questions:
            raise PolicyError(f"{where}.questions: no text in the default locale {self.default_locale}")
        return BlockingField(raw["field"], compiled, frozenset(raw.get("ambiguous") or ()), questions)

    def blocking_fields(self, capability: str) -> list[BlockingField]:
        return list(self._fields.get(capability, ()))

    def first_missing(self, capability: str, args: dict[str, str]) -> tuple[BlockingField, str] | None:
        """The highest-priority blocking field missing from `args`, and why; None when none is."""
        for rule in self._fields.get(capability, ()):
            because = missing_because(rule.field, args, rule)
            if because is not None:
                return rule, because
        return None

    def question(self, rule: BlockingField, locale: str | None = None) -> str:
        return rule.questions.get(locale or self.default_locale) or rule.questions[self.default_locale]


def load_policy(capabilities: tuple[str, ...], path: str = DEFAULT_PATH) -> ClarifyPolicy:
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except (OSError, ValueError) as err:
        raise PolicyError(f"{path}: {err}") from None
    return ClarifyPolicy(document, capabilities, path)
