"""Choice lists shared by the models, services and filters."""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PropertyType(models.TextChoices):
    RESIDENTIAL = "residential", _("Residential")
    COMMERCIAL = "commercial", _("Commercial")
    INDUSTRIAL = "industrial", _("Industrial")
    MULTI_FAMILY = "multi_family", _("Multi-family")
    INSTITUTIONAL = "institutional", _("Institutional")
    IRRIGATION = "irrigation", _("Irrigation only")


class ContactRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    TENANT = "tenant", _("Tenant")
    PROPERTY_MANAGER = "property_manager", _("Property manager")
    BILLING = "billing", _("Billing")
    SITE_CONTACT = "site_contact", _("Site contact")
    TESTER = "tester", _("Tester")


class AssemblyType(models.TextChoices):
    RP = "RP", _("RP: reduced pressure principle")
    RPDA = "RPDA", _("RPDA: reduced pressure detector assembly")
    DC = "DC", _("DC: double check valve")
    DCDA = "DCDA", _("DCDA: double check detector assembly")
    PVB = "PVB", _("PVB: pressure vacuum breaker")
    SVB = "SVB", _("SVB: spill-resistant vacuum breaker")
    AVB = "AVB", _("AVB: atmospheric vacuum breaker")
    AG = "AG", _("AG: air gap")


class Hazard(models.TextChoices):
    HEALTH = "health", _("Health hazard")
    NON_HEALTH = "non_health", _("Non-health hazard")


