"""The working list's batch and location keys without a database constraint.

PostgreSQL checks each foreign key once per inserted row at commit; for a 100,000-assembly
snapshot the three keys of the working list cost two thirds of the statement. The batch key
(the batch is new in the snapshot's transaction, or locked by it) and the location key (read
from the assembly in the same statement) cannot fail there; Django still cascades deletes.
The assembly key keeps its constraint. Dropping a constraint takes a brief lock and no scan;
reversing re-adds and validates both.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_batchcomms", "0010_importspeed"),
    ]

    operations = [
        migrations.AlterField(
            model_name="batchassembly",
            name="batch",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="batch_assemblies",
                to="wagtail_batchcomms.batch",
            ),
        ),
        migrations.AlterField(
            model_name="batchassembly",
            name="location",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="wagtail_batchcomms.location",
            ),
        ),
    ]
