//! Transactions with their failure reasons mapped back to meaning, and the retry policy of writes.
//!
//! Each item added to a `Tx` carries a `Role`; when DynamoDB cancels the transaction, the
//! cancellation reason at that item's index says which condition failed (userName taken → 409,
//! version moved → retry or 412, member missing → 400). Cancellations for `TransactionConflict`
//! (another transaction touching an item) and for throttling are retried with jittered backoff
//! until the request's deadline (`deadline.rs`); past it the write fails as `Unavailable` (503).
//! A cancelled transaction wrote nothing, so a retry or a give-up never leaves half a write.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::{deadline, Item, Store, StoreError};

/// DynamoDB's limit on items in one TransactWriteItems call.
pub const MAX_TX_ITEMS: usize = 100;

#[derive(Debug, Clone)]
pub(crate) enum Role {
    /// The resource item: its condition is existence/version.
    Resource,
    /// A uniqueness guard: its condition failing means the value is taken.
    Guard(String),
    /// A user that must exist (and not be being deleted) to become a member.
    Member(String),
    /// A membership edge that must be absent (add) or present (remove): the user's id.
    Edge(String),
    /// The directory's event sequence (`outbox.rs`): another writer took the numbers read.
    Sequence,
    /// A user item whose resolved roles this transaction moves (`roles.rs`): its edge sequence
    /// moved since its groups were listed.
    Roles(String),
    /// A check that the directory's settings are still the version a write used
    /// (`settings.rs`).
    Settings,
    /// Anything else (index items, edges, counters): conditions never expected to fail.
    Other,
}

/// A condition or update expression with its placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expr {
    text: String,
    names: HashMap<String, String>,
    values: Item,
}

impl Expr {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Expr {
            text: text.into(),
            ..Expr::default()
        }
    }
    pub(crate) fn value(
        mut self,
        placeholder: &str,
        v: aws_sdk_dynamodb::types::AttributeValue,
    ) -> Self {
        self.values.insert(placeholder.into(), v);
        self
    }
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
    pub(crate) fn with_text(mut self, text: String) -> Self {
        self.text = text;
        self
    }
    pub(crate) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.insert(placeholder.into(), attribute.into());
        self
    }
    /// A lone condition's text and placeholders, each `None` when absent.
    #[allow(clippy::type_complexity)]
    fn parts(
        cond: Option<Expr>,
    ) -> (
        Option<String>,
        Option<HashMap<String, String>>,
        Option<Item>,
    ) {
        match cond {
            Some(c) => {
                let (names, values) = Expr::merged(&c, None);
                (Some(c.text), names, values)
            }
            None => (None, None, None),
        }
    }
    /// Both expressions' placeholders, for an item with an update and a condition.
    fn merged(a: &Expr, b: Option<&Expr>) -> (Option<HashMap<String, String>>, Option<Item>) {
        let mut names = a.names.clone();
        let mut values = a.values.clone();
        if let Some(b) = b {
            names.extend(b.names.clone());
            values.extend(b.values.clone());
        }
        (
            (!names.is_empty()).then_some(names),
            (!values.is_empty()).then_some(values),
        )
    }
}

/// Items a transaction adds when it commits, numbered from a value read at each attempt: the
/// directory's event sequence and its events (`outbox.rs`, which implements it; this module
/// knows nothing of events).
pub(crate) trait Numbering: std::any::Any + Send + Sync {
    /// Items `stamp` adds.
    fn items(&self) -> usize;
    /// Events `stamp` numbers: they take the numbers from `current + 1` on.
    fn events(&self) -> u64;
    /// The value the numbers follow, read fresh for each attempt.
    fn read<'a>(
        &'a self,
        store: &'a Store,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, StoreError>> + Send + 'a>>;
    /// Adds the items numbered after `current` (one with `Role::Sequence` guards the numbers).
    fn stamp(&self, store: &Store, tx: &mut Tx, current: u64) -> Result<(), StoreError>;
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}

pub struct Tx {
    table: String,
    items: Vec<TransactWriteItem>,
    roles: Vec<Role>,
    /// What is numbered at commit.
    numbering: Option<Box<dyn Numbering>>,
    /// Numbers of events put at numbers reserved earlier (`emit_at`).
    placed: Vec<u64>,
}

impl Tx {
    pub(crate) fn new(store: &Store) -> Self {
        Tx {
            table: store.table.clone(),
            items: Vec::new(),
            roles: Vec::new(),
            numbering: None,
            placed: Vec::new(),
        }
    }

    /// Items this transaction will write, counting what is numbered at commit.
    pub(crate) fn len(&self) -> usize {
        self.items.len() + self.numbering.as_ref().map_or(0, |n| n.items())
    }

    /// The numbering of type `N`, made by `make` the first time.
    pub(crate) fn numbering<N: Numbering>(&mut self, make: impl FnOnce() -> N) -> &mut N {
        let n = self.numbering.get_or_insert_with(|| Box::new(make()));
        n.as_any_mut()
            .downcast_mut::<N>()
            .expect("one kind of numbering per transaction")
    }

    /// Notes that this transaction writes the event numbered `seq` (`committed.rs`).
    pub(crate) fn places_event(&mut self, seq: u64) {
        self.placed.push(seq);
    }

    fn push(&mut self, item: TransactWriteItem, role: Role) {
        self.items.push(item);
        self.roles.push(role);
    }

