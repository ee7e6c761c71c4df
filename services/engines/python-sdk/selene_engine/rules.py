"""The protovalidate rules of the contracts, enforced in Python.

No protovalidate library exists for Python here, so this module reads the `(buf.validate.field)`
and `(buf.validate.oneof)` annotations from the generated descriptors (extension 1159, declared by
gen/proto/buf/validate/validate.proto) and checks the subset of rules the contracts use: required
fields and oneofs; string lengths, patterns, prefixes, suffixes, substrings and lists; bytes
lengths; numeric bounds and lists; enum membership; repeated item counts and item rules; map pair
counts and key and value rules. Rule ids and paths follow protovalidate (`string.min_len`, `uint32.gte_lte`,
`envelope.tenant_id`, `args["key"]`) and so do the messages, so a violation reads the same in
every language.

`check_supported` walks every message reachable from the served types at startup and refuses to
run if a rule outside this subset appears (a CEL expression, a timestamp bound): a new rule in a
contract then fails loudly instead of being skipped silently.

Patterns use the common subset of RE2 and ECMAScript (docs/CONTRACTS.md); Python's `$` also
matches before a final newline, so an unescaped `$` outside a class is matched as the true end.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable

from buf.validate import validate_pb2 as pv
from .errors import Violation
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from .wire_scan import is_map, join, subscript_key

_F = FieldDescriptor
_NUMERIC_RULES = {
    _F.TYPE_FLOAT: "float",
    _F.TYPE_DOUBLE: "double",
    _F.TYPE_INT32: "int32",
    _F.TYPE_INT64: "int64",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_SINT32: "sint32",
    _F.TYPE_SINT64: "sint64",
    _F.TYPE_FIXED32: "fixed32",
    _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_SFIXED64: "sfixed64",
}
_SUPPORTED = {
    "string": {"const", "len", "min_len", "max_len", "min_bytes", "max_bytes", "pattern", "prefix", "suffix",
               "contains", "not_contains", "in", "not_in", "example"},
    "bytes": {"len", "min_len", "max_len", "example"},
    "enum": {"const", "defined_only", "in", "not_in", "example"},
    "bool": {"const", "example"},
    "repeated": {"min_items", "max_items", "unique", "items"},
    "map": {"min_pairs", "max_pairs", "keys", "values"},
    **{name: {"const", "lt", "lte", "gt", "gte", "in", "not_in", "finite", "example"} for name in _NUMERIC_RULES.values()},
}
_IGNORE_ALWAYS = 3
_IGNORE_IF_ZERO_VALUE = 1


class UnsupportedRule(RuntimeError):
    """A contract uses a rule this module does not enforce."""


def field_rules(field: FieldDescriptor) -> pv.FieldRules | None:
    options = field.GetOptions()
    return options.Extensions[pv.field] if options.HasExtension(pv.field) else None


def check_supported(descriptors: Iterable[Descriptor]) -> None:
    """Raises UnsupportedRule naming every rule, in any reachable message, that is not enforced here."""
    problems: list[str] = []
    seen: set[str] = set()
    pending = list(descriptors)
    while pending:
        descriptor = pending.pop()
        if descriptor.full_name in seen:
            continue
        seen.add(descriptor.full_name)
        if descriptor.GetOptions().HasExtension(pv.message):
            problems.append(f"{descriptor.full_name}: message rules")
        for oneof in descriptor.oneofs:
            options = oneof.GetOptions()
            if options.HasExtension(pv.oneof):
                extra = {f.name for f, _ in options.Extensions[pv.oneof].ListFields()} - {"required"}
                problems.extend(f"{oneof.full_name}: oneof.{name}" for name in sorted(extra))
        for field in descriptor.fields:
            rules = field_rules(field)
            if rules is not None:
                problems.extend(f"{field.full_name}: {p}" for p in _unsupported(rules))
            if field.message_type is not None:
                pending.append(field.message_type)
    if problems:
        raise UnsupportedRule("rules not enforced by the Python validator: " + "; ".join(sorted(problems)))


def _unsupported(rules: pv.FieldRules) -> list[str]:
    problems: list[str] = []
    for descriptor, value in rules.ListFields():
        if descriptor.name in ("required", "ignore"):
            continue
        if descriptor.name not in _SUPPORTED:
            problems.append(descriptor.name)
            continue
        for rule, inner in value.ListFields():
            if rule.name not in _SUPPORTED[descriptor.name]:
                problems.append(f"{descriptor.name}.{rule.name}")
            elif rule.name in ("items", "keys", "values"):
                problems.extend(f"{descriptor.name}.{rule.name}.{p}" for p in _unsupported(inner))
    return problems


def validate(message: Message) -> list[Violation]:
    """Every violation of the message's rules, at any depth, unsorted."""
    out: list[Violation] = []
    _message(message, "", out)
    return out


