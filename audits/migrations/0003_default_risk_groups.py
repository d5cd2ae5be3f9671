"""Seed the chronic-condition groups that the high-risk flags and prevalence report count.

Categories follow the CMS Chronic Conditions Data Warehouse / Charlson groupings in broad
strokes; seniors edit them on the risk groups page. Existing groups of the same name are
left as they are.
"""

from django.db import migrations

DEFAULT_GROUPS = [
    ("Diabetes", "Diabetes mellitus, all types", ["E08", "E09", "E10", "E11", "E13"]),
    ("Heart failure", "Heart failure", ["I50", "I110", "I130", "I132"]),
    ("Chronic kidney disease", "CKD stages 1-5 and ESRD", ["N18"]),
    ("COPD", "Chronic obstructive pulmonary disease", ["J41", "J42", "J43", "J44"]),
    ("Asthma", "Asthma", ["J45"]),
    ("Hypertension", "Hypertensive diseases", ["I10", "I11", "I12", "I13", "I15", "I16"]),
    ("Coronary artery disease", "Chronic ischemic heart disease", ["I20", "I25"]),
    ("Atrial fibrillation", "Atrial fibrillation and flutter", ["I48"]),
    ("Cerebrovascular disease", "Stroke and its sequelae", ["I63", "I69", "G45"]),
    ("Dementia", "Dementia and Alzheimer disease", ["F01", "F02", "F03", "G30"]),
    ("Depression", "Major depressive disorder", ["F32", "F33"]),
    ("Chronic liver disease", "Fibrosis, cirrhosis, chronic hepatitis", ["K70", "K73", "K74"]),
    ("Obesity", "Obesity", ["E66"]),
]


def seed(apps, schema_editor):
    RiskGroup = apps.get_model("audits", "RiskGroup")
    for name, description, prefixes in DEFAULT_GROUPS:
        RiskGroup.objects.get_or_create(
            name=name, defaults={"description": description, "code_prefixes": prefixes}
        )


def unseed(apps, schema_editor):
    RiskGroup = apps.get_model("audits", "RiskGroup")
    RiskGroup.objects.filter(
        name__in=[name for name, _, _ in DEFAULT_GROUPS], updated_by__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("audits", "0002_research_practice_bulletins")]

    operations = [migrations.RunPython(seed, unseed)]