    pub(crate) fn put(
        &mut self,
        item: Item,
        cond: Option<Expr>,
        role: Role,
    ) -> Result<(), StoreError> {
        let (text, names, values) = Expr::parts(cond);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(text)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(StoreError::Request)?;
        self.push(TransactWriteItem::builder().put(put).build(), role);
        Ok(())
    }

    pub(crate) fn delete(
        &mut self,
        key: Item,
        cond: Option<Expr>,
        role: Role,
    ) -> Result<(), StoreError> {
        let (text, names, values) = Expr::parts(cond);
        let del = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .set_condition_expression(text)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(StoreError::Request)?;
        self.push(TransactWriteItem::builder().delete(del).build(), role);
        Ok(())
    }

    pub(crate) fn update(
        &mut self,
        key: Item,
        update: Expr,
        cond: Option<Expr>,
        role: Role,
    ) -> Result<(), StoreError> {
        let (names, values) = Expr::merged(&update, cond.as_ref());
        let upd = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update.text)
            .set_condition_expression(cond.map(|c| c.text))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .build()
            .map_err(StoreError::Request)?;
        self.push(TransactWriteItem::builder().update(upd).build(), role);
        Ok(())
    }

    /// Runs the transaction, retrying conflicts and throttling until the deadline; a failed
    /// condition becomes the error its item's role stands for.
    pub(crate) async fn commit(self, store: &Store) -> Result<(), StoreError> {
        self.commit_numbered(store).await.map(|_| ())
    }

    /// As `commit`; returns the first sequence number this transaction took, if it emitted or
    /// reserved events. Losing the numbers read to another writer re-reads them and retries.
    pub(crate) async fn commit_numbered(
        mut self,
        store: &Store,
    ) -> Result<Option<u64>, StoreError> {
        if self.items.is_empty() && self.numbering.is_none() {
            return Ok(None);
        }
        let own = self.items.len();
        let numbering = self.numbering.take();
        let mut attempt = 0u32;
        loop {
            self.items.truncate(own);
            self.roles.truncate(own);
            let first = match &numbering {
                Some(n) => {
                    let current = n.read(store).await?;
                    n.stamp(store, &mut self, current)?;
                    Some(current + 1)
                }
                None => None,
            };
            let result = store
                .client
                .transact_write_items()
                .set_transact_items(Some(self.items.clone()))
                .send()
                .await;
            match result {
                Ok(_) => {
                    let numbered = match (&numbering, first) {
                        (Some(n), Some(first)) => first..first + n.events(),
                        _ => 0..0,
                    };
                    super::committed::note(numbered.chain(self.placed.iter().copied()));
                    return Ok(first);
                }
                Err(err) => cancellation_meaning(&self.roles, err)?,
            }
            // Only a transient cancellation gets here.
            deadline::retry(
                &mut attempt,
                "a transaction kept conflicting or being throttled",
            )
            .await?;
        }
    }
}

/// What a failed TransactWriteItems call means. `Ok` when every reason is transient (a
/// conflict, throttling, a sequence number taken by another writer): the caller retries. A
/// failed condition becomes the error its item's role stands for; a failure that is not a
/// cancellation is an SDK error.
fn cancellation_meaning(
    roles: &[Role],
    err: SdkError<TransactWriteItemsError, HttpResponse>,
) -> Result<(), StoreError> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancel)) =
        err.as_service_error()
    else {
        return Err(StoreError::sdk(err));
    };
    let mut transient = false;
    let mut missing = Vec::new();
    let mut moved = Vec::new();
    let mut roles_moved = Vec::new();
    let mut unexpected = None;
    for (i, reason) in cancel.cancellation_reasons().iter().enumerate() {
        match (reason.code(), roles.get(i)) {
            (Some("ConditionalCheckFailed"), Some(Role::Guard(what))) => {
                return Err(StoreError::Conflict(what.clone()))
            }
            (Some("ConditionalCheckFailed"), Some(Role::Member(id))) => missing.push(id.clone()),
            (Some("ConditionalCheckFailed"), Some(Role::Edge(id))) => moved.push(id.clone()),
            (Some("ConditionalCheckFailed"), Some(Role::Resource)) => {
                return Err(StoreError::VersionMismatch)
            }
            (Some("ConditionalCheckFailed"), Some(Role::Sequence)) => transient = true,
            (Some("ConditionalCheckFailed"), Some(Role::Roles(id))) => roles_moved.push(id.clone()),
            (Some("ConditionalCheckFailed"), Some(Role::Settings)) => {
                return Err(StoreError::SettingsMoved)
            }
            (Some("ConditionalCheckFailed"), _) => {
                unexpected = Some(i);
                break;
            }
            (
                Some(
                    "TransactionConflict"
                    | "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
                    | "RequestLimitExceeded",
                ),
                _,
            ) => transient = true,
            _ => {}
        }
    }
    if let Some(item) = unexpected {
        return Err(StoreError::UnexpectedCondition {
            item,
            source: Box::new(err),
        });
    }
    if !missing.is_empty() {
        return Err(StoreError::MissingMembers(missing));
    }
    if !moved.is_empty() {
        return Err(StoreError::EdgesMoved(moved));
    }
    if !roles_moved.is_empty() {
        return Err(StoreError::RolesMoved(roles_moved));
    }
    if !transient {
        return Err(StoreError::sdk(err));
    }
    Ok(())
}
