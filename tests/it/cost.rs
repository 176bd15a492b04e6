//! DynamoDB cost budgets of the IdP hot paths, counted by the meter in front of the emulator:
//! round trips and items touched per request. A change that adds a round trip or reads more items
//! on one of these paths fails here; the benchmark (`infra/bench.sh`) shows the same figures at
//! 100,000 users. Budgets are upper bounds: lowering a cost needs no change here, only a smaller
//! number to keep it.
//!
//! Every write carries its events (`store::outbox`): the directory's event sequence shards are
//! read with the resource in one BatchGetItem (`SHARDS` small items), and the transaction writes
//! one shard and one event per change. A single-resource write is that read and one
//! transaction: two round trips in sequence (issue 21). A budget counts both the calls and the
//! round trips the request waited for one after another (calls made side by side count once:
//! `Usage::in_sequence`), measured under the meter's DynamoDB model so that calls side by side
//! overlap whatever the machine's load.

use std::time::Duration;

use scim_lambda::local::meter::{DynamoModel, Usage};
use scim_lambda::store::outbox::SHARDS as SHARD_COUNT;

/// The event sequence shards every write reads.
const SHARDS: u64 = SHARD_COUNT as u64;
const SLOTS: u64 = scim_lambda::store::slots::SLOTS as u64;
use serde_json::{json, Value};

use crate::support::{Reply, Scim};

/// (calls, round trips in sequence, items read, items written) at most.
type Budget = (usize, usize, u64, u64);

/// The model's latency per call while a request is measured: long enough that two calls made
/// side by side overlap on a loaded machine.
const MODEL_LATENCY: Duration = Duration::from_millis(20);

/// What one request costs on the request path. Every request is also in the request log: its
/// record is written afterwards by the log's own writer (through a meter of its own), so the
/// budgets below are those of a logged request, and logging adds no round trip to any of them.
async fn cost(scim: &Scim, method: &str, path: &str, body: Option<Value>) -> (Reply, Usage) {
    scim.flush_log().await;
    scim.meter.take();
    scim.log_meter.take();
    scim.meter
        .set_model(Some(DynamoModel::with_latency(MODEL_LATENCY)));
    let r = scim.send(method, &scim.v2(path), body).await;
    scim.meter.set_model(None);
    let usage = scim.meter.take();
    assert_eq!(
        scim.log_meter.take().round_trips(),
        0,
        "the log wrote on the request path"
    );
    scim.flush_log().await;
    let logged = scim.log_meter.take();
    assert!(
        logged.operations().contains(&"BatchWriteItem"),
        "{method} {path} was not logged: {logged}"
    );
    (r, usage)
}

fn within(name: &str, usage: &Usage, (calls, trips, read, written): Budget) {
    println!("{name:<34} {usage}");
    assert!(
        usage.round_trips() <= calls
            && usage.in_sequence() <= trips
            && usage.items_read() <= read
            && usage.items_written() <= written,
        "{name}: {usage}; budget is {calls} calls, {trips} round trips in sequence, {read} items \
         read, {written} written"
    );
}

/// PATCH adding these members to a group.
fn add_members(ids: &[&str]) -> Value {
    let value: Vec<Value> = ids.iter().map(|u| json!({"value": u})).collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": value}]})
}

/// PATCH removing one member by a value filter, as Okta and Entra send it.
fn remove_member(id: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]})
}

fn user_body(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
    })
}

/// A directory with a few users (so lists and lookups have neighbours) and a warm token cache.
async fn arranged() -> (Scim, Vec<String>) {
    let scim = Scim::start().await;
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(scim.user(&format!("member{i}@example.com")).await);
    }
    (scim, users)
}

