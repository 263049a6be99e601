FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt && \
    pip install --no-cache-dir -r /tmp/requirements.txt

COPY . .
RUN pip install --no-cache-dir --no-deps .

# The message catalogues are compiled in Python (Babel): the image needs no GNU gettext.
RUN DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=catalogues-only NOTE_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE= DATABASE_URL=sqlite:////tmp/catalogues.sqlite3 ALLOWED_HOSTS=localhost SITE_URL=http://localhost python manage.py compile_catalogues

# Static files are collected with the production settings, so whitenoise's manifest
# (hashed, compressed names) is in the image. The values here exist only for this step:
# collectstatic reads no secret and opens no database.
RUN DJANGO_SETTINGS_MODULE=config.settings.production SECRET_KEY=collectstatic-only NOTE_ENCRYPTION_KEYS=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXNlY3JldCE= DATABASE_URL=sqlite:////tmp/collectstatic.sqlite3 ALLOWED_HOSTS=localhost SITE_URL=http://localhost python manage.py collectstatic --noinput

RUN useradd --create-home rapport && mkdir -p /app/var && chown rapport /app/var
USER rapport
EXPOSE 8000
