//! What `scimctl` does, as library functions (so tests can drive them): create tables, manage
//! directories and their tokens. Results are JSON values; `print` renders them for humans.

use serde_json::{json, Value};

use crate::auth;
use crate::clock;
use crate::events::normal;
use crate::scim::error::ScimError;
use crate::scim::schema::ResourceKind;
use crate::service::webhooks::target::{self, UrlPolicy, WebhookUrl};
use crate::service::{self, webhooks, Service};
use crate::store::clients::ClientRecord;
use crate::store::directories::{self, AuthMethods, Directory};
use crate::store::tokens::TokenRecord;
use crate::store::webhooks::Webhook;
use crate::store::{Record, Store, StoreError};

/// Environment variable naming the public base URL printed URLs start with.
pub const ENV_PUBLIC_URL: &str = "SCIM_PUBLIC_URL";
/// Seconds `directory delete` waits between revoking tokens and deleting data (default: the
/// Lambdas' token-cache TTL). 0 is safe only when no Lambda serves the table (a local emulator).
pub const ENV_TOKEN_GRACE_SECS: &str = "SCIM_TOKEN_GRACE_SECS";
/// Where `scim-local` listens by default; printed when `SCIM_PUBLIC_URL` is unset.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
/// Live tokens a directory may hold at once: the current one and its replacement during rotation.
pub const MAX_LIVE_TOKENS: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{}", .0.detail)]
    Scim(ScimError),
    #[error("{0}")]
    BadRequest(String),
    #[error("directory {0} does not accept {1}; enable it first")]
    MethodOff(String, &'static str),
    #[error("directory {0} already has {MAX_LIVE_TOKENS} live OAuth clients; revoke one first")]
    TooManyClients(String),
    #[error("no OAuth client {0} in directory {1}")]
    NoClient(String, String),
    #[error("no directory {0}")]
    NoDirectory(String),
    #[error("no token {0} in directory {1}")]
    NoToken(String, String),
    #[error("directory {0} already has {MAX_LIVE_TOKENS} live tokens; revoke one first")]
    TooManyTokens(String),
}

pub struct Admin {
    store: Store,
    public_url: String,
    /// How long a directory delete waits between revoking its tokens and deleting its data.
    token_grace: std::time::Duration,
    /// Which webhook URLs may be registered (`UrlPolicy::Aws` unless told).
    url_policy: UrlPolicy,
}

