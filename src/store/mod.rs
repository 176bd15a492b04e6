//! DynamoDB persistence: the single directory table (users, groups, memberships, index items) and
//! the tokens table. The store never sees HTTP; it takes and returns plain values (`Record`), and
//! enforces uniqueness and optimistic concurrency with conditional writes, so DynamoDB itself is the
//! arbiter when two requests race.

pub mod caller;
pub mod capacity;
pub mod check;
pub mod clients;
pub mod committed;
pub mod deadline;
pub mod deletes;
pub mod directories;
#[cfg(feature = "local")]
pub mod iam_record;
pub mod keys;
pub mod members;
mod mutate;
pub mod names;
pub mod outbox;
pub mod paging;
pub mod portal_links;
pub mod portal_sessions;
pub mod prefetch;
pub mod request_log;
pub mod request_stats;
pub mod resources;
pub(crate) mod roles;
pub mod settings;
pub mod shard_leases;
pub mod slots;
pub mod tables;
pub mod tokens;
mod tx;
pub mod webhooks;

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use serde_json::{Map, Value};

use crate::scim::resource::Meta;

pub use members::{edge_users, member_edge_key, MemberDelta};
pub use tx::Tx;

/// Environment variables every binary reads (docs/operations.md, "Configuration").
pub const ENV_TABLE: &str = "SCIM_TABLE";
pub const ENV_TOKENS_TABLE: &str = "SCIM_TOKENS_TABLE";
pub const DEFAULT_TABLE: &str = "scim-directory";
pub const DEFAULT_TOKENS_TABLE: &str = "scim-tokens";
/// Webhook registrations (their signing secrets must be readable, so they have a table of their
/// own under a key only the management and webhook roles may use; `webhooks.rs`).
pub const ENV_WEBHOOKS_TABLE: &str = "SCIM_WEBHOOKS_TABLE";
pub const DEFAULT_WEBHOOKS_TABLE: &str = "scim-webhooks";

/// An underlying error kept as a cause (an SDK error of any operation).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the store could not do what was asked. The first five are answers the service turns
/// into SCIM errors; `Unavailable` and `OutOfTime` are a 503 (retry); the rest are a 500 and
/// keep their cause for the log (`telemetry::chain`), never for the client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness guard already exists (userName taken).
    #[error("{0} is already taken")]
    Conflict(String),
    /// The item changed since it was read (version condition failed) or no longer exists.
    #[error("the resource was modified concurrently")]
    VersionMismatch,
    #[error("not found")]
    NotFound,
    /// Member ids that are not users of this directory.
    #[error("unknown members: {0:?}")]
    MissingMembers(Vec<String>),
    /// Membership edges of these users changed since the change was computed (another request
    /// added or removed them): recompute, so each change has exactly one event.
    #[error("memberships changed concurrently: {0:?}")]
    EdgesMoved(Vec<String>),
    /// These users' memberships moved since their roles were resolved: resolve again.
    #[error("roles of {0:?} moved concurrently")]
    RolesMoved(Vec<String>),
    /// The directory's settings (role map) changed since this write read them: read them again.
    #[error("the directory's settings changed concurrently")]
    SettingsMoved,
    /// Throttled, a DynamoDB server error, a lost connection or a timeout, after the SDK's own
    /// retries: nothing half-written is visible, and the same request may be sent again.
    #[error(
        "DynamoDB {operation} is unavailable (throttled, a server error or a lost connection)"
    )]
    Unavailable {
        operation: &'static str,
        #[source]
        source: Cause,
    },
    /// A retry loop of ours (conflicts, throttled batch items, a long clean-up) that the
    /// request's deadline stopped (`deadline::retry`): retrying the request goes on.
    #[error("{what} ({attempts} attempts)")]
    OutOfTime { what: &'static str, attempts: u32 },
    /// Any other failure of an SDK call: a bug or a misconfiguration (a missing table, a
    /// permission the role lacks), named by its operation; DynamoDB's message is the source.
    #[error("DynamoDB {operation} failed")]
    Sdk {
        operation: &'static str,
        #[source]
        source: Cause,
    },
    /// A transaction cancelled by the condition of an item no role explains (a bug).
    #[error("TransactWriteItems cancelled by an unexpected condition failure at item {item}")]
    UnexpectedCondition {
        item: usize,
        #[source]
        source: Cause,
    },
    /// An SDK request builder refused its input (a required field left out: a bug).
    #[error("a DynamoDB request could not be built")]
    Request(#[source] aws_sdk_dynamodb::error::BuildError),
    /// A stored item that does not have the shape this code writes.
    #[error("corrupt item {at}: {problem}")]
    Corrupt {
        at: ItemKey,
        problem: &'static str,
        #[source]
        source: Option<serde_json::Error>,
    },
    /// A value that could not be serialised for storage.
    #[error("could not serialise {what}")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The operating system gave no random bytes.
    #[error("no random bytes for {what}")]
    Entropy {
        what: &'static str,
        #[source]
        source: getrandom::Error,
    },
    /// A task that ran part of the work (parallel reads or batch writes) panicked or was
    /// cancelled.
    #[error("a store task failed")]
    Task(#[source] tokio::task::JoinError),
    /// A broken invariant of this code.
    #[error("bug: {0}")]
    Bug(&'static str),
}

/// Where an item lives: what a corrupt-item error names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemKey {
    pub table: String,
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    /// The key of `item` in `table` (`?` for a key attribute the item lacks).
    pub(crate) fn of(table: &str, item: &Item) -> Self {
        let part = |name| get_s(item, name).unwrap_or("?").to_string();
        ItemKey {
            table: table.to_string(),
            pk: part(keys::PK),
            sk: part(keys::SK),
        }
    }
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (pk {}, sk {})", self.table, self.pk, self.sk)
    }
}

impl StoreError {
    /// An SDK call's failure, after the SDK's own retries: throttling, DynamoDB 5xx, timeouts and
    /// lost connections are `Unavailable`; anything else is `Sdk`. Both keep the SDK error (and
    /// with it DynamoDB's code and message) as their source, and name the operation.
    pub fn sdk<E>(e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let transient = match &e {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => true,
            SdkError::ServiceError(s) => {
                s.raw().status().is_server_error()
                    || matches!(
                        s.err().code(),
                        Some(
                            "ThrottlingException"
                                | "ProvisionedThroughputExceededException"
                                | "RequestLimitExceeded"
                                | "TransactionInProgressException"
                                | "TransactionConflictException"
                        )
                    )
            }
            _ => false,
        };
        let operation = operation_of::<E>();
        let source = Box::new(e);
        if transient {
            StoreError::Unavailable { operation, source }
        } else {
            StoreError::Sdk { operation, source }
        }
    }

    /// Whether the same request may succeed if sent again (a 503, not a 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. } | StoreError::OutOfTime { .. }
        )
    }
}

