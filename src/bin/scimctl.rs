//! `scimctl`: the admin CLI — tables, directories, tokens — against whatever DynamoDB endpoint the
//! environment names, or, with `SCIM_MANAGEMENT_URL`, through a management API: a running
//! `scim-local`'s (with its management key) or a deployed stack's (SigV4 with the operator's AWS
//! credentials). Every command prints human text, or one JSON document with `--json`.

use clap::{Parser, Subcommand};
use hyper::Method;
use scim_lambda::api::manage::{NewCredential, NewDirectory, ResumeDeliveries, WebhookTarget};
use scim_lambda::custom_attributes::{AttributeCatalogue, AttributeDef, Mapping};
use scim_lambda::management_client::{segment, ManagementClient, ENV_MANAGEMENT_URL};
use scim_lambda::provider::Provider;
use scim_lambda::request_log::{RequestFilter, RequestRecord, StatusClass};
use scim_lambda::roles::{Assignment, RoleCatalogue, RoleDef};
use scim_lambda::service::custom_attributes::{self, PutMappings};
use scim_lambda::service::directories::{self, AuthMethods};
use scim_lambda::service::event_reads::{self, EventsPage};
use scim_lambda::service::portal_links::{self, NewPortalLink, PortalLinkOptions};
use scim_lambda::service::request_log::{self, RequestCursor, RequestPage};
use scim_lambda::service::roles::{self, PutAssignments};
use scim_lambda::service::webhooks::target::UrlPolicy;
use scim_lambda::service::{credentials, webhook_registrations};
use scim_lambda::service::{ManagementError, PublicUrl, Service, Store};
use serde::Serialize;
use serde_json::Value;

#[derive(Parser)]
#[command(name = "scimctl", about = "Manage SCIM directories and bearer tokens")]
struct Cli {
    /// Print one JSON document instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// A management API instead of the tables: a running scim-local's (http://127.0.0.1:8080/manage;
    /// the key comes from SCIM_MANAGEMENT_KEY or .local/scim-local.management-key), or a deployed
    /// stack's ManagementApiBase (https://…/manage; signed with your AWS credentials, SigV4).
    #[arg(long, global = true, env = ENV_MANAGEMENT_URL)]
    management_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// DynamoDB tables (local endpoints; in AWS the SAM stack creates them).
    Tables {
        #[command(subcommand)]
        command: TablesCommand,
    },
    /// Directories: one per customer organisation.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Bearer tokens of a directory (at most two live ones, for rotation).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// OAuth 2.0 clients of a directory (client-credentials grant; at most two live ones).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// A directory's events (the Events API).
    Events {
        #[command(subcommand)]
        command: EventsCommand,
    },
    /// A directory's SCIM request log: what its IdP sent and what it was answered, oldest of the
    /// page first (docs/request-log.md).
    Requests {
        directory: String,
        /// Only failures (4xx and 5xx).
        #[arg(long)]
        errors: bool,
        /// Keep printing new requests as they are logged (Ctrl-C to stop).
        #[arg(long)]
        follow: bool,
        /// How many of the latest requests to print first (1 to 100).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=100))]
        limit: u16,
    },
    /// Roles from groups: the stack's roles, and each directory's group → role assignments.
    Roles {
        #[command(subcommand)]
        command: RolesCommand,
    },
    /// Custom attributes: the stack's keys, and each directory's SCIM attribute paths → keys
    /// (docs/custom-attributes.md).
    Attributes {
        #[command(subcommand)]
        command: AttributesCommand,
    },
    /// A directory's webhook: where its events are POSTed, signed.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// Admin Portal setup links for a customer's IT admin (the pages they open are not built yet).
    Portal {
        #[command(subcommand)]
        command: PortalCommand,
    },
    /// The operator console: a web UI over the management API (--management-url), on this
    /// machine only. Prints the address to open (it carries this run's token).
    Console {
        /// The loopback address to listen on (anything else is refused).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// The port (0: any free one).
        #[arg(long, default_value_t = 8090)]
        port: u16,
    },
}

#[derive(Subcommand)]
enum PortalCommand {
    /// Make a setup link; prints its URL (shown once: it carries the secret).
    Link {
        directory: String,
        #[command(flatten)]
        options: PortalLinkArgs,
    },
    /// The directory's live setup links (never their secrets).
    Links { directory: String },
    /// Revoke a setup link by its id (`pl_...` from `portal links`).
    Revoke { directory: String, link_id: String },
}

