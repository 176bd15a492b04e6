//! An application keeping a mirror of the directory from the Events API, while 32 IdP writers
//! change it in parallel, DynamoDB cancels transactions (the meter's model of conflicts between
//! calls in flight, and an injected `TransactionConflict` every third transaction), and the
//! process dies several times with requests in flight. Each IdP request is retried until it gets a
//! final answer, as IdPs retry a 5xx. The consumer reads on from its cursor the whole time and
//! applies each event in number order; at the end its mirror equals what the SCIM API lists, and a
//! fresh read of every event lists exactly the numbers it saw: its cursor never passed a number
//! that committed later. Numbers are not asserted dense: gaps are allowed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use scim_lambda::local::meter::{DynamoModel, Fault};
use serde_json::{json, Value};

use crate::support::{Reply, Scim};

const WRITERS: usize = 32;
/// Rounds per writer: each creates a user and takes it through an IdP's usual changes.
const ROUNDS: usize = 2;
const SEED_USERS: usize = 16;
const SHARED_GROUPS: usize = 6;
const CONFLICTS: Fault = Fault::Conflicts { every: 3 };
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// What the IdPs sent and how often the transport failed them.
#[derive(Default)]
struct Tally {
    requests: AtomicUsize,
    retries: AtomicUsize,
    /// Creates answered 409 and deletes 404 on a retry: the attempt that died had committed.
    landed_unanswered: AtomicUsize,
}

/// An IdP connection: retries a 5xx (or 429) until the request gets a final answer.
#[derive(Clone)]
struct Idp {
    scim: Arc<Scim>,
    tally: Arc<Tally>,
}

impl Idp {
    /// The final reply and how many attempts it took.
    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (Reply, usize) {
        for attempt in 1..=300 {
            let r = self.scim.send(method, path, body.clone()).await;
            self.tally.requests.fetch_add(1, Ordering::Relaxed);
            if r.status < 500 && r.status != 429 {
                return (r, attempt);
            }
            self.tally.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(2 * attempt.min(10) as u64)).await;
        }
        panic!("{method} {path}: no final answer after 300 attempts");
    }

    /// A change that must succeed (PATCH, PUT): 200 or 204, retried or not.
    async fn change(&self, method: &str, path: &str, body: Value) {
        let (r, attempts) = self.send(method, path, Some(body.clone())).await;
        assert!(
            r.status == 200 || r.status == 204,
            "{method} {path} {body} (attempt {attempts}): {} {}",
            r.status,
            r.body
        );
    }

    /// A create: 201, or 409 when an earlier attempt failed (it committed, its answer was lost):
    /// then the id is found by the unique `attr`.
    async fn create(&self, kind: &str, attr: &str, value: &str, body: Value) -> String {
        let path = self.scim.v2(&format!("/{kind}"));
        let (r, attempts) = self.send("POST", &path, Some(body)).await;
        match r.status {
            201 => r.body["id"].as_str().unwrap().to_string(),
            409 if attempts > 1 => {
                self.tally.landed_unanswered.fetch_add(1, Ordering::Relaxed);
                let q = format!("/{kind}?filter={attr}%20eq%20%22{value}%22");
                let (found, _) = self.send("GET", &self.scim.v2(&q), None).await;
                assert_eq!(
                    found.body["totalResults"], 1,
                    "{kind} {value}: {}",
                    found.body
                );
                found.body["Resources"][0]["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
            s => panic!("create {kind} {value} (attempt {attempts}): {s} {}", r.body),
        }
    }

    /// A delete: 204, or 404 when an earlier attempt failed (it committed).
    async fn delete(&self, path: &str) {
        let (r, attempts) = self.send("DELETE", path, None).await;
        assert!(
            r.status == 204 || r.status == 404 && attempts > 1,
            "DELETE {path} (attempt {attempts}): {} {}",
            r.status,
            r.body
        );
        if r.status == 404 {
            self.tally.landed_unanswered.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn members(&self, group: &str, op: &str, user: &str) {
        let body = json!({"schemas": [PATCH_OP],
            "Operations": [{"op": op, "path": "members", "value": [{"value": user}]}]});
        self.change("PATCH", &self.scim.v2(&format!("/Groups/{group}")), body)
            .await;
    }
}

fn user_body(user_name: &str, given: &str, family: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name, "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": true}], "active": true})
}