/// The DynamoDB operation an SDK error type belongs to: every operation's error is
/// `aws_sdk_dynamodb::operation::<op>::<Op>Error` (`GetItemError` → `GetItem`). Only a log
/// label: if the SDK ever named its types otherwise, the label would be the type's last segment.
fn operation_of<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Error").unwrap_or(last)
}

/// A stored resource: its id, the normalised body (no id/meta/members) and its meta.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub body: Map<String, Value>,
    pub meta: Meta,
    /// Where the resource is in a multi-step write (see `mutate.rs`).
    pub state: State,
    /// Moves whenever a membership edge of this user is added: a user delete is conditional on
    /// it, so an edge added after the delete listed the user's groups cancels the delete.
    pub(crate) edge_seq: u64,
    /// A user's roles as resolved from its groups (`crate::roles`); moved only with `edge_seq`.
    pub resolved: crate::roles::Resolved,
    /// The highest event number of the last write of this item (`outbox.rs`, anchors): a write
    /// ordered after it numbers above it.
    pub(crate) order: u64,
    /// A user whose item says no edge was ever added to it (its edge sequence is there and 0):
    /// it is in no group, without a Query of its edges. An item written before the edge
    /// sequence existed has none, and keeps none until an edge is added (`resource_item`).
    pub never_grouped: bool,
    /// The version stored on the item, what a write's condition compares. For a user, and for
    /// a group read without its slots, `meta.version` is the same.
    pub(crate) stored_version: u64,
    /// A group item's slot versions its stored version already includes (`slots.rs`).
    pub(crate) absorbed: [u64; slots::SLOTS],
    /// A group's slots, when read with it (`meta.version` then counts their moves).
    pub(crate) slots: Option<slots::Slots>,
    /// Whether every membership edge of this resource was counted since it was created: a
    /// user's group count, a group's member counts on its slots (`members.rs`). A delete then
    /// lists the edges beside its read. Items written before the counts existed, and groups
    /// created in several steps (`mutate.rs`), say no.
    pub(crate) counted: bool,
}

