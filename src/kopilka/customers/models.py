"""Members of the programme (SPEC §1) and their reference books."""

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A subject of the Russian Federation, keyed by its two-digit code, with its IANA time zone."""

    code = models.CharField(_("code"), max_length=3, unique=True)
    name = models.CharField(_("name"), max_length=120, unique=True)
    federal_district = models.CharField(_("federal district"), max_length=60, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=40)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class City(models.Model):
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="cities", verbose_name=_("region")
    )
    name = models.CharField(_("name"), max_length=120)
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="city_unique_in_region")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_million_plus(self) -> bool:
        return (self.population or 0) >= 1_000_000


class Tag(models.Model):
    """A free attribute marketers segment by, e.g. "doctor", "clinic category A"."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["code"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class EligibilityFlag(models.Model):
    """A certification or other eligibility a campaign may require, e.g. "certified injector"."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["code"]
        verbose_name = _("eligibility flag")
        verbose_name_plural = _("eligibility flags")

    def __str__(self) -> str:
        return self.name


class Member(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("individual")
        LEGAL_ENTITY = "legal_entity", _("legal entity")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        BLOCKED = "blocked", _("blocked")
        DELETED = "deleted", _("deleted")

    class Gender(models.TextChoices):
        UNKNOWN = "", _("not stated")
        FEMALE = "female", _("female")
        MALE = "male", _("male")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.INDIVIDUAL)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # An individual's name; a legal entity's name is legal_name.
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name"), max_length=100, blank=True)
    legal_name = models.CharField(_("legal name"), max_length=300, blank=True)
    inn = models.CharField(_("INN"), max_length=12, blank=True, db_index=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    # Normalised: phone as +7XXXXXXXXXX (E.164), e-mail lower-cased.
    phone = models.CharField(_("phone"), max_length=16, blank=True, db_index=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True, db_index=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=6, choices=Gender.choices, blank=True, default="")
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("region"),
    )
    city = models.ForeignKey(
        City, on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("city")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="members", verbose_name=_("tags"))
    eligibility_flags = models.ManyToManyField(
        EligibilityFlag, blank=True, related_name="members", verbose_name=_("eligibility flags")
    )
    registration_source = models.CharField(_("registration source"), max_length=40, blank=True)
    registered_at = models.DateTimeField(_("registered at"))
    blocked_reason = models.CharField(_("reason for blocking"), max_length=300, blank=True)
    # Lower-cased "last first middle legal_name inn", kept by the services for name search.
    search_text = models.CharField(max_length=600, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        indexes = [
            models.Index(fields=["registered_at"]),
            models.Index(Lower("last_name"), name="member_last_name_lower"),
        ]
        constraints = [
            # One record per company: the ИНН of a legal entity that is not deleted is unique.
            models.UniqueConstraint(
                fields=["inn"],
                condition=models.Q(kind="legal_entity") & ~models.Q(status="deleted") & ~models.Q(inn=""),
                name="member_legal_entity_inn_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or f"#{self.pk}"

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.LEGAL_ENTITY:
            return self.legal_name
        return " ".join(p for p in (self.last_name, self.first_name, self.middle_name) if p)

    @property
    def can_earn_or_spend(self) -> bool:
        return self.status_earns_and_spends(self.status)

    @classmethod
    def status_earns_and_spends(cls, status: str | None) -> bool:
        """Whether a member of this status may earn and spend points: only an active one may."""
        return status == cls.Status.ACTIVE


class ExternalId(models.Model):
    """The member's id in another system: 1C GUID, the web shop's id, a card number, an imported customer id.

    Invariant: a (system, value) pair belongs to one member.
    """

    class System(models.TextChoices):
        ONEC = "onec", _("1C GUID")
        SITE = "site", _("web shop id")
        CARD = "card", _("card number")
        CUSTOMER = "customer", _("customer id")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="external_ids")
    system = models.CharField(_("system"), max_length=20, choices=System.choices)
    value = models.CharField(_("value"), max_length=100)

    class Meta:
        verbose_name = _("external id")
        verbose_name_plural = _("external ids")
        constraints = [models.UniqueConstraint(fields=["system", "value"], name="external_id_unique")]
        # A card number typed into the support console's search is looked up in every system.
        indexes = [models.Index(fields=["value"], name="external_id_value")]

    def __str__(self) -> str:
        return f"{self.system}:{self.value}"


class Consent(models.Model):
    """One decision of a member about one channel; the newest per channel is in force.

    Rows are never edited: a new decision is a new row.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("e-mail")
        SMS = "sms", _("SMS")
        PUSH = "push", _("push")
        MESSENGER = "messenger", _("messenger")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("granted"))
    decided_at = models.DateTimeField(_("decided at"))
    source = models.CharField(_("source"), max_length=100)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [models.Index(fields=["member", "channel", "-decided_at"])]

    def __str__(self) -> str:
        return f"{self.member_id}:{self.channel}={'yes' if self.granted else 'no'}"


class MemberStatusChange(models.Model):
    """Who blocked, unblocked or erased a member, when and why. Rows are only ever added."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from status"), max_length=10, choices=Member.Status.choices)
    to_status = models.CharField(_("to status"), max_length=10, choices=Member.Status.choices)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    actor = models.CharField(_("actor"), max_length=150)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["changed_at", "id"]
        verbose_name = _("member status change")
        verbose_name_plural = _("member status changes")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_status} → {self.to_status}"
