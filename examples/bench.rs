//! `cargo run --release --example bench [USERS]` (or `infra/bench.sh`): figures for the paging and
//! membership targets, measured through the real handlers against the DynamoDB endpoint the
//! environment names (moto locally). Prints items read per page — the number that decides cost on
//! DynamoDB — and wall-clock medians, which on moto are only indicative.

use std::time::Instant;

use lambda_http::{Body, Request};
use scim_lambda::admin::Admin;
use scim_lambda::api::{self, App, Family};
use scim_lambda::clock;
use scim_lambda::scim::resource::{self, Meta};
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::store::{Record, Store};
use serde_json::{json, Value};

struct Bench {
    app: App,
    dir: String,
    token: String,
}

impl Bench {
    async fn call(
        &self,
        family: Family,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let req: Request = lambda_http::http::Request::builder()
            .method(method)
            .uri(format!("http://bench/scim/v2/{}{path}", self.dir))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json")
            .body(
                body.map(|b| Body::from(b.to_string()))
                    .unwrap_or(Body::Empty),
            )
            .unwrap();
        let resp = api::handle(&self.app, family, req).await;
        let status = resp.status().as_u16();
        let v = match resp.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, v)
    }

    fn reads(&self) -> u64 {
        self.app.store.items_read()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Items read and latency of each request of one measurement.
#[derive(Default)]
struct Measure {
    reads: Vec<u64>,
    millis: Vec<f64>,
}

impl Measure {
    /// GET through the Users handler, recording what it read; returns the body.
    async fn get(&mut self, b: &Bench, path: &str) -> Value {
        let (r0, t0) = (b.reads(), Instant::now());
        let (status, body) = b.call(Family::Users, "GET", path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        self.reads.push(b.reads() - r0);
        self.millis.push(t0.elapsed().as_secs_f64() * 1000.0);
        body
    }

    fn print(&self, name: &str) {
        let mut r = self.reads.clone();
        r.sort();
        println!(
            "{name:<44} pages {:>4}  items read/page: median {:>5}  max {:>6}  total {:>7}  latency median {:>7.1} ms",
            r.len(),
            r.get(r.len() / 2).copied().unwrap_or(0),
            r.last().copied().unwrap_or(0),
            r.iter().sum::<u64>(),
            median(self.millis.clone())
        );
    }
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let page = 100;
    let store = Store::from_env().await;
    store.create_tables().await.unwrap();
    let admin = Admin::with_public_url(store.clone(), "http://bench");
    let d = admin.create_directory("bench", None).await.unwrap();
    let b = Bench {
        app: App::new(store.clone(), Some("http://bench".into())),
        dir: d["id"].as_str().unwrap().into(),
        token: d["token"].as_str().unwrap().into(),
    };

    let t = Instant::now();
    let now = clock::now_rfc3339();
    let users: Vec<Record> = (0..n)
        .map(|i| Record {
            id: uuid::Uuid::now_v7().to_string(),
            body: resource::incoming(
                ResourceKind::User,
                &json!({"userName": format!("user{i:06}@example.com"), "name": {"givenName": "U", "familyName": format!("{i}")},
                        "emails": [{"value": format!("user{i:06}@example.com"), "type": "work", "primary": true}]}),
            )
            .unwrap()
            .body,
            meta: Meta { created: now.clone(), last_modified: now.clone(), version: 1 },
        })
        .collect();
    store
        .bulk_load(&b.dir, ResourceKind::User, &users)
        .await
        .unwrap();
    println!(
        "seeded {n} users in {:.1} s (BatchWriteItem)",
        t.elapsed().as_secs_f64()
    );

    // 1. Pages without an anchor (a client jumping backwards through the directory): what every
    //    page would cost if the items before it were re-read. Three pages (90, 50, 10 % in).
    let mut m = Measure::default();
    let starts: Vec<usize> = (1..=n).step_by(page).collect();
    for i in [starts.len() * 9 / 10, starts.len() / 2, starts.len() / 10] {
        m.get(&b, &format!("/Users?startIndex={}&count={page}", starts[i]))
            .await;
    }
    m.print("index paging, no anchor (pages at 90/50/10 %)");

    // 2. Index paging front to back, as an importer does: anchors make each page read one page.
    let mut m = Measure::default();
    let mut start = 1;
    while m
        .get(&b, &format!("/Users?startIndex={start}&count={page}"))
        .await["Resources"]
        .as_array()
        .map_or(0, Vec::len)
        == page
    {
        start += page;
    }
    m.print("index paging, front to back (anchors)");

    // 3. Cursor paging.
    let mut m = Measure::default();
    let mut cursor = String::new();
    while let Some(c) = m
        .get(&b, &format!("/Users?count={page}&cursor={cursor}"))
        .await["nextCursor"]
        .as_str()
    {
        cursor = c.to_string();
    }
    m.print("cursor paging");

    // 4. IdP lookups.
    let mut m = Measure::default();
    for i in (0..n).step_by((n / 50).max(1)) {
        let body = m
            .get(
                &b,
                &format!("/Users?filter=userName%20eq%20%22USER{i:06}@example.com%22"),
            )
            .await;
        assert_eq!(body["totalResults"].as_u64(), Some(1));
    }
    m.print("filter userName eq (index)");

    // 5. Okta's "replace members" with the full list: 10,000 members, then a one-member change.
    let members: Vec<Value> = users
        .iter()
        .take(10_000)
        .map(|u| json!({"value": u.id}))
        .collect();
    let (_, g) = b
        .call(
            Family::Groups,
            "POST",
            "/Groups",
            Some(json!({"displayName": "Everyone"})),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    let replace = |m: &[Value]| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "members", "value": m}]})
    };
    let t = Instant::now();
    let (status, _) = b
        .call(
            Family::Groups,
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(replace(&members)),
        )
        .await;
    println!(
        "replace members with {} ids: status {status}, {:.1} s",
        members.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let r0 = b.reads();
    let (status, _) = b
        .call(
            Family::Groups,
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(replace(&members[1..])),
        )
        .await;
    println!(
        "replace members, one removed from {}: status {status}, {:.1} s, {} items read",
        members.len(),
        t.elapsed().as_secs_f64(),
        b.reads() - r0
    );
    let t = Instant::now();
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": users[0].id}]}]});
    let (status, _) = b
        .call(
            Family::Groups,
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(add),
        )
        .await;
    println!(
        "add one member to a {}-member group: status {status}, {:.1} ms",
        members.len() - 1,
        t.elapsed().as_secs_f64() * 1000.0
    );

    admin.delete_directory(&b.dir).await.unwrap();
}