fn group_body(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name, "members": members})
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// One IdP connection's share of the traffic: its own users through create, attribute changes,
/// memberships in groups every writer touches, replacement, deactivation and deletion; its own
/// group created, renamed and sometimes deleted; and changes to users and memberships it shares
/// with other writers.
async fn writer(idp: Idp, w: usize, seeds: Arc<Vec<String>>, shared: Arc<Vec<String>>) {
    let s = &idp.scim;
    let mut own_group = None;
    for r in 0..ROUNDS {
        let name = format!("w{w}r{r}@example.com");
        let u = idp
            .create("Users", "userName", &name, user_body(&name, "W", "R"))
            .await;
        let user_path = s.v2(&format!("/Users/{u}"));
        idp.change(
            "PATCH",
            &user_path,
            patch(json!([
                {"op": "replace", "path": "name.givenName", "value": format!("G{w}-{r}")},
                {"op": "replace", "path": "title", "value": "Engineer"}
            ])),
        )
        .await;
        let (g1, g2) = (
            &shared[(w + r) % SHARED_GROUPS],
            &shared[(w + r + 1) % SHARED_GROUPS],
        );
        idp.members(g1, "add", &u).await;
        idp.members(g2, "add", &u).await;
        match (r, &own_group) {
            (0, None) => {
                let team = format!("team-{w}");
                let g = idp
                    .create("Groups", "displayName", &team, group_body(&team, &[&u]))
                    .await;
                own_group = Some(g);
            }
            (1, Some(g)) => {
                idp.change(
                    "PATCH",
                    &s.v2(&format!("/Groups/{g}")),
                    patch(json!([{"op": "replace", "path": "displayName",
                        "value": format!("team-{w}-renamed")}])),
                )
                .await;
                idp.members(g, "add", &u).await;
            }
            _ => {}
        }
        let renamed = format!("w{w}r{r}b@example.com");
        idp.change(
            "PUT",
            &user_path,
            user_body(&renamed, &format!("W{w}"), &format!("R{r}")),
        )
        .await;
        idp.members(g1, "remove", &u).await;
        // Users and memberships several writers change at once.
        let seed = &seeds[(w + r) % SEED_USERS];
        idp.members(&shared[w % SHARED_GROUPS], "add", seed).await;
        idp.members(
            &shared[(w + 2) % SHARED_GROUPS],
            "remove",
            &seeds[(w + 3 * r) % SEED_USERS],
        )
        .await;
        idp.change(
            "PATCH",
            &s.v2(&format!("/Users/{seed}")),
            patch(json!([{"op": "replace", "path": "title", "value": format!("by w{w}")}])),
        )
        .await;
        if r % 2 == 1 {
            idp.change(
                "PATCH",
                &user_path,
                patch(json!([{"op": "replace", "path": "active", "value": false}])),
            )
            .await;
        }
        if r == 2 {
            idp.delete(&user_path).await;
        }
    }
    if let Some(g) = own_group.filter(|_| w.is_multiple_of(3)) {
        idp.delete(&s.v2(&format!("/Groups/{g}"))).await;
    }
}

/// A user as the mirror keeps it (and as the SCIM API shows it).
#[derive(Debug, Clone, PartialEq)]
struct MirroredUser {
    user_name: Value,
    active: bool,
    given_name: Value,
    family_name: Value,
}

/// The application's copy of the directory, built from events alone.
#[derive(Debug, Default, PartialEq)]
struct Mirror {
    users: BTreeMap<String, MirroredUser>,
    groups: BTreeMap<String, Value>,
    /// (group, user)
    members: BTreeSet<(String, String)>,
}

impl Mirror {
    fn apply(&mut self, event: &Value) {
        let data = &event["data"];
        let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
        match event["event"].as_str().unwrap_or_default() {
            "dsync.user.created" | "dsync.user.updated" => {
                let user = MirroredUser {
                    user_name: data["username"].clone(),
                    active: data["state"] == "active",
                    given_name: data["first_name"].clone(),
                    family_name: data["last_name"].clone(),
                };
                self.users.insert(id(data), user);
            }
            "dsync.user.deleted" => {
                let u = id(data);
                self.users.remove(&u);
                // One event for the user: its memberships go with it.
                self.members.retain(|(_, m)| *m != u);
            }
            "dsync.group.created" | "dsync.group.updated" => {
                self.groups.insert(id(data), data["name"].clone());
            }
            "dsync.group.deleted" => {
                let g = id(data);
                self.groups.remove(&g);
                self.members.retain(|(h, _)| *h != g);
            }
            "dsync.group.user_added" => {
                self.members.insert((id(&data["group"]), id(&data["user"])));
            }
            "dsync.group.user_removed" => {
                self.members
                    .remove(&(id(&data["group"]), id(&data["user"])));
            }
            _ => {}
        }
    }
}

