//! Deletes that list a resource's edges beside their read (`store::deletes`): the counts every
//! edge write keeps decide whether the listing is trusted. A listing that missed an edge added
//! between it and the read is never trusted, for a user or a group, and a resource older than
//! the counts is never trusted either: in both cases the delete lists again, and no edge of the
//! deleted resource is left behind.

use std::time::Duration;

use scim_lambda::local::meter::DynamoModel;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::store::deletes::Listing;
use scim_lambda::store::Record;

use crate::support::{add_member, assert_clean, Scim};

/// The resource and its listing as a delete reads them (`Store::read_for_delete`).
async fn read(scim: &Scim, kind: ResourceKind, id: &str) -> (Option<Record>, Listing) {
    let store = scim.app.store();
    store
        .read_for_delete(&scim.directory, kind, id)
        .await
        .unwrap()
}

async fn assert_in_no_group(scim: &Scim, user: &str) {
    let groups = scim.groups_of(user).await;
    assert!(
        groups.as_array().is_none_or(|a| a.is_empty()),
        "{user}: {groups}"
    );
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

#[tokio::test]
async fn a_user_delete_whose_listing_missed_an_add_lists_again() {
    let scim = Scim::start().await;
    let store = scim.app.store();
    let dir = scim.directory.clone();
    let u = scim.user("mover@example.com").await;
    let a = scim.group("Alpha", &[&u]).await;
    let b = scim.group("Beta", &[]).await;

    let (_, before) = read(&scim, ResourceKind::User, &u).await;
    assert_eq!(before.ids, vec![a.clone()]);
    assert_eq!(before.count, 1);
    // An add commits after the listing and before the read.
    let r = scim.patch(&format!("/Groups/{b}"), add_member(&u)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (old, after) = read(&scim, ResourceKind::User, &u).await;
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

    let (_, before) = read(&scim, ResourceKind::Group, &g).await;
    assert_eq!(before.ids, vec![first.clone()]);
    let r = scim.patch(&format!("/Groups/{g}"), add_member(&late)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // The group and its slots (which count two members) from after the add.
    let (old, _) = read(&scim, ResourceKind::Group, &g).await;
    store
        .delete(&dir, ResourceKind::Group, &old.unwrap(), Some(&before))
        .await
        .unwrap();

    assert_eq!(scim.get(&format!("/Groups/{g}")).await.status, 404);
    for u in [&first, &late] {
        assert_in_no_group(&scim, u).await;
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
    assert_in_no_group(&scim, &other).await;
    assert_clean(&scim).await;
}

/// Writes a membership as code from before the counts did: both edges, the user's edge
/// sequence and the version of the user's member slot, no count.
async fn add_as_older_code(scim: &Scim, group: &str, user: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    use scim_lambda::store::{keys, slots};
    let store = scim.app.store();
    let pk = keys::directory_pk(&scim.directory);
    for sk in [
        keys::member_sk(group, user),
        keys::member_of_sk(user, group),
    ] {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .item("pk", AttributeValue::S(pk.clone()))
            .item("sk", AttributeValue::S(sk))
            .send()
            .await
            .unwrap();
    }
    let one = AttributeValue::N("1".into());
    scim.update_item(format!("USER#{user}"))
        .update_expression("ADD es :one")
        .expression_attribute_values(":one", one.clone())
        .send()
        .await
        .unwrap();
    scim.update_item(keys::slot_sk(group, slots::slot_of(user)))
        .update_expression("ADD version :one")
        .expression_attribute_values(":one", one.clone())
        .send()
        .await
        .unwrap();
    scim.update_item(keys::counter_sk(user))
        .update_expression("ADD Memberships :one")
        .expression_attribute_values(":one", one)
        .send()
        .await
        .unwrap();
}

/// No problem but counts that older code left wrong (the safe side: never trusted).
async fn assert_only_miscounted(scim: &Scim) {
    let problems = scim.check().await.problems;
    assert!(
        problems.iter().all(|p| p.kind == "miscounted"),
        "{problems:?}"
    );
}

/// While a deploy replaces the functions, code from before the counts may write edges of a
/// resource new code created, uncounted. Its count is then too low, and could match a listing
/// that missed an add: the mirrors of what such code moves (a user's edge sequence, a slot's
/// version) tell, and the delete lists again.
#[tokio::test]
async fn edges_written_by_code_from_before_the_counts_are_never_trusted() {
    let scim = Scim::start().await;
    let store = scim.app.store();
    let dir = scim.directory.clone();
    let u = scim.user("mixed@example.com").await;
    let a = scim.group("Counted", &[&u]).await;
    let b = scim.group("Uncounted", &[]).await;
    let c = scim.group("Late", &[]).await;
    add_as_older_code(&scim, &b, &u).await;

    // A listing of [a, b] before the add to c; a count of 2 (a, c) after it.
    let (_, before) = read(&scim, ResourceKind::User, &u).await;
    assert_eq!(before.ids.len(), 2);
    let r = scim.patch(&format!("/Groups/{c}"), add_member(&u)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (old, after) = read(&scim, ResourceKind::User, &u).await;
    assert_eq!(after.count, 2);
    let spliced = Listing {
        count: after.count,
        edge_seq_seen: after.edge_seq_seen,
        ..before
    };
    store
        .delete(&dir, ResourceKind::User, &old.unwrap(), Some(&spliced))
        .await
        .unwrap();
    for g in [&a, &b, &c] {
        assert!(!members_of(&scim, g).await.contains(&u), "{u} left in {g}");
    }
    assert_only_miscounted(&scim).await;

    // A group: one member counted, one written by older code, one added after the listing.
    let first = scim.user("first@example.com").await;
    let older = scim.user("older@example.com").await;
    let late = scim.user("late@example.com").await;
    let g = scim.group("Mixed", &[&first]).await;
    add_as_older_code(&scim, &g, &older).await;
    let (_, before) = read(&scim, ResourceKind::Group, &g).await;
    assert_eq!(before.ids.len(), 2);
    let r = scim.patch(&format!("/Groups/{g}"), add_member(&late)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let (old, _) = read(&scim, ResourceKind::Group, &g).await;
    store
        .delete(&dir, ResourceKind::Group, &old.unwrap(), Some(&before))
        .await
        .unwrap();
    for user in [&first, &older, &late] {
        assert_in_no_group(&scim, user).await;
    }
    assert_only_miscounted(&scim).await;
}
