"""Which assemblies a Communication Type newly applies to on a day, as one queryset.

``applying(ctype, today=...)`` is set-based: the type's scope (the Assemblies listing's own
FilterSet and search, ``register.working_list.assemblies_from_filter_query``), the trigger
as comparisons on indexed columns, and ``NOT EXISTS`` on the claim's unique index for "not
claimed yet in this cycle". No Python runs per assembly; the run inserts the queryset's rows
with one ``INSERT ... SELECT`` and the preview counts them.

The due cycle (``cycle``, annotated) is what "at most once" is counted in:

* ``BEFORE_DUE``: ``next_test_due - days <= today < next_test_due``; cycle = next_test_due.
  A day the run missed is still inside the window, so catching up is natural; once the date
  has passed it is no longer a "before" notice.
* ``AFTER_DUE``: ``today >= next_test_due + days``; cycle = next_test_due. A recorded test
  moves ``next_test_due``, which starts a new cycle that is by then not overdue.
* ``FAILED_TEST``: last result is a fail and ``today - days <= last_tested_on <= today``;
  cycle = last_tested_on (a new failed test is a new cycle).
* ``ASSEMBLY_ADDED``: ``created_at`` on one of the last ``days`` local days or today;
  cycle = ``ONCE_CYCLE`` (once in an assembly's life).

Escalation (``requires_type``): additionally a claim of the earlier type for the SAME
assembly and SAME cycle, made on a local day at least ``requires_days`` before ``today``,
and the assembly still not compliant. "Not compliant" is ``ComplianceStatus``'s failed
test, overdue or never tested, or due inside the window the trigger targets. For the
date triggers and the failed-test trigger the trigger's own condition already implies it
(a due date inside the before-window or past, in a cycle no test has ended; a failing last
result), so no second condition is added; for ``ASSEMBLY_ADDED`` (no date window) it is the
explicit failed/overdue/never-tested condition. Escalating across cycle kinds (a due-date
type after a failed-test type) could never match, because the cycles differ: ``cycle_kind``
names a trigger's kind and the type form refuses such an escalation.
"""

from __future__ import annotations

import datetime

from django.db.models import DateField, Exists, F, OuterRef, Q, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from ..exceptions import BatchActionError, RuleError
from ..models import (
    Assembly,
    AssemblyStatus,
    AutomaticNotice,
    CommunicationType,
    ComplianceStatus,
    TestResult,
    Trigger,
)
from ..models.rules import ONCE_CYCLE
from ..register.working_list import assemblies_from_filter_query

ONCE = datetime.date.fromisoformat(ONCE_CYCLE)

#: The kind of cycle a trigger counts "at most once" in (see the module doc): an escalation
#: only ever matches a claim of an earlier type whose trigger has the same kind of cycle.
CYCLE_KINDS = {
    Trigger.BEFORE_DUE: "due",
    Trigger.AFTER_DUE: "due",
    Trigger.FAILED_TEST: "failed_test",
    Trigger.ASSEMBLY_ADDED: "once",
}


def cycle_kind(trigger: str) -> str:
    """``"due"``, ``"failed_test"`` or ``"once"``: what a trigger's cycle is."""
    return CYCLE_KINDS[Trigger(trigger)]


def start_of_day(day: datetime.date) -> datetime.datetime:
    """Midnight starting ``day`` in the site's time zone (``settings.TIME_ZONE``)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def scoped(ctype: CommunicationType) -> QuerySet[Assembly]:
    """The type's scope: the Assemblies listing's filters (its saved query string).

    Raises ``RuleError`` naming the type when the scope no longer validates (e.g. a service
    area it names was deleted).
    """
    try:
        return assemblies_from_filter_query(ctype.scope or "")
    except BatchActionError as error:
        raise RuleError(
            _("The scope of '%(type)s' is not valid: %(error)s") % {"type": ctype, "error": error}
        ) from error


def _trigger(ctype: CommunicationType, today: datetime.date) -> tuple[Q, object]:
    """(condition, cycle expression) of the type's trigger."""
    days = datetime.timedelta(days=ctype.days)
    if ctype.trigger == Trigger.BEFORE_DUE:
        return Q(next_test_due__gt=today, next_test_due__lte=today + days), F("next_test_due")
    if ctype.trigger == Trigger.AFTER_DUE:
        return Q(next_test_due__lte=today - days), F("next_test_due")
    if ctype.trigger == Trigger.FAILED_TEST:
        condition = Q(
            last_test_result=TestResult.FAIL,
            last_tested_on__gte=today - days,
            last_tested_on__lte=today,
        )
        return condition, F("last_tested_on")
    if ctype.trigger == Trigger.ASSEMBLY_ADDED:
        condition = Q(
            created_at__gte=start_of_day(today - days),
            created_at__lt=start_of_day(today + datetime.timedelta(days=1)),
        )
        return condition, Value(ONCE, output_field=DateField())
    raise RuleError(_("Unknown trigger: %(trigger)s") % {"trigger": ctype.trigger})


def _not_compliant(ctype: CommunicationType, today: datetime.date) -> Q:
    """The escalation's "still not compliant" beyond what the trigger implies (module doc)."""
    if ctype.trigger != Trigger.ASSEMBLY_ADDED:
        return Q()
    return (
        ComplianceStatus.condition(ComplianceStatus.FAILED_TEST, today)
        | ComplianceStatus.condition(ComplianceStatus.OVERDUE, today)
        | ComplianceStatus.condition(ComplianceStatus.NEVER_TESTED, today)
    )


def applying(ctype: CommunicationType, *, today: datetime.date) -> QuerySet[Assembly]:
    """The active assemblies (at active locations) in the type's scope that the type newly
    applies to on ``today``, annotated with ``cycle`` (a date); see the module doc.

    Raises ``RuleError`` for a scope that no longer validates. Ordered by nothing (callers
    that list order it themselves).
    """
    condition, cycle = _trigger(ctype, today)
    assemblies = (
        scoped(ctype)
        .filter(status=AssemblyStatus.ACTIVE, location__is_active=True)
        .filter(condition)
        .annotate(cycle=cycle)
    )
    claimed = AutomaticNotice.objects.filter(
        communication_type_id=ctype.pk, assembly_id=OuterRef("pk"), cycle=OuterRef("cycle")
    )
    assemblies = assemblies.filter(~Exists(claimed))
    if ctype.requires_type_id:
        cutoff = start_of_day(today - datetime.timedelta(days=ctype.requires_days - 1))
        earlier = AutomaticNotice.objects.filter(
            communication_type_id=ctype.requires_type_id,
            assembly_id=OuterRef("pk"),
            cycle=OuterRef("cycle"),
            created_at__lt=cutoff,
        )
        assemblies = assemblies.filter(Exists(earlier)).filter(_not_compliant(ctype, today))
    return assemblies.order_by()
