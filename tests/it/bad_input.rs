//! Bad input of every kind gets a 4xx SCIM error, never a 5xx, and writes nothing.

use serde_json::json;

use crate::support::Scim;

#[tokio::test]
async fn malformed_requests_are_4xx_scim_errors_and_change_nothing() {
    let s = Scim::start().await;
    let id = s.user("keep@example.com").await;
    let g = s.group("Keep", &[&id]).await;
    let before_user = s.get(&format!("/Users/{id}")).await.body;
    let before_group = s.get(&format!("/Groups/{g}")).await.body;
    let token = format!("Bearer {}", s.token);
    let user = s.v2(&format!("/Users/{id}"));
    let group = s.v2(&format!("/Groups/{g}"));
    let cases: Vec<(&str, String, Option<String>)> = vec![
        ("POST", s.v2("/Users"), Some("\u{0}\u{1}garbage".into())),
        ("POST", s.v2("/Users"), Some("[]".into())),
        (
            "POST",
            s.v2("/Users"),
            Some(json!({"userName": 42, "emails": "x"}).to_string()),
        ),
        (
            "POST",
            s.v2("/Users"),
            Some(json!({"userName": "x", "name": "not an object"}).to_string()),
        ),
        (
            "POST",
            s.v2("/Users"),
            Some(json!({"userName": "x", "emails": [1, 2, 3]}).to_string()),
        ),
        (
            "POST",
            s.v2("/Users"),
            Some(json!({"userName": "x", "schemas": "nope"}).to_string()),
        ),
        (
            "POST",
            s.v2("/Groups"),
            Some(json!({"displayName": "x", "members": [{"value": ""}]}).to_string()),
        ),
        (
            "POST",
            s.v2("/Groups"),
            Some(json!({"displayName": "x", "members": "oops"}).to_string()),
        ),
        (
            "PUT",
            user.clone(),
            Some(json!({"name": {"givenName": "no userName"}}).to_string()),
        ),
        ("PUT", user.clone(), None),
        (
            "PATCH",
            user.clone(),
            Some(json!({"Operations": "nope"}).to_string()),
        ),
        (
            "PATCH",
            user.clone(),
            Some(json!({"Operations": [{"op": "explode", "path": "title"}]}).to_string()),
        ),
        (
            "PATCH",
            user.clone(),
            Some(
                json!({"Operations": [{"op": "replace", "path": "id", "value": "x"}]}).to_string(),
            ),
        ),
        (
            "PATCH",
            user.clone(),
            Some(json!({"Operations": [{"op": "remove"}]}).to_string()),
        ),
        (
            "PATCH",
            user.clone(),
            Some(
                json!({"Operations": [{"op": "replace", "path": "emails[type eq", "value": "x"}]})
                    .to_string(),
            ),
        ),
        (
            "PATCH",
            user.clone(),
            Some(
                json!({"Operations": [{"op": "replace", "path": "userName", "value": ""}]})
                    .to_string(),
            ),
        ),
        (
            "PATCH",
            user.clone(),
            Some(
                json!({"Operations": [{"op": "replace", "path": "active", "value": [1]}]})
                    .to_string(),
            ),
        ),
        (
            "PATCH",
            group.clone(),
            Some(
                json!({"Operations": [{"op": "remove", "path": "members[display eq \"x\"]"}]})
                    .to_string(),
            ),
        ),
        (
            "PATCH",
            group.clone(),
            Some(
                json!({"Operations": [{"op": "replace", "path": "displayName", "value": null}]})
                    .to_string(),
            ),
        ),
        ("GET", s.v2("/Users?filter=%FF%FE"), None),
        ("GET", s.v2("/Users?filter=userName%20gt%20true"), None),
        (
            "GET",
            s.v2("/Users?filter=meta.created%20gt%20%22yesterday%22"),
            None,
        ),
        (
            "GET",
            s.v2(&format!("/Users?filter={}", "(".repeat(500))),
            None,
        ),
        ("GET", s.v2("/Users?startIndex=abc"), None),
        ("GET", s.v2("/Users?cursor=%00%01"), None),
        ("GET", s.v2("/Users?sortBy=%5B%5D"), None),
        ("GET", s.v2("/Users/a/b/c"), None),
        ("DELETE", s.v2("/Users"), None),
        ("POST", s.v2("/ServiceProviderConfig"), Some("{}".into())),
        (
            "POST",
            s.v2("/.search"),
            Some(json!({"filter": "nosuch eq 1"}).to_string()),
        ),
        ("GET", format!("/scim/v3/{}/Users", s.directory), None),
        ("GET", "/scim/v2/..%2F..%2Fetc/Users".to_string(), None),
        (
            "POST",
            s.v1("/Groups"),
            Some(
                json!({"schemas": ["urn:scim:schemas:core:1.0"], "members": [{"value": "nobody"}]})
                    .to_string(),
            ),
        ),
        (
            "PATCH",
            s.v1(&format!("/Users/{id}")),
            Some(json!({"meta": {"attributes": ["nosuch.attr"]}}).to_string()),
        ),
    ];
    for (method, path, body) in cases {
        let r = s
            .raw(method, &path, body.clone(), &[("authorization", &token)])
            .await;
        assert!(
            (400..500).contains(&r.status),
            "{method} {path} {body:?} -> {} {}",
            r.status,
            r.body
        );
        assert!(
            r.body
                .get("detail")
                .or_else(|| r.body.get("Errors"))
                .is_some(),
            "{method} {path}: {}",
            r.body
        );
    }
    let after_user = s.get(&format!("/Users/{id}")).await.body;
    let after_group = s.get(&format!("/Groups/{g}")).await.body;
    assert_eq!(before_user, after_user);
    assert_eq!(before_group, after_group);
    assert_eq!(s.get("/Users").await.body["totalResults"], 1);
    assert_eq!(s.get("/Groups").await.body["totalResults"], 1);
}

