//! Request-by-request replays of each IdP's documented sequences (tests/replays/<idp>/NN-*.json,
//! each step citing its source), sent over HTTP to the local server on an empty directory.
//!
//! Step format: `request` {method, path relative to the SCIM base URL, headers, body}, `expect`
//! {status, body (subset match), absent (top-level keys)}, `capture` {name: JSON pointer}.
//! `${name}` in paths and bodies (request and expected) is replaced by an earlier capture.
//!
//! Each step's directory events are asserted twice: against the protocol (a failed request or
//! a read emits nothing; a 201 emits the resource's created event first; a 204 DELETE exactly one
//! deleted event; a PUT/PATCH only its resource's updated and membership events) and against
//! `expect.events`, the names the step emits in order (`REPLAY_RECORD_EVENTS=1` writes them
//! into the step files; review the diff).
//!
//! A step may instead be the application's: `manage` {method, path relative to `/manage`, body}
//! (declaring roles, assigning them: the `-roles` folders). `${directory}` is the directory's
//! id. With roles assigned, a group's member change or delete may also emit
//! `dsync.user.updated` for the users whose roles it changed — only for those, and naming only
//! `role`/`roles` in `previous_attributes`.

use std::collections::HashMap;

use serde_json::Value;

use crate::support::Scim;

