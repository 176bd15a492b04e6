//! Work per request is bounded whatever the directory's size (issue 9 item 1): against a directory
//! seeded past every budget, each request reads at most its budget of items (counted by the
//! meter), cursor paging hands out short pages instead, and what cannot be bounded is a 400
//! `tooMany` that says what to ask instead.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use scim_lambda::clock;
use scim_lambda::scim::resource::{self, Meta};
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::listing::{READ_BUDGET, SKIP_BUDGET};
use scim_lambda::service::references::MAX_INLINE_REFERENCES;
use scim_lambda::store::{keys, Record};
use serde_json::{json, Value};

use crate::support::Scim;

/// `n` users straight into the store; every 100th has familyName "Match".
async fn seed_users(s: &Scim, n: usize) -> Vec<String> {
    let now = clock::now_rfc3339();
    let meta = Meta {
        created: now.clone(),
        last_modified: now,
        version: 1,
    };
    let records: Vec<Record> = (0..n)
        .map(|i| {
            let family = if i % 100 == 0 { "Match" } else { "Other" };
            let body = json!({"userName": format!("seed{i:06}@x.com"),
                "name": {"givenName": "S", "familyName": family}});
            let body = resource::incoming(ResourceKind::User, &body).unwrap().body;
            Record::new(uuid::Uuid::now_v7().to_string(), body, meta.clone())
        })
        .collect();
    for chunk in records.chunks(1_000) {
        s.app
            .store()
            .bulk_load(&s.directory, ResourceKind::User, chunk)
            .await
            .unwrap();
    }
    records.into_iter().map(|r| r.id).collect()
}

/// Membership edge pairs straight into the store.
async fn seed_members(s: &Scim, group: &str, users: &[String]) {
    let store = s.app.store();
    let pk = keys::directory_pk(&s.directory);
    let item = |sk: String| {
        let put = PutRequest::builder()
            .item("pk", AttributeValue::S(pk.clone()))
            .item("sk", AttributeValue::S(sk))
            .build()
            .unwrap();
        WriteRequest::builder().put_request(put).build()
    };
    let writes: Vec<WriteRequest> = users
        .iter()
        .flat_map(|u| {
            [
                item(keys::member_sk(group, u)),
                item(keys::member_of_sk(u, group)),
            ]
        })
        .collect();
    for chunk in writes.chunks(25) {
        store
            .client()
            .batch_write_item()
            .request_items(store.table(), chunk.to_vec())
            .send()
            .await
            .unwrap();
    }
}

fn too_many(r: &crate::support::Reply) {
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "tooMany", "{}", r.body);
}

#[tokio::test]
async fn lists_filters_sorts_and_searches_read_at_most_their_budget() {
    let s = Scim::start().await;
    let n = SKIP_BUDGET + 500;
    seed_users(&s, n).await;
    let unindexed = "/Users?filter=name.familyName%20eq%20%22Match%22";

    // Index paging over an unindexed filter cannot count past the budget: 400, budget read.
    s.meter.take();
    too_many(&s.get(unindexed).await);
    let u = s.meter.take();
    let read = u.items_read();
    // (The directory's first request also activates it: that event reads the sequence shards.)
    let activation = scim_lambda::store::outbox::SHARDS as u64;
    assert!(
        read <= READ_BUDGET as u64 + 10 + activation,
        "read {read} {u}"
    );

    // Cursor paging walks it in pages that each stay within the budget, and finds every match.
    let mut found = 0;
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        s.meter.take();
        let r = s
            .get(&format!("{unindexed}&count=100&cursor={cursor}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let read = s.meter.take().items_read();
        assert!(read <= READ_BUDGET as u64 + 10, "page {pages} read {read}");
        found += r.body["Resources"].as_array().map_or(0, Vec::len);
        pages += 1;
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(found, n.div_ceil(100));
    assert!(pages > 1);

    // Sorting, a root search and a deep startIndex without its anchor are bounded too.
    s.meter.take();
    too_many(&s.get("/Users?sortBy=userName&count=10").await);
    too_many(&s.post("/.search", json!({})).await);
    let deep = s
        .get(&format!("/Users?startIndex={}&count=10", n - 100))
        .await;
    too_many(&deep);
    assert!(deep.body["detail"].as_str().unwrap().contains("cursor"));
    let read = s.meter.take().items_read();
    assert!(read <= 2 * READ_BUDGET as u64 + 20, "read {read}");

    // What stays cheap stays allowed: the first page, an indexed lookup, a cursor walk.
    assert_eq!(
        s.get("/Users?count=10").await.body["totalResults"],
        json!(n)
    );
    let r = s
        .get("/Users?filter=userName%20eq%20%22seed000042@x.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 1);
}

#[tokio::test]
async fn a_page_of_groups_reads_a_bounded_number_of_memberships() {
    let s = Scim::start().await;
    // Only the edges matter to the budget: they are seeded without user items behind them.
    let users: Vec<String> = (0..MAX_INLINE_REFERENCES + 100)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let g = s.group("everyone", &[]).await;
    seed_members(&s, &g, &users).await;
    let real = s.user("real@x.com").await;
    s.group("small", &[&real]).await;

    s.meter.take();
    let r = s.get("/Groups?count=10").await;
    too_many(&r);
    let read = s.meter.take().items_read();
    assert!(read <= MAX_INLINE_REFERENCES as u64 + 100, "read {read}");
    let r = s.get("/Groups?count=10&excludedAttributes=members").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 2);
    // A member change to the big group still works, and answers without listing it.
    let add: Value = json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", users[5])}]});
    assert_eq!(s.patch(&format!("/Groups/{g}"), add).await.status, 204);
}