/// Values that would reach a DynamoDB key over its limits, or ids we never mint, are answered
/// 404/400 (or match nothing) before any key is built — never 500 (issue 9 item 4).
#[tokio::test]
async fn hostile_ids_and_key_values_are_4xx_not_500() {
    let s = Scim::start().await;
    let user = s.user("keyed@example.com").await;
    let g = s.group("keyed", &[&user]).await;
    let long_id = "a".repeat(2_000);
    for method in ["GET", "PUT", "PATCH", "DELETE"] {
        let body = match method {
            "PUT" => Some(json!({"userName": "x@example.com"})),
            "PATCH" => {
                Some(json!({"Operations": [{"op": "replace", "path": "title", "value": "t"}]}))
            }
            _ => None,
        };
        let r = s
            .send(method, &s.v2(&format!("/Users/{long_id}")), body)
            .await;
        assert_eq!(r.status, 404, "{method}: {}", r.body);
    }
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": "m".repeat(1_500)}]}]});
    let r = s.patch(&format!("/Groups/{g}"), add).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().len() < 300, "{}", r.body);
    let r = s
        .post(
            "/Groups",
            json!({"displayName": "long members", "members": [{"value": "m".repeat(1_500)}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let long_name = "n".repeat(1_100);
    for filter in [
        format!("userName eq \"{long_name}\""),
        format!("externalId eq \"{long_name}\""),
        format!("emails.value eq \"{long_name}\""),
        format!("id eq \"{long_id}\""),
    ] {
        let r = s
            .get(&format!(
                "/Users?filter={}",
                filter.replace(' ', "%20").replace('"', "%22")
            ))
            .await;
        assert_eq!(r.status, 200, "{filter}: {}", r.body);
        assert_eq!(r.body["totalResults"], 0);
    }
    // Removing a member by an id we never mint removes nothing (and builds no key).
    let remove = json!({"Operations": [{"op": "remove", "path": "members", "value": [{"value": "r".repeat(1_100)}]}]});
    assert_eq!(s.patch(&format!("/Groups/{g}"), remove).await.status, 204);
    // Attribute names count as stored (quoted, escaped): 128 names of 2,000 control characters.
    let mut wide = serde_json::Map::new();
    wide.insert("userName".into(), json!("wide@example.com"));
    for i in 0..128 {
        wide.insert(format!("{i}{}", "\u{1}".repeat(2_000)), json!(1));
    }
    let r = s.post("/Users", serde_json::Value::Object(wide)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // 350 '%' is 350 bytes as sent but 1,050 in the key.
    let r = s.post("/Users", json!({"userName": "%".repeat(350)})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(s.check().await.problems.is_empty());
}