def _message(message: Message, path: str, out: list[Violation]) -> None:
    descriptor: Descriptor = message.DESCRIPTOR
    for oneof in descriptor.oneofs:
        options = oneof.GetOptions()
        if options.HasExtension(pv.oneof) and options.Extensions[pv.oneof].required:
            if message.WhichOneof(oneof.name) is None:
                out.append(Violation(join(path, oneof.name), "required", "exactly one field is required in oneof"))
    for field in descriptor.fields:
        _field(message, field, field_rules(field), join(path, field.name), out)


def _field(message: Message, field: FieldDescriptor, rules: pv.FieldRules | None, path: str, out: list[Violation]) -> None:
    ignore = rules.ignore if rules is not None else 0
    if ignore == _IGNORE_ALWAYS:
        return
    if field.label == _F.LABEL_REPEATED:
        values = getattr(message, field.name)
        if ignore == _IGNORE_IF_ZERO_VALUE and len(values) == 0:
            return
        (_map if is_map(field) else _repeated)(values, field, rules, path, out)
        return
    oneof = field.containing_oneof
    if oneof is not None and message.WhichOneof(oneof.name) != field.name:
        return  # another member of the oneof is set, or none is (the oneof rule reports that)
    if field.type == _F.TYPE_MESSAGE:
        if message.HasField(field.name):
            _message(getattr(message, field.name), path, out)
        elif rules is not None and rules.required:
            out.append(Violation(path, "required", "value is required"))
        return
    value = getattr(message, field.name)
    if rules is None:
        return
    is_zero = value == field.default_value
    if field.has_presence and not message.HasField(field.name):
        if rules.required:
            out.append(Violation(path, "required", "value is required"))
        return
    if rules.required and is_zero and not field.has_presence:
        out.append(Violation(path, "required", "value is required"))
        return
    if ignore == _IGNORE_IF_ZERO_VALUE and is_zero:
        return
    _scalar(value, field, rules, path, out)


def _repeated(values, field: FieldDescriptor, rules: pv.FieldRules | None, path: str, out: list[Violation]) -> None:
    if rules is not None and rules.WhichOneof("type") == "repeated":
        r = rules.repeated
        if r.HasField("min_items") and len(values) < r.min_items:
            out.append(Violation(path, "repeated.min_items", f"must contain at least {r.min_items} item(s)"))
        if r.HasField("max_items") and len(values) > r.max_items:
            out.append(Violation(path, "repeated.max_items", f"must contain no more than {r.max_items} item(s)"))
        if r.unique and field.type != _F.TYPE_MESSAGE and len(set(values)) != len(values):
            out.append(Violation(path, "repeated.unique", "repeated value must contain unique items"))
        items = r.items if r.HasField("items") else None
    else:
        items = None
    for index, value in enumerate(values):
        item_path = f"{path}[{index}]"
        if field.type == _F.TYPE_MESSAGE:
            _message(value, item_path, out)
        elif items is not None:
            _scalar(value, field, items, item_path, out)


