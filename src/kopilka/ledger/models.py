"""The points ledger (SPEC §2): lots, append-only entries, allocations, holds and the balance snapshot.

Invariants (proved by `kopilka reconcile`):
- account.balance = Σ entry.amount of the account = Σ lot.remaining of the account;
- lot.remaining = Σ amount of the entries booked directly on the lot (entry.lot) + Σ allocation.amount on the lot;
- an entry is booked either on one lot (entry.lot) or through allocations (Σ allocation.amount = entry.amount);
- account.held = Σ lot.held = Σ amount of the lines of active holds; 0 ≤ lot.held ≤ lot.remaining for spendable lots.
Entries and allocations are never updated or deleted: a database trigger refuses it. On PostgreSQL triggers also
refuse an update of account.balance to anything but the balance_after of the account's newest entry, and of
lot.remaining to anything but the lot's Σ entries + Σ allocations (migration 0010): entries come first, snapshots
follow them in the same transaction.
"""

from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.utils.translation import gettext_lazy as _

from kopilka.customers.models import Member


class LotCategory(models.Model):
    """Extensible reference book of point categories; `redemption_rank` orders them under the default policy."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    redemption_rank = models.PositiveSmallIntegerField(_("redemption rank"), default=100)

    class Meta:
        ordering = ["redemption_rank", "code"]
        verbose_name = _("point category")
        verbose_name_plural = _("point categories")

    def __str__(self) -> str:
        return self.name


class ReasonCode(models.Model):
    """Why a person changed points by hand: compensation for a defect, a correction, a goodwill gesture..."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=150)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """A member's points account: the row every ledger write locks first, and the balance snapshot."""

    member = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="points_account")
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")

    def __str__(self) -> str:
        return f"account of member {self.member_id}"


