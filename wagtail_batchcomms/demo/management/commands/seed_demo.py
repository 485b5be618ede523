"""``manage.py seed_demo``: the demo register of Riverbend, its groups and notice templates.

Logins with known passwords only with ``--create-logins``, and only on a ``DEBUG`` site.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from wagtail_batchcomms.demo.accounts import DEMO_USERS, EDITORS, ORG_ADMINS
from wagtail_batchcomms.demo.seeding import DemoSeedMismatch, seed_demo


def known_logins(superuser: bool) -> str:
    logins = ", ".join(f"{name} / {spec[0]}" for name, spec in DEMO_USERS.items())
    if superuser:
        logins += ", admin / admin (superuser)"
    return logins


class Command(BaseCommand):
    help = (
        "Seed a realistic, deterministic demo register (service areas, locations, contacts, "
        "assemblies), the letterhead, the demo groups and two published notice templates. "
        "Creates no users unless --create-logins is given (a development site with DEBUG on "
        f"only): then also the logins {known_logins(False)}. Safe to run again: with the same "
        "arguments it adds nothing; with a bigger --assemblies it tops the register up to what "
        "a fresh seed of that size holds; a smaller one removes nothing."
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
            "--create-logins",
            action="store_true",
            help=(
                f"also create the demo logins with known passwords ({known_logins(False)}); "
                "refused unless settings.DEBUG is on"
            ),
        )
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="with --create-logins, also create the superuser admin / admin",
        )

    def handle(self, *args, assemblies, seed, today, create_logins, superuser, **options):
        if assemblies < 0:
            raise CommandError("--assemblies must be 0 or more.")
        if superuser and not create_logins:
            raise CommandError(
                "--superuser creates a login with a known password: it needs --create-logins."
            )
        if create_logins and not settings.DEBUG:
            raise CommandError(
                "--create-logins is refused because DEBUG is off: it creates logins with "
                f"known passwords ({known_logins(superuser)}), which must never exist on a "
                "site others can reach. Run it on a development site with DEBUG = True, or "
                "seed without --create-logins and give your own users the demo groups."
            )
        try:
            result = seed_demo(
                assemblies=assemblies,
                seed=seed,
                today=today,
                create_logins=create_logins,
                superuser=superuser,
            )
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
        if create_logins:
            self.stdout.write(f"Logins: {known_logins(superuser)}.")
        else:
            self.stdout.write(
                f'No users created: put your own users in the groups "{ORG_ADMINS}" or '
                f'"{EDITORS}", or run again with --create-logins on a development site '
                "(DEBUG on) for the demo logins."
            )