impl Record {
    pub fn new(id: impl Into<String>, body: Map<String, Value>, meta: Meta) -> Self {
        let version = meta.version;
        Record {
            id: id.into(),
            body,
            meta,
            state: State::Live,
            edge_seq: 0,
            resolved: crate::roles::Resolved::default(),
            order: 0,
            // A new resource: no edge yet (its item says so with an edge sequence of 0).
            never_grouped: true,
            stored_version: version,
            absorbed: [0; slots::SLOTS],
            slots: None,
            counted: true,
        }
    }
}

/// The lifecycle of a resource item across writes that need more than one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum State {
    #[default]
    Live,
    /// A group whose create is still adding members (more than one transaction holds). Invisible
    /// to reads; a retry of the same create (same `intent`) finishes it.
    Pending { intent: String, since_ms: u64 },
    /// A user whose delete is removing its memberships: still readable, takes no new ones.
    Deleting,
}

/// Handle to both tables. Cheap to clone (the SDK client is an `Arc` inside).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) table: String,
    pub(crate) tokens_table: String,
    pub(crate) webhooks_table: String,
    /// Days events are kept (`outbox::ENV_RETENTION_DAYS`).
    pub(crate) event_retention_days: u64,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, tokens_table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            tokens_table: tokens_table.into(),
            webhooks_table: std::env::var(ENV_WEBHOOKS_TABLE)
                .ok()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| DEFAULT_WEBHOOKS_TABLE.into()),
            event_retention_days: std::env::var(outbox::ENV_RETENTION_DAYS)
                .ok()
                .and_then(|d| d.parse().ok())
                .filter(|d| *d > 0)
                .unwrap_or(outbox::DEFAULT_RETENTION_DAYS),
        }
    }

    /// A strongly consistent GetItem on the directory table.
    pub(crate) async fn get_item(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::sdk)?;
        Ok(out.item)
    }

    /// Runs a Query to the end, following `LastEvaluatedKey` (admin paths: registry, tokens).
    pub(crate) async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::sdk)?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// The Lambda functions' store: the SDK configured from the variables Lambda sets
    /// (`crate::aws_env`: region, the execution role's credentials, `AWS_ENDPOINT_URL_DYNAMODB`),
    /// not through aws-config's provider chain, which the Lambda binary then does not link.
    pub fn from_lambda_env() -> Self {
        Store::with_tables_from_env(crate::aws_env::dynamodb())
    }

    /// Builds a store from the standard AWS environment through aws-config's default chain
    /// (profiles, SSO, `AWS_ENDPOINT_URL_DYNAMODB` etc.: `scimctl`) and `SCIM_TABLE` /
    /// `SCIM_TOKENS_TABLE`.
    pub async fn from_env() -> Self {
        Store::from_env_at(None).await
    }

    /// As `from_env`, with the DynamoDB endpoint overridden (`scim-local --endpoint`).
    pub async fn from_env_at(endpoint: Option<&str>) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http_client())
            .load()
            .await;
        let mut conf = aws_sdk_dynamodb::config::Builder::from(&config);
        if let Some(e) = endpoint {
            conf = conf.endpoint_url(e);
        }
        Store::with_tables_from_env(conf)
    }

    /// A store on the tables the environment names, its client counted (`CountCalls`) and
    /// bounded (`sdk_timeouts`).
    fn with_tables_from_env(conf: aws_sdk_dynamodb::config::Builder) -> Self {
        let conf = conf.interceptor(CountCalls).timeout_config(sdk_timeouts());
        let (table, tokens) = table_names_from_env();
        Store::new(Client::from_conf(conf.build()), table, tokens)
    }

    /// A store on an explicit endpoint (a local emulator) with placeholder credentials and region:
    /// local emulators accept any signature, and nothing here reads the caller's AWS profile.
    pub fn local(endpoint: &str, table: &str, tokens_table: &str) -> Self {
        use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"))
            .endpoint_url(endpoint)
            .http_client(http_client())
            .interceptor(CountCalls)
            // A local emulator answers in microseconds: retry throttles quickly.
            .retry_config(
                aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                    .with_initial_backoff(std::time::Duration::from_millis(5)),
            )
            .build();
        Store::new(Client::from_conf(config), table, tokens_table)
    }

    pub fn table(&self) -> &str {
        &self.table
    }
    /// The SDK client (for tools and tests that inspect or damage items directly).
    pub fn client(&self) -> &Client {
        &self.client
    }
    pub fn tokens_table(&self) -> &str {
        &self.tokens_table
    }
    pub fn webhooks_table(&self) -> &str {
        &self.webhooks_table
    }
}

