//! The OAuth 2.0 token endpoint (client-credentials grant, RFC 6749 §4.4) over HTTP, and the access
//! tokens it issues on the SCIM routes.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde_json::{json, Value};

use crate::support::{http, Reply, Scim};

const FORM: &str = "application/x-www-form-urlencoded";

async fn manage(s: &Scim, method: &str, path: &str, body: Option<Value>) -> Reply {
    s.manage(method, &format!("/directories/{}{path}", s.directory), body)
        .await
}

/// A new client of the test's directory: (client_id, client_secret).
async fn client(s: &Scim) -> (String, String) {
    let r = manage(s, "POST", "/clients", None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body["token_endpoint"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/oauth2/{}/token", s.directory)));
    (
        r.body["client_id"].as_str().unwrap().to_string(),
        r.body["client_secret"].as_str().unwrap().to_string(),
    )
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", B64.encode(format!("{id}:{secret}")))
}

async fn token_request(s: &Scim, dir: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    http(
        s.addr,
        "POST",
        &format!("/oauth2/{dir}/token"),
        Some(body.to_string()),
        headers,
    )
    .await
}

async fn scim_with(s: &Scim, dir: &str, token: &str) -> u16 {
    http(
        s.addr,
        "GET",
        &format!("/scim/v2/{dir}/Users"),
        None,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .status
}

/// A form body's content type, then `extra`.
fn form_headers<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut h = vec![("content-type", FORM)];
    h.extend_from_slice(extra);
    h
}

#[tokio::test]
async fn both_client_authentication_methods_issue_tokens_that_open_the_scim_api() {
    let s = Scim::start().await;
    let (id, secret) = client(&s).await;
    let dir = s.directory.clone();

    // client_secret_basic (RFC 6749 §2.3.1), with a comma-separated scope as PingFederate sends.
    let auth = basic(&id, &secret);
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials&scope=scim.read,scim.write",
        &form_headers(&[("authorization", &auth)]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "scim.read scim.write");
    let basic_token = r.body["access_token"].as_str().unwrap().to_string();
    assert!(basic_token.starts_with("scim_at_"));
    assert_eq!(scim_with(&s, &dir, &basic_token).await, 200);

    // client_secret_post, space-separated scope (form-encoded '+'), a tolerated `resource`.
    let body = format!(
        "grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=scim+admin&resource=https%3A%2F%2Fscim.example.com"
    );
    let r = token_request(&s, &dir, &body, &form_headers(&[])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["scope"], "scim admin");
    let post_token = r.body["access_token"].as_str().unwrap().to_string();
    assert_ne!(post_token, basic_token);
    assert_eq!(scim_with(&s, &dir, &post_token).await, 200);

    // No scope: none echoed.
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &auth)]),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("scope").is_none());

    // Another directory: its token endpoint refuses this client, its SCIM API this token.
    let other = scim_lambda::service::directories::create(s.svc(), &s.base, "other", None, None)
        .await
        .unwrap();
    let other_dir = other.directory.id.as_str();
    let r = token_request(
        &s,
        other_dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &auth)]),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.body["error"], "invalid_client");
    assert_eq!(scim_with(&s, other_dir, &post_token).await, 401);
}

/// (method, body, headers, status, error code)
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, u16, &'a str);

