//! /Groups and memberships as an IdP sees them.

use serde_json::json;

use crate::support::Scim;

const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn member_ids(body: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|x| x["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn create_with_members_lists_them_and_derives_user_groups() {
    let s = Scim::start().await;
    let (a, b) = (s.user("a@example.com").await, s.user("b@example.com").await);
    let r = s
        .post(
            "/Groups",
            json!({"displayName": "Eng", "externalId": "g-1",
            "members": [{"value": a}, {"value": b}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert!(r.header("location").is_some());
    let gid = r.body["id"].as_str().unwrap();
    let got = s.get(&format!("/Groups/{gid}")).await;
    assert_eq!(member_ids(&got.body), sorted(&[&a, &b]));
    let user = s.get(&format!("/Users/{a}")).await;
    assert_eq!(
        user.body["groups"],
        json!([{"value": gid, "display": "Eng", "type": "direct",
        "$ref": format!("http://{}{}", s.addr, s.v2(&format!("/Groups/{gid}")))}])
    );
}

#[tokio::test]
async fn unknown_member_is_400_naming_it_and_nothing_is_created() {
    let s = Scim::start().await;
    let a = s.user("a@example.com").await;
    let ghost = "01900000-dead-7000-8000-000000000000";
    let r = s
        .post(
            "/Groups",
            json!({"displayName": "Ghosts", "members": [{"value": a}, {"value": ghost}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(r.body["detail"].as_str().unwrap().contains(ghost));
    assert_eq!(s.get("/Groups").await.body["totalResults"], 0);
    assert!(s.groups_of(&a).await.is_null());
}

#[tokio::test]
async fn patch_add_member_is_204_and_adding_again_is_a_no_op() {
    let s = Scim::start().await;
    let a = s.user("a@example.com").await;
    let g = s.group("G", &[]).await;
    let add = json!({"schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [{"value": a}]}]});
    let r = s.patch(&format!("/Groups/{g}"), add.clone()).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(s.patch(&format!("/Groups/{g}"), add).await.status, 204);
    assert_eq!(
        member_ids(&s.get(&format!("/Groups/{g}")).await.body),
        vec![a]
    );
}

#[tokio::test]
async fn patch_adding_an_unknown_member_changes_nothing() {
    let s = Scim::start().await;
    let a = s.user("a@example.com").await;
    let g = s.group("G", &[]).await;
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!({"Operations": [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": "nope"}]}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.body["detail"].as_str().unwrap().contains("nope"));
    let got = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(got.body["displayName"], "G");
    assert!(member_ids(&got.body).is_empty());
}

#[tokio::test]
async fn patch_remove_by_filter_and_entra_value_list_remove_only_those() {
    let s = Scim::start().await;
    let (a, b, c) = (
        s.user("a@x.com").await,
        s.user("b@x.com").await,
        s.user("c@x.com").await,
    );
    let g = s.group("G", &[&a, &b, &c]).await;
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!({"Operations": [
            {"op": "remove", "path": format!("members[value eq \"{a}\"]")}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!({"Operations": [
            {"op": "Remove", "path": "members", "value": [{"value": b}]}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        member_ids(&s.get(&format!("/Groups/{g}")).await.body),
        vec![c]
    );
}

#[tokio::test]
async fn put_with_a_member_list_replaces_the_members() {
    let s = Scim::start().await;
    let (a, b, c) = (
        s.user("a@x.com").await,
        s.user("b@x.com").await,
        s.user("c@x.com").await,
    );
    let g = s.group("G", &[&a, &b]).await;
    let r = s
        .put(
            &format!("/Groups/{g}"),
            json!({"displayName": "G2", "members": [{"value": b}, {"value": c}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(member_ids(&r.body), sorted(&[&b, &c]));
    assert_eq!(
        member_ids(&s.get(&format!("/Groups/{g}")).await.body),
        sorted(&[&b, &c])
    );
    assert!(s.groups_of(&a).await.is_null());
}

#[tokio::test]
async fn deleting_a_user_removes_its_memberships() {
    let s = Scim::start().await;
    let (a, b) = (s.user("a@x.com").await, s.user("b@x.com").await);
    let g1 = s.group("G1", &[&a, &b]).await;
    let g2 = s.group("G2", &[&a]).await;
    assert_eq!(s.delete(&format!("/Users/{a}")).await.status, 204);
    assert_eq!(
        member_ids(&s.get(&format!("/Groups/{g1}")).await.body),
        vec![b]
    );
    assert!(member_ids(&s.get(&format!("/Groups/{g2}")).await.body).is_empty());
}

#[tokio::test]
async fn deleting_a_group_removes_it_from_users() {
    let s = Scim::start().await;
    let a = s.user("a@x.com").await;
    let g = s.group("G", &[&a]).await;
    assert_eq!(s.delete(&format!("/Groups/{g}")).await.status, 204);
    assert_eq!(s.get(&format!("/Groups/{g}")).await.status, 404);
    assert!(s.groups_of(&a).await.is_null());
}

#[tokio::test]
async fn groups_filter_by_display_name_and_external_id() {
    let s = Scim::start().await;
    let g = s.group("Sales Team", &[]).await;
    s.group("Other", &[]).await;
    s.patch(
        &format!("/Groups/{g}"),
        json!({"Operations": [{"op": "add", "path": "externalId", "value": "ext-9"}]}),
    )
    .await;
    for q in [
        "displayName%20eq%20%22sales%20team%22",
        "externalId%20eq%20%22ext-9%22",
    ] {
        let r = s
            .get(&format!("/Groups?filter={q}&excludedAttributes=members"))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["totalResults"], 1, "{q}: {}", r.body);
        assert_eq!(r.body["Resources"][0]["id"], g.as_str());
        assert!(r.body["Resources"][0].get("members").is_none());
    }
}

#[tokio::test]
async fn patch_rename_keeps_members() {
    let s = Scim::start().await;
    let a = s.user("a@x.com").await;
    let g = s.group("Before", &[&a]).await;
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!({"Operations": [
            {"op": "replace", "value": {"id": g, "displayName": "After"}}]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let got = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(got.body["displayName"], "After");
    assert_eq!(member_ids(&got.body), vec![a]);
}

#[tokio::test]
async fn user_lists_carry_groups_only_when_asked() {
    let s = Scim::start().await;
    let a = s.user("a@x.com").await;
    let g = s.group("G", &[&a]).await;
    let plain = s.get("/Users").await;
    assert!(plain.body["Resources"][0].get("groups").is_none());
    let asked = s.get("/Users?attributes=userName,groups").await;
    assert_eq!(asked.body["Resources"][0]["groups"][0]["value"], g.as_str());
    assert_eq!(
        s.get(&format!("/Users/{a}")).await.body["groups"][0]["value"],
        g.as_str()
    );
}

/// Entra requires group names to be unique on the application side (Microsoft's SCIM tutorial,
/// /Groups; its validator's "create a duplicate Group" expects 409).
#[tokio::test]
async fn duplicate_group_display_name_in_any_case_is_409() {
    let s = Scim::start().await;
    s.group("Finance", &[]).await;
    let r = s.post("/Groups", json!({"displayName": "FINANCE"})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["scimType"], "uniqueness");
    let other = s.group("Legal", &[]).await;
    let r = s
        .patch(
            &format!("/Groups/{other}"),
            json!({"Operations": [{"op": "replace", "path": "displayName", "value": "finance"}]}),
        )
        .await;
    assert_eq!(r.status, 409);
    // Renaming frees the old name.
    let r = s
        .patch(&format!("/Groups/{other}"), json!({"Operations": [{"op": "replace", "path": "displayName", "value": "Legal & Risk"}]}))
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        s.post("/Groups", json!({"displayName": "legal"}))
            .await
            .status,
        201
    );
}
