# Table names come from the models' Meta (quoted); every value is a query parameter.
# ruff: noqa: S608
"""The SQL of generation: a template's contact rules as set-based statements.

One ``INSERT ... SELECT`` per chunk of locations (``insert_chunk``), one for the skipped
report (``insert_skipped``) and the same joins as counts for the dry run
(``preview_counts``). The plan is a chain of index lookups from the working list (location,
its contacts with the template's roles, the contact), so it stays linear at any size.
Every insert is ``ON CONFLICT DO NOTHING`` against ``Communication``'s unique constraints,
so running a chunk again adds nothing.

Where letters go, and what a contact flagged for returned mail gets instead, is decided by
the address conditions of ``addresses_sql`` (its docstring states the rules). A contact whose
email bounced for good (``Contact.email_bounced_since``, set by ``emails.tracking``) counts as
having no email: a letter where the template allows one, else the target is skipped with
``SkipReason.EMAIL_BOUNCED``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from ..models import (
    BatchAssembly,
    Channel,
    Communication,
    CommunicationStatus,
    Contact,
    Location,
    LocationContact,
    SkippedRecipient,
    SkipReason,
)
from .addresses_sql import LETTER_POSSIBLE, letter_address
from .contact_rules import ROLE_ORDER, ContactRules


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class _SQL:
    """Text and parameters, appended in order (parameters follow the text they belong to)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list = []

    def add(self, text: str, *params) -> _SQL:
        self.parts.append(text)
        self.params.extend(params)
        return self

    def text(self) -> str:
        return " ".join(self.parts)


def _in_list(values) -> str:
    return "(" + ", ".join(["%s"] * len(values)) + ")"


def _range(sql: _SQL, column: str, lo: int | None, hi: int | None) -> None:
    if lo is not None:
        sql.add(f"AND {column} >= %s", lo)
    if hi is not None:
        sql.add(f"AND {column} < %s", hi)


def _can_email(sql: _SQL) -> None:
    # A hard-bounced email (``Contact.email_bounced_since``) is unusable, like none at all.
    sql.add("(c.email <> '' AND c.prefers_paper = %s AND c.email_bounced_since IS NULL)", False)


def _channel_condition(sql: _SQL, rules: ContactRules, channel: str | None = "ch.channel") -> None:
    """Which (contact, channel) pairs the rules allow, over aliases c and l.

    With ``channel=None``: whether the contact gets anything at all (the dry run's skip test).
    """
    sql.add("(")
    if rules.email:
        sql.add("(")
        if channel:
            sql.add(f"{channel} = %s AND", Channel.EMAIL.value)
        _can_email(sql)
        sql.add(")")
    if rules.letter:
        if rules.email:
            sql.add("OR")
        sql.add("(")
        if channel:
            sql.add(f"{channel} = %s AND", Channel.LETTER.value)
        sql.add(LETTER_POSSIBLE)
        if rules.first_available:
            sql.add("AND NOT")
            _can_email(sql)
        sql.add(")")
    sql.add(")")


@dataclass(frozen=True)
class AssemblySet:
    """Assemblies as SQL selecting ``id`` and ``location_id``, for ``preview_counts``."""

    sql: str
    params: tuple = ()


Source = int | AssemblySet  # a batch's working list (its id), or an AssemblySet


def _targets(sql: _SQL, batch_id: Source, rules: ContactRules, lo=None, hi=None) -> None:
    """One row per notice target: a location of the working list, or each batch assembly."""
    if isinstance(batch_id, AssemblySet):
        head = "s.location_id, s.id assembly_id" if rules.per_assembly else "DISTINCT s.location_id"
        sql.add(f"(SELECT {head} FROM ({batch_id.sql}) s) t", *batch_id.params)  # no ranges
        return
    ba = _table(BatchAssembly)
    if rules.per_assembly:
        sql.add(
            f"(SELECT ba.location_id, ba.assembly_id FROM {ba} ba WHERE ba.batch_id = %s", batch_id
        )
    else:
        sql.add(f"(SELECT DISTINCT ba.location_id FROM {ba} ba WHERE ba.batch_id = %s", batch_id)
    _range(sql, "ba.location_id", lo, hi)
    sql.add(") t")


