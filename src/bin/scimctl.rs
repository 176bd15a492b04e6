//! `scimctl`: the admin CLI — tables, directories, tokens — against whatever DynamoDB endpoint the
//! environment names. Every command prints human text, or one JSON document with `--json`.

use clap::{Parser, Subcommand};
use scim_lambda::admin::{self, Admin};
use scim_lambda::store::Store;

#[derive(Parser)]
#[command(name = "scimctl", about = "Manage SCIM directories and bearer tokens")]
struct Cli {
    /// Print one JSON document instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
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
