//! `scim-local` as a user runs it: the real binary on the embedded store. Its data and its demo
//! directory survive a restart; `--memory` starts empty every time.

use std::path::Path;
use std::process::Stdio;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::http;

/// What one start of scim-local printed, and the running process.
struct Started {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    base_path: String,
    token: String,
    created: bool,
}

async fn start(args: &[&str]) -> Started {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_scim-local"))
        .args(["--port", "0"])
        .args(args)
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("SCIM_PUBLIC_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("scim-local starts");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut url, mut token, mut created) = (String::new(), String::new(), false);
    while let Some(line) = out.next_line().await.unwrap() {
        if let Some(v) = line.strip_prefix("SCIM 2.0 base URL:") {
            url = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Bearer token:") {
            token = v.trim().to_string();
        } else if line.starts_with("demo directory:") {
            created = line.ends_with("(created)");
        } else if line.starts_with("try:") {
            break;
        }
    }
    let listening = loop {
        let line = err
            .next_line()
            .await
            .unwrap()
            .expect("scim-local says where it listens");
        if let Some(v) = line.strip_prefix("scim-local listening on http://") {
            break v.to_string();
        }
    };
    let base_path = url
        .split_once(&listening)
        .map(|(_, p)| p.to_string())
        .expect("the base URL names the bound address");
    Started {
        child,
        addr: listening.parse().unwrap(),
        base_path,
        token,
        created,
    }
}

async fn post_user(s: &Started, name: &str) -> u16 {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    let auth = format!("Bearer {}", s.token);
    let path = format!("{}/Users", s.base_path);
    http(
        s.addr,
        "POST",
        &path,
        Some(body.to_string()),
        &[("authorization", &auth)],
    )
    .await
    .status
}

async fn count_users(s: &Started) -> serde_json::Value {
    let auth = format!("Bearer {}", s.token);
    let path = format!("{}/Users", s.base_path);
    http(s.addr, "GET", &path, None, &[("authorization", &auth)])
        .await
        .body["totalResults"]
        .clone()
}

#[tokio::test]
async fn a_restart_keeps_the_data_and_prints_the_same_directory_and_token() {
    let dir = std::env::temp_dir().join(format!("scim-local-{}", uuid::Uuid::now_v7()));
    let data = dir.join("store.sqlite");
    let data = data.to_str().unwrap();
    let mut first = start(&["--data", data]).await;
    assert!(first.created);
    assert_eq!(post_user(&first, "kept@example.com").await, 201);
    first.child.kill().await.unwrap();

    let mut second = start(&["--data", data]).await;
    assert!(
        !second.created,
        "the second start reuses the demo directory"
    );
    assert_eq!(
        (&second.base_path, &second.token),
        (&first.base_path, &first.token)
    );
    assert_eq!(count_users(&second).await, 1);
    second.child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}

#[tokio::test]
async fn memory_mode_starts_empty_every_time() {
    let mut first = start(&["--memory"]).await;
    assert_eq!(post_user(&first, "gone@example.com").await, 201);
    first.child.kill().await.unwrap();
    let mut second = start(&["--memory"]).await;
    assert!(second.created);
    assert_ne!(second.base_path, first.base_path);
    assert_eq!(count_users(&second).await, 0);
    second.child.kill().await.unwrap();
}
