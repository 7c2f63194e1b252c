"""The public page of an embeddable widget (see backoffice/widgets.py): no sign-in, the signed link is the key."""

from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt

from kopilka.analytics.snapshots import lifecycle
from kopilka.backoffice import presenters, widgets


@xframe_options_exempt
def widget(request, token: str):
    try:
        kind, params, part = widgets.read(token)
    except widgets.WidgetRefused:
        return render(request, "backoffice/analytics/widget.html", {"refused": True}, status=403)
    shown = lifecycle.latest(kind, params, done=True)
    if shown is None:
        lifecycle.request(kind, params, "widget")
        return render(request, "backoffice/analytics/widget.html", {"pending": True}, status=202)
    return render(request, "backoffice/analytics/widget.html", {
        "html": mark_safe(presenters.part_html(kind, shown.result, part)), "shown": shown})  # built from escaped parts
