"""A real database error on chosen rows, as a stand-in for a crash, a bug or an outage; and
a worker killed at a chosen statement.

``fail_writes(Communication, "INSERT", "NEW.location_id = 7")`` adds a trigger that aborts the
statement with "injected fault" whenever a row matching the condition (SQL over ``NEW``, the
same on SQLite and PostgreSQL) is inserted or updated. It is part of the test's transaction
and goes with its rollback.

``with killed_at(r'INSERT INTO "wagtail_batchcomms_contact"'): tasks.run_register_import(pk)``
stops the task as its worker's end would (Q_CLUSTER's ``timeout``, the OOM killer): at that
statement, with an exception the task cannot catch, its open transaction rolled back and
what it committed kept (through Django's ``connection.execute_wrapper``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.models import Model

MESSAGE = "injected fault"


def fail_writes(model: type[Model], event: str, condition: str) -> None:
    """Abort every ``event`` ("INSERT" or "UPDATE") on ``model``'s table whose new row
    matches ``condition``, with the error ``MESSAGE``."""
    assert event in ("INSERT", "UPDATE"), event
    table = connection.ops.quote_name(model._meta.db_table)
    name = f"batchcomms_fault_{event.lower()}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"IF {condition} THEN RAISE EXCEPTION '{MESSAGE}'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {condition} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


class WorkerKilled(BaseException):
    """The worker's process ended mid-task: no ``except Exception`` in the task sees it."""


@contextmanager
def killed_at(pattern: str) -> Iterator[None]:
    """Kill the task run in the block at the first SQL statement ``pattern`` (a regular
    expression) finds; the block must reach it."""
    statement = re.compile(pattern)

    def kill(execute, sql, params, many, context):
        if statement.search(sql):
            raise WorkerKilled(sql)
        return execute(sql, params, many, context)

    with pytest.raises(WorkerKilled), connection.execute_wrapper(kill):
        yield