def _role_filter(sql: _SQL, rules: ContactRules, alias: str) -> None:
    if not rules.roles:
        sql.add("AND 1 = 0")
        return
    sql.add(f"AND {alias}.role IN {_in_list(rules.roles)}", *rules.roles)
    if rules.primary_only:
        sql.add(f"AND {alias}.is_primary = %s", True)


def _rank(alias: str) -> tuple[str, list[str]]:
    """A role's position in ``ContactRole`` order, as SQL."""
    whens = " ".join(f"WHEN %s THEN {i}" for i in range(len(ROLE_ORDER)))
    return f"(CASE {alias}.role {whens} END)", list(ROLE_ORDER)


def _recipient_rows(sql: _SQL, batch_id: Source, rules: ContactRules, lo=None, hi=None) -> None:
    """``FROM ... WHERE ...``: one row per (target, contact, channel) the rules produce.

    A contact holding several of the template's roles at a location is one recipient, under
    its first role in ``ContactRole`` order (a ``NOT EXISTS`` on a better role, which keeps
    the plan a chain of index lookups; no grouping). Inactive locations produce nothing.
    """
    lc = _table(LocationContact)
    sql.add("FROM")
    _targets(sql, batch_id, rules, lo, hi)
    sql.add(f"JOIN {_table(Location)} l ON l.id = t.location_id")
    sql.add(f"JOIN {lc} lc ON lc.location_id = t.location_id")
    _role_filter(sql, rules, "lc")
    sql.add(f"JOIN {_table(Contact)} c ON c.id = lc.contact_id")
    channels = [
        c.value for c, on in ((Channel.EMAIL, rules.email), (Channel.LETTER, rules.letter)) if on
    ]
    sql.add(
        "CROSS JOIN (" + " UNION ALL ".join("SELECT %s AS channel" for _ in channels) + ") ch",
        *channels,
    )
    sql.add("WHERE l.is_active = %s AND", True)
    _channel_condition(sql, rules)
    if len(rules.roles) > 1:
        better, better_params = _rank("better")
        mine, mine_params = _rank("lc")
        sql.add(
            f"AND NOT EXISTS (SELECT 1 FROM {lc} better WHERE better.location_id = lc.location_id "
            "AND better.contact_id = lc.contact_id"
        )
        _role_filter(sql, rules, "better")
        sql.add(f"AND {better} < {mine})", *better_params, *mine_params)


def _insert_sql(batch_id: int, rules: ContactRules, lo=None, hi=None, conflict=True) -> _SQL:
    """``INSERT INTO communication ... SELECT ... ON CONFLICT DO NOTHING`` for one range
    (without ``ON CONFLICT`` when ``conflict`` is false)."""
    mapped: dict[str, tuple[str, list]] = {
        "batch_id": ("%s", [batch_id]),
        "location_id": ("t.location_id", []),
        "assembly_id": ("t.assembly_id" if rules.per_assembly else "NULL", []),
        "contact_id": ("c.id", []),
        "role": ("lc.role", []),
        "channel": ("ch.channel", []),
        "status": ("%s", [CommunicationStatus.PENDING.value]),
        "recipient_name": ("c.name", []),
        "recipient_organisation": ("c.organisation", []),
        "email": ("c.email", []),
        "address_line1": (letter_address("address_line1"), []),
        "address_line2": (letter_address("address_line2"), []),
        "city": (letter_address("city"), []),
        "state": (letter_address("state"), []),
        "postal_code": (letter_address("postal_code"), []),
        "created_at": ("%s", [timezone.now()]),
    }
    columns: list[str] = []
    select = _SQL()
    for model_field in Communication._meta.concrete_fields:
        if model_field.primary_key:
            continue
        if model_field.attname in mapped:
            expression, params = mapped[model_field.attname]
        elif model_field.null:
            continue
        else:
            # Columns added later (by another feature) get their model default, so this
            # statement keeps working without knowing them.
            expression = "%s"
            params = [model_field.get_db_prep_save(model_field.get_default(), connection)]
        columns.append(connection.ops.quote_name(model_field.column))
        select.add(expression + ",", *params)
    select.parts[-1] = select.parts[-1].rstrip(",")
    sql = _SQL().add(f"INSERT INTO {_table(Communication)} ({', '.join(columns)}) SELECT")
    sql.add(select.text(), *select.params)
    _recipient_rows(sql, batch_id, rules, lo, hi)
    if conflict:
        # The SELECT ends in a WHERE clause, so SQLite does not read ON CONFLICT as a join's ON.
        sql.add("ON CONFLICT DO NOTHING")
    return sql


