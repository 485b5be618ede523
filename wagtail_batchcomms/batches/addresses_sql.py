"""Where a letter can go, as SQL over aliases ``c`` (the contact) and ``l`` (the location).

A letter goes to the contact's mailing address when it is complete (line 1, city and postal
code), else to the location's service address.

**Returned mail** (``Contact.mailing_address_bad_since`` set: a letter came back and an admin
flagged the address): a flagged contact's mailing address is treated as
missing, with one more condition, because the address letters went to is what came back:

- flagged, with a complete mailing address of its own: the letter goes to the location's
  service address, but only if the location has one and it *differs* from the flagged
  mailing address (line 1, line 2, city and postal code, compared trimmed and
  case-insensitively); if they are the same address, no letter;
- flagged, without a mailing address of its own: letters went to the location's address and
  came back from it, so no letter.

When no letter is possible the contact still gets an email wherever the template allows
email and the contact can receive it (contact methods "email" or "both"; with "first
available only" an emailable contact gets the email anyway). A target (location, or
assembly with per-assembly grouping) that then gets nothing from anyone, while a letter was
allowed and one of its contacts with the template's roles is flagged, is reported as skipped
with ``SkipReason.BAD_ADDRESS`` (before "no address"/"no email"). An email-only template
ignores the flag. The dry run (``preview_counts``) uses the same conditions.
"""

from __future__ import annotations

CONTACT_HAS_ADDRESS = (
    "(c.mailing_address_line1 <> '' AND c.mailing_city <> '' AND c.mailing_postal_code <> '')"
)
LOCATION_HAS_ADDRESS = "(l.address_line1 <> '' AND l.city <> '' AND l.postal_code <> '')"
CONTACT_FLAGGED = "(c.mailing_address_bad_since IS NOT NULL)"
#: The contact's own mailing address, when it can be used (complete and not flagged).
CONTACT_ADDRESS_GOOD = f"({CONTACT_HAS_ADDRESS} AND NOT {CONTACT_FLAGGED})"


def _same(field: str) -> str:
    return f"UPPER(TRIM(l.{field})) = UPPER(TRIM(c.mailing_{field}))"


#: The location's address is another address than the contact's (flagged) mailing address.
LOCATION_DIFFERS = (
    f"NOT ({_same('address_line1')} AND {_same('address_line2')} AND {_same('city')} "
    f"AND {_same('postal_code')})"
)
#: Where a letter can go: the contact's good mailing address, else the location's address
#: (for a flagged contact only when it is another address than the flagged one).
LETTER_POSSIBLE = (
    f"({CONTACT_ADDRESS_GOOD} OR (NOT {CONTACT_FLAGGED} AND {LOCATION_HAS_ADDRESS}) "
    f"OR ({CONTACT_FLAGGED} AND {CONTACT_HAS_ADDRESS} AND {LOCATION_HAS_ADDRESS} "
    f"AND {LOCATION_DIFFERS}))"
)


def letter_address(field: str) -> str:
    """The letter's ``field`` (``address_line1``, ``city``, ...): the contact's good mailing
    address, else the location's (``LETTER_POSSIBLE`` decides whether there is a letter)."""
    return f"CASE WHEN {CONTACT_ADDRESS_GOOD} THEN c.mailing_{field} ELSE l.{field} END"
