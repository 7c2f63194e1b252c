"""Snapshots: the analytics' results computed in the background and kept for the pages, the API and the widgets.

Invariants: a snapshot is identified by its kind and the digest of its parameters; it moves queued → running →
done | failed and is not changed after that; `result` holds tables (labels as English message ids, translated
when shown) and chart series as JSON. Nothing in the purchase path reads snapshots.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Snapshot(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=30)
    params = models.JSONField(_("parameters"))
    digest = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress, %"), default=0)
    step = models.CharField(_("step"), max_length=200, blank=True)
    result = models.JSONField(_("result"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.CharField(_("requested by"), max_length=150)
    requested_at = models.DateTimeField(_("requested at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("analytics snapshot")
        verbose_name_plural = _("analytics snapshots")
        indexes = [models.Index(fields=["kind", "digest", "-requested_at"], name="snapshot_lookup")]
        permissions = [("share_analytics", _("Can make embeddable widget links to analytics"))]

    def __str__(self) -> str:
        return f"{self.kind} {self.requested_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
