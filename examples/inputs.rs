//! Input-handling benchmark (`infra/inputs.sh`): request bodies of hostile and extreme shapes up to
//! the 6 MiB body limit, each taken through what a request does with it before the store — JSON
//! parsing, PATCH parsing, the pure change (`scim::change`), normalisation and validation — and
//! timed. Prints CPU time per MB of body (single thread, so wall time is CPU time) and the answer.
//! The target is well under one second per MB for every shape.

use std::time::Instant;

use scim_lambda::api::MAX_BODY_BYTES;
use scim_lambda::scim::change;
use scim_lambda::scim::patch::PatchRequest;
use scim_lambda::scim::schema::ResourceKind;
use serde_json::{json, Value};

/// What the API does with a body: parse it and compute the change it asks for.
fn handle(kind: ResourceKind, patch: bool, body: &[u8]) -> String {
    if body.len() > MAX_BODY_BYTES {
        return "413".into();
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return "400 invalidSyntax".into(),
    };
    let result = if patch {
        let stored = change::replace(kind, &stored_body(kind)).map(|o| o.body);
        PatchRequest::parse(&value, kind).and_then(|ops| {
            change::patch(kind, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", &stored?, &ops)
        })
    } else {
        change::replace(kind, &value)
    };
    match result {
        Ok(_) => "ok".into(),
        Err(e) => format!("{} {}", e.status, e.scim_type.map_or("", |t| t.as_str())),
    }
}

fn stored_body(kind: ResourceKind) -> Value {
    match kind {
        ResourceKind::User => json!({"userName": "u@x.com", "emails": [{"value": "u@x.com"}]}),
        ResourceKind::Group => json!({"displayName": "g"}),
    }
}

fn id(i: usize) -> String {
    format!("0190a1b2-c3d4-7e5f-8a9b-{i:012}")
}

fn members(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"value": id(i), "display": "A Person"}))
        .collect()
}

fn main() {
    let patch_op = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
    let near_limit = MAX_BODY_BYTES - 1024;
    let shapes: Vec<(&str, ResourceKind, bool, Vec<u8>)> = vec![
        ("POST group, 50,000 members", ResourceKind::Group, false,
            json!({"displayName": "g", "members": members(50_000)}).to_string().into_bytes()),
        ("POST group, 70,000 members (over the cap)", ResourceKind::Group, false,
            json!({"displayName": "g", "members": members(70_000)}).to_string().into_bytes()),
        ("POST group, 50,000 copies of one member", ResourceKind::Group, false,
            json!({"displayName": "g", "members": vec![json!({"value": id(1)}); 50_000]}).to_string().into_bytes()),
        ("PATCH group, one add of 50,000 members", ResourceKind::Group, true,
            json!({"schemas": [patch_op], "Operations": [{"op": "add", "path": "members", "value": members(50_000)}]}).to_string().into_bytes()),
        ("PATCH group, 1,000 ops removing by filter", ResourceKind::Group, true,
            json!({"schemas": [patch_op], "Operations": (0..1_000).map(|i| json!({"op": "remove", "path": format!("members[value eq \"{}\"]", id(i))})).collect::<Vec<_>>()}).to_string().into_bytes()),
        ("PATCH user, 1,001 operations (over the cap)", ResourceKind::User, true,
            json!({"schemas": [patch_op], "Operations": vec![json!({"op": "replace", "path": "title", "value": "t"}); 1_001]}).to_string().into_bytes()),
        ("PATCH user, 1,000 ops adding emails", ResourceKind::User, true,
            json!({"schemas": [patch_op], "Operations": (0..1_000).map(|i| json!({"op": "add", "path": "emails", "value": [{"value": format!("{i}@x.com")}]})).collect::<Vec<_>>()}).to_string().into_bytes()),
        ("PATCH user, path-less value with 20,000 attributes", ResourceKind::User, true,
            json!({"schemas": [patch_op], "Operations": [{"op": "add", "value": (0..20_000).map(|i| (format!("custom{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}]}).to_string().into_bytes()),
        ("POST user, a 6 MB title", ResourceKind::User, false,
            json!({"userName": "u@x.com", "title": "x".repeat(near_limit - 100)}).to_string().into_bytes()),
        ("POST user, 100,000 emails", ResourceKind::User, false,
            json!({"userName": "u@x.com", "emails": (0..100_000).map(|i| json!({"value": format!("{i}@x.com")})).collect::<Vec<_>>()}).to_string().into_bytes()),
        ("POST user, arrays nested 100,000 deep", ResourceKind::User, false,
            format!("{{\"userName\":\"u\",\"title\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes()),
        ("POST user, a 6 MB userName of '%'", ResourceKind::User, false,
            json!({"userName": "%".repeat(near_limit - 100)}).to_string().into_bytes()),
        ("POST user, 200,000 unknown attributes", ResourceKind::User, false,
            json!((0..200_000).map(|i| (format!("a{i}"), json!(i))).chain([("userName".to_string(), json!("u"))]).collect::<serde_json::Map<_, _>>()).to_string().into_bytes()),
        ("PATCH user, filter path with 1,000 or-terms", ResourceKind::User, true,
            json!({"schemas": [patch_op], "Operations": [{"op": "remove", "path": format!("emails[{}]", (0..1_000).map(|i| format!("value eq \"{i}\"")).collect::<Vec<_>>().join(" or "))}]}).to_string().into_bytes()),
    ];
    println!("## Input handling: CPU per MB of request body (parse + change + validate)\n");
    println!("| body | size | answer | ms | ms per MB |");
    println!("|---|---:|---|---:|---:|");
    let mut worst: f64 = 0.0;
    for (name, kind, patch, body) in &shapes {
        let runs = 3;
        let mut best = f64::MAX;
        let mut answer = String::new();
        for _ in 0..runs {
            let t = Instant::now();
            answer = handle(*kind, *patch, body);
            best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        }
        let mb = body.len() as f64 / 1_000_000.0;
        let per_mb = best / mb.max(0.001);
        worst = worst.max(per_mb);
        println!(
            "| {name} | {:.2} MB | {answer} | {best:.1} | {per_mb:.0} |",
            mb
        );
    }
    println!("\nworst: {worst:.0} ms of CPU per MB (target: well under 1,000)");
}