#[tokio::test]
async fn user_hot_paths_stay_within_their_dynamodb_budgets() {
    let (scim, _) = arranged().await;
    let filter = |n: &str| format!("/Users?filter=userName%20eq%20%22{n}%22");

    let (r, u) = cost(&scim, "GET", &filter("member1@example.com"), None).await;
    assert_eq!(r.body["totalResults"], 1);
    within("lookup userName eq (hit)", &u, (2, 2, 2, 0));

    let (r, u) = cost(&scim, "GET", &filter("nobody@example.com"), None).await;
    assert_eq!(r.body["totalResults"], 0);
    within("lookup userName eq (miss)", &u, (1, 1, 0, 0));

    let (r, u) = cost(&scim, "POST", "/Users", Some(user_body("new@example.com"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    within("create user", &u, (2, 2, SHARDS, 7));
    let id = r.body["id"].as_str().unwrap().to_string();

    let (r, u) = cost(&scim, "GET", &format!("/Users/{id}"), None).await;
    assert_eq!(r.status, 200);
    // Never in a group: its groups need no Query. (A PUT or PATCH cannot know that before its
    // read, so it Queries the user's groups beside it: one call more, no round trip more.)
    within("get user", &u, (1, 1, 1, 0));

    let mut replaced = user_body("new@example.com");
    replaced["name"]["givenName"] = json!("Changed");
    let (r, u) = cost(&scim, "PUT", &format!("/Users/{id}"), Some(replaced)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    within("replace user (PUT)", &u, (3, 2, 1 + SHARDS, 3));

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "name.familyName", "value": "Patched"}]});
    let (r, u) = cost(&scim, "PATCH", &format!("/Users/{id}"), Some(patch)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    within("patch user", &u, (3, 2, 1 + SHARDS, 3));

    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (r, u) = cost(&scim, "PATCH", &format!("/Users/{id}"), Some(deactivate)).await;
    assert_eq!(r.body["active"], false, "{}", r.body);
    within("deactivate user", &u, (3, 2, 1 + SHARDS, 3));

    let (r, u) = cost(&scim, "GET", "/Users?startIndex=1&count=100", None).await;
    assert_eq!(r.body["totalResults"], 6);
    // 6 users plus the counter shards (at most 17 small items, whatever the directory's size).
    within("list page (count=100)", &u, (2, 2, 6 + 17, 0));

    let (r, u) = cost(&scim, "DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(r.status, 204);
    // Its groups are listed beside the read (`store::deletes`): none, and it was never in one.
    within("delete user", &u, (3, 2, 1 + SHARDS, 7));
}

#[tokio::test]
async fn group_hot_paths_stay_within_their_dynamodb_budgets() {
    let (scim, users) = arranged().await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering", "externalId": "eng"});
    let (r, u) = cost(&scim, "POST", "/Groups", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    within("create group", &u, (2, 2, SHARDS, 6));
    let g = r.body["id"].as_str().unwrap().to_string();

    let add = add_members(&[&users[0]]);
    let (r, u) = cost(&scim, "PATCH", &format!("/Groups/{g}"), Some(add)).await;
    assert!(r.status < 300, "{}", r.body);
    // The user's slot of the group (`store::slots`) and the user's edge sequence move with the
    // two edge items; the edge, read with the group, makes sure the edge is new (one event per
    // real change), and the slot, read with them, says what event number to follow.
    // The user's group count and the slot's member count move with them (`store::members`).
    within("add one member", &u, (2, 2, 3 + SHARDS, 7));

    // A user in a group: the write is a read and a transaction; its answer lists the group,
    // read beside them (the user's edges beside the read, the groups' names beside the
    // transaction).
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Member"}]});
    let (r, u) = cost(&scim, "PATCH", &format!("/Users/{}", users[0]), Some(patch)).await;
    assert_eq!(r.body["groups"][0]["value"], g.as_str(), "{}", r.body);
    assert_eq!(r.body["groups"][0]["display"], "Engineering", "{}", r.body);
    within("patch user in a group", &u, (4, 2, 3 + SHARDS, 3));
    let mut replaced = user_body("member0@example.com");
    replaced["title"] = json!("Replaced");
    let (r, u) = cost(
        &scim,
        "PUT",
        &format!("/Users/{}", users[0]),
        Some(replaced),
    )
    .await;
    assert_eq!(r.body["groups"][0]["display"], "Engineering", "{}", r.body);
    // (Its externalId is new: one index item more.)
    within("replace user in a group (PUT)", &u, (4, 2, 3 + SHARDS, 4));
    // Asked without its groups, the answer reads none.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Quiet"}]});
    let quiet = format!("/Users/{}?excludedAttributes=groups", users[0]);
    let (r, u) = cost(&scim, "PATCH", &quiet, Some(patch)).await;
    assert!(r.body.get("groups").is_none(), "{}", r.body);
    within("patch user, groups excluded", &u, (2, 2, 1 + SHARDS, 3));

    let remove = remove_member(&users[0]);
    let (r, u) = cost(&scim, "PATCH", &format!("/Groups/{g}"), Some(remove)).await;
    assert!(r.status < 300, "{}", r.body);
    within("remove one member", &u, (2, 2, 3 + SHARDS, 6));

    // Replacing all members (no If-Match) lists them beside the group's read: the change is
    // not fenced by the group's version, each edge write is conditional on the edge.
    let replace = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "members", "value": [{"value": &users[1]}]}]});
    let (r, u) = cost(&scim, "PATCH", &format!("/Groups/{g}"), Some(replace)).await;
    assert!(r.status < 300, "{}", r.body);
    within("replace all members", &u, (4, 2, 1 + SHARDS + SLOTS, 7));
    let r = scim.get(&format!("/Groups/{g}")).await;
    assert_eq!(
        r.body["members"][0]["value"],
        users[1].as_str(),
        "{}",
        r.body
    );
    // A PUT lists the members beside its read too, and takes the listing because the slots
    // vouch for it (`Slots::vouch`): their counts and hash sums are those of the listing.
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Engineering", "externalId": "eng",
        "members": [{"value": &users[1]}, {"value": &users[2]}]});
    let (r, u) = cost(&scim, "PUT", &format!("/Groups/{g}"), Some(put)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["members"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.body
    );
    within(
        "replace group (PUT)",
        &u,
        (4, 2, 1 + SHARDS + SLOTS + 1, 20),
    );
    let emptied = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": "members"}]});
    let r = scim.patch(&format!("/Groups/{g}"), emptied).await;
    assert!(r.status < 300, "{}", r.body);

    let path = format!("/Groups/{g}?excludedAttributes=members");
    let (r, u) = cost(&scim, "GET", &path, None).await;
    assert_eq!(r.status, 200);
    // The group's slots beside its item: its version counts what they moved.
    within("get group without members", &u, (2, 1, 1 + SLOTS, 0));

    let (r, u) = cost(&scim, "DELETE", &format!("/Groups/{g}"), None).await;
    assert_eq!(r.status, 204);
    // Its members are listed beside its read and its slots, which count them
    // (`store::deletes`): the transaction leaves a tombstone in each slot.
    within("delete group", &u, (4, 2, 2 + SHARDS + SLOTS, 6 + SLOTS));
}

