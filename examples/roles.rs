//! What roles cost (`infra/roles-bench.sh`, docs/roles.md quotes it): on the embedded DynamoDB
//! behind the meter, a directory of `--users` users and one group of `--group` members, built as
//! Okta pushes (POST /Users, PATCH adds of 100 members), then
//!
//! 1. one member added to and removed from a group with no role assignment, and from a mapped
//!    group: round trips, items read and written, WRU (the cost of role resolution per change);
//! 2. the big group assigned a role (`PUT …/role-assignments`, run as the service runs it, with a
//!    15-minute budget): wall time, `dsync.user.updated` events, round trips, WRU; then the same
//!    assignment again (nothing changes: only reads).
//!
//! Users are bulk-loaded; they hold no resolved role until something resolves them.
//!
//! Prints a markdown table. Latencies are on the emulator, on a shared machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use scim_lambda::api::App;
use scim_lambda::local::embedded;
use scim_lambda::local::meter::{IdempotencyTokens, Meter, Usage};
use scim_lambda::roles::{Assignment, RoleCatalogue, RoleDef};
use scim_lambda::scim::resource::Meta;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::roles::{self, PutAssignments};
use scim_lambda::service::{directories, PublicUrl};
use scim_lambda::store::{deadline, Record, Store, DEFAULT_TABLE, DEFAULT_TOKENS_TABLE};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(about = "What roles from groups cost, on the embedded DynamoDB")]
struct Args {
    #[arg(long, default_value_t = 50_000)]
    users: usize,
    #[arg(long, default_value_t = 50_000)]
    group: usize,
}

#[derive(Clone)]
struct Idp {
    http: Client<HttpConnector, Full<Bytes>>,
    base: String,
    token: String,
}

impl Idp {
    async fn send(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request");
        let resp = self.http.request(req).await.expect("local server answers");
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn members(op: &str, ids: &[String]) -> Value {
    let value: Vec<Value> = ids.iter().map(|u| json!({ "value": u })).collect();
    if op == "remove" {
        return json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}]});
    }
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": value}]})
}

fn row(what: &str, u: &Usage, seconds: f64, events: Option<u64>) {
    println!(
        "| {what} | {} | {} | {} | {:.0} | {} | {:.2} |",
        u.round_trips(),
        u.items_read(),
        u.items_written(),
        u.write_units(),
        events.map_or("–".into(), |e| e.to_string()),
        seconds
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let endpoint = embedded::start(&embedded::Storage::Memory).await?;
    let meter = Meter::start(&endpoint, IdempotencyTokens::Drop).await?;
    let store = Store::local(meter.endpoint(), DEFAULT_TABLE, DEFAULT_TOKENS_TABLE);
    store.create_tables().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public = format!("http://{}", listener.local_addr()?);
    let app = Arc::new(App::new(store.clone(), Some(public.clone())));
    tokio::spawn(scim_lambda::local::serve(listener, Arc::clone(&app), None));
    let svc = &app.service;
    let d = directories::create(svc, &PublicUrl::new(&public), "roles", None, None).await?;
    let dir = d.directory.id.clone();
    let idp = Idp {
        http: Client::builder(TokioExecutor::new()).build_http(),
        base: d.directory.scim_v2_url.clone(),
        token: d.token.clone(),
    };
    roles::put_catalogue(
        svc,
        RoleCatalogue {
            roles: ["admin", "member"]
                .map(|s| RoleDef {
                    slug: s.into(),
                    name: s.into(),
                    description: None,
                })
                .to_vec(),
            default: Some("member".into()),
        },
    )
    .await?;

    let started = Instant::now();
    // Users are bulk-loaded (BatchWriteItem, as `scimctl` migrates a directory): the import is
    // not what this measures, and through POST it would take most of the run.
    let now = scim_lambda::clock::now_rfc3339();
    let records: Vec<Record> = (0..args.users)
        .map(|i| {
            let body = json!({"userName": format!("user{i:06}@example.com"), "active": true});
            Record::new(
                uuid::Uuid::now_v7().to_string(),
                body.as_object().cloned().unwrap_or_default(),
                Meta {
                    created: now.clone(),
                    last_modified: now.clone(),
                    version: 1,
                },
            )
        })
        .collect();
    for chunk in records.chunks(1_000) {
        store.bulk_load(&dir, ResourceKind::User, chunk).await?;
    }
    let users: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let group = |name: &str| {
        let idp = idp.clone();
        let name = name.to_string();
        async move {
            let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": name});
            let (status, v) = idp.send("POST", "/Groups", &body).await;
            assert_eq!(status, 201, "{v}");
            v["id"].as_str().unwrap().to_string()
        }
    };
    let (big, plain, mapped) = (
        group("big").await,
        group("plain").await,
        group("mapped").await,
    );
    for chunk in users[..args.group].chunks(100) {
        let (status, v) = idp
            .send("PATCH", &format!("/Groups/{big}"), &members("add", chunk))
            .await;
        assert!(status < 300, "{v}");
    }
    eprintln!(
        "built {} users and a {}-member group in {:.0} s",
        args.users,
        args.group,
        started.elapsed().as_secs_f64()
    );
    let assign = |pairs: Vec<(String, &str)>| PutAssignments {
        assignments: pairs
            .into_iter()
            .map(|(g, r)| Assignment {
                group_id: g,
                role: r.into(),
            })
            .collect(),
        default: None,
    };
    roles::put_assignments(svc, &dir, assign(vec![(mapped.clone(), "admin")])).await?;

    println!(
        "## Roles: {} users, a {}-member group\n",
        args.users, args.group
    );
    println!(
        "| what | round trips | items read | items written | WRU | user.updated events | seconds |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let one = vec![users[args.users - 1].clone()];
    for (what, g) in [("group with no role", &plain), ("mapped group", &mapped)] {
        for op in ["add", "remove"] {
            meter.take();
            let t = Instant::now();
            let (status, v) = idp
                .send("PATCH", &format!("/Groups/{g}"), &members(op, &one))
                .await;
            assert!(status < 300, "{v}");
            row(
                &format!("{op} one member, {what}"),
                &meter.take(),
                t.elapsed().as_secs_f64(),
                None,
            );
        }
    }
    for label in [
        "assign a role to the big group",
        "the same assignment again",
    ] {
        meter.take();
        let t = Instant::now();
        let put = assign(vec![(mapped.clone(), "admin"), (big.clone(), "admin")]);
        let view = deadline::within(
            Duration::from_secs(900),
            roles::put_assignments(svc, &dir, put),
        )
        .await?;
        row(
            label,
            &meter.take(),
            t.elapsed().as_secs_f64(),
            Some(view.sync.users_updated),
        );
    }
    Ok(())
}
