// The Admin Portal's one script: copy buttons, opening a setup link (its secret is in the URL
// fragment), the live connection status, and the embedded mode's messages to the host page.
// Everything it writes into the page goes through textContent: data from an IdP is never markup.
"use strict";

(function () {
  var body = document.body;
  var embedOrigin = body.dataset.embedOrigin || "";
  var directory = body.dataset.directory || "";

  function announce(text) {
    var live = document.getElementById("announce");
    if (live) { live.textContent = text; }
  }

  // Posts to the host page, to the link's embed origin only (never "*").
  function tell(type) {
    if (!embedOrigin || window.parent === window) { return; }
    window.parent.postMessage({ type: "scim-portal:" + type, directory_id: directory }, embedOrigin);
  }

  // Copy buttons: data-copy names the element whose text is copied.
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button.copy") : null;
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    var text = source.textContent;
    var done = function () {
      button.textContent = "Copied";
      announce("Copied to the clipboard");
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { select(source); });
    } else {
      select(source);
    }
  });

  // Where the clipboard is refused (an embedding page that does not delegate it): select the
  // text so that Ctrl+C copies it.
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
    announce("Selected: press Ctrl+C (or Cmd+C) to copy");
  }

  // /portal/open#scim_pl_…: the fragment never reaches a server log; post it, then follow.
  var opening = document.getElementById("opening");
  if (opening) {
    var secret = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    history.replaceState(null, "", window.location.pathname);
    fetch(opening.dataset.openUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "text/plain" },
      body: secret
    }).then(function (r) {
      return r.json().then(function (answer) {
        if (r.ok && answer.location) {
          window.location.replace(answer.location);
          return;
        }
        showNotice(opening, answer.title || "This setup link is not valid", answer.body || "");
      });
    }).catch(function () {
      showNotice(opening, "The link could not be opened", "Check your connection and reload the page.");
    });
  }

  function showNotice(container, title, text) {
    container.replaceChildren();
    container.setAttribute("role", "alert");
    var h = document.createElement("h1");
    h.textContent = title;
    var p = document.createElement("p");
    p.textContent = text;
    container.append(h, p);
  }

  // The live status on the set-up page.
  var status = document.getElementById("status");
  var card = status ? status.closest("[data-status-url]") : null;
  var linkedTold = false;
  function render(s) {
    status.textContent = s.text;
    status.dataset.status = s.status;
    setText("status-hint", s.hint);
    setText("user-count", count(s.users, "user"));
    setText("group-count", count(s.groups, "group"));
    var list = document.getElementById("arrivals");
    if (list) {
      list.replaceChildren.apply(list, s.arrivals.map(function (name) {
        var li = document.createElement("li");
        li.textContent = name;
        return li;
      }));
    }
    var err = document.getElementById("last-error");
    if (err) {
      if (s.last_error) {
        err.replaceChildren();
        var h = document.createElement("h3");
        h.textContent = "Last failed request";
        var when = document.createElement("p");
        when.textContent = (s.last_error.status || "") + (s.last_error.at ? " at " + s.last_error.at.replace("T", " ").slice(0, 16) + " UTC" : "");
        var why = document.createElement("p");
        why.className = "explanation";
        why.textContent = s.last_error.explanation;
        err.append(h, when, why);
        if (s.last_error.detail) {
          var d = document.createElement("p");
          d.className = "detail";
          d.textContent = s.last_error.detail;
          err.append(d);
        }
        err.hidden = false;
      } else {
        err.hidden = true;
      }
    }
    if (s.status === "linked") {
      var finish = document.getElementById("finish");
      if (finish && finish.getAttribute("href") !== "#") { finish.hidden = false; }
      if (!linkedTold) {
        linkedTold = true;
        announce("Linked: your IdP has connected");
        tell("linked");
      }
    }
  }
  function count(n, noun) {
    return n + " " + noun + (n === 1 ? "" : "s");
  }
  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }
  if (status && card) {
    if (status.dataset.status === "linked") { linkedTold = true; tell("linked"); }
    var poll = function () {
      fetch(card.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.status === 401) { expired(); return null; }
          return r.ok ? r.json() : null;
        })
        .then(function (s) { if (s) { render(s); } })
        .catch(function () {})
        .then(function () { if (!ended) { setTimeout(poll, 2000); } });
    };
    setTimeout(poll, 1000);
  }

  // Session expiry: warn the host page five minutes before, and say so when it has ended.
  var ended = false;
  function expired() {
    if (ended) { return; }
    ended = true;
    tell("session-expired");
    var main = document.querySelector("main");
    if (main) {
      showNotice(main, "Your session has ended", "Open the setup link again, or ask the application's administrator for a new one.");
    }
  }
  var expires = Number(body.dataset.sessionExpires || 0);
  if (expires) {
    var left = expires - Date.now();
    var warnAt = left - 5 * 60 * 1000;
    // Timers longer than ~24.8 days overflow; sessions last hours.
    if (warnAt > 0) { setTimeout(function () { tell("session-expiring"); }, warnAt); }
    else if (left > 0) { tell("session-expiring"); }
    if (left > 0) { setTimeout(expired, left); }
  }

  if (directory) { tell("loaded"); }
})();
