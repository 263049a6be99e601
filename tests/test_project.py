"""Project-level guarantees: migrations match models, production settings are strict."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_migrations_are_up_to_date():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def _production_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "SECRET_KEY"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        # Not the development key: the deploy check (accounts/checks.py) refuses that one.
        NOTE_ENCRYPTION_KEYS="dGVzdC1vbmx5LXByb2R1Y3Rpb24tbm90ZS1rZXkhISE=",
        DATABASE_URL="postgres://rapport@127.0.0.1:5432/rapport",
        ALLOWED_HOSTS="rapport.example.org",
        SITE_URL="https://rapport.example.org",
    )
    env.update(extra)
    return env


def test_production_passes_the_deploy_check_with_its_secrets_given():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=_production_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = _production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_reads_secrets_from_files(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("file-secret-" + "y" * 50 + "\n")
    env = _production_env(SECRET_KEY_FILE=str(secret))
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("file-secret-" + "y" * 50)
