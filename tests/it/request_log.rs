//! The SCIM request log: every request an IdP sends to a directory's URLs is there to read —
//! newest first, with its status, scimType, detail and the events it committed — and nothing
//! secret ever reaches a table. The server's in-process pipeline stands for the CloudWatch-fed
//! writer; `flush_log` waits for it (no sleeps).

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{json, Value};

use crate::support::{http, Reply, Scim};

/// Every record of the directory through the management API, newest first, page by page.
async fn all_requests(s: &Scim, query: &str) -> Vec<Value> {
    s.flush_log().await;
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let cursor = after
            .as_deref()
            .map(|a| format!("&after={a}"))
            .unwrap_or_default();
        let path = format!(
            "/directories/{}/requests?limit=7{query}{cursor}",
            s.directory
        );
        let r = s.manage("GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["data"].as_array().unwrap().iter().cloned());
        match r.body["list_metadata"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => return out,
        }
    }
}

fn statuses(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect()
}

async fn with_token(s: &Scim, method: &str, path: &str, body: Option<Value>, token: &str) -> Reply {
    s.raw(
        method,
        path,
        body.map(|b| b.to_string()),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("user-agent", "Okta SCIM Client 1.0.0"),
        ],
    )
    .await
}

const WRONG_TOKEN: &str =
    "scim_sk_00000000000000000000000000000000000000000000000000000000deadbeef";

