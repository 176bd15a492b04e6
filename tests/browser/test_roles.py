"""Roles in the Admin Portal and the operator console, in headless Chromium (issue 20): the application
declares its roles through the management API; the customer's IT admin opens the setup link, finds
their own groups by name on the Roles tab, gives them roles in priority order and saves; the page says
how many users' roles changed, and the Users tab shows each user's role. The console shows the same
assignments read-only, and the users' roles.

The screenshot docs/portal/11-roles.png is taken here (infra/browser.sh, SCIM_WRITE_SCREENSHOTS=1)."""

import re

import pytest
from playwright.sync_api import expect

from conftest import BASE, ROOT, Idp
from test_console import enter
from test_portal import no_horizontal_scroll, open_link, unnamed_controls

pytestmark = pytest.mark.skipif(
    not (ROOT / "src" / "service" / "portal_roles.rs").exists(), reason="the portal's Roles step is not built yet"
)

ROLES = {
    "roles": [
        {"slug": "admin", "name": "Admin", "description": "Manages billing and members"},
        {"slug": "member", "name": "Member", "description": "Uses the application"},
        {"slug": "viewer", "name": "Viewer", "description": "Reads, changes nothing"},
    ],
    "default": "viewer",
}


def listed(page):
    """The group names of the priority list, in order."""
    return [n.strip() for n in page.locator("#assignments li .group").all_inner_texts()]


def press(page, name):
    """Presses one of the Roles form's buttons: the form posts and the page comes back."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def find(page, prefix):
    """Types a name prefix into the group search and presses Enter (the search, not a move)."""
    page.fill("#q", prefix)
    with page.expect_navigation():
        page.locator("#q").press("Enter")


def test_an_admin_gives_their_groups_roles_in_priority_order_and_sees_each_users_role(
    manage, page, shot, console, browser
):
    manage.call("PUT", "/manage/roles", ROLES)
    d = manage.directory("Initech")
    idp = Idp(d["scim_v2_url"], d["token"])
    peter = idp.user("peter@initech.example", "Peter Gibbons")
    samir = idp.user("samir@initech.example", "Samir Nagheenanajar")
    milton = idp.user("milton@initech.example", "Milton Waddams")
    idp.group("Admins", [peter])
    idp.group("Engineering", [peter, samir])
    idp.group("Everyone", [peter, samir, milton])
    idp.group("Executives", [])

    open_link(page, manage.link(d["id"], app_name="Initech HR"))
    page.get_by_role("link", name="Roles").click()
    page.wait_for_url(re.compile(r"/portal/roles$"))
    roles = page.locator("table#roles")
    for r in ROLES["roles"]:
        expect(roles).to_contain_text(r["name"])
        expect(roles).to_contain_text(r["description"])
    expect(page.locator("#no-assignments")).to_be_visible()
    expect(page.locator("#default option:checked")).to_have_text("The application's default (Viewer)")

    # Find each group by the start of its name, give it a role.
    find(page, "adm")
    results = page.locator("table#group-results")
    expect(results).to_contain_text("Admins")
    expect(results).not_to_contain_text("Engineering")
    page.select_option("#give", "admin")
    press(page, "Add Admins")
    find(page, "e")
    expect(results).to_contain_text("Engineering")
    expect(results).to_contain_text("Everyone")
    page.select_option("#give", "member")
    press(page, "Add Everyone")
    press(page, "Add Engineering")
    expect(results.locator("tr", has_text="Admins")).to_have_count(0)  # "adm" no longer searched
    expect(results.locator("tr", has_text="Everyone")).to_contain_text("Gives Member")
    expect(results.get_by_role("button", name="Add Executives")).to_be_visible()
    assert listed(page) == ["Admins", "Everyone", "Engineering"]
    expect(page.locator("#unsaved")).to_be_visible()

    # Priority: Engineering above Everyone (a user in both gets Engineering's role).
    press(page, "Move Engineering up")
    assert listed(page) == ["Admins", "Engineering", "Everyone"]
    press(page, "Move Admins down")
    assert listed(page) == ["Engineering", "Admins", "Everyone"]
    press(page, "Move Admins up")
    assert listed(page) == ["Admins", "Engineering", "Everyone"]

    # Nothing is stored before Save.
    assert manage.call("GET", f"/manage/directories/{d['id']}/role-assignments")["assignments"] == []
    press(page, "Save")
    saved = page.locator("#roles-saved")
    expect(saved).to_contain_text("Saved.")
    # Everyone's role moved off the default (Viewer): Peter to Admin, Samir and Milton to Member.
    expect(saved).to_have_attribute("data-users-updated", "3")
    expect(saved).to_contain_text("3 users' roles changed.")
    expect(saved).to_have_attribute("data-pending", "false")
    expect(page.locator("#unsaved")).to_have_count(0)
    assert listed(page) == ["Admins", "Engineering", "Everyone"]
    shot(page, "11-roles")
    assigned = manage.call("GET", f"/manage/directories/{d['id']}/role-assignments")["assignments"]
    assert [(a["group_name"], a["role"], a["priority"]) for a in assigned] == [
        ("Admins", "admin", 1),
        ("Engineering", "member", 2),
        ("Everyone", "member", 3),
    ]

    # Each user's role, on the Users tab and the user's page.
    page.get_by_role("link", name="Users").click()
    users = page.locator("table#users")
    expect(users.locator("tr", has_text="peter@initech.example").locator("td.role")).to_have_text("Admin")
    expect(users.locator("tr", has_text="samir@initech.example").locator("td.role")).to_have_text("Member")
    expect(users.locator("tr", has_text="milton@initech.example").locator("td.role")).to_have_text("Member")
    users.get_by_role("link", name="Peter Gibbons").click()
    expect(page.locator("#user-role")).to_have_text("Admin")
    expect(page.locator("#user-roles")).to_have_text("Admin, Member")
    activity = manage.call("GET", f"/manage/directories/{d['id']}/portal-activity")
    assert activity[0]["action"] == "roles_assigned", activity

    # At 320 px: no sideways scrolling, every control named.
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(BASE + "/portal/roles")
    assert no_horizontal_scroll(page), "the Roles page scrolls sideways at 320 px"
    assert unnamed_controls(page) == []

    # The operator console shows the same, read-only.
    ops = page.context.new_page()
    enter(ops, console)
    ops.goto(f"{console.origin}/directories/{d['id']}/roles")
    table = ops.locator("table#role-assignments")
    expect(table.locator("tr", has_text="Admins")).to_contain_text("Admin")
    expect(table.locator("tbody tr").first).to_contain_text("Admins")
    expect(ops.locator("#role-defaults")).to_contain_text("Viewer")
    expect(ops.locator("#role-sync")).to_have_text("Done")
    ops.get_by_role("link", name="Users").click()
    expect(ops.locator("table#users tr", has_text="peter@initech.example").locator("td.role")).to_have_text("Admin")
