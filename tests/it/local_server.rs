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
    /// The `management key:` line.
    management_key: String,
}

async fn start(args: &[&str]) -> Started {
    start_in(&std::env::temp_dir(), args).await
}

/// scim-local started in `cwd` (where its default `.local/` lives).
async fn start_in(cwd: &Path, args: &[&str]) -> Started {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_scim-local"))
        .current_dir(cwd)
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
    let mut management_key = String::new();
    while let Some(line) = out.next_line().await.unwrap() {
        if let Some(v) = line.strip_prefix("SCIM 2.0 base URL:") {
            url = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Bearer token:") {
            token = v.trim().to_string();
        } else if line.starts_with("demo directory:") {
            created = line.ends_with("(created)");
        } else if let Some(v) = line.strip_prefix("management key:") {
            management_key = v.trim().to_string();
        } else if line.starts_with("scimctl via API:") {
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
    // Keep reading what it writes later (logs): a closed pipe would fail its writes.
    tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
    tokio::spawn(async move { while let Ok(Some(_)) = err.next_line().await {} });
    Started {
        child,
        addr: listening.parse().unwrap(),
        base_path,
        token,
        created,
        management_key,
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

async fn list_directories(s: &Started, key: &str) -> crate::support::Reply {
    let auth = format!("Bearer {key}");
    http(
        s.addr,
        "GET",
        "/manage/directories",
        None,
        &[("authorization", &auth)],
    )
    .await
}

/// scimctl run in `cwd` against `s`'s management API, with `env`: (exit code, stdout, stderr).
fn scimctl(cwd: &Path, s: &Started, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .current_dir(cwd)
        .env_remove("SCIM_MANAGEMENT_KEY")
        .env("SCIM_MANAGEMENT_URL", format!("http://{}/manage", s.addr))
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("scimctl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_management_key_survives_a_restart_and_scimctl_finds_it() {
    let dir = std::env::temp_dir().join(format!("scim-local-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut first = start_in(&dir, &[]).await;
    let key = first.management_key.clone();
    assert!(key.starts_with("scim_mk_") && key.len() == 8 + 64, "{key}");
    let file = dir.join(".local/scim-local.management-key");
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), key);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner reads the key file");
    }
    assert_eq!(list_directories(&first, "").await.status, 401);
    let listed = list_directories(&first, &key).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    first.child.kill().await.unwrap();

    let mut second = start_in(&dir, &[]).await;
    assert_eq!(second.management_key, key, "the key survives a restart");
    assert_eq!(list_directories(&second, &key).await.status, 200);

    // scimctl in the same directory reads the key file; SCIM_MANAGEMENT_KEY overrides it.
    let (code, out, err) = scimctl(
        &dir,
        &second,
        &[],
        &["--json", "directory", "create", "--name", "Acme"],
    );
    assert_eq!(code, 0, "{err}");
    let created: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(created["token"].as_str().unwrap().starts_with("scim_sk_"));
    let (code, out, err) = scimctl(&dir, &second, &[], &["--json", "directory", "list"]);
    assert_eq!(code, 0, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{out}");
    let elsewhere = std::env::temp_dir();
    let (code, _, err) = scimctl(
        &elsewhere,
        &second,
        &[("SCIM_MANAGEMENT_KEY", &key)],
        &["directory", "list"],
    );
    assert_eq!(code, 0, "{err}");
    let wrong = format!("scim_mk_{}", "0".repeat(64));
    let (code, _, err) = scimctl(
        &dir,
        &second,
        &[("SCIM_MANAGEMENT_KEY", &wrong)],
        &["directory", "list"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    second.child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
