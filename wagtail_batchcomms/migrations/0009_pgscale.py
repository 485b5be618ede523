"""Indexes of the communication table (and the working list) fitted to the queries.

Every index on ``communication`` is written for each notice a generation inserts (100,000 at a
time), so: the single-column indexes that a composite index already leads with are dropped
(batch, contact, location), those no query uses alone are dropped (channel, status and their
``_like`` twins), and those that concern few rows become partial (an assembly's notices, sent
dates, the emails being sent or needing attention, the user columns).

The ``AlterField``s (``db_index=False``) only drop the field's own indexes here: Django's
``AlterField`` would also drop and re-add each foreign key, which on PostgreSQL re-validates
every row of a big table under a lock. On a big production table, run the index changes with
``CREATE INDEX CONCURRENTLY`` / ``DROP INDEX CONCURRENTLY`` (a non-atomic migration, or by
hand before migrating, then ``migrate --fake``); nothing here requires it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

#: (model, field) whose own single-column index (and PostgreSQL ``_like`` index) goes.
UNINDEXED = [
    ("batchassembly", "batch"),
    ("communication", "assembly"),
    ("communication", "batch"),
    ("communication", "channel"),
    ("communication", "contact"),
    ("communication", "location"),
    ("communication", "logged_by"),
    ("communication", "returned_by"),
    ("communication", "sent_at"),
    ("communication", "sent_by"),
    ("communication", "status"),
    ("skippedrecipient", "batch"),
]


def _fields(apps):
    for model_name, field_name in UNINDEXED:
        model = apps.get_model("wagtail_batchcomms", model_name)
        yield model, model._meta.get_field(field_name)


def drop_field_indexes(apps, schema_editor):
    """Drop the indexes ``db_index=True`` made, by the names Django gave them."""
    for model, field in _fields(apps):
        table = model._meta.db_table
        for suffix in ("", "_like"):
            name = schema_editor._create_index_name(table, [field.column], suffix=suffix)
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def restore_field_indexes(apps, schema_editor):
    for model, field in _fields(apps):
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))
        like = getattr(schema_editor, "_create_like_index_sql", None)
        statement = like(model, field) if like else None
        if statement is not None:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_batchcomms", "0008_exports"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="batchassembly",
                    name="batch",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="batch_assemblies",
                        to="wagtail_batchcomms.batch",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="assembly",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="Set when the template sends one notice per assembly.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="communications",
                        to="wagtail_batchcomms.assembly",
                        verbose_name="assembly",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="batch",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="communications",
                        to="wagtail_batchcomms.batch",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="channel",
                    field=models.CharField(
                        blank=True,
                        choices=[("email", "Email"), ("letter", "Letter")],
                        max_length=10,
                        verbose_name="channel",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="communications",
                        to="wagtail_batchcomms.contact",
                        verbose_name="contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="location",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="communications",
                        to="wagtail_batchcomms.location",
                        verbose_name="location",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="logged_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="logged by",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="returned_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="returned marked by",
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="sent_at",
                    field=models.DateTimeField(blank=True, null=True, verbose_name="sent at"),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="sent_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="For letters: who marked them as mailed.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="communication",
                    name="status",
                    field=models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("sending", "Sending"),
                            ("sent", "Sent"),
                            ("failed", "Failed"),
                            ("unknown", "Delivery unknown"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                migrations.AlterField(
                    model_name="skippedrecipient",
                    name="batch",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="skipped",
                        to="wagtail_batchcomms.batch",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_field_indexes, restore_field_indexes),
            ],
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("assembly__isnull", False)),
                fields=["assembly"],
                name="batchcomms_comm_assembly",
            ),
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("sent_at__isnull", False)),
                fields=["sent_at"],
                name="batchcomms_comm_sent_at",
            ),
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("status", "sending")),
                fields=["claimed_by", "claimed_at"],
                name="batchcomms_comm_sending",
            ),
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("status__in", ["failed", "unknown"])),
                fields=["channel", "status"],
                name="batchcomms_comm_problems",
            ),
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("sent_by__isnull", False)),
                fields=["sent_by"],
                name="batchcomms_comm_sent_by",
            ),
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("logged_by__isnull", False)),
                fields=["logged_by"],
                name="batchcomms_comm_logged_by",
            ),
        ),
        migrations.AddIndex(
            model_name="communication",
            index=models.Index(
                condition=models.Q(("returned_by__isnull", False)),
                fields=["returned_by"],
                name="batchcomms_comm_returned_by",
            ),
        ),
    ]
