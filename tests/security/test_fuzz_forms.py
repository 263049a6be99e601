"""Fuzz every form in the project through its page: Hypothesis generates field values
(valid choices, out-of-range numbers, odd Unicode, NUL bytes, huge strings, missing
fields) and posts them with the Django test client as a user allowed to use the page.
No input may produce a 500, and an input that is refused must leave the data exactly as
it was (no half-saved record).

FORMS lists each form class with how to reach it; a form class that exists in the code
but not in FORMS fails test_every_form_is_fuzzed, so new forms join the fuzzing."""

import importlib
import os
import pkgutil
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest
from django import forms
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from alliance.checkins.invitations import new_token
from alliance.models import SurveyInvitation
from tests.factories import SessionFactory
from tests.security.world import build_world, login_client

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
PROJECT_PACKAGES = ("accounts", "clients", "sessions", "alliance", "audit")

# Tables compared before and after a refused submission, with the columns that change
# on any visit (timestamps of reads, device throttling) left out.
WATCHED = {
    "accounts_clinic": None,
    "accounts_user": ("last_login",),
    "clients_client": ("updated_at",),
    "therapy_sessions_session": ("updated_at",),
    "therapy_sessions_sessionnote": ("updated_at",),
    "alliance_checkin": None,
    "alliance_flag": None,
    "alliance_flagstrategy": None,
    "alliance_repairnote": ("updated_at",),
    "accounts_supervision": None,
    "alliance_surveyinvitation": ("opened_at",),
}


def snapshot():
    state = {}
    with connection.cursor() as cursor:
        for table, skip in WATCHED.items():
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 (fixed names)
            columns = [c[0] for c in cursor.description]
            keep = [i for i, c in enumerate(columns) if c not in (skip or ())]
            state[table] = [tuple(row[i] for i in keep) for row in cursor.fetchall()]
    return state


# --- Field strategies -------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(max_size=3000),
    st.sampled_from(["", " ", "\x00", "a\x00b", "<script>alert(1)</script>", "' OR 1=1 --", "😀" * 50,
                     "9" * 400, "-1", "1e309", "NaN", "null", "%00", "../../etc/passwd", "\u202e"]),
)


def strategy_for(field):
    if isinstance(field, forms.MultipleChoiceField):
        values = [str(v) for v, _ in field.choices if v != ""]
        return st.lists(st.one_of(st.sampled_from(values or ["1"]), nasty_text), max_size=4)
    if isinstance(field, forms.ModelChoiceField):
        values = [str(pk) for pk in field.queryset.values_list("pk", flat=True)[:20]] or ["1"]
        return st.one_of(st.sampled_from(values), st.integers(-5, 10**12).map(str), nasty_text)
    if isinstance(field, forms.ChoiceField):
        values = [str(v) for v, _ in field.choices] or [""]
        return st.one_of(st.sampled_from(values), nasty_text)
    if isinstance(field, forms.BooleanField):
        return st.one_of(st.sampled_from(["on", "", "false", "0", "1"]), nasty_text)
    if isinstance(field, forms.IntegerField):
        return st.one_of(st.integers(-10**6, 10**6).map(str), st.integers(-2**70, 2**70).map(str), nasty_text)
    if isinstance(field, forms.DateField):
        return st.one_of(st.sampled_from(EDGE_DATES), st.dates().map(lambda d: d.isoformat()), nasty_text)
    if isinstance(field, forms.TimeField):
        return st.one_of(st.times().map(lambda t: t.strftime("%H:%M")), nasty_text)
    if isinstance(field, forms.EmailField):
        return st.one_of(st.emails().map(lambda e: e[:300]), nasty_text)
    return nasty_text


EDGE_DATES = ["0001-01-01", "9999-12-31", "2024-02-29", "2023-02-29"]
EDGE_VALUES = ["", "\x00", "-1", "0", "2147483648", "9" * 40, "x" * 5000, *EDGE_DATES]


def edge_cases(form):
    """Deterministic first pass: each field alone set to each edge value, so a crash on
    a boundary fails every run rather than whenever Hypothesis happens to try it."""
    for name in form.fields:
        for value in EDGE_VALUES:
            yield {form.add_prefix(name): value}


def data_strategy(form):
    fields = {}
    for name, field in form.fields.items():
        # Each field may also be left out of the POST entirely.
        fields[form.add_prefix(name)] = st.one_of(st.none(), strategy_for(field))
    return st.fixed_dictionaries(fields).map(lambda d: {k: v for k, v in d.items() if v is not None})


# --- Where each form lives ---------------------------------------------------------------


@dataclass
class Target:
    role: str  # who submits: a role of the world, "anonymous" or "unverified_alice"
    url: Callable  # world -> url
    method: str = "POST"
    prepare: Callable | None = None  # (client, world, data) -> data, per example
    make_form: Callable | None = None  # world -> an unbound form to read the fields from


def _session_token(client, world, data):
    page = client.get(reverse("session_new", args=[world.clients["alice"].pk]))
    return data | {"form_token": page.context["form"].initial["form_token"]}


def _fresh_survey(world):
    session = SessionFactory(client=world.clients["alice"], scheduled_start=timezone.now() - timedelta(days=1, minutes=SessionFactory._meta.model.objects.count()))
    token, digest = new_token()
    SurveyInvitation.objects.create(
        session=session, client=world.clients["alice"], token_hash=digest, status="sent",
        due_at=timezone.now() - timedelta(hours=2), sent_at=timezone.now() - timedelta(hours=1),
        expires_at=timezone.now() + timedelta(days=5), attempts=1,
    )
    return token


def _form(path, *args, **kwargs):
    module, name = path.rsplit(".", 1)
    return lambda world: getattr(importlib.import_module(module), name)(*args, **kwargs)


