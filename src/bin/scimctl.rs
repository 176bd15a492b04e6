//! `scimctl`: the admin CLI — tables, directories, tokens — against whatever DynamoDB endpoint the
//! environment names, or, with `SCIM_MANAGEMENT_URL`, against a running `scim-local`'s management
//! API (with its management key). Every command prints human text, or one JSON document with
//! `--json`.

use clap::{Parser, Subcommand};
use hyper::Method;
use scim_lambda::admin::{self, Admin};
use scim_lambda::management_client::{segment, ManagementClient, ENV_MANAGEMENT_URL};
use scim_lambda::store::Store;
use serde_json::{json, Value};

#[derive(Parser)]
#[command(name = "scimctl", about = "Manage SCIM directories and bearer tokens")]
struct Cli {
    /// Print one JSON document instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// A running scim-local's management API (e.g. http://127.0.0.1:8080/manage) instead of the
    /// tables; the key comes from SCIM_MANAGEMENT_KEY or .local/scim-local.management-key.
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
    /// A directory's webhook: where its events are POSTed, signed.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
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
    if let Some(url) = cli.management_url.as_deref().filter(|u| !u.is_empty()) {
        if let Err(e) = over_api(url, &cli.command, cli.json).await {
            eprintln!("scimctl: {e}");
            std::process::exit(1);
        }
        return;
    }
    let admin = Admin::new(Store::from_env().await);
    let result = match cli.command {
        Command::Tables {
            command: TablesCommand::Create,
        } => admin.create_tables().await,
        Command::Directory { command } => match command {
            DirectoryCommand::Create {
                name,
                expires_in_days,
            } => admin.create_directory(&name, expires_in_days).await,
            DirectoryCommand::List => admin.list_directories().await,
            DirectoryCommand::Show { id } => admin.show_directory(&id).await,
            DirectoryCommand::Delete { id } => admin.delete_directory(&id).await,
            DirectoryCommand::Check { id, repair } => admin.check_directory(&id, repair).await,
            DirectoryCommand::Auth {
                id,
                bearer,
                client_credentials,
            } => {
                let methods = scim_lambda::store::directories::AuthMethods {
                    bearer,
                    client_credentials,
                };
                admin.set_auth_methods(&id, methods).await
            }
        },
        Command::Token { command } => match command {
            TokenCommand::Issue {
                directory,
                expires_in_days,
            } => admin.issue_token(&directory, expires_in_days).await,
            TokenCommand::List { directory } => admin.list_tokens(&directory).await,
            TokenCommand::Revoke {
                directory,
                token_id,
            } => admin.revoke_token(&directory, &token_id).await,
        },
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
            let page = |after| admin.events(&directory, after, 100, &types);
            if let Err(e) = tail(page, after, follow).await {
                eprintln!("scimctl: {e}");
                std::process::exit(1);
            }
            return;
        }
        Command::Client { command } => match command {
            ClientCommand::Create {
                directory,
                expires_in_days,
            } => admin.create_client(&directory, expires_in_days).await,
            ClientCommand::List { directory } => admin.list_clients(&directory).await,
            ClientCommand::Revoke {
                directory,
                client_id,
            } => admin.revoke_client(&directory, &client_id).await,
        },
        Command::Webhook { command } => match command {
            WebhookCommand::Set { directory, url } => admin.set_webhook(&directory, &url).await,
            WebhookCommand::Show { directory } => admin.webhook(&directory).await,
            WebhookCommand::Delete { directory } => admin.delete_webhook(&directory).await,
            WebhookCommand::Resume {
                directory,
                from_sequence,
            } => admin.resume_webhook(&directory, from_sequence).await,
        },
    };
    match result {
        Ok(out) => {
            println!("{}", admin::print(&out, cli.json));
            let unrepaired = out["problems"].as_array().is_some_and(|p| !p.is_empty())
                && out["repaired"] != serde_json::Value::Bool(true);
            if unrepaired {
                std::process::exit(3);
            }
        }
        Err(e) => {
            eprintln!("scimctl: {e}");
            std::process::exit(1);
        }
    }
}

/// Prints events as JSON lines from `after` on; with `follow`, polls for new ones every second.
async fn tail<F, Fut, E>(mut events: F, mut after: u64, follow: bool) -> Result<(), E>
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = Result<Value, E>>,
{
    loop {
        let page = events(after).await?;
        for e in page["data"].as_array().into_iter().flatten() {
            println!("{e}");
        }
        after = page["after"].as_u64().unwrap_or(after);
        if page["has_more"] == true {
            continue;
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// One command through the management API of a running scim-local: the same answers as the
/// direct commands, since both run `Admin`. `tables create` and `directory check` have no route
/// (scim-local creates its tables; a check reads the tables themselves).
async fn over_api(
    base: &str,
    command: &Command,
    as_json: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let api = ManagementClient::from_env(base)?;
    let dir = |d: &str| format!("/directories/{}", segment(d));
    let days = |d: &Option<u32>| Some(json!({ "expires_in_days": d }));
    let (method, path, body) = match command {
        Command::Tables { .. } => return Err(tables_only()),
        Command::Directory { command } => match command {
            DirectoryCommand::Create {
                name,
                expires_in_days,
            } => (
                Method::POST,
                "/directories".to_string(),
                Some(json!({"name": name, "expires_in_days": expires_in_days})),
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
                Some(json!({"bearer": bearer, "client_credentials": client_credentials})),
            ),
            DirectoryCommand::Check { .. } => return Err(tables_only()),
        },
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
        Command::Webhook { command } => match command {
            WebhookCommand::Set { directory, url } => (
                Method::PUT,
                format!("{}/webhook", dir(directory)),
                Some(json!({ "url": url })),
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
                Some(json!({ "resume_from_sequence": from_sequence })),
            ),
        },
        Command::Events {
            command:
                EventsCommand::Tail {
                    directory,
                    after,
                    event,
                    follow,
                },
        } => {
            let filter = event
                .as_deref()
                .map(|e| format!("&event={}", segment(e)))
                .unwrap_or_default();
            let page = |after: u64| {
                let path = format!("{}/events?after={after}&limit=100{filter}", dir(directory));
                let api = &api;
                async move { api.call(Method::GET, &path, None).await }
            };
            return Ok(tail(page, *after, *follow).await?);
        }
    };
    let out = api.call(method, &path, body).await?;
    println!("{}", admin::print(&out, as_json));
    Ok(())
}

fn tables_only() -> Box<dyn std::error::Error> {
    format!(
        "this command works on the tables, not through the management API: unset \
         {ENV_MANAGEMENT_URL} and export the AWS_ENDPOINT_URL_DYNAMODB scim-local printed"
    )
    .into()
}
