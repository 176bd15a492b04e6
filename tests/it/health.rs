//! Directory health, as the SaaS team reads it on `GET /manage/directories/{id}` (and
//! `scimctl directory show`): how many users, groups and memberships the directory holds, how
//! its IdP's requests went over the last hour and day, and how far its webhook deliveries lag.
//! Counts come from exact counters; request counts from the request log's hourly aggregates,
//! which these tests write themselves (as the request-log writer does).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use scim_lambda::clock;
use scim_lambda::store::keys;
use scim_lambda::store::request_stats::{
    hour_of, C2XX, C4XX, C5XX, LAST_FAILURE_AT, LAST_SUCCESS_AT,
};

use crate::support::Scim;

async fn shown(s: &Scim) -> Value {
    let r = s
        .manage("GET", &format!("/directories/{}", s.directory), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn patch(op: &str, path: &str, value: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": op, "path": path, "value": value}]})
}

fn members(ids: &[String]) -> Value {
    Value::Array(ids.iter().map(|u| json!({"value": u})).collect())
}

async fn users(s: &Scim, n: usize, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(s.user(&format!("{prefix}{i}@example.com")).await);
    }
    out
}

async fn assert_counts(s: &Scim, users: u64, groups: u64, memberships: u64) {
    let d = shown(s).await;
    assert_eq!(
        (&d["users"], &d["groups"], &d["memberships"]),
        (&json!(users), &json!(groups), &json!(memberships)),
        "{d}"
    );
    let report = s.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.memberships as u64, memberships);
}