class Lot(models.Model):
    """The points of one accrual (партия), with its own life cycle. A debt lot (negative remaining) records points
    taken back after they were spent, under the "negative" return policy; later accruals settle it first."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lots", db_index=False)
    category = models.ForeignKey(LotCategory, on_delete=models.PROTECT, related_name="lots", db_index=False)
    source_kind = models.CharField(max_length=40)
    source_ref = models.CharField(max_length=100, blank=True)
    amount = models.BigIntegerField(help_text=_("points accrued into the lot"))
    remaining = models.BigIntegerField()
    held = models.BigIntegerField(default=0)
    accrued_at = models.DateTimeField()
    activates_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    is_debt = models.BooleanField(default=False)
    # Whether the lot has free points (remaining > held), kept by the database. The indexes that find spendable and
    # due lots test this column instead of remaining and held, so a spend that leaves a lot spendable changes no
    # indexed value: PostgreSQL updates the row in place (a HOT update) without touching the lot's five indexes.
    spendable = models.GeneratedField(
        expression=ExpressionWrapper(Q(remaining__gt=F("held")), output_field=models.BooleanField()),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        indexes = [
            models.Index(fields=["account", "id"], name="lot_account"),
            models.Index(fields=["expires_at"], condition=Q(spendable=True), name="lot_expiry_due"),
            models.Index(fields=["accrued_at"], name="lot_accrued_at"),
            # Every accrual asks whether the account owes points (a debt lot to settle first); few accounts do.
            models.Index(fields=["account"], condition=Q(is_debt=True), name="lot_debt"),
            # A spend in the default order walks one category's spendable lots oldest first and stops when covered.
            models.Index(fields=["account", "category", "accrued_at", "id"],
                         condition=Q(spendable=True, is_debt=False), name="lot_spendable"),
            # A campaign's results read the lots of its versions granted in a period (`campaigns.results`). Neither
            # column ever changes, so a spend still updates a lot in place (the HOT update above).
            models.Index(fields=["source_ref", "accrued_at"], condition=Q(source_kind="campaign"),
                         name="lot_campaign"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(held__gte=0), name="lot_held_not_negative"),
            models.CheckConstraint(condition=Q(is_debt=True) | Q(remaining__gte=F("held")), name="lot_held_covered"),
            models.CheckConstraint(condition=Q(is_debt=True) | Q(remaining__lte=F("amount")),
                                   name="lot_not_overfilled"),
            models.CheckConstraint(condition=Q(is_debt=False) | Q(remaining__lte=0), name="lot_debt_not_positive"),
        ]


class Entry(models.Model):
    """One immutable line of the ledger: who changed whose points, by how much, why, from what source."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("accrual")
        SPEND = "spend", _("spending")
        EXPIRY = "expiry", _("expiry")
        REVERSAL = "reversal", _("reversal of an accrual")
        RESTORE = "restore", _("return of spent points")
        ADJUSTMENT = "adjustment", _("manual adjustment")
        SETTLEMENT = "settlement", _("settlement of a debt")

    # account and lot are checked per statement by triggers, not by foreign keys (migration 0006): a night's expiry
    # inserts a million entries, and the triggers also check that the lot belongs to the account.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    # Indexed by the partial indexes below: most entries have no hold and reverse nothing.
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="entries", db_index=False,
        db_constraint=False,
    )
    hold = models.ForeignKey(
        "Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="entries", db_index=False
    )
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals", db_index=False
    )
    source_kind = models.CharField(max_length=40, blank=True)
    source_ref = models.CharField(max_length=100, blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    comment = models.TextField(blank=True)
    # Facts a reader needs beyond the amount, e.g. {"forgiven": 30, "policy": "take_available"} for a reversal, or
    # {"desired": 150} for a campaign's grant (what its rule wanted before a budget or a limit cut it).
    details = models.JSONField(null=True, blank=True)
    actor = models.CharField(max_length=150)
    # NULL when a write has no key of its own (a debt's settlement); a given key is unique (the constraint below).
    idempotency_key = models.CharField(max_length=250, null=True, blank=True)  # noqa: DJ001
    fingerprint = models.CharField(max_length=64, blank=True)
    # When it happened for the member (a lot burns at its expiry time); created_at is when it was recorded.
    effective_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [
            models.Index(fields=["account", "-id"], name="entry_account"),
            # On PostgreSQL it also carries the amount (migration 0010): the check that a lot's remainder follows its
            # entries sums them from the index alone, without reading old entries' rows.
            models.Index(fields=["lot"], name="entry_lot", condition=Q(lot__isnull=False)),
            models.Index(fields=["reverses"], name="entry_reverses", condition=Q(reverses__isnull=False)),
            models.Index(fields=["hold"], name="entry_hold", condition=Q(hold__isnull=False)),
            # On PostgreSQL a BRIN index on effective_at (migration 0005): cheap to keep up, enough for periods.
            models.Index(fields=["effective_at", "kind"], name="entry_effective"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=Q(idempotency_key__isnull=False), name="entry_idempotency_key"
            ),
        ]


class Allocation(models.Model):
    """The part of a multi-lot entry that touched one lot: which lots a spend drew from, a return refilled."""

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="allocations")
    amount = models.BigIntegerField()


class Hold(models.Model):
    """Points reserved for an unfinished purchase; ends by capture, release or timeout."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        CAPTURED = "captured", _("captured")
        RELEASED = "released", _("released")
        EXPIRED = "expired", _("expired")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds", db_index=False)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    source_kind = models.CharField(max_length=40, blank=True)
    source_ref = models.CharField(max_length=100, blank=True)
    actor = models.CharField(max_length=150)
    # Nullable as an entry's key is (the two share one check of earlier writes); every hold has a unique key.
    idempotency_key = models.CharField(max_length=250, null=True, blank=True)  # noqa: DJ001
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        indexes = [
            models.Index(fields=["expires_at"], condition=Q(status="active"), name="hold_active_expiry"),
            models.Index(fields=["account", "status"], name="hold_account"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=Q(idempotency_key__isnull=False), name="hold_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
        ]


class HoldLine(models.Model):
    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="lines")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="hold_lines")
    amount = models.BigIntegerField()
