"""The public policy with Directus's well-known id, attached to nobody (= the public)."""

import uuid

from django.db import migrations

PUBLIC_POLICY_ID = uuid.UUID("abf8a154-5b1c-4a46-ac9c-7300570f4f17")


def create_public_policy(apps, schema_editor):
    Policy = apps.get_model("accounts", "Policy")
    Access = apps.get_model("accounts", "Access")
    policy, _ = Policy.objects.get_or_create(
        pk=PUBLIC_POLICY_ID,
        defaults={"name": "Public", "icon": "public", "description": "Unauthenticated requests"},
    )
    if not Access.objects.filter(policy=policy, role=None, user=None).exists():
        Access.objects.create(policy=policy, role=None, user=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_public_policy, migrations.RunPython.noop)]
