//! The IAM record (`local` feature only: never in a Lambda binary): every DynamoDB call made for a function (`store::caller`), written down as
//! the IAM action it needs, the table (and index) it names and, for the tokens table, the
//! partition key (what `dynamodb:LeadingKeys` conditions see). On only when `SCIM_IAM_RECORD`
//! names a directory (the test command sets it for the whole suite); each process appends its
//! distinct calls to `<dir>/<pid>.jsonl`, and `tests/it/iam.rs` holds them against the IAM
//! statements of template.yaml. Transactions and batches are split into the item actions IAM
//! authorises them by ("Using IAM with DynamoDB transactions", DynamoDB developer guide).

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Environment variable naming the directory the record goes to.
pub const ENV_RECORD: &str = "SCIM_IAM_RECORD";

/// One distinct call: which function, which IAM action, on what.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Call {
    pub function: String,
    pub action: String,
    pub table: String,
    pub index: Option<String>,
    /// The partition key value, for the tokens table (`None` elsewhere, or a Query).
    pub leading_key: Option<String>,
}

struct Recorder {
    file: std::fs::File,
    seen: HashSet<Call>,
}

fn recorder() -> Option<&'static Mutex<Recorder>> {
    static RECORDER: OnceLock<Option<Mutex<Recorder>>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let dir = std::env::var(ENV_RECORD).ok().filter(|d| !d.is_empty())?;
            std::fs::create_dir_all(&dir).ok()?;
            let path = std::path::Path::new(&dir).join(format!("{}.jsonl", std::process::id()));
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()?;
            Some(Mutex::new(Recorder {
                file,
                seen: HashSet::new(),
            }))
        })
        .as_ref()
}

/// Records the calls an operation `op` with JSON `body` makes, if a function made it and the
/// record is on.
pub fn record(op: &str, body: &[u8]) {
    let (Some(function), Some(recorder)) = (super::caller::current(), recorder()) else {
        return;
    };
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let calls = calls_of(function, op, &body);
    let Ok(mut r) = recorder.lock() else {
        return;
    };
    for call in calls {
        if r.seen.insert(call.clone()) {
            if let Ok(line) = serde_json::to_string(&call) {
                let _ = writeln!(r.file, "{line}");
            }
        }
    }
}

/// The IAM-level calls of one request.
pub fn calls_of(function: &str, op: &str, body: &Value) -> Vec<Call> {
    let tokens_table = super::table_names_from_env().1;
    let call = |action: &str, table: &str, index: Option<&str>, item: Option<&Value>| {
        let leading_key = (table == tokens_table)
            .then(|| item.and_then(|i| i[super::keys::TOKEN_HASH]["S"].as_str()))
            .flatten()
            .map(str::to_string);
        Call {
            function: function.to_string(),
            action: format!("dynamodb:{action}"),
            table: table.to_string(),
            index: index.map(str::to_string),
            leading_key,
        }
    };
    let table = body["TableName"].as_str().unwrap_or_default();
    match op {
        "GetItem" | "UpdateItem" | "DeleteItem" => {
            vec![call(op, table, None, Some(&body["Key"]))]
        }
        "PutItem" => vec![call(op, table, None, Some(&body["Item"]))],
        "Query" | "Scan" => vec![call(op, table, body["IndexName"].as_str(), None)],
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(table, requests)| {
                let keys: Vec<Option<&Value>> = match op {
                    "BatchGetItem" => requests["Keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(Some)
                        .collect(),
                    _ => requests
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| {
                            Some(if r["PutRequest"].is_object() {
                                &r["PutRequest"]["Item"]
                            } else {
                                &r["DeleteRequest"]["Key"]
                            })
                        })
                        .collect(),
                };
                keys.into_iter()
                    .map(|k| call(op, table, None, k))
                    .collect::<Vec<_>>()
            })
            .collect(),
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let (kind, inner) = t.as_object()?.iter().next()?;
                let (action, item) = match kind.as_str() {
                    "Put" => ("PutItem", &inner["Item"]),
                    "Update" => ("UpdateItem", &inner["Key"]),
                    "Delete" => ("DeleteItem", &inner["Key"]),
                    "ConditionCheck" => ("ConditionCheckItem", &inner["Key"]),
                    "Get" => ("GetItem", &inner["Key"]),
                    _ => return None,
                };
                let table = inner["TableName"].as_str().unwrap_or_default();
                Some(call(action, table, None, Some(item)))
            })
            .collect(),
        // Table administration (tests, scimctl): no function calls these.
        other => vec![call(other, table, None, None)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transactions_and_batches_are_their_item_actions() {
        let tx = json!({"TransactItems": [
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"pk": {"S": "b"}}}},
            {"Update": {"TableName": "u", "Key": {"pk": {"S": "c"}}}}
        ]});
        let actions: Vec<(String, String)> = calls_of("users", "TransactWriteItems", &tx)
            .into_iter()
            .map(|c| (c.action, c.table))
            .collect();
        assert_eq!(
            actions,
            [
                ("dynamodb:PutItem".into(), "t".into()),
                ("dynamodb:ConditionCheckItem".into(), "t".into()),
                ("dynamodb:UpdateItem".into(), "u".into())
            ]
        );
        let batch = json!({"RequestItems": {"t": [{"DeleteRequest": {"Key": {}}}]}});
        assert_eq!(
            calls_of("cleanup", "BatchWriteItem", &batch)[0].action,
            "dynamodb:BatchWriteItem"
        );
        let query = json!({"TableName": "scim-tokens", "IndexName": "by-directory"});
        let q = &calls_of("management", "Query", &query)[0];
        assert_eq!(q.index.as_deref(), Some("by-directory"));
    }
}
