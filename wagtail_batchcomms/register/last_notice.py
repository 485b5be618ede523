# Table and column names come from the models' metadata (quoted); every value is a parameter.
# ruff: noqa: S608
"""Each assembly's latest delivered notice (``Assembly.last_notice``/``last_notice_at``).

Kept by the paths that deliver notices, so the Assemblies listing shows and filters it from
the assembly's own row, with no join over every communication:

- the send loop, once per flushed group of outcomes (``touch``);
- marking letters as mailed (``touch_letters_mailed``: one statement for any number);
- Create Log, after recording a one-time communication (``touch``).

**Delivered** means: an email or letter with status *sent* (``sent_at``), or a Create Log
record without a channel (a call, a site visit, a note: it happened when it was recorded;
``occurred_at``). A log that sends an email or a letter counts once that is sent. Its time is
``occurred_at`` when set (the moment the admin said it happened), else ``sent_at``.

**Which assemblies** a communication concerns: its ``assembly`` when set (per-assembly
grouping, or a log about one assembly); else, in a batch, the batch's working-list assemblies
at its location (``BatchAssembly`` batch + location); else (a batch-less log about a
location) the location's active assemblies.

The update never moves an assembly's last notice backwards: an older notice delivered late
(a letter marked mailed a week after a newer email went) leaves the newer one in place. Ties
on time go to the higher communication id, so running it twice changes nothing.

Everything is one ``UPDATE`` per call (per chunk of ids), with the candidates as a common
table expression: no Python per row, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections

from ..models import (
    Assembly,
    AssemblyStatus,
    BatchAssembly,
    Channel,
    Communication,
    CommunicationStatus,
)

#: Ids per statement: well below SQLite's bound on parameters (32,766; 999 before 3.32).
CHUNK = 500


def _update_sql(selector: str, selector_params: list, connection) -> tuple[str, list]:
    """The one UPDATE for the delivered communications ``m`` that ``selector`` picks.

    ``selector`` is a SQL condition over alias ``m`` (the communications table), its values
    in ``selector_params``. Returns the statement and its parameters.
    """
    _q = connection.ops.quote_name
    comm = _q(Communication._meta.db_table)
    ba = _q(BatchAssembly._meta.db_table)
    asm = _q(Assembly._meta.db_table)
    at = "COALESCE(m.occurred_at, m.sent_at)"
    where = (
        f"WHERE {selector} AND (m.status = %s OR (m.kind <> '' AND m.channel = '')) "
        f"AND {at} IS NOT NULL"
    )
    where_params = [*selector_params, CommunicationStatus.SENT.value]
    # The three ways a communication concerns assemblies (see the module's docstring).
    candidates = (
        f"SELECT m.assembly_id AS assembly_id, m.id AS cid, {at} AS at FROM {comm} m "
        f"{where} AND m.assembly_id IS NOT NULL "
        f"UNION ALL SELECT ba.assembly_id, m.id, {at} FROM {comm} m "
        f"JOIN {ba} ba ON ba.batch_id = m.batch_id AND ba.location_id = m.location_id "
        f"{where} AND m.assembly_id IS NULL "
        f"UNION ALL SELECT a.id, m.id, {at} FROM {comm} m "
        f"JOIN {asm} a ON a.location_id = m.location_id AND a.status = %s "
        f"{where} AND m.assembly_id IS NULL AND m.batch_id IS NULL"
    )
    params = [*where_params, *where_params, AssemblyStatus.ACTIVE.value, *where_params]
    me = f"{asm}.{_q('id')}"
    current_at = f"{asm}.{_q('last_notice_at')}"
    current_id = f"{asm}.{_q('last_notice_id')}"
    sql = (
        f"WITH cand AS ({candidates}), "
        "best AS (SELECT c1.assembly_id, c1.at, MAX(c1.cid) AS cid FROM cand c1 "
        "WHERE c1.at = (SELECT MAX(c2.at) FROM cand c2 WHERE c2.assembly_id = c1.assembly_id) "
        "GROUP BY c1.assembly_id, c1.at) "
        f"UPDATE {asm} SET "
        f"{_q('last_notice_at')} = (SELECT best.at FROM best WHERE best.assembly_id = {me}), "
        f"{_q('last_notice_id')} = (SELECT best.cid FROM best WHERE best.assembly_id = {me}) "
        # Never backwards: only a later notice (or the same moment's higher id) replaces it.
        f"WHERE EXISTS (SELECT 1 FROM best WHERE best.assembly_id = {me} AND ("
        f"{current_at} IS NULL OR best.at > {current_at} OR (best.at = {current_at} "
        f"AND ({current_id} IS NULL OR best.cid > {current_id}))))"
    )
    return sql, params


def _run(selector: str, params: list, using: str = DEFAULT_DB_ALIAS) -> int:
    sql, all_params = _update_sql(selector, params, connections[using])
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, all_params)
        if connection.vendor == "sqlite":
            # Python's sqlite3 reports no rowcount for a statement that starts with WITH.
            cursor.execute("SELECT changes()")
            return cursor.fetchone()[0]
        return max(cursor.rowcount, 0)


def touch(communication_ids: Iterable[int], using: str = DEFAULT_DB_ALIAS) -> int:
    """Move the last notice of the assemblies these communications concern to the latest
    delivered one among them (never backwards); return how many assemblies changed.

    Communications that are not delivered (pending, failed, ...) are ignored, so callers may
    pass every id they just wrote. One ``UPDATE`` per ``CHUNK`` ids.
    """
    ids = sorted({int(pk) for pk in communication_ids})
    changed = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        changed += _run(f"m.id IN ({', '.join(['%s'] * len(chunk))})", chunk, using)
    return changed


def touch_letters_mailed(batch_id: int, sent_at: datetime.datetime) -> int:
    """``touch`` for the letters of a batch marked mailed at ``sent_at`` (one statement for
    any number of letters: marking mailed stamps them all with the same moment)."""
    stamp = connections[DEFAULT_DB_ALIAS].ops.adapt_datetimefield_value(sent_at)
    return _run(
        "m.batch_id = %s AND m.channel = %s AND m.sent_at = %s",
        [batch_id, Channel.LETTER.value, stamp],
    )


def backfill(using: str = DEFAULT_DB_ALIAS) -> int:
    """Set every assembly's last notice from all delivered communications already recorded
    (existing data); idempotent, and never moves one backwards. One statement."""
    return _run("1 = 1", [], using)


def backfill_migration(apps, schema_editor) -> None:
    """``migrations.RunPython(backfill_migration, migrations.RunPython.noop)``: the backfill
    on the migration's database. Plain SQL over the tables as migration 0005 leaves them."""
    backfill(schema_editor.connection.alias)