#[tokio::test]
async fn an_okta_replay_is_logged_request_by_request_newest_first() {
    let (s, steps) = crate::replays::replay("okta-v2").await;
    let r = with_token(&s, "GET", &s.v2("/Users"), None, WRONG_TOKEN).await;
    assert_eq!(r.status, 401);

    let log = all_requests(&s, "").await;

    assert_eq!(log.len(), steps + 1, "one record per request");
    let times: Vec<&str> = log.iter().map(|r| r["at"].as_str().unwrap()).collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let wrong = &log[0];
    assert_eq!(wrong["status"], 401);
    assert_eq!(wrong["idp"], "Okta");
    assert!(wrong["detail"].as_str().is_some_and(|d| !d.is_empty()));
    let duplicate = log
        .iter()
        .find(|r| r["status"] == 409)
        .expect("the duplicate userName");
    assert_eq!(duplicate["scim_type"], "uniqueness");
    assert_eq!(duplicate["method"], "POST");
    assert_eq!(duplicate["resource"], "Users");
    assert!(duplicate["request_body"]
        .as_str()
        .unwrap()
        .contains("RunscopeUser4821@example.com"));
    let unknown = log
        .iter()
        .find(|r| r["status"] == 404 && r["resource_id"] == "010101001010101010")
        .expect("the GET of an unknown user");
    assert_eq!(unknown["method"], "GET");
    assert!(unknown["response_body"]
        .as_str()
        .unwrap()
        .contains("\"404\""));
    // Every committed event is named by the request that committed it, exactly once.
    let events = s
        .app
        .store()
        .events(&s.directory, 0, 1_000, &[])
        .await
        .unwrap();
    let mut logged: Vec<u64> = log
        .iter()
        .flat_map(|r| {
            r["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_u64().unwrap())
        })
        .collect();
    logged.sort_unstable();
    // The directory's activation too: the first authenticated request committed it.
    let committed: Vec<u64> = events.data.iter().map(|e| e.sequence).collect();
    assert_eq!(logged, committed);
    let created = log
        .iter()
        .rev()
        .find(|r| r["status"] == 201 && r["resource"] == "Users")
        .unwrap();
    assert_eq!(created["events"].as_array().unwrap().len(), 1, "{created}");
    assert!(log
        .iter()
        .filter(|r| r["status"].as_u64() >= Some(400))
        .all(|r| r["events"] == json!([])));
}

/// A directory with a few requests of every kind: 201, 409, 404, PATCH 200, 401.
async fn arranged() -> (Scim, String) {
    let s = Scim::start().await;
    let id = s.user("ada@example.com").await;
    let dup = s
        .post("/Users", json!({"userName": "ADA@example.com"}))
        .await;
    assert_eq!(dup.status, 409);
    assert_eq!(
        s.get("/Users/0190a0b0-0000-7000-8000-000000000000")
            .await
            .status,
        404
    );
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Ada"}]});
    assert_eq!(s.patch(&format!("/Users/{id}"), patch).await.status, 200);
    assert_eq!(
        with_token(&s, "GET", &s.v2("/Groups"), None, WRONG_TOKEN)
            .await
            .status,
        401
    );
    (s, id)
}

#[tokio::test]
async fn the_log_is_filtered_by_status_class_method_resource_and_time() {
    let (s, id) = arranged().await;

    assert_eq!(
        statuses(&all_requests(&s, "").await),
        [401, 200, 404, 409, 201]
    );
    assert_eq!(
        statuses(&all_requests(&s, "&status=4xx").await),
        [401, 404, 409]
    );
    assert_eq!(
        statuses(&all_requests(&s, "&status=2xx,5xx").await),
        [200, 201]
    );
    assert_eq!(statuses(&all_requests(&s, "&method=patch").await), [200]);
    assert_eq!(statuses(&all_requests(&s, "&resource=Groups").await), [401]);
    let of_ada = all_requests(&s, &format!("&resource=Users&resource_id={id}")).await;
    assert_eq!(statuses(&of_ada), [200]);

    let all = all_requests(&s, "").await;
    let at = |i: usize| all[i]["at"].as_str().unwrap().to_string();
    let window = format!("&since={}&until={}", at(3), at(1));
    assert_eq!(statuses(&all_requests(&s, &window).await), [200, 404, 409]);

    let r = s
        .manage(
            "GET",
            &format!("/directories/{}/requests?status=3xx", s.directory),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = s.manage("GET", "/directories/nope/requests", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

#[tokio::test]
async fn each_page_names_the_directorys_provider_beside_what_the_user_agent_says() {
    let (s, _) = arranged().await;
    s.flush_log().await;
    let r = s
        .manage(
            "GET",
            &format!("/directories/{}/requests?limit=1", s.directory),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["data"][0]["idp"], "Okta");
    assert!(
        r.body["provider"].is_null(),
        "no provider chosen: {}",
        r.body
    );
    assert!(r.body["list_metadata"]["after"].is_string());
}

/// Every attribute value of every item in a table, as text.
async fn table_text(s: &Scim, table: &str) -> String {
    let client = s.app.store().client();
    let mut out = String::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in page.items.unwrap_or_default() {
            out.push_str(&format!("{item:?}\n"));
        }
        match page.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return out,
        }
    }
}

#[tokio::test]
async fn no_password_token_or_client_secret_reaches_either_table() {
    let s = Scim::start().await;
    let user = json!({"userName": "grace@example.com", "password": "Secr3t!"});
    let r = s.post("/Users", user).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": "Secr3t!"}]});
    assert_eq!(s.patch(&format!("/Users/{id}"), patch).await.status, 200);
    let in_query = format!("{}?access_token={}", s.v2("/Users"), s.token);
    assert_eq!(s.send("GET", &in_query, None).await.status, 200);
    assert_eq!(
        with_token(&s, "GET", &s.v2("/Users"), None, WRONG_TOKEN)
            .await
            .status,
        401
    );
    let c = s
        .manage(
            "POST",
            &format!("/directories/{}/clients", s.directory),
            None,
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.body);
    let (client_id, secret) = (
        c.body["client_id"].as_str().unwrap(),
        c.body["client_secret"].as_str().unwrap(),
    );
    let token_path = format!("/oauth2/{}/token", s.directory);
    let form = "application/x-www-form-urlencoded";
    for grant in ["password", "client_credentials"] {
        let secret_sent = if grant == "password" {
            secret
        } else {
            "wrong-Secr3t!"
        };
        let body = format!("grant_type={grant}&client_id={client_id}&client_secret={secret_sent}");
        let r = http(
            s.addr,
            "POST",
            &token_path,
            Some(body),
            &[("content-type", form)],
        )
        .await;
        assert!(r.status >= 400, "{}", r.body);
    }

    let log = all_requests(&s, "").await;
    assert_eq!(statuses(&log), [401, 400, 401, 200, 200, 201]);
    let token_failure = &log[1];
    assert_eq!(token_failure["path"], token_path);
    assert_eq!(
        token_failure["request_body"],
        format!("grant_type=password&client_id={client_id}&client_secret=[redacted]")
    );
    assert_eq!(log[3]["query"], "access_token=[redacted]");
    let stored = format!(
        "{}{}",
        table_text(&s, s.app.store().table()).await,
        table_text(&s, s.app.store().tokens_table()).await
    );
    assert!(stored.contains("REQ#") && stored.contains("[redacted]"));
    for secret in ["Secr3t!", &s.token, WRONG_TOKEN, secret] {
        assert!(!stored.contains(secret), "a table holds {secret}");
    }
}

#[tokio::test]
async fn a_40_kb_request_body_is_stored_capped_with_a_truncation_marker() {
    let s = Scim::start().await;
    let body = json!({"userName": "big@example.com", "title": "t".repeat(40_000)});
    let sent = body.to_string().len();
    let r = s.post("/Users", body).await;
    assert!(r.status < 500, "{}", r.body);

    let log = all_requests(&s, "").await;

    let stored = log[0]["request_body"].as_str().unwrap();
    let marker = format!("…[truncated {} bytes]", sent - 16_384);
    assert!(
        stored.ends_with(&marker),
        "{}",
        &stored[stored.len() - 40..]
    );
    assert_eq!(stored.len(), 16_384 + marker.len());
    assert!(stored.starts_with("{\"userName\":\"big@example.com\""));
}

#[tokio::test]
async fn a_directory_check_skips_the_log_and_a_delete_removes_it() {
    let (s, _) = arranged().await;
    s.flush_log().await;
    let report = s.check().await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    s.delete_directory().await.unwrap();

    let client = s.app.store().client();
    let left = client
        .query()
        .table_name(s.app.store().table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :req)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("DIR#{}", s.directory)))
        .expression_attribute_values(":req", AttributeValue::S("REQ".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(left.count, 0, "{:?}", left.items);
}

/// In Lambda there is no pipeline: the record is one log line, which the CloudWatch Logs
/// subscription hands to the writer; that line is already redacted.
#[tokio::test]
async fn in_lambda_the_record_is_one_redacted_log_line_the_writer_can_read() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let writer = captured.clone();
    scim_lambda::telemetry::init_with_writer(move || writer.clone());
    let s = Scim::start().await;
    // The directory's first request links it (an event of its own); this one is a later one.
    assert_eq!(s.get("/Users").await.status, 200);
    let app = scim_lambda::api::App::new(s.app.store().clone(), None);
    assert!(app.request_log.is_none());
    let body = json!({"userName": "lambda@example.com", "password": "Secr3t!"}).to_string();
    let req = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://h{}", s.v2("/Users")))
        .header("authorization", format!("Bearer {}", s.token))
        .header("content-type", "application/scim+json")
        .header("user-agent", "Okta SCIM Client 1.0.0")
        .body(lambda_http::Body::Text(body))
        .unwrap();

    let resp = scim_lambda::api::handle(&app, scim_lambda::function::Function::Users, req).await;

    assert_eq!(resp.status(), 201);
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let records: Vec<_> = text
        .lines()
        .filter_map(scim_lambda::request_log::RequestRecord::from_log_line)
        .collect();
    assert_eq!(records.len(), 1, "{text}");
    assert_eq!(records[0].status, 201);
    assert_eq!(records[0].events.len(), 1);
    assert!(!text.contains("Secr3t!") && !text.contains(&s.token));

    let done = scim_lambda::service::request_log::record(s.svc(), records)
        .await
        .unwrap();
    assert_eq!(done.stored, 1);
    let log = all_requests(&s, "&method=POST").await;
    assert_eq!(
        log[0]["request_body"],
        r#"{"userName":"lambda@example.com","password":"[redacted]"}"#
    );
}

#[tokio::test]
async fn a_record_of_a_directory_that_does_not_exist_is_dropped() {
    let s = Scim::start().await;
    let r = with_token(
        &s,
        "GET",
        "/scim/v2/0190a0b0-0000-7000-8000-000000000000/Users",
        None,
        WRONG_TOKEN,
    )
    .await;
    assert_eq!(r.status, 401);
    s.flush_log().await;
    let stored = table_text(&s, s.app.store().table()).await;
    assert!(
        !stored.contains("0190a0b0-0000-7000-8000-000000000000"),
        "{stored}"
    );
}
