"""The assemblies' compliance questions, asked in the database so they filter and sort
(``AssemblyQuerySet``; the rules themselves are ``ComplianceStatus.condition``)."""

from __future__ import annotations

import datetime

from django.db import models
from django.db.models import Case, CharField, IntegerField, Q, Value, When

from .choices import (
    ComplianceStatus,
)


class AssemblyQuerySet(models.QuerySet):
    def with_compliance(self, today: datetime.date | None = None) -> AssemblyQuerySet:
        """Annotate ``compliance_status`` (a ``ComplianceStatus`` value) and ``compliance_rank``.

        The rules, in order: not active -> inactive; never tested -> never_tested; last test
        failed -> failed_test (until a passing test); next test due before today (or
        unknown) -> overdue; then due within 30, 60 or 90 days; otherwise compliant. Day 30
        counts as "within 30 days", day 31 as "31 to 60". ``ComplianceStatus.condition``
        says why a failed test comes before the dates.
        """
        whens = [
            (status, ComplianceStatus.condition(status, today))
            for status in (
                ComplianceStatus.INACTIVE,
                ComplianceStatus.NEVER_TESTED,
                ComplianceStatus.FAILED_TEST,
                ComplianceStatus.OVERDUE,
                ComplianceStatus.DUE_30,
                ComplianceStatus.DUE_60,
                ComplianceStatus.DUE_90,
            )
        ]
        status_case = Case(
            *[When(condition, then=Value(status.value)) for status, condition in whens],
            default=Value(ComplianceStatus.COMPLIANT.value),
            output_field=CharField(),
        )
        rank_case = Case(
            *[
                When(condition, then=Value(ComplianceStatus.rank(status)))
                for status, condition in whens
            ],
            default=Value(ComplianceStatus.rank(ComplianceStatus.COMPLIANT)),
            output_field=IntegerField(),
        )
        return self.annotate(compliance_status=status_case, compliance_rank=rank_case)

    def in_compliance_status(self, *statuses: str, today: datetime.date | None = None):
        condition = Q()
        for status in statuses:
            condition |= ComplianceStatus.condition(status, today)
        return self.filter(condition)
