"""A register import's request time and its task's claim and heartbeat, so that a run whose
task was lost or whose worker died is queued again (``imports.runs.requeue_stopped``). Three
nullable or blank columns: no table rewrite. Runs left busy before this have no request time
and are queued again by the next housekeeping.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_batchcomms", "0011_working_list_constraints"),
    ]

    operations = [
        migrations.AddField(
            model_name="importrun",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="importrun",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.AddField(
            model_name="importrun",
            name="requested_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="requested at"),
        ),
    ]
