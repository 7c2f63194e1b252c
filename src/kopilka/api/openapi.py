"""The published schema states what the API enforces beyond each route's own types, and every error it can answer.

Invariants: every string the schema describes without a format or enum carries PLAIN_TEXT (no control character but
tab, newline and carriage return: what `middleware` refuses), every integer a 64-bit range, every object with named
properties is closed and free-form JSON is PlainJson, whose strings and keys are at most `hostile.MAX_TEXT_LENGTH`
long (a named string's maxLength is its route's own, `api.common`); every operation documents 400, 401, 403, 404,
405, 413, 422, 500 and 503 (writes also 409) as `ErrorOut` in `application/json`, besides what its route declares —
the middleware's refusals and Django's own 404/405 included, so a client generated from the schema knows every
answer; every operation's security requirements name the one scope it needs (`auth.scoped`).
"""

from typing import Any

from ninja.openapi.schema import OpenAPISchema

from kopilka.api.hostile import MAX_TEXT_LENGTH

PLAIN_TEXT = "^[^\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F-\\x9F]*$"
ERROR_REF = "#/components/schemas/ErrorOut"
COMMON = {
    400: "Malformed request: not UTF-8, not JSON, or nested too deep.",
    401: "Credentials are missing or not valid.",
    403: "The key or user lacks the scope this needs.",
    404: "Nothing at this address, or the thing named does not exist.",
    405: "This address does not take this method.",
    413: "The request body is too large.",
    422: "The request breaks a rule: see `code` and `details`.",
    500: "The server failed; nothing was changed.",
    503: "The database is busy; send the request again after Retry-After seconds.",
}
WRITES = {409: "A request with this Idempotency-Key is in progress, or the state forbids it."}
ERROR_OUT = {
    "title": "ErrorOut",
    "type": "object",
    "properties": {
        "code": {"title": "Code", "type": "string"},
        "message": {"title": "Message", "type": "string"},
        "details": {"title": "Details", "type": "object", "additionalProperties": True},
    },
    "required": ["code", "message", "details"],
}


PLAIN_JSON_REF = "#/components/schemas/PlainJson"
PLAIN_KEY = {"pattern": PLAIN_TEXT, "maxLength": MAX_TEXT_LENGTH}
PLAIN_JSON = {
    "title": "PlainJson",
    "description": (f"Any JSON value whose strings and keys are plain text of at most {MAX_TEXT_LENGTH:,} "
                    "characters and whose integers fit in 64 bits."),
    "anyOf": [
        {"type": "null"},
        {"type": "boolean"},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
        {"type": "number", "minimum": -1e300, "maximum": 1e300},
        {"type": "string", "pattern": PLAIN_TEXT, "maxLength": MAX_TEXT_LENGTH},
        {"type": "array", "items": {"$ref": PLAIN_JSON_REF}},
        {"type": "object", "propertyNames": PLAIN_KEY, "additionalProperties": {"$ref": PLAIN_JSON_REF}},
    ],
}


class ScopedSchema(OpenAPISchema):
    """ninja's schema, with the scope of each operation in its security requirements (OpenAPI 3.1 lets a
    requirement of any scheme list the roles it needs)."""

    def operation_security(self, operation):
        requirements = super().operation_security(operation)
        scopes = {getattr(auth, "scope", None) for auth in operation.auth_callbacks}
        if requirements is None or len(scopes) != 1 or not (scope := scopes.pop()):
            return requirements
        return [{name: [scope] for name in requirement} for requirement in requirements]


def with_enforced_rules(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with plain-text strings, closed objects and the common error responses (in place)."""
    _plain(schema)
    schema.setdefault("components", {}).setdefault("schemas", {})["PlainJson"] = PLAIN_JSON
    return with_error_responses(schema)


def _plain(node: Any) -> None:
    """Strings get PLAIN_TEXT; an object with named properties is closed (the API ignores any other key); a
    free-form object holds plain JSON with plain-text keys (PLAIN_KEY)."""
    if isinstance(node, list):
        for item in node:
            _plain(item)
        return
    if not isinstance(node, dict):
        return
    for value in node.values():
        _plain(value)
    if node.get("type") == "string" and not {"format", "enum", "const"} & node.keys():
        if "pattern" not in node:
            node["pattern"] = PLAIN_TEXT
        elif node["pattern"] != PLAIN_TEXT:
            node.setdefault("allOf", []).append({"pattern": PLAIN_TEXT})
    if node.get("type") == "integer":
        node.setdefault("minimum", -(2**63))
        node.setdefault("maximum", 2**63 - 1)
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if extra is None and "properties" in node:
            node["additionalProperties"] = False
        elif extra is True or (extra is None and node.get("type") == "object"):
            node["additionalProperties"] = {"$ref": PLAIN_JSON_REF}
        if node.get("additionalProperties") is not False:
            node["propertyNames"] = dict(PLAIN_KEY)


def with_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the common error responses added to each operation that lacks them (in place)."""
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault("ErrorOut", ERROR_OUT)
    for path in schema.get("paths", {}).values():
        for method, operation in path.items():
            statuses = {**COMMON, **(WRITES if method in ("post", "put", "patch", "delete") else {})}
            # Django Ninja keys its responses by number, JSON by text: one key per status, or the published
            # document holds each status twice (a duplicated key, which YAML parsers such as Swagger UI's refuse).
            responses = operation["responses"] = {str(code): response
                                                  for code, response in operation.get("responses", {}).items()}
            for status, description in statuses.items():
                responses.setdefault(str(status), {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
                })
    return schema