def _map(values, field: FieldDescriptor, rules: pv.FieldRules | None, path: str, out: list[Violation]) -> None:
    entry = field.message_type
    key_field, value_field = entry.fields_by_number[1], entry.fields_by_number[2]
    keys = values_rules = None
    if rules is not None and rules.WhichOneof("type") == "map":
        r = rules.map
        if r.HasField("min_pairs") and len(values) < r.min_pairs:
            out.append(Violation(path, "map.min_pairs", f"map must be at least {r.min_pairs} entries"))
        if r.HasField("max_pairs") and len(values) > r.max_pairs:
            out.append(Violation(path, "map.max_pairs", f"map must be at most {r.max_pairs} entries"))
        keys = r.keys if r.HasField("keys") else None
        values_rules = r.values if r.HasField("values") else None
    for key in sorted(values):
        entry_path = path + subscript_key(key)
        if keys is not None:
            _scalar(key, key_field, keys, entry_path, out)
        if value_field.type == _F.TYPE_MESSAGE:
            _message(values[key], entry_path, out)
        elif values_rules is not None:
            _scalar(values[key], value_field, values_rules, entry_path, out)


def _scalar(value, field: FieldDescriptor, rules: pv.FieldRules, path: str, out: list[Violation]) -> None:
    kind = rules.WhichOneof("type")
    if kind is None:
        return
    r = getattr(rules, kind)
    if kind == "string":
        _string(value, r, path, out)
    elif kind == "enum":
        _enum(value, field, r, path, out)
    elif kind == "bool":
        if r.HasField("const") and value != r.const:
            out.append(Violation(path, "bool.const", f"must equal {str(r.const).lower()}"))
    elif kind in _NUMERIC_RULES.values():
        _number(value, kind, r, path, out)
    elif kind == "bytes":
        _bytes(value, r, path, out)
    else:  # check_supported keeps this from happening for the served messages: fail closed
        raise UnsupportedRule(f"{path}: {kind} rules are not enforced by the Python validator")


def _bytes(value: bytes, r, path: str, out: list[Violation]) -> None:
    if r.HasField("len") and len(value) != r.len:
        out.append(Violation(path, "bytes.len", f"must be {r.len} bytes"))
    if r.HasField("min_len") and len(value) < r.min_len:
        out.append(Violation(path, "bytes.min_len", f"must be at least {r.min_len} bytes"))
    if r.HasField("max_len") and len(value) > r.max_len:
        out.append(Violation(path, "bytes.max_len", f"must be at most {r.max_len} bytes"))


def _string(value: str, r, path: str, out: list[Violation]) -> None:
    length = len(value)  # code points, as protovalidate counts
    size = len(value.encode("utf-8"))
    checks = [
        ("const", lambda: value != r.const, lambda: f"must equal `{r.const}`"),
        ("len", lambda: length != r.len, lambda: f"must be {r.len} characters"),
        ("min_len", lambda: length < r.min_len, lambda: f"must be at least {r.min_len} characters"),
        ("max_len", lambda: length > r.max_len, lambda: f"must be at most {r.max_len} characters"),
        ("min_bytes", lambda: size < r.min_bytes, lambda: f"must be at least {r.min_bytes} bytes"),
        ("max_bytes", lambda: size > r.max_bytes, lambda: f"must be at most {r.max_bytes} bytes"),
        ("pattern", lambda: not _regex(r.pattern).search(value),
         lambda: f"does not match regex pattern `{r.pattern}`"),
        ("prefix", lambda: not value.startswith(r.prefix), lambda: f"does not have prefix `{r.prefix}`"),
        ("suffix", lambda: not value.endswith(r.suffix), lambda: f"does not have suffix `{r.suffix}`"),
        ("contains", lambda: r.contains not in value, lambda: f"does not contain substring `{r.contains}`"),
        ("not_contains", lambda: r.not_contains in value,
         lambda: f"contains substring `{r.not_contains}`"),
    ]
    for rule, broken, message in checks:
        if r.HasField(rule) and broken():
            out.append(Violation(path, f"string.{rule}", message()))
    allowed = getattr(r, "in")
    if len(allowed) > 0 and value not in allowed:
        out.append(Violation(path, "string.in", f"must be in list {_list(allowed)}"))
    if len(r.not_in) > 0 and value in r.not_in:
        out.append(Violation(path, "string.not_in", f"must not be in list {_list(r.not_in)}"))


