//! What each fuzz target does with one input, kept out of `fuzz_targets/` so that the same calls
//! can be replayed over the committed corpora on stable Rust, without libFuzzer (the main crate's
//! corpus-replay test includes this file with `#[path]`).
//!
//! Each check drives the protocol core the way the API layer does for one request — parse, then
//! plan/evaluate or apply, then normalise — for both resource kinds. Errors are expected for most
//! inputs and ignored; what must never happen is a panic, and the few `assert!`s below state
//! properties the core documents (a printed filter parses back to the same tree, a failed PATCH
//! leaves the resource untouched, a patched body never keeps `password`).
//!
//! Only `scim_lambda` and `serde_json` are used, so this file compiles in either crate.

use std::sync::OnceLock;

use scim_lambda::scim::change;
use scim_lambda::scim::filter::{self, Filter};
use scim_lambda::scim::patch::{self, PatchRequest};
use scim_lambda::scim::path;
use scim_lambda::scim::plan;
use scim_lambda::scim::resource::{self, Meta};
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::scim::v1;
use serde_json::{json, Map, Value};

pub const KINDS: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

/// Filter target: the input is the text of a `filter=` parameter.
pub fn check_filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in KINDS {
        let Ok(parsed) = filter::parse(text, kind) else {
            continue;
        };
        let _ = plan::plan(&parsed, kind);
        let verdicts: Vec<bool> = filter_resources(kind)
            .iter()
            .map(|r| filter::matches(&parsed, r, kind))
            .collect();
        // filter/mod.rs: "`Display` prints a filter that parses back to the same AST".
        let printed = parsed.to_string();
        let reparsed = match filter::parse(&printed, kind) {
            Ok(f) => f,
            Err(e) => panic!(
                "{kind:?} filter {text:?} printed as {printed:?}, which does not parse: {}",
                e.detail
            ),
        };
        assert_same_tree(&parsed, &reparsed, text, &printed);
        let again: Vec<bool> = filter_resources(kind)
            .iter()
            .map(|r| filter::matches(&reparsed, r, kind))
            .collect();
        assert_eq!(
            verdicts, again,
            "printed filter {printed:?} matches differently"
        );
    }
}

fn assert_same_tree(a: &Filter, b: &Filter, text: &str, printed: &str) {
    assert!(
        same_filter(a, b),
        "filter {text:?} printed as {printed:?} parses to a different tree:\n{a:?}\n{b:?}"
    );
}

/// `a == b`, except for floats while serde_json parses them inexactly. Without its
/// `float_roundtrip` feature serde_json may read a float one ULP off, so printing the shortest
/// exact form and reading it back can move it again (`userName lt 0.25e65` prints as
/// `2.5000000000000003e+64`, which reads back as `...06e+64`: fuzz/regressions/filter/). The
/// comparison turns strict by itself once the feature is enabled.
fn same_filter(a: &Filter, b: &Filter) -> bool {
    if exact_floats() {
        return a == b;
    }
    match (a, b) {
        (
            Filter::Compare { path, op, value },
            Filter::Compare {
                path: path_b,
                op: op_b,
                value: value_b,
            },
        ) => path == path_b && op == op_b && same_value(value, value_b),
        (Filter::Present(p), Filter::Present(q)) => p == q,
        (Filter::And(a1, a2), Filter::And(b1, b2)) | (Filter::Or(a1, a2), Filter::Or(b1, b2)) => {
            same_filter(a1, b1) && same_filter(a2, b2)
        }
        (Filter::Not(x), Filter::Not(y)) => same_filter(x, y),
        (
            Filter::ValuePath { path, filter },
            Filter::ValuePath {
                path: path_b,
                filter: filter_b,
            },
        ) => path == path_b && same_filter(filter, filter_b),
        _ => false,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x.signum() == y.signum() && ulps(x, y) <= 4),
                _ => false,
            }
        }
        _ => a == b,
    }
}

fn ulps(x: f64, y: f64) -> u64 {
    (x.abs().to_bits() as i64 - y.abs().to_bits() as i64).unsigned_abs()
}

/// Does the serde_json we are linked with read floats exactly (its `float_roundtrip` feature)?
fn exact_floats() -> bool {
    static EXACT: OnceLock<bool> = OnceLock::new();
    *EXACT.get_or_init(|| {
        "0.25e65"
            .parse::<serde_json::Number>()
            .ok()
            .and_then(|n| n.as_f64())
            == Some(2.5e64)
    })
}

/// Path target: the input is the `path` of one PATCH operation.
pub fn check_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in KINDS {
        let _ = path::parse_path_lenient(text, kind);
        let Ok(parsed) = path::parse_path(text, kind) else {
            continue;
        };
        let _ = parsed.target_sub();
        let printed = parsed.to_string();
        match path::parse_path(&printed, kind) {
            Ok(again) => assert!(
                again.attr == parsed.attr
                    && again.sub == parsed.sub
                    && match (&again.filter, &parsed.filter) {
                        (Some(x), Some(y)) => same_filter(x, y),
                        (x, y) => x == y,
                    },
                "{kind:?} path {text:?} printed as {printed:?} parses to a different path:\n\
                 {parsed:?}\n{again:?}"
            ),
            Err(e) => panic!(
                "{kind:?} path {text:?} printed as {printed:?}, which does not parse: {}",
                e.detail
            ),
        }
    }
}

