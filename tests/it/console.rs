//! The operator console (`scimctl console`) over a running local server's management API, as its
//! handler answers a browser: the session from the printed token, then a directory's pages and
//! forms. (The real-browser walk is tests/browser/test_console.py.)

use std::sync::Arc;

use lambda_http::{Body, Request};
use scim_lambda::api::console::{handle, Console};
use scim_lambda::management_client::ManagementClient;
use serde_json::{json, Value};

use crate::support::Scim;

/// A console on `s`'s management API, with its session cookie and CSRF token.
struct Operator {
    console: Arc<Console>,
    cookie: String,
    csrf: String,
}

struct Page {
    status: u16,
    html: String,
}

fn request(method: &str, uri: &str, cookie: Option<&str>, body: Option<String>) -> Request {
    let mut b = lambda_http::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:4000");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    if body.is_some() {
        b = b
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin");
    }
    b.body(body.map_or(Body::Empty, Body::from)).unwrap()
}

impl Operator {
    async fn open(s: &Scim) -> Operator {
        let api = ManagementClient::new(
            &format!("http://{}/manage", s.addr),
            s.management_key.clone(),
        )
        .unwrap();
        let console = Arc::new(Console::new(api).unwrap());
        let printed = console.url("127.0.0.1:4000".parse().unwrap());
        let path = printed.split_once("4000").unwrap().1;
        let r = handle(&console, request("GET", path, None, None)).await;
        assert_eq!(r.status(), 303);
        let set = r.headers()["set-cookie"].to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_string();
        let page = handle(
            &console,
            request("GET", "/directories/new", Some(&cookie), None),
        )
        .await;
        let html = std::str::from_utf8(page.body()).unwrap();
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("a CSRF token in the form")
            .to_string();
        Operator {
            console,
            cookie,
            csrf,
        }
    }

    async fn send(&self, method: &str, path: &str, body: Option<String>) -> Page {
        let r = handle(
            &self.console,
            request(method, path, Some(&self.cookie), body),
        )
        .await;
        Page {
            status: r.status().as_u16(),
            html: std::str::from_utf8(r.body()).unwrap().to_string(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    /// The Custom attributes form posted with `paths` (key, path) and the button `op`.
    async fn map(&self, dir: &str, paths: &[(&str, &str)], op: &str, csrf: &str) -> Page {
        let mut body = format!("csrf={csrf}&op={op}");
        for (key, path) in paths {
            let path: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            body.push_str(&format!("&path.{key}={path}"));
        }
        let at = format!("/directories/{dir}/attributes");
        self.send("POST", &at, Some(body)).await
    }
}

async fn mapping(s: &Scim) -> Value {
    let path = format!("/directories/{}/custom-attributes", s.directory);
    s.manage("GET", &path, None).await.body
}

#[tokio::test]
async fn the_console_previews_a_mapping_on_the_newest_users_then_saves_it() {
    let s = Scim::start().await;
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let declared = s
        .manage(
            "PUT",
            "/custom-attributes",
            Some(json!({"attributes": [{"key": "city"}, {"key": "department"}]})),
        )
        .await;
    assert_eq!(declared.status, 200, "{}", declared.body);
    let made = s
        .post(
            "/Users",
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ent],
                "userName": "<b>ada</b>@example.com",
                "addresses": [{"type": "work", "locality": "<i>Cambridge</i>"}],
                ent: {"department": "Engineering"}
            }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let op = Operator::open(&s).await;
    let d = s.directory.clone();

    // The keys and the mapping in force: department by its enterprise default, city unmapped.
    let page = op.get(&format!("/directories/{d}/attributes")).await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Custom attributes"));
    assert!(page
        .html
        .contains("data-key=\"department\" data-source=\"default\""));
    assert!(page.html.contains("Not mapped: users do not carry it"));

    // Preview: the user's city appears (as text, marked changed); nothing is saved.
    let city = r#"addresses[type eq "work"].locality"#;
    let preview = op.map(&d, &[("city", city)], "preview", &op.csrf).await;
    assert_eq!(preview.status, 200, "{}", preview.html);
    assert!(
        preview
            .html
            .contains("<td class=\"after changed\">&lt;i&gt;Cambridge&lt;/i&gt;</td>"),
        "{}",
        preview.html
    );
    assert!(preview.html.contains("&lt;b&gt;ada&lt;/b&gt;@example.com"));
    assert!(!preview.html.contains("<b>ada") && !preview.html.contains("<i>Cambridge"));
    assert_eq!(mapping(&s).await["mappings"], json!([]));

    // A path that does not parse, or a key the application does not declare: 400, the reason
    // on the page, nothing saved.
    let bad = op
        .map(&d, &[("city", "addresses[type eq")], "save", &op.csrf)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(bad.html.contains("id=\"attributes-error\""));
    assert!(bad.html.contains("mappings[0].path"), "{}", bad.html);
    let unknown = op.map(&d, &[("nope", "title")], "preview", &op.csrf).await;
    assert_eq!(unknown.status, 400, "{}", unknown.html);
    assert!(unknown.html.contains("is not a declared custom attribute"));

    // Without the run's CSRF token: refused.
    let forged = op.map(&d, &[("city", city)], "save", "guess").await;
    assert_eq!(forged.status, 403);
    assert_eq!(mapping(&s).await["mappings"], json!([]));

    // Save.
    let saved = op.map(&d, &[("city", city)], "save", &op.csrf).await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    assert!(saved.html.contains("id=\"attributes-saved\""));
    assert!(saved
        .html
        .contains("data-key=\"city\" data-source=\"directory\""));
    assert_eq!(
        mapping(&s).await["mappings"],
        json!([{"key": "city", "path": city}])
    );
}
