"""Schemathesis over every operation of the published schema, with a key holding every scope.

Invariants checked on every generated request: no 5xx; every response in a content type its operation documents,
matching the documented schema; every 4xx in the error shape; data the schema calls valid is never refused for its
shape (the guard's 400, ninja's `validation_error`). Runs on the WSGI application in the test's transaction.
"""

import os
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from kopilka.core.models import SCOPES, ApiKey

EXAMPLES = int(os.environ.get("KOPILKA_FUZZ_EXAMPLES", "20"))
MIN_CASES = 1000


def _schema():
    from kopilka.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def error_shape(ctx, response, case):
    """Every 4xx and 5xx is `{"code", "message", "details"}` in JSON."""
    if response.status_code < 400:
        return None
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"code", "message", "details"}, body
    assert isinstance(body["code"], str) and body["message"] and isinstance(body["details"], dict), body
    return None


SHAPE_REFUSALS = {"invalid_characters", "invalid_encoding", "malformed_json", "number_out_of_range", "too_deep",
                  "text_too_long", "request_too_large", "bad_request"}


def shape_accepted(ctx, response, case):
    """Data the schema calls valid is not refused for its shape: not by the middleware, not by a route's own types
    (`validation_error` with `fields`). A rule over several fields or the stored state (`validation_error` naming a
    `field`, or any other code) is a business refusal the schema cannot state."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code not in (400, 413, 422):
        return None
    body = response.json()
    assert body["code"] not in SHAPE_REFUSALS, (response.status_code, body)
    assert not (body["code"] == "validation_error" and "fields" in body["details"]), (response.status_code, body)
    return None


CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.status_code_conformance,
    error_shape,
    shape_accepted,
]


@pytest.fixture
def same_connection():
    """The application is called directly: keep the test's connection (as django.test.Client does)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _explore(operation, headers: dict, cases: Counter, statuses: Counter) -> None:
    strategy = (operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
                | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        cases[operation.label] += 1
        response = case.call(headers=headers)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_operation_survives_generated_input(same_connection):
    _, token = ApiKey.issue("fuzz", list(SCOPES))
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    schema = _schema()
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    for operation in operations:
        try:
            _explore(operation, headers, cases, statuses)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as failure:  # every operation's failures are gathered, reported at once
            failures.append(f"{operation.label}: {str(failure)[:3000]}")
    print(f"fuzz: {sum(cases.values())} cases over {len(cases)} operations, statuses {sorted(statuses.items())}")
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    assert sum(cases.values()) >= MIN_CASES
    assert set(cases) == labels, labels - set(cases)
    assert sum(n for status, n in statuses.items() if status < 300) >= MIN_CASES // 10, statuses