/// Per-attempt and per-operation limits on every DynamoDB call in AWS: without them the SDK waits
/// on a stalled connection until the Lambda times out (no default beyond connecting). An attempt
/// (one HTTP exchange) gets 5 s, a call with its retries 12 s — both far above what DynamoDB
/// takes for the largest request here (a 100-item transaction, a 1 MB Query page) and within a
/// request's 20 s budget (`deadline`), so a stall becomes a retry, then a clear 503.
pub fn sdk_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(5))
        .operation_timeout(std::time::Duration::from_secs(12))
        .build()
}

/// The HTTPS client of every DynamoDB (and credential-provider) call: rustls with ring crypto and
/// the platform's root certificates. Built once per store, outside the Lambda handler.
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `SCIM_TABLE` and `SCIM_TOKENS_TABLE`, or their defaults.
pub fn table_names_from_env() -> (String, String) {
    (
        std::env::var(ENV_TABLE).unwrap_or_else(|_| DEFAULT_TABLE.into()),
        std::env::var(ENV_TOKENS_TABLE).unwrap_or_else(|_| DEFAULT_TOKENS_TABLE.into()),
    )
}

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(crate) fn key(pk: String, sk: String) -> Item {
    HashMap::from([(keys::PK.to_string(), s(pk)), (keys::SK.to_string(), s(sk))])
}
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}
pub(crate) fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// DynamoDB calls this process has sent (every attempt), for the per-request metric: a Lambda
/// process serves one request at a time, so the difference over a request is its own.
pub static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts every DynamoDB call the SDK transmits into `CALLS`, asks each one that can for its
/// consumed capacity (`ReturnConsumedCapacity: TOTAL`, added to the JSON body before signing)
/// and adds what DynamoDB answers to `capacity`'s counters.
#[derive(Debug)]
struct CountCalls;

/// The operation of the call in flight, kept in its config bag from request to answer.
#[derive(Debug, Clone)]
struct Operation(String);

impl aws_smithy_types::config_bag::Storable for Operation {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_sdk_dynamodb::config::Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = ctx.request_mut();
        let op = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_string();
        #[cfg(feature = "local")]
        if let Some(body) = request.body().bytes() {
            iam_record::record(&op, body);
        }
        if capacity::reports_capacity(&op) {
            let body: Option<Value> = request
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice(b).ok());
            if let Some(Value::Object(mut m)) = body {
                m.entry("ReturnConsumedCapacity")
                    .or_insert_with(|| Value::String("TOTAL".into()));
                let bytes = serde_json::to_vec(&m)?;
                request
                    .headers_mut()
                    .insert("content-length", bytes.len().to_string());
                *request.body_mut() = aws_smithy_types::body::SdkBody::from(bytes);
            }
        }
        cfg.interceptor_state().store_put(Operation(op));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::AfterDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let op = cfg
            .load::<Operation>()
            .map(|o| o.0.clone())
            .unwrap_or_default();
        if let Some(answer) = ctx
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        {
            capacity::record(&op, &answer);
        }
        Ok(())
    }
}

/// Whether a single-item write failed its condition (not an error of the store).
/// A conditional write's outcome where a failed condition means there was nothing to do: `Ok`
/// for it as for success, any other failure an error.
pub(crate) fn unless_condition_failed<T, E>(
    out: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<(), StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match out {
        Err(e) if !is_condition_failure(&e) => Err(StoreError::sdk(e)),
        _ => Ok(()),
    }
}

pub(crate) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(
    e: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> bool {
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sdk_error_is_named_by_its_operation() {
        use aws_sdk_dynamodb::operation;
        assert_eq!(
            operation_of::<operation::get_item::GetItemError>(),
            "GetItem"
        );
        assert_eq!(
            operation_of::<operation::transact_write_items::TransactWriteItemsError>(),
            "TransactWriteItems"
        );
    }

    #[test]
    fn a_corrupt_item_names_its_key() {
        let item = key(
            keys::directory_pk("d1"),
            keys::resource_sk(crate::scim::schema::ResourceKind::User, "u1"),
        );
        let e = StoreError::Corrupt {
            at: ItemKey::of("scim-directory", &item),
            problem: "no version",
            source: None,
        };
        assert_eq!(
            e.to_string(),
            "corrupt item scim-directory (pk DIR#d1, sk USER#u1): no version"
        );
    }
}