/// Deleting a user in groups, and a group with members: the edges are listed beside the read, and
/// the counts every edge write keeps vouch for the listing, so each delete is a read and a
/// transaction (issue 21).
#[tokio::test]
async fn deletes_of_resources_with_memberships_take_two_round_trips() {
    let (scim, users) = arranged().await;
    let g = scim
        .group("Sales", &[&users[0], &users[1], &users[2]])
        .await;
    let other = scim.group("Support", &[&users[0]]).await;

    let (r, u) = cost(&scim, "DELETE", &format!("/Users/{}", users[0]), None).await;
    assert_eq!(r.status, 204);
    // Its group count beside it; the user, its count, two edge pairs and the two slots counting
    // it, an event, a shard and the counter.
    within("delete user in two groups", &u, (3, 2, 2 + SHARDS + 2, 13));
    for group in [&g, &other] {
        let r = scim.get(&format!("/Groups/{group}")).await;
        let members = r.body["members"].as_array().cloned().unwrap_or_default();
        assert!(
            members.iter().all(|m| m["value"] != users[0].as_str()),
            "{}",
            r.body
        );
    }

    let (r, u) = cost(&scim, "DELETE", &format!("/Groups/{g}"), None).await;
    assert_eq!(r.status, 204);
    // The group, its slots and its two members' edges and group counts.
    within(
        "delete group with two members",
        &u,
        (4, 2, 1 + SHARDS + SLOTS + 2, 12 + SLOTS),
    );
    for user in &users[1..3] {
        let r = scim.get(&format!("/Users/{user}")).await;
        let groups = r.body.get("groups").and_then(Value::as_array);
        assert!(groups.is_none_or(|g| g.is_empty()), "{}", r.body);
    }
}