FORMS = {
    "accounts.forms.LoginForm": Target("anonymous", lambda w: reverse("login"), make_form=_form("accounts.forms.LoginForm")),
    "accounts.forms.TwoFactorTokenForm": Target("unverified_alice", lambda w: reverse("two_factor_verify")),
    "accounts.forms.PasswordResetForm": Target("anonymous", lambda w: reverse("password_reset")),
    "accounts.forms.LanguageForm": Target("alice", lambda w: reverse("account_language")),
    "clinic.staff.forms.StaffInviteForm": Target("carol", lambda w: reverse("clinic_staff_invite")),
    "clinic.settings.forms.ClinicSettingsForm": Target("carol", lambda w: reverse("clinic_settings")),
    "clinic.staff.forms.SuperviseesForm": Target(
        "carol", lambda w: reverse("clinic_staff_supervisees", args=[w.users["sam"].pk]),
        # POST-only, and an empty POST succeeds (no supervisees), so the form is built here.
        make_form=lambda w: importlib.import_module("clinic.staff.forms").SuperviseesForm(
            supervisor=w.users["sam"], prefix=f"s{w.users['sam'].pk}"),
    ),
    "clinic.staff.forms.ReassignForm": Target("carol", lambda w: reverse("clinic_staff_reassign", args=[w.users["bob"].pk])),
    "clients.forms.ClientForm": Target("alice", lambda w: reverse("client_new")),
    "clients.forms.ClientForm (edit)": Target("alice", lambda w: reverse("client_edit", args=[w.clients["alice"].pk])),
    "clients.forms.CaseloadFilterForm": Target("alice", lambda w: reverse("caseload"), method="GET"),
    "clinic.rights.views.EraseForm": Target("carol", lambda w: reverse("client_erase", args=[w.clients["bob"].pk])),
    "sessions.forms.SessionForm": Target("alice", lambda w: reverse("session_new", args=[w.clients["alice"].pk]), prepare=_session_token),
    "alliance.flags.forms.FlagAcknowledgeForm": Target("alice", lambda w: reverse("flag_acknowledge", args=[w.objects["flag"][0].value])),
    "alliance.checkins.forms.CheckInForm": Target("anonymous", lambda w: reverse("survey_checkin", args=[_fresh_survey(w)]), make_form=_form("alliance.checkins.forms.CheckInForm")),
    "clinic.dashboards.forms.DashboardFilterForm": Target("carol", lambda w: reverse("clinic_dashboard"), method="GET"),
    "audit.forms.AuditFilterForm": Target("carol", lambda w: reverse("audit_list"), method="GET"),
}


def project_form_classes():
    found = set()
    for package in PROJECT_PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if ".migrations" in info.name or ".management" in info.name or ".tests" in info.name:
                continue
            importlib.import_module(info.name)

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    for cls in walk(forms.BaseForm):
        if cls.__module__.split(".")[0] in PROJECT_PACKAGES:
            found.add(f"{cls.__module__}.{cls.__qualname__}")
    return found


def test_every_form_is_fuzzed():
    covered = {name.split(" ")[0] for name in FORMS}
    missing = sorted(project_form_classes() - covered)
    assert not missing, f"forms with no fuzz target in tests/security/test_fuzz_forms.py FORMS: {missing}"


def _client_for(target, world):
    if target.role == "anonymous":
        return Client()
    if target.role == "unverified_alice":
        client = Client()
        client.force_login(world.users["alice"])  # password only: the 2FA step is next
        return client
    return login_client(Client(), world.users[target.role])


def _find_form(response, cls_name):
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if isinstance(value, forms.BaseForm) and type(value).__name__ == cls_name:
                return value
    return None


CASES = {"run": 0}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_fuzz(name, settings):
    settings.LOGIN_RATE_PER_IP = "1000000/m"
    settings.PASSWORD_RESET_RATE_PER_IP = "1000000/m"
    settings.SURVEY_RATE_LIMIT = "1000000/m"
    settings.AXES_FAILURE_LIMIT = 10**9
    target = FORMS[name]
    world = build_world()
    client = _client_for(target, world)
    cls_name = name.split(" ")[0].rsplit(".", 1)[1]
    form = None
    if target.make_form is not None:
        form = target.make_form(world)
    else:
        page_url = target.url(world)
        page = client.get(page_url)
        form = _find_form(page, cls_name)
        if form is None:
            # A POST-only action: its form is on another page; post nothing to get it back.
            form = _find_form(client.post(page_url, {}), cls_name)
    assert form is not None, f"could not find a {cls_name} on its page"
    ran = {"n": 0}

    @hsettings(max_examples=EXAMPLES, deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(data=data_strategy(form))
    def run(data):
        ran["n"] += 1
        url = target.url(world)
        if target.prepare is not None:
            data = target.prepare(client, world, data)
        before = snapshot()
        if target.method == "GET":
            response = client.get(url, data)
        else:
            response = client.post(url, data)
        assert response.status_code < 500, f"{response.status_code} for {data!r}"
        succeeded = target.method == "POST" and response.status_code in (301, 302, 303)
        if not succeeded:
            assert snapshot() == before, f"refused ({response.status_code}) but data changed, for {data!r}"

    failures = []
    for data in edge_cases(form):
        try:
            run.hypothesis.inner_test(data=data)
        except Exception as exc:  # the test client re-raises a view's exception (a 500)
            failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} for {data!r}")
    assert not failures, f"{name}: edge values break the page:\n" + "\n".join(failures[:10])
    edge_count = ran["n"]
    run()
    CASES["run"] += ran["n"]
    print(f"\nfuzz {name}: {ran['n']} cases ({edge_count} edge + {ran['n'] - edge_count} Hypothesis; total so far {CASES['run']})")
