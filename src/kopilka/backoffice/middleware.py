"""Dates and times in pages are shown in the programme's time zone."""

from django.utils import timezone

from kopilka.core import clock


class ProgrammeTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(clock.programme_tz())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