def _skip_reason(sql: _SQL, rules: ContactRules) -> None:
    """The reason a target got nothing, as a CASE over aliases t and l."""
    fallback = SkipReason.NO_ADDRESS if rules.letter else SkipReason.NO_EMAIL
    sql.add("CASE WHEN l.is_active = %s THEN %s", False, SkipReason.INACTIVE_LOCATION.value)
    sql.add(
        f"WHEN NOT EXISTS (SELECT 1 FROM {_table(LocationContact)} lc2 "
        "WHERE lc2.location_id = t.location_id"
    )
    _role_filter(sql, rules, "lc2")
    sql.add(") THEN %s", SkipReason.NO_CONTACT.value)
    if rules.letter:
        sql.add(
            f"WHEN EXISTS (SELECT 1 FROM {_table(LocationContact)} lc4 "
            f"JOIN {_table(Contact)} c4 ON c4.id = lc4.contact_id "
            "WHERE lc4.location_id = t.location_id AND c4.mailing_address_bad_since IS NOT NULL"
        )
        _role_filter(sql, rules, "lc4")
        sql.add(") THEN %s", SkipReason.BAD_ADDRESS.value)
    if rules.email:
        sql.add(
            f"WHEN EXISTS (SELECT 1 FROM {_table(LocationContact)} lc5 "
            f"JOIN {_table(Contact)} c5 ON c5.id = lc5.contact_id "
            "WHERE lc5.location_id = t.location_id AND c5.email_bounced_since IS NOT NULL "
            "AND c5.email <> '' AND c5.prefers_paper = %s",
            False,
        )
        _role_filter(sql, rules, "lc5")
        sql.add(") THEN %s", SkipReason.EMAIL_BOUNCED.value)
    sql.add("ELSE %s END", fallback.value)


def _skipped_insert_sql(batch_id: int, rules: ContactRules) -> _SQL:
    """The skipped report: every target of the working list that got no communication."""
    sql = _SQL().add(
        f"INSERT INTO {_table(SkippedRecipient)} (batch_id, location_id, assembly_id, reason) "
        "SELECT %s, t.location_id,",
        batch_id,
    )
    sql.add("t.assembly_id," if rules.per_assembly else "NULL,")
    _skip_reason(sql, rules)
    sql.add("FROM")
    _targets(sql, batch_id, rules)
    sql.add(f"JOIN {_table(Location)} l ON l.id = t.location_id")
    sql.add(
        f"WHERE NOT EXISTS (SELECT 1 FROM {_table(Communication)} m WHERE m.batch_id = %s", batch_id
    )
    if rules.per_assembly:
        sql.add("AND m.assembly_id = t.assembly_id)")
    else:
        sql.add("AND m.location_id = t.location_id AND m.assembly_id IS NULL)")
    return sql


def chunk_bounds(batch_id: int, chunk_size: int) -> tuple[list[int], int]:
    """The first location id of every chunk of ``chunk_size`` locations, and the total."""
    ba = _table(BatchAssembly)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(DISTINCT location_id) FROM {ba} WHERE batch_id = %s", [batch_id]
        )
        total = cursor.fetchone()[0]
        if not total:
            return [], 0
        if chunk_size <= 0 or chunk_size >= total:
            return [None], total
        cursor.execute(
            "SELECT location_id FROM (SELECT location_id, "
            "ROW_NUMBER() OVER (ORDER BY location_id) AS n "
            f"FROM (SELECT DISTINCT location_id FROM {ba} WHERE batch_id = %s) d) numbered "
            "WHERE (n - 1) %% %s = 0 ORDER BY location_id",
            [batch_id, chunk_size],
        )
        return [row[0] for row in cursor.fetchall()], total


def _probe_sql(batch_id: int, lo: int | None, hi: int | None) -> _SQL:
    """One of the batch's per-location notices at locations ``lo <= id < hi``, if any (a
    probe of the per-location unique index, whose condition it repeats)."""
    sql = _SQL().add(
        f"SELECT 1 FROM {_table(Communication)} m WHERE m.batch_id = %s AND m.assembly_id IS NULL",
        batch_id,
    )
    _range(sql, "m.location_id", lo, hi)
    return sql.add("LIMIT 1")