impl Admin {
    pub fn new(store: Store) -> Self {
        let public_url = std::env::var(ENV_PUBLIC_URL)
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_PUBLIC_URL.into());
        let grace = std::env::var(ENV_TOKEN_GRACE_SECS)
            .ok()
            .and_then(|s| s.parse().ok())
            .map_or(auth::CACHE_TTL, std::time::Duration::from_secs);
        Admin::with_public_url(store, &public_url)
            .with_token_grace(grace)
            .with_url_policy(UrlPolicy::from_env())
    }

    pub fn with_public_url(store: Store, public_url: &str) -> Self {
        Admin {
            store,
            public_url: public_url.trim_end_matches('/').to_string(),
            token_grace: auth::CACHE_TTL,
            url_policy: UrlPolicy::Aws,
        }
    }

    /// Which webhook URLs this admin accepts (`Local`: a local server or test).
    pub fn with_url_policy(mut self, policy: UrlPolicy) -> Self {
        self.url_policy = policy;
        self
    }

    /// The wait of a directory delete between tokens and data (tests, and stores no Lambda uses).
    pub fn with_token_grace(mut self, grace: std::time::Duration) -> Self {
        self.token_grace = grace;
        self
    }

    pub async fn create_tables(&self) -> Result<Value, AdminError> {
        let created = self.store.create_tables().await?;
        Ok(json!({
            "table": self.store.table(),
            "tokens_table": self.store.tokens_table(),
            "created": created,
        }))
    }

    /// A directory as the CLI and the management API show it. `status` is the stored one, or
    /// `invalid_credentials` for a pending or linked directory without a live token.
    async fn describe(&self, d: &Directory) -> Result<Value, AdminError> {
        let now = clock::now_millis();
        let m = d.auth_methods;
        let tokens = m.bearer
            && self
                .store
                .list_tokens(&d.id)
                .await?
                .iter()
                .any(|t| t.is_live(now));
        let clients = m.client_credentials
            && self
                .store
                .list_clients(&d.id)
                .await?
                .iter()
                .any(|c| c.is_live(now));
        let status = if !tokens && !clients && d.status != directories::DELETING {
            "invalid_credentials"
        } else {
            d.status.as_str()
        };
        Ok(json!({
            "id": d.id,
            "name": d.name,
            "status": status,
            "created_at": d.created_at,
            "linked_at": d.linked_at,
            "last_request_at": d.last_request_at,
            "last_error": d.last_error,
            "scim_v2_url": format!("{}/scim/v2/{}", self.public_url, d.id),
            "scim_v1_url": format!("{}/scim/v1/{}", self.public_url, d.id),
            "token_endpoint": self.token_endpoint(&d.id),
            "auth_methods": m,
        }))
    }

    /// The OAuth 2.0 token endpoint of a directory (client-credentials grant).
    fn token_endpoint(&self, dir: &str) -> String {
        format!("{}/oauth2/{dir}/token", self.public_url)
    }

    /// Creates an OAuth client (client credentials) for the directory; the secret is shown once.
    pub async fn create_client(
        &self,
        dir: &str,
        expires_in_days: Option<u32>,
    ) -> Result<Value, AdminError> {
        let d = self.directory(dir).await?;
        if !d.auth_methods.client_credentials {
            return Err(AdminError::MethodOff(dir.into(), "client credentials"));
        }
        let now = clock::now_millis();
        let live = self
            .store
            .list_clients(dir)
            .await?
            .iter()
            .filter(|c| c.is_live(now))
            .count();
        if live >= MAX_LIVE_TOKENS {
            return Err(AdminError::TooManyClients(dir.into()));
        }
        let secret = auth::random_with(auth::CLIENT_SECRET_PREFIX, 32);
        let client = ClientRecord {
            client_id: auth::random_with(auth::CLIENT_ID_PREFIX, 12),
            directory_id: dir.into(),
            secret_hash: auth::hash_token(&secret),
            created_at: clock::now_rfc3339(),
            expires_at_millis: expires_in_days.map(|d| now + i64::from(d) * 86_400_000),
            access_tokens: vec![],
        };
        self.store.put_client(&client).await?;
        let mut out = json!(client);
        out["client_secret"] = json!(secret);
        out["token_endpoint"] = json!(self.token_endpoint(dir));
        Ok(out)
    }

    pub async fn list_clients(&self, dir: &str) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        let now = clock::now_millis();
        let clients = self.store.list_clients(dir).await?;
        Ok(with_live(clients, |c| c.is_live(now)))
    }

    /// Revokes a client and so every access token issued to it (each is checked against its
    /// client: effective within the token cache's 30 s).
    pub async fn revoke_client(&self, dir: &str, client_id: &str) -> Result<Value, AdminError> {
        let found = self.store.get_client(client_id).await?;
        let Some(client) = found.filter(|c| c.directory_id == dir) else {
            return Err(AdminError::NoClient(client_id.into(), dir.into()));
        };
        self.store.delete_client(client_id).await?;
        for hash in &client.access_tokens {
            // Already refused with the client gone; the items are only tidied.
            self.store.delete_token(hash).await?;
        }
        let tokens = client.access_tokens.len();
        Ok(json!({"revoked": client_id, "directory_id": dir, "access_tokens_revoked": tokens}))
    }

    /// Chooses how the directory's SCIM clients authenticate. Turning a method off revokes its
    /// credentials (bearer tokens; clients and their access tokens).
    pub async fn set_auth_methods(
        &self,
        dir: &str,
        methods: AuthMethods,
    ) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        if !methods.bearer && !methods.client_credentials {
            return Err(AdminError::BadRequest(
                "a directory needs at least one way to authenticate".into(),
            ));
        }
        self.store.set_auth_methods(dir, methods).await?;
        let mut revoked = 0;
        if !methods.bearer {
            for t in self.store.list_tokens(dir).await? {
                self.store.delete_token(&t.hash).await?;
                revoked += 1;
            }
        }
        if !methods.client_credentials {
            for c in self.store.list_clients(dir).await? {
                self.store.delete_client(&c.client_id).await?;
                revoked += 1;
            }
        }
        Ok(json!({"directory_id": dir, "auth_methods": methods, "credentials_revoked": revoked}))
    }

    pub async fn create_directory(
        &self,
        name: &str,
        expires_in_days: Option<u32>,
    ) -> Result<Value, AdminError> {
        let d = Directory::new(uuid::Uuid::now_v7().to_string(), name.to_string());
        self.store.create_directory(&d).await?;
        let (token, record) = self.new_token(&d.id, expires_in_days).await?;
        let mut out = self.describe(&d).await?;
        out["token"] = json!(token);
        out["token_id"] = json!(record.token_id);
        Ok(out)
    }

    async fn directory(&self, id: &str) -> Result<Directory, AdminError> {
        self.store
            .get_directory(id)
            .await?
            .ok_or_else(|| AdminError::NoDirectory(id.into()))
    }

    pub async fn list_directories(&self) -> Result<Value, AdminError> {
        let mut out = Vec::new();
        for d in self.store.list_directories().await? {
            out.push(self.describe(&d).await?);
        }
        Ok(Value::Array(out))
    }

    pub async fn show_directory(&self, id: &str) -> Result<Value, AdminError> {
        let d = self.directory(id).await?;
        let mut out = self.describe(&d).await?;
        out["users"] = json!(
            self.store
                .count(id, crate::scim::schema::ResourceKind::User)
                .await?
        );
        out["groups"] = json!(
            self.store
                .count(id, crate::scim::schema::ResourceKind::Group)
                .await?
        );
        out["tokens"] = json!(self.store.list_tokens(id).await?);
        Ok(out)
    }

    /// Deletes a directory here and now (the CLI: waits the token grace, then deletes).
    pub async fn delete_directory(&self, id: &str) -> Result<Value, AdminError> {
        self.begin_delete(id).await?;
        let items = self.store.delete_directory(id, self.token_grace).await?;
        self.store.delete_webhook(id).await?;
        Ok(json!({"deleted": id, "items_deleted": items}))
    }

    /// Marks a directory `deleting` (`dsync.deleted`) and revokes its tokens; the data goes
    /// after the token grace (`delete_directory`, or the clean-up function for the management
    /// API, whose requests cannot wait that long).
    pub async fn begin_delete(&self, id: &str) -> Result<Value, AdminError> {
        let d = self.directory(id).await?;
        self.store.begin_delete(&d).await?;
        self.store.revoke_credentials(id).await?;
        // The registration outlives the data by a day: `dsync.deleted` and the events before it
        // can still be delivered.
        let expires = clock::now_millis() / 1000 + 86_400;
        self.store.expire_webhook(id, expires).await?;
        Ok(json!({"deleting": id}))
    }

    /// A page of a directory's users or groups, normalised (`events::normal`), in creation order
    /// after the id `after`. Users carry their `groups` ({id, name}).
    pub async fn resources(
        &self,
        dir: &str,
        kind: ResourceKind,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        let mut data = Vec::new();
        let mut next = after.map(str::to_string);
        let mut more = true;
        // Pending groups are invisible: read on until the page is full or the kind ends.
        while more && data.len() < limit {
            let (records, m) = self
                .store
                .list_page(dir, kind, next.as_deref(), limit - data.len())
                .await?;
            more = m;
            next = records.last().map(|r| r.id.clone()).or(next);
            let visible: Vec<&Record> = records.iter().filter(|r| service::visible(r)).collect();
            data.extend(self.normalised(dir, kind, &visible).await?);
        }
        Ok(json!({
            "data": data,
            "list_metadata": {"after": if more { next } else { None }},
        }))
    }

    /// One user or group, normalised; `None` when there is no such (visible) resource.
    pub async fn resource(
        &self,
        dir: &str,
        kind: ResourceKind,
        id: &str,
    ) -> Result<Option<Value>, AdminError> {
        self.directory(dir).await?;
        let service = Service::new(self.store.clone());
        match service.get(dir, kind, id).await {
            Ok(r) => Ok(self.normalised(dir, kind, &[&r]).await?.pop()),
            Err(e) if e.status == 404 => Ok(None),
            Err(e) => Err(AdminError::Scim(e)),
        }
    }

    async fn normalised(
        &self,
        dir: &str,
        kind: ResourceKind,
        records: &[&Record],
    ) -> Result<Vec<Value>, AdminError> {
        let mut out: Vec<Value> = records
            .iter()
            .map(|r| normal::object(kind, dir, &r.id, &r.body, &r.meta))
            .collect();
        if kind == ResourceKind::User {
            let service = Service::new(self.store.clone());
            let refs = service
                .references(dir, kind, records)
                .await
                .map_err(AdminError::Scim)?;
            for (o, groups) in out.iter_mut().zip(refs) {
                o["groups"] = groups
                    .into_iter()
                    .map(|g| json!({"id": g.id, "name": g.display}))
                    .collect();
            }
        }
        Ok(out)
    }

    /// The directory's webhook (URL, creation time, delivery state with parked events), or
    /// `null`.
    pub async fn webhook(&self, dir: &str) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        let Some(hook) = self.store.get_webhook(dir).await? else {
            return Ok(Value::Null);
        };
        let mut out = json!(hook);
        if let Some((_, until)) = hook
            .previous_secret
            .filter(|(_, u)| *u > clock::now_millis())
        {
            out["previous_secret_expires_at"] = json!(clock::format_rfc3339(until));
        }
        out["delivery"] = json!(self.store.delivery_state(dir).await?);
        Ok(out)
    }

    /// Registers (or replaces) the directory's webhook; returns its signing secret, shown once.
    /// A replacement gets a new secret and the replaced one keeps signing next to it for 24 h
    /// (`previous_secret_expires_at`), so the receiver can switch without a gap; it also turns
    /// deliveries back on after a 410. A new webhook gets the events committed from now on (the
    /// Events API has the history).
    pub async fn set_webhook(&self, dir: &str, url: &str) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        let checked = WebhookUrl::parse(url, self.url_policy)
            .map_err(|e| AdminError::BadRequest(e.to_string()))?;
        check_resolves_public(&checked, self.url_policy).await?;
        let now = clock::now_millis();
        let existing = self.store.get_webhook(dir).await?;
        let hook = Webhook {
            directory_id: dir.into(),
            url: checked.as_str().into(),
            secret: webhooks::new_secret(),
            previous_secret: existing.as_ref().map(|old| {
                (
                    old.secret.clone(),
                    now + crate::store::webhooks::ROTATION_OVERLAP_MS,
                )
            }),
            created_at: clock::format_rfc3339(now),
        };
        // A replaced URL keeps the cursor (what was not delivered goes to the new one).
        if existing.is_none() {
            let seq = self.store.sequence(dir).await?;
            self.store.start_deliveries_at(dir, seq).await?;
        } else {
            self.store.enable_deliveries(dir).await?;
        }
        self.store.put_webhook(&hook).await?;
        let mut out = json!(hook);
        out["secret"] = json!(hook.secret);
        if let Some((_, until)) = hook.previous_secret {
            out["previous_secret_expires_at"] = json!(clock::format_rfc3339(until));
        }
        Ok(out)
    }

    /// Delivers the directory's events again from sequence number `from` on (parked events,
    /// or events a receiver lost), and turns deliveries back on after a 410. Takes effect at
    /// the directory's next delivery: its next event in AWS, within a moment on a local server.
    pub async fn resume_webhook(&self, dir: &str, from: u64) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        if self.store.get_webhook(dir).await?.is_none() {
            return Err(AdminError::BadRequest(format!(
                "directory {dir} has no webhook; register one first"
            )));
        }
        let last = self.store.sequence(dir).await?;
        if from == 0 || from > last + 1 {
            return Err(AdminError::BadRequest(format!(
                "resume_from_sequence must be between 1 and {} (the next event)",
                last + 1
            )));
        }
        self.store.resume_deliveries(dir, from).await?;
        self.webhook(dir).await
    }

    pub async fn delete_webhook(&self, dir: &str) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        self.store.delete_webhook(dir).await?;
        Ok(json!({"deleted": "webhook", "directory_id": dir}))
    }

    /// Events of a directory after `after` (the Events API).
    pub async fn events(
        &self,
        id: &str,
        after: u64,
        limit: usize,
        types: &[String],
    ) -> Result<Value, AdminError> {
        let page = self.store.events(id, after, limit, types).await?;
        Ok(serde_json::to_value(page).unwrap_or_default())
    }

    /// Verifies the directory's invariants (`store::check`); with `repair`, fixes what it finds.
    pub async fn check_directory(&self, id: &str, repair: bool) -> Result<Value, AdminError> {
        self.directory(id).await?;
        let report = self.store.check_directory(id, repair).await?;
        Ok(serde_json::to_value(report).unwrap_or_default())
    }

    async fn new_token(
        &self,
        dir: &str,
        expires_in_days: Option<u32>,
    ) -> Result<(String, TokenRecord), AdminError> {
        let token = auth::new_token();
        let hash = auth::hash_token(&token);
        let record = TokenRecord {
            token_id: auth::token_id(&hash),
            hash,
            directory_id: dir.to_string(),
            created_at: clock::now_rfc3339(),
            expires_at_millis: expires_in_days
                .map(|d| clock::now_millis() + i64::from(d) * 86_400_000),
            client_id: None,
        };
        self.store.put_token(&record).await?;
        Ok((token, record))
    }

    pub async fn issue_token(
        &self,
        dir: &str,
        expires_in_days: Option<u32>,
    ) -> Result<Value, AdminError> {
        if !self.directory(dir).await?.auth_methods.bearer {
            return Err(AdminError::MethodOff(dir.into(), "bearer tokens"));
        }
        let now = clock::now_millis();
        let live = self
            .store
            .list_tokens(dir)
            .await?
            .into_iter()
            .filter(|t| t.is_live(now))
            .count();
        if live >= MAX_LIVE_TOKENS {
            return Err(AdminError::TooManyTokens(dir.into()));
        }
        let (token, record) = self.new_token(dir, expires_in_days).await?;
        let mut out = json!(record);
        out["token"] = json!(token);
        Ok(out)
    }

    pub async fn list_tokens(&self, dir: &str) -> Result<Value, AdminError> {
        self.directory(dir).await?;
        let now = clock::now_millis();
        let tokens = self.store.list_tokens(dir).await?;
        Ok(with_live(tokens, |t| t.is_live(now)))
    }

    pub async fn revoke_token(&self, dir: &str, token_id: &str) -> Result<Value, AdminError> {
        let t = self
            .store
            .list_tokens(dir)
            .await?
            .into_iter()
            .find(|t| t.token_id == token_id)
            .ok_or_else(|| AdminError::NoToken(token_id.into(), dir.into()))?;
        self.store.delete_token(&t.hash).await?;
        Ok(json!({"revoked": token_id, "directory_id": dir}))
    }
}

