//! The Admin Portal as a browser meets it, over HTTP: a setup link exchanged for a session
//! cookie, the pages and forms of that one directory, the safety headers, and what the
//! application sees of it afterwards. (The real-browser walk is tests/browser/.)

use serde_json::{json, Value};

use crate::support::{Reply, Scim};

/// A session opened from a fresh setup link made with `options`: its cookie header and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn link(s: &Scim, options: Value) -> String {
    let path = format!("/directories/{}/portal-links", s.directory);
    let made = s.manage("POST", &path, Some(options)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let url = made.body["url"].as_str().unwrap().to_string();
    url.split_once('#')
        .expect("the secret in the fragment")
        .1
        .to_string()
}

async fn open(s: &Scim, secret: &str) -> Reply {
    s.raw(
        "POST",
        "/portal/open",
        Some(secret.to_string()),
        &[
            ("content-type", "text/plain"),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await
}

async fn session(s: &Scim, options: Value) -> Session {
    let secret = link(s, options).await;
    let opened = open(s, &secret).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    let set = opened
        .header("set-cookie")
        .expect("a session cookie")
        .to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let page = get(
        s,
        &Session {
            cookie: cookie.clone(),
            csrf: String::new(),
        },
        "/portal/provider",
    )
    .await;
    let html = page.body.as_str().unwrap().to_string();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a CSRF token in the form")
        .to_string();
    Session { cookie, csrf }
}

async fn get(s: &Scim, session: &Session, path: &str) -> Reply {
    s.raw("GET", path, None, &[("cookie", &session.cookie)])
        .await
}

async fn post(s: &Scim, session: &Session, path: &str, form: &str) -> Reply {
    s.raw(
        "POST",
        path,
        Some(form.to_string()),
        &[
            ("cookie", &session.cookie),
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await
}

fn text(r: &Reply) -> &str {
    r.body.as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_setup_link_is_exchanged_for_an_http_only_session_cookie() {
    let s = Scim::start().await;
    let secret = link(&s, json!({})).await;
    let opened = open(&s, &secret).await;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert_eq!(opened.body["location"], "/portal/provider");
    let cookie = opened.header("set-cookie").unwrap();
    assert!(cookie.starts_with("scim_portal=scim_ps_"), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/portal"] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((21_590..=21_600).contains(&max_age), "six hours: {cookie}");
    assert!(
        !cookie.contains(&secret),
        "the link's secret is not the session"
    );
    // The link stays usable (a shared link), each opening its own session.
    let again = open(&s, &secret).await;
    assert_eq!(again.status, 200);
    assert_ne!(again.header("set-cookie"), opened.header("set-cookie"));
    // Without a session there is nothing to see.
    let none = s.raw("GET", "/portal/setup", None, &[]).await;
    assert_eq!(none.status, 401);
    assert!(text(&none).contains("Your session has ended"));
}

#[tokio::test]
async fn expired_revoked_and_made_up_links_answer_a_clear_page() {
    let s = Scim::start().await;
    let made_up = open(&s, &format!("scim_pl_{}", "0".repeat(64))).await;
    assert_eq!(made_up.status, 404);
    assert_eq!(made_up.body["title"], "This setup link is not valid");
    let junk = open(&s, "<script>").await;
    assert_eq!(junk.status, 404);

    // An expired link (TTL deletion is lazy: the item can outlive its expiry).
    let secret = link(&s, json!({})).await;
    let hash = scim_lambda::auth::hash_token(&secret);
    let store = s.app.store();
    let mut record = store.get_portal_link(&hash).await.unwrap().unwrap();
    record.expires_at_millis = scim_lambda::clock::now_millis() - 1;
    store.delete_portal_link(&hash).await.unwrap();
    store.put_portal_link(&record).await.unwrap();
    let expired = open(&s, &secret).await;
    assert_eq!(expired.status, 410);
    assert_eq!(expired.body["title"], "This setup link has expired");

    // Revoking a link ends the sessions it opened.
    let session = session(&s, json!({})).await;
    let links = s
        .manage(
            "GET",
            &format!("/directories/{}/portal-links", s.directory),
            None,
        )
        .await;
    for l in links.body.as_array().unwrap() {
        let path = format!(
            "/directories/{}/portal-links/{}",
            s.directory,
            l["id"].as_str().unwrap()
        );
        assert_eq!(s.manage("DELETE", &path, None).await.status, 200);
    }
    let after = get(&s, &session, "/portal/provider").await;
    assert_eq!(after.status, 401, "{}", after.body);
}

#[tokio::test]
async fn the_chosen_provider_decides_the_steps_and_is_recorded_on_the_directory() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    let chose = post(
        &s,
        &session,
        "/portal/provider",
        &format!("provider=okta_scim11&csrf={}", session.csrf),
    )
    .await;
    assert_eq!(chose.status, 303);
    assert_eq!(chose.header("location"), Some("/portal/setup"));
    let setup = get(&s, &session, "/portal/setup").await;
    assert_eq!(setup.status, 200);
    let page = text(&setup);
    assert!(
        page.contains(&format!("/scim/v1/{}", s.directory)),
        "{page}"
    );
    assert!(page.contains("Waiting for the first request from your IdP"));
    let shown = s
        .manage("GET", &format!("/directories/{}", s.directory), None)
        .await;
    assert_eq!(shown.body["provider"], "okta_scim11");

    // The application may name it when it creates the directory.
    let made = s
        .manage(
            "POST",
            "/directories",
            Some(json!({"name": "Beta", "provider": "entra"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["provider"], "entra");
    let bad = s
        .manage(
            "POST",
            "/directories",
            Some(json!({"name": "Beta", "provider": "azure"})),
        )
        .await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_or_from_another_site_changes_nothing() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    let forged = post(&s, &session, "/portal/tokens", "").await;
    assert_eq!(forged.status, 403);
    let wrong = post(&s, &session, "/portal/tokens", "csrf=00").await;
    assert_eq!(wrong.status, 403);
    let cross_site = s
        .raw(
            "POST",
            "/portal/tokens",
            Some(format!("csrf={}", session.csrf)),
            &[
                ("cookie", &session.cookie),
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    let tokens = s
        .manage("GET", &format!("/directories/{}/tokens", s.directory), None)
        .await;
    assert_eq!(
        tokens.body.as_array().unwrap().len(),
        1,
        "only the first token"
    );
}

#[tokio::test]
async fn a_revealed_token_works_is_shown_once_and_the_application_sees_it_was_revealed() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    post(
        &s,
        &session,
        "/portal/provider",
        &format!("provider=okta&csrf={}", session.csrf),
    )
    .await;
    let revealed = post(
        &s,
        &session,
        "/portal/tokens",
        &format!("csrf={}", session.csrf),
    )
    .await;
    assert_eq!(revealed.status, 200, "{}", revealed.body);
    assert_eq!(revealed.header("cache-control"), Some("no-store"));
    let page = text(&revealed);
    let token = page
        .split("data-value=\"bearer_token\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the token on the page")
        .to_string();
    assert!(token.starts_with("scim_sk_"), "{token}");

    let pushed = s
        .raw(
            "POST",
            &format!("/scim/v2/{}/Users", s.directory),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com", "displayName": "Ada Lovelace"}).to_string()),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.body);

    for path in ["/portal/setup", "/portal/credentials"] {
        let later = get(&s, &session, path).await;
        assert!(
            !text(&later).contains(&token),
            "{path} shows the token again"
        );
    }
    let status = get(&s, &session, "/portal/status").await;
    assert_eq!(status.body["status"], "linked", "{}", status.body);
    assert_eq!(status.body["text"], "Linked");
    assert_eq!(status.body["users"], 1);
    assert_eq!(status.body["arrivals"], json!(["Ada Lovelace"]));

    let activity = s
        .manage(
            "GET",
            &format!("/directories/{}/portal-activity", s.directory),
            None,
        )
        .await;
    assert_eq!(activity.status, 200, "{}", activity.body);
    let actions: Vec<&str> = activity
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["token_revealed", "provider_chosen", "link_opened"]
    );
}

#[tokio::test]
async fn a_session_sees_exactly_one_directory() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    let other = scim_lambda::service::directories::create(s.svc(), &s.base, "other", None, None)
        .await
        .unwrap();
    let foreign_user = s
        .raw(
            "POST",
            &format!("/scim/v2/{}/Users", other.directory.id),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "eve@other.example"}).to_string()),
            &[("authorization", &format!("Bearer {}", other.token))],
        )
        .await;
    let id = foreign_user.body["id"].as_str().unwrap();
    let seen = get(&s, &session, &format!("/portal/users/{id}")).await;
    assert_eq!(seen.status, 404);
    let revoke = post(
        &s,
        &session,
        &format!("/portal/tokens/{}/revoke", other.token_id),
        &format!("csrf={}", session.csrf),
    )
    .await;
    assert_eq!(revoke.status, 404);
    let users = get(&s, &session, "/portal/users").await;
    assert!(!text(&users).contains("eve@other.example"));
}

#[tokio::test]
async fn names_an_idp_sent_are_text_on_every_page() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    post(
        &s,
        &session,
        "/portal/provider",
        &format!("provider=okta&csrf={}", session.csrf),
    )
    .await;
    let payload = "<img src=x onerror=alert(1)>";
    let user = s
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@example.com", "displayName": payload}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.body);
    s.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "<script>alert(2)</script>"}))
        .await;
    let id = user.body["id"].as_str().unwrap();
    for path in [
        "/portal/setup".to_string(),
        "/portal/users".into(),
        format!("/portal/users/{id}"),
        "/portal/groups".into(),
    ] {
        let page = get(&s, &session, &path).await;
        assert_eq!(page.status, 200, "{path}");
        let html = text(&page);
        assert!(!html.contains("<img src=x"), "{path}: {html}");
        assert!(!html.contains("<script>alert"), "{path}");
    }
    let users = get(&s, &session, "/portal/users").await;
    assert!(text(&users).contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn every_answer_carries_a_strict_policy_and_an_embedded_one_names_its_host() {
    let s = Scim::start().await;
    let plain = session(&s, json!({})).await;
    let page = get(&s, &plain, "/portal/provider").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let html = text(&page);
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );

    let secret = link(&s, json!({"embed_origin": "https://app.example.com"})).await;
    let opened = open(&s, &secret).await;
    let cookie = opened.header("set-cookie").unwrap();
    assert!(
        cookie.contains("SameSite=None")
            && cookie.contains("Secure")
            && cookie.contains("Partitioned"),
        "{cookie}"
    );
    let embedded = Session {
        cookie: cookie.split(';').next().unwrap().into(),
        csrf: String::new(),
    };
    let page = get(&s, &embedded, "/portal/provider").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors https://app.example.com"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), None);
    assert!(text(&page).contains("data-embed-origin=\"https://app.example.com\""));

    // The page that opens an embedded link may be framed by the origin the link names, and only
    // by a real origin.
    for (query, want) in [
        (
            "?embed=https%3A%2F%2Fapp.example.com",
            "frame-ancestors https://app.example.com",
        ),
        ("?embed=javascript%3Aalert(1)", "frame-ancestors 'none'"),
        ("", "frame-ancestors 'none'"),
    ] {
        let page = s
            .raw("GET", &format!("/portal/open{query}"), None, &[])
            .await;
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.ends_with(want), "{query}: {csp}");
    }

    let js = s.raw("GET", "/portal/assets/portal.js", None, &[]).await;
    assert_eq!(js.status, 200);
    assert!(js.header("cache-control").unwrap().contains("immutable"));
}

/// The DynamoDB calls each portal page makes, counted by the meter (docs/portal.md quotes them).
/// Upper bounds, as in `cost.rs`.
#[tokio::test]
async fn each_page_answers_in_one_request_with_a_bounded_number_of_reads() {
    let s = Scim::start().await;
    // With roles and custom attributes declared, every page shows the Roles and Attributes tabs
    // and users' roles (from the process's copies of the catalogues: no read while warm).
    declare_roles(&s).await;
    declare_attributes(&s).await;
    let session = session(&s, json!({})).await;
    post(
        &s,
        &session,
        "/portal/provider",
        &format!("provider=okta&csrf={}", session.csrf),
    )
    .await;
    for i in 0..20 {
        s.user(&format!("user{i:02}@example.com")).await;
    }
    let member = s.user("member@example.com").await;
    let engineering = s.group("Engineering", &[&member]).await;
    let assigned = s
        .manage(
            "PUT",
            &format!("/directories/{}/role-assignments", s.directory),
            Some(json!({"assignments": [{"group_id": engineering, "role": "admin"}]})),
        )
        .await;
    assert_eq!(assigned.status, 200, "{}", assigned.body);
    for (path, trips) in [
        // The session (GetItem), the directory (GetItem), its credentials (Query).
        ("/portal/provider", 3),
        // ... the counters (Query), the first users (Query).
        ("/portal/setup", 5),
        ("/portal/status", 5),
        // The session, the directory, the name guards (Query), the users (BatchGetItem), the
        // counters.
        ("/portal/users", 5),
        ("/portal/users?q=user1", 5),
        // The session, the directory, the user (GetItem), its groups (Query, BatchGetItem).
        (&format!("/portal/users/{member}") as &str, 5),
        ("/portal/groups", 5),
        // The session, the directory, its credentials.
        ("/portal/credentials", 3),
        // The session, the map (GetItem), its groups' names (BatchGetItem), a page of groups by
        // name (the directory, the name guards, the groups).
        ("/portal/roles", 6),
        ("/portal/roles?q=eng", 6),
        // The session, the directory with its settings (the map; BatchGetItem).
        ("/portal/attributes", 2),
    ] {
        s.meter.take();
        let r = get(&s, &session, path).await;
        let usage = s.meter.take();
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        println!("{path:<40} {usage} {:?}", usage.operations());
        assert!(
            usage.round_trips() <= trips,
            "{path}: {usage}; budget {trips}"
        );
    }
}

#[tokio::test]
async fn a_refused_token_is_explained_in_plain_words() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    let wrong = s
        .raw(
            "GET",
            &format!("/scim/v2/{}/Users", s.directory),
            None,
            &[(
                "authorization",
                &format!("Bearer scim_sk_{}", "0".repeat(64)),
            )],
        )
        .await;
    assert_eq!(wrong.status, 401);
    let status = get(&s, &session, "/portal/status").await;
    let error = &status.body["last_error"];
    assert_eq!(error["status"], 401, "{}", status.body);
    let why = error["explanation"].as_str().unwrap();
    assert!(why.contains("wrong, revoked or expired"), "{why}");
}

