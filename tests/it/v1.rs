//! SCIM 1.1 at /scim/v1/{directoryId}: same store as 2.0, 1.1 shapes on the wire.

use serde_json::json;

use crate::support::Scim;

#[tokio::test]
async fn user_created_through_v1_reads_the_same_through_v2() {
    let s = Scim::start().await;
    let r = s
        .send("POST", &s.v1("/Users"), Some(json!({
            "schemas": ["urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
            "userName": "v1@example.com",
            "name": {"givenName": "Vee", "familyName": "One"},
            "urn:scim:schemas:extension:enterprise:1.0": {"department": "Ops"},
            "active": true
        })))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["schemas"],
        json!([
            "urn:scim:schemas:core:1.0",
            "urn:scim:schemas:extension:enterprise:1.0"
        ])
    );
    let id = r.body["id"].as_str().unwrap();
    let v2 = s.get(&format!("/Users/{id}")).await;
    assert_eq!(v2.body["userName"], "v1@example.com");
    assert_eq!(
        v2.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Ops"
    );
}

#[tokio::test]
async fn v1_errors_use_the_errors_array() {
    let s = Scim::start().await;
    s.user("dup@example.com").await;
    let r = s
        .send(
            "POST",
            &s.v1("/Users"),
            Some(json!({"userName": "dup@example.com"})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["Errors"][0]["code"], "409");
    let r = s.send("GET", &s.v1("/Users/nope"), None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["Errors"][0]["code"], "404");
}

#[tokio::test]
async fn v1_list_uses_the_1_1_envelope() {
    let s = Scim::start().await;
    s.user("l@example.com").await;
    let r = s
        .send("GET", &s.v1("/Users?startIndex=1&count=2"), None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["schemas"], json!(["urn:scim:schemas:core:1.0"]));
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(
        r.body["Resources"][0]["schemas"][0],
        "urn:scim:schemas:core:1.0"
    );
}

#[tokio::test]
async fn group_created_through_v2_is_managed_through_v1() {
    let s = Scim::start().await;
    let (a, b) = (s.user("a@example.com").await, s.user("b@example.com").await);
    let g = s.group("Both Ways", &[&a]).await;
    let path = s.v1(&format!("/Groups/{g}"));
    let v1 = s.send("GET", &path, None).await;
    assert_eq!(v1.body["schemas"], json!(["urn:scim:schemas:core:1.0"]));
    assert_eq!(v1.body["displayName"], "Both Ways");
    // 1.1 PATCH: members are merged; "operation": "delete" removes one.
    let r = s
        .send(
            "PATCH",
            &path,
            Some(json!({"schemas": ["urn:scim:schemas:core:1.0"],
            "members": [{"value": b}, {"value": a, "operation": "delete"}]})),
        )
        .await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    let v2 = s.get(&format!("/Groups/{g}")).await;
    let members: Vec<&str> = v2.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, vec![b.as_str()]);
    // meta.attributes clears an attribute.
    s.send(
        "PATCH",
        &path,
        Some(
            json!({"schemas": ["urn:scim:schemas:core:1.0"], "meta": {"attributes": ["members"]}}),
        ),
    )
    .await;
    assert!(s
        .get(&format!("/Groups/{g}"))
        .await
        .body
        .get("members")
        .is_none());
}
