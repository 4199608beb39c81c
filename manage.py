#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path


def use_embedded_secret() -> None:
    """Commands see the secret ``./bin/serve`` generated into ``data/secret`` (the embedded
    default), unless SECRET or SECRET_FILE says otherwise."""
    secret = Path(__file__).resolve().parent / "data" / "secret"
    if "SECRET" not in os.environ and "SECRET_FILE" not in os.environ and secret.is_file():
        os.environ["SECRET_FILE"] = str(secret)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    use_embedded_secret()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
