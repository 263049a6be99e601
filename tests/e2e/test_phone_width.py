"""Staff pages on a phone: therapists look at their caseload between sessions on one.
Every page in tests/e2e/staff_pages.py is opened in a real Chromium at 390×844 (an
iPhone 12 to 15), with data in every column, and must fit the screen: the page is no
wider than it, nothing a user reads or presses sits past its edge or behind sideways
scrolling (a table's cells included), the page's key controls are on screen, and axe
finds nothing serious or critical at that width either."""

import pytest

from tests.e2e.staff_pages import (
    MENU, ROLES, log_in_as, pages_for, seed_staff_pages, template_source_shown, visit,
)
from tests.e2e.test_accessibility import audit  # noqa: F401 - the axe fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}

# What a user reads or presses: each must lie within the screen's width, unless it is not
# drawn at all (a collapsed menu, a closed <details>) or hidden for screen readers only.
OVERFLOWING = """(root) => {
    const width = document.documentElement.clientWidth;
    const clippedAway = el => {
        for (let a = el; a; a = a.parentElement) {
            const s = getComputedStyle(a), r = a.getBoundingClientRect();
            if ((s.clip !== "auto" || s.clipPath !== "none") && (r.width <= 1 || r.height <= 1)) return true;
        }
        return false;
    };
    const what = el => `${el.tagName.toLowerCase()}${el.className && typeof el.className === "string"
        ? "." + el.className.trim().split(/\\s+/).join(".") : ""} "${(el.innerText || el.value || el.alt || "")
        .trim().replace(/\\s+/g, " ").slice(0, 50)}"`;
    const selector = "a, button, input, select, textarea, summary, label, td, th, .badge, code, pre, img, svg, "
        + "canvas, progress, h1, h2, h3, p, li, dt, dd, blockquote";
    return [...document.querySelector(root).querySelectorAll(selector)].flatMap(el => {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0 || clippedAway(el)) return [];
        if (r.left >= -0.5 && r.right <= width + 0.5) return [];
        return [`${what(el)} spans ${Math.round(r.left)}–${Math.round(r.right)} px`];
    });
}"""

# The cells under a column header, in every table on the page that has one: each must be
# drawn, and within the screen's width.
COLUMN = """(header) => {
    const width = document.documentElement.clientWidth;
    const cells = [];
    for (const table of document.querySelectorAll("table")) {
        const heads = [...(table.tHead ? table.tHead.rows[0].cells : [])];
        const index = heads.findIndex(th => th.textContent.trim() === header);
        if (index < 0) continue;
        for (const body of table.tBodies) {
            for (const row of body.rows) {
                if (row.cells.length !== heads.length) continue;  // an empty table's one-cell row
                const cell = row.cells[index], r = cell.getBoundingClientRect();
                cells.push({text: cell.innerText.trim().replace(/\\s+/g, " ").slice(0, 40),
                            shown: r.width > 0 && r.height > 0, left: r.left, right: r.right, width});
            }
        }
    }
    return cells;
}"""


def _at_most(lines, n=6):
    return lines if len(lines) <= n else [*lines[:n], f"… and {len(lines) - n} more"]


def _fits(page, name, key):
    """What is wrong with the page as shown now, at phone width: one line per problem."""
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"the page is {width} px wide")
    problems += _at_most(page.evaluate(OVERFLOWING, "body"))
    if leaked := template_source_shown(page):
        problems.append(f"shows template source as text: {leaked!r}")
    for item in key:
        if item.startswith("column:"):
            header = item.removeprefix("column:")
            cells = page.evaluate(COLUMN, header)
            if not cells:
                problems.append(f"no cell under the column {header!r}")
            off = [c for c in cells if not c["shown"] or c["left"] < -0.5 or c["right"] > c["width"] + 0.5]
            if off:
                c = off[0]
                problems.append(f"{len(off)} of {len(cells)} cells under {header!r} are off screen, "
                                f"e.g. {c['text']!r} at {round(c['left'])}–{round(c['right'])} px")
            continue
        found = page.locator(item)
        boxes = [found.nth(i).bounding_box() for i in range(found.count()) if found.nth(i).is_visible()]
        if not boxes:
            problems.append(f"{item} is not shown")
        off = [b for b in boxes if b["x"] < -0.5 or b["x"] + b["width"] > PHONE["width"] + 0.5]
        if off:
            problems.append(f"{len(off)} of {len(boxes)} {item} are off screen, "
                            f"e.g. at {round(off[0]['x'])}–{round(off[0]['x'] + off[0]['width'])} px")
    return [f"[{name}] {p}" for p in problems]


def _menu_fits(page, name):
    """The collapsed menu opens with its button, and everything in it fits too."""
    page.locator(MENU).click()
    page.locator("#nav-main.show").wait_for()  # Bootstrap adds .show once the menu has slid open
    problems = _at_most(page.evaluate(OVERFLOWING, "#nav-main"))
    for link in page.locator("#nav-main a, #nav-main button").all():
        if not link.is_visible():
            problems.append(f"{link.inner_text()!r} is not shown in the open menu")
    return [f"[{name}, menu open] {p}" for p in problems]


@pytest.mark.parametrize("who", ROLES)
def test_every_staff_page_fits_a_phone_screen(
    who, new_page, live_server, alice, bob, carol, alice_client, bob_client, password, audit  # noqa: F811
):
    seeded = seed_staff_pages(alice=alice, bob=bob, carol=carol, alice_client=alice_client, bob_client=bob_client)
    page = new_page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    log_in_as(page, live_server.url, who, cast=seeded["cast"], password=password)
    problems = []
    for staff_page in pages_for(who):
        visit(page, live_server.url, staff_page, seeded)
        name = f"phone-{staff_page.name}"
        problems += _fits(page, name, staff_page.key)
        audit.check(page, name)
        # What opens in place (a chart's data table, a flag's acknowledge form) fits too.
        if page.locator("details:not([open])").count():
            page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
            problems += [f"[{name}, details open] {p}" for p in _at_most(page.evaluate(OVERFLOWING, "body"))]
        if MENU in staff_page.key:
            problems += _menu_fits(page, name)
    if problems:
        pytest.fail("pages that do not fit a 390 px screen:\n" + "\n".join(problems), pytrace=False)
    audit.assert_clean()
