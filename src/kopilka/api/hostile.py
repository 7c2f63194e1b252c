"""What the API refuses before any route sees it: text that no field may hold and bodies no client needs to send.

Pure inspection, no Django: each check returns a `Refusal` (status, code, where) or None.
Invariants: a string that reaches a route holds no NUL, no other C0 control but tab, newline and carriage return, no
DEL, no C1 control and no lone surrogate; it was valid UTF-8 on the wire; a JSON body is at most MAX_DEPTH deep, has
no integer outside a 64-bit signed range, no number literal longer than MAX_NUMBER_DIGITS, no NaN or infinity and no
string or key longer than MAX_TEXT_LENGTH characters (free JSON's limit; a named field's own is shorter); a path has
no segment that is a whole number outside that range.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

MAX_DEPTH = 16
MAX_NUMBER_DIGITS = 40
MAX_TEXT_LENGTH = 10_000
BIGGEST_INTEGER = 2**63 - 1

# C0 controls but tab, newline and carriage return; DEL; C1 controls; lone surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: HTTP status, the error code and where in the request (e.g. ["query", "status"])."""

    status: int
    code: str
    location: list[str] = field(default_factory=list)


def bad_text(value: str) -> bool:
    return FORBIDDEN.search(value) is not None


def check_query(raw: str) -> Refusal | None:
    """The raw query string: valid UTF-8 once percent-decoded, and no forbidden character in a name or value."""
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return Refusal(400, "invalid_encoding", ["query"])
    for name, value in pairs:
        if bad_text(name) or bad_text(value):
            return Refusal(422, "invalid_characters", ["query"] if bad_text(name) else ["query", name])
    return None


_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def check_path(path: str) -> Refusal | None:
    """The decoded path (bytes that are not UTF-8 stay percent-encoded there, as Django leaves them): no forbidden
    character, and no segment that is a whole number outside the 64-bit signed range (no id can be one)."""
    if bad_text(path):
        return Refusal(422, "invalid_characters", ["path"])
    for segment in path.split("/"):
        if _WHOLE_NUMBER.fullmatch(segment) and (len(segment) > MAX_NUMBER_DIGITS or
                                                 not -BIGGEST_INTEGER - 1 <= int(segment) <= BIGGEST_INTEGER):
            return Refusal(422, "number_out_of_range", ["path"])
    return None


def check_header(name: str, raw: bytes) -> Refusal | None:
    """A header value as sent (bytes): valid UTF-8 with no forbidden character."""
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "invalid_encoding", ["header", name])
    return Refusal(422, "invalid_characters", ["header", name]) if bad_text(value) else None


class _Refused(Exception):
    def __init__(self, refusal: Refusal):
        self.refusal = refusal


def _number(literal: str, convert):
    if len(literal.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _Refused(Refusal(422, "number_out_of_range", ["body"]))
    return convert(literal)


def _no_constant(name: str):
    raise _Refused(Refusal(422, "number_out_of_range", ["body"]))


def _parse(body: bytes):
    text = body.decode("utf-8")
    return json.loads(
        text,
        parse_int=lambda s: _number(s, int),
        parse_float=lambda s: _number(s, float),
        parse_constant=_no_constant,
    )


def check_json(body: bytes) -> Refusal | None:
    """A JSON body: UTF-8, well formed, within the depth and number limits, with no forbidden character in any key
    or string (where: the path to the first offending value)."""
    try:
        document = _parse(body)
    except _Refused as refused:
        return refused.refusal
    except UnicodeDecodeError:
        return Refusal(400, "invalid_encoding", ["body"])
    except RecursionError:
        return Refusal(400, "too_deep", ["body"])
    except ValueError:
        return Refusal(400, "malformed_json", ["body"])
    return _walk(document)


def _walk(document) -> Refusal | None:
    """The first value of `document` that no route may get, and where it is."""
    found = _fault(document, 1)
    if found is None:
        return None
    status, code, path = found
    return Refusal(status, code, ["body"] if code == "too_deep" else ["body", *reversed(path)])


def _fault(value, depth: int) -> tuple[int, str, list[str]] | None:
    """(status, code, the path to the value from the innermost out) of the first fault in `value`, which sits
    `depth` names deep ("body" is 1); the path is built only on the way out of a fault."""
    if depth > MAX_DEPTH + 1:
        return 400, "too_deep", []
    kind = type(value)
    if kind is str:
        if bad_text(value):
            return 422, "invalid_characters", []
        return (422, "text_too_long", []) if len(value) > MAX_TEXT_LENGTH else None
    if kind is int:
        return None if -BIGGEST_INTEGER - 1 <= value <= BIGGEST_INTEGER else (422, "number_out_of_range", [])
    if kind is float:
        return (422, "number_out_of_range", []) if value != value or value in (_INFINITY, -_INFINITY) else None
    if kind is dict:
        for key, item in value.items():
            if bad_text(key):
                return 422, "invalid_characters", []
            if len(key) > MAX_TEXT_LENGTH:
                return 422, "text_too_long", []
            found = _fault(item, depth + 1)
            if found is not None:
                found[2].append(key)
                return found
    elif kind is list:
        for index, item in enumerate(value):
            found = _fault(item, depth + 1)
            if found is not None:
                found[2].append(str(index))
                return found
    return None


_INFINITY = float("inf")