#[tokio::test]
async fn every_error_is_the_rfc_6749_one() {
    let s = Scim::start().await;
    let (id, secret) = client(&s).await;
    let dir = s.directory.clone();
    let auth = basic(&id, &secret);
    let unknown = basic("scim_client_nope", &secret);
    let ok = "grant_type=client_credentials";
    let cases: Vec<Case> = vec![
        (
            "GET",
            String::new(),
            form_headers(&[("authorization", &auth)]),
            405,
            "invalid_request",
        ),
        (
            "POST",
            r#"{"grant_type":"client_credentials"}"#.into(),
            vec![
                ("content-type", "application/json"),
                ("authorization", &auth),
            ],
            400,
            "invalid_request",
        ),
        (
            "POST",
            String::new(),
            form_headers(&[("authorization", &auth)]),
            400,
            "invalid_request",
        ),
        (
            "POST",
            "grant_type=password&username=a&password=b".into(),
            form_headers(&[("authorization", &auth)]),
            400,
            "unsupported_grant_type",
        ),
        (
            "POST",
            "grant_type=client_credentials&grant_type=client_credentials".into(),
            form_headers(&[("authorization", &auth)]),
            400,
            "invalid_request",
        ),
        (
            "POST",
            format!("{ok}&client_secret=scim_cs_other"),
            form_headers(&[("authorization", &auth)]),
            400,
            "invalid_request",
        ),
        ("POST", ok.into(), form_headers(&[]), 401, "invalid_client"),
        (
            "POST",
            format!("{ok}&client_id={id}&client_secret=scim_cs_wrong"),
            form_headers(&[]),
            401,
            "invalid_client",
        ),
        (
            "POST",
            ok.into(),
            form_headers(&[("authorization", "Basic !!!")]),
            401,
            "invalid_client",
        ),
        (
            "POST",
            ok.into(),
            form_headers(&[("authorization", &unknown)]),
            401,
            "invalid_client",
        ),
    ];
    for (method, body, headers, status, error) in cases {
        let r = http(
            s.addr,
            method,
            &format!("/oauth2/{dir}/token"),
            Some(body.clone()),
            &headers,
        )
        .await;
        assert_eq!(r.status, status, "{method} {body}: {}", r.body);
        assert_eq!(r.body["error"], error, "{method} {body}");
        assert!(r.body["error_description"].is_string());
        assert_eq!(r.header("cache-control"), Some("no-store"));
        if status == 401 {
            assert!(r
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic")));
        }
    }
}

#[tokio::test]
async fn tokens_expire_clients_rotate_and_revocation_reaches_their_tokens() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = Scim::start().await;
    let dir = s.directory.clone();
    let (old_id, old_secret) = client(&s).await;
    let (new_id, new_secret) = client(&s).await;
    // Two live clients for rotation; a third is refused.
    assert_eq!(manage(&s, "POST", "/clients", None).await.status, 409);
    let token = |id: String, secret: String| {
        let s = &s;
        let dir = dir.clone();
        async move {
            let r = token_request(
                s,
                &dir,
                "grant_type=client_credentials",
                &form_headers(&[("authorization", &basic(&id, &secret))]),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["access_token"].as_str().unwrap().to_string()
        }
    };
    let from_old = token(old_id.clone(), old_secret.clone()).await;
    let from_new = token(new_id.clone(), new_secret.clone()).await;
    // Revoking the old client deletes its tokens (never used yet, so no cached answer) and
    // refuses its secret; the new one goes on.
    let r = manage(&s, "DELETE", &format!("/clients/{old_id}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["access_tokens_revoked"], 1);
    assert_eq!(scim_with(&s, &dir, &from_old).await, 401);
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &basic(&old_id, &old_secret))]),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(scim_with(&s, &dir, &from_new).await, 200);

    // An access token past its hour is refused (its expiry moved back, never looked up before).
    let expiring = token(new_id.clone(), new_secret.clone()).await;
    let store = s.app.store();
    store
        .client()
        .update_item()
        .table_name(store.tokens_table())
        .key(
            "token_hash",
            AttributeValue::S(scim_lambda::auth::hash_token(&expiring)),
        )
        .update_expression("SET expires_at_millis = :past")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(scim_with(&s, &dir, &expiring).await, 401);

    // The directory lists clients without secrets.
    let list = manage(&s, "GET", "/clients", None).await.body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("scim_cs_"));
}

