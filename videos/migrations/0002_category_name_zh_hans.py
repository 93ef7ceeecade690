from django.db import migrations, models


def fill_known_names(apps, schema_editor):
    """Categories of the demo catalog and MovieLens get their Chinese names."""
    from videos.category_names import ZH_HANS

    Category = apps.get_model("videos", "Category")
    for category in Category.objects.filter(name__in=list(ZH_HANS), name_zh_hans=""):
        category.name_zh_hans = ZH_HANS[category.name]
        category.save(update_fields=["name_zh_hans"])


class Migration(migrations.Migration):
    dependencies = [
        ("videos", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="name_zh_hans",
            field=models.CharField(
                blank=True,
                help_text="Shown to viewers who chose 简体中文; the English name when empty.",
                max_length=100,
                verbose_name="name in simplified Chinese",
            ),
        ),
        migrations.RunPython(fill_known_names, migrations.RunPython.noop),
    ]