/// One page of the Events API, retried past a dead process; `None` when the read failed.
async fn events_page(scim: &Scim, after: u64) -> Option<Value> {
    let r = scim
        .manage(
            "GET",
            &format!(
                "/directories/{}/events?after={after}&limit=100",
                scim.directory
            ),
            None,
        )
        .await;
    if r.status >= 500 {
        return None;
    }
    assert_eq!(r.status, 200, "events after {after}: {}", r.body);
    Some(r.body)
}

/// What the consumer ends with: its mirror, every number it read in order, its failed reads.
struct Consumed {
    mirror: Mirror,
    seen: Vec<u64>,
    failed_reads: usize,
}

/// Reads on from its cursor until `done` was set before a read that found nothing more.
async fn consume(scim: Arc<Scim>, done: Arc<AtomicBool>) -> Consumed {
    let mut out = Consumed {
        mirror: Mirror::default(),
        seen: Vec::new(),
        failed_reads: 0,
    };
    let mut after = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        let Some(page) = events_page(&scim, after).await else {
            out.failed_reads += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let data = page["data"].as_array().unwrap();
        for e in data {
            let n = e["sequence"].as_u64().unwrap();
            let floor = out.seen.last().copied().unwrap_or(0).max(after);
            assert!(n > floor, "event {n} read after {floor}");
            out.seen.push(n);
            out.mirror.apply(e);
        }
        let next = page["after"].as_u64().unwrap();
        assert!(next >= after, "the cursor went back: {after} -> {next}");
        assert!(
            out.seen.last().is_none_or(|l| next >= *l),
            "the cursor is behind the last event read"
        );
        after = next;
        if page["has_more"] == true {
            continue;
        }
        if data.is_empty() && finished {
            return out;
        }
        // Caught up: poll again shortly, as an application tailing the API would.
        tokio::time::sleep(Duration::from_millis(if data.is_empty() { 10 } else { 3 })).await;
    }
}

/// Every resource of `kind` through SCIM cursor paging.
async fn list_all(scim: &Scim, kind: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = scim.get(&format!("/{kind}?count=50&cursor={cursor}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        all.extend(r.body["Resources"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => return all,
        }
    }
}

/// The directory as the SCIM API lists it, in the mirror's terms.
async fn directory(scim: &Scim) -> Mirror {
    let mut d = Mirror::default();
    for u in list_all(scim, "Users").await {
        let user = MirroredUser {
            user_name: u["userName"].clone(),
            active: u["active"].as_bool().unwrap_or(true),
            given_name: u["name"]["givenName"].clone(),
            family_name: u["name"]["familyName"].clone(),
        };
        d.users.insert(u["id"].as_str().unwrap().to_string(), user);
    }
    for g in list_all(scim, "Groups").await {
        let gid = g["id"].as_str().unwrap().to_string();
        for m in g["members"].as_array().into_iter().flatten() {
            d.members
                .insert((gid.clone(), m["value"].as_str().unwrap().to_string()));
        }
        d.groups.insert(gid, g["displayName"].clone());
    }
    d
}