#[tokio::test]
async fn the_admin_chooses_bearer_client_credentials_or_both() {
    let s = Scim::start().await;
    let dir = s.directory.clone();
    let (id, secret) = client(&s).await;
    // Client credentials only: bearer tokens are revoked and no new one is issued.
    let r = manage(
        &s,
        "PUT",
        "/auth",
        Some(json!({"bearer": false, "client_credentials": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(manage(&s, "POST", "/tokens", None).await.status, 409);
    let shown = manage(&s, "GET", "", None).await.body;
    assert_eq!(
        shown["auth_methods"],
        json!({"bearer": false, "client_credentials": true})
    );
    assert_ne!(shown["status"], "invalid_credentials");
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &basic(&id, &secret))]),
    )
    .await;
    assert_eq!(r.status, 200);
    // Bearer only: clients go, the endpoint refuses.
    let r = manage(
        &s,
        "PUT",
        "/auth",
        Some(json!({"bearer": true, "client_credentials": false})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &basic(&id, &secret))]),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(manage(&s, "POST", "/clients", None).await.status, 409);
    // Neither is refused.
    let r = manage(
        &s,
        "PUT",
        "/auth",
        Some(json!({"bearer": false, "client_credentials": false})),
    )
    .await;
    assert_eq!(r.status, 400);
}

/// A failed client authentication never waits inside the invocation: with tokio's clock paused,
/// any sleep would show as elapsed (virtual) time. (It used to wait 250 ms doubling to 4 s per
/// failure, holding a Lambda execution per anonymous request.)
#[tokio::test(start_paused = true)]
async fn failed_client_authentications_are_answered_at_once() {
    let store = crate::support::store().await;
    let auth = scim_lambda::auth::Authenticator::new(store);
    let started = tokio::time::Instant::now();
    for _ in 0..20 {
        let r = auth
            .issue_access_token("d1", "scim_client_0123456789abcdef01234567", "wrong")
            .await;
        assert!(matches!(
            r,
            Err(scim_lambda::auth::OAuthError::InvalidClient)
        ));
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
}

/// Failures lock nobody out: after many wrong secrets the right one is answered at once.
#[tokio::test]
async fn failures_do_not_lock_the_client_out() {
    let s = Scim::start().await;
    let (id, secret) = client(&s).await;
    let dir = s.directory.clone();
    for _ in 0..10 {
        let r = token_request(
            &s,
            &dir,
            "grant_type=client_credentials",
            &form_headers(&[("authorization", &basic(&id, "scim_cs_0000"))]),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"], "invalid_client");
    }
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &basic(&id, &secret))]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Only the exact `/oauth2/{directoryId}/token` path is the token endpoint; a SCIM path that
/// merely contains `/oauth2/…/token` stays SCIM (it used to reach the token handler from every
/// SCIM function).
#[tokio::test]
async fn only_the_exact_token_path_reaches_the_token_endpoint() {
    let s = Scim::start().await;
    let (id, secret) = client(&s).await;
    let dir = s.directory.clone();
    let authorization = basic(&id, &secret);
    let headers = form_headers(&[("authorization", &authorization)]);
    for path in [
        format!("/scim/v2/{dir}/Users/oauth2/token"),
        format!("/scim/v2/{dir}/oauth2/{dir}/token"),
        format!("/oauth2/{dir}/x/token"),
    ] {
        let r = http(
            s.addr,
            "POST",
            &path,
            Some("grant_type=client_credentials".into()),
            &headers,
        )
        .await;
        assert_ne!(r.status, 200, "{path}");
        assert!(r.body.get("access_token").is_none(), "{path}: {}", r.body);
    }
    // The handler itself, given a path other than its route, refuses it too.
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://x/scim/v2/{dir}/Users/oauth2/{dir}/token"))
        .header("content-type", FORM)
        .header("authorization", basic(&id, &secret))
        .body(lambda_http::Body::Text(
            "grant_type=client_credentials".into(),
        ))
        .unwrap();
    let resp = scim_lambda::api::handle(&s.app, scim_lambda::function::Function::Token, req).await;
    assert_eq!(resp.status().as_u16(), 404);
}

/// Revocation holds without listing tokens: an access token minted while its client was being
/// revoked (here: written after the client is gone) is refused, as is one whose client was
/// deleted with the directory's client credentials turned off.
#[tokio::test]
async fn an_access_token_is_refused_once_its_client_is_gone() {
    let s = Scim::start().await;
    let dir = s.directory.clone();
    let (id, secret) = client(&s).await;
    let r = token_request(
        &s,
        &dir,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &basic(&id, &secret))]),
    )
    .await;
    let token = r.body["access_token"].as_str().unwrap().to_string();
    let store = s.app.store();
    store.delete_client(&id).await.unwrap();
    // The race: the mint's token item lands after the revocation listed (nothing).
    let late = scim_lambda::auth::random_with(scim_lambda::auth::ACCESS_TOKEN_PREFIX, 32);
    let hash = scim_lambda::auth::hash_token(&late);
    store
        .put_token(&scim_lambda::store::tokens::TokenRecord {
            token_id: scim_lambda::auth::token_id(&hash),
            hash,
            directory_id: dir.clone(),
            created_at: scim_lambda::clock::now_rfc3339(),
            expires_at_millis: Some(scim_lambda::clock::now_millis() + 3_600_000),
            client_id: Some(id.clone()),
        })
        .await
        .unwrap();
    assert_eq!(scim_with(&s, &dir, &late).await, 401);
    assert_eq!(scim_with(&s, &dir, &token).await, 401);
}

