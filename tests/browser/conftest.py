"""Fixtures of the Admin Portal's browser tests: the scim-local that infra/browser.sh started (its
public base, management key, faked clock and log), Debian's headless Chromium driven by Playwright,
and the two other parties of every story: the application that makes directories and setup links
through the management API (docs/management-api.md), and the IdP that pushes users with the values
the portal showed (RFC 7644 §3.3).

Run through infra/browser.sh, which sets the SCIM_* variables read here."""

import os
import re
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BASE = os.environ.get("SCIM_PORTAL_BASE", "")
KEY = os.environ.get("SCIM_MANAGEMENT_KEY", "")
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
# Viewport of the screenshots (docs/portal/, README).
DESKTOP = {"width": 1280, "height": 800}


def pytest_configure(config):
    if not BASE or not KEY:
        raise pytest.UsageError("run the browser tests through infra/browser.sh (it starts scim-local)")


# -- the application: directories and setup links through the management API --------------------


class Manage:
    """The SaaS application's side: the management API with scim-local's key."""

    def __init__(self):
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        r = self.http.request(method, BASE + path, json=body, timeout=10)
        assert r.status_code in expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def directory(self, name):
        """A new directory (its id, SCIM URLs, first token)."""
        return self.call("POST", "/manage/directories", {"name": name})

    def link(self, directory_id, **options):
        """A setup link for the directory: `id`, `url` (with the secret), `expires_at`."""
        return self.call("POST", f"/manage/directories/{directory_id}/portal-links", options)

    def revoke(self, directory_id, link_id):
        self.call("DELETE", f"/manage/directories/{directory_id}/portal-links/{link_id}")

    def links(self, directory_id):
        return self.call("GET", f"/manage/directories/{directory_id}/portal-links")


@pytest.fixture(scope="session")
def manage():
    return Manage()


# -- the IdP: pushes users and groups with the base URL and token the portal showed ----------------


class Idp:
    def __init__(self, base_url, token):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})

    def user(self, user_name, display_name=None, given=None, family=None):
        body = {"schemas": [SCIM_USER], "userName": user_name, "active": True}
        if "@" in user_name:
            body["emails"] = [{"value": user_name, "type": "work", "primary": True}]
        if display_name is not None:
            body["displayName"] = display_name
        if given is not None or family is not None:
            body["name"] = {k: v for k, v in (("givenName", given), ("familyName", family)) if v is not None}
        r = self.http.post(f"{self.base}/Users", json=body, timeout=10)
        assert r.status_code == 201, f"POST /Users {user_name!r}: {r.status_code} {r.text}"
        return r.json()

    def post_user(self, user_name):
        """A bare POST /Users whose answer the caller judges (a failing one, say)."""
        body = {"schemas": [SCIM_USER], "userName": user_name}
        return self.http.post(f"{self.base}/Users", json=body, timeout=10)

    def group(self, display_name, members=()):
        body = {"schemas": [SCIM_GROUP], "displayName": display_name, "members": [{"value": m["id"]} for m in members]}
        r = self.http.post(f"{self.base}/Groups", json=body, timeout=10)
        assert r.status_code == 201, f"POST /Groups {display_name!r}: {r.status_code} {r.text}"
        return r.json()


# -- the server's clock (libfaketime offset, moved forward only) ----------------------------------


class Clock:
    """scim-local's wall clock runs under libfaketime (infra/browser.sh); the offset file is read on
    every clock call, so moving it ages every link and session at once. Only ever forward: the
    other tests then see a server a little in the future, which is harmless."""

    def __init__(self, path):
        self.path = Path(path)
        self.offset = 0

    def advance(self, seconds):
        self.offset += seconds
        self.path.write_text(f"+{self.offset}\n")


@pytest.fixture(scope="session")
def clock():
    path = os.environ.get("SCIM_FAKETIME_FILE")
    if not path:
        pytest.skip("scim-local does not run under libfaketime (infra/browser.sh starts it so)")
    return Clock(path)


# -- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        # Debian's Chromium; root in CI needs --no-sandbox.
        b = p.chromium.launch(executable_path=os.environ.get("SCIM_CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture(scope="session")
def shot():
    """Saves a PNG of what the page shows into SCIM_SCREENSHOTS (docs/portal/ or target/browser/)."""
    out = Path(os.environ.get("SCIM_SCREENSHOTS") or ROOT / "target" / "browser")
    out.mkdir(parents=True, exist_ok=True)

    def save(page, name, full_page=True):
        page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)

    return save


# -- another origin: a host page for embedded mode -------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme settings (host page)</title>
<style>body{{font-family:sans-serif;margin:16px}} iframe{{width:100%;height:640px;border:1px solid #ccc}}</style>
</head><body>
<h1>Acme &middot; Settings &middot; Directory sync</h1>
<ol id="events"></ol>
<iframe id="portal" src="{src}" title="Directory sync set-up"></iframe>
<script>
  // What a host application does (README): listen to the portal's events.
  window.__messages = [];
  window.addEventListener("message", (e) => {{
    window.__messages.push({{origin: e.origin, data: e.data}});
    const li = document.createElement("li");
    li.textContent = e.origin + " " + JSON.stringify(e.data);
    document.getElementById("events").appendChild(li);
  }});
</script>
</body></html>
"""


class HostPage:
    """A tiny web server on 127.0.0.1:<free port> (another site than the portal on localhost) whose
    page frames `src` and records every `message` event in `window.__messages`."""

    def __init__(self):
        self.src = "about:blank"
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = HOST_PAGE.format(src=host.src.replace('"', "&quot;")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def host_pages():
    """Makes host pages on other origins; stops them after the test."""
    made = []

    def make():
        h = HostPage()
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


# -- helpers shared by the tests ---------------------------------------------------------------------


def portal_origin():
    return BASE


def secret_of(url):
    m = re.search(r"scim_pl_[0-9a-f]{64}", url)
    assert m, f"no secret in {url}"
    return m.group(0)


# -- the operator console: `scimctl console` over scim-local's management API ------------------------


class Console:
    """A `scimctl console` run against scim-local with the management key: `url` is the address it
    printed (with its one-time `?token=`), `origin` where it serves."""

    def __init__(self):
        binary = os.environ.get("SCIM_SCIMCTL") or str(ROOT / "target" / "debug" / "scimctl")
        env = dict(os.environ, SCIM_MANAGEMENT_URL=BASE + "/manage", SCIM_MANAGEMENT_KEY=KEY)
        self.process = subprocess.Popen(
            [binary, "console", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.url = None
        lines = []
        for line in self.process.stdout:
            lines.append(line)
            m = re.match(r"Open (http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{64})$", line.strip())
            if m:
                self.url = m.group(1)
                break
        assert self.url, "scimctl console did not print its address:\n" + "".join(lines)
        self.origin = self.url.split("/?")[0]
        # Keep reading its output, so it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def console():
    c = Console()
    yield c
    c.close()


@pytest.fixture(scope="session")
def console_shot():
    """Saves a PNG into SCIM_CONSOLE_SCREENSHOTS (docs/console/ or target/browser/console/)."""
    out = Path(os.environ.get("SCIM_CONSOLE_SCREENSHOTS") or ROOT / "target" / "browser" / "console")
    out.mkdir(parents=True, exist_ok=True)

    def save(page, name, full_page=True):
        page.screenshot(path=str(out / f"{name}.png"), full_page=full_page)

    return save
