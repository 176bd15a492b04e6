//! Bearer-token checks: every failure is the same 401 with `WWW-Authenticate: Bearer`.

use scim_lambda::auth;
use scim_lambda::clock;
use scim_lambda::store::tokens::TokenRecord;

use crate::support::Scim;

async fn status_with(
    s: &Scim,
    auth_header: Option<&str>,
) -> (u16, Option<String>, serde_json::Value) {
    let headers: Vec<(&str, &str)> = auth_header
        .map(|h| vec![("authorization", h)])
        .unwrap_or_default();
    let r = s.raw("GET", &s.v2("/Users"), None, &headers).await;
    (
        r.status,
        r.header("www-authenticate").map(str::to_string),
        r.body,
    )
}

fn assert_401(got: (u16, Option<String>, serde_json::Value)) {
    assert_eq!(got.0, 401, "{}", got.2);
    assert!(got.1.unwrap().starts_with("Bearer"));
    assert_eq!(got.2["status"], "401");
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_401() {
    let s = Scim::start().await;
    assert_401(status_with(&s, None).await);
    assert_401(status_with(&s, Some("Basic dXNlcjpwYXNz")).await);
    assert_401(status_with(&s, Some("Bearer")).await);
}

#[tokio::test]
async fn a_wrong_token_is_401() {
    let s = Scim::start().await;
    assert_401(status_with(&s, Some(&format!("Bearer {}", auth::new_token()))).await);
}

#[tokio::test]
async fn another_directorys_token_is_401_like_a_bad_token() {
    let a = Scim::start().await;
    let b = Scim::start().await;
    let r = a
        .raw(
            "GET",
            &a.v2("/Users"),
            None,
            &[("authorization", &format!("Bearer {}", b.token))],
        )
        .await;
    assert_eq!(r.status, 401);
    // And a valid token works on its own directory.
    assert_eq!(b.get("/Users").await.status, 200);
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let s = Scim::start().await;
    let token = auth::new_token();
    let hash = auth::hash_token(&token);
    s.app
        .store()
        .put_token(&TokenRecord {
            token_id: auth::token_id(&hash),
            hash,
            directory_id: s.directory.clone(),
            created_at: clock::now_rfc3339(),
            expires_at_millis: Some(clock::now_millis() - 1000),
            client_id: None,
        })
        .await
        .unwrap();
    assert_401(status_with(&s, Some(&format!("Bearer {token}"))).await);
}

#[tokio::test]
async fn only_the_hash_of_a_token_is_stored() {
    let s = Scim::start().await;
    let stored = s
        .app
        .store()
        .get_token(&auth::hash_token(&s.token))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.directory_id, s.directory);
    let listed =
        serde_json::to_string(&s.app.store().list_tokens(&s.directory).await.unwrap()).unwrap();
    assert!(!listed.contains(&s.token));
    assert!(!listed.contains(&s.token[8..]));
}

/// Strings that cannot be our tokens are refused without a read, and a flood of made-up tokens
/// (which do cost a read each) cannot push the real token out of the cache.
#[tokio::test]
async fn made_up_tokens_cost_no_read_and_cannot_evict_the_real_one() {
    let s = Scim::start().await;
    assert_eq!(s.get("/Users").await.status, 200);
    s.meter.take();
    for bad in [
        "Bearer x",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "Bearer scim_sk_ABC",
    ] {
        assert_401(status_with(&s, Some(bad)).await);
    }
    // No token is looked up; the first 401 of the minute is noted on the directory, once, for
    // its Admin Portal to explain (`api::handle_scim`).
    assert_eq!(
        s.meter.take().operations(),
        ["UpdateItem"],
        "malformed tokens were looked up"
    );
    let path = s.v2("/ServiceProviderConfig");
    // The flood must fit within one cache lifetime of the real token's lookup, or its expiry
    // (not an eviction) would explain a second lookup: on a machine that slow, look it up again
    // and flood once more (three times at most).
    for attempt in 1.. {
        assert_eq!(s.send("GET", &path, None).await.status, 200);
        let looked_up = std::time::Instant::now();
        for _ in 0..1_100 {
            assert_401(status_with(&s, Some(&format!("Bearer {}", auth::new_token()))).await);
        }
        s.meter.take();
        assert_eq!(s.send("GET", &path, None).await.status, 200);
        let usage = s.meter.take();
        if looked_up.elapsed() < auth::CACHE_TTL || attempt == 3 {
            assert_eq!(usage.round_trips(), 0, "the real token was evicted");
            break;
        }
    }
}

/// A credential the revocation missed (it lists credentials through an eventually consistent
/// index) is refused anyway: the token check reads the directory's entry, so a token of a method
/// turned off, or of a directory being deleted, opens nothing.
#[tokio::test]
async fn a_token_of_a_method_turned_off_or_a_deleting_directory_is_refused() {
    use scim_lambda::store::directories::AuthMethods;
    let s = crate::support::Scim::start().await;
    let store = s.app.store();
    let off = AuthMethods {
        bearer: false,
        client_credentials: true,
    };
    // The flag flips without the revocation seeing the token.
    store.set_auth_methods(&s.directory, off).await.unwrap();
    let fresh = |s: &crate::support::Scim| scim_lambda::api::App::new(s.app.store().clone(), None);
    let app = fresh(&s);
    let allowed = app
        .auth
        .allows(&s.token, &s.directory, scim_lambda::clock::now_millis())
        .await
        .unwrap();
    assert!(!allowed, "bearer is off");

    let s = crate::support::Scim::start().await;
    let store = s.app.store();
    let d = store.get_directory(&s.directory).await.unwrap().unwrap();
    store.begin_delete(&d).await.unwrap();
    let app = fresh(&s);
    let allowed = app
        .auth
        .allows(&s.token, &s.directory, scim_lambda::clock::now_millis())
        .await
        .unwrap();
    assert!(!allowed, "the directory is being deleted");
}
