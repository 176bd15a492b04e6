//! The event size cap: an event is at most [`MAX_EVENT_BYTES`] as the Events API, webhooks and
//! EventBridge carry it. A larger one omits its largest parts, each replaced by
//! `"{field}_omitted": true` ([`fit`]), so its item fits DynamoDB's 400 KB, its EventBridge
//! entry 256 KB, and every write the store accepts commits with its event.

use serde_json::{json, Value};

/// Largest event, as its JSON envelope (`id`, `event`, `directory_id`, `sequence`, `created_at`,
/// `data`) is stored and delivered: the Events API's element, the webhook body, the EventBridge
/// `Detail`. Below an EventBridge entry's 256 KB with room for `Source` and `DetailType`
/// (PutEvents entry size, EventBridge User Guide "Calculating PutEvents event entry size"), below
/// the 256 KiB SQS message the webhook rule delivers (the bus adds about 300 bytes of envelope),
/// and below DynamoDB's 400 KB item with the event's other attributes.
pub const MAX_EVENT_BYTES: usize = 200_000;
/// What the envelope around `data` may take: `{"id":"event_" + 32 hex,"event":…,"directory_id":…,
/// "sequence":20 digits,"created_at":…,"data":}` is under 300 bytes with a 64-byte directory id.
pub const ENVELOPE_BYTES: usize = 1_000;
/// Largest `data`, so that the envelope holds `MAX_EVENT_BYTES`.
pub const MAX_DATA_BYTES: usize = MAX_EVENT_BYTES - ENVELOPE_BYTES;
/// Suffix of the marker that says a field was left out of an event for size.
pub const OMITTED_SUFFIX: &str = "_omitted";

pub(crate) fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())
}

/// Makes `data` at most `budget` bytes of JSON by omitting its largest parts, each replaced by
/// `"{field}_omitted": true` in the same object, in this order: `raw_attributes` (the whole SCIM
/// resource, and its old values in `previous_attributes`), then `custom_attributes`, then the
/// largest remaining field that is not an object; at each step the copy inside
/// `previous_attributes` goes before the current value. `id` and `directory_id` (ours, short) are
/// kept, so a consumer can fetch the whole resource through the management API.
pub fn fit(data: &mut Value, budget: usize) {
    while json_len(data) > budget {
        let mut best: Option<(Rank, Vec<String>)> = None;
        candidates(data, &mut Vec::new(), false, &mut best);
        match best {
            Some((_, path)) => omit(data, &path),
            // Nothing left to omit (unreachable for the normalised objects): keep the ids.
            None => {
                let keep = |k: &str| {
                    data.get(k)
                        .filter(|v| json_len(v) <= 256)
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                *data = json!({"id": keep("id"), "directory_id": keep("directory_id"),
                    "data_omitted": true});
                return;
            }
        }
    }
}

/// Which part to omit first: the lowest rank. (tier, outside `previous_attributes`, smaller).
type Rank = (u8, bool, std::cmp::Reverse<usize>);

fn candidates(
    v: &Value,
    path: &mut Vec<String>,
    in_previous: bool,
    best: &mut Option<(Rank, Vec<String>)>,
) {
    let Some(m) = v.as_object() else { return };
    for (k, child) in m {
        if k == "id" || k == "directory_id" || k.ends_with(OMITTED_SUFFIX) {
            continue;
        }
        let tier = match k.as_str() {
            "raw_attributes" => 0,
            "custom_attributes" => 1,
            _ if child.is_object() => {
                path.push(k.clone());
                candidates(child, path, in_previous || k == "previous_attributes", best);
                path.pop();
                continue;
            }
            _ => 2,
        };
        let rank = (tier, !in_previous, std::cmp::Reverse(json_len(child)));
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            let mut p = path.clone();
            p.push(k.clone());
            *best = Some((rank, p));
        }
    }
}

fn omit(data: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = data;
    for p in parents {
        match at.get_mut(p) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Some(m) = at.as_object_mut() {
        m.remove(last);
        m.insert(format!("{last}{OMITTED_SUFFIX}"), Value::Bool(true));
    }
}

/// An event's `data` from its stored text, held to the cap: events stored before it (up to
/// DynamoDB's 400 KB) are cut as new ones are, so no reader delivers more than `MAX_EVENT_BYTES`.
pub fn stored_data(text: &str) -> Option<Value> {
    let mut data: Value = serde_json::from_str(text).ok()?;
    // The text is the compact JSON `fit` measures (`Value::to_string`).
    if text.len() > MAX_DATA_BYTES {
        fit(&mut data, MAX_DATA_BYTES);
    }
    Some(data)
}
