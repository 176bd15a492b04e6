//! The meter's DynamoDB model (issue 21): each call waits a latency, and calls in flight at once
//! conflict as DynamoDB's "Transaction conflict handling" says they do — which the emulator, one
//! transaction at a time, never shows. A long latency keeps the first call in flight while the
//! second arrives; each test waits until the meter holds the first call's items, so outcomes do
//! not depend on timing.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use scim_lambda::local::meter::{DynamoModel, Meter};
use serde_json::json;

use crate::support::{local, Local, Scim};

/// Long enough that the second call always arrives while the first is held.
const HOLD: Duration = Duration::from_millis(400);

async fn modelled(latency: Duration) -> Local {
    let l = local().await;
    l.meter.set_model(Some(DynamoModel::with_latency(latency)));
    l
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn put(table: &str, pk: &str, value: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .item("pk", s(pk))
        .item("sk", s("MODEL"))
        .item("value", s(value))
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

/// Sends a TransactWriteItems of `items` on its own task.
fn transact(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> tokio::task::JoinHandle<Result<(), Vec<String>>> {
    let client = client.clone();
    tokio::spawn(async move {
        match client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match e.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(c) => Err(c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("").to_string())
                    .collect()),
                other => panic!("not a cancellation: {other:?}"),
            },
        }
    })
}

/// Waits until calls in flight hold `n` items.
async fn in_flight(meter: &Meter, n: usize) {
    for _ in 0..5_000 {
        if meter.items_in_flight() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never {n} items in flight");
}

async fn value_of(l: &Local, pk: &str) -> Option<String> {
    l.store
        .client()
        .get_item()
        .table_name(l.store.table())
        .key("pk", s(pk))
        .key("sk", s("MODEL"))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .and_then(|i| i.get("value").and_then(|v| v.as_s().ok()).cloned())
}

#[tokio::test]
async fn a_transaction_on_an_item_another_holds_is_cancelled_at_that_item_only() {
    let l = modelled(HOLD).await;
    let (c, t) = (l.store.client(), l.store.table());
    let first = transact(c, vec![put(t, "shared", "first")]);
    in_flight(&l.meter, 1).await;
    let second = transact(c, vec![put(t, "own", "second"), put(t, "shared", "second")]);
    assert_eq!(
        second.await.unwrap(),
        Err(vec!["None".to_string(), "TransactionConflict".to_string()])
    );
    assert_eq!(first.await.unwrap(), Ok(()));
    assert_eq!(value_of(&l, "shared").await.as_deref(), Some("first"));
    assert_eq!(
        value_of(&l, "own").await,
        None,
        "a cancelled transaction writes nothing"
    );
}

#[tokio::test]
async fn transactions_on_disjoint_items_in_flight_together_both_commit() {
    let l = modelled(HOLD).await;
    let (c, t) = (l.store.client(), l.store.table());
    let first = transact(c, vec![put(t, "a", "1"), put(t, "b", "1")]);
    in_flight(&l.meter, 2).await;
    let second = transact(c, vec![put(t, "c", "2")]);
    in_flight(&l.meter, 3).await;
    assert_eq!(first.await.unwrap(), Ok(()));
    assert_eq!(second.await.unwrap(), Ok(()));
    assert_eq!(value_of(&l, "c").await.as_deref(), Some("2"));
    assert_eq!(l.meter.items_in_flight(), 0, "answered calls hold nothing");
}

#[tokio::test]
async fn a_put_on_an_item_a_transaction_holds_is_refused_until_it_commits() {
    let l = modelled(HOLD).await;
    let (c, t) = (l.store.client(), l.store.table());
    let put_item = |value: &str| {
        c.put_item()
            .table_name(t)
            .item("pk", s("shared"))
            .item("sk", s("MODEL"))
            .item("value", s(value))
            .send()
    };
    let tx = transact(c, vec![put(t, "shared", "transaction")]);
    in_flight(&l.meter, 1).await;
    let refused = put_item("put").await.unwrap_err().into_service_error();
    assert!(
        matches!(refused, PutItemError::TransactionConflictException(_)),
        "{refused:?}"
    );
    assert_eq!(tx.await.unwrap(), Ok(()));
    put_item("put again").await.unwrap();
    assert_eq!(value_of(&l, "shared").await.as_deref(), Some("put again"));
}

#[tokio::test]
async fn a_transaction_on_an_item_a_put_is_writing_is_cancelled() {
    let l = modelled(HOLD).await;
    let (c, t) = (l.store.client(), l.store.table());
    let writing = {
        let (c, t) = (c.clone(), t.to_string());
        tokio::spawn(async move {
            c.put_item()
                .table_name(t)
                .item("pk", s("shared"))
                .item("sk", s("MODEL"))
                .item("value", s("put"))
                .send()
                .await
        })
    };
    in_flight(&l.meter, 1).await;
    let tx = transact(c, vec![put(t, "shared", "transaction")]);
    assert_eq!(
        tx.await.unwrap(),
        Err(vec!["TransactionConflict".to_string()])
    );
    writing.await.unwrap().unwrap();
    assert_eq!(value_of(&l, "shared").await.as_deref(), Some("put"));
}

#[tokio::test]
async fn every_call_waits_the_latency_and_a_transaction_waits_it_twice() {
    let latency = Duration::from_millis(7);
    let l = modelled(latency).await;
    let (c, t) = (l.store.client(), l.store.table());
    l.meter.take();
    transact(c, vec![put(t, "a", "1")]).await.unwrap().unwrap();
    value_of(&l, "a").await;
    let delays: Vec<(String, Duration)> = l
        .meter
        .take()
        .calls
        .into_iter()
        .map(|c| (c.operation, c.delay))
        .collect();
    assert_eq!(
        delays,
        [
            ("TransactWriteItems".to_string(), latency * 2),
            ("GetItem".to_string(), latency)
        ]
    );
    l.meter.set_model(None);
    value_of(&l, "a").await;
    assert_eq!(l.meter.take().calls[0].delay, Duration::ZERO);
}

#[tokio::test]
async fn parallel_member_adds_on_the_model_all_land_through_the_conflicts() {
    let scim = Arc::new(Scim::start().await);
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(scim.user(&format!("m{i}@example.com")).await);
    }
    let g = scim.group("contended", &[]).await;
    scim.meter.set_model(Some(DynamoModel::default()));
    scim.meter.take();
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let (scim, path) = (Arc::clone(&scim), scim.v2(&format!("/Groups/{g}")));
        tasks.spawn(async move {
            let add = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
            scim.send("PATCH", &path, Some(add)).await.status
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 204);
    }
    let conflicts = scim
        .meter
        .take()
        .calls
        .iter()
        .filter(|c| c.reasons.iter().any(|r| r == "TransactionConflict"))
        .count();
    assert!(
        conflicts > 0,
        "eight writers of one directory at once conflict"
    );
    scim.meter.set_model(None);
    let group = scim.get(&format!("/Groups/{g}")).await.body;
    assert_eq!(group["members"].as_array().map_or(0, Vec::len), ids.len());
}