def _range_is_empty(batch_id: int, rules: ContactRules, lo: int | None, hi: int | None) -> bool:
    """Whether the batch has no notice yet at locations ``lo <= id < hi``. Per-assembly
    grouping is not probed (answers False: its inserts keep ``ON CONFLICT``)."""
    if rules.per_assembly:
        return False
    sql = _probe_sql(batch_id, lo, hi)
    with connection.cursor() as cursor:
        cursor.execute(sql.text(), sql.params)
        return cursor.fetchone() is None


def insert_chunk(batch_id: int, rules: ContactRules, lo: int | None, hi: int | None) -> int:
    """Insert the communications of locations ``lo <= id < hi``; returns the rows added.

    Call it holding the batch's row lock, as ``generation.generate`` does: then nobody else
    inserts the batch's notices meanwhile, and a range that holds none yet (a first run) is
    filled with a plain insert. ``ON CONFLICT DO NOTHING`` costs a speculative insertion per
    row, so it is kept for a re-run or a regeneration, where rows may already be there.
    """
    fresh = _range_is_empty(batch_id, rules, lo, hi)
    sql = _insert_sql(batch_id, rules, lo, hi, conflict=not fresh)
    with connection.cursor() as cursor:
        cursor.execute(sql.text(), sql.params)
        return max(cursor.rowcount, 0)


def insert_skipped(batch_id: int, rules: ContactRules) -> int:
    """Replace the batch's skipped report; returns its size."""
    SkippedRecipient.objects.filter(batch_id=batch_id).delete()
    sql = _skipped_insert_sql(batch_id, rules)
    with connection.cursor() as cursor:
        cursor.execute(sql.text(), sql.params)
        return max(cursor.rowcount, 0)


def preview_counts(batch_id: Source, rules: ContactRules) -> tuple[dict[str, int], dict[str, int]]:
    """What generation would insert now, for a batch or an ``AssemblySet`` (a Communication
    Type's preview): (count per channel, count per skip reason).

    The same joins and conditions as the insert; the skip test asks whether any channel
    applies to any contact instead of looking for inserted rows.
    """
    channels = dict.fromkeys(Channel.values, 0)
    skipped: dict[str, int] = {}
    sql = _SQL().add("SELECT ch.channel, COUNT(*)")
    _recipient_rows(sql, batch_id, rules)
    sql.add("GROUP BY ch.channel")
    skip = _SQL().add("SELECT reason, COUNT(*) FROM (SELECT")
    _skip_reason(skip, rules)
    skip.add("AS reason FROM")
    _targets(skip, batch_id, rules)
    skip.add(f"JOIN {_table(Location)} l ON l.id = t.location_id")
    skip.add(
        f"WHERE (l.is_active = %s OR NOT EXISTS (SELECT 1 FROM {_table(LocationContact)} lc3 "
        f"JOIN {_table(Contact)} c ON c.id = lc3.contact_id WHERE lc3.location_id = t.location_id",
        False,
    )
    _role_filter(skip, rules, "lc3")
    skip.add("AND")
    _channel_condition(skip, rules, channel=None)
    skip.add("))) s GROUP BY reason")
    with connection.cursor() as cursor:
        cursor.execute(sql.text(), sql.params)
        for channel, count in cursor.fetchall():
            channels[channel] = count
        cursor.execute(skip.text(), skip.params)
        for reason, count in cursor.fetchall():
            skipped[reason] = count
    return channels, skipped


def refresh_statistics(model, columns: tuple[str, ...] = ()) -> None:
    """Let PostgreSQL's planner see the rows a batch just bulk-inserted.

    Until autovacuum gets round to it, the statistics say these tables hold what they held
    before the batch (often nothing), and the planner then picks nested loops that go
    quadratic: minutes instead of a second at 100,000 rows. ``ANALYZE`` samples a bounded
    number of rows, so it costs little at any size; given ``columns`` (the ones the next
    queries filter and join on), only theirs are computed: the communication table's rendered
    bodies made a whole-table ``ANALYZE`` four times as long (0.3-0.4 s at 100,000 notices).
    The table's row count is refreshed either way. SQLite's planner does well without
    statistics (and its ANALYZE reads whole tables), so it is left alone.
    """
    if connection.vendor != "postgresql":
        return
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_table(model)}" + (f" ({names})" if names else ""))
