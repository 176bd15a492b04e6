//! /Users as an IdP sees it: create, read, list/filter, replace, patch, delete, uniqueness, auth.

use serde_json::json;

use crate::support::Scim;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn create_returns_201_with_location_etag_and_meta() {
    let s = Scim::start().await;
    let r = s
        .post(
            "/Users",
            json!({"schemas": [USER], "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"}, "externalId": "ext-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let location = format!("http://{}{}", s.addr, s.v2(&format!("/Users/{id}")));
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    assert_eq!(r.header("etag"), r.body["meta"]["version"].as_str());
    assert_eq!(r.body["meta"]["resourceType"], "User");
    assert_eq!(r.body["meta"]["location"], location);
    assert_eq!(r.body["active"], true);
    assert_eq!(r.body["name"]["familyName"], "Lovelace");
}

#[tokio::test]
async fn password_is_accepted_and_never_returned() {
    let s = Scim::start().await;
    let r = s
        .post(
            "/Users",
            json!({"userName": "p@example.com", "password": "Secret123!"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(r.body.get("password").is_none());
    let got = s
        .get(&format!("/Users/{}", r.body["id"].as_str().unwrap()))
        .await;
    assert!(!got.body.to_string().contains("Secret123!"));
}

#[tokio::test]
async fn duplicate_user_name_in_any_case_is_409_uniqueness() {
    let s = Scim::start().await;
    s.user("Dup@Example.com").await;
    let r = s
        .post("/Users", json!({"userName": "dup@example.COM"}))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert_eq!(r.body["status"], "409");
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
}

#[tokio::test]
async fn parallel_creates_of_one_user_name_give_exactly_one_201() {
    let s = std::sync::Arc::new(Scim::start().await);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let s = s.clone();
        tasks.spawn(async move {
            s.post(
                "/Users",
                json!({"userName": "race@example.com", "nickName": format!("n{i}")}),
            )
            .await
            .status
        });
    }
    let mut statuses = Vec::new();
    while let Some(st) = tasks.join_next().await {
        statuses.push(st.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let list = s
        .get("/Users?filter=userName%20eq%20%22race@example.com%22")
        .await;
    assert_eq!(list.body["totalResults"], 1);
}

#[tokio::test]
async fn unknown_id_is_404_with_scim_error() {
    let s = Scim::start().await;
    let r = s.get("/Users/0190a000-0000-7000-8000-000000000000").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["status"], "404");
}

#[tokio::test]
async fn put_replaces_clears_omitted_attributes_and_defaults_active() {
    let s = Scim::start().await;
    let r = s
        .post(
            "/Users",
            json!({"userName": "r@example.com", "title": "Boss", "active": false,
            "nickName": "R"}),
        )
        .await;
    let id = r.body["id"].as_str().unwrap();
    let created = r.body["meta"]["created"].clone();
    let put = s
        .put(
            &format!("/Users/{id}"),
            json!({"schemas": [USER], "id": id, "userName": "r@example.com",
            "displayName": "R R", "meta": {"created": "1999-01-01T00:00:00Z"}}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert!(put.body.get("title").is_none());
    assert!(put.body.get("nickName").is_none());
    assert_eq!(put.body["displayName"], "R R");
    assert_eq!(put.body["active"], true);
    assert_eq!(put.body["meta"]["created"], created);
    assert_ne!(put.body["meta"]["version"], r.body["meta"]["version"]);
}

#[tokio::test]
async fn put_renaming_to_a_taken_user_name_is_409_and_changes_nothing() {
    let s = Scim::start().await;
    s.user("taken@example.com").await;
    let id = s.user("mine@example.com").await;
    let r = s
        .put(
            &format!("/Users/{id}"),
            json!({"userName": "TAKEN@example.com"}),
        )
        .await;
    assert_eq!(r.status, 409);
    let got = s.get(&format!("/Users/{id}")).await;
    assert_eq!(got.body["userName"], "mine@example.com");
    // The old name is still guarded, the new one still belongs to the other user.
    assert_eq!(
        s.post("/Users", json!({"userName": "mine@example.com"}))
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn rename_frees_the_old_user_name() {
    let s = Scim::start().await;
    let id = s.user("old@example.com").await;
    let r = s
        .put(
            &format!("/Users/{id}"),
            json!({"userName": "new@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        s.post("/Users", json!({"userName": "old@example.com"}))
            .await
            .status,
        201
    );
    let found = s
        .get("/Users?filter=userName%20eq%20%22NEW@example.com%22")
        .await;
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
}

#[tokio::test]
async fn patch_replace_active_false_returns_200_with_the_user() {
    let s = Scim::start().await;
    let id = s.user("pa@example.com").await;
    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(r.body["userName"], "pa@example.com");
    assert_eq!(s.get(&format!("/Users/{id}")).await.body["active"], false);
}

#[tokio::test]
async fn patch_sub_attribute_path_and_remove() {
    let s = Scim::start().await;
    let id = s.user("ps@example.com").await;
    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!({"Operations": [
            {"op": "replace", "path": "name.givenName", "value": "Grace"},
            {"op": "remove", "path": "name.familyName"},
            {"op": "add", "path": "title", "value": "Admiral"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], json!({"givenName": "Grace"}));
    assert_eq!(r.body["title"], "Admiral");
}

#[tokio::test]
async fn delete_is_204_then_404_everywhere() {
    let s = Scim::start().await;
    let id = s.user("del@example.com").await;
    let path = format!("/Users/{id}");
    assert_eq!(s.delete(&path).await.status, 204);
    assert_eq!(s.get(&path).await.status, 404);
    assert_eq!(
        s.put(&path, json!({"userName": "del@example.com"}))
            .await
            .status,
        404
    );
    assert_eq!(s.patch(&path, json!({"Operations": []})).await.status, 404);
    assert_eq!(s.delete(&path).await.status, 404);
    let list = s
        .get("/Users?filter=userName%20eq%20%22del@example.com%22")
        .await;
    assert_eq!(list.body["totalResults"], 0);
    // The userName is free again.
    assert_eq!(
        s.post("/Users", json!({"userName": "del@example.com"}))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn filters_the_idps_send_are_answered() {
    let s = Scim::start().await;
    let r = s
        .post("/Users", json!({"userName": "f@example.com", "externalId": "00u1",
            "displayName": "Eff",
            "emails": [{"value": "f.work@example.com", "type": "work"}, {"value": "f@home.example", "type": "home"}]}))
        .await;
    let id = r.body["id"].as_str().unwrap().to_string();
    s.user("other@example.com").await;
    let found = |f: &str| {
        let q = f.replace(' ', "%20").replace('"', "%22");
        let s = &s;
        async move { s.get(&format!("/Users?filter={q}")).await }
    };
    for f in [
        "userName eq \"F@EXAMPLE.COM\"".to_string(),
        "externalId eq \"00u1\"".to_string(),
        format!("id eq \"{id}\""),
        "displayName eq \"Eff\"".to_string(),
        "emails eq \"f.work@example.com\"".to_string(),
        "emails.value eq \"F@HOME.example\"".to_string(),
        "emails[type eq \"work\"].value eq \"f.work@example.com\"".to_string(),
        "userName eq \"f@example.com\" and externalId eq \"00u1\"".to_string(),
    ] {
        let r = found(&f).await;
        assert_eq!(r.status, 200, "{f}: {}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{f}: {}", r.body);
        assert_eq!(r.body["Resources"][0]["id"], id.as_str(), "{f}");
    }
    // externalId is caseExact; the home address is not a work email.
    assert_eq!(
        found("externalId eq \"00U1\"").await.body["totalResults"],
        0
    );
    assert_eq!(
        found("emails[type eq \"work\"].value eq \"f@home.example\"")
            .await
            .body["totalResults"],
        0
    );
    assert_eq!(
        found("userName eq \"f@example.com\" and externalId eq \"x\"")
            .await
            .body["totalResults"],
        0
    );
}

#[tokio::test]
async fn malformed_filter_is_400_invalid_filter() {
    let s = Scim::start().await;
    for q in [
        "userName%20eq",
        "userName%20equals%20%22a%22",
        "nosuchattr%20eq%20%22a%22",
        "(userName%20eq%20%22a%22",
    ] {
        let r = s.get(&format!("/Users?filter={q}")).await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(r.body["scimType"], "invalidFilter", "{q}");
        assert!(!r.body["detail"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn paging_is_stable_with_integer_counters() {
    let s = Scim::start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(s.user(&format!("page{i}@example.com")).await);
    }
    let p1 = s.get("/Users?startIndex=1&count=2").await;
    let p2 = s.get("/Users?startIndex=3&count=2").await;
    let p3 = s.get("/Users?startIndex=5&count=2").await;
    for (p, start, n) in [(&p1, 1, 2), (&p2, 3, 2), (&p3, 5, 1)] {
        assert_eq!(p.body["totalResults"], 5);
        assert_eq!(p.body["startIndex"], start);
        assert_eq!(p.body["itemsPerPage"], n);
    }
    let seen: Vec<String> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| {
            p.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(seen, ids, "creation order, no gaps or repeats");
    let beyond = s.get("/Users?startIndex=50&count=2").await;
    assert_eq!(beyond.body["Resources"], json!([]));
    let zero = s.get("/Users?count=0").await;
    assert_eq!(zero.body["totalResults"], 5);
    assert_eq!(zero.body["itemsPerPage"], 0);
}

#[tokio::test]
async fn malformed_json_is_400_invalid_syntax_and_writes_nothing() {
    let s = Scim::start().await;
    let token = format!("Bearer {}", s.token);
    let r = s
        .raw(
            "POST",
            &s.v2("/Users"),
            Some("{\"userName\": ".into()),
            &[("authorization", &token)],
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["scimType"], "invalidSyntax");
    assert_eq!(s.get("/Users").await.body["totalResults"], 0);
}

#[tokio::test]
async fn bodies_are_taken_up_to_what_lambda_accepts_and_resources_up_to_an_item() {
    let s = Scim::start().await;
    // Over Lambda's 6 MB: 413 with the limit.
    let big = json!({"userName": "big@example.com", "title": "x".repeat(6 * 1024 * 1024 + 10)});
    let r = s.post("/Users", big).await;
    assert_eq!(r.status, 413);
    assert!(
        r.body["detail"].as_str().unwrap().contains("6291456"),
        "{}",
        r.body
    );
    // Taken, but more than a DynamoDB item holds: 400, not a store error.
    let big = json!({"userName": "big@example.com", "title": "x".repeat(1024 * 1024)});
    let r = s.post("/Users", big).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(s.get("/Users").await.body["totalResults"], 0);
    // A 30,000-member replace (about 2 MB) reaches the member check (these ids exist nowhere).
    let g = s.group("big", &[]).await;
    let members: Vec<serde_json::Value> = (0..30_000)
        .map(|_| json!({"value": uuid::Uuid::now_v7().to_string(), "display": "Some Person"}))
        .collect();
    let r = s
        .put(
            &format!("/Groups/{g}"),
            json!({"displayName": "big", "members": members}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("and 29990 more"),
        "{}",
        r.body
    );
}

/// A response that would not fit Lambda's response limit is a SCIM 400 `tooMany`, never a 5xx.
#[tokio::test]
async fn a_response_too_large_for_lambda_is_400_too_many() {
    let s = Scim::start().await;
    for i in 0..100 {
        let r = s
            .post(
                "/Users",
                json!({"userName": format!("wide{i}@x.com"), "title": "t".repeat(60_000)}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let r = s.get("/Users?count=100").await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "tooMany");
    let r = s.get("/Users?count=50").await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn wrong_type_for_a_boolean_is_400_not_500() {
    let s = Scim::start().await;
    let r = s
        .post(
            "/Users",
            json!({"userName": "b@example.com", "active": {"x": 1}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["scimType"], "invalidValue");
    let r = s.post("/Users", json!(["not", "an", "object"])).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn enterprise_extension_and_unknown_extension_are_kept() {
    let s = Scim::start().await;
    let mgr = s.user("boss@example.com").await;
    let r = s
        .post("/Users", json!({
            "schemas": [USER, ENTERPRISE, "urn:example:custom:2.0:User"],
            "userName": "e@example.com",
            ENTERPRISE: {"employeeNumber": "42", "department": "R&D", "manager": {"value": mgr}},
            "urn:example:custom:2.0:User": {"badge": "B-7"}
        }))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = s
        .get(&format!("/Users/{}", r.body["id"].as_str().unwrap()))
        .await;
    assert_eq!(got.body[ENTERPRISE]["manager"]["value"], mgr.as_str());
    assert_eq!(got.body[ENTERPRISE]["employeeNumber"], "42");
    assert_eq!(got.body["urn:example:custom:2.0:User"]["badge"], "B-7");
    let schemas = got.body["schemas"].as_array().unwrap();
    assert!(
        schemas.contains(&json!(ENTERPRISE))
            && schemas.contains(&json!("urn:example:custom:2.0:User"))
    );
}

#[tokio::test]
async fn if_match_with_a_stale_version_is_412_and_changes_nothing() {
    let s = Scim::start().await;
    let id = s.user("etag@example.com").await;
    let path = s.v2(&format!("/Users/{id}"));
    let current = s.get(&format!("/Users/{id}")).await;
    let etag = current.header("etag").unwrap().to_string();
    let token = format!("Bearer {}", s.token);
    let stale = "W/\"999\"";
    let patch =
        json!({"Operations": [{"op": "replace", "path": "title", "value": "X"}]}).to_string();
    for (method, body) in [
        ("PATCH", Some(patch.clone())),
        (
            "PUT",
            Some(json!({"userName": "etag@example.com"}).to_string()),
        ),
        ("DELETE", None),
    ] {
        let r = s
            .raw(
                method,
                &path,
                body,
                &[("authorization", &token), ("if-match", stale)],
            )
            .await;
        assert_eq!(r.status, 412, "{method}");
    }
    assert_eq!(
        s.get(&format!("/Users/{id}")).await.header("etag"),
        Some(etag.as_str())
    );
    let ok = s
        .raw(
            "PATCH",
            &path,
            Some(patch),
            &[("authorization", &token), ("if-match", &etag)],
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_ne!(ok.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn if_none_match_with_the_current_version_is_304() {
    let s = Scim::start().await;
    let id = s.user("cache@example.com").await;
    let etag = s
        .get(&format!("/Users/{id}"))
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let token = format!("Bearer {}", s.token);
    let path = s.v2(&format!("/Users/{id}"));
    let r = s
        .raw(
            "GET",
            &path,
            None,
            &[("authorization", &token), ("if-none-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 304);
    let r = s
        .raw(
            "GET",
            &path,
            None,
            &[("authorization", &token), ("if-none-match", "W/\"0\"")],
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn concurrent_patches_both_land() {
    let s = std::sync::Arc::new(Scim::start().await);
    let id = s.user("both@example.com").await;
    let mut tasks = tokio::task::JoinSet::new();
    for (attr, value) in [
        ("title", "T"),
        ("nickName", "N"),
        ("displayName", "D"),
        ("locale", "L"),
    ] {
        let (s, id) = (s.clone(), id.clone());
        tasks.spawn(async move {
            s.patch(
                &format!("/Users/{id}"),
                json!({"Operations": [{"op": "add", "path": attr, "value": value}]}),
            )
            .await
            .status
        });
    }
    while let Some(st) = tasks.join_next().await {
        assert_eq!(st.unwrap(), 200);
    }
    let got = s.get(&format!("/Users/{id}")).await.body;
    assert_eq!(
        (
            got["title"].as_str(),
            got["nickName"].as_str(),
            got["displayName"].as_str(),
            got["locale"].as_str()
        ),
        (Some("T"), Some("N"), Some("D"), Some("L"))
    );
    assert_eq!(got["meta"]["version"], "W/\"5\"");
}

#[tokio::test]
async fn pingone_filter_templates_work() {
    let s = Scim::start().await;
    let id = s.user("ping.user@example.com").await;
    s.user("other@elsewhere.org").await;
    for q in [
        "username%20Eq%20%22PING.USER@example.com%22",
        "email%20Co%20%22ping.user%22",
    ] {
        let r = s.get(&format!("/Users?filter={q}")).await;
        assert_eq!(r.status, 200, "{q}: {}", r.body);
        assert_eq!(r.body["totalResults"], 1, "{q}");
        assert_eq!(r.body["Resources"][0]["id"], id.as_str());
    }
}

/// Uniqueness compares Unicode case-folded, NFC-normalised userNames: the Greek capital and
/// small final sigma, and the composed and decomposed é, are one name each (409), and the
/// filter finds the user under either spelling.
#[tokio::test]
async fn user_names_are_unique_under_unicode_case_folding_and_normalisation() {
    let s = Scim::start().await;
    for (first, second) in [
        ("ΟΔΥΣΣΕΥΣ", "οδυσσευσ"),
        ("caf\u{e9}@x.com", "cafe\u{301}@x.com"),
        ("STRASSE", "straße"),
    ] {
        let a = s.post("/Users", json!({"userName": first})).await;
        assert_eq!(a.status, 201, "{}", a.body);
        let b = s.post("/Users", json!({"userName": second})).await;
        assert_eq!(b.status, 409, "{second} after {first}: {}", b.body);
        let filter = format!("/Users?filter=userName%20eq%20%22{}%22", urlencode(second));
        assert_eq!(s.get(&filter).await.body["totalResults"], 1, "{second}");
    }
}

/// RFC 7643 §3: a User body that declares the Group schema is not a User.
#[tokio::test]
async fn a_user_body_declaring_the_group_schema_is_400() {
    let s = Scim::start().await;
    let r = s
        .post(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group"], "userName": "both@x.com"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    // Unknown extension URNs and a missing core schema stay accepted.
    let r = s
        .post(
            "/Users",
            json!({"schemas": ["urn:example:custom"], "userName": "ok@x.com"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'@' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A user written before the edge sequence existed (no `es` on its item) and in a group: a PUT
/// must not make it look never grouped, so its groups still show and its delete still removes
/// its memberships.
#[tokio::test]
async fn a_user_older_than_the_edge_sequence_keeps_its_groups_through_a_put_and_a_delete() {
    let s = Scim::start().await;
    let u = s.user("legacy@example.com").await;
    let g = s.group("Legacy", &[&u]).await;
    s.update_item(format!("USER#{u}"))
        .update_expression("REMOVE es")
        .send()
        .await
        .unwrap();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "legacy@example.com", "title": "Kept"});
    let r = s.put(&format!("/Users/{u}"), body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["groups"][0]["value"], g.as_str(), "{}", r.body);
    assert_eq!(s.delete(&format!("/Users/{u}")).await.status, 204);
    let group = s.get(&format!("/Groups/{g}")).await.body;
    assert!(
        group["members"].as_array().is_none_or(|m| m.is_empty()),
        "{group}"
    );
    assert!(s.check().await.problems.is_empty());
}

/// Names freed by deletes (their guards wait, ownerless, for their TTL) never end a name search
/// early: the live name after them is found on the same page.
#[tokio::test]
async fn a_name_search_reads_past_freed_names() {
    let s = Scim::start().await;
    let mut gone = Vec::new();
    for i in 0..3 {
        gone.push(s.user(&format!("bob{i}@example.com")).await);
    }
    let kept = s.user("bobby@example.com").await;
    for u in &gone {
        assert_eq!(s.delete(&format!("/Users/{u}")).await.status, 204);
    }
    let store = s.app.store();
    let (names, _) = store
        .names_starting(
            &s.directory,
            scim_lambda::scim::schema::ResourceKind::User,
            "bob",
            None,
            1,
        )
        .await
        .unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].id, kept);
}