/// Membership edges are items of their own: adding or removing one member costs the same whatever
/// the group's size (`store::members`: O(1) items per member change).
#[tokio::test]
async fn one_member_change_costs_the_same_in_a_big_group_as_in_an_empty_one() {
    let scim = Scim::start().await;
    let mut users = Vec::new();
    for i in 0..202 {
        users.push(scim.user(&format!("u{i}@example.com")).await);
    }
    let small = scim.group("small", &[]).await;
    let big = scim.group("big", &[]).await;
    // The measured user's slot of the empty group is written once, as in the big group.
    for body in [add_members(&[&users[201]]), remove_member(&users[201])] {
        let r = scim.patch(&format!("/Groups/{small}"), body).await;
        assert!(r.status < 300, "{}", r.body);
    }
    for chunk in users[..200].chunks(100) {
        let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let r = scim
            .patch(&format!("/Groups/{big}"), add_members(&ids))
            .await;
        assert!(r.status < 300, "{}", r.body);
    }
    let mut costs = Vec::new();
    for g in [&small, &big] {
        let add = add_members(&[&users[201]]);
        let (_, added) = cost(&scim, "PATCH", &format!("/Groups/{g}"), Some(add)).await;
        let remove = remove_member(&users[201]);
        let (_, removed) = cost(&scim, "PATCH", &format!("/Groups/{g}"), Some(remove)).await;
        costs.push([added, removed].map(|u| (u.round_trips(), u.items_read(), u.items_written())));
    }
    assert_eq!(costs[0], costs[1], "empty group vs 200-member group");
}

/// What the request log costs, off the request path: a record is one item (ceil(size in KB)
/// WRU), put by BatchWriteItem 25 at a time, and each batch moves one counter item per directory
/// and hour (1 WRU). Written by the log's writer alone: the request's own calls are the budgets
/// above.
#[tokio::test]
async fn logging_a_request_costs_its_record_and_a_counter_update_off_the_request_path() {
    let (scim, _) = arranged().await;
    let (r, request) = cost(
        &scim,
        "POST",
        "/Users",
        Some(user_body("logged@example.com")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    within("create user (logged)", &request, (2, 2, SHARDS, 7));

    // The writer's side of one more such request, on its own.
    let r = scim
        .send(
            "POST",
            &scim.v2("/Users"),
            Some(user_body("second@example.com")),
        )
        .await;
    assert_eq!(r.status, 201);
    scim.flush_log().await;
    let log = scim.log_meter.take();
    println!("{:<34} {log}", "request log, one record");
    assert_eq!(log.operations(), ["BatchWriteItem", "UpdateItem"], "{log}");
    assert_eq!(log.items_written(), 2, "{log}");
    // The record (about 2 KB here: both bodies) and the hour's counters.
    assert!(log.write_units() <= 4.0, "{log}");
}

/// The functions' own per-request figures (the EMF metric: an SDK interceptor counts calls and
/// asks each for its consumed capacity) agree with the meter in front of DynamoDB.
#[tokio::test]
async fn the_functions_measure_their_own_calls_and_capacity_as_the_meter_does() {
    use scim_lambda::store::{capacity, CALLS};
    use std::sync::atomic::Ordering;
    let (scim, _) = arranged().await;
    // The request log's writer counts in the same process-wide counters: nothing may wait for it.
    scim.flush_log().await;
    scim.meter.take();
    let calls = CALLS.load(Ordering::Relaxed);
    let (read, write) = capacity::consumed();
    let r = scim
        .send(
            "POST",
            &scim.v2("/Users"),
            Some(json!({"userName": "measured@example.com", "name": {"givenName": "M"}})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let metered = scim.meter.take();
    let (read_after, write_after) = capacity::consumed();
    assert_eq!(
        CALLS.load(Ordering::Relaxed) - calls,
        metered.round_trips() as u64
    );
    assert!(
        (read_after - read - metered.read_units()).abs() < 1e-9,
        "{metered}"
    );
    assert!(
        (write_after - write - metered.write_units()).abs() < 1e-9,
        "{metered}"
    );
    assert!(write_after - write > 0.0);
}

/// Without the meter in between, DynamoDB (the emulator) reports capacity only because the
/// functions' interceptor asked for it.
#[tokio::test]
async fn the_interceptor_itself_asks_for_consumed_capacity() {
    use scim_lambda::local::embedded::{self, Storage};
    use scim_lambda::store::{capacity, Store};
    let endpoint = embedded::start(&Storage::Memory).await.unwrap();
    let store = Store::local(&endpoint, "measured-directory", "measured-tokens");
    store.create_tables().await.unwrap();
    let (_, write) = capacity::consumed();
    store
        .create_directory(&scim_lambda::store::directories::Directory::new(
            "d1".into(),
            "measured".into(),
        ))
        .await
        .unwrap();
    let (_, write_after) = capacity::consumed();
    assert!(write_after - write >= 1.0, "{write} → {write_after}");
}
