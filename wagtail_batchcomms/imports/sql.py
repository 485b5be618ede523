# ruff: noqa: S608 (table and column names come from the models, quoted; values are parameters)
"""The import's writes in raw, set-based SQL (no model instances, no ORM compiling per row).

* ``insert_rows``: a multi-row ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING``,
  optionally ``RETURNING`` the new primary keys in the rows' order (the assumption Django's own
  ``bulk_create`` makes on SQLite >= 3.35); on PostgreSQL, ``COPY`` into a scratch table and
  ``INSERT ... SELECT ... ON CONFLICT`` (the ids to return drawn from the sequence first);
* ``update_rows``: ``WITH v(id, ...) AS (VALUES ...) UPDATE table SET col = v.col FROM v WHERE
  table.id = v.id`` (PostgreSQL, and SQLite >= 3.33).

The same statements run on both databases; a few hundred rows per statement (under SQLite's
32,766 and PostgreSQL's 65,535 parameters). Values the drivers take as they are (text,
numbers, booleans, None) are passed through; others (dates, decimals) go through the field's
``get_db_prep_save``, as the ORM would. Callers own the transactions.
"""

from __future__ import annotations

from django.db import connection

MAX_PARAMS = 30_000
MAX_ROWS = 1_000
PLAIN = (str, int, bool, float, type(None))


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _prep(field, value: object) -> object:
    if type(value) in PLAIN:
        return value
    if isinstance(value, str):
        return str(value)  # a TextChoices member: its value
    return field.get_db_prep_save(value, connection)


def _batches(rows: list, width: int):
    size = max(1, min(MAX_ROWS, MAX_PARAMS // max(width, 1)))
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def insert_rows(model, rows: list[dict], *, returning: bool = False) -> list[int]:
    """Insert ``rows`` (attname -> value; a missing field takes its default, as a new model
    instance would). A row that meets a unique key already there is skipped. With
    ``returning``, the new primary keys in the rows' order (only for a table without a unique
    key to conflict on, where every row is inserted)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    columns = ", ".join(_qn(f.column) for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pk = model._meta.pk.column
    ids: list[int] = []
    if connection.vendor == "postgresql":
        if returning:  # the ids drawn from the table's sequence first, then written with the rows
            pk_field = model._meta.pk
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [model._meta.db_table, pk, len(rows)],
                )
                ids = [row[0] for row in cursor.fetchall()]
            rows = [{**row, pk_field.attname: id_} for row, id_ in zip(rows, ids, strict=True)]
            fields = [pk_field, *fields]
            defaults[pk_field.attname] = None
        _copy_rows(model, fields, defaults, rows)
        return ids
    with connection.cursor() as cursor:
        for batch in _batches(rows, len(fields)):
            params = []
            for row in batch:
                params.extend(_prep(f, row.get(f.attname, defaults[f.attname])) for f in fields)
            sql = (
                f"INSERT INTO {_qn(model._meta.db_table)} ({columns}) VALUES "
                f"{', '.join([one] * len(batch))}"
            )
            if returning:
                cursor.execute(f"{sql} RETURNING {_qn(pk)}", params)
                ids.extend(row[0] for row in cursor.fetchall())
            else:
                cursor.execute(f"{sql} ON CONFLICT DO NOTHING", params)
    return ids


def _copy_rows(model, fields: list, defaults: dict, rows: list[dict]) -> None:
    """PostgreSQL: ``COPY`` the rows into a column-only scratch table, then one ``INSERT ...
    SELECT ... ON CONFLICT DO NOTHING`` (a big VALUES list costs PostgreSQL more to parse and
    plan than the rows cost to insert)."""
    table = _qn(model._meta.db_table)
    scratch = _qn(f"batchcomms_import_{model._meta.db_table}")
    columns = ", ".join(_qn(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {scratch}")
        cursor.execute(f"CREATE TEMP TABLE {scratch} AS SELECT {columns} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_prep(f, row.get(f.attname, defaults[f.attname])) for f in fields])
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {scratch} "
            "ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DROP TABLE {scratch}")


def update_rows(model, names: tuple[str, ...], rows: list[tuple]) -> None:
    """Set the fields ``names`` (attnames) of the records whose ids start each row of
    ``rows`` (id, value for each name...)."""
    fields = [model._meta.get_field(name) for name in names]
    table, pk = _qn(model._meta.db_table), _qn(model._meta.pk.column)
    aliases = [f"c{n}" for n in range(len(fields))]
    postgres = connection.vendor == "postgresql"

    def source(field, alias: str) -> str:
        # PostgreSQL types a VALUES column from its values (text when they are all NULL).
        return f"CAST(v.{alias} AS {field.db_type(connection)})" if postgres else f"v.{alias}"

    assignments = ", ".join(
        f"{_qn(f.column)} = {source(f, alias)}" for f, alias in zip(fields, aliases, strict=True)
    )
    one = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    with connection.cursor() as cursor:
        for batch in _batches(rows, len(fields) + 1):
            params = []
            for row in batch:
                params.append(row[0])
                params.extend(_prep(f, v) for f, v in zip(fields, row[1:], strict=True))
            cursor.execute(
                f"WITH v(id, {', '.join(aliases)}) AS (VALUES {', '.join([one] * len(batch))}) "
                f"UPDATE {table} SET {assignments} FROM v WHERE {table}.{pk} = v.id",
                params,
            )