#[derive(clap::Args)]
struct PortalLinkArgs {
    /// Lifetime in minutes (default a week, at most 30 days).
    #[arg(long)]
    expires_in_minutes: Option<u32>,
    /// Where the portal's logo leads back to (https).
    #[arg(long)]
    return_url: Option<String>,
    /// Where the admin is sent once set-up is done (https).
    #[arg(long)]
    success_url: Option<String>,
    /// The one origin that may frame the portal (https://host[:port]).
    #[arg(long)]
    embed_origin: Option<String>,
    /// The application's name, shown on the portal's pages.
    #[arg(long)]
    app_name: Option<String>,
}

impl PortalLinkArgs {
    /// The options as the API takes them.
    fn request(&self) -> NewPortalLink {
        NewPortalLink {
            expires_in_minutes: self.expires_in_minutes,
            return_url: self.return_url.clone(),
            success_url: self.success_url.clone(),
            embed_origin: self.embed_origin.clone(),
            app_name: self.app_name.clone(),
        }
    }
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Create a client; prints client_id, client_secret (shown once) and the token endpoint.
    Create {
        directory: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    List {
        directory: String,
    },
    /// Revoke a client and every access token issued to it.
    Revoke {
        directory: String,
        client_id: String,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print events after a sequence number, one JSON line each; with --follow, keep waiting for
    /// new ones (Ctrl-C to stop).
    Tail {
        directory: String,
        /// Start after this sequence number (0: from the oldest kept).
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Only these event types (comma-separated, e.g. dsync.user.created,dsync.user.deleted).
        #[arg(long)]
        event: Option<String>,
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Subcommand)]
enum RolesCommand {
    /// The stack's roles and default.
    Show,
    /// Declare the stack's roles: --role admin=Admin --role member=Member [--default member].
    Set {
        #[arg(long = "role", value_name = "SLUG=NAME", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        default: Option<String>,
    },
    /// A directory's group → role assignments, in priority order.
    Assignments { directory: String },
    /// Map a directory's groups to roles, highest priority first:
    /// --group GROUP_ID=admin --group GROUP_ID=member [--default member].
    Assign {
        directory: String,
        #[arg(long = "group", value_name = "GROUP_ID=ROLE")]
        groups: Vec<String>,
        #[arg(long)]
        default: Option<String>,
    },
    /// Finish a re-resolution a save left pending (it is idempotent).
    Sync { directory: String },
}

#[derive(Subcommand)]
enum AttributesCommand {
    /// The stack's custom attribute keys.
    Show,
    /// Declare the stack's keys (replacing them): --key cost_center --key "city=Work city".
    Set {
        #[arg(long = "key", value_name = "KEY[=DESCRIPTION]", required = true)]
        keys: Vec<String>,
    },
    /// A directory's mappings and the ones in force (its own and the enterprise defaults).
    Mapping { directory: String },
    /// Map SCIM attribute paths to declared keys (replacing the directory's mappings):
    /// --map 'city=addresses[type eq "work"].locality' --map title=title.
    Map {
        directory: String,
        #[arg(long = "map", value_name = "KEY=PATH")]
        mappings: Vec<String>,
    },
    /// What a candidate mapping makes of the directory's 10 newest users (nothing is saved).
    Preview {
        directory: String,
        #[arg(long = "map", value_name = "KEY=PATH")]
        mappings: Vec<String>,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Register (or replace) the webhook URL; prints the signing secret once. A replaced
    /// secret keeps signing, next to the new one, for 24 hours.
    Set {
        directory: String,
        url: String,
    },
    /// The URL and the delivery state: cursor, last error, parked events, disabled.
    Show {
        directory: String,
    },
    Delete {
        directory: String,
    },
    /// Deliver again from sequence number FROM on (parked events; re-enables after a 410).
    Resume {
        directory: String,
        #[arg(long = "from")]
        from_sequence: u64,
    },
    /// Once after upgrading: move registrations an earlier version kept in the tokens table into
    /// the webhooks table (docs/operations.md, "Upgrading").
    Migrate,
}

#[derive(Subcommand)]
enum TablesCommand {
    /// Create the directory and tokens tables if missing.
    Create,
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Create a directory and its first token; prints both base URLs and the token (shown once).
    Create {
        #[arg(long)]
        name: String,
        /// Token lifetime in days (default: no expiry).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// The identity provider: okta, okta_scim11, entra, pingfederate, pingone, onelogin,
        /// jumpcloud or other (default: the IT admin chooses it in the Admin Portal).
        #[arg(long, value_parser = provider)]
        provider: Option<Provider>,
    },
    List,
    Show {
        id: String,
    },
    /// Delete a directory, its tokens and every user, group and membership in it (waits 30 s
    /// between revoking the tokens and deleting the data, so no cached token can write behind it).
    Delete {
        id: String,
    },
    /// Choose how the directory's SCIM clients authenticate (turning one off revokes its
    /// credentials).
    Auth {
        id: String,
        /// Accept bearer tokens (`token issue`).
        #[arg(long, action = clap::ArgAction::Set)]
        bearer: bool,
        /// Accept OAuth 2.0 client credentials (`client create`).
        #[arg(long, action = clap::ArgAction::Set)]
        client_credentials: bool,
    },
    /// Verify every invariant of a directory (memberships on both sides, guards, index items,
    /// counters, unfinished writes); with --repair, fix what is found. Exit status 3 when
    /// problems were found and not repaired.
    Check {
        id: String,
        #[arg(long)]
        repair: bool,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a new token (refused when two live tokens exist: revoke one first).
    Issue {
        directory: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    List {
        directory: String,
    },
    /// Revoke a token by its id (`tok_...` from `token list`).
    Revoke {
        directory: String,
        token_id: String,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Command::Console { bind, port } = cli.command {
        if let Err(e) = console(cli.management_url.as_deref(), bind, port).await {
            eprintln!("scimctl console: {e}");
            std::process::exit(1);
        }
        return;
    }
    let outcome = match cli.management_url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => over_api(url, &cli.command, cli.json).await,
        None => direct(cli.command, cli.json).await.map_err(Into::into),
    };
    if let Err(e) = outcome {
        eprintln!("scimctl: {e}");
        std::process::exit(1);
    }
}

/// `scimctl console`: serves the operator console until Ctrl-C.
async fn console(
    management_url: Option<&str>,
    ip: std::net::IpAddr,
    port: u16,
) -> Result<(), Box<dyn std::error::Error>> {
    use scim_lambda::api::console::{self, Console};
    let Some(url) = management_url.filter(|u| !u.is_empty()) else {
        return Err(format!(
            "the console works over a management API: set {ENV_MANAGEMENT_URL} (or \
             --management-url) to scim-local's (http://127.0.0.1:8080/manage) or to your \
             stack's ManagementApiBase output"
        )
        .into());
    };
    let api = ManagementClient::from_env(url).await?;
    let listener = console::bind(std::net::SocketAddr::new(ip, port)).await?;
    let console = std::sync::Arc::new(Console::new(api)?);
    println!("scimctl console: management API {}", console.api_base());
    println!("Open {}", console.url(listener.local_addr()?));
    println!("(the address carries this run's token; Ctrl-C stops the console)");
    tokio::select! {
        served = console::serve(listener, console) => served?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// One command on the tables themselves, through the service functions the management API runs.
async fn direct(command: Command, as_json: bool) -> Result<(), ManagementError> {
    let svc = Service::new(Store::from_env().await);
    let base = PublicUrl::from_env();
    let out = match command {
        Command::Tables {
            command: TablesCommand::Create,
        } => shown(&directories::create_tables(&svc).await?),
        Command::Directory {
            command: DirectoryCommand::Check { id, repair },
        } => {
            let report = directories::check(&svc, &id, repair).await?;
            println!("{}", print(&shown(&report), as_json));
            if !report.problems.is_empty() && !report.repaired {
                std::process::exit(3);
            }
            return Ok(());
        }
        Command::Directory { command } => directory(&svc, &base, command).await?,
        Command::Token { command } => token(&svc, command).await?,
        Command::Client { command } => client(&svc, &base, command).await?,
        Command::Webhook { command } => webhook(&svc, command).await?,
        Command::Roles { command } => roles_local(&svc, command).await?,
        Command::Attributes { command } => attributes_local(&svc, command).await?,
        Command::Portal { command } => portal(&svc, &base, command).await?,
        Command::Console { .. } => return Ok(()),
        Command::Events {
            command:
                EventsCommand::Tail {
                    directory,
                    after,
                    event,
                    follow,
                },
        } => {
            let types: Vec<String> = event
                .map(|e| e.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            let page = |after| event_reads::read(&svc, &directory, after, 100, &types);
            return tail(page, after, follow).await;
        }
        Command::Requests {
            directory,
            errors,
            follow,
            limit,
        } => {
            let page = |filter: RequestFilter, after: Option<String>, limit: usize| {
                let (svc, directory) = (&svc, &directory);
                async move {
                    let after = after.as_deref().and_then(RequestCursor::parse);
                    request_log::list(svc, directory, &filter, after.as_ref(), limit).await
                }
            };
            return requests(page, errors, follow, limit.into(), as_json).await;
        }
    };
    println!("{}", print(&out, as_json));
    Ok(())
}

async fn directory(
    svc: &Service,
    base: &PublicUrl,
    command: DirectoryCommand,
) -> Result<Value, ManagementError> {
    Ok(match command {
        DirectoryCommand::Create {
            name,
            expires_in_days,
            provider,
        } => shown(&directories::create(svc, base, &name, expires_in_days, provider).await?),
        DirectoryCommand::List => shown(&directories::list(svc, base).await?),
        DirectoryCommand::Show { id } => shown(&directories::show(svc, base, &id).await?),
        DirectoryCommand::Delete { id } => {
            let grace = directories::token_grace_from_env();
            shown(&directories::delete_now(svc, &id, grace).await?)
        }
        DirectoryCommand::Check { id, repair } => {
            shown(&directories::check(svc, &id, repair).await?)
        }
        DirectoryCommand::Auth {
            id,
            bearer,
            client_credentials,
        } => {
            let methods = AuthMethods {
                bearer,
                client_credentials,
            };
            shown(&credentials::set_auth_methods(svc, &id, methods).await?)
        }
    })
}

async fn token(svc: &Service, command: TokenCommand) -> Result<Value, ManagementError> {
    Ok(match command {
        TokenCommand::Issue {
            directory,
            expires_in_days,
        } => shown(&credentials::issue_token(svc, &directory, expires_in_days).await?),
        TokenCommand::List { directory } => {
            shown(&credentials::list_tokens(svc, &directory).await?)
        }
        TokenCommand::Revoke {
            directory,
            token_id,
        } => shown(&credentials::revoke_token(svc, &directory, &token_id).await?),
    })
}

async fn client(
    svc: &Service,
    base: &PublicUrl,
    command: ClientCommand,
) -> Result<Value, ManagementError> {
    Ok(match command {
        ClientCommand::Create {
            directory,
            expires_in_days,
        } => shown(&credentials::create_client(svc, base, &directory, expires_in_days).await?),
        ClientCommand::List { directory } => {
            shown(&credentials::list_clients(svc, &directory).await?)
        }
        ClientCommand::Revoke {
            directory,
            client_id,
        } => shown(&credentials::revoke_client(svc, &directory, &client_id).await?),
    })
}

/// `SLUG=NAME` or `GROUP=ROLE`.
fn pair(s: &str) -> Result<(String, String), ManagementError> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| ManagementError::InvalidRoles(format!("{s:?}: expected KEY=VALUE")))
}

fn catalogue_of(
    roles: &[String],
    default: &Option<String>,
) -> Result<RoleCatalogue, ManagementError> {
    let roles = roles
        .iter()
        .map(|r| {
            pair(r).map(|(slug, name)| RoleDef {
                slug,
                name,
                description: None,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(RoleCatalogue {
        roles,
        default: default.clone(),
    })
}

fn assignments_of(
    groups: &[String],
    default: &Option<String>,
) -> Result<PutAssignments, ManagementError> {
    let assignments = groups
        .iter()
        .map(|g| pair(g).map(|(group_id, role)| Assignment { group_id, role }))
        .collect::<Result<_, _>>()?;
    Ok(PutAssignments {
        assignments,
        default: default.clone(),
    })
}

async fn roles_local(svc: &Service, command: RolesCommand) -> Result<Value, ManagementError> {
    Ok(match command {
        RolesCommand::Show => shown(&roles::catalogue(svc).await?),
        RolesCommand::Set { roles: r, default } => {
            shown(&roles::put_catalogue(svc, catalogue_of(&r, &default)?).await?)
        }
        RolesCommand::Assignments { directory } => {
            shown(&roles::assignments(svc, &directory).await?)
        }
        RolesCommand::Assign {
            directory,
            groups,
            default,
        } => shown(
            &roles::put_assignments(svc, &directory, assignments_of(&groups, &default)?).await?,
        ),
        RolesCommand::Sync { directory } => {
            let (pending, users_updated) = roles::run_sync(svc, &directory).await?;
            serde_json::json!({"pending": pending, "users_updated": users_updated})
        }
    })
}

/// The management call of a roles command; `None` for the sync, which works on the tables.
fn roles_route(command: &RolesCommand) -> Result<Option<Route>, String> {
    let e = |e: ManagementError| e.to_string();
    Ok(Some(match command {
        RolesCommand::Show => (Method::GET, "/roles".to_string(), None),
        RolesCommand::Set { roles: r, default } => (
            Method::PUT,
            "/roles".to_string(),
            body(&catalogue_of(r, default).map_err(e)?),
        ),
        RolesCommand::Assignments { directory } => (
            Method::GET,
            format!("{}/role-assignments", dir(directory)),
            None,
        ),
        RolesCommand::Assign {
            directory,
            groups,
            default,
        } => (
            Method::PUT,
            format!("{}/role-assignments", dir(directory)),
            body(&assignments_of(groups, default).map_err(e)?),
        ),
        RolesCommand::Sync { .. } => return Ok(None),
    }))
}

fn attribute_catalogue_of(keys: &[String]) -> AttributeCatalogue {
    let attributes = keys
        .iter()
        .map(|k| match k.split_once('=') {
            Some((key, description)) => AttributeDef {
                key: key.to_string(),
                description: Some(description.to_string()),
            },
            None => AttributeDef {
                key: k.clone(),
                description: None,
            },
        })
        .collect();
    AttributeCatalogue { attributes }
}

/// `KEY=PATH` pairs (a key has no `=`; a path may).
fn mappings_of(pairs: &[String]) -> Result<PutMappings, ManagementError> {
    let mappings = pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(key, path)| Mapping {
                    key: key.to_string(),
                    path: path.to_string(),
                })
                .ok_or_else(|| {
                    ManagementError::InvalidAttributes(format!("{p:?}: expected KEY=PATH"))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(PutMappings { mappings })
}

async fn attributes_local(
    svc: &Service,
    command: AttributesCommand,
) -> Result<Value, ManagementError> {
    Ok(match command {
        AttributesCommand::Show => shown(&custom_attributes::catalogue(svc).await?),
        AttributesCommand::Set { keys } => {
            shown(&custom_attributes::put_catalogue(svc, attribute_catalogue_of(&keys)).await?)
        }
        AttributesCommand::Mapping { directory } => {
            shown(&custom_attributes::mapping(svc, &directory).await?)
        }
        AttributesCommand::Map {
            directory,
            mappings,
        } => {
            shown(&custom_attributes::put_mapping(svc, &directory, mappings_of(&mappings)?).await?)
        }
        AttributesCommand::Preview {
            directory,
            mappings,
        } => shown(&custom_attributes::preview(svc, &directory, mappings_of(&mappings)?).await?),
    })
}

/// The management call of an attributes command.
fn attributes_route(command: &AttributesCommand) -> Result<Route, String> {
    let e = |e: ManagementError| e.to_string();
    Ok(match command {
        AttributesCommand::Show => (Method::GET, "/custom-attributes".to_string(), None),
        AttributesCommand::Set { keys } => (
            Method::PUT,
            "/custom-attributes".to_string(),
            body(&attribute_catalogue_of(keys)),
        ),
        AttributesCommand::Mapping { directory } => (
            Method::GET,
            format!("{}/custom-attributes", dir(directory)),
            None,
        ),
        AttributesCommand::Map {
            directory,
            mappings,
        } => (
            Method::PUT,
            format!("{}/custom-attributes", dir(directory)),
            body(&mappings_of(mappings).map_err(e)?),
        ),
        AttributesCommand::Preview {
            directory,
            mappings,
        } => (
            Method::POST,
            format!("{}/custom-attributes/preview", dir(directory)),
            body(&mappings_of(mappings).map_err(e)?),
        ),
    })
}

async fn webhook(svc: &Service, command: WebhookCommand) -> Result<Value, ManagementError> {
    Ok(match command {
        WebhookCommand::Set { directory, url } => {
            let policy = UrlPolicy::from_env();
            shown(&webhook_registrations::register(svc, &directory, &url, policy).await?)
        }
        WebhookCommand::Show { directory } => {
            shown(&webhook_registrations::show(svc, &directory).await?)
        }
        WebhookCommand::Delete { directory } => {
            shown(&webhook_registrations::delete(svc, &directory).await?)
        }
        WebhookCommand::Resume {
            directory,
            from_sequence,
        } => shown(&webhook_registrations::resume(svc, &directory, from_sequence).await?),
        WebhookCommand::Migrate => shown(&webhook_registrations::migrate(svc).await?),
    })
}

async fn portal(
    svc: &Service,
    base: &PublicUrl,
    command: PortalCommand,
) -> Result<Value, ManagementError> {
    Ok(match command {
        PortalCommand::Link { directory, options } => {
            let options = PortalLinkOptions::try_from(options.request())?;
            shown(&portal_links::create_link(svc, base, &directory, options).await?)
        }
        PortalCommand::Links { directory } => {
            shown(&portal_links::list_links(svc, &directory).await?)
        }
        PortalCommand::Revoke { directory, link_id } => {
            shown(&portal_links::revoke_link(svc, &directory, &link_id).await?)
        }
    })
}

/// A typed answer as a JSON tree, for `print` (the field order is the type's).
fn shown<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// JSON as-is for `--json`; otherwise `key: value` lines (arrays: one block per element; nested
/// records: an indented block).
fn print(v: &Value, as_json: bool) -> String {
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
                // A nested record (a directory's request counts, its webhook delivery): an
                // indented block of its own lines.
                Value::Object(o) if !o.is_empty() => format!("{k}:\n{}", indent(&print(v, false))),
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

/// Prints events as JSON lines from `after` on; with `follow`, polls for new ones every second.
async fn tail<F, Fut, E>(mut events: F, mut after: u64, follow: bool) -> Result<(), E>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<EventsPage, E>>,
{
    loop {
        let page = events(after).await?;
        for e in &page.data {
            println!("{}", serde_json::to_string(e).unwrap_or_default());
        }
        after = page.after;
        if page.has_more {
            continue;
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Prints the latest `limit` requests (failures only with `errors`), oldest first; with `follow`,
/// polls every second for newer ones. `page(filter, after, limit)` reads one page newest first.
async fn requests<F, Fut, E>(
    mut page: F,
    errors: bool,
    follow: bool,
    limit: usize,
    as_json: bool,
) -> Result<(), E>
where
    F: FnMut(RequestFilter, Option<String>, usize) -> Fut,
    Fut: std::future::Future<Output = Result<RequestPage, E>>,
{
    let mut filter = RequestFilter::default();
    if errors {
        filter.statuses = vec![StatusClass::ClientError, StatusClass::ServerError];
    }
    let first = page(filter.clone(), None, limit).await?;
    let mut shown: Vec<RequestRecord> = first.data.into_iter().rev().collect();
    for r in &shown {
        println!("{}", request_line(r, as_json));
    }
    if !follow {
        if shown.is_empty() && !as_json {
            println!("(none)");
        }
        return Ok(());
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        // Everything from the last time shown on, less what was shown (records of the same
        // millisecond), newest first across pages.
        let since = shown.last().map(RequestRecord::at_millis);
        let mut newer = Vec::new();
        let mut after = None;
        loop {
            let f = RequestFilter {
                since,
                ..filter.clone()
            };
            let p = page(f, after.take(), 100).await?;
            newer.extend(p.data);
            match p.list_metadata.after {
                Some(a) if newer.len() < 1_000 => after = Some(a),
                _ => break,
            }
        }
        let seen: std::collections::HashSet<String> = shown.iter().map(|r| r.id.clone()).collect();
        let fresh: Vec<RequestRecord> = newer
            .into_iter()
            .rev()
            .filter(|r| !seen.contains(&r.id))
            .collect();
        for r in &fresh {
            println!("{}", request_line(r, as_json));
        }
        if !fresh.is_empty() {
            shown = fresh;
        }
    }
}

/// One record: a JSON line, or `time status method path  scimType: detail  latency idp events`.
fn request_line(r: &RequestRecord, as_json: bool) -> String {
    if as_json {
        return serde_json::to_string(r).unwrap_or_default();
    }
    let mut line = format!("{}  {}  {:<6} {}", r.at, r.status, r.method, r.path);
    if let Some(q) = &r.query {
        line.push('?');
        line.push_str(q);
    }
    match (&r.scim_type, &r.detail) {
        (Some(t), Some(d)) => line.push_str(&format!("  {t}: {d}")),
        (None, Some(d)) => line.push_str(&format!("  {d}")),
        _ => {}
    }
    line.push_str(&format!("  {}ms", r.latency_ms));
    if let Some(idp) = &r.idp {
        line.push_str(&format!("  {idp}"));
    }
    if !r.events.is_empty() {
        let events: Vec<String> = r.events.iter().map(u64::to_string).collect();
        line.push_str(&format!("  events {}", events.join(",")));
    }
    line
}

/// One command through the management API of a running scim-local: the same answers as the
/// direct commands, since both run the same service functions. `tables create` and
/// `directory check` have no route (scim-local creates its tables; a check reads the tables
/// themselves).
async fn over_api(
    base: &str,
    command: &Command,
    as_json: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let api = ManagementClient::from_env(base).await?;
    if let Command::Events {
        command:
            EventsCommand::Tail {
                directory,
                after,
                event,
                follow,
            },
    } = command
    {
        let filter = event
            .as_deref()
            .map(|e| format!("&event={}", segment(e)))
            .unwrap_or_default();
        let page = |after: u64| {
            let path = format!("{}/events?after={after}&limit=100{filter}", dir(directory));
            let api = &api;
            async move { api.call_as::<EventsPage>(Method::GET, &path, None).await }
        };
        return Ok(tail(page, *after, *follow).await?);
    }
    if let Command::Requests {
        directory,
        errors,
        follow,
        limit,
    } = command
    {
        let page = |filter: RequestFilter, after: Option<String>, limit: usize| {
            let mut path = format!("{}/requests?limit={limit}", dir(directory));
            if !filter.statuses.is_empty() {
                let classes: Vec<&str> = filter.statuses.iter().map(|c| c.as_str()).collect();
                path.push_str(&format!("&status={}", classes.join(",")));
            }
            if let Some(since) = filter.since {
                let at = scim_lambda::clock::format_rfc3339(since);
                path.push_str(&format!("&since={}", segment(&at)));
            }
            if let Some(a) = after {
                path.push_str(&format!("&after={}", segment(&a)));
            }
            let api = &api;
            async move { api.call_as::<RequestPage>(Method::GET, &path, None).await }
        };
        return Ok(requests(page, *errors, *follow, (*limit).into(), as_json).await?);
    }
    let (method, path, body) = route(command)?;
    let out = api.call(method, &path, body).await?;
    println!("{}", print(&out, as_json));
    Ok(())
}

/// A management route: method, path under `/manage` and JSON body.
type Route = (Method, String, Option<Value>);

/// `/directories/{d}`, the directory segment escaped.
fn dir(d: &str) -> String {
    format!("/directories/{}", segment(d))
}

/// A typed request body as JSON.
fn body<T: Serialize>(b: &T) -> Option<Value> {
    Some(shown(b))
}

/// The route a command names (the events tail is paged by `over_api` itself).
fn route(command: &Command) -> Result<Route, Box<dyn std::error::Error>> {
    let days = |d: &Option<u32>| {
        body(&NewCredential {
            expires_in_days: *d,
        })
    };
    Ok(match command {
        Command::Tables { .. } => return Err(tables_only()),
        Command::Directory { command } => directory_route(command).ok_or_else(tables_only)?,
        Command::Token { command } => match command {
            TokenCommand::Issue {
                directory,
                expires_in_days,
            } => (
                Method::POST,
                format!("{}/tokens", dir(directory)),
                days(expires_in_days),
            ),
            TokenCommand::List { directory } => {
                (Method::GET, format!("{}/tokens", dir(directory)), None)
            }
            TokenCommand::Revoke {
                directory,
                token_id,
            } => (
                Method::DELETE,
                format!("{}/tokens/{}", dir(directory), segment(token_id)),
                None,
            ),
        },
        Command::Client { command } => match command {
            ClientCommand::Create {
                directory,
                expires_in_days,
            } => (
                Method::POST,
                format!("{}/clients", dir(directory)),
                days(expires_in_days),
            ),
            ClientCommand::List { directory } => {
                (Method::GET, format!("{}/clients", dir(directory)), None)
            }
            ClientCommand::Revoke {
                directory,
                client_id,
            } => (
                Method::DELETE,
                format!("{}/clients/{}", dir(directory), segment(client_id)),
                None,
            ),
        },
        Command::Webhook { command } => webhook_route(command).ok_or_else(tables_only)?,
        Command::Roles { command } => roles_route(command)?.ok_or_else(tables_only)?,
        Command::Attributes { command } => attributes_route(command)?,
        Command::Portal { command } => portal_route(command),
        Command::Events { .. } => return Err("the events tail is paged, not one route".into()),
        Command::Requests { .. } => return Err("the request log is paged, not one route".into()),
        Command::Console { .. } => return Err("the console serves pages, not one route".into()),
    })
}

/// `None`: `directory check`, which reads the tables and has no route.
fn directory_route(command: &DirectoryCommand) -> Option<Route> {
    Some(match command {
        DirectoryCommand::Create {
            name,
            expires_in_days,
            provider,
        } => (
            Method::POST,
            "/directories".to_string(),
            body(&NewDirectory {
                name: name.clone(),
                expires_in_days: *expires_in_days,
                provider: *provider,
            }),
        ),
        DirectoryCommand::List => (Method::GET, "/directories".to_string(), None),
        DirectoryCommand::Show { id } => (Method::GET, dir(id), None),
        DirectoryCommand::Delete { id } => (Method::DELETE, dir(id), None),
        DirectoryCommand::Auth {
            id,
            bearer,
            client_credentials,
        } => (
            Method::PUT,
            format!("{}/auth", dir(id)),
            body(&AuthMethods {
                bearer: *bearer,
                client_credentials: *client_credentials,
            }),
        ),
        DirectoryCommand::Check { .. } => return None,
    })
}

/// The management call of a webhook command; `None` for one that works on the tables only.
fn webhook_route(command: &WebhookCommand) -> Option<Route> {
    Some(match command {
        WebhookCommand::Migrate => return None,
        WebhookCommand::Set { directory, url } => (
            Method::PUT,
            format!("{}/webhook", dir(directory)),
            body(&WebhookTarget { url: url.clone() }),
        ),
        WebhookCommand::Show { directory } => {
            (Method::GET, format!("{}/webhook", dir(directory)), None)
        }
        WebhookCommand::Delete { directory } => {
            (Method::DELETE, format!("{}/webhook", dir(directory)), None)
        }
        WebhookCommand::Resume {
            directory,
            from_sequence,
        } => (
            Method::PATCH,
            format!("{}/webhook", dir(directory)),
            body(&ResumeDeliveries {
                resume_from_sequence: *from_sequence,
            }),
        ),
    })
}

fn portal_route(command: &PortalCommand) -> Route {
    match command {
        PortalCommand::Link { directory, options } => (
            Method::POST,
            format!("{}/portal-links", dir(directory)),
            body(&options.request()),
        ),
        PortalCommand::Links { directory } => (
            Method::GET,
            format!("{}/portal-links", dir(directory)),
            None,
        ),
        PortalCommand::Revoke { directory, link_id } => (
            Method::DELETE,
            format!("{}/portal-links/{}", dir(directory), segment(link_id)),
            None,
        ),
    }
}

fn tables_only() -> Box<dyn std::error::Error> {
    format!(
        "this command works on the tables, not through the management API: unset \
         {ENV_MANAGEMENT_URL} and export the AWS_ENDPOINT_URL_DYNAMODB scim-local printed"
    )
    .into()
}

/// `--provider NAME`.
fn provider(name: &str) -> Result<Provider, String> {
    Provider::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        format!("must be one of: {}", names.join(", "))
    })
}