/// A client that asks for a token per request keeps only its newest `MAX_ACCESS_TOKENS`; the
/// tokens expire by TTL at their expiry; and none of them is in the by-directory index that
/// lists a directory's credentials (`GET /manage/directories`).
#[tokio::test]
async fn access_tokens_are_capped_per_client_expire_by_ttl_and_are_not_listed() {
    use scim_lambda::store::clients::MAX_ACCESS_TOKENS;
    let s = Scim::start().await;
    let dir = s.directory.clone();
    let (id, secret) = client(&s).await;
    let mut tokens = Vec::new();
    for _ in 0..MAX_ACCESS_TOKENS + 3 {
        let r = token_request(
            &s,
            &dir,
            "grant_type=client_credentials",
            &form_headers(&[("authorization", &basic(&id, &secret))]),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        tokens.push(r.body["access_token"].as_str().unwrap().to_string());
    }
    for (i, t) in tokens.iter().enumerate() {
        let want = if i < 3 { 401 } else { 200 };
        assert_eq!(scim_with(&s, &dir, t).await, want, "token {i}");
    }
    let store = s.app.store();
    let item = store
        .client()
        .get_item()
        .table_name(store.tokens_table())
        .key(
            "token_hash",
            aws_sdk_dynamodb::types::AttributeValue::S(scim_lambda::auth::hash_token(
                tokens.last().unwrap(),
            )),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let n = |k: &str| item[k].as_n().unwrap().parse::<i64>().unwrap();
    assert_eq!(n("ttl"), (n("expires_at_millis") + 999) / 1000);
    // The retired tokens' items are gone; the listing holds the bearer token and the client.
    assert!(store
        .get_token(&scim_lambda::auth::hash_token(&tokens[0]))
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.list_tokens(&dir).await.unwrap().len(), 1);
    assert_eq!(store.list_clients(&dir).await.unwrap().len(), 1);
    let r = s.manage("GET", "/directories", None).await;
    assert_eq!(r.status, 200);
}

/// (IdP, form body, headers)
type Replay<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

/// Each IdP's token request as its documentation describes it (docs/idp-*.md cite the pages):
/// the request shape, then the access token on a SCIM request of that IdP.
#[tokio::test]
async fn the_idps_token_requests_are_answered() {
    let s = Scim::start().await;
    let (id, secret) = client(&s).await;
    let dir = s.directory.clone();
    let auth = basic(&id, &secret);
    let post = format!("client_id={id}&client_secret={secret}");
    let replays: Vec<Replay> = vec![
        // PingFederate SCIM connector, "OAuth 2 Client Credentials": HTTP Basic, the scope field
        // sent as typed (comma-separated).
        (
            "pingfederate",
            "grant_type=client_credentials&scope=scim%3Ausers%2Cscim%3Agroups".into(),
            vec![
                (
                    "content-type",
                    "application/x-www-form-urlencoded; charset=UTF-8",
                ),
                ("authorization", &auth),
                ("accept", "application/json"),
            ],
        ),
        // PingOne SCIM outbound, "OAuth 2 Client Credentials" with the client secret in the body.
        (
            "pingone",
            format!("grant_type=client_credentials&{post}&scope=scim"),
            vec![("content-type", FORM)],
        ),
        // Entra, "OAuth 2.0 client credentials grant": id and secret in the body, and a `scope`
        // or `resource` naming the app.
        (
            "entra",
            format!(
                "grant_type=client_credentials&{post}&resource=https%3A%2F%2Fscim.example.com%2F"
            ),
            vec![
                ("content-type", FORM),
                ("user-agent", "Microsoft.Identity.Provisioning"),
            ],
        ),
        // Entra with credential send method "Both": Basic and the body, the same credentials.
        (
            "entra-both",
            format!("grant_type=client_credentials&{post}"),
            vec![("content-type", FORM), ("authorization", &auth)],
        ),
    ];
    for (idp, body, headers) in replays {
        let r = token_request(&s, &dir, &body, &headers).await;
        assert_eq!(r.status, 200, "{idp}: {}", r.body);
        assert_eq!(r.body["token_type"], "Bearer", "{idp}");
        assert!(r.body["expires_in"].as_u64().unwrap() > 0, "{idp}");
        let token = r.body["access_token"].as_str().unwrap();
        assert_eq!(scim_with(&s, &dir, token).await, 200, "{idp}");
    }
}

#[tokio::test]
async fn deleting_a_directory_deletes_its_clients_and_access_tokens() {
    let s = Scim::start().await;
    let (id, secret) = client(&s).await;
    let r = token_request(
        &s,
        &s.directory,
        "grant_type=client_credentials",
        &form_headers(&[("authorization", &basic(&id, &secret))]),
    )
    .await;
    assert_eq!(r.status, 200);
    s.delete_directory().await.unwrap();
    let store = s.app.store();
    assert!(store.get_client(&id).await.unwrap().is_none());
    assert!(store.list_tokens(&s.directory).await.unwrap().is_empty());
    let token = r.body["access_token"].as_str().unwrap();
    assert_eq!(scim_with(&s, &s.directory, token).await, 401);
}

/// With the edge configured, SCIM and token requests that did not come through CloudFront (no
/// or a wrong `x-scim-edge`) are refused before any token check; through it they are served.
#[tokio::test]
async fn with_the_edge_only_requests_through_it_are_served() {
    use scim_lambda::api::{handle, App, EDGE_HEADER};
    use scim_lambda::function::Function;
    let s = Scim::start().await;
    let mut app = App::new(s.app.store().clone(), None);
    app.edge_secret = Some("0f5e-edge".into());
    let get = |edge: Option<&str>| {
        let mut b = lambda_http::http::Request::builder()
            .method("GET")
            .uri(format!("https://x/scim/v2/{}/Users", s.directory))
            .header("authorization", format!("Bearer {}", s.token));
        if let Some(e) = edge {
            b = b.header(EDGE_HEADER, e);
        }
        b.body(lambda_http::Body::Empty).unwrap()
    };
    for edge in [None, Some("wrong"), Some("0f5e-edge0")] {
        let r = handle(&app, Function::Users, get(edge)).await;
        assert_eq!(r.status().as_u16(), 403, "{edge:?}");
    }
    let r = handle(&app, Function::Users, get(Some("0f5e-edge"))).await;
    assert_eq!(r.status().as_u16(), 200);
    let token = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://x/oauth2/{}/token", s.directory))
        .header("content-type", FORM)
        .body(lambda_http::Body::Text(
            "grant_type=client_credentials".into(),
        ))
        .unwrap();
    assert_eq!(
        handle(&app, Function::Token, token).await.status().as_u16(),
        403
    );
}
