"""Custom attributes in the Admin Portal, in headless Chromium (issue 20): the application declares its
keys through the management API; the customer's IT admin opens the setup link, finds the Attributes
tab, types where their IdP puts each key, previews what that makes of the directory's newest users
(nothing is stored), then saves; the application reads the mapping and the portal activity.

The screenshot docs/portal/12-attributes.png is taken here (infra/browser.sh, SCIM_WRITE_SCREENSHOTS=1).
The keys are stack-wide: the test removes them when it ends, so the other tests see a stack without."""

import re

import pytest
from playwright.sync_api import expect

from conftest import BASE, ROOT, SCIM_USER, Idp
from test_portal import no_horizontal_scroll, open_link, unnamed_controls

pytestmark = pytest.mark.skipif(
    not (ROOT / "src" / "service" / "portal_attributes.rs").exists(), reason="the portal's Attributes step is not built yet"
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OKTA = "urn:ietf:params:scim:schemas:extension:okta:1.0:User"
KEYS = {
    "attributes": [
        {"key": "department", "description": "The team that pays for the seat"},
        {"key": "city", "description": "Where the person works"},
        {"key": "cost_code"},
    ]
}
CITY = 'addresses[type eq "work"].locality'
COST_CODE = f"{OKTA}:costCode"


def okta_user(idp, user_name, department, city, cost_code):
    """A user as Okta pushes it with the enterprise extension and an attribute of its own profile."""
    body = {
        "schemas": [SCIM_USER, ENTERPRISE, OKTA],
        "userName": user_name,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "addresses": [{"type": "work", "locality": city}],
        "active": True,
        ENTERPRISE: {"department": department},
        OKTA: {"costCode": cost_code},
    }
    r = idp.http.post(f"{idp.base}/Users", json=body, timeout=10)
    assert r.status_code == 201, r.text
    return r.json()


def press(page, name):
    """Presses one of the form's buttons: the form posts and the page comes back."""
    with page.expect_navigation():
        page.get_by_role("button", name=name, exact=True).click()


def test_an_admin_maps_their_idps_attributes_previews_them_and_saves(manage, page, shot):
    manage.call("PUT", "/manage/custom-attributes", KEYS)
    d = manage.directory("Hooli")
    try:
        idp = Idp(d["scim_v2_url"], d["token"])
        gilfoyle = okta_user(idp, "gilfoyle@hooli.example", "Engineering", "Palo Alto", "CC-7")
        okta_user(idp, "dinesh@hooli.example", "Engineering", "Mountain View", "CC-7")
        okta_user(idp, "monica@hooli.example", "Product", "San Francisco", "CC-2")

        open_link(page, manage.link(d["id"], app_name="Hooli HR"))
        page.get_by_role("link", name="Attributes").click()
        page.wait_for_url(re.compile(r"/portal/attributes$"))
        in_force = page.locator("table#attribute-mapping")
        expect(in_force.locator("tr[data-key=department]")).to_contain_text("default")
        expect(in_force.locator("tr[data-key=city]")).to_contain_text("Not mapped")
        expect(page.get_by_label("city")).to_have_value("")
        expect(page.get_by_label("department")).to_have_attribute("placeholder", f"{ENTERPRISE}:department")

        # Type where the IdP puts the city and the cost code; Preview stores nothing.
        page.get_by_label("city").fill(CITY)
        page.get_by_label("cost_code").fill(COST_CODE)
        press(page, "Preview")
        expect(page.locator("#preview-summary")).to_contain_text("The 3 newest users: 3 users' attributes change.")
        row = page.locator(f"#preview-users tbody[data-user='{gilfoyle['id']}']")
        expect(row).to_have_attribute("data-changed", "true")
        expect(row.locator("tr[data-key=city] td.after")).to_have_text("Palo Alto")
        expect(row.locator("tr[data-key=city] td.after")).to_have_class(re.compile(r"\bchanged\b"))
        expect(row.locator("tr[data-key=department] td.after")).not_to_have_class(re.compile(r"\bchanged\b"))
        expect(page.locator("#unsaved")).to_be_visible()
        expect(page.get_by_label("city")).to_have_value(CITY)
        assert manage.call("GET", f"/manage/directories/{d['id']}/custom-attributes")["mappings"] == []
        shot(page, "12-attributes")

        # Save: the application reads the mapping, the users' values and the portal activity.
        press(page, "Save")
        expect(page.locator("#attributes-saved")).to_contain_text("Saved.")
        expect(page.locator("#unsaved")).to_have_count(0)
        expect(in_force.locator("tr[data-key=city]")).to_contain_text(CITY)
        saved = manage.call("GET", f"/manage/directories/{d['id']}/custom-attributes")
        assert sorted((m["key"], m["path"]) for m in saved["mappings"]) == [("city", CITY), ("cost_code", COST_CODE)]
        user = manage.call("GET", f"/manage/directories/{d['id']}/users/{gilfoyle['id']}")
        assert user["custom_attributes"] == {"department": "Engineering", "city": "Palo Alto", "cost_code": "CC-7"}
        activity = manage.call("GET", f"/manage/directories/{d['id']}/portal-activity")
        assert activity[0]["action"] == "attributes_mapped", activity

        # A path that does not parse: the reason, naming the key, and nothing changes.
        page.get_by_label("city").fill('addresses[type eq "work"')
        press(page, "Save")
        expect(page.locator("#attributes-error")).to_contain_text("Not saved. city:")
        assert manage.call("GET", f"/manage/directories/{d['id']}/custom-attributes")["mappings"] == saved["mappings"]

        # At 320 px: no sideways scrolling, every control named.
        page.set_viewport_size({"width": 320, "height": 640})
        page.goto(BASE + "/portal/attributes")
        assert no_horizontal_scroll(page), "the Attributes page scrolls sideways at 320 px"
        assert unnamed_controls(page) == []
    finally:
        # The keys are the stack's: leave the other tests a stack that declares none.
        manage.call("PUT", f"/manage/directories/{d['id']}/custom-attributes", {"mappings": []})
        manage.call("PUT", "/manage/custom-attributes", {"attributes": []})
