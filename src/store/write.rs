//! Transactions with their failure reasons mapped back to meaning.
//!
//! Each item added to a `Tx` carries a `Role`; when DynamoDB cancels the transaction, the
//! cancellation reason at that item's index says which condition failed (RFC-level meaning:
//! userName taken → 409, version moved → retry or 412, member missing → 400). Transaction conflicts
//! (another transaction touching the same item) are retried with backoff.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};

use super::{Item, Store, StoreError};

/// DynamoDB's limit on items in one TransactWriteItems call.
pub const MAX_TX_ITEMS: usize = 100;

#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// The resource item: its condition is existence/version.
    Resource,
    /// A uniqueness guard: its condition failing means the value is taken.
    Guard(String),
    /// A check that a member exists.
    Member(String),
    /// Anything else (index items, edges): conditions never expected to fail.
    Other,
}

#[derive(Default)]
pub struct Tx {
    items: Vec<TransactWriteItem>,
    roles: Vec<Role>,
}

impl Tx {
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn put(
        &mut self,
        store: &Store,
        item: Item,
        condition: Option<(&str, Item)>,
        role: Role,
    ) -> Result<(), StoreError> {
        let mut b = Put::builder().table_name(&store.table).set_item(Some(item));
        if let Some((expr, values)) = condition {
            b = b.condition_expression(expr);
            if !values.is_empty() {
                b = b.set_expression_attribute_values(Some(values));
            }
        }
        let put = b.build().map_err(StoreError::dynamo)?;
        self.items
            .push(TransactWriteItem::builder().put(put).build());
        self.roles.push(role);
        Ok(())
    }

    pub(crate) fn delete(
        &mut self,
        store: &Store,
        key: Item,
        condition: Option<(&str, Item)>,
        role: Role,
    ) -> Result<(), StoreError> {
        let mut b = Delete::builder()
            .table_name(&store.table)
            .set_key(Some(key));
        if let Some((expr, values)) = condition {
            b = b.condition_expression(expr);
            if !values.is_empty() {
                b = b.set_expression_attribute_values(Some(values));
            }
        }
        let del = b.build().map_err(StoreError::dynamo)?;
        self.items
            .push(TransactWriteItem::builder().delete(del).build());
        self.roles.push(role);
        Ok(())
    }

    pub(crate) fn check_exists(
        &mut self,
        store: &Store,
        key: Item,
        role: Role,
    ) -> Result<(), StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&store.table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::dynamo)?;
        self.items
            .push(TransactWriteItem::builder().condition_check(check).build());
        self.roles.push(role);
        Ok(())
    }

    /// Runs the transaction, retrying transaction conflicts; a failed condition becomes the error
    /// its item's role stands for.
    pub(crate) async fn commit(self, store: &Store) -> Result<(), StoreError> {
        if self.items.is_empty() {
            return Ok(());
        }
        let mut attempt = 0u32;
        loop {
            let result = store
                .client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
                err.as_service_error()
            else {
                return Err(StoreError::Dynamo(format!("{err:?}")));
            };
            let reasons = cancel.cancellation_reasons();
            let mut conflict = false;
            let mut missing = Vec::new();
            for (i, reason) in reasons.iter().enumerate() {
                match (reason.code(), self.roles.get(i)) {
                    (Some("ConditionalCheckFailed"), Some(Role::Guard(what))) => {
                        return Err(StoreError::Conflict(what.clone()))
                    }
                    (Some("ConditionalCheckFailed"), Some(Role::Member(id))) => {
                        missing.push(id.clone())
                    }
                    (Some("ConditionalCheckFailed"), _) => return Err(StoreError::VersionMismatch),
                    (Some("TransactionConflict"), _) => conflict = true,
                    _ => {}
                }
            }
            if !missing.is_empty() {
                return Err(StoreError::MissingMembers(missing));
            }
            if !conflict || attempt >= 6 {
                return Err(StoreError::Dynamo(format!(
                    "transaction cancelled: {cancel:?}"
                )));
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// Exponential backoff with jitter from the clock's nanoseconds (no RNG dependency needed).
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 10u64 << attempt.min(6);
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) % base)
        .unwrap_or(0);
    Duration::from_millis(base + jitter)
}
