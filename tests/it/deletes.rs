//! Deletes that list a resource's edges beside their read (`store::deletes`): the counts every
//! edge write keeps decide whether the listing is trusted. A listing that missed an edge added
//! between it and the read is never trusted, for a user or a group, and a resource older than
//! the counts is never trusted either: in both cases the delete lists again, and no edge of the
//! deleted resource is left behind.

use std::time::Duration;

use scim_lambda::local::meter::DynamoModel;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::store::deletes::Listing;
use serde_json::{json, Value};

use crate::support::Scim;

fn add_member(id: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]})
}

async fn members_of(scim: &Scim, group: &str) -> Vec<String> {
    let r = scim.get(&format!("/Groups/{group}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|x| x["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn assert_clean(scim: &Scim) {
    let report = scim.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_user_delete_whose_listing_missed_an_add_lists_again() {
    let scim = Scim::start().await;
    let store = scim.app.store();
    let dir = scim.directory.clone();
    let u = scim.user("mover@example.com").await;
    let a = scim.group("Alpha", &[&u]).await;
    let b = scim.group("Beta", &[]).await;

    let (_, before) = store
        .read_for_delete(&dir, ResourceKind::User, &u)
        .await
        .unwrap();
    assert_eq!(before.ids, vec![a.clone()]);
    assert_eq!(before.count, 1);
    // An add commits after the listing and before the read.
    let r = scim.patch(&format!("/Groups/{b}"), add_member(&u)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (old, after) = store
        .read_for_delete(&dir, ResourceKind::User, &u)
        .await
        .unwrap();
    assert_eq!(after.count, 2);
    // The listing from before the add, the read and its count from after it.
    let spliced = Listing {
        count: after.count,
        ..before
    };
    store
        .delete(&dir, ResourceKind::User, &old.unwrap(), Some(&spliced))
        .await
        .unwrap();

    assert_eq!(scim.get(&format!("/Users/{u}")).await.status, 404);
    for g in [&a, &b] {
        assert!(!members_of(&scim, g).await.contains(&u), "{u} left in {g}");
    }
    assert_clean(&scim).await;
}

#[tokio::test]
async fn a_group_delete_whose_listing_missed_an_add_lists_again() {
    let scim = Scim::start().await;
    let store = scim.app.store();
    let dir = scim.directory.clone();
    let first = scim.user("first@example.com").await;
    let late = scim.user("late@example.com").await;
    let g = scim.group("Doomed", &[&first]).await;

    let (_, before) = store
        .read_for_delete(&dir, ResourceKind::Group, &g)
        .await
        .unwrap();
    assert_eq!(before.ids, vec![first.clone()]);
    let r = scim.patch(&format!("/Groups/{g}"), add_member(&late)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The group and its slots (which count two members) from after the add.
    let (old, _) = store
        .read_for_delete(&dir, ResourceKind::Group, &g)
        .await
        .unwrap();
    store
        .delete(&dir, ResourceKind::Group, &old.unwrap(), Some(&before))
        .await
        .unwrap();

    assert_eq!(scim.get(&format!("/Groups/{g}")).await.status, 404);
    for u in [&first, &late] {
        let groups = scim.groups_of(u).await;
        assert!(
            groups.as_array().is_none_or(|a| a.is_empty()),
            "{u}: {groups}"
        );
    }
    assert_clean(&scim).await;
}

#[tokio::test]
async fn resources_older_than_the_counts_are_deleted_exactly_by_listing_after_the_read() {
    let scim = Scim::start().await;
    let u = scim.user("old@example.com").await;
    let other = scim.user("other@example.com").await;
    let g = scim.group("Old", &[&u, &other]).await;
    let h = scim.group("Older", &[&u]).await;
    // As items written before the counts existed look.
    for sk in [format!("USER#{u}"), format!("GROUP#{g}")] {
        scim.update_item(sk)
            .update_expression("REMOVE #c")
            .expression_attribute_names("#c", "counted")
            .send()
            .await
            .unwrap();
    }

    scim.meter.take();
    scim.meter
        .set_model(Some(DynamoModel::with_latency(Duration::from_millis(20))));
    let r = scim.delete(&format!("/Users/{u}")).await;
    scim.meter.set_model(None);
    assert_eq!(r.status, 204, "{}", r.body);
    // The listing beside the read is not trusted: the edges are listed again after it.
    let usage = scim.meter.take();
    assert_eq!(usage.in_sequence(), 3, "{usage}");
    assert_eq!(members_of(&scim, &g).await, vec![other.clone()]);
    assert!(members_of(&scim, &h).await.is_empty());

    scim.meter.take();
    scim.meter
        .set_model(Some(DynamoModel::with_latency(Duration::from_millis(20))));
    let r = scim.delete(&format!("/Groups/{g}")).await;
    scim.meter.set_model(None);
    assert_eq!(r.status, 204, "{}", r.body);
    let usage = scim.meter.take();
    assert_eq!(usage.in_sequence(), 3, "{usage}");
    let groups = scim.groups_of(&other).await;
    assert!(groups.as_array().is_none_or(|a| a.is_empty()), "{groups}");
    assert_clean(&scim).await;
}
