"""Delivery reports of the SMS provider: what became of a sent message, read as the provider's settings say.

A report names the message by our id (the client reference) or the provider's; its status is one the settings
list as delivered, or as not delivered (the message is failed with the provider's words), or another one on the
way (nothing changes). `delivered` is final; a report may come before the worker has recorded the send, and the
message is then not sent again.
"""

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from kopilka.communications import sms
from kopilka.communications.models import Message, SmsProvider
from kopilka.core import clock
from kopilka.core.errors import NotFound, PermissionDenied, ValidationFailed

REPORTED = (Message.Status.QUEUED, Message.Status.SENT, Message.Status.FAILED)  # what a report may still change


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_secret(config: SmsProvider | None, given: str) -> SmsProvider:
    """The provider whose reports' shared secret is `given`, or PermissionDenied."""
    if config is None or not config.report_secret_digest or not given or not hmac.compare_digest(
            config.report_secret_digest, digest(given)):
        raise PermissionDenied(_("The delivery report's secret does not match."), code="bad_report_secret")
    return config


def record(config: SmsProvider, report: Mapping[str, Any]) -> Message:
    """Apply one delivery report; returns the message as it is now."""
    named = sms.field(report, config.report_id_field)
    status = sms.field(report, config.report_status_field)
    if named in (None, "") or status in (None, ""):
        raise ValidationFailed(_("A delivery report names a message and its status."), code="bad_report",
                               details={"fields": [config.report_id_field, config.report_status_field]})
    status = str(status).strip().lower()
    with transaction.atomic():
        message = _reported(config, str(named)).select_for_update().first()
        if message is None:
            raise NotFound(_("No SMS with this id was sent."), code="message_not_found", details={"id": str(named)})
        if message.status not in REPORTED:
            return message
        now = clock.now()
        if status in _listed(config.delivered_values):
            message.status, message.delivered_at, message.error = Message.Status.DELIVERED, now, ""
        elif status in _listed(config.failed_values):
            words = sms.field(report, config.report_error_field) if config.report_error_field else None
            message.status = Message.Status.FAILED
            message.error = f"not delivered: {status}" + (f" ({words})" if words else "")
        else:
            return message
        message.lease_until, message.leased_by, message.next_try_at = None, "", None
        message.save(update_fields=["status", "delivered_at", "error", "lease_until", "leased_by", "next_try_at"])
        return message


def _reported(config: SmsProvider, named: str):
    sms_messages = Message.objects.filter(channel=Message.Channel.SMS)
    if config.report_id == SmsProvider.ReportId.PROVIDERS:
        return sms_messages.filter(provider_id=named)
    try:
        return sms_messages.filter(uid=uuid.UUID(named))
    except ValueError:
        return sms_messages.none()


def _listed(values: str) -> set[str]:
    return {value.strip().lower() for value in values.split(",") if value.strip()}
