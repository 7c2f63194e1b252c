"""SMS through the provider's HTTP interface, one generic adapter configured by `SmsProvider`.

A message goes as JSON or form fields (or as query parameters of a GET), its fields named as the provider names
them, with our message id as the client reference when the provider takes one, so the provider can drop a repeat
after a crash. The answer is accepted when its status is 2xx and, when the provider says so in a field, that
field holds the expected value; the provider's message id is read from the answer for its delivery reports.
"""

import base64
import json
from collections.abc import Mapping
from typing import Any

import httpx

from kopilka.communications.cut_off import SendFailed, cut_off
from kopilka.communications.models import Message, SmsProvider

MAX_ANSWER_BYTES = 64 * 1024


def provider() -> SmsProvider | None:
    """The SMS provider as configured, or None."""
    return SmsProvider.objects.filter(pk=SmsProvider.SINGLETON).first()


def request_for(config: SmsProvider, message: Message) -> httpx.Request:
    """The provider's request that sends `message` (pure: nothing goes out)."""
    fields: dict[str, Any] = {**(config.extra_fields or {}), config.to_field: message.to,
                              config.text_field: message.body}
    if config.sender_field:
        fields[config.sender_field] = config.sender
    if config.reference_field:
        fields[config.reference_field] = str(message.uid)
    headers = {"Accept": "application/json"}
    if config.auth == SmsProvider.Auth.HEADER:
        headers[config.auth_header] = config.auth_secret
    elif config.auth == SmsProvider.Auth.BASIC:
        pair = f"{config.auth_user}:{config.auth_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    if config.method == SmsProvider.Method.GET:
        return httpx.Request("GET", config.url, params=fields, headers=headers)
    if config.body_format == SmsProvider.BodyFormat.FORM:
        return httpx.Request("POST", config.url, data=fields, headers=headers)
    return httpx.Request("POST", config.url, json=fields, headers=headers)


def field(document: Any, path: str) -> Any:
    """The value at a dotted path ("result.0.id": key, list index, key ...) of a decoded answer; None if absent."""
    for step in path.split("."):
        if isinstance(document, Mapping):
            document = document.get(step)
        elif isinstance(document, list) and step.isdigit() and int(step) < len(document):
            document = document[int(step)]
        else:
            return None
    return document


def read_answer(config: SmsProvider, status: int, body: bytes) -> str:
    """The provider's message id from its answer ("" when it gives none), or SendFailed saying why the answer
    means the message was not taken."""
    text = body.decode("utf-8", "replace")
    if not 200 <= status < 300:
        raise SendFailed(f"HTTP {status}: {text[:500]}")
    if not (config.success_field or config.id_field):
        return ""
    try:
        answer = json.loads(text)
    except ValueError:
        raise SendFailed(f"the answer is not JSON: {text[:500]}") from None
    if config.success_field and str(field(answer, config.success_field)) != config.success_value:
        raise SendFailed(f"not accepted: {text[:500]}")
    found = field(answer, config.id_field) if config.id_field else None
    return "" if found is None else str(found)[:100]


def send(message: Message, deadline: float) -> str:
    """Send the message to the provider, cut off at the monotonic moment `deadline`; returns the provider's id of
    it or raises SendFailed."""
    config = provider()
    if config is None:
        raise SendFailed("no SMS provider is configured")
    request = request_for(config, message)
    sockets: list = []

    def trace(event: str, info: dict) -> None:
        if event == "connection.connect_tcp.complete" and info.get("return_value") is not None:
            sockets.append(info["return_value"].get_extra_info("socket"))

    request.extensions["trace"] = trace
    try:
        with cut_off(lambda: sockets[-1] if sockets else None, deadline) as cut, \
                httpx.Client(timeout=config.timeout_seconds, follow_redirects=False) as client:
            response = client.send(request, stream=True)
            body = _read_some(response)
    except httpx.HTTPError as error:
        raise SendFailed(f"cut off: {error!r}" if cut.is_set() else f"{type(error).__name__}: {error}") from error
    return read_answer(config, response.status_code, body)


def _read_some(response: httpx.Response) -> bytes:
    """The answer's first MAX_ANSWER_BYTES (all an answer to a send needs); the connection is closed after."""
    read = b""
    try:
        for chunk in response.iter_bytes():
            read += chunk
            if len(read) >= MAX_ANSWER_BYTES:
                break
    finally:
        response.close()
    return read[:MAX_ANSWER_BYTES]
