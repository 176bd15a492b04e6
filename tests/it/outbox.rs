//! Directory events as the application reads them (Events API over the store): every change
//! has its event, in one total order per directory, under parallel requests and across changes
//! larger than one transaction.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use scim_lambda::events::{self, Event};
use scim_lambda::store::outbox;
use serde_json::{json, Value};

use crate::support::Scim;

async fn all_events(s: &Scim) -> Vec<Event> {
    s.app
        .store()
        .events(&s.directory, 0, 100_000, &[])
        .await
        .unwrap()
        .data
}

fn names(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event.as_str()).collect()
}

fn add_members(ids: &[String]) -> Value {
    let members: Vec<Value> = ids.iter().map(|i| json!({"value": i})).collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}]})
}

#[tokio::test]
async fn the_first_request_activates_and_every_change_has_one_event_in_order() {
    let s = Scim::start().await;
    let u = s.user("ada@example.com").await;
    let g = s.group("Engineering", &[u.as_str()]).await;
    let r = s
        .patch(
            &format!("/Users/{u}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "value": {"active": false}}]}),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    // A no-op and a failed request emit nothing.
    s.patch(
        &format!("/Users/{u}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]}),
    )
    .await;
    assert_eq!(
        s.post("/Users", json!({"userName": "ada@example.com"}))
            .await
            .status,
        409
    );
    assert_eq!(s.delete(&format!("/Groups/{g}")).await.status, 204);
    assert_eq!(s.delete(&format!("/Users/{u}")).await.status, 204);

    let events = all_events(&s).await;
    assert_eq!(
        names(&events),
        [
            "dsync.activated",
            "dsync.user.created",
            "dsync.group.created",
            "dsync.group.user_added",
            "dsync.user.updated",
            "dsync.group.deleted",
            "dsync.user.deleted",
        ]
    );
    // Numbers increase in the order the changes happened; they are not dense (each of the
    // directory's sequence shards hands out its own residue, `store::outbox`).
    assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert!(events
        .iter()
        .all(|e| e.directory_id == s.directory && e.id.starts_with("event_")));
    let created = &events[1].data;
    assert_eq!(created["id"], u.as_str());
    assert_eq!(created["username"], "ada@example.com");
    assert_eq!(created["state"], "active");
    assert_eq!(created["raw_attributes"]["userName"], "ada@example.com");
    let added = &events[3].data;
    assert_eq!(added["group"]["id"], g.as_str());
    assert_eq!(added["group"]["name"], "Engineering");
    assert_eq!(added["user"]["id"], u.as_str());
    // Deactivation is an update with what changed.
    let updated = &events[4].data;
    assert_eq!(updated["state"], "inactive");
    assert_eq!(updated["previous_attributes"]["state"], "active");
    assert_eq!(
        updated["previous_attributes"]["raw_attributes"]["active"],
        true
    );
    // Deleting a group with a member is one event, not one per member.
    assert_eq!(events[5].data["id"], g.as_str());
}

/// Writers of one process hand each other the sequence shards (`store::shard_leases`): parallel
/// creates, and the writes after a change larger than one transaction (whose last transaction
/// takes no number), are never refused on a shard — only another process can move one.
#[tokio::test]
async fn writers_of_one_process_never_refuse_each_other_on_a_shard() {
    let s = std::sync::Arc::new(Scim::start().await);
    let mut members = Vec::new();
    for i in 0..40 {
        members.push(s.user(&format!("m{i}@example.com")).await);
    }
    let g = s.group("Large", &[]).await;
    let before = all_events(&s).await.len();
    s.meter.take();
    for round in 0..4 {
        let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members"}]});
        for body in [add_members(&members), remove] {
            let r = s.patch(&format!("/Groups/{g}"), body).await;
            assert!(r.status < 300, "{}", r.body);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..32 {
            let s = s.clone();
            tasks.spawn(async move { s.user(&format!("r{round}.{i}@example.com")).await });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }
    let refused: Vec<_> = s
        .meter
        .take()
        .calls
        .into_iter()
        .filter(|c| c.error.is_some())
        .map(|c| format!("{} {:?}", c.operation, c.error))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Each round: 40 members added, 40 removed, 32 users created — each change with its event.
    assert_eq!(all_events(&s).await.len() - before, 4 * (40 + 40 + 32));
}

#[tokio::test]
async fn parallel_requests_get_one_total_order() {
    let s = std::sync::Arc::new(Scim::start().await);
    let g = s.group("All", &[]).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let s = s.clone();
        let g = g.clone();
        tasks.spawn(async move {
            let u = s.user(&format!("p{i}@example.com")).await;
            let r = s
                .patch(
                    &format!("/Groups/{g}"),
                    add_members(std::slice::from_ref(&u)),
                )
                .await;
            assert!(r.status < 300, "{}", r.body);
            u
        });
    }
    let mut users = BTreeSet::new();
    while let Some(u) = tasks.join_next().await {
        users.insert(u.unwrap());
    }
    let events = all_events(&s).await;
    // activated + group + 30 × (created, user_added), each numbered once, in one order.
    assert_eq!(events.len(), 62);
    assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let added: BTreeSet<String> = events
        .iter()
        .filter(|e| e.event == "dsync.group.user_added")
        .map(|e| e.data["user"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(added, users);
    // Each user's created event comes before the event adding it.
    for u in &users {
        let at = |name: &str| {
            events
                .iter()
                .position(|e| {
                    e.event == name
                        && (e.data["id"] == u.as_str() || e.data["user"]["id"] == u.as_str())
                })
                .unwrap()
        };
        assert!(at("dsync.user.created") < at("dsync.group.user_added"));
    }
}

#[tokio::test]
async fn a_change_larger_than_a_transaction_is_read_whole_and_in_order() {
    let s = Scim::start().await;
    let mut users = Vec::new();
    for i in 0..120 {
        users.push(s.user(&format!("l{i}@example.com")).await);
    }
    let before = all_events(&s).await.len();
    // A create with 120 members: pending, several edge transactions, live.
    let g = s
        .group("Big", &users.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    // A PATCH adding... none new; then a PATCH removing 60 of them in one request.
    let remove: Vec<Value> = users[..60]
        .iter()
        .map(|u| json!({"op": "remove", "path": format!("members[value eq \"{u}\"]")}))
        .collect();
    let r = s
        .patch(
            &format!("/Groups/{g}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": remove}),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    let events = all_events(&s).await;
    let new = &events[before..];
    assert_eq!(new[0].event, "dsync.group.created");
    let added: Vec<&Event> = new
        .iter()
        .filter(|e| e.event == "dsync.group.user_added")
        .collect();
    let removed: Vec<&Event> = new
        .iter()
        .filter(|e| e.event == "dsync.group.user_removed")
        .collect();
    assert_eq!(added.len(), 120);
    assert_eq!(removed.len(), 60);
    assert_eq!(new.len(), 181, "{:?}", names(new));
    // All adds come before all removes; numbers only grow.
    let last_add = new
        .iter()
        .rposition(|e| e.event == "dsync.group.user_added")
        .unwrap();
    let first_remove = new
        .iter()
        .position(|e| e.event == "dsync.group.user_removed")
        .unwrap();
    assert!(last_add < first_remove);
    assert!(new.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let removed_ids: BTreeSet<&str> = removed
        .iter()
        .map(|e| e.data["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        removed_ids,
        users[..60].iter().map(String::as_str).collect()
    );
}

#[tokio::test]
async fn an_unfinished_large_change_holds_readers_back_until_it_completes() {
    use scim_lambda::local::meter::Fault;
    let s = Scim::start().await;
    let mut users = Vec::new();
    for i in 0..80 {
        users.push(s.user(&format!("h{i}@example.com")).await);
    }
    // A clean run of the same change on another group counts the calls: cut where the first
    // edge transaction (after the reservation) lands and the request dies.
    let dry = s.group("Dry", &[]).await;
    s.meter.take();
    assert!(
        s.patch(&format!("/Groups/{dry}"), add_members(&users))
            .await
            .status
            < 300
    );
    let ops = s.meter.take();
    let at = ops
        .operations()
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == "TransactWriteItems")
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    let g = s.group("Held", &[]).await;
    let seen = all_events(&s).await;
    s.meter.take();
    s.meter.inject(Fault::Crash {
        at,
        delivered: true,
    });
    let cut = s.patch(&format!("/Groups/{g}"), add_members(&users)).await;
    s.meter.clear();
    let calls = s.meter.take();
    assert!(cut.status >= 500, "{} {:?}", cut.status, calls.operations());
    assert!(
        calls
            .operations()
            .iter()
            .filter(|o| **o == "TransactWriteItems")
            .count()
            >= 2,
        "the cut must fall inside the edge transactions: {:?}",
        calls.operations()
    );
    // Some members are visible already, but none of their events: a reader never sees part of
    // the change, nor anything committed after it.
    let members = s.get(&format!("/Groups/{g}")).await.body["members"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(members > 0);
    s.user("after@example.com").await;
    assert_eq!(all_events(&s).await, seen);
    // The IdP's retry completes the change; once the cut attempt's block is stale (its writer
    // is gone for good), every event is there, each membership once.
    let r = s.patch(&format!("/Groups/{g}"), add_members(&users)).await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(
        all_events(&s).await,
        seen,
        "still held by the cut attempt's block"
    );
    s.age_event_blocks().await;
    let events = all_events(&s).await;
    let added: Vec<&str> = events
        .iter()
        .filter(|e| e.event == "dsync.group.user_added" && e.data["group"]["id"] == g.as_str())
        .map(|e| e.data["user"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(added.len(), 80);
    assert_eq!(added.iter().collect::<BTreeSet<_>>().len(), 80);
    assert!(events
        .iter()
        .any(|e| e.event == "dsync.user.created" && e.data["username"] == "after@example.com"));
    assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence));
}

#[tokio::test]
async fn the_events_api_pages_filters_and_replays_from_any_point() {
    let s = Scim::start().await;
    for i in 0..25 {
        s.user(&format!("e{i}@example.com")).await;
    }
    let store = s.app.store();
    // Pages of 10 from 0 cover everything once.
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let page = store.events(&s.directory, after, 10, &[]).await.unwrap();
        seen.extend(page.data.iter().map(|e| e.sequence));
        after = page.after;
        if !page.has_more {
            break;
        }
    }
    let all = store.events(&s.directory, 0, 100, &[]).await.unwrap().data;
    let numbers: Vec<u64> = all.iter().map(|e| e.sequence).collect();
    assert_eq!(all.len(), 26);
    assert_eq!(seen, numbers);
    // From any point: the same events as the full read.
    let tail = store
        .events(&s.directory, numbers[19], 100, &[])
        .await
        .unwrap()
        .data;
    assert_eq!(tail, all[20..]);
    // By type: the cursor moves past what the filter left out.
    let only = store
        .events(&s.directory, 0, 100, &["dsync.activated".to_string()])
        .await
        .unwrap();
    assert_eq!(names(&only.data), ["dsync.activated"]);
    assert!(only.after >= numbers[25]);
    assert!(!only.has_more);
}

/// The directory's open event blocks, as stored.
async fn blocks(s: &Scim) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let store = s.app.store();
    store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :b)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("DIR#{}", s.directory)))
        .expression_attribute_values(":b", AttributeValue::S("EVX#BLOCK#".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default()
}

/// What `count` large changes cut short long ago leave behind: numbers reserved, never used, and
/// their blocks, stale (blocks written before they had a TTL).
async fn leave_dead_blocks(s: &Scim, count: u64) {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let store = s.app.store();
    let pk = format!("DIR#{}", s.directory);
    let from = store.sequence(&s.directory).await.unwrap() + 1;
    s.update_item("EVX#SEQ")
        .update_expression("ADD seq :k")
        .expression_attribute_values(":k", AttributeValue::N(count.to_string()))
        .send()
        .await
        .unwrap();
    let puts: Vec<WriteRequest> = (from..from + count)
        .map(|first| {
            let n = |v: u64| AttributeValue::N(v.to_string());
            let item = PutRequest::builder()
                .item("pk", AttributeValue::S(pk.clone()))
                .item(
                    "sk",
                    AttributeValue::S(scim_lambda::store::keys::event_block_sk(first)),
                )
                .item("first", n(first))
                .item("last", n(first))
                .item("since_ms", n(0))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(item).build()
        })
        .collect();
    for chunk in puts.chunks(25) {
        store
            .client()
            .batch_write_item()
            .request_items(store.table(), chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_thousand_and_one_dead_blocks_never_let_a_reader_pass_a_live_one() {
    use scim_lambda::local::meter::Fault;
    let s = Scim::start().await;
    let mut users = Vec::new();
    for i in 0..80 {
        users.push(s.user(&format!("d{i}@example.com")).await);
    }
    // A clean run of the same change on another group: where its first edge transaction lands.
    let dry = s.group("Dry", &[]).await;
    s.meter.take();
    assert!(
        s.patch(&format!("/Groups/{dry}"), add_members(&users))
            .await
            .status
            < 300
    );
    let at = s
        .meter
        .take()
        .operations()
        .iter()
        .enumerate()
        .filter(|(_, o)| **o == "TransactWriteItems")
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap();
    let g = s.group("Held", &[]).await;
    // Throttling and timeouts cut 1,001 large member changes short, long ago.
    leave_dead_blocks(&s, 1_001).await;
    let store = s.app.store();
    let cursor = store.events(&s.directory, 0, 100_000, &[]).await.unwrap();
    assert!(!cursor.has_more);
    let cursor = cursor.after;

    // A large change is under way now: its block is fresh, part of its edges and events are in.
    s.meter.take();
    s.meter.inject(Fault::Crash {
        at,
        delivered: true,
    });
    let cut = s.patch(&format!("/Groups/{g}"), add_members(&users)).await;
    s.meter.clear();
    assert!(cut.status >= 500, "{}", cut.status);
    s.user("after@example.com").await;

    // The reader stops below the live block, behind the 1,001 dead ones: nothing of the change,
    // nor what committed after it, and its cursor does not move past the block.
    let page = store
        .events(&s.directory, cursor, 100_000, &[])
        .await
        .unwrap();
    assert_eq!(names(&page.data), Vec::<&str>::new());
    // The reads retired the dead blocks they passed; the live block stays, with its TTL.
    let open = blocks(&s).await;
    assert_eq!(open.len(), 1, "only the live block is left");
    let num = |k: &str| -> u64 { open[0][k].as_n().unwrap().parse().unwrap() };
    // (The cursor may move into the unused numbers a block leaves below itself, never into it.)
    assert!(page.after >= cursor && page.after < num("first"));
    assert!(num("ttl") >= num("since_ms") / 1000 + outbox::BLOCK_TTL_SECS);
    assert!(s.check().await.problems.is_empty());

    // When the live block is stale, the reader reads on from its cursor and skips nothing.
    s.age_event_blocks().await;
    let page = store
        .events(&s.directory, cursor, 100_000, &[])
        .await
        .unwrap();
    assert!(page
        .data
        .iter()
        .any(|e| e.event == "dsync.group.user_added" && e.data["group"]["id"] == g.as_str()));
    assert!(page
        .data
        .iter()
        .any(|e| e.event == "dsync.user.created" && e.data["username"] == "after@example.com"));
    assert!(page.data.windows(2).all(|w| w[0].sequence < w[1].sequence));
    assert!(
        blocks(&s).await.is_empty(),
        "the reader retired the stale block"
    );
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The Events API over HTTP, as the application reads it.
async fn events_api(s: &Scim, after: u64) -> (Value, usize) {
    let r = s
        .manage(
            "GET",
            &format!(
                "/directories/{}/events?after={after}&limit=100",
                s.directory
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let size = r.body.to_string().len();
    (r.body, size)
}

#[tokio::test]
async fn a_user_with_a_230_kb_attribute_is_updated_and_its_event_says_what_it_left_out() {
    let s = Scim::start().await;
    let user = |department: String| {
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": "ada@example.com", ENTERPRISE: {"department": department}})
    };
    let created = s.post("/Users", user("R&D".into())).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    // The IdP sends the whole user with a 230 KB attribute (the resource fits its 256 KiB cap)...
    let r = s
        .put(&format!("/Users/{id}"), user("a".repeat(230_000)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ...and changes it again by PATCH.
    let r = s
        .patch(
            &format!("/Users/{id}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": format!("{ENTERPRISE}:department"),
                    "value": "b".repeat(230_000)}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored = s.get(&format!("/Users/{id}")).await.body;
    assert_eq!(
        stored[ENTERPRISE]["department"].as_str().unwrap().len(),
        230_000
    );

    let (page, _) = events_api(&s, 0).await;
    let updates: Vec<&Value> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "dsync.user.updated")
        .collect();
    assert_eq!(updates.len(), 2);
    for e in updates {
        assert!(e.to_string().len() <= events::MAX_EVENT_BYTES);
        let d = &e["data"];
        assert_eq!(d["id"], id.as_str());
        assert_eq!(d["username"], "ada@example.com");
        assert_eq!(d["raw_attributes_omitted"], true);
        assert_eq!(d["custom_attributes_omitted"], true);
        assert_eq!(d["previous_attributes"]["raw_attributes_omitted"], true);
    }
    // The full value is one management API call away.
    let full = s
        .manage(
            "GET",
            &format!("/directories/{}/users/{id}", s.directory),
            None,
        )
        .await;
    assert_eq!(full.status, 200, "{}", full.body);
    assert_eq!(
        full.body["custom_attributes"]["department"]
            .as_str()
            .unwrap()
            .len(),
        230_000
    );
}

#[tokio::test]
async fn an_events_api_page_of_large_events_fits_a_lambda_response() {
    let s = Scim::start().await;
    for i in 0..20 {
        let r = s
            .post(
                "/Users",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                    "userName": format!("big{i}@example.com"),
                    ENTERPRISE: {"department": "d".repeat(95_000)}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Lambda answers at most 6 MB, and API Gateway's `body` is the page as an escaped string.
    let (mut after, mut seen) = (0, 0);
    loop {
        let (page, size) = events_api(&s, after).await;
        assert!(size <= 3_000_000, "a page of {size} bytes");
        seen += page["data"].as_array().unwrap().len();
        after = page["after"].as_u64().unwrap();
        if page["has_more"] != true {
            break;
        }
    }
    assert_eq!(seen, 21, "activated and 20 created, each once");
}

/// The two readers of events in AWS — the management API's Events API and the webhook
/// deliverer — retire the dead blocks they pass (so their roles need BatchWriteItem; the IAM
/// test holds them to it).
#[tokio::test]
async fn the_events_api_and_the_webhook_deliverer_retire_dead_blocks() {
    use scim_lambda::service::webhooks::{target::UrlPolicy, Deliverer};
    let s = Scim::start().await;
    s.user("a@example.com").await;
    leave_dead_blocks(&s, 30).await;
    let r = s
        .manage(
            "GET",
            &format!("/directories/{}/events?after=0", s.directory),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(blocks(&s).await.is_empty(), "the Events API retired them");

    let r = s
        .manage(
            "PUT",
            &format!("/directories/{}/webhook", s.directory),
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    leave_dead_blocks(&s, 30).await;
    let deliverer = Deliverer::new(s.app.store().clone(), UrlPolicy::Local).unwrap();
    // Nothing listens on port 9: the delivery fails, after reading (and tidying) the events.
    let _ = deliverer.deliver(&s.directory).await;
    assert!(blocks(&s).await.is_empty(), "the deliverer retired them");
}

/// A reader that dies at any of its DynamoDB calls — the shard read, a lagging shard's move (its
/// write lost, or landed with its answer lost), the block or event Query — leaves nothing a
/// later reader or writer trips on: the next read lists every event once and in order, and a
/// consumer that had read up to some number gets the next write's event and nothing twice.
#[tokio::test]
async fn a_reader_cut_at_each_of_its_calls_never_makes_a_later_read_skip_or_repeat() {
    use scim_lambda::local::meter::Fault;
    // Shards diverge after writes: the reader moves the lagging ones up (several calls).
    async fn arranged() -> (Scim, u64) {
        let s = Scim::start().await;
        s.user("first@example.com").await;
        let seen = all_events(&s).await.last().unwrap().sequence;
        for i in 0..6 {
            s.user(&format!("r{i}@example.com")).await;
        }
        (s, seen)
    }
    let (s, seen) = arranged().await;
    s.meter.take();
    let clean = s
        .app
        .store()
        .events(&s.directory, seen, 100, &[])
        .await
        .unwrap();
    let calls = s.meter.take();
    assert_eq!(clean.data.len(), 6);
    let mut outcomes = Vec::new();
    for at in 1..=calls.round_trips() {
        for delivered in [false, true] {
            let (s, seen) = arranged().await;
            s.meter.inject(Fault::Crash { at, delivered });
            let cut = s.app.store().events(&s.directory, seen, 100, &[]).await;
            s.meter.clear();
            outcomes.push(format!("cut at {at} ({delivered}): {}", cut.is_ok()));
            // The next read: the six users' events, once, in order.
            let page = s
                .app
                .store()
                .events(&s.directory, seen, 100, &[])
                .await
                .unwrap();
            let numbers: Vec<u64> = page.data.iter().map(|e| e.sequence).collect();
            assert_eq!(numbers.len(), 6, "cut at {at} ({delivered}): {numbers:?}");
            assert!(numbers.windows(2).all(|w| w[0] < w[1]));
            // A consumer at the end of that page gets the next write's event, and only it.
            s.user("next@example.com").await;
            let next = s
                .app
                .store()
                .events(&s.directory, page.after, 100, &[])
                .await
                .unwrap();
            assert_eq!(names(&next.data), ["dsync.user.created"], "cut at {at}");
            assert!(next.data[0].sequence > page.after);
        }
    }
    println!(
        "an events read: {} calls {:?}; {}",
        calls.round_trips(),
        calls.operations(),
        outcomes.join(", ")
    );
}
