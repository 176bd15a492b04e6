//! Brings a client's value into the schema's shape before it is stored: Entra's `"True"` and
//! `"False"` strings become booleans, a bare id becomes a reference object, sub-attribute names
//! become canonical, and values of the wrong shape are refused with 400 invalidValue.

use serde_json::{Map, Value};

use crate::scim::error::ScimError;
use crate::scim::filter::eval::{get_ci, lenient_bool};
use crate::scim::schema::{find, AttrDef, AttrType, Mutability};

/// A single-valued complex attribute with a `value` sub-attribute refers to another resource
/// (enterprise `manager`): it is set whole, and may be given as the bare id.
pub(super) fn is_reference(d: &AttrDef) -> bool {
    d.ty == AttrType::Complex && !d.multi && find(d.sub, "value").is_some()
}

/// Brings an incoming value into the schema's shape: booleans from Entra's `"True"`/`"False"`,
/// a bare id for a reference, one object for a multi-valued attribute, canonical sub-attribute
/// names, read-only sub-attributes dropped (RFC 7643 §2.2: ignored). `def` None (unknown
/// extension): kept as sent.
pub(super) fn coerce_attr(def: Option<&AttrDef>, v: Value, name: &str) -> Result<Value, ScimError> {
    let Some(d) = def else {
        return Ok(v);
    };
    if !d.multi {
        return coerce_value(d, v, name);
    }
    let items = match v {
        Value::Null => return Ok(Value::Null),
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let item = coerce_value(d, item, name)?;
        if !item.is_null() {
            out.push(item);
        }
    }
    Ok(Value::Array(out))
}

/// One element of a multi-valued complex attribute (`emails[...]` values, filter-built elements).
pub(super) fn coerce_element(
    def: Option<&AttrDef>,
    v: Value,
    name: &str,
) -> Result<Value, ScimError> {
    match (def, v) {
        (_, Value::Null) => Ok(Value::Null),
        (Some(d), v) => coerce_value(d, v, name),
        (None, v @ Value::Object(_)) => Ok(v),
        (None, _) => Err(ScimError::invalid_value(format!(
            "the value for \"{name}[...]\" must be an object"
        ))),
    }
}

pub(super) fn coerce_sub(
    sub_def: Option<&AttrDef>,
    v: Value,
    name: &str,
    sub: &str,
) -> Result<Value, ScimError> {
    match sub_def {
        Some(d) => coerce_value(d, v, &format!("{name}.{sub}")),
        None => Ok(v),
    }
}

/// One value of attribute `d` (one element, if `d` is multi-valued).
fn coerce_value(d: &AttrDef, v: Value, name: &str) -> Result<Value, ScimError> {
    if v.is_null() {
        return Ok(v);
    }
    match d.ty {
        AttrType::Complex => {
            let v = match v {
                // Entra: `{"op":"Add","path":"...:manager","value":"<id>"}`.
                Value::String(id) if is_reference(d) => {
                    if id.is_empty() {
                        return Ok(Value::Null);
                    }
                    let mut m = Map::new();
                    m.insert("value".to_owned(), Value::String(id));
                    Value::Object(m)
                }
                v => v,
            };
            let Value::Object(m) = v else {
                return Err(ScimError::invalid_value(format!(
                    "\"{name}\" is a complex attribute; its value must be an object, not {}",
                    json_kind(&v)
                )));
            };
            let mut out = Map::new();
            for (k, sv) in m {
                match find(d.sub, &k) {
                    Some(sd) if sd.mutability == Mutability::ReadOnly => {}
                    Some(sd) => {
                        let sv = coerce_value(sd, sv, &format!("{name}.{}", sd.name))?;
                        out.insert(sd.name.to_owned(), sv);
                    }
                    // Sub-attributes the schema does not name are kept as sent (lenient).
                    None => {
                        out.insert(k, sv);
                    }
                }
            }
            // An empty reference (`{"value": ""}`) means "no manager".
            if is_reference(d) && get_ci(&out, "value").is_none_or(is_blank) {
                return Ok(Value::Null);
            }
            Ok(Value::Object(out))
        }
        // Entra sends `"True"`/`"False"` for `active` and `primary` (Entra SCIM compatibility
        // page); anything else for a boolean is a client error, not something to store.
        AttrType::Boolean => match &v {
            Value::Bool(_) => Ok(v),
            Value::String(s) => lenient_bool(s).map(Value::Bool).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "\"{name}\" is a boolean; {v} is not true or false"
                ))
            }),
            _ => Err(ScimError::invalid_value(format!(
                "\"{name}\" is a boolean; {v} is not true or false"
            ))),
        },
        _ => match v {
            Value::Array(_) | Value::Object(_) => Err(ScimError::invalid_value(format!(
                "\"{name}\" takes a single value, not {}",
                json_kind(&v)
            ))),
            v => Ok(v),
        },
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Null or the empty string: "no value" for a reference like `manager`.
pub(super) fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}
