"""The register: service areas, locations, contacts and backflow prevention assemblies."""

from __future__ import annotations

import datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel

from .choices import (
    AssemblyStatus,
    AssemblyType,
    ComplianceStatus,
    ContactRole,
    Hazard,
    PropertyType,
    ServiceType,
    TestResult,
)
from .compliance import AssemblyQuerySet


class ServiceArea(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(
        _("code"), max_length=20, unique=True, help_text=_("Short code, e.g. a zone or route.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("service area")
        verbose_name_plural = _("service areas")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


def address_lines(line1: str, line2: str, city: str, state: str, postal_code: str) -> list[str]:
    """A postal address as printed: the street lines, then "City, ST 12345"; empty parts
    left out."""
    last = " ".join(part for part in (state, postal_code) if part)
    city_line = ", ".join(part for part in (city, last) if part)
    return [line for line in (line1, line2, city_line) if line]


class Address(models.Model):
    """Postal address fields shared by locations and contacts."""

    # Indexed: the Locations listing sorts on it.
    address_line1 = models.CharField(_("address line 1"), max_length=200, blank=True, db_index=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True, db_index=True)
    state = models.CharField(_("state"), max_length=50, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True, db_index=True)

    class Meta:
        abstract = True

    @property
    def has_address(self) -> bool:
        return bool(self.address_line1 and self.city and self.postal_code)

    @property
    def address_lines(self) -> list[str]:
        return address_lines(
            self.address_line1, self.address_line2, self.city, self.state, self.postal_code
        )


class Location(ClusterableModel, Address):
    """A service address (premises) with its account number."""

    account_number = models.CharField(_("account number"), max_length=40, unique=True)
    name = models.CharField(
        _("name"), max_length=200, blank=True, help_text=_("Business or site name, if any.")
    )
    property_type = models.CharField(
        _("property type"), max_length=20, choices=PropertyType.choices, db_index=True
    )
    service_area = models.ForeignKey(
        ServiceArea,
        verbose_name=_("service area"),
        on_delete=models.PROTECT,
        related_name="locations",
        null=True,
        blank=True,
    )
    is_active = models.BooleanField(_("active"), default=True, db_index=True)
    contacts = models.ManyToManyField(
        "Contact", through="LocationContact", related_name="locations", blank=True
    )

    class Meta:
        ordering = ["account_number"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")

    def __str__(self) -> str:
        label = self.name or self.address_line1 or _("(no street address)")
        return f"{self.account_number}: {label}"

    @property
    def address(self) -> str:
        return ", ".join(self.address_lines)

    def get_admin_url(self) -> str:
        return reverse("wagtailsnippets_wagtail_batchcomms_location:edit", args=[self.pk])


class Contact(models.Model):
    """A person or organisation that receives notices."""

    name = models.CharField(_("name"), max_length=200, db_index=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    mailing_address_line1 = models.CharField(
        _("mailing address line 1"), max_length=200, blank=True
    )
    mailing_address_line2 = models.CharField(
        _("mailing address line 2"), max_length=200, blank=True
    )
    mailing_city = models.CharField(_("mailing city"), max_length=100, blank=True)
    mailing_state = models.CharField(_("mailing state"), max_length=50, blank=True)
    mailing_postal_code = models.CharField(_("mailing postal code"), max_length=20, blank=True)
    prefers_paper = models.BooleanField(
        _("prefers paper"),
        default=False,
        db_index=True,
        help_text=_("Send letters, never email, even when an email address is known."),
    )
    # Returned mail: set when a letter to this mailing address came back and an admin flagged
    # it; generation then treats the contact as having no mailing address. Editing the
    # address clears it.
    mailing_address_bad_since = models.DateTimeField(
        _("mailing address flagged as bad"), null=True, blank=True, db_index=True
    )

    # A hard bounce: a provider's tracking webhook said mail to this address bounced for good
    # (or was rejected as invalid). Generation then treats the contact as having no usable
    # email (a letter where the template allows one). Editing the email clears it.
    email_bounced_since = models.DateTimeField(
        _("email flagged as bounced"), null=True, blank=True, db_index=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # An import finds a contact by its email without case (``imports.existing``).
        indexes = [models.Index(Lower("email"), name="batchcomms_contact_email_ci")]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name

    @property
    def has_mailing_address(self) -> bool:
        return bool(self.mailing_address_line1 and self.mailing_city and self.mailing_postal_code)

    @property
    def mailing_address_lines(self) -> list[str]:
        return address_lines(
            self.mailing_address_line1,
            self.mailing_address_line2,
            self.mailing_city,
            self.mailing_state,
            self.mailing_postal_code,
        )

    @property
    def can_email(self) -> bool:
        return bool(self.email) and not self.prefers_paper and self.email_bounced_since is None

    def clean(self) -> None:
        parts = [
            self.mailing_address_line1,
            self.mailing_city,
            self.mailing_postal_code,
        ]
        # No mailing address at all is fine: letters then go to the location's address.
        if any(parts) and not all(parts):
            raise ValidationError(
                _(
                    "A mailing address needs line 1, city and postal code; "
                    "leave all three empty to use the location's address."
                )
            )

    def get_admin_url(self) -> str:
        return reverse("wagtailsnippets_wagtail_batchcomms_contact:edit", args=[self.pk])


class LocationContact(models.Model):
    """A contact's role at a location. One contact may hold roles at many locations."""

    location = ParentalKey(Location, on_delete=models.CASCADE, related_name="location_contacts")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="location_roles", verbose_name=_("contact")
    )
    role = models.CharField(_("role"), max_length=20, choices=ContactRole.choices)
    is_primary = models.BooleanField(
        _("primary"), default=False, help_text=_("The main contact for this role here.")
    )

    class Meta:
        verbose_name = _("location contact")
        verbose_name_plural = _("location contacts")
        constraints = [
            models.UniqueConstraint(
                fields=["location", "contact", "role"], name="batchcomms_locationcontact_unique"
            ),
            models.UniqueConstraint(
                fields=["location", "role"],
                condition=Q(is_primary=True),
                name="batchcomms_locationcontact_one_primary",
                violation_error_message=_(
                    "This location already has a primary contact for this role."
                ),
            ),
        ]
        indexes = [models.Index(fields=["role", "is_primary"], name="batchcomms_lc_role_primary")]

    def __str__(self) -> str:
        return f"{self.contact}, {self.get_role_display()} at {self.location}"


SIZE_CHOICES = [
    (Decimal("0.50"), '1/2"'),
    (Decimal("0.75"), '3/4"'),
    (Decimal("1.00"), '1"'),
    (Decimal("1.25"), '1-1/4"'),
    (Decimal("1.50"), '1-1/2"'),
    (Decimal("2.00"), '2"'),
    (Decimal("2.50"), '2-1/2"'),
    (Decimal("3.00"), '3"'),
    (Decimal("4.00"), '4"'),
    (Decimal("6.00"), '6"'),
    (Decimal("8.00"), '8"'),
    (Decimal("10.00"), '10"'),
    (Decimal("12.00"), '12"'),
]


class Assembly(models.Model):
    """A backflow prevention assembly installed at a location."""

    serial_number = models.CharField(_("serial number"), max_length=60, db_index=True)
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="assemblies", verbose_name=_("location")
    )
    assembly_type = models.CharField(
        _("type"), max_length=4, choices=AssemblyType.choices, db_index=True
    )
    size = models.DecimalField(
        _("size (inches)"), max_digits=5, decimal_places=2, choices=SIZE_CHOICES, db_index=True
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    model_number = models.CharField(_("model"), max_length=100, blank=True)
    placement = models.CharField(
        _("placement"), max_length=200, blank=True, help_text=_('e.g. "basement mech room"')
    )
    hazard = models.CharField(_("hazard"), max_length=12, choices=Hazard.choices, db_index=True)
    service_type = models.CharField(
        _("service type"), max_length=12, choices=ServiceType.choices, db_index=True
    )
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AssemblyStatus.choices,
        default=AssemblyStatus.ACTIVE,
        db_index=True,
    )
    last_tested_on = models.DateField(_("last tested on"), null=True, blank=True, db_index=True)
    last_test_result = models.CharField(
        _("last test result"),
        max_length=4,
        choices=TestResult.choices,
        default=TestResult.NONE,
        db_index=True,
    )
    test_frequency_months = models.PositiveSmallIntegerField(
        _("test frequency (months)"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    next_test_due = models.DateField(
        _("next test due"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Left empty, it is the last test date plus the test frequency."),
    )

    # Empty for assemblies that were in the register before this was recorded (migration
    # 0005): the "assembly added" trigger must not treat the whole register as new.
    created_at = models.DateTimeField(
        _("added"), default=timezone.now, null=True, blank=True, editable=False, db_index=True
    )
    # The latest notice about this assembly (batch, automatic or Create Log), kept by the
    # paths that make notices so the listing can show and filter it without a join.
    last_notice = models.ForeignKey(
        "wagtail_batchcomms.Communication",
        verbose_name=_("last notice"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_notice_at = models.DateTimeField(_("last notice"), null=True, blank=True, db_index=True)

    objects = AssemblyQuerySet.as_manager()

    class Meta:
        ordering = ["serial_number"]
        verbose_name = _("assembly")
        verbose_name_plural = _("assemblies")
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "serial_number"], name="batchcomms_assembly_serial_unique"
            ),
            models.CheckConstraint(
                condition=Q(last_tested_on__isnull=False) | Q(last_test_result="none"),
                name="batchcomms_assembly_result_needs_test_date",
                violation_error_message=_("A test result needs the date of the test."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_test_due"], name="batchcomms_asm_status_due"),
            models.Index(fields=["location", "status"], name="batchcomms_asm_location_status"),
        ]

    def __str__(self) -> str:
        return f"{self.assembly_type} {self.serial_number}"

    def save(self, *args, **kwargs) -> None:
        if self.next_test_due is None and self.last_tested_on is not None:
            self.next_test_due = self.due_after(self.last_tested_on, self.test_frequency_months)
        super().save(*args, **kwargs)

    @staticmethod
    def due_after(tested_on: datetime.date | None, months: int) -> datetime.date | None:
        if tested_on is None:
            return None
        return tested_on + relativedelta(months=months)

    def clean(self) -> None:
        errors = {}
        if self.last_test_result != TestResult.NONE and not self.last_tested_on:
            errors["last_tested_on"] = _("Enter the date of the test that gave this result.")
        today = timezone.localdate()
        if self.last_tested_on and self.last_tested_on > today:
            errors["last_tested_on"] = _("The last test cannot be in the future.")
        if self.installed_on and self.installed_on > today:
            errors["installed_on"] = _("The installation date cannot be in the future.")
        if self.installed_on and self.last_tested_on and self.last_tested_on < self.installed_on:
            errors["last_tested_on"] = _("The last test cannot be before the installation.")
        if self.next_test_due and self.last_tested_on and self.next_test_due < self.last_tested_on:
            errors["next_test_due"] = _("The next test cannot be due before the last test.")
        if errors:
            raise ValidationError(errors)

    @property
    def size_label(self) -> str:
        return dict(SIZE_CHOICES).get(self.size, f'{self.size}"')

    def get_admin_url(self) -> str:
        return reverse("wagtailsnippets_wagtail_batchcomms_assembly:edit", args=[self.pk])

    @property
    def compliance_label(self) -> str:
        """The compliance status's label; needs ``with_compliance()`` on the queryset."""
        status = getattr(self, "compliance_status", None)
        if status is None:
            return ""
        return str(ComplianceStatus(status).label)
