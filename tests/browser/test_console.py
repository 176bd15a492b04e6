"""The operator console as the SaaS team meets it, in headless Chromium (issue 19): `scimctl console`
runs against scim-local with the management key and prints an address with a one-time token; the
operator opens it, adds a directory for a customer with its provider, copies the token shown once and
a setup link for the customer's IT admin; the IdP (played with `requests`) pushes users and a group,
and the console lists them; a token is issued and the first one revoked. Then: markup an IdP sent is
text, every page carries a strict CSP and is not stored, and nothing is shown without the token or
done without the CSRF field.

The screenshots of docs/console/ are taken along the way (infra/browser.sh, SCIM_WRITE_SCREENSHOTS=1)."""

import re

import pytest
import requests
from playwright.sync_api import expect

from conftest import BASE, KEY, ROOT, Idp

pytestmark = pytest.mark.skipif(
    not (ROOT / "src" / "api" / "console").exists(), reason="the console is not built yet (src/api/console)"
)

XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "<script>window.__xss=2</script>"


def enter(page, console):
    """Opens the printed address: the token becomes a cookie and leaves the address bar."""
    page.goto(console.url)
    page.wait_for_url(console.origin + "/")
    assert "token=" not in page.url


def add_directory(page, name, provider):
    """Adds a directory through the form; returns (directory page URL, base URL, token) shown once."""
    page.get_by_role("link", name="Add directory").first.click()
    page.fill("#name", name)
    page.select_option("#provider", provider)
    page.get_by_role("button", name="Add directory").click()
    token = page.locator("code[data-value=bearer_token]")
    expect(token).to_have_text(re.compile(r"^scim_sk_[0-9a-f]{64}$"))
    base_url = page.locator("code[data-value=base_url]").inner_text().strip()
    return base_url, token.inner_text().strip()


def test_the_team_adds_a_directory_sends_a_setup_link_and_sees_what_the_idp_pushed(console, browser, console_shot):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.origin)
    page = context.new_page()
    enter(page, console)
    expect(page.get_by_role("heading", name=re.compile("^Directories"))).to_be_visible()
    console_shot(page, "01-directories")

    page.get_by_role("link", name="Add directory").first.click()
    expect(page.locator("#provider option")).to_have_count(9)  # eight providers and "let the admin choose"
    page.fill("#name", "Globex")
    page.select_option("#provider", "okta")
    console_shot(page, "02-add-directory")
    page.get_by_role("button", name="Add directory").click()
    token_code = page.locator("code[data-value=bearer_token]")
    expect(token_code).to_have_text(re.compile(r"^scim_sk_[0-9a-f]{64}$"))
    token = token_code.inner_text().strip()
    base_url = page.locator("code[data-value=base_url]").inner_text().strip()
    expect(page.get_by_text(re.compile("shown this once"))).to_be_visible()
    page.get_by_role("button", name="Copy the token").click()
    assert page.evaluate("navigator.clipboard.readText()") == token
    console_shot(page, "03-directory-added")

    # The directory's page: the token is not shown again.
    page.get_by_role("link", name="Open the directory").click()
    directory_url = page.url
    assert token not in page.content()
    expect(page.locator("#overview")).to_contain_text("Okta")
    expect(page.locator(".status")).to_have_attribute("data-status", "pending")

    # A setup link for the customer's IT admin, shown once with a copy button.
    page.get_by_role("button", name="Copy a setup link").click()
    link = page.locator("code[data-value=setup_link]")
    expect(link).to_have_text(re.compile(re.escape(BASE) + r"/portal/open.*#scim_pl_[0-9a-f]{64}$"))
    page.get_by_role("button", name="Copy the setup link").click()
    assert page.evaluate("navigator.clipboard.readText()") == link.inner_text().strip()
    console_shot(page, "04-setup-link")
    page.goto(directory_url)
    assert "scim_pl_" not in page.content()

    # The customer's Okta provisions with the values the console showed.
    idp = Idp(base_url, token)
    ada = idp.user("ada@globex.example", "Ada Lovelace", "Ada", "Lovelace")
    alan = idp.user("alan@globex.example", "Alan Turing", "Alan", "Turing")
    grace = idp.user("grace@globex.example", "Grace Hopper", "Grace", "Hopper")
    idp.group("Engineering", [ada, alan, grace])

    page.reload()
    expect(page.locator(".status")).to_have_attribute("data-status", "linked")
    expect(page.locator("#users-count")).to_have_text("3 users")
    expect(page.locator("#groups-count")).to_have_text("1 group")
    console_shot(page, "05-directory")

    page.get_by_role("link", name="Users", exact=True).click()
    users = page.locator("table#users")
    for u in (ada, alan, grace):
        expect(users).to_contain_text(u["userName"])
    expect(users).to_contain_text("Engineering")
    console_shot(page, "06-users")
    page.get_by_role("link", name="Groups", exact=True).click()
    expect(page.locator("table#groups")).to_contain_text("Engineering")
    page.get_by_role("link", name="Events", exact=True).click()
    events = page.locator("table#events")
    expect(events).to_contain_text("dsync.user.created")
    expect(events).to_contain_text("dsync.group.user_added")
    console_shot(page, "07-events")

    # The list shows the directory with its provider, status and counts.
    page.get_by_role("link", name="Directories", exact=True).click()
    row = page.locator("#directories tr", has_text="Globex")
    expect(row).to_contain_text("Okta")
    expect(row.locator(".status")).to_have_attribute("data-status", "linked")
    expect(row.locator("td.num").nth(0)).to_have_text("3")
    expect(row.locator("td.num").nth(1)).to_have_text("1")
    console_shot(page, "08-directories-linked")

    # Rotation: issue a second token, then revoke the first; the IdP's old token stops working.
    page.goto(directory_url + "/credentials")
    expect(page.locator("table#tokens tbody tr")).to_have_count(1)
    first_id = page.locator("table#tokens tbody tr").first.get_attribute("data-id")
    page.get_by_role("button", name="Issue a token").click()
    second = page.locator("code[data-value=bearer_token]").inner_text().strip()
    assert re.fullmatch(r"scim_sk_[0-9a-f]{64}", second) and second != token
    expect(page.locator("table#tokens tbody tr")).to_have_count(2)
    console_shot(page, "09-credentials")
    page.get_by_role("button", name=f"Revoke token {first_id}").click()
    page.wait_for_url(directory_url + "/credentials")
    expect(page.locator("table#tokens tbody tr")).to_have_count(1)
    expect(page.locator(f"table#tokens tr[data-id='{first_id}']")).to_have_count(0)
    assert second not in page.content() and token not in page.content()
    context.close()