/// Every event number from 0, read afresh.
async fn all_numbers(scim: &Scim) -> Vec<u64> {
    let (mut numbers, mut after) = (Vec::new(), 0);
    loop {
        let page = events_page(scim, after)
            .await
            .expect("no fault is injected");
        let data = page["data"].as_array().unwrap();
        numbers.extend(data.iter().map(|e| e["sequence"].as_u64().unwrap()));
        after = page["after"].as_u64().unwrap();
        if data.is_empty() && page["has_more"] != true {
            return numbers;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_built_from_events_under_parallel_writers_conflicts_and_crashes_equals_the_directory(
) {
    let scim = Arc::new(Scim::start().await);
    let mut seeds = Vec::new();
    for i in 0..SEED_USERS {
        seeds.push(scim.user(&format!("seed{i}@example.com")).await);
    }
    let mut shared = Vec::new();
    for i in 0..SHARED_GROUPS {
        let members: Vec<&str> = (0..3)
            .map(|k| seeds[(i + k) % SEED_USERS].as_str())
            .collect();
        shared.push(scim.group(&format!("shared{i}"), &members).await);
    }
    let (seeds, shared) = (Arc::new(seeds), Arc::new(shared));

    // Calls held 1 ms (transactions 2 ms), and cancelled when they meet another in flight.
    scim.meter
        .set_model(Some(DynamoModel::with_latency(Duration::from_millis(1))));
    scim.meter.inject(CONFLICTS);
    scim.meter.take();

    let consumer_done = Arc::new(AtomicBool::new(false));
    let consumer = tokio::spawn(consume(Arc::clone(&scim), Arc::clone(&consumer_done)));

    let writers_done = Arc::new(AtomicBool::new(false));
    let crasher = {
        let (meter, done) = (Arc::clone(&scim.meter), Arc::clone(&writers_done));
        tokio::spawn(async move {
            let mut crashes = 0usize;
            loop {
                tokio::time::sleep(Duration::from_millis(1_000)).await;
                if done.load(Ordering::SeqCst) {
                    return crashes;
                }
                // The process dies a few calls from now, with whatever is in flight then; it is
                // down briefly, then restarts (and transactions conflict again).
                meter.inject(Fault::Crash {
                    at: 5 + 7 * (crashes % 4),
                    delivered: crashes.is_multiple_of(2),
                });
                tokio::time::sleep(Duration::from_millis(30)).await;
                meter.inject(CONFLICTS);
                crashes += 1;
            }
        })
    };

    let tally = Arc::new(Tally::default());
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let idp = Idp {
            scim: Arc::clone(&scim),
            tally: Arc::clone(&tally),
        };
        writers.spawn(writer(idp, w, Arc::clone(&seeds), Arc::clone(&shared)));
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    writers_done.store(true, Ordering::SeqCst);
    let crashes = crasher.await.unwrap();
    scim.meter.clear();
    scim.meter.set_model(None);
    let calls = scim.meter.take();
    // Nothing is in flight now: a block a dead request left (if any) may be passed.
    scim.age_event_blocks().await;
    consumer_done.store(true, Ordering::SeqCst);
    let consumed = consumer.await.unwrap();

    let dir = directory(&scim).await;
    assert_eq!(
        consumed.mirror.users, dir.users,
        "the mirror's users differ from the directory's"
    );
    assert_eq!(
        consumed.mirror.groups, dir.groups,
        "the mirror's groups differ"
    );
    assert_eq!(
        consumed.mirror.members, dir.members,
        "the mirror's memberships differ"
    );
    let fresh = all_numbers(&scim).await;
    assert_eq!(
        consumed.seen, fresh,
        "the consumer's cursor passed numbers that committed later"
    );
    let report = scim.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    let count = |f: &dyn Fn(&scim_lambda::local::meter::Call) -> bool| {
        calls.calls.iter().filter(|c| f(c)).count()
    };
    let conflict = |c: &scim_lambda::local::meter::Call| {
        c.reasons.iter().any(|r| r == "TransactionConflict")
            || c.error.as_deref() == Some("TransactionConflictException")
    };
    let modelled = count(&|c| conflict(c) && !c.delay.is_zero());
    let injected = count(&|c| conflict(c) && c.delay.is_zero());
    let died = count(&|c| c.error.as_deref() == Some("InjectedCrash"));
    let requests = tally.requests.load(Ordering::Relaxed);
    let retries = tally.retries.load(Ordering::Relaxed);
    let landed = tally.landed_unanswered.load(Ordering::Relaxed);
    println!(
        "{WRITERS} writers: {requests} requests ({retries} retried after a 5xx, {landed} creates/deletes had landed unanswered), {crashes} crashes \
         ({died} calls died), {} DynamoDB calls, conflicts {modelled} modelled + {injected} injected; \
         consumer: {} events to number {}, {} failed reads; directory: {} users, {} groups, {} memberships",
        calls.round_trips(),
        consumed.seen.len(),
        consumed.seen.last().copied().unwrap_or(0),
        consumed.failed_reads,
        dir.users.len(),
        dir.groups.len(),
        dir.members.len(),
    );
    assert!(crashes > 0 && died > 0, "no crash hit the workload");
    assert!(retries > 0, "no request was retried");
}