#[tokio::test]
async fn the_activity_tab_shows_failures_first_with_what_to_change() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    s.user("ada@example.com").await;
    let duplicate = s
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@example.com", "password": "Secr3t!pw"}),
        )
        .await;
    assert_eq!(duplicate.status, 409);
    s.flush_log().await;
    let page = get(&s, &session, "/portal/activity").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = text(&page);
    let failures = html
        .split("id=\"failures\"")
        .nth(1)
        .expect("a failures list");
    let failures = failures.split("id=\"requests\"").next().unwrap();
    assert!(failures.contains("409"), "{failures}");
    assert!(
        failures.contains("already exists"),
        "the explanation: {failures}"
    );
    assert!(!failures.contains(">201<"), "a success among the failures");
    assert!(html.contains("201"), "every request is listed too");
    assert!(!html.contains("Secr3t!pw"), "a password on the page");
}

// -- the Roles step ---------------------------------------------------------------------------

/// The application declares Admin and Member (the default), as `PUT /manage/roles` does.
async fn declare_roles(s: &Scim) {
    let r = s
        .manage(
            "PUT",
            "/roles",
            Some(json!({"roles": [
                {"slug": "admin", "name": "Admin", "description": "Manages the workspace"},
                {"slug": "member", "name": "Member"}],
                "default": "member"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// The directory's assignments through the management API: (group id, role) in priority order.
async fn assignments(s: &Scim) -> Vec<(String, String)> {
    let r = s
        .manage(
            "GET",
            &format!("/directories/{}/role-assignments", s.directory),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["group_id"].as_str().unwrap().to_string(),
                a["role"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The Roles form's body: the draft (role, group) in order, then `extra` fields.
fn roles_form(session: &Session, draft: &[(&str, &str)], extra: &str) -> String {
    let mut body = format!("csrf={}", session.csrf);
    for (role, group) in draft {
        body.push_str(&format!("&a={role}%3A{group}"));
    }
    format!("{body}&default=&{extra}")
}

/// The group ids of the page's priority list, in order.
fn listed(html: &str) -> Vec<String> {
    let Some(list) = html.split("id=\"assignments\"").nth(1) else {
        return Vec::new();
    };
    let list = list.split("</ol>").next().unwrap();
    list.split("<li data-group=\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_roles_tab_shows_only_when_the_application_declares_roles() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    let users = get(&s, &session, "/portal/users").await;
    assert!(!text(&users).contains("href=\"/portal/roles\""));
    let none = get(&s, &session, "/portal/roles").await;
    assert_eq!(none.status, 404);
    assert!(text(&none).contains("No roles to assign"));
    declare_roles(&s).await;
    let users = get(&s, &session, "/portal/users").await;
    assert!(text(&users).contains("href=\"/portal/roles\""));
    let page = get(&s, &session, "/portal/roles").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = text(&page);
    for shown in [
        "Admin",
        "Manages the workspace",
        "Member",
        "The application's default (Member)",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
}

#[tokio::test]
async fn saving_roles_in_the_portal_assigns_the_groups_and_says_whose_roles_changed() {
    let s = Scim::start().await;
    declare_roles(&s).await;
    let ada = s.user("ada@example.com").await;
    let bob = s.user("bob@example.com").await;
    let admins = s.group("<b>Admins</b>", &[&ada]).await;
    let everyone = s.group("Everyone", &[&ada, &bob]).await;
    let session = session(&s, json!({})).await;

    let page = get(&s, &session, "/portal/roles").await;
    let html = text(&page);
    assert!(html.contains("&lt;b&gt;Admins&lt;/b&gt;"), "escaped");
    assert!(!html.contains("<b>Admins"), "a group name is text");
    assert!(html.contains(&format!("value=\"add:{everyone}\"")));

    let form = roles_form(
        &session,
        &[("admin", &admins), ("member", &everyone)],
        "op=save",
    );
    let saved = post(&s, &session, "/portal/roles", &form).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let html = text(&saved);
    // Ada becomes Admin; Bob keeps Member, now from a group (his `roles` changed).
    assert!(html.contains("data-users-updated=\"2\""), "{html}");
    assert!(html.contains("2 users' roles changed."));
    assert!(html.contains("data-pending=\"false\""));
    assert!(
        !html.contains("id=\"unsaved\""),
        "the page shows what is saved"
    );
    assert_eq!(listed(html), [admins.clone(), everyone.clone()]);
    assert_eq!(
        assignments(&s).await,
        [(admins, "admin".into()), (everyone, "member".into())]
    );

    // The user pages name the role.
    let users = text(&get(&s, &session, "/portal/users").await).to_string();
    let row = |who: &str| {
        users
            .split("<tr>")
            .find(|r| r.contains(who))
            .unwrap()
            .to_string()
    };
    assert!(row("ada@example.com").contains("<td class=\"role\">Admin</td>"));
    assert!(row("bob@example.com").contains("<td class=\"role\">Member</td>"));
    let one = get(&s, &session, &format!("/portal/users/{ada}")).await;
    assert!(
        text(&one).contains("id=\"user-role\">Admin<"),
        "{}",
        one.body
    );
    assert!(text(&one).contains("id=\"user-roles\">Admin, Member<"));

    let activity = s
        .manage(
            "GET",
            &format!("/directories/{}/portal-activity", s.directory),
            None,
        )
        .await;
    let newest = &activity.body[0];
    assert_eq!(newest["action"], "roles_assigned", "{}", activity.body);
    assert_eq!(
        newest["subject"], "2 group assignments; 2 users updated",
        "{newest}"
    );
}

#[tokio::test]
async fn moves_and_adds_edit_the_forms_draft_and_store_nothing_until_save() {
    let s = Scim::start().await;
    declare_roles(&s).await;
    let a = s.group("Alpha", &[]).await;
    let b = s.group("Beta", &[]).await;
    let session = session(&s, json!({})).await;
    let added = post(
        &s,
        &session,
        "/portal/roles",
        &roles_form(
            &session,
            &[("admin", &a)],
            &format!("give=member&op=add%3A{b}"),
        ),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(listed(text(&added)), [a.clone(), b.clone()]);
    assert!(text(&added).contains(&format!("value=\"member:{b}\" selected")));
    assert!(text(&added).contains("id=\"unsaved\""));
    let moved = post(
        &s,
        &session,
        "/portal/roles",
        &roles_form(&session, &[("admin", &a), ("member", &b)], "op=up%3A1"),
    )
    .await;
    assert_eq!(listed(text(&moved)), [b.clone(), a.clone()]);
    let removed = post(
        &s,
        &session,
        "/portal/roles",
        &roles_form(&session, &[("member", &b), ("admin", &a)], "op=remove%3A0"),
    )
    .await;
    assert_eq!(listed(text(&removed)), [a]);
    assert!(assignments(&s).await.is_empty(), "nothing saved yet");
}

#[tokio::test]
async fn another_directorys_group_in_the_roles_form_is_refused_and_changes_nothing() {
    let s = Scim::start().await;
    declare_roles(&s).await;
    let mine = s.group("Mine", &[]).await;
    let session = session(&s, json!({})).await;
    let saved = post(
        &s,
        &session,
        "/portal/roles",
        &roles_form(&session, &[("admin", &mine)], "op=save"),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    let other = scim_lambda::service::directories::create(s.svc(), &s.base, "other", None, None)
        .await
        .unwrap();
    let theirs = s
        .raw(
            "POST",
            &format!("/scim/v2/{}/Groups", other.directory.id),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Theirs"}).to_string()),
            &[("authorization", &format!("Bearer {}", other.token))],
        )
        .await;
    let theirs = theirs.body["id"].as_str().unwrap().to_string();

    // Added to the draft, it is not a group of this directory: the page says so, and Save is
    // refused with the draft kept.
    let added = post(
        &s,
        &session,
        "/portal/roles",
        &roles_form(
            &session,
            &[("admin", &mine)],
            &format!("give=admin&op=add%3A{theirs}"),
        ),
    )
    .await;
    assert_eq!(added.status, 200);
    assert!(text(&added).contains("Not a group of this directory"));
    assert!(!text(&added).contains("Theirs"), "another directory's name");
    for draft in [
        vec![("admin", theirs.as_str())],
        vec![("admin", "not-an-id")],
    ] {
        let refused = post(
            &s,
            &session,
            "/portal/roles",
            &roles_form(&session, &draft, "op=save"),
        )
        .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(text(&refused).contains("Not saved."));
    }
    assert_eq!(assignments(&s).await, [(mine, "admin".into())]);
    let theirs_map = s
        .manage(
            "GET",
            &format!("/directories/{}/role-assignments", other.directory.id),
            None,
        )
        .await;
    assert_eq!(theirs_map.body["assignments"], json!([]));
}

#[tokio::test]
async fn a_roles_save_without_the_sessions_csrf_token_changes_nothing() {
    let s = Scim::start().await;
    declare_roles(&s).await;
    let g = s.group("Admins", &[]).await;
    let session = session(&s, json!({})).await;
    let body = format!("a=admin%3A{g}&op=save");
    let forged = post(&s, &session, "/portal/roles", &body).await;
    assert_eq!(forged.status, 403);
    let wrong = post(&s, &session, "/portal/roles", &format!("csrf=00&{body}")).await;
    assert_eq!(wrong.status, 403);
    let cross_site = s
        .raw(
            "POST",
            "/portal/roles",
            Some(format!("csrf={}&{body}", session.csrf)),
            &[
                ("cookie", &session.cookie),
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    assert!(assignments(&s).await.is_empty());
}

// -- the Attributes step ----------------------------------------------------------------------

/// The application declares `title` and `cost_center` (an enterprise default), as
/// `PUT /manage/custom-attributes` does.
async fn declare_attributes(s: &Scim) {
    let r = s
        .manage(
            "PUT",
            "/custom-attributes",
            Some(json!({"attributes": [
                {"key": "title", "description": "Job title"},
                {"key": "cost_center"}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// A user with a title, a work and a home city, and a cost center; `title` may be markup.
async fn attributed_user(s: &Scim, name: &str, title: &str) -> String {
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let r = s
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
                "userName": name,
                "title": title,
                "addresses": [{"type": "work", "locality": "Cambridge"}],
                "active": true,
                ent: {"costCenter": "R&D"}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// The directory's own mappings through the management API: (key, path).
async fn own_mappings(s: &Scim) -> Vec<(String, String)> {
    let r = s
        .manage(
            "GET",
            &format!("/directories/{}/custom-attributes", s.directory),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["key"].as_str().unwrap().to_string(),
                m["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The Attributes form's body: `csrf`, each `key=path` (form-encoded), and the button.
fn attributes_form(session: &Session, paths: &[(&str, &str)], op: &str) -> String {
    let mut body = format!("csrf={}", session.csrf);
    for (key, path) in paths {
        let path: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        body.push_str(&format!("&path.{key}={path}"));
    }
    format!("{body}&op={op}")
}

#[tokio::test]
async fn the_attributes_tab_shows_only_when_the_application_declares_keys() {
    let s = Scim::start().await;
    let session = session(&s, json!({})).await;
    let users = get(&s, &session, "/portal/users").await;
    assert!(!text(&users).contains("href=\"/portal/attributes\""));
    let none = get(&s, &session, "/portal/attributes").await;
    assert_eq!(none.status, 404);
    assert!(text(&none).contains("No attributes to map"));
    declare_attributes(&s).await;
    let users = get(&s, &session, "/portal/users").await;
    assert!(text(&users).contains("href=\"/portal/attributes\""));
    let page = get(&s, &session, "/portal/attributes").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = text(&page);
    for shown in [
        "Job title",
        "name=\"path.title\"",
        "name=\"path.cost_center\"",
        // cost_center takes its enterprise default, marked; title is not mapped yet.
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter",
        "data-source=\"default\"",
        "Not mapped: users do not carry it",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
}

#[tokio::test]
async fn a_preview_shows_the_newest_users_before_and_after_and_stores_nothing() {
    let s = Scim::start().await;
    declare_attributes(&s).await;
    let ada = attributed_user(&s, "ada@example.com", "<img src=x onerror=alert(1)>").await;
    let session = session(&s, json!({})).await;
    let before = s
        .manage(
            "GET",
            &format!("/directories/{}/users/{ada}", s.directory),
            None,
        )
        .await;
    let body = attributes_form(&session, &[("title", "title")], "preview");
    let r = post(&s, &session, "/portal/attributes", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let html = text(&r);
    assert!(html.contains(&format!("data-user=\"{ada}\"")), "{html}");
    assert!(html.contains("data-changed=\"true\""));
    // The title the IdP sent appears, as text, marked changed; the cost center stays.
    assert!(
        html.contains("<td class=\"after changed\">&lt;img src=x onerror=alert(1)&gt;</td>"),
        "{html}"
    );
    assert!(!html.contains("<img src=x"));
    assert!(html.contains("<td class=\"after\">R&amp;D</td>"), "{html}");
    assert!(html.contains("id=\"unsaved\""));
    // The form keeps the paths typed.
    assert!(
        html.contains("name=\"path.title\" value=\"title\""),
        "{html}"
    );
    // Nothing stored, nothing recorded.
    assert!(own_mappings(&s).await.is_empty());
    let after = s
        .manage(
            "GET",
            &format!("/directories/{}/users/{ada}", s.directory),
            None,
        )
        .await;
    assert_eq!(
        after.body["custom_attributes"],
        before.body["custom_attributes"]
    );
    let activity = s
        .manage(
            "GET",
            &format!("/directories/{}/portal-activity", s.directory),
            None,
        )
        .await;
    assert!(!activity.body.to_string().contains("attributes_mapped"));
}

#[tokio::test]
async fn saving_attributes_in_the_portal_maps_them_and_is_recorded() {
    let s = Scim::start().await;
    declare_attributes(&s).await;
    let ada = attributed_user(&s, "ada@example.com", "Engineer").await;
    let session = session(&s, json!({})).await;
    let body = attributes_form(
        &session,
        &[
            ("title", "ADDRESSES[type eq \"work\"].locality"),
            ("cost_center", ""),
        ],
        "save",
    );
    let r = post(&s, &session, "/portal/attributes", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let html = text(&r);
    assert!(html.contains("id=\"attributes-saved\""), "{html}");
    assert!(
        !html.contains("id=\"unsaved\""),
        "the form shows what was saved"
    );
    // Saved in canonical form; the blank cost_center keeps its default.
    let saved = own_mappings(&s).await;
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].0, "title");
    assert_eq!(
        saved[0].1.to_ascii_lowercase(),
        "addresses[type eq \"work\"].locality"
    );
    let user = s
        .manage(
            "GET",
            &format!("/directories/{}/users/{ada}", s.directory),
            None,
        )
        .await;
    assert_eq!(
        user.body["custom_attributes"],
        json!({"title": "Cambridge", "cost_center": "R&D"})
    );
    let activity = s
        .manage(
            "GET",
            &format!("/directories/{}/portal-activity", s.directory),
            None,
        )
        .await;
    assert_eq!(
        activity.body[0]["action"], "attributes_mapped",
        "{}",
        activity.body
    );
    assert_eq!(activity.body[0]["subject"], "1 keys mapped: title");
}

#[tokio::test]
async fn a_path_that_does_not_parse_or_an_undeclared_key_is_a_400_with_the_reason() {
    let s = Scim::start().await;
    declare_attributes(&s).await;
    let session = session(&s, json!({})).await;
    for op in ["preview", "save"] {
        let body = attributes_form(&session, &[("title", "addresses[type eq")], op);
        let r = post(&s, &session, "/portal/attributes", &body).await;
        assert_eq!(r.status, 400, "{op}: {}", r.body);
        let html = text(&r);
        assert!(html.contains("id=\"attributes-error\""), "{html}");
        assert!(
            html.contains("title: the path &quot;addresses[type eq&quot; cannot be read"),
            "{html}"
        );
        // The form keeps what was typed.
        assert!(html.contains("value=\"addresses[type eq\""));
    }
    let body = attributes_form(&session, &[("nope", "title")], "save");
    let r = post(&s, &session, "/portal/attributes", &body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        text(&r).contains("is not a declared custom attribute"),
        "{}",
        r.body
    );
    assert!(own_mappings(&s).await.is_empty());
}

#[tokio::test]
async fn an_attributes_save_without_the_sessions_csrf_token_changes_nothing() {
    let s = Scim::start().await;
    declare_attributes(&s).await;
    let session = session(&s, json!({})).await;
    let body = "path.title=title&op=save";
    let forged = post(&s, &session, "/portal/attributes", body).await;
    assert_eq!(forged.status, 403);
    let wrong = post(
        &s,
        &session,
        "/portal/attributes",
        &format!("csrf=00&{body}"),
    )
    .await;
    assert_eq!(wrong.status, 403);
    let cross_site = s
        .raw(
            "POST",
            "/portal/attributes",
            Some(format!("csrf={}&{body}", session.csrf)),
            &[
                ("cookie", &session.cookie),
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status, 403);
    assert!(own_mappings(&s).await.is_empty());
}