def test_the_request_log_tab_is_shown_exactly_when_the_api_keeps_one(console, manage, page):
    d = manage.directory("Initech")
    answer = requests.get(
        f"{BASE}/manage/directories/{d['id']}/requests?limit=1", headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    )
    enter(page, console)
    page.goto(f"{console.origin}/directories/{d['id']}")
    tab = page.locator("nav.tabs a", has_text="Requests")
    if answer.status_code == 200:
        expect(tab).to_have_count(1)
        tab.click()
        expect(page.locator("form.filters select#status")).to_be_visible()
    else:
        expect(tab).to_have_count(0)


def test_markup_from_the_idp_is_shown_as_text_and_never_runs(console, manage, page):
    d = manage.directory("Hooli " + XSS_SCRIPT)
    idp = Idp(d["scim_v2_url"], d["token"])
    idp.user("mallory@hooli.example", XSS_IMG, XSS_SCRIPT, XSS_IMG)
    idp.group(XSS_IMG)
    enter(page, console)
    for path in ("/", f"/directories/{d['id']}", f"/directories/{d['id']}/users", f"/directories/{d['id']}/groups", f"/directories/{d['id']}/events"):
        page.goto(console.origin + path)
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("main img").count() == 0, path
    page.goto(f"{console.origin}/directories/{d['id']}/users")
    expect(page.locator("table#users")).to_contain_text(XSS_IMG)
    page.goto(f"{console.origin}/directories/{d['id']}/groups")
    expect(page.locator("table#groups")).to_contain_text(XSS_IMG)


def test_every_page_carries_a_strict_csp_and_is_not_stored(console, manage, page):
    d = manage.directory("Umbrella")
    enter(page, console)
    for path in ("/", "/directories/new", f"/directories/{d['id']}", f"/directories/{d['id']}/credentials"):
        response = page.goto(console.origin + path)
        h = response.headers
        csp = h.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, f"{path}: {csp}"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, f"{path}: {csp}"
        assert h.get("cache-control") == "no-store", path
        assert h.get("x-frame-options") == "DENY" and h.get("referrer-policy") == "no-referrer", path


def test_without_the_printed_token_the_console_shows_nothing(console, browser):
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(console.origin + "/")
    assert response.status == 401
    expect(page.locator("table#directories")).to_have_count(0)
    response = page.goto(console.origin + "/?token=" + "0" * 64)
    assert response.status == 401
    assert not context.cookies()
    # The real token sets an HttpOnly, SameSite=Strict cookie.
    page.goto(console.url)
    (cookie,) = context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    context.close()


def test_another_host_name_and_a_form_without_the_csrf_field_are_refused(console, manage, page):
    # DNS rebinding: a page of another site whose name resolves to 127.0.0.1 sends its own Host.
    port = console.origin.rsplit(":", 1)[1]
    r = requests.get(f"http://127.0.0.1:{port}/?" + console.url.split("?")[1], headers={"Host": f"evil.example:{port}"}, timeout=10, allow_redirects=False)
    assert r.status_code == 403 and "set-cookie" not in r.headers
    d = manage.directory("Soylent")
    enter(page, console)
    page.goto(f"{console.origin}/directories/{d['id']}/credentials")
    before = page.locator("table#tokens tbody tr").count()
    page.evaluate("document.querySelector('#issue-token input[name=csrf]').remove()")
    page.get_by_role("button", name="Issue a token").click()
    expect(page.get_by_role("heading", name="This form has expired")).to_be_visible()
    page.goto(f"{console.origin}/directories/{d['id']}/credentials")
    expect(page.locator("table#tokens tbody tr")).to_have_count(before)
