"""Accessibility checked, not assumed: axe-core (vendored under tests/e2e/vendor/, never
served by the app) runs in the real browser on each page users meet, under the app's own
strict CSP, and no page may have a serious or critical violation. The survey form is
answered with the keyboard alone.

axe is injected with page.evaluate (the DevTools protocol, which the page's CSP does not
govern), so the pages are checked exactly as they are served; add_script_tag would be
refused by `script-src 'self'`. Every page's violations, whatever their impact, are
summed up at the end of the run (tests/e2e/conftest.py) and in
var/screenshots/axe-summary.txt."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from alliance.models import CheckIn, SurveyInvitation
from sessions.models import Session
from tests.alliance.conftest import log_session, send_inline, token_of
from tests.e2e.conftest import AXE_SUMMARY, current_totp_code, log_in_with_second_factor
from tests.e2e.staff_pages import (
    ROLES, log_in_as, pages_for, populated_caseload, second_therapists_client, seed_staff_pages, template_source_shown,
    visit, wait_for_charts,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE_VERSION = "4.14.1"
AXE_JS = Path(__file__).resolve().parent / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA, and Deque's best practices (landmarks, one h1...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = {"critical", "serious"}
S = SurveyInvitation.Status


class Audit:
    """audit.check(page, "name") runs axe on what the page shows now, takes the step's
    screenshot and records the result; audit.assert_clean() fails the test, naming the
    rule, its impact and the offending elements, if any page had a serious or critical
    violation."""

    def __init__(self, request, shot):
        self.request = request
        self.shot = shot
        self.blocking = []
        self.checked = 0
        self.asserted = False

    def check(self, page, name):
        page.wait_for_load_state("networkidle")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(AXE_JS.read_text() + "\n;void 0")
        assert page.evaluate("axe.version") == AXE_VERSION
        results = page.evaluate(
            """async (tags) => {
                const results = await axe.run(document, {
                    runOnly: {type: "tag", values: tags}, resultTypes: ["violations", "incomplete"],
                });
                const brief = list => list.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary})),
                }));
                return {violations: brief(results.violations), incomplete: brief(results.incomplete)};
            }""",
            AXE_TAGS,
        )
        violations, incomplete = results["violations"], results["incomplete"]
        # Beside the screenshot: the details, for a person reviewing what axe left undecided.
        path = self.shot(page, name)
        path.with_suffix(".axe.json").write_text(json.dumps(results, indent=1))
        self.checked += 1
        self._record(name, violations, incomplete)
        for v in violations:
            if v["impact"] in BLOCKING:
                self.blocking.append((name, v))
        return violations

    def _record(self, name, violations, incomplete):
        counts = Counter()
        for v in violations:
            counts[v["impact"]] += len(v["nodes"])
        rules = ", ".join(f"{v['id']}({v['impact']})×{len(v['nodes'])}" for v in violations)
        line = f"{name:<26} " + " ".join(f"{i}={counts[i]}" for i in IMPACTS) + (f"  {rules}" if rules else "")
        if incomplete:
            # What axe could not decide (e.g. text over a gradient): for a person to review.
            line += "  | to review: " + ", ".join(v["id"] for v in incomplete)
        self.request.config.stash.setdefault(AXE_SUMMARY, []).append(line)

    def assert_clean(self):
        self.asserted = True
        assert self.checked, "no page was checked"
        if self.blocking:
            lines = []
            for name, v in self.blocking:
                lines.append(f"[{name}] {v['id']} ({v['impact']}): {v['help']}")
                for node in v["nodes"][:8]:
                    detail = (node["summary"] or "").replace("\n", " ")[:200]
                    lines.append(f"    {node['target']}  — {detail}")
                if len(v["nodes"]) > 8:
                    lines.append(f"    … and {len(v['nodes']) - 8} more")
            pytest.fail("serious or critical accessibility violations:\n" + "\n".join(lines), pytrace=False)


@pytest.fixture
def audit(request, shot):
    audit = Audit(request, shot)
    yield audit
    report = getattr(request.node, "rep_call", None)
    if audit.checked and not audit.asserted and report is not None and report.passed:
        pytest.fail("the test checked pages with axe but never called audit.assert_clean()")


def login_as(page, live_server, user, password):
    log_in_with_second_factor(page, live_server.url, user, password)


# --- The pages ----------------------------------------------------------------------------------


def test_login_and_second_factor_pages(page, live_server, alice, password, audit):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=alice, name="Authenticator app", confirmed=True)
    page.goto(f"{live_server.url}/accounts/login/")
    audit.check(page, "login")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("do not match an active account").wait_for()
    audit.check(page, "login-error")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/verify/**")
    audit.check(page, "second-factor")
    page.get_by_label("Code").fill("000000" if current_totp_code(device) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
    audit.check(page, "second-factor-error")
    audit.assert_clean()


def test_caseload_populated_and_empty(new_page, live_server, alice, bob, alice_client, password, audit):
    populated_caseload(alice, alice_client)
    page = new_page("alice")
    login_as(page, live_server, alice, password)
    page.goto(f"{live_server.url}/caseload/")
    assert page.get_by_role("link", name="R.S.").is_visible()
    assert page.get_by_role("row", name=re.compile(r"^M\.N\.")).get_by_text("Needs attendance recorded").is_visible()
    audit.check(page, "caseload")

    empty = new_page("bob")
    login_as(empty, live_server, bob, password)
    empty.goto(f"{live_server.url}/caseload/")
    assert empty.locator("table.caseload").count() == 0  # the empty state, whatever its wording
    audit.check(empty, "caseload-empty")
    audit.assert_clean()


def test_client_page_with_charts_and_flags(page, live_server, alice, alice_client, password, audit):
    populated_caseload(alice, alice_client)
    login_as(page, live_server, alice, password)
    page.goto(f"{live_server.url}/clients/{alice_client.pk}/")
    wait_for_charts(page)
    assert page.locator("form.flag-ack-form").count() >= 1
    recent = Session.objects.filter(client=alice_client, scheduled_start__lt=timezone.now()).latest("scheduled_start")
    audit.check(page, "client-page")
    page.locator("details summary").first.click()  # a chart's data table, opened
    audit.check(page, "client-page-table-open")

    page.locator(f"table a[href='/sessions/{recent.pk}/']").click()  # the one with a note
    page.wait_for_url("**/sessions/*/")
    audit.check(page, "session-detail")

    fresh = alice.clients.get(display_name="X.Y.")
    page.goto(f"{live_server.url}/clients/{fresh.pk}/")
    audit.check(page, "client-page-new-client")

    waiting = alice.clients.get(display_name="M.N.")
    page.goto(f"{live_server.url}/clients/{waiting.pk}/")
    assert page.get_by_role("heading", name="Needs attendance recorded").is_visible()
    audit.check(page, "client-page-needs-attendance")
    page.get_by_role("link", name=re.compile("^Record attendance")).click()
    page.wait_for_url("**/sessions/*/edit/")
    audit.check(page, "session-form-record-attendance")
    audit.assert_clean()


def test_session_log_form_and_new_client_form(page, live_server, alice, alice_client, password, audit):
    login_as(page, live_server, alice, password)
    page.goto(f"{live_server.url}/clients/new/")
    audit.check(page, "client-form")
    page.goto(f"{live_server.url}/clients/{alice_client.pk}/sessions/new/")
    audit.check(page, "session-form")
    # Attended but not rated, and a date that does not parse: errors on the tap controls too.
    page.get_by_label("Date").fill("")
    page.get_by_role("button", name="Save session").click()
    page.get_by_text("Nothing was saved").wait_for()
    assert page.get_by_text("Rate this from 0 to 10: the session was attended.").count() == 4
    audit.check(page, "session-form-errors")
    page.goto(f"{live_server.url}/clients/{alice_client.pk}/sessions/book/")
    audit.check(page, "session-book-form")
    audit.assert_clean()


def test_error_pages_and_the_discharge_confirmation(page, live_server, alice, alice_client, password, audit):
    login_as(page, live_server, alice, password)
    assert page.goto(f"{live_server.url}/no-such-page/").status == 404
    assert page.get_by_role("heading", name="We can't find that page").is_visible()
    audit.check(page, "error-404")
    assert page.goto(f"{live_server.url}/clinic/audit/").status == 403
    assert page.get_by_role("heading", name="You don't have access to this page").is_visible()
    audit.check(page, "error-403")
    page.goto(f"{live_server.url}/clients/{alice_client.pk}/")
    page.get_by_role("link", name="Discharge…").click()
    assert page.get_by_role("heading", name="Discharge J.D.?").is_visible()
    audit.check(page, "discharge-confirm")
    audit.assert_clean()


def test_survey_form_thanks_and_gone_on_a_phone(phone, live_server, alice_client, audit):
    _, invitation_ = log_session(client=alice_client)
    send_inline(invitation_)
    url = f"{live_server.url}/s/{token_of(mail.outbox[-1])}/"
    phone.goto(url)
    audit.check(phone, "survey-form")
    phone.locator("label[for='trust-7']").tap()
    phone.evaluate("document.querySelector('form.survey-form').noValidate = true")
    phone.get_by_role("button", name="Send my answers").tap()
    phone.get_by_role("alert").wait_for()
    audit.check(phone, "survey-form-errors")
    for dimension in ("trust", "empathy", "boundaries", "collaboration"):
        phone.locator(f"label[for='{dimension}-8']").tap()
    phone.get_by_role("button", name="Send my answers").tap()
    phone.wait_for_url("**/s/thanks/**")
    audit.check(phone, "survey-thanks")
    phone.goto(url)
    assert phone.get_by_role("heading", name="This link can no longer be used").is_visible()
    audit.check(phone, "survey-gone")
    audit.assert_clean()


def test_needs_attention(page, live_server, alice, alice_client, password, audit):
    populated_caseload(alice, alice_client)
    login_as(page, live_server, alice, password)
    page.goto(f"{live_server.url}/attention/")
    assert page.get_by_role("link", name="R.S.").first.is_visible()
    audit.check(page, "needs-attention")
    audit.assert_clean()


def test_clinic_dashboard(page, live_server, alice, bob, carol, alice_client, bob_client, password, audit):
    populated_caseload(alice, alice_client)
    second_therapists_client(bob_client)
    login_as(page, live_server, carol, password)
    page.goto(f"{live_server.url}/clinic/dashboard/")
    wait_for_charts(page)
    assert page.get_by_role("link", name="Alice Therapist").is_visible()
    audit.check(page, "clinic-dashboard")
    page.get_by_role("link", name="Alice Therapist").click()
    page.wait_for_url("**/clinic/therapists/**")
    audit.check(page, "clinic-therapist")
    audit.assert_clean()


@pytest.mark.parametrize("who", ROLES)
def test_every_staff_page(who, new_page, live_server, alice, bob, carol, alice_client, bob_client, password, audit):
    """Every page in tests/e2e/staff_pages.py, with data, at desktop width: the ones the
    tests above walk through and the rest (staff, settings, audit, data rights, password
    reset, second-factor setup, unsubscribe, the in-session check-in). At phone width:
    tests/e2e/test_phone_width.py."""
    seeded = seed_staff_pages(alice=alice, bob=bob, carol=carol, alice_client=alice_client, bob_client=bob_client)
    page = new_page("desktop")
    log_in_as(page, live_server.url, who, cast=seeded["cast"], password=password)
    for staff_page in pages_for(who):
        visit(page, live_server.url, staff_page, seeded)
        name = f"desktop-{staff_page.name}"
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, f"{name} is wider than the screen"
        assert not template_source_shown(page), f"{name} shows template source: {template_source_shown(page)!r}"
        audit.check(page, name)
    audit.assert_clean()


# --- The keyboard alone -------------------------------------------------------------------------


# The focus ring of an element: its outline and box-shadow as computed now. For a radio
# input, which Bootstrap's .btn-check hides, the label drawn as its button.
RING = """(el) => {
    const drawn = (el.type === "radio" && el.labels.length) ? el.labels[0] : el;
    const style = getComputedStyle(drawn);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0
        ? `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}` : "";
    const shadow = style.boxShadow === "none" ? "" : style.boxShadow;
    return outline || shadow ? `outline: ${outline || "none"}; box-shadow: ${shadow || "none"}` : "";
}"""


def rings_at_rest(page):
    """Every control's ring before anything has focus, keyed by id, or by type for the
    button (no focus() call)."""
    return page.evaluate(
        f"() => Object.fromEntries([...document.querySelector('form.survey-form').elements]"
        f".map(el => [el.id || el.type, ({RING})(el)]))"
    )


def focused(page, at_rest):
    """The focused element's id and tag, its ring, and whether the ring is visible: there
    is one, and it is not what the element shows without focus."""
    now = page.evaluate(f"() => {{ const el = document.activeElement; "
                        f"return {{id: el.id, key: el.id || el.type, tag: el.tagName, ring: ({RING})(el)}}; }}")
    assert now["key"] in at_rest, now
    now["visible"] = bool(now["ring"]) and now["ring"] != at_rest[now["key"]]
    return now


def test_the_survey_is_answered_with_the_keyboard_alone(page, live_server, alice_client, shot):
    """From page load: Tab into each question, choose with the arrow keys, Tab to the
    comment, type, Tab to the button, Enter. No mouse, no focus() calls."""
    _, invitation_ = log_session(client=alice_client)
    send_inline(invitation_)
    page.goto(f"{live_server.url}/s/{token_of(mail.outbox[-1])}/")
    page.wait_for_load_state("networkidle")
    at_rest = rings_at_rest(page)
    assert page.evaluate("document.activeElement === document.body")

    answers = {"trust": 7, "empathy": 9, "boundaries": 10, "collaboration": 4}
    for dimension, value in answers.items():
        page.keyboard.press("Tab")
        now = focused(page, at_rest)
        # An unanswered radio group is entered at its first option, 0.
        assert now["id"] == f"{dimension}-0", now
        assert now["visible"], f"no visible focus on {dimension}-0: {now}"
        for _ in range(value):
            page.keyboard.press("ArrowRight")
        now = focused(page, at_rest)
        assert now["id"] == f"{dimension}-{value}" and now["visible"], now
        assert page.locator(f"#{dimension}-{value}").is_checked()
        if dimension == "trust":
            shot(page, "focus-on-an-answer")

    page.keyboard.press("Tab")
    now = focused(page, at_rest)
    assert now["id"] == "id_comment" and now["visible"], now
    page.keyboard.type("Said with the keyboard.")
    page.keyboard.press("Tab")
    now = focused(page, at_rest)
    assert now["tag"] == "BUTTON" and now["visible"], now
    assert page.evaluate("document.activeElement.type") == "submit"
    shot(page, "focus-on-send")
    page.keyboard.press("Enter")

    page.wait_for_url("**/s/thanks/**")
    shot(page, "thanks")
    saved = CheckIn.objects.get(session_id=invitation_.session_id, source=CheckIn.Source.CLIENT)
    assert {d: getattr(saved, d) for d in answers} == answers
    assert saved.comment == "Said with the keyboard."


def test_an_arabic_check_in_mirrors_and_passes_axe(phone, live_server, alice_client, audit):
    """Arabic reads right to left: the page says so (dir="rtl"), loads Bootstrap's RTL
    build, and the scale's "not at all" end sits on the right."""
    type(alice_client).objects.filter(pk=alice_client.pk).update(language="ar")
    _, invitation_ = log_session(client=alice_client)
    send_inline(invitation_)
    url = f"{live_server.url}/s/{token_of(mail.outbox[-1])}/"
    phone.goto(url)
    assert phone.evaluate("document.documentElement.dir") == "rtl"
    assert phone.evaluate("document.documentElement.lang") == "ar"
    assert phone.evaluate("getComputedStyle(document.body).direction") == "rtl"
    low, high = phone.locator("fieldset").first.locator(".scale-anchors span").all()
    assert low.inner_text() == "0 = إطلاقًا"
    assert low.bounding_box()["x"] > high.bounding_box()["x"]
    first = phone.locator("label[for='trust-0']")
    assert first.bounding_box()["x"] + first.bounding_box()["width"] > phone.viewport_size["width"] / 2
    audit.check(phone, "survey-form-arabic")
    for dimension in ("trust", "empathy", "boundaries", "collaboration"):
        phone.locator(f"label[for='{dimension}-8']").tap()
    phone.get_by_role("button", name="إرسال إجاباتي").tap()
    phone.wait_for_url("**/s/thanks/**")
    assert phone.get_by_role("heading", name="شكرًا لك").is_visible()
    assert phone.evaluate("document.documentElement.dir") == "rtl"
    audit.check(phone, "survey-thanks-arabic")
    audit.assert_clean()
