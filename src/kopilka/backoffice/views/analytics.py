"""The analysts' pages: each kind of analytics has a form of parameters, shows the newest computed snapshot for
them (computing one in the background when there is none, with progress), offers every table as CSV, XLSX and
JSON, and an embeddable widget link."""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from kopilka.analytics.models import Snapshot
from kopilka.analytics.presentation.tables import Table, from_dict, write_csv, xlsx_bytes
from kopilka.analytics.snapshots import lifecycle, params
from kopilka.backoffice import presenters, widgets
from kopilka.backoffice.access import ACTION, CHANGES, requires
from kopilka.backoffice.models import WidgetLink
from kopilka.core import audit, clock

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TITLES = {
    "dashboard": gettext_lazy("KPI dashboard"), "cuts": gettext_lazy("Cuts"), "rfm": gettext_lazy("RFM segments"),
    "clusters": gettext_lazy("Clusters"), "clv": gettext_lazy("Lifetime value"),
    "cohorts": gettext_lazy("Cohorts"), "abc": gettext_lazy("ABC analysis"),
    "levers": gettext_lazy("Growth levers"),
}


HEATMAP_TITLES = {"rfm": gettext_lazy("Members by recency and frequency"),
                  "cohorts": gettext_lazy("Share of each cohort buying in each period after it formed")}


def _kind(kind: str) -> str:
    if kind not in params.FORMS:
        raise Http404(kind)
    return kind


@requires("core.analytics_read", methods=CHANGES)
def page(request, kind: str):
    kind = _kind(kind)
    form = params.form_for(kind, request.GET or params.defaults(kind, clock.local_date(clock.now())))
    context = {"kind": kind, "title": TITLES[kind], "form": form, "kinds": [(k, TITLES[k]) for k in params.FORMS]}
    if not form.is_valid():
        return render(request, "backoffice/analytics/page.html", context)
    chosen = params.as_params(form)
    if request.method == "POST":
        lifecycle.request(kind, chosen, audit.actor_of(request.user), fresh_for=timedelta(0))
        return redirect(f"{request.path}?{urlencode(chosen)}")
    current = lifecycle.latest(kind, chosen) or lifecycle.request(kind, chosen, audit.actor_of(request.user))
    shown = current if current.status == Snapshot.Status.DONE else lifecycle.latest(kind, chosen, done=True)
    context.update(current=current, shown=shown, query=urlencode(chosen),
                   view=presenters.present(kind, shown.result) if shown else None,
                   heatmap_title=HEATMAP_TITLES.get(kind, ""),
                   can_share=request.user.has_perm("analytics.share_analytics"),
                   parts=[part for part in presenters.parts(kind) if widgets.embeddable(part)])
    return render(request, "backoffice/analytics/page.html", context)


@requires("core.analytics_read")
def status(request, snapshot_id: int):
    snapshot = get_object_or_404(Snapshot, pk=snapshot_id)
    return JsonResponse({"id": snapshot.pk, "status": snapshot.status, "progress": snapshot.progress,
                         "step": snapshot.step, "error": snapshot.error})


@requires("core.analytics_read")
def download(request, snapshot_id: int, table: str, fmt: str):
    snapshot = get_object_or_404(Snapshot, pk=snapshot_id, status=Snapshot.Status.DONE)
    stored = (snapshot.result or {}).get("tables", {}).get(table)
    if stored is None:
        raise Http404(table)
    return table_file(from_dict(stored), f"{snapshot.kind}-{table}-{snapshot.finished_at:%Y%m%d-%H%M}", fmt)


def table_file(shown: Table, name: str, fmt: str) -> HttpResponse:
    """A table as a download named `name`.`fmt`: CSV (keys as the header), XLSX (labels, numbers in their
    column's format) or JSON; another format is a 404. The analytics' tables and a campaign's results download so."""
    if fmt == "xlsx":
        response = HttpResponse(xlsx_bytes([shown]), content_type=XLSX)
    elif fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response.write("\ufeff")  # Excel reads UTF-8 CSV by its byte order mark
        write_csv(shown, response)
    elif fmt == "json":
        return JsonResponse(shown.records(), safe=False, json_dumps_params={"ensure_ascii": False})
    else:
        raise Http404(fmt)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@requires("core.analytics_read", "analytics.share_analytics", methods=ACTION)
def share(request, kind: str):
    """Make a link to one part of a page (a chart or a table) to embed elsewhere, for at most widgets.MAX_DAYS;
    the snapshot it shows is computed now if there is none (a visitor of the link never starts any work)."""
    kind = _kind(kind)
    form = params.form_for(kind, request.POST)
    part = request.POST.get("part", "")
    days = widgets.lifetime_days(request.POST.get("days"))
    if not form.is_valid() or part not in presenters.parts(kind) or not widgets.embeddable(part):
        messages.error(request, _("Choose what to embed and valid parameters (tables of single members cannot be "
                                  "embedded)."))
        return redirect("backoffice:analytics", kind)
    chosen = params.as_params(form)
    summary = _("Shared %(part)s of %(page)s for %(days)d days") % {"part": part, "page": TITLES[kind], "days": days}
    _link, token = widgets.issue(request.user, kind, chosen, part, days, summary=summary)
    if lifecycle.latest(kind, chosen, done=True) is None:
        lifecycle.request(kind, chosen, audit.actor_of(request.user))
    url = request.build_absolute_uri(reverse("analytics_widget", args=[token]))
    return render(request, "backoffice/analytics/shared.html", {
        "title": TITLES[kind], "url": url, "days": days, "part": part,
        "back": f"{reverse('backoffice:analytics', args=[kind])}?{urlencode(chosen)}"})


@requires("core.analytics_read", "analytics.share_analytics", methods=CHANGES)
def widget_links(request):
    """Every widget link: what it shows, who made it and when, until when it works; revoke one."""
    if request.method == "POST":
        link_id = int(request.POST.get("link", "0") or 0)
        if widgets.revoke(request.user, link_id, summary=_("Revoked widget link %(id)s") % {"id": link_id}):
            messages.success(request, _("The link no longer works."))
        return redirect("backoffice:analytics_widgets")
    links = WidgetLink.objects.select_related("created_by", "revoked_by")[:500]
    now = clock.now()
    rows = [{"link": link, "title": TITLES.get(link.kind, link.kind),
             "state": (pgettext("widget link", "revoked") if link.revoked_at
                       else pgettext("widget link", "expired") if link.expires_at <= now
                       else pgettext("widget link", "works"))}
            for link in links]
    return render(request, "backoffice/analytics/widget_links.html", {"title": _("Widget links"), "rows": rows})
