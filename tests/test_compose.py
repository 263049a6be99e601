"""The production stack (docker-compose.yml, Dockerfile, .env.example), checked with a
parser: no Docker engine runs here. What a clinic would find out only at `docker compose
up` — a service missing, a secret with a silent default, a second beat, a Redis that
evicts queued tasks, an example .env that does not boot — fails here instead."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # resolves anchors and << merges
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")
LONG_RUNNING = ("web", "worker", "beat", "postgres", "redis", "mailpit")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])((?:[^{}]|\{[^{}]*\})*))?\}")


def env_example():
    """.env.example as {name: value}, commented-out assignments included with value None."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.match(r"^(#\s*)?([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            values[match.group(2)] = None if match.group(1) else match.group(3)
    return values


def interpolate(text, env):
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, nested, as `docker compose`
    resolves them ($$ is a literal $)."""

    def one(match):
        name, op, arg = match.group(1), match.group(2), match.group(3)
        value = env.get(name) or ""
        if value:
            return value
        if op == ":-":
            return interpolate(arg, env)
        if op == ":?":
            raise KeyError(f"{name}: {arg}")
        return ""

    previous = None
    while previous != text:
        previous, text = text, VARIABLE.sub(one, text)
    return text.replace("$$", "$")


def filled_example():
    """The example with its blanks filled, as an operator following it would."""
    env = {k: v for k, v in env_example().items() if v is not None}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(50),
        NOTE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        POSTGRES_PASSWORD=secrets.token_urlsafe(16),
    )
    return env


def test_the_stack_has_every_service_and_web_worker_beat_share_one_definition():
    assert set(LONG_RUNNING) | {"migrate"} == set(SERVICES)
    web = SERVICES["web"]
    assert web["command"][0] == "gunicorn"
    for name in ("migrate", "worker", "beat"):
        service = SERVICES[name]
        assert service["image"] == web["image"] and service["build"] == web["build"], name
        shared = {k: v for k, v in web["environment"].items() if k != "WEB_CONCURRENCY"}
        assert service["environment"] == shared, name
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_exactly_one_beat_and_migrations_run_once_before_the_app():
    assert SERVICES["beat"]["deploy"]["replicas"] == 1
    assert "scale" not in SERVICES["beat"]
    assert SERVICES["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    for name in APP_SERVICES:
        assert "migrate" not in " ".join(SERVICES[name]["command"]), name
        assert SERVICES[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_redis_never_evicts_a_queued_task_and_keeps_the_queue_across_restarts():
    command = " ".join(SERVICES["redis"]["command"])
    assert "--maxmemory-policy noeviction" in command
    assert "--appendonly yes" in command
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]


def test_every_long_running_service_has_a_health_check_and_waits_for_what_it_needs():
    for name in LONG_RUNNING:
        assert SERVICES[name]["healthcheck"]["test"], name
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in SERVICES, (name, dependency)
            assert rule["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dependency)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], dependency


def test_external_images_are_pinned():
    for name, service in SERVICES.items():
        if "build" in service:
            continue
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name} uses an unpinned image {image}"


def test_no_secret_has_a_default_and_every_variable_is_documented_in_the_example():
    text = (ROOT / "docker-compose.yml").read_text()
    used = {m.group(1): m.group(2) for m in VARIABLE.finditer(text)}
    # Nested defaults (DATABASE_URL's default holds POSTGRES_PASSWORD) are found too.
    for m in VARIABLE.finditer(text):
        used.update({n.group(1): n.group(2) for n in VARIABLE.finditer(m.group(3) or "")})
    documented = env_example()
    assert set(used) - {"RAPPORT_VERSION"} <= set(documented), set(used) - set(documented)
    for secret in ("SECRET_KEY", "NOTE_ENCRYPTION_KEYS", "POSTGRES_PASSWORD"):
        assert used[secret] == ":?", f"{secret} must be required, never defaulted"
        assert documented[secret] == "", f".env.example must leave {secret} for the operator to fill"


def test_the_example_names_only_settings_the_app_or_the_stack_reads():
    read = set(re.findall(r'env(?:_secret|\.\w+)?\(\s*"([A-Z_]+)"', "".join(
        p.read_text() for p in (ROOT / "config" / "settings").glob("*.py"))))
    compose = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    compose = {name for name, _, _ in compose}
    stale = set(env_example()) - read - compose
    assert not stale, f".env.example documents variables nothing reads: {stale}"


def test_the_web_environment_with_the_filled_example_passes_the_deploy_check():
    env = filled_example()
    web_env = {k: interpolate(str(v), env) for k, v in SERVICES["web"]["environment"].items()}
    assert web_env["DATABASE_URL"] == f"postgres://rapport:{env['POSTGRES_PASSWORD']}@postgres:5432/rapport"
    assert web_env["REDIS_URL"] == "redis://redis:6379/0"
    process_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS"))}
    process_env.update(env)
    process_env.update(web_env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=process_env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_missing_secret_stops_compose_with_a_message_naming_it():
    env = filled_example()
    del env["SECRET_KEY"]
    with pytest.raises(KeyError, match="SECRET_KEY: set SECRET_KEY in .env"):
        interpolate(SERVICES["web"]["environment"]["SECRET_KEY"], env)


def test_the_image_runs_as_a_non_root_user_with_static_files_collected():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11")
    assert "collectstatic --noinput" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", "var", ".git"} <= set(ignored), "secrets and local state must stay out of the image"


def test_the_images_static_files_are_collected_the_way_production_serves_them(tmp_path):
    """Run the Dockerfile's collectstatic step as written, then render a page with the
    production settings: whitenoise's manifest storage must find every file it names
    (collected with other settings, every page would fail with a missing manifest)."""
    line = next(l for l in (ROOT / "Dockerfile").read_text().splitlines() if "collectstatic" in l and l.startswith("RUN"))
    words = line.removeprefix("RUN ").split()
    assignments = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
    command = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
    assert assignments["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert command == ["python", "manage.py", "collectstatic", "--noinput"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS"))}
    env.update(assignments, STATIC_ROOT=str(tmp_path / "static"), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    collected = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    render = (
        "from django.test import Client; "
        "r = Client().get('/accounts/login/', secure=True, HTTP_HOST='localhost'); "
        "print('STATUS', r.status_code); print(r.content.decode())"
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    page = subprocess.run([sys.executable, "manage.py", "shell", "-c", render], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert "STATUS 200" in page.stdout, page.stdout[:500] + page.stderr[-2000:]
    # The stylesheet is linked by its hashed name, which whitenoise serves.
    assert re.search(r'/static/css/[\w.-]+\.[0-9a-f]{12}\.css', page.stdout), page.stdout[:2000]


def test_the_readme_says_the_file_needs_compose_v2_and_uses_no_v1_command():
    """The file nests ${…:?…} inside ${…:-…}, which only Compose v2 reads: a reader
    following the README with the old docker-compose 1.x would meet a parse error."""
    readme = (ROOT / "README.md").read_text()
    assert "Docker Compose v2" in readme
    commands = [line.strip() for line in readme.splitlines() if line.strip().startswith(("docker", "$ docker"))]
    assert commands and not any(c.startswith("docker-compose ") for c in commands)