fn substitute(v: &Value, vars: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => Value::String(substitute_str(s, vars)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (substitute_str(k, vars), substitute(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn substitute_str(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = s.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// Every key of `want` is in `got` with an equal value; arrays: each wanted element matches some
/// element of `got`.
fn subset(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, wv)| g.get(k).is_some_and(|gv| subset(wv, gv))),
        (Value::Array(w), Value::Array(g)) => w.iter().all(|wv| g.iter().any(|gv| subset(wv, gv))),
        (w, g) => w == g,
    }
}

/// Replays `folder` on a fresh server; returns the server and how many requests it sent.
pub(crate) async fn replay(folder: &str) -> (Scim, usize) {
    let s = Scim::start().await;
    let dir = format!("{}/tests/replays/{folder}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no steps in {dir}");
    let steps = files.len();
    let base = if folder.ends_with("-v1") {
        s.v1("")
    } else {
        s.v2("")
    };
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("directory".into(), s.directory.clone());
    let mut failures = Vec::new();
    let mut cursor = 0;
    let record = std::env::var("REPLAY_RECORD_EVENTS").is_ok_and(|v| v == "1");
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let step: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let manage = step.get("manage").is_some();
        let req = substitute(&step[if manage { "manage" } else { "request" }], &vars);
        let method = req["method"].as_str().unwrap();
        let path = if manage {
            req["path"].as_str().unwrap().to_string()
        } else {
            format!("{base}{}", req["path"].as_str().unwrap())
        };
        let r = if manage {
            let body = req.get("body").filter(|b| !b.is_null()).cloned();
            s.manage(method, &path, body).await
        } else {
            let mut headers: Vec<(String, String)> = req["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| {
                            (k.to_lowercase(), v.as_str().unwrap_or_default().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !headers.iter().any(|(k, _)| k == "authorization") {
                headers.push(("authorization".into(), format!("Bearer {}", s.token)));
            }
            let header_refs: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let body = req.get("body").filter(|b| !b.is_null()).map(|b| match b {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
            s.raw(method, &path, body, &header_refs).await
        };
        let expect = substitute(&step["expect"], &vars);
        let mut problems = Vec::new();
        if expect["status"].as_u64() != Some(u64::from(r.status)) {
            problems.push(format!("status {} (want {})", r.status, expect["status"]));
        }
        if let Some(want) = expect.get("body").filter(|b| !b.is_null()) {
            if !subset(want, &r.body) {
                problems.push(format!("body lacks {want}"));
            }
        }
        for key in expect["absent"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if r.body.get(key).is_some() {
                problems.push(format!("body has \"{key}\""));
            }
        }
        for (var, pointer) in step["capture"].as_object().into_iter().flatten() {
            match r.body.pointer(pointer.as_str().unwrap_or_default()) {
                Some(Value::String(v)) => {
                    vars.insert(var.clone(), v.clone());
                }
                Some(other) => {
                    vars.insert(var.clone(), other.to_string());
                }
                None => problems.push(format!("nothing at {pointer} to capture as {var}")),
            }
        }
        let page = s
            .app
            .store()
            .events(&s.directory, cursor, 1_000, &[])
            .await
            .unwrap();
        cursor = page.after;
        let events: Vec<&scim_lambda::events::Event> = page
            .data
            .iter()
            .filter(|e| e.event != "dsync.activated")
            .collect();
        let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
        // The application's own steps: only what `expect.events` says.
        if !manage {
            problems.extend(protocol_problems(
                method,
                req["path"].as_str().unwrap(),
                r.status,
                &r.body,
                &events,
            ));
        }
        if record {
            let mut step = step.clone();
            step["expect"]["events"] = serde_json::json!(names);
            let text = serde_json::to_string_pretty(&step).unwrap() + "\n";
            std::fs::write(&file, text).unwrap();
        } else if let Some(want) = step["expect"].get("events") {
            if *want != serde_json::json!(names) {
                problems.push(format!("events {names:?} (want {want})"));
            }
        } else {
            problems.push(format!("no expect.events (emitted {names:?})"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{folder}/{name} {method} {path}: {}\n    got: {}",
                problems.join("; "),
                r.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} step(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    (s, steps)
}

/// What the protocol says a step may emit (besides the directory's activation).
fn protocol_problems(
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
    events: &[&scim_lambda::events::Event],
) -> Vec<String> {
    let path = path.split('?').next().unwrap_or_default();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let kind = match segs.first() {
        Some(&"Users") => "user",
        Some(&"Groups") => "group",
        _ => "",
    };
    let id_of =
        |e: &scim_lambda::events::Event| e.data["id"].as_str().unwrap_or_default().to_string();
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: &str| {
        if !ok {
            problems.push(format!("events break the protocol: {what}"));
        }
    };
    if status >= 300 || method == "GET" || kind.is_empty() || (method == "POST" && segs.len() > 1) {
        expect(events.is_empty(), "a read or a failure emitted events");
        return problems;
    }
    let created = format!("dsync.{kind}.created");
    let updated = format!("dsync.{kind}.updated");
    let deleted = format!("dsync.{kind}.deleted");
    let membership = |e: &&&scim_lambda::events::Event| {
        e.event == "dsync.group.user_added" || e.event == "dsync.group.user_removed"
    };
    // A group change's consequences for its members' roles: each a user.updated naming only
    // role/roles, for a user whose membership this step changed (or whose group it deleted).
    let (role_changes, events): (
        Vec<&scim_lambda::events::Event>,
        Vec<&scim_lambda::events::Event>,
    ) = events.iter().partition(|e| {
        kind == "group"
            && e.event == "dsync.user.updated"
            && e.data["previous_attributes"]
                .as_object()
                .is_some_and(|p| p.keys().all(|k| k == "role" || k == "roles"))
    });
    let events = &events[..];
    let touched: Vec<String> = events
        .iter()
        .filter(|e| membership(e))
        .map(|e| {
            e.data["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    for e in &role_changes {
        expect(
            method == "DELETE" || touched.contains(&id_of(e)),
            &format!(
                "a role change of {} whose membership this step did not change",
                id_of(e)
            ),
        );
    }
    match method {
        "POST" => {
            let id = body["id"].as_str().unwrap_or_default();
            expect(
                events
                    .first()
                    .is_some_and(|e| e.event == created && id_of(e) == id),
                "a 201 starts with its created event",
            );
            expect(
                events[1.min(events.len())..]
                    .iter()
                    .all(|e| membership(&e) && e.data["group"]["id"] == id),
                "a create's other events add its members",
            );
        }
        "DELETE" => {
            let id = segs.get(1).copied().unwrap_or_default();
            expect(
                events.len() == 1 && events[0].event == deleted && id_of(events[0]) == id,
                "a DELETE is exactly one deleted event",
            );
        }
        _ => {
            let id = segs.get(1).copied().unwrap_or_default();
            expect(
                events.iter().all(|e| {
                    (e.event == updated && id_of(e) == id)
                        || (membership(&e) && e.data["group"]["id"] == id)
                }),
                "a PUT/PATCH emits only its resource's updated and membership events",
            );
            expect(
                events.iter().filter(|e| e.event == updated).count() <= 1,
                "at most one updated event per request",
            );
        }
    }
    problems
}

macro_rules! replays {
    ($($test:ident => $folder:literal),* $(,)?) => {
        $(#[tokio::test]
        async fn $test() {
            replay($folder).await;
        })*
    };
}

replays! {
    okta_scim_2_0 => "okta-v2",
    okta_scim_1_1 => "okta-v1",
    entra_default_mode => "entra-v2",
    entra_aad_opt_scim_062020_mode => "entra-flag-v2",
    entra_validator_and_postman => "entra-validator-v2",
    pingone_scim_2_0 => "pingone-v2",
    pingone_scim_1_1 => "pingone-v1",
    pingfederate => "pingfederate-v2",
    onelogin => "onelogin-v2",
    jumpcloud => "jumpcloud-v2",
    okta_push_groups_with_roles => "okta-v2-roles",
    entra_group_assignment_with_roles => "entra-v2-roles",
}

#[test]
fn every_replay_folder_is_run() {
    let dir = format!("{}/tests/replays", env!("CARGO_MANIFEST_DIR"));
    let mut folders: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    assert_eq!(
        folders,
        [
            "entra-flag-v2",
            "entra-v2",
            "entra-v2-roles",
            "entra-validator-v2",
            "jumpcloud-v2",
            "okta-v1",
            "okta-v2",
            "okta-v2-roles",
            "onelogin-v2",
            "pingfederate-v2",
            "pingone-v1",
            "pingone-v2"
        ]
    );
}