class ServiceType(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic")
    FIRE = "fire", _("Fire")
    IRRIGATION = "irrigation", _("Irrigation")
    PROCESS = "process", _("Process")


class AssemblyStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")
    REMOVED = "removed", _("Removed")


class TestResult(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    NONE = "none", _("No result")


class ComplianceStatus(models.TextChoices):
    """Where an assembly stands against its test due date, computed in the database.

    The order is the listing's sort order (``rank``): the most urgent first.
    """

    # Its last test failed: it does not protect the supply until it is repaired and passes
    # a test. First, before overdue, because a known failure is worse than a lapsed date.
    FAILED_TEST = "failed_test", _("Failed last test")
    OVERDUE = "overdue", _("Overdue")
    DUE_30 = "due_30", _("Due within 30 days")
    DUE_60 = "due_60", _("Due in 31 to 60 days")
    DUE_90 = "due_90", _("Due in 61 to 90 days")
    COMPLIANT = "compliant", _("Compliant")
    NEVER_TESTED = "never_tested", _("Never tested")
    INACTIVE = "inactive", _("Inactive")

    @classmethod
    def rank(cls, value: str) -> int:
        return [choice.value for choice in cls].index(value)

    @classmethod
    def condition(cls, value: str, today: datetime.date | None = None) -> Q:
        """A ``Q`` on indexed columns that selects the assemblies in status ``value``.

        The same rules as ``AssemblyQuerySet.with_compliance()`` but written as plain
        comparisons, so that a filter on compliance status can use the indexes.
        """
        today = today or timezone.localdate()
        active = Q(status=AssemblyStatus.ACTIVE)
        ever_tested = active & Q(last_tested_on__isnull=False)
        # Precedence: inactive, never tested, failed test, then the dates. A failed test
        # makes the assembly non-compliant whatever its due date (a fresh test sets the date
        # a year ahead, so by the dates alone it would look compliant); only a passing test,
        # which replaces last_test_result, ends it. It beats overdue too: the admin's action
        # is repair and retest, and the retest also clears the overdue date. Never tested
        # cannot have failed (a result needs a test date: a check constraint), and an
        # inactive assembly is out of service, so neither overlaps it. The other results
        # are listed (not "!= fail") so each branch stays an IN list on indexed columns.
        failed = ever_tested & Q(last_test_result=TestResult.FAIL)
        tested = ever_tested & Q(
            last_test_result__in=[r for r in TestResult.values if r != TestResult.FAIL]
        )
        days = datetime.timedelta
        # Written so that each branch can use the (status, next_test_due) index: "not active"
        # as an IN list, and overdue as two ANDed branches rather than an AND around an OR.
        conditions = {
            cls.INACTIVE: Q(status__in=[s for s in AssemblyStatus.values if s != "active"]),
            cls.NEVER_TESTED: active & Q(last_tested_on__isnull=True),
            cls.FAILED_TEST: failed,
            cls.OVERDUE: (tested & Q(next_test_due__lt=today))
            | (tested & Q(next_test_due__isnull=True)),
            cls.DUE_30: tested & Q(next_test_due__gte=today, next_test_due__lte=today + days(30)),
            cls.DUE_60: tested
            & Q(next_test_due__gt=today + days(30), next_test_due__lte=today + days(60)),
            cls.DUE_90: tested
            & Q(next_test_due__gt=today + days(60), next_test_due__lte=today + days(90)),
            cls.COMPLIANT: tested & Q(next_test_due__gt=today + days(90)),
        }
        return conditions[cls(value)]


class ContactMethods(models.TextChoices):
    EMAIL = "email", _("Email only")
    LETTER = "letter", _("Letter only")
    BOTH = "both", _("Email and letter")


class Grouping(models.TextChoices):
    LOCATION = "location", _("One notice per location, listing its assemblies")
    ASSEMBLY = "assembly", _("One notice per assembly")


class BatchStatus(models.TextChoices):
    """The states of the user's document, in its order."""

    OPEN = "open", _("Open")
    GENERATING = "generating", _("Generating")
    GENERATED = "generated", _("Generated")
    PARTIALLY_SENT = "partially_sent", _("Partially sent")
    COMPLETE = "complete", _("Complete")
    ARCHIVED = "archived", _("Archived")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")


class CommunicationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Claimed by a worker that died before it could record the outcome: the message may or
    # may not have left. Never re-sent without an admin's explicit retry.
    UNKNOWN = "unknown", _("Delivery unknown")


class DeliveryStatus(models.TextChoices):
    """The latest a provider reported about delivering an email after taking it (tracking
    webhooks): anymail's normalised event types that say where the email got. Engagement
    events (opened, clicked) are kept as events but do not change this."""

    DELIVERED = "delivered", _("Delivered")
    DEFERRED = "deferred", _("Deferred")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Marked as spam")
    REJECTED = "rejected", _("Rejected by the provider")
    FAILED = "failed", _("Failed at the provider")


class SkipReason(models.TextChoices):
    INACTIVE_LOCATION = "inactive_location", _("Location is inactive")
    # The contact's mailing address is flagged as bad (letters came back) and no other way to
    # reach them is allowed: see ``Contact.mailing_address_bad_since``.
    BAD_ADDRESS = "bad_address", _("Mailing address flagged as bad (returned mail)")
    # The contact's email bounced for good (a provider's tracking webhook) and letters are not
    # allowed: see ``Contact.email_bounced_since``.
    EMAIL_BOUNCED = "email_bounced", _("Email address bounced")
    NO_CONTACT = "no_contact", _("No contact with the template's roles")
    NO_EMAIL = "no_email", _("No email address, and letters are not allowed")
    NO_ADDRESS = "no_address", _("No mailing address, and email is not allowed or not available")


class DownloadStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RENDERING = "rendering", _("Rendering")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    # Its letters' notices were removed when the batch was completed or archived (they were
    # never marked as mailed): printing it would send letters that leave no record.
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Trigger(models.TextChoices):
    """When a Communication Type applies to an assembly (``CommunicationType.trigger``)."""

    BEFORE_DUE = "before_due", _("Days before the next test is due")
    AFTER_DUE = "after_due", _("Days after the next test was due (overdue)")
    FAILED_TEST = "failed_test", _("A failed test is recorded")
    ASSEMBLY_ADDED = "assembly_added", _("An assembly is added to the register")


class RunMode(models.TextChoices):
    """What the daily run does with a type's notices once generated."""

    AUTOMATIC = "automatic", _("Send automatically")
    REVIEW = "review", _("Hold for review")


class RuleRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    FINISHED = "finished", _("Finished")
    FAILED = "failed", _("Failed")


class LogKind(models.TextChoices):
    """What a one-time communication (Create Log) was."""

    PHONE = "phone", _("Phone call")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    SITE_VISIT = "site_visit", _("Site visit")
    NOTE = "note", _("Note")


class ImportStatus(models.TextChoices):
    """An import of the register: uploaded, mapped and checked (the dry run), then imported."""

    UPLOADED = "uploaded", _("Uploaded")
    CHECKING = "checking", _("Checking")
    CHECKED = "checked", _("Checked")
    IMPORTING = "importing", _("Importing")
    IMPORTED = "imported", _("Imported")
    FAILED = "failed", _("Failed")


class ExportStatus(models.TextChoices):
    """A listing export written in the background: queued, being written, ready to download
    (until it expires), or failed."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Writing")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