/// Credentials as JSON, each with whether it is `live`.
fn with_live<T: serde::Serialize>(items: Vec<T>, live: impl Fn(&T) -> bool) -> Value {
    items
        .iter()
        .map(|i| {
            let mut v = json!(i);
            v["live"] = json!(live(i));
            v
        })
        .collect()
}

/// JSON as-is for `--json`; otherwise `key: value` lines (arrays: one block per element).
pub fn print(v: &Value, as_json: bool) -> String {
    if as_json {
        return serde_json::to_string_pretty(v).unwrap_or_default();
    }
    match v {
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items
            .iter()
            .map(|i| print(i, false))
            .collect::<Vec<_>>()
            .join("\n\n"),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {s}"),
                Value::Array(a) if a.iter().all(Value::is_object) && !a.is_empty() => {
                    format!("{k}:\n{}", indent(&print(v, false)))
                }
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Refuses a host name that resolves to an address webhooks may not reach, so the application
/// hears it now (400) rather than from `last_error` later. A name that does not resolve (yet)
/// is accepted: the deliverer checks every address it connects to anyway.
async fn check_resolves_public(url: &WebhookUrl, policy: UrlPolicy) -> Result<(), AdminError> {
    let target::Host::Name(name) = url.host() else {
        return Ok(());
    };
    let resolver =
        webhooks::connect::CheckedResolver::new(policy, webhooks::connect::system_lookup());
    let lookup = tokio::time::timeout(std::time::Duration::from_secs(2), resolver.resolve(name));
    match lookup.await {
        Ok(Err(webhooks::connect::ResolveError::Refused(e))) => {
            Err(AdminError::BadRequest(e.to_string()))
        }
        _ => Ok(()),
    }
}