def _enum(value: int, field: FieldDescriptor, r, path: str, out: list[Violation]) -> None:
    if r.HasField("const") and value != r.const:
        out.append(Violation(path, "enum.const", f"must equal {r.const}"))
    if r.defined_only and value not in field.enum_type.values_by_number:
        out.append(Violation(path, "enum.defined_only", "value must be one of the defined enum values"))
    allowed = getattr(r, "in")
    if len(allowed) > 0 and value not in allowed:
        out.append(Violation(path, "enum.in", f"must be in list {_list(allowed)}"))
    if len(r.not_in) > 0 and value in r.not_in:
        out.append(Violation(path, "enum.not_in", f"must not be in list {_list(r.not_in)}"))


def _number(value, kind: str, r, path: str, out: list[Violation]) -> None:
    if r.HasField("const") and value != r.const:
        out.append(Violation(path, f"{kind}.const", f"must equal {_num(r.const)}"))
    if kind in ("float", "double") and getattr(r, "finite", False) and not math.isfinite(value):
        out.append(Violation(path, f"{kind}.finite", "must be finite"))
    lower = r.WhichOneof("greater_than")
    upper = r.WhichOneof("less_than")
    low_ok = True if lower is None else (value > r.gt if lower == "gt" else value >= r.gte)
    high_ok = True if upper is None else (value < r.lt if upper == "lt" else value <= r.lte)
    words = {"gt": "greater than", "gte": "greater than or equal to", "lt": "less than", "lte": "less than or equal to"}
    if lower is not None and upper is not None:
        low, high = getattr(r, lower), getattr(r, upper)
        if high >= low:
            if not (low_ok and high_ok) or math.isnan(value):
                text = f"must be {words[lower]} {_num(low)} and {words[upper]} {_num(high)}"
                out.append(Violation(path, f"{kind}.{lower}_{upper}", text))
        elif not (low_ok or high_ok) or math.isnan(value):
            text = f"must be {words[lower]} {_num(low)} or {words[upper]} {_num(high)}"
            out.append(Violation(path, f"{kind}.{lower}_{upper}_exclusive", text))
    elif lower is not None and (not low_ok or math.isnan(value)):
        out.append(Violation(path, f"{kind}.{lower}", f"must be {words[lower]} {_num(getattr(r, lower))}"))
    elif upper is not None and (not high_ok or math.isnan(value)):
        out.append(Violation(path, f"{kind}.{upper}", f"must be {words[upper]} {_num(getattr(r, upper))}"))
    allowed = getattr(r, "in")
    if len(allowed) > 0 and value not in allowed:
        out.append(Violation(path, f"{kind}.in", f"must be in list {_list(allowed)}"))
    if len(r.not_in) > 0 and value in r.not_in:
        out.append(Violation(path, f"{kind}.not_in", f"must not be in list {_list(r.not_in)}"))


def _num(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _list(values) -> str:
    return "[" + ", ".join(_num(v) if not isinstance(v, str) else v for v in values) + "]"


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    translated: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            translated.append(char)
            escaped = False
        elif char == "\\":
            translated.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            translated.append(char)
        elif char == "]":
            in_class = False
            translated.append(char)
        elif char == "$" and not in_class:
            translated.append(r"\Z")
        else:
            translated.append(char)
    return re.compile("".join(translated))
