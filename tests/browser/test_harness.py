"""The harness itself works, portal or not: Chromium runs, the management API answers with the key
infra/browser.sh read, setup links are made and revoked, and the server's clock can be moved (the
expired-link test relies on it)."""

from conftest import BASE, KEY, secret_of


def test_chromium_reads_the_management_api_description(context, page):
    # The management API wants its key: the browser sends it as an extra header. What matters is
    # that Chromium runs and reaches scim-local.
    context.set_extra_http_headers({"Authorization": f"Bearer {KEY}"})
    response = page.goto(BASE + "/manage/openapi.json")
    assert response.status == 200
    assert "/manage/directories/{directoryId}/portal-links" in response.json()["paths"]


def test_a_setup_link_is_made_listed_and_revoked(manage):
    d = manage.directory("harness")
    link = manage.link(d["id"], app_name="Acme")
    assert link["url"].startswith(BASE + "/portal/")
    secret_of(link["url"])
    assert [l["id"] for l in manage.links(d["id"])] == [link["id"]]
    manage.revoke(d["id"], link["id"])
    assert manage.links(d["id"]) == []


def test_the_server_clock_moves_forward(manage, clock):
    # A one-minute link stops being listed once the faked clock passes its expiry.
    d = manage.directory("harness clock")
    link = manage.link(d["id"], expires_in_minutes=1)
    assert [l["id"] for l in manage.links(d["id"])] == [link["id"]]
    clock.advance(120)
    assert manage.links(d["id"]) == []
