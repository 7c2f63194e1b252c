"""The relevance window: a message made from a template with one carries the moment it stops being worth sending;
the sender sends it before that moment and skips it as "too late" from then on, on any try."""

from datetime import timedelta

import pytest
from django.utils import translation

from kopilka.communications import services
from kopilka.communications.message_templates import compose, save_template
from kopilka.communications.models import Attempt, Message
from tests.communications.notice_helpers import NOON, reachable

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(moments):
    """A message to Anna from a template relevant for two hours, made at noon."""
    moments.now = NOON
    anna = reachable("Соколова", "anna@example.ru", first_name="Анна")
    template = save_template(code="order-ready", actor="t", name="Заказ готов", channel="email",
                             purpose="transactional", subject_ru="Заказ готов",
                             body_ru="{{ member.name }}, заберите заказ.", relevance_hours=2)
    composed = compose(template, anna.pk)
    assert composed.relevant_until == NOON + timedelta(hours=2)
    return services.notify(anna.pk, kind="order_ready", source="order:1", subject=composed.subject,
                           body=composed.body, relevant_until=composed.relevant_until)


def test_a_message_within_its_window_is_sent(smtp, made, moments):
    moments.advance(hours=1, minutes=59)
    assert services.deliver_queued() == 1 and len(smtp.received) == 1
    assert Message.objects.get().relevant_until == NOON + timedelta(hours=2)


def test_a_message_past_its_window_is_skipped_as_too_late_and_never_tried(smtp, made, moments):
    moments.advance(hours=2)
    assert services.deliver_queued() == 0 and not smtp.received
    message = Message.objects.get()
    assert (message.status, message.skip_reason, message.attempts) == ("skipped", "too_late", 0)
    with translation.override("ru"):
        assert not Attempt.objects.exists() and message.get_skip_reason_display() == "слишком поздно"


def test_a_message_whose_retries_outlast_its_window_is_skipped_at_the_next_try(settings, made, moments):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nobody listens
    assert services.deliver_queued() == 0 and Message.objects.get().attempts == 1
    moments.advance(hours=2)
    assert services.deliver_queued() == 0
    assert Message.objects.values_list("status", "skip_reason", "attempts").get() == ("skipped", "too_late", 1)


def test_a_message_made_after_its_window_is_recorded_too_late(smtp, moments):
    moments.now = NOON
    anna = reachable("Соколова", "anna@example.ru")
    message = services.notify(anna.pk, kind="order_ready", source="order:2", subject="s", body="b",
                              relevant_until=NOON)
    assert (message.status, message.skip_reason) == ("skipped", "too_late")
    assert services.deliver_queued() == 0 and not smtp.received
