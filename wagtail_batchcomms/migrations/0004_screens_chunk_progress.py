from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("wagtail_batchcomms", "0003_record_withdrawn_downloads"),
    ]

    operations = [
        migrations.AddField(
            model_name="letterchunk",
            name="letters_done",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
