"""The public page of an embeddable widget (see backoffice/widgets.py): no sign-in, the stored link is the key. A
visit only reads: it never queues a computation (the link's maker did)."""

from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.clickjacking import xframe_options_exempt

from kopilka.analytics.snapshots import lifecycle
from kopilka.backoffice import presenters, widgets


@xframe_options_exempt
def widget(request, token: str):
    try:
        link = widgets.read(token)
    except widgets.WidgetRefused:
        return render(request, "backoffice/analytics/widget.html", {"refused": True}, status=403)
    shown = lifecycle.latest(link.kind, link.params, done=True)
    if shown is None:
        return render(request, "backoffice/analytics/widget.html", {"pending": True}, status=202)
    html = mark_safe(presenters.part_html(link.kind, shown.result, link.part))  # built from escaped parts
    return render(request, "backoffice/analytics/widget.html", {"html": html, "shown": shown})
