"""One error tree for the whole application.

Every refusal a user can meet is an ApplicationError with a stable machine `code`, a message in the user's
language (resolved lazily, so the API answers in the request's language) and `details` for the caller.
The API turns them into `{"code", "message", "details"}` with `http_status`; the CLI prints the message.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code = "application_error"
    http_status = 400
    default_message = _("The request could not be processed.")

    def __init__(self, message: Any = None, *, code: str | None = None, details: dict | None = None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        self.details = details or {}
        super().__init__(str(self.message))

    def as_dict(self) -> dict:
        return {"code": self.code, "message": str(self.message), "details": self.details}


class ValidationFailed(ApplicationError):
    code = "validation_error"
    http_status = 422
    default_message = _("The request contains invalid data.")


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404
    default_message = _("Not found.")


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409
    default_message = _("The request conflicts with the current state.")


class PermissionDenied(ApplicationError):
    code = "forbidden"
    http_status = 403
    default_message = _("You do not have permission to do this.")


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    http_status = 422
    default_message = _("This idempotency key was already used for a different request.")


class IdempotencyInProgress(ApplicationError):
    code = "idempotency_in_progress"
    http_status = 409
    default_message = _("A request with this idempotency key is still being processed.")


class TryAgain(ApplicationError):
    """A write that met other writes of the same data (a deadlock or a serialization failure) too many times in a
    row: nothing was changed, and the same request may be sent again after `retry_after` seconds."""

    code = "try_again"
    http_status = 503
    retry_after = 1
    default_message = _("The server is busy with other changes of the same data: nothing was changed, send the "
                        "request again.")


# The PostgreSQL errors after which the whole transaction may simply run again.
TRANSIENT_SQLSTATES = {"40P01": "deadlock_detected", "40001": "serialization_failure"}


def transient_cause(error: BaseException | None) -> str | None:
    """The name of the transient database error behind `error`, or None when it is another error."""
    while error is not None:
        state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if state in TRANSIENT_SQLSTATES:
            return TRANSIENT_SQLSTATES[state]
        error = error.__cause__
    return None


def check_code(value: str, *, field: str = "code") -> str:
    """A reference book's code as given, or ValidationFailed: Latin letters, digits, “-” and “_” only."""
    try:
        validate_slug(value)
    except ValidationError:
        raise ValidationFailed(
            _("A code consists of Latin letters, digits, “-” and “_”."), details={"field": field, "value": value}
        ) from None
    return value
