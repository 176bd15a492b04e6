//! Crash consistency: every multi-call write, cut off at each of its DynamoDB calls in turn (the
//! call's write lost, or landed with its answer lost), as a Lambda that dies or times out there.
//! After each cut: every read is consistent (no member that does not exist, no membership seen
//! from one side only, `totalResults` equal to what lists show). Then the IdP's retry of the same
//! request answers normally and converges to the intended state, and `scimctl directory check`
//! finds nothing to fix. Each scenario prints its cut points and outcomes.

use std::collections::BTreeSet;

use scim_lambda::local::meter::Fault;
use serde_json::{json, Value};

use crate::support::Scim;

/// Ids a scenario's setup made.
#[derive(Default, Clone)]
struct Fixture {
    users: Vec<String>,
    groups: Vec<String>,
}

struct Request {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// Statuses a retry may answer besides 2xx (a create whose first attempt committed: 409; a
    /// delete whose first attempt committed: 404).
    also: &'static [u16],
}

async fn users(scim: &Scim, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(scim.user(&format!("c{i}@example.com")).await);
    }
    out
}

fn group_body(name: &str, members: &[String]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name, "externalId": format!("ext-{name}"), "members": members})
}

fn ids_of(v: &Value, attr: &str) -> BTreeSet<String> {
    v[attr]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

/// (group, user) of every member the listed groups show.
fn memberships(groups: &[Value]) -> BTreeSet<(String, String)> {
    groups
        .iter()
        .flat_map(|g| {
            let gid = g["id"].as_str().unwrap_or_default().to_string();
            ids_of(g, "members")
                .into_iter()
                .map(move |u| (gid.clone(), u))
        })
        .collect()
}

/// What a client can read is consistent: members exist and see the group, groups exist and
/// list the member, and totals match the lists (two list requests, compared in memory).
async fn assert_reads_consistent(scim: &Scim, context: &str) {
    let users = scim
        .get("/Users?count=1000&attributes=userName,groups")
        .await
        .body;
    let groups = scim.get("/Groups?count=1000").await.body;
    let user_list = users["Resources"].as_array().cloned().unwrap_or_default();
    let group_list = groups["Resources"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        users["totalResults"],
        json!(user_list.len()),
        "{context}: user total"
    );
    assert_eq!(
        groups["totalResults"],
        json!(group_list.len()),
        "{context}: group total"
    );
    let from_groups = memberships(&group_list);
    let from_users: BTreeSet<(String, String)> = user_list
        .iter()
        .flat_map(|u| {
            let uid = u["id"].as_str().unwrap_or_default().to_string();
            ids_of(u, "groups")
                .into_iter()
                .map(move |g| (g, uid.clone()))
        })
        .collect();
    let user_ids: BTreeSet<&str> = user_list.iter().filter_map(|u| u["id"].as_str()).collect();
    for (g, u) in &from_groups {
        assert!(
            user_ids.contains(u.as_str()),
            "{context}: group {g} lists missing user {u}"
        );
    }
    let only_groups: Vec<_> = from_groups.difference(&from_users).collect();
    let only_users: Vec<_> = from_users.difference(&from_groups).collect();
    assert!(
        only_groups.is_empty(),
        "{context}: seen from the group only: {only_groups:?}"
    );
    assert!(
        only_users.is_empty(),
        "{context}: seen from the user only (or group missing): {only_users:?}"
    );
}

/// What the events say the directory holds: users, groups and (group, user) memberships, by
/// folding them in sequence order. A deleted user or group takes its memberships with it (one
/// event, not one per membership).
type Folded = (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<(String, String)>,
);

async fn folded_events(scim: &Scim) -> Folded {
    let page = scim
        .app
        .store()
        .events(&scim.directory, 0, 100_000, &[])
        .await
        .unwrap();
    let (mut users, mut groups, mut members) = Folded::default();
    let mut last = 0;
    for e in &page.data {
        assert!(
            e.sequence > last,
            "events out of order: {} after {last}",
            e.sequence
        );
        last = e.sequence;
        let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
        match e.event.as_str() {
            "dsync.user.created" => assert!(users.insert(id(&e.data)), "user created twice"),
            "dsync.user.deleted" => {
                let u = id(&e.data);
                assert!(users.remove(&u), "deleted user {u} never created");
                members.retain(|(_, m)| *m != u);
            }
            "dsync.group.created" => assert!(groups.insert(id(&e.data)), "group created twice"),
            "dsync.group.deleted" => {
                let g = id(&e.data);
                assert!(groups.remove(&g), "deleted group {g} never created");
                members.retain(|(h, _)| *h != g);
            }
            "dsync.group.user_added" => {
                let pair = (id(&e.data["group"]), id(&e.data["user"]));
                assert!(members.insert(pair.clone()), "added twice: {pair:?}");
            }
            "dsync.group.user_removed" => {
                let pair = (id(&e.data["group"]), id(&e.data["user"]));
                assert!(members.remove(&pair), "removed but never added: {pair:?}");
            }
            _ => {}
        }
    }
    (users, groups, members)
}

/// The events agree with what a client reads: the same users and groups, and — when `members`
/// (no multi-step member change in flight) — the same memberships.
async fn assert_events_match_reads(scim: &Scim, context: &str, members: bool) {
    let (users, groups, by_events) = folded_events(scim).await;
    let read_users = scim.get("/Users?count=1000&attributes=userName").await.body;
    let read_groups = scim.get("/Groups?count=1000").await.body;
    let ids = |v: &Value| -> BTreeSet<String> {
        v["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["id"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        users,
        ids(&read_users),
        "{context}: users by events vs reads"
    );
    assert_eq!(
        groups,
        ids(&read_groups),
        "{context}: groups by events vs reads"
    );
    if members {
        let groups = read_groups["Resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let read = memberships(&groups);
        assert_eq!(by_events, read, "{context}: memberships by events vs reads");
    }
}

/// Runs `request` once cleanly to count its calls, then once per cut point and mode on a fresh
/// directory. Returns the printed outcome lines.
async fn every_cut_point<S, R, V>(name: &str, setup: S, request: R, verify: V) -> Vec<String>
where
    S: AsyncFn(&Scim) -> Fixture,
    R: Fn(&Scim, &Fixture) -> Request,
    V: AsyncFn(&Scim, &Fixture),
{
    let scim = Scim::start().await;
    let fx = setup(&scim).await;
    let req = request(&scim, &fx);
    scim.meter.take();
    let clean = scim.send(req.method, &req.path, req.body.clone()).await;
    assert!(
        clean.status < 300,
        "{name}: {} {}",
        clean.status,
        clean.body
    );
    let calls = scim.meter.take();
    verify(&scim, &fx).await;
    assert_events_match_reads(&scim, name, true).await;
    let mut lines = vec![format!(
        "{name}: {} calls {:?}",
        calls.round_trips(),
        calls.operations()
    )];
    for at in 1..=calls.round_trips() {
        // A read that "landed" changes nothing: cut reads one way only.
        let op = calls.operations()[at - 1];
        let modes: &[bool] = if matches!(op, "GetItem" | "Query" | "BatchGetItem") {
            &[false]
        } else {
            &[false, true]
        };
        for &delivered in modes {
            let scim = Scim::start().await;
            let fx = setup(&scim).await;
            let req = request(&scim, &fx);
            let context = format!(
                "{name}, cut at call {at} ({}), {}",
                calls.operations()[at - 1],
                if delivered {
                    "its write landed"
                } else {
                    "its write lost"
                }
            );
            scim.meter.inject(Fault::Crash { at, delivered });
            let first = scim.send(req.method, &req.path, req.body.clone()).await;
            scim.meter.clear();
            assert_reads_consistent(&scim, &context).await;
            // A change that fits one transaction is there with its events or not at all; a
            // larger member change shows its events when it completes.
            assert_events_match_reads(
                &scim,
                &context,
                calls
                    .operations()
                    .iter()
                    .filter(|o| **o == "TransactWriteItems")
                    .count()
                    <= 1,
            )
            .await;
            let between = scim.check().await;
            let in_flight: Vec<&str> = between.problems.iter().map(|p| p.kind).collect();
            assert!(
                in_flight
                    .iter()
                    .all(|k| matches!(*k, "user_being_deleted" | "group_clean_up")),
                "{context}: after the cut: {:?}",
                between.problems
            );
            let retry = scim.send(req.method, &req.path, req.body.clone()).await;
            assert!(
                retry.status < 300 || req.also.contains(&retry.status),
                "{context}: retry answered {} {}",
                retry.status,
                retry.body
            );
            verify(&scim, &fx).await;
            assert_reads_consistent(&scim, &context).await;
            // The cut attempt's event block (if any) holds readers back until it is stale; the
            // reader that passes it retires it.
            scim.age_event_blocks().await;
            assert_events_match_reads(&scim, &format!("{context}, after the retry"), true).await;
            let after = scim.check().await;
            assert!(
                after.problems.is_empty(),
                "{context}: after the retry: {:?}",
                after.problems
            );
            lines.push(format!(
                "  cut at {at} {:<18} {:<6} first {} → retry {}; in flight between: {:?}",
                calls.operations()[at - 1],
                if delivered { "landed" } else { "lost" },
                first.status,
                retry.status,
                in_flight
            ));
        }
    }
    println!("{}", lines.join("\n"));
    lines
}

async fn members_after(scim: &Scim, group: &str) -> BTreeSet<String> {
    ids_of(&scim.get(&format!("/Groups/{group}")).await.body, "members")
}

#[tokio::test]
async fn creating_a_user_or_a_small_group_is_one_transaction() {
    every_cut_point(
        "create user",
        async |_: &Scim| Fixture::default(),
        |s, _| Request {
            method: "POST",
            path: s.v2("/Users"),
            body: Some(json!({"userName": "new@example.com", "externalId": "x1",
                "emails": [{"value": "new@example.com"}]})),
            also: &[409],
        },
        async |s: &Scim, _: &Fixture| {
            let r = s
                .get("/Users?filter=userName%20eq%20%22new@example.com%22")
                .await;
            assert_eq!(r.body["totalResults"], 1);
        },
    )
    .await;
    every_cut_point(
        "create group, 5 members",
        async |s: &Scim| Fixture {
            users: users(s, 5).await,
            groups: vec![],
        },
        |s, fx| Request {
            method: "POST",
            path: s.v2("/Groups"),
            body: Some(group_body("five", &fx.users)),
            also: &[409],
        },
        async |s: &Scim, fx: &Fixture| {
            let r = s.get("/Groups?filter=displayName%20eq%20%22five%22").await;
            assert_eq!(r.body["totalResults"], 1);
            assert_eq!(
                ids_of(&r.body["Resources"][0], "members"),
                fx.users.iter().cloned().collect()
            );
        },
    )
    .await;
}

#[tokio::test]
async fn creating_a_group_larger_than_one_transaction_converges() {
    every_cut_point(
        "create group, 40 members",
        async |s: &Scim| Fixture {
            users: users(s, 40).await,
            groups: vec![],
        },
        |s, fx| Request {
            method: "POST",
            path: s.v2("/Groups"),
            body: Some(group_body("forty", &fx.users)),
            also: &[409],
        },
        async |s: &Scim, fx: &Fixture| {
            let r = s.get("/Groups?filter=displayName%20eq%20%22forty%22").await;
            assert_eq!(r.body["totalResults"], 1, "{}", r.body);
            assert_eq!(
                ids_of(&r.body["Resources"][0], "members"),
                fx.users.iter().cloned().collect()
            );
        },
    )
    .await;
}

#[tokio::test]
async fn replacing_and_patching_members_converges() {
    every_cut_point(
        "PUT group, 40 members replaced by 40 others",
        async |s: &Scim| {
            let u = users(s, 80).await;
            let g = s
                .group(
                    "swap",
                    &u[..40].iter().map(String::as_str).collect::<Vec<_>>(),
                )
                .await;
            Fixture {
                users: u,
                groups: vec![g],
            }
        },
        |s, fx| Request {
            method: "PUT",
            path: s.v2(&format!("/Groups/{}", fx.groups[0])),
            body: Some(group_body("swap", &fx.users[40..])),
            also: &[],
        },
        async |s: &Scim, fx: &Fixture| {
            assert_eq!(
                members_after(s, &fx.groups[0]).await,
                fx.users[40..].iter().cloned().collect()
            );
        },
    )
    .await;
    // A group of one member, and a PATCH adding the second: with a rename (the body changes, so
    // the write is conditional on the version read) and without (the version moves unread).
    for (name, rename) in [
        ("PATCH group, add one member and rename", true),
        (
            "PATCH group, add one member (no If-Match: version not read)",
            false,
        ),
    ] {
        every_cut_point(
            name,
            async |s: &Scim| {
                let u = users(s, 2).await;
                let g = s.group("patched", &[&u[0]]).await;
                Fixture {
                    users: u,
                    groups: vec![g],
                }
            },
            |s, fx| {
                let mut ops = vec![
                    json!({"op": "add", "path": "members", "value": [{"value": fx.users[1]}]}),
                ];
                if rename {
                    ops.push(json!({"op": "replace", "path": "displayName", "value": "renamed"}));
                }
                Request {
                    method: "PATCH",
                    path: s.v2(&format!("/Groups/{}", fx.groups[0])),
                    body: Some(
                        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": ops}),
                    ),
                    also: &[],
                }
            },
            async |s: &Scim, fx: &Fixture| {
                assert_eq!(
                    members_after(s, &fx.groups[0]).await,
                    fx.users.iter().cloned().collect()
                );
            },
        )
        .await;
    }
    every_cut_point(
        "PUT user (new userName and email)",
        async |s: &Scim| Fixture { users: users(s, 1).await, groups: vec![] },
        |s, fx| Request { method: "PUT", path: s.v2(&format!("/Users/{}", fx.users[0])),
            body: Some(json!({"userName": "renamed@example.com", "emails": [{"value": "renamed@example.com"}]})), also: &[] },
        async |s: &Scim, _: &Fixture| {
            let r = s.get("/Users?filter=emails.value%20eq%20%22renamed@example.com%22").await;
            assert_eq!(r.body["totalResults"], 1);
        },
    )
    .await;
}

#[tokio::test]
async fn deleting_users_converges_whatever_their_group_count() {
    for groups in [3usize, 60] {
        every_cut_point(
            &format!("DELETE user in {groups} groups"),
            async |s: &Scim| {
                let u = users(s, 2).await;
                let mut gs = Vec::new();
                for i in 0..groups {
                    gs.push(s.group(&format!("g{i}"), &[&u[0], &u[1]]).await);
                }
                Fixture {
                    users: u,
                    groups: gs,
                }
            },
            |s, fx| Request {
                method: "DELETE",
                path: s.v2(&format!("/Users/{}", fx.users[0])),
                body: None,
                also: &[404],
            },
            async |s: &Scim, fx: &Fixture| {
                assert_eq!(s.get(&format!("/Users/{}", fx.users[0])).await.status, 404);
                let left = members_after(s, &fx.groups[groups - 1]).await;
                assert_eq!(left, BTreeSet::from([fx.users[1].clone()]));
            },
        )
        .await;
    }
}

#[tokio::test]
async fn deleting_groups_converges_whatever_their_size() {
    for members in [5usize, 60] {
        every_cut_point(
            &format!("DELETE group of {members}"),
            async |s: &Scim| {
                let u = users(s, members).await;
                let g = s
                    .group("doomed", &u.iter().map(String::as_str).collect::<Vec<_>>())
                    .await;
                let keep = s.group("kept", &[&u[0]]).await;
                Fixture {
                    users: u,
                    groups: vec![g, keep],
                }
            },
            |s, fx| Request {
                method: "DELETE",
                path: s.v2(&format!("/Groups/{}", fx.groups[0])),
                body: None,
                also: &[404],
            },
            async |s: &Scim, fx: &Fixture| {
                assert_eq!(
                    s.get(&format!("/Groups/{}", fx.groups[0])).await.status,
                    404
                );
                let groups = ids_of(
                    &json!({"groups": s.groups_of(&fx.users[0]).await}),
                    "groups",
                );
                assert_eq!(groups, BTreeSet::from([fx.groups[1].clone()]));
            },
        )
        .await;
    }
}

#[tokio::test]
async fn deleting_a_directory_converges() {
    async fn arranged() -> Scim {
        let scim = Scim::start().await;
        let u = users(&scim, 3).await;
        scim.group("all", &u.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        scim
    }
    let scim = arranged().await;
    scim.meter.take();
    scim.delete_directory().await.unwrap();
    let calls = scim.meter.take();
    println!(
        "delete directory: {} calls {:?}",
        calls.round_trips(),
        calls.operations()
    );
    for at in 1..=calls.round_trips() {
        for delivered in [false, true] {
            let scim = arranged().await;
            scim.meter.inject(Fault::Crash { at, delivered });
            let first = scim.delete_directory().await;
            // Only a cut at the last call or two (which varies, below) may let it finish.
            assert!(first.is_err() || at + 1 >= calls.round_trips());
            scim.meter.clear();
            let store = scim.app.store();
            // The last call deletes the webhook registration, after the registry entry: a cut
            // there (or an answer lost after the registry entry went) leaves the registration to
            // the TTL its delete set when it began, and a retry finds no directory. (Which call
            // that is varies by a call or two: the batches of deletes depend on how many member
            // slots the group's members happen to hash to.)
            let registry_gone = store
                .get_directory(&scim.directory)
                .await
                .unwrap()
                .is_none();
            let retry = scim.delete_directory().await;
            assert!(
                retry.is_ok() || first.is_ok() || registry_gone,
                "cut at {at}: retry {retry:?}"
            );
            assert!(store
                .get_directory(&scim.directory)
                .await
                .unwrap()
                .is_none());
            // Only the events stay (TTL removes them), ending with the directory's deletion.
            let left = store.check_directory(&scim.directory, false).await.unwrap();
            let events = store.events(&scim.directory, 0, 1_000, &[]).await.unwrap();
            assert_eq!(
                left.items,
                events.data.len() + scim_lambda::store::outbox::SHARDS,
                "cut at {at} ({delivered}): items left besides the events and their sequence"
            );
            assert_eq!(events.data.last().unwrap().event, "dsync.deleted");
        }
    }
}

/// A large group create cut off after its pending write: the pending group is invisible to every
/// listing (cursor and index paging still see every other group), a different create of the same
/// name is refused while the first may still be running, and once the pending group is
/// abandoned (2 minutes) any create of that name takes it over — a small one included.
#[tokio::test]
async fn an_abandoned_pending_group_blocks_nothing_for_good() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let s = Scim::start().await;
    let u = users(&s, 40).await;
    for i in 0..3 {
        s.group(&format!("before{i}"), &[]).await;
    }
    s.meter.inject(Fault::Crash {
        // token, users, event sequence, then the pending write (lost).
        at: 4,
        delivered: false,
    });
    let cut = s.post("/Groups", group_body("half", &u)).await;
    s.meter.clear();
    assert!(cut.status >= 500);
    for i in 0..3 {
        s.group(&format!("after{i}"), &[]).await;
    }
    // Cursor paging one group at a time walks past the pending one.
    let mut names = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = s.get(&format!("/Groups?count=1&cursor={cursor}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        names.extend(
            r.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].clone()),
        );
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(names.len(), 6, "{names:?}");
    // Deepest first, so each page is found by walking keys (no anchor from an earlier page).
    for (start, name) in [(5, "after1"), (4, "after0"), (3, "before2")] {
        let r = s.get(&format!("/Groups?count=1&startIndex={start}")).await;
        assert_eq!(
            r.body["Resources"][0]["displayName"], name,
            "startIndex={start}"
        );
        assert_eq!(r.body["totalResults"], 6);
    }
    // Another create of the name is refused while the first may still be running...
    let small = group_body("half", &u[..2]);
    assert_eq!(s.post("/Groups", small.clone()).await.status, 409);
    // ...and takes the group over once it is abandoned.
    let store = s.app.store();
    let pending = store
        .id_by_unique_name(
            &s.directory,
            scim_lambda::scim::schema::ResourceKind::Group,
            "half",
        )
        .await
        .unwrap()
        .unwrap();
    s.update_item(format!("GROUP#{pending}"))
        .update_expression("SET pending_since = :old")
        .expression_attribute_values(":old", AttributeValue::N("0".into()))
        .send()
        .await
        .unwrap();
    let r = s.post("/Groups", small).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], json!(pending));
    assert_eq!(
        members_after(&s, &pending).await,
        u[..2].iter().cloned().collect()
    );
    assert_reads_consistent(&s, "after the takeover").await;
    assert!(
        s.check().await.problems.is_empty(),
        "{:?}",
        s.check().await.problems
    );
}

/// A rename to a taken name together with more member changes than one transaction holds is
/// refused before any membership is written.
#[tokio::test]
async fn a_large_member_change_with_a_taken_name_writes_nothing() {
    let s = Scim::start().await;
    let u = users(&s, 40).await;
    s.group("taken", &[]).await;
    let g = s.group("mine", &[]).await;
    let r = s
        .put(&format!("/Groups/{g}"), group_body("taken", &u))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(members_after(&s, &g).await.is_empty());
    assert!(s.check().await.problems.is_empty());
}
