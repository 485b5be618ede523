"""How many times an import or an export was started again after its worker stopped or its
task was lost (``jobs.MAX_REQUEUES``: then the housekeeping marks it failed instead of queuing
it for ever), and when an export was last queued again (a re-queued export waits its full
time before it is taken as lost again). Columns with a constant default or nullable: no table
rewrite on PostgreSQL 11+. Existing runs start at 0.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_batchcomms", "0012_importlost"),
    ]

    operations = [
        migrations.AddField(
            model_name="exportrun",
            name="requeued_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="queued again at"),
        ),
        migrations.AddField(
            model_name="exportrun",
            name="requeues",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="times queued again"),
        ),
        migrations.AddField(
            model_name="importrun",
            name="requeues",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="times queued again"),
        ),
    ]
