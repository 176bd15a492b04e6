//! The management API over HTTP, as the application calls it (locally: loopback, no IAM, the
//! management key), and what the local server refuses: tunnels, other host names, cross-site
//! requests, form posts, requests without the key.

use serde_json::{json, Value};

use scim_lambda::management_key::ManagementKey;

use crate::support::{http, Reply, Scim};

async fn call(s: &Scim, method: &str, path: &str, body: Option<Value>) -> Reply {
    s.manage(method, path, body).await
}

async fn scim(s: &Scim, token: &str, method: &str, url: &str, body: Option<Value>) -> Reply {
    let path = url
        .split_once("//")
        .map_or(url, |(_, rest)| &rest[rest.find('/').unwrap()..]);
    http(
        s.addr,
        method,
        path,
        body.map(|b| b.to_string()),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

#[tokio::test]
async fn a_directory_goes_from_pending_to_linked_to_invalid_credentials_to_deleting() {
    let s = Scim::start().await;
    let created = call(&s, "POST", "/directories", Some(json!({"name": "Acme"}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let d = created.body["id"].as_str().unwrap().to_string();
    let token = created.body["token"].as_str().unwrap().to_string();
    let v2 = created.body["scim_v2_url"].as_str().unwrap().to_string();
    assert!(v2.ends_with(&format!("/scim/v2/{d}")), "{v2}");
    assert!(created.body["scim_v1_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v1/{d}")));
    assert_eq!(created.body["status"], "pending");

    // The first authenticated SCIM request links it.
    let r = scim(&s, &token, "GET", &format!("{v2}/Users"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let shown = call(&s, "GET", &format!("/directories/{d}"), None)
        .await
        .body;
    assert_eq!(shown["status"], "linked");
    assert!(shown["linked_at"].is_string());
    assert!(shown["last_request_at"].is_string());
    assert_eq!(shown["users"], 0);

    // A failed request is the directory's last error.
    let body = json!({"userName": "x@example.com"});
    assert_eq!(
        scim(
            &s,
            &token,
            "POST",
            &format!("{v2}/Users"),
            Some(body.clone())
        )
        .await
        .status,
        201
    );
    assert_eq!(
        scim(&s, &token, "POST", &format!("{v2}/Users"), Some(body))
            .await
            .status,
        409
    );
    let shown = call(&s, "GET", &format!("/directories/{d}"), None)
        .await
        .body;
    assert_eq!(shown["last_error"]["status"], 409, "{shown}");
    assert_eq!(shown["users"], 1);

    // Tokens: a second for rotation, no third; without a live one the directory shows it.
    let second = call(&s, "POST", &format!("/directories/{d}/tokens"), None).await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert!(second.body["token"]
        .as_str()
        .unwrap()
        .starts_with("scim_sk_"));
    assert_eq!(
        call(&s, "POST", &format!("/directories/{d}/tokens"), None)
            .await
            .status,
        409
    );
    let tokens = call(&s, "GET", &format!("/directories/{d}/tokens"), None)
        .await
        .body;
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    assert!(
        tokens.to_string().find("scim_sk_").is_none(),
        "token list shows no token"
    );
    for t in tokens.as_array().unwrap() {
        let id = t["token_id"].as_str().unwrap();
        let r = call(&s, "DELETE", &format!("/directories/{d}/tokens/{id}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let shown = call(&s, "GET", &format!("/directories/{d}"), None)
        .await
        .body;
    assert_eq!(shown["status"], "invalid_credentials");

    // Delete: accepted, shown as deleting, announced by an event.
    let r = call(&s, "DELETE", &format!("/directories/{d}"), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let shown = call(&s, "GET", &format!("/directories/{d}"), None)
        .await
        .body;
    assert_eq!(shown["status"], "deleting");
    let events = call(
        &s,
        "GET",
        &format!("/directories/{d}/events?limit=100"),
        None,
    )
    .await
    .body;
    let names: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["dsync.activated", "dsync.user.created", "dsync.deleted"]
    );
}

#[tokio::test]
async fn users_and_groups_are_normalised_and_paged() {
    let s = Scim::start().await;
    let a = s.user("a@example.com").await;
    let b = s.user("b@example.com").await;
    let c = s.user("c@example.com").await;
    let g = s.group("Engineering", &[a.as_str(), b.as_str()]).await;
    let d = &s.directory;

    let first = call(&s, "GET", &format!("/directories/{d}/users?limit=2"), None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let page: Vec<&Value> = first.body["data"].as_array().unwrap().iter().collect();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["id"], a.as_str());
    assert_eq!(page[0]["username"], "a@example.com");
    assert_eq!(page[0]["email"], "a@example.com");
    assert_eq!(page[0]["first_name"], "Test");
    assert_eq!(page[0]["state"], "active");
    assert_eq!(page[0]["directory_id"], d.as_str());
    assert_eq!(page[0]["groups"], json!([{"id": g, "name": "Engineering"}]));
    let after = first.body["list_metadata"]["after"].as_str().unwrap();
    let rest = call(
        &s,
        "GET",
        &format!("/directories/{d}/users?limit=2&after={after}"),
        None,
    )
    .await;
    let rest = rest.body["data"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["id"], c.as_str());
    assert_eq!(rest[0]["groups"], json!([]));

    let one = call(&s, "GET", &format!("/directories/{d}/users/{b}"), None).await;
    assert_eq!(one.body["username"], "b@example.com");
    let group = call(&s, "GET", &format!("/directories/{d}/groups/{g}"), None).await;
    assert_eq!(group.body["name"], "Engineering");
    assert!(group.body["raw_attributes"].is_object());
    let groups = call(&s, "GET", &format!("/directories/{d}/groups"), None).await;
    assert_eq!(groups.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(groups.body["list_metadata"]["after"], Value::Null);
}

#[tokio::test]
async fn bad_requests_are_clear_4xx() {
    let s = Scim::start().await;
    let d = &s.directory;
    for (method, path, body, status) in [
        ("GET", format!("/directories/{d}/users?limit=0"), None, 400),
        (
            "GET",
            format!("/directories/{d}/users?limit=101"),
            None,
            400,
        ),
        ("GET", format!("/directories/{d}/events?after=x"), None, 400),
        ("POST", "/directories".to_string(), Some(json!({})), 400),
        (
            "POST",
            "/directories".to_string(),
            Some(json!({"name": "x", "expires_in_days": -1})),
            400,
        ),
        (
            "PUT",
            format!("/directories/{d}/webhook"),
            Some(json!({"url": "ftp://x"})),
            400,
        ),
        (
            "PUT",
            format!("/directories/{d}/webhook"),
            Some(json!({"url": "http://example.com/h"})),
            400,
        ),
        ("GET", "/directories/nope".to_string(), None, 404),
        (
            "GET",
            format!("/directories/{d}/users/0190c0de-0000-7000-8000-000000000000"),
            None,
            404,
        ),
        (
            "GET",
            format!("/directories/{d}/users/not-an-id"),
            None,
            404,
        ),
        // A route asked with a method it does not take: 405 with Allow (RFC 9110 §15.5.6).
        ("PATCH", format!("/directories/{d}"), None, 405),
    ] {
        let r = call(&s, method, &path, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.body);
        assert!(
            r.body["error"].is_string() && r.body["message"].is_string(),
            "{}",
            r.body
        );
    }
    // Raw text that is not JSON.
    let key = format!("Bearer {}", s.management_key.as_str());
    let r = http(
        s.addr,
        "POST",
        "/manage/directories",
        Some("nope".into()),
        &[
            ("authorization", &key),
            ("content-type", "application/json"),
        ],
    )
    .await;
    assert_eq!(r.status, 400);
    // A SCIM token does not open the management API's data for another caller either: there
    // is no SCIM auth here at all, so the route simply is not served off loopback (below).
}

#[tokio::test]
async fn the_local_server_serves_management_routes_on_loopback_only() {
    let store = crate::support::store().await;
    let app = std::sync::Arc::new(scim_lambda::api::App::new(store, None));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let key = ManagementKey::generate();
    tokio::spawn(scim_lambda::local::serve(listener, app, Some(key.clone())));
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let bearer = format!("Bearer {}", key.as_str());
    let r = http(
        addr,
        "GET",
        "/manage/directories",
        None,
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn locally_a_deleted_directory_s_data_goes_after_the_grace() {
    let s = Scim::start().await;
    s.user("gone@example.com").await;
    let store = s.app.store().clone();
    tokio::spawn(scim_lambda::local::background::run(
        store.clone(),
        std::time::Duration::from_millis(20),
        std::time::Duration::ZERO,
    ));
    let r = call(&s, "DELETE", &format!("/directories/{}", s.directory), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let started = std::time::Instant::now();
    while store.get_directory(&s.directory).await.unwrap().is_some() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "not deleted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let left = store.check_directory(&s.directory, false).await.unwrap();
    let events = store.events(&s.directory, 0, 100, &[]).await.unwrap().data;
    // Only the events (and their sequence shards) stay, ending with the deletion.
    assert_eq!(
        left.items,
        events.len() + scim_lambda::store::outbox::SHARDS
    );
    assert_eq!(events.last().unwrap().event, "dsync.deleted");
}

/// `GET /manage/directories` on the test's server with the right key and `extra` headers.
async fn list_with(s: &Scim, extra: &[(&str, &str)]) -> Reply {
    let key = format!("Bearer {}", s.management_key.as_str());
    let mut headers = vec![("authorization", key.as_str())];
    headers.extend_from_slice(extra);
    http(s.addr, "GET", "/manage/directories", None, &headers).await
}

#[tokio::test]
async fn the_local_management_api_answers_its_key_and_nothing_else() {
    let s = Scim::start().await;
    let no_key = http(s.addr, "GET", "/manage/directories", None, &[]).await;
    assert_eq!(no_key.status, 401, "{}", no_key.body);
    assert_eq!(
        no_key.header("www-authenticate"),
        Some("Bearer realm=\"scim-local management\"")
    );
    assert_eq!(no_key.body["error"], "unauthorized");
    // A SCIM token is not the management key, nor is a key of another server.
    let scim_token = format!("Bearer {}", s.token);
    let other = format!("Bearer {}", ManagementKey::generate().as_str());
    for wrong in [
        scim_token.as_str(),
        other.as_str(),
        "Bearer ",
        "Basic Zm9vOmJhcg==",
    ] {
        let r = http(
            s.addr,
            "GET",
            "/manage/directories",
            None,
            &[("authorization", wrong)],
        )
        .await;
        assert_eq!(r.status, 401, "{wrong}: {}", r.body);
    }
    let listed = list_with(&s, &[]).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body.as_array().map(Vec::len), Some(1));
}

/// DNS rebinding: a page on evil.example re-resolves its name to 127.0.0.1 and then reads the
/// answers as its own origin. Its requests name evil.example in Host.
#[tokio::test]
async fn a_rebound_host_name_does_not_reach_the_management_api() {
    let s = Scim::start().await;
    let port = s.addr.port();
    for host in [
        "evil.example".to_string(),
        format!("evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
    ] {
        let r = list_with(&s, &[("host", &host)]).await;
        assert_eq!(r.status, 403, "{host}: {}", r.body);
        assert_eq!(r.body["error"], "forbidden");
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "LOCALHOST".to_string(),
    ] {
        assert_eq!(
            list_with(&s, &[("host", &host)]).await.status,
            200,
            "{host}"
        );
    }
}

#[tokio::test]
async fn a_cross_site_request_does_not_reach_the_management_api() {
    let s = Scim::start().await;
    let port = s.addr.port();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("origin", other_port.as_str()),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let r = list_with(&s, &[(name, value)]).await;
        assert_eq!(r.status, 403, "{name}: {value}: {}", r.body);
    }
    let own = format!("http://localhost:{port}");
    assert_eq!(list_with(&s, &[("origin", &own)]).await.status, 200);
    assert_eq!(
        list_with(&s, &[("sec-fetch-site", "same-origin")])
            .await
            .status,
        200
    );
}

/// An HTML form (or a "simple" fetch) can only send these types without a CORS preflight; even
/// with the key (which a page cannot know) such a write is refused and creates nothing.
#[tokio::test]
async fn a_form_post_creates_no_directory() {
    let s = Scim::start().await;
    let key = format!("Bearer {}", s.management_key.as_str());
    for (content_type, body) in [
        ("text/plain", r#"{"name": "Evil"}"#),
        ("application/x-www-form-urlencoded", "name=Evil"),
        ("multipart/form-data; boundary=x", "--x--"),
    ] {
        let r = http(
            s.addr,
            "POST",
            "/manage/directories",
            Some(body.into()),
            &[("authorization", &key), ("content-type", content_type)],
        )
        .await;
        assert_eq!(r.status, 415, "{content_type}: {}", r.body);
    }
    // A body without a type is refused too; an empty one carries nothing to misread (POST
    // .../tokens takes none), and a cross-site sender is refused by its Origin anyway.
    let no_type = http(
        s.addr,
        "POST",
        &format!("/manage/directories/{}/tokens", s.directory),
        Some("{}".into()),
        &[("authorization", &key), ("content-type", "")],
    )
    .await;
    assert_eq!(no_type.status, 415, "{}", no_type.body);
    let listed = list_with(&s, &[]).await;
    assert_eq!(
        listed.body.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.body
    );
    let charset = http(
        s.addr,
        "POST",
        "/manage/directories",
        Some(r#"{"name": "Fine"}"#.into()),
        &[
            ("authorization", &key),
            ("content-type", "application/json; charset=utf-8"),
        ],
    )
    .await;
    assert_eq!(charset.status, 201, "{}", charset.body);
}

/// A tunnel relays the whole port: the IdP's SCIM requests must pass, the management API not.
#[tokio::test]
async fn through_a_tunnel_scim_answers_and_the_management_api_does_not() {
    let s = Scim::start().await;
    let bearer = format!("Bearer {}", s.token);
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7;proto=https"),
        ("x-forwarded-host", "abc.tunnel.example"),
        ("x-forwarded-proto", "https"),
        ("x-real-ip", "203.0.113.7"),
        ("via", "1.1 tunnel"),
    ] {
        let r = list_with(&s, &[(name, value)]).await;
        assert_eq!(r.status, 403, "{name}: {}", r.body);
        let users = http(
            s.addr,
            "GET",
            &s.v2("/Users"),
            None,
            &[("authorization", &bearer), (name, value)],
        )
        .await;
        assert_eq!(users.status, 200, "{name}: {}", users.body);
    }
}

/// A directory being deleted takes no new credential or webhook (409): one issued while its data
/// goes would outlive it.
#[tokio::test]
async fn a_deleting_directory_takes_no_new_credentials() {
    let s = Scim::start().await;
    let d = format!("/directories/{}", s.directory);
    assert_eq!(s.manage("DELETE", &d, None).await.status, 202);
    for (method, path, body) in [
        ("POST", format!("{d}/tokens"), None),
        ("POST", format!("{d}/clients"), None),
        (
            "PUT",
            format!("{d}/webhook"),
            Some(serde_json::json!({"url": "http://127.0.0.1:9/hook"})),
        ),
    ] {
        let r = s.manage(method, &path, body).await;
        assert_eq!(r.status, 409, "{method} {path}: {}", r.body);
    }
}