/// PATCH target: the input is a request body. It is tried as a SCIM 2.0 PatchOp, as a SCIM 1.1
/// partial-resource PATCH, and as a POST/PUT body (2.0 and 1.1), for both kinds.
pub fn check_patch(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for kind in KINDS {
        let _ = resource::incoming(kind, &body);
        let _ = resource::incoming(kind, &v1::resource_from_v1(kind, body.clone()));
        if let Ok(req) = PatchRequest::parse(&body, kind) {
            apply_to_stored(kind, &req);
        }
        if let Ok(req) = v1::patch_from_v1(kind, &body) {
            apply_to_stored(kind, &req);
        }
    }
}

/// What the service's write pipeline does with a parsed PATCH (`scim::change::patch`): apply it
/// to the stored body and normalise the result. Also checks the core's own promises on the way.
fn apply_to_stored(kind: ResourceKind, req: &PatchRequest) {
    let before = stored_resource(kind);
    let mut doc = before.clone();
    match patch::apply(&mut doc, req, kind) {
        Ok(_) => {
            let obj = doc.as_object().expect("apply keeps an object an object");
            assert!(
                !obj.keys().any(|k| k.eq_ignore_ascii_case("password")),
                "a patched body kept password: {doc}"
            );
        }
        Err(_) => assert!(doc == before, "a failed PATCH changed the resource: {doc}"),
    }
    let stored = stored_body(kind);
    let _ = change::patch(kind, ID, &stored, req);
}

/// The stored body a PATCH starts from, as the API builds it: client attributes normalised by
/// `resource::incoming`, plus `id`.
pub fn stored_resource(kind: ResourceKind) -> Value {
    static USER: OnceLock<Value> = OnceLock::new();
    static GROUP: OnceLock<Value> = OnceLock::new();
    let cell = match kind {
        ResourceKind::User => &USER,
        ResourceKind::Group => &GROUP,
    };
    cell.get_or_init(|| {
        let mut body = stored_body(kind);
        body.insert("id".into(), json!(ID));
        Value::Object(body)
    })
    .clone()
}

const ID: &str = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

fn stored_body(kind: ResourceKind) -> Map<String, Value> {
    let raw = match kind {
        ResourceKind::User => json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "userName": "Test_User_00aa00aa@contoso.com",
            "externalId": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            "active": true,
            "displayName": "Bjørn Ström",
            "nickName": "Bear",
            "title": "Engineer",
            "locale": "en-US",
            "name": {"givenName": "Bjørn", "familyName": "Ström", "formatted": "Bjørn Ström"},
            "emails": [
                {"type": "work", "value": "bjorn@contoso.com", "primary": true},
                {"type": "home", "value": "bear@example.org"}
            ],
            "phoneNumbers": [{"type": "mobile", "value": "+1 555 0100"}],
            "addresses": [{"type": "work", "locality": "Oslo", "country": "NO", "primary": true}],
            "roles": [{"value": "admin", "primary": "True"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "department": "R&D",
                "manager": {"value": "0190a1b2-0000-7000-8000-000000000001"}
            }
        }),
        ResourceKind::Group => json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
        }),
    };
    resource::incoming(kind, &raw)
        .expect("the fixture is a valid body")
        .body
}

/// Resources a filter is evaluated against: the stored fixture as the API renders it for a list,
/// a sparse one, and one whose attributes have every wrong shape a sloppy IdP could store
/// (unknown attributes are kept as sent, so this is a reachable body).
pub fn filter_resources(kind: ResourceKind) -> &'static [Value] {
    static USER: OnceLock<Vec<Value>> = OnceLock::new();
    static GROUP: OnceLock<Vec<Value>> = OnceLock::new();
    let cell = match kind {
        ResourceKind::User => &USER,
        ResourceKind::Group => &GROUP,
    };
    cell.get_or_init(|| {
        let meta = Meta {
            created: "2024-05-01T10:00:00Z".into(),
            last_modified: "2024-05-02T11:30:00.5+02:00".into(),
            version: 3,
        };
        let refs = match kind {
            ResourceKind::User => vec![json!({"value": "g1", "display": "Engineering"})],
            ResourceKind::Group => vec![json!({"value": ID, "display": "Bjørn Ström"})],
        };
        let full = resource::render(kind, ID, &stored_body(kind), &meta, "", Some(refs));
        let sparse = resource::render(kind, "x", &Map::new(), &meta, "", None);
        let odd = json!({
            "id": 7,
            "userName": ["a", 1, null],
            "displayName": {"x": 1},
            "active": "False",
            "emails": "bjorn@contoso.com",
            "name": [{"givenName": 1.5e300}],
            "members": {"value": true},
            "meta": {"created": "not a date", "lastModified": 12},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": [1, 2],
            "x": -0.0
        });
        vec![full, sparse, odd]
    })
}
