"""``manage.py seed_demo``: the demo register of Riverbend, its logins and notice templates."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError

from ...services.demo import DemoSeedMismatch, seed_demo
from ...services.demo_accounts import DEMO_USERS


class Command(BaseCommand):
    help = (
        "Seed a realistic, deterministic demo register (service areas, locations, contacts, "
        "assemblies), the demo logins and two published notice templates. Safe to run again: "
        "with the same arguments it adds nothing; with a bigger --assemblies it tops the "
        "register up to what a fresh seed of that size holds; a smaller one removes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--assemblies", type=int, default=5000, help="default: 5000")
        parser.add_argument("--seed", type=int, default=1, help="default: 1")
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="YYYY-MM-DD the test dates are spread around (default: today)",
        )
        parser.add_argument(
            "--superuser", action="store_true", help="also create the superuser admin / admin"
        )

    def handle(self, *args, assemblies, seed, today, superuser, **options):
        if assemblies < 0:
            raise CommandError("--assemblies must be 0 or more.")
        try:
            result = seed_demo(assemblies=assemblies, seed=seed, today=today, superuser=superuser)
        except DemoSeedMismatch as error:
            raise CommandError(str(error)) from error
        totals = ", ".join(f"{count:,} {name}" for name, count in result.totals.items())
        if result.already_seeded:
            self.stdout.write(
                f"The register is already seeded (seed {seed}, {assemblies:,} assemblies "
                f"asked for): nothing to add. It holds {totals}. ({result.seconds:.1f} s)"
            )
        else:
            made = ", ".join(f"{count:,} {name}" for name, count in result.created.items())
            message = f"Seeded in {result.seconds:.1f} s (seed {seed}): created {made}."
            self.stdout.write(self.style.SUCCESS(message))
            self.stdout.write(f"The register now holds {totals}.")
        logins = ", ".join(f"{name} / {spec[0]}" for name, spec in DEMO_USERS.items())
        if superuser:
            logins += ", admin / admin (superuser)"
        self.stdout.write(f"Logins: {logins}.")
