"""Analytics over HTTP (SPEC §7.4): ask for a snapshot of any kind of analytics, follow its progress, read its
result and its tables — what BI tools and CRM exports pull. Everything needs `analytics:read`.

A request with the parameters of a snapshot under way or fresh gets that snapshot (202 while it is computed,
200 when done); parameters are checked as the back office checks them.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from kopilka.analytics.models import Snapshot
from kopilka.analytics.presentation.tables import from_dict
from kopilka.analytics.snapshots import lifecycle, params
from kopilka.api.auth import principal_of, scoped
from kopilka.api.common import ERRORS, length_of
from kopilka.core.errors import NotFound

router = Router(tags=["analytics"])
READ = "analytics:read"


class KindOut(Schema):
    kind: str
    parameters: list[str]


class SnapshotIn(Schema):
    kind: str = Field(max_length=length_of(Snapshot, "kind"))
    params: dict[str, Any] = {}


class SnapshotOut(Schema):
    id: int
    kind: str
    params: dict[str, Any]
    status: str
    progress: int
    step: str
    error: str
    requested_at: datetime
    finished_at: datetime | None
    tables: list[str]
    result: dict[str, Any] | None


def _out(snapshot: Snapshot, with_result: bool = True) -> dict:
    result = snapshot.result if snapshot.status == Snapshot.Status.DONE else None
    return {"id": snapshot.pk, "kind": snapshot.kind, "params": snapshot.params, "status": snapshot.status,
            "progress": snapshot.progress, "step": snapshot.step, "error": snapshot.error,
            "requested_at": snapshot.requested_at, "finished_at": snapshot.finished_at,
            "tables": list((result or {}).get("tables", {})), "result": result if with_result else None}


def _snapshot(snapshot_id: int) -> Snapshot:
    found = Snapshot.objects.filter(pk=snapshot_id).first()
    if found is None:
        raise NotFound(_("No such analytics snapshot."), code="snapshot_not_found")
    return found


@router.get("", auth=scoped(READ), response={200: list[KindOut], **ERRORS})
def kinds(request: HttpRequest):
    return [{"kind": kind, "parameters": list(form().fields)} for kind, form in params.FORMS.items()]


@router.post("/snapshots", auth=scoped(READ), response={200: SnapshotOut, 202: SnapshotOut, **ERRORS})
def request_snapshot(request: HttpRequest, body: SnapshotIn):
    principal = principal_of(request)
    snapshot = lifecycle.request(body.kind, params.clean(body.kind, body.params), principal.actor)
    return (200 if snapshot.status == Snapshot.Status.DONE else 202), _out(snapshot)


@router.get("/snapshots/{int:snapshot_id}", auth=scoped(READ), response={200: SnapshotOut, **ERRORS})
def get_snapshot(request: HttpRequest, snapshot_id: int):
    return _out(_snapshot(snapshot_id))


@router.get("/snapshots/{int:snapshot_id}/tables/{name}", auth=scoped(READ),
            response={200: list[dict[str, Any]], **ERRORS})
def get_table(request: HttpRequest, snapshot_id: int, name: str):
    """The table's rows as objects by column key, text in the request's language."""
    snapshot = _snapshot(snapshot_id)
    stored = (snapshot.result or {}).get("tables", {}).get(name) if snapshot.status == Snapshot.Status.DONE else None
    if stored is None:
        raise NotFound(_("The snapshot has no such table (yet)."), code="table_not_found",
                       details={"tables": list((snapshot.result or {}).get("tables", {}))})
    return from_dict(stored).records()
