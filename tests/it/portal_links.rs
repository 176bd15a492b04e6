//! Admin Portal setup links, as the application asks for them: a link for its customer's IT admin,
//! carrying a secret that is shown once and stored only as a hash, listed without it, revoked,
//! refused when its options are not what a browser can safely be sent to.

use serde_json::{json, Value};

use crate::support::{Reply, Scim};

const WEEK_MS: i64 = 7 * 86_400_000;

async fn links(s: &Scim, method: &str, rest: &str, body: Option<Value>) -> Reply {
    let path = format!("/directories/{}/portal-links{rest}", s.directory);
    s.manage(method, &path, body).await
}

/// Milliseconds since the epoch of an RFC 3339 answer (`2026-11-24T22:26:11.123Z`).
fn millis(rfc3339: &Value) -> i64 {
    let t = rfc3339.as_str().expect("a timestamp");
    let n = |r: std::ops::Range<usize>| t[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from the civil date (H. Hinnant's algorithm), as `clock` formats them.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    secs * 1000 + n(20..23)
}

/// Every tokens-table item, as text.
async fn tokens_table(s: &Scim) -> String {
    let store = s.app.store();
    let items = store
        .client()
        .scan()
        .table_name(store.tokens_table())
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    format!("{items:?}")
}

#[tokio::test]
async fn a_setup_link_carries_a_secret_that_only_its_hash_remembers() {
    let s = Scim::start().await;
    let options = json!({
        "return_url": "https://app.example.com/settings",
        "success_url": "https://app.example.com/done",
        "embed_origin": "https://app.example.com",
        "app_name": "Acme HR",
    });
    let made = links(&s, "POST", "", Some(options)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let url = made.body["url"].as_str().unwrap();
    // The secret rides in the fragment, which browsers never send to a server.
    // An embedded link names its embedding origin in the query (it may frame the page).
    let secret = url
        .split_once("/portal/open?embed=https%3A%2F%2Fapp.example.com#")
        .expect("a portal URL")
        .1;
    let hex = secret.strip_prefix("scim_pl_").expect("a link secret");
    assert!(
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "256 bits: {secret}"
    );
    let id = made.body["id"].as_str().unwrap();
    assert!(id.starts_with("pl_"), "{id}");
    assert_eq!(made.body["app_name"], "Acme HR");
    assert_eq!(made.body["embed_origin"], "https://app.example.com");

    let stored = tokens_table(&s).await;
    assert!(!stored.contains(hex), "the secret is stored: {stored}");
    let hash = scim_lambda::auth::hash_token(secret);
    assert!(stored.contains(&hash), "the hash is not stored: {stored}");

    let listed = links(&s, "GET", "", None).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["id"], id);
    assert_eq!(
        listed.body[0]["success_url"],
        "https://app.example.com/done"
    );
    assert!(listed.body[0].get("url").is_none());
    assert!(!listed.body.to_string().contains(hex));

    // The link's secret is no bearer token.
    let r = crate::support::http(
        s.addr,
        "GET",
        &format!("/scim/v2/{}/Users", s.directory),
        None,
        &[("authorization", &format!("Bearer {secret}"))],
    )
    .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_revoked_link_is_gone() {
    let s = Scim::start().await;
    let id = links(&s, "POST", "", None).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let kept = links(&s, "POST", "", None).await.body["id"].clone();
    let r = links(&s, "DELETE", &format!("/{id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["revoked"], id.as_str());
    let listed = links(&s, "GET", "", None).await.body;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], kept);
    assert_eq!(
        links(&s, "DELETE", &format!("/{id}"), None).await.status,
        404
    );
}

#[tokio::test]
async fn a_link_lives_a_week_by_default_and_30_days_at_most() {
    let s = Scim::start().await;
    let made = links(&s, "POST", "", None).await.body;
    let lifetime = millis(&made["expires_at"]) - millis(&made["created_at"]);
    assert_eq!(lifetime, WEEK_MS);

    let month = links(&s, "POST", "", Some(json!({"expires_in_minutes": 43_200}))).await;
    assert_eq!(month.status, 201, "{}", month.body);
    let minute = links(&s, "POST", "", Some(json!({"expires_in_minutes": 1}))).await;
    assert_eq!(minute.status, 201, "{}", minute.body);
    for bad in [json!(0), json!(43_201), json!(-5), json!(1.5), json!("60")] {
        let r = links(&s, "POST", "", Some(json!({"expires_in_minutes": bad}))).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_request");
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("expires_in_minutes"));
    }
}

#[tokio::test]
async fn urls_must_be_https_and_the_embed_origin_an_origin() {
    let s = Scim::start().await;
    for bad in [
        json!({"return_url": "http://app.example.com/"}),
        json!({"return_url": "/settings"}),
        json!({"success_url": "javascript:alert(1)"}),
        json!({"success_url": 7}),
        json!({"embed_origin": "https://app.example.com/admin"}),
        json!({"embed_origin": "app.example.com"}),
        json!({"app_name": "x".repeat(101)}),
        json!({"app_name": " "}),
    ] {
        let r = links(&s, "POST", "", Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["error"], "invalid_request");
    }
    let local = json!({"return_url": "http://localhost:3000/back", "embed_origin": "http://127.0.0.1:3000"});
    assert_eq!(links(&s, "POST", "", Some(local)).await.status, 201);
}

#[tokio::test]
async fn another_directory_s_link_is_not_found() {
    let s = Scim::start().await;
    let theirs = s
        .manage("POST", "/directories", Some(json!({"name": "Other"})))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let made = s
        .manage("POST", &format!("/directories/{theirs}/portal-links"), None)
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.body["id"].as_str().unwrap();
    assert_eq!(
        links(&s, "DELETE", &format!("/{id}"), None).await.status,
        404
    );
    assert_eq!(links(&s, "GET", "", None).await.body, json!([]));
    let no_dir = s
        .manage("GET", "/directories/nope/portal-links", None)
        .await;
    assert_eq!(no_dir.status, 404);
}

#[tokio::test]
async fn a_deleting_directory_takes_no_link_and_loses_its_links() {
    let s = Scim::start().await;
    links(&s, "POST", "", None).await;
    let d = format!("/directories/{}", s.directory);
    assert_eq!(s.manage("DELETE", &d, None).await.status, 202);
    assert_eq!(links(&s, "POST", "", None).await.status, 409);
    assert_eq!(links(&s, "GET", "", None).await.body, json!([]));
    assert!(!tokens_table(&s).await.contains("portal_link"));
}
