//! Metrics in CloudWatch Embedded Metric Format (EMF): one JSON line on stdout per request, which
//! CloudWatch Logs turns into metrics — no API call, no extra latency. Namespace `ScimLambda`.
//!
//! Dimensions are of low cardinality only: the function family (`users`, `groups`, `discovery`,
//! `management`) and the status class (`2xx`, `4xx`, `5xx`) — never a directory, user or token.
//! Metrics: `Requests` (count), `Latency` (ms), `DynamoDBCalls` (calls this request made, retries
//! included), `ConsumedReadUnits` / `ConsumedWriteUnits` (the capacity DynamoDB reported for
//! them), `AuthFailures` (count of 401s). A Lambda process serves one request at a time, so the
//! process-wide counters' deltas are the request's own (`store::CALLS`, `store::capacity`).
//!
//! The webhook function adds `WebhookDeliveryFailures` (count, dimension `Family=webhooks`): one
//! line per failed delivery attempt, with the failure's class (`http_4xx`, `timeout`, ...) as a
//! property for Logs Insights, not a dimension (the alarm wants one series).

use serde_json::json;

pub const NAMESPACE: &str = "ScimLambda";

/// What one request cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cost {
    pub latency_ms: u64,
    pub dynamodb_calls: u64,
    pub read_units: f64,
    pub write_units: f64,
}

/// The EMF line of one request.
pub fn request_line(family: &str, status: u16, cost: Cost, now_millis: i64) -> String {
    let class = format!("{}xx", status / 100);
    json!({
        "_aws": {
            "Timestamp": now_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Family", "StatusClass"], ["Family"]],
                "Metrics": [
                    {"Name": "Requests", "Unit": "Count"},
                    {"Name": "Latency", "Unit": "Milliseconds"},
                    {"Name": "DynamoDBCalls", "Unit": "Count"},
                    {"Name": "ConsumedReadUnits", "Unit": "Count"},
                    {"Name": "ConsumedWriteUnits", "Unit": "Count"},
                    {"Name": "AuthFailures", "Unit": "Count"}
                ]
            }]
        },
        "Family": family,
        "StatusClass": class,
        "Requests": 1,
        "Latency": cost.latency_ms,
        "DynamoDBCalls": cost.dynamodb_calls,
        "ConsumedReadUnits": cost.read_units,
        "ConsumedWriteUnits": cost.write_units,
        "AuthFailures": u8::from(status == 401),
    })
    .to_string()
}

/// The metric a failed webhook delivery attempt counts in.
pub const WEBHOOK_DELIVERY_FAILURES: &str = "WebhookDeliveryFailures";

/// The EMF line of one failed webhook delivery attempt; `class` is `webhooks::Failure::class`.
pub fn webhook_failure_line(class: &str, now_millis: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": now_millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Family"]],
                "Metrics": [{"Name": WEBHOOK_DELIVERY_FAILURES, "Unit": "Count"}]
            }]
        },
        "Family": "webhooks",
        WEBHOOK_DELIVERY_FAILURES: 1,
        "FailureClass": class,
    })
    .to_string()
}

/// Whether EMF lines are written: in Lambda only (`AWS_LAMBDA_FUNCTION_NAME` set), where
/// CloudWatch Logs turns them into metrics; locally they would only be noise.
fn in_lambda() -> bool {
    static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some())
}

/// Writes a request's EMF line to stdout (in Lambda).
pub fn emit(family: &str, status: u16, cost: Cost) {
    if in_lambda() {
        println!(
            "{}",
            request_line(family, status, cost, crate::clock::now_millis())
        );
    }
}

/// Writes a failed webhook attempt's EMF line to stdout (in Lambda).
pub fn emit_webhook_failure(class: &str) {
    if in_lambda() {
        println!(
            "{}",
            webhook_failure_line(class, crate::clock::now_millis())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_line_is_emf_with_low_cardinality_dimensions() {
        let cost = Cost {
            latency_ms: 12,
            dynamodb_calls: 1,
            read_units: 1.0,
            write_units: 0.0,
        };
        let line: serde_json::Value =
            serde_json::from_str(&request_line("users", 401, cost, 1_700_000_000_000)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        // Every dimension named exists on the line; every metric named has a number.
        for set in directive["Dimensions"].as_array().unwrap() {
            for d in set.as_array().unwrap() {
                assert!(line[d.as_str().unwrap()].is_string(), "{d}");
            }
        }
        for m in directive["Metrics"].as_array().unwrap() {
            assert!(line[m["Name"].as_str().unwrap()].is_number(), "{m}");
        }
        assert_eq!(line["StatusClass"], "4xx");
        assert_eq!(line["AuthFailures"], 1);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }

    #[test]
    fn a_failed_webhook_attempt_is_one_count_of_one_series() {
        let line: serde_json::Value =
            serde_json::from_str(&webhook_failure_line("http_4xx", 1_700_000_000_000)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ScimLambda");
        assert_eq!(directive["Dimensions"], serde_json::json!([["Family"]]));
        assert_eq!(
            directive["Metrics"][0],
            serde_json::json!({"Name": "WebhookDeliveryFailures", "Unit": "Count"})
        );
        assert_eq!(line["Family"], "webhooks");
        assert_eq!(line["WebhookDeliveryFailures"], 1);
        assert_eq!(line["FailureClass"], "http_4xx");
    }
}