#[tokio::test]
async fn the_counts_follow_every_member_change_an_idp_makes() {
    let s = Scim::start().await;
    let u = users(&s, 4, "m").await;
    let eng = s.group("Engineering", &[&u[0], &u[1]]).await;
    assert_counts(&s, 4, 1, 2).await;

    let r = s
        .patch(
            &format!("/Groups/{eng}"),
            patch("add", "members", members(&u[2..4])),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    // Adding a member already there changes nothing, and counts nothing.
    let r = s
        .patch(
            &format!("/Groups/{eng}"),
            patch("add", "members", members(&u[..1])),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    assert_counts(&s, 4, 1, 4).await;

    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", u[3])}]});
    assert!(s.patch(&format!("/Groups/{eng}"), remove).await.status < 300);
    assert_counts(&s, 4, 1, 3).await;

    // A PUT replacing the member list, a user deleted while in the group, a group deleted.
    let ops = s.group("Ops", &[&u[0]]).await;
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Ops", "members": members(&u[1..3])});
    assert_eq!(s.put(&format!("/Groups/{ops}"), put).await.status, 200);
    assert_counts(&s, 4, 2, 5).await;
    assert_eq!(s.delete(&format!("/Users/{}", u[1])).await.status, 204);
    assert_counts(&s, 3, 2, 3).await;
    assert_eq!(s.delete(&format!("/Groups/{eng}")).await.status, 204);
    assert_counts(&s, 3, 1, 1).await;
}

/// Member lists too large for one transaction take several: each moves the count by what it
/// wrote, and a large group's delete counts its edges out as its clean-up removes them.
#[tokio::test]
async fn large_member_changes_and_large_group_deletes_keep_the_count_exact() {
    let s = Scim::start().await;
    let u = users(&s, 120, "big").await;
    let refs: Vec<&str> = u.iter().map(String::as_str).collect();
    let big = s.group("All hands", &refs[..100]).await;
    assert_counts(&s, 120, 1, 100).await;

    let r = s
        .patch(
            &format!("/Groups/{big}"),
            patch("add", "members", members(&u[100..])),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    assert_counts(&s, 120, 1, 120).await;
    let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "All hands", "members": members(&u[..30])});
    assert_eq!(s.put(&format!("/Groups/{big}"), put).await.status, 200);
    assert_counts(&s, 120, 1, 30).await;

    let r = s
        .patch(
            &format!("/Groups/{big}"),
            patch("add", "members", members(&u)),
        )
        .await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(s.delete(&format!("/Groups/{big}")).await.status, 204);
    assert_counts(&s, 120, 0, 0).await;
}

/// A membership count that drifted (here: moved by hand; or a directory from before the count
/// existed) is found by `directory check` and set right by `--repair`.
#[tokio::test]
async fn check_finds_a_drifted_membership_count_and_repair_sets_it_right() {
    let s = Scim::start().await;
    let u = users(&s, 3, "d").await;
    s.group("Team", &[&u[0], &u[1], &u[2]]).await;
    let store = s.app.store();
    let key = HashMap::from([
        (
            "pk".to_string(),
            AttributeValue::S(keys::directory_pk(&s.directory)),
        ),
        ("sk".to_string(), AttributeValue::S(keys::counter_sk("x"))),
    ]);
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(key))
        .update_expression("ADD Memberships :n")
        .expression_attribute_values(":n", AttributeValue::N("-7".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(shown(&s).await["memberships"], 0, "never below zero");

    let found = s.check().await.problems;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, "counter_drift");
    assert!(
        found[0]
            .detail
            .contains("Memberships counted -4, recount 3"),
        "{found:?}"
    );
    let repaired = scim_lambda::service::directories::check(s.svc(), &s.directory, true)
        .await
        .unwrap();
    assert!(repaired.repaired);
    assert_counts(&s, 3, 1, 3).await;
}

/// Writes the hourly aggregate of the hour `hours_ago` before now, as the request-log writer
/// keeps it.
async fn hour_of_requests(s: &Scim, hours_ago: i64, counts: [u64; 3], last: [Option<&str>; 2]) {
    let store = s.app.store();
    let at = clock::now_millis() - hours_ago * 3_600_000;
    let mut item = HashMap::from([
        (
            "pk".to_string(),
            AttributeValue::S(keys::directory_pk(&s.directory)),
        ),
        (
            "sk".to_string(),
            AttributeValue::S(keys::request_stat_sk(&hour_of(at))),
        ),
    ]);
    for (name, n) in [C2XX, C4XX, C5XX].into_iter().zip(counts) {
        item.insert(name.into(), AttributeValue::N(n.to_string()));
    }
    for (name, t) in [LAST_SUCCESS_AT, LAST_FAILURE_AT].into_iter().zip(last) {
        if let Some(t) = t {
            item.insert(name.into(), AttributeValue::S(t.into()));
        }
    }
    store
        .client()
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn requests_and_failures_by_status_class_over_the_last_hour_and_day() {
    let s = Scim::start().await;
    let quiet = shown(&s).await["requests"].clone();
    assert_eq!(quiet["last_24_hours"]["requests"], 0, "{quiet}");
    assert_eq!(quiet["last_success_at"], Value::Null);

    hour_of_requests(&s, 0, [40, 3, 1], [Some("2026-12-05T18:40:00.000Z"), None]).await;
    hour_of_requests(&s, 1, [10, 1, 0], [None, Some("2026-12-05T17:10:00.000Z")]).await;
    hour_of_requests(
        &s,
        7,
        [100, 20, 2],
        [Some("2026-12-05T11:59:00.000Z"), None],
    )
    .await;
    // Older than a day: not counted (the aggregates expire after two days).
    hour_of_requests(
        &s,
        30,
        [999, 999, 999],
        [None, Some("2026-12-04T12:00:00.000Z")],
    )
    .await;

    let r = shown(&s).await["requests"].clone();
    let hour = &r["last_hour"];
    assert_eq!(
        [
            &hour["requests"],
            &hour["failures"],
            &hour["status_2xx"],
            &hour["status_4xx"],
            &hour["status_5xx"]
        ],
        [&json!(55), &json!(5), &json!(50), &json!(4), &json!(1)],
        "{r}"
    );
    let day = &r["last_24_hours"];
    assert_eq!(
        [
            &day["requests"],
            &day["failures"],
            &day["status_4xx"],
            &day["status_5xx"]
        ],
        [&json!(177), &json!(27), &json!(24), &json!(3)],
        "{r}"
    );
    // Each window starts at the top of an hour, said in `since`.
    let since = clock::format_rfc3339(clock::now_millis() - 3_600_000);
    assert_eq!(hour["since"], json!(format!("{}:00:00.000Z", &since[..13])));
    assert_eq!(r["last_success_at"], "2026-12-05T18:40:00.000Z");
    assert_eq!(r["last_failure_at"], "2026-12-05T17:10:00.000Z");
}

#[tokio::test]
async fn webhook_delivery_shows_how_far_behind_it_is_and_what_is_parked() {
    let s = Scim::start().await;
    s.user("first@example.com").await;
    assert!(
        shown(&s).await.get("webhook").is_none(),
        "no webhook, no section"
    );

    // A receiver that is not listening: deliveries fail, the cursor stays where it started.
    let r = s
        .manage(
            "PUT",
            &format!("/directories/{}/webhook", s.directory),
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hook = shown(&s).await["webhook"].clone();
    let start = hook["delivered_up_to"].as_u64().unwrap();
    assert_eq!(hook["latest_sequence"], start, "{hook}");
    assert_eq!(
        (&hook["lag_events"], &hook["lag_seconds"]),
        (&json!(0), &json!(0))
    );
    assert_eq!(hook["oldest_undelivered_at"], Value::Null);

    let before = clock::now_rfc3339();
    s.user("second@example.com").await;
    s.user("third@example.com").await;
    let store = s.app.store();
    let parked = AttributeValue::L(vec![AttributeValue::M(HashMap::from([
        ("sequence".to_string(), AttributeValue::N("1".into())),
        ("event_id".to_string(), AttributeValue::S("event_1".into())),
        ("error".to_string(), AttributeValue::S("HTTP 413".into())),
        ("parked_at".to_string(), AttributeValue::S(before.clone())),
    ]))]);
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(HashMap::from([
            (
                "pk".to_string(),
                AttributeValue::S(keys::directory_pk(&s.directory)),
            ),
            (
                "sk".to_string(),
                AttributeValue::S(keys::webhook_state_sk().into()),
            ),
        ])))
        .update_expression("SET parked = :p")
        .expression_attribute_values(":p", parked)
        .send()
        .await
        .unwrap();

    let hook = shown(&s).await["webhook"].clone();
    assert_eq!(hook["url"], "http://127.0.0.1:9/hook");
    assert_eq!(hook["delivered_up_to"], start, "{hook}");
    assert!(hook["latest_sequence"].as_u64().unwrap() > start, "{hook}");
    assert_eq!(hook["lag_events"], 2);
    let oldest = hook["oldest_undelivered_at"].as_str().unwrap();
    assert!(oldest >= before.as_str(), "{oldest} vs {before}");
    assert!(hook["lag_seconds"].as_u64().unwrap() < 60, "{hook}");
    assert_eq!(hook["parked_events"], 1);
    assert_eq!(hook["disabled"], false);
}

/// Showing a directory reads a fixed handful of items side by side, however large it is.
#[tokio::test]
async fn showing_a_directory_costs_seven_reads_in_parallel() {
    let s = Scim::start().await;
    let u = users(&s, 30, "c").await;
    let refs: Vec<&str> = u.iter().map(String::as_str).collect();
    s.group("Everyone", &refs).await;
    s.meter.take();
    let d = shown(&s).await;
    let usage = s.meter.take();
    assert_eq!(d["memberships"], 30);
    assert_eq!(usage.round_trips(), 7, "{usage}");
    assert_eq!(usage.items_written(), 0, "{usage}");
}
