"""A structural pass over protobuf bytes against a message descriptor, before they are decoded.

It lists every field number the contract does not declare, at any depth (the Python decoder
would keep them silently, or drop them inside map entries), and turns bytes that are not a
valid encoding (truncation, a wrong wire type for a declared field, invalid UTF-8, over-long
varints, field number 0, groups, absurd nesting) into one deterministic MalformedWire with a
field path. Paths are written as the Node boundary writes them (services/runtime/wire-scan.ts):
`envelope.tenant_id`, `sources[0]`, `args["key"]`, and an unknown field as its parent's path and
its number (`envelope.15`, a top-level one as `31`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor

MAX_NESTING_DEPTH = 32
MAX_VARINT_BYTES = 10
MAX_FIELD_NUMBER = (1 << 29) - 1

VARINT, FIXED64, LENGTH_DELIMITED, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
WIRE_TYPE_NAMES = {
    VARINT: "varint",
    FIXED64: "fixed64",
    LENGTH_DELIMITED: "length-delimited",
    START_GROUP: "start-group",
    END_GROUP: "end-group",
    FIXED32: "fixed32",
}

_F = FieldDescriptor
_FIXED64_TYPES = {_F.TYPE_DOUBLE, _F.TYPE_FIXED64, _F.TYPE_SFIXED64}
_FIXED32_TYPES = {_F.TYPE_FLOAT, _F.TYPE_FIXED32, _F.TYPE_SFIXED32}
_DELIMITED_TYPES = {_F.TYPE_STRING, _F.TYPE_BYTES, _F.TYPE_MESSAGE}


def wire_type_name(wire_type: int) -> str:
    return WIRE_TYPE_NAMES.get(wire_type, f"wire type {wire_type}")


@dataclass(frozen=True)
class UnknownField:
    path: str
    field_number: int
    wire_type: int


class MalformedWire(Exception):
    def __init__(self, path: str, rule_id: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.rule_id = rule_id
        self.message = message


def expected_wire_type(field: FieldDescriptor) -> int:
    if field.type in _DELIMITED_TYPES:
        return LENGTH_DELIMITED
    if field.type in _FIXED64_TYPES:
        return FIXED64
    if field.type in _FIXED32_TYPES:
        return FIXED32
    if field.type == _F.TYPE_GROUP:
        return START_GROUP
    return VARINT


def is_map(field: FieldDescriptor) -> bool:
    return (
        field.type == _F.TYPE_MESSAGE
        and field.label == _F.LABEL_REPEATED
        and field.message_type.GetOptions().map_entry
    )


def join(path: str, name: str) -> str:
    return name if path == "" else f"{path}.{name}"


def subscript_key(key: object) -> str:
    """A map subscript: ["text"] for string keys, [12] or [true] for the others."""
    if isinstance(key, bool):
        return "[true]" if key else "[false]"
    if isinstance(key, str):
        return f"[{json.dumps(key, ensure_ascii=False)}]"
    return f"[{key}]"


class _Scan:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.unknown: list[UnknownField] = []

    def varint(self, end: int, path: str) -> int:
        value = 0
        for i in range(MAX_VARINT_BYTES + 1):
            if i >= MAX_VARINT_BYTES:
                raise MalformedWire(path, "malformed", "varint longer than ten bytes")
            if self.pos >= end:
                raise MalformedWire(path, "truncated", "varint runs past the end of its message")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << (7 * i)
            if byte & 0x80 == 0:
                return value
        raise AssertionError("unreachable")

    def tag(self, end: int, path: str) -> tuple[int, int]:
        key = self.varint(end, path)
        number, wire_type = key >> 3, key & 7
        if number == 0 or number > MAX_FIELD_NUMBER or wire_type > FIXED32:
            raise MalformedWire(path, "malformed", f"illegal tag: field no {number} wire type {wire_type}")
        return number, wire_type

    def delimited_end(self, end: int, path: str) -> int:
        length = self.varint(end, path)
        region_end = self.pos + length
        if region_end > end:
            raise MalformedWire(path, "truncated", "length-delimited field runs past the end of its message")
        return region_end

    def advance(self, n: int, end: int, path: str) -> None:
        if self.pos + n > end:
            raise MalformedWire(path, "truncated", "fixed-width field runs past the end of its message")
        self.pos += n

    def skip(self, wire_type: int, end: int, path: str) -> None:
        if wire_type == VARINT:
            self.varint(end, path)
        elif wire_type == FIXED64:
            self.advance(8, end, path)
        elif wire_type == FIXED32:
            self.advance(4, end, path)
        elif wire_type == LENGTH_DELIMITED:
            self.pos = self.delimited_end(end, path)
        else:
            raise MalformedWire(path, "wire_type", f"{wire_type_name(wire_type)} is not supported")

    def utf8(self, end: int, path: str) -> str:
        region_end = self.delimited_end(end, path)
        raw = self.data[self.pos : region_end]
        self.pos = region_end
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedWire(path, "utf8", "string field is not valid UTF-8") from None


def scan(descriptor: Descriptor, data: bytes) -> list[UnknownField]:
    """Scans `data` as an encoding of `descriptor`; returns the unknown fields, raises MalformedWire."""
    state = _Scan(data)
    _scan_message(state, len(data), descriptor, "", 0)
    return state.unknown


def _expect(path: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise MalformedWire(
            path,
            "wire_type",
            f"wire type {wire_type_name(actual)} does not match the declared {wire_type_name(expected)}",
        )


def _unknown_path(path: str, number: int) -> str:
    return join(path, str(number))


def _scan_message(state: _Scan, end: int, descriptor: Descriptor, path: str, depth: int) -> None:
    if depth > MAX_NESTING_DEPTH:
        raise MalformedWire(path, "depth", f"messages nest deeper than {MAX_NESTING_DEPTH} levels")
    counts: dict[int, int] = {}
    while state.pos < end:
        number, wire_type = state.tag(end, path)
        field = descriptor.fields_by_number.get(number)
        if field is None:
            state.unknown.append(UnknownField(_unknown_path(path, number), number, wire_type))
            state.skip(wire_type, end, path)
            continue
        field_path = join(path, field.name)
        if is_map(field):
            _expect(field_path, wire_type, LENGTH_DELIMITED)
            region_end = state.delimited_end(end, field_path)
            _scan_map_entry(state, region_end, field.message_type, field_path, depth + 1)
        elif field.label == _F.LABEL_REPEATED:
            index = counts.get(number, 0)
            counts[number] = index + 1
            _scan_element(state, end, field, wire_type, f"{field_path}[{index}]", depth)
        elif field.type == _F.TYPE_MESSAGE:
            _expect(field_path, wire_type, LENGTH_DELIMITED)
            region_end = state.delimited_end(end, field_path)
            _scan_message(state, region_end, field.message_type, field_path, depth + 1)
        else:
            _expect(field_path, wire_type, expected_wire_type(field))
            _scan_scalar(state, end, field, wire_type, field_path)
    if state.pos != end:
        raise MalformedWire(path, "truncated", "a field runs past the end of its message")


def _scan_scalar(state: _Scan, end: int, field: FieldDescriptor, wire_type: int, path: str) -> object:
    if field.type == _F.TYPE_STRING:
        return state.utf8(end, path)
    if field.type == _F.TYPE_BOOL and wire_type == VARINT:
        return state.varint(end, path) != 0
    if wire_type == VARINT:
        return state.varint(end, path)
    state.skip(wire_type, end, path)
    return None


def _scan_element(state: _Scan, end: int, field: FieldDescriptor, wire_type: int, path: str, depth: int) -> None:
    if field.type == _F.TYPE_MESSAGE:
        _expect(path, wire_type, LENGTH_DELIMITED)
        region_end = state.delimited_end(end, path)
        _scan_message(state, region_end, field.message_type, path, depth + 1)
        return
    element = expected_wire_type(field)
    if wire_type == LENGTH_DELIMITED and element != LENGTH_DELIMITED:
        _scan_packed(state, end, element, path)
        return
    _expect(path, wire_type, element)
    _scan_scalar(state, end, field, wire_type, path)


def _scan_packed(state: _Scan, end: int, element: int, path: str) -> None:
    region_end = state.delimited_end(end, path)
    width = 8 if element == FIXED64 else 4 if element == FIXED32 else 0
    if width:
        if (region_end - state.pos) % width != 0:
            raise MalformedWire(path, "truncated", "packed field length is not a multiple of its element size")
        state.pos = region_end
        return
    while state.pos < region_end:
        state.varint(region_end, path)


def _scan_map_entry(state: _Scan, end: int, entry: Descriptor, path: str, depth: int) -> None:
    key_field = entry.fields_by_number[1]
    value_field = entry.fields_by_number[2]
    key: object = "" if key_field.type == _F.TYPE_STRING else 0
    while state.pos < end:
        number, wire_type = state.tag(end, path)
        if number == 1:
            _expect(path, wire_type, expected_wire_type(key_field))
            value = _scan_scalar(state, end, key_field, wire_type, path)
            if value is not None:
                key = value
        elif number == 2:
            value_path = path + subscript_key(key)
            if value_field.type == _F.TYPE_MESSAGE:
                _expect(value_path, wire_type, LENGTH_DELIMITED)
                region_end = state.delimited_end(end, value_path)
                _scan_message(state, region_end, value_field.message_type, value_path, depth + 1)
            else:
                _expect(value_path, wire_type, expected_wire_type(value_field))
                _scan_scalar(state, end, value_field, wire_type, value_path)
        else:
            state.unknown.append(UnknownField(_unknown_path(path, number), number, wire_type))
            state.skip(wire_type, end, path)
    if state.pos != end:
        raise MalformedWire(path, "truncated", "a map entry runs past the end of its field")
