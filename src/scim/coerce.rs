//! The one rule set that brings a client's value into the schema's shape before it is stored, for
//! POST, PUT and every PATCH operation alike (each value is coerced once, where it enters):
//! - Entra's `"True"`/`"False"` strings become booleans (Entra SCIM compatibility page);
//! - a bare id, or `{"value": id}`, for a reference (enterprise `manager`) becomes the reference
//!   object; an empty one means "no manager";
//! - a number or boolean where a string belongs keeps its text (`employeeNumber: 42`);
//! - a lone object where a multi-valued attribute belongs is a one-element list, and a list holds
//!   at most `MAX_MULTI_VALUES` values;
//! - sub-attribute names become canonical, read-only sub-attributes are dropped (RFC 7643 §2.2:
//!   ignored), write-only attributes (`password`) are never kept;
//! - null, `[]` and `{}` mean "unassigned" (RFC 7643 §2.5) and come back as null;
//! - anything else of the wrong shape is refused with 400 invalidValue.

use serde_json::{Map, Value};

use crate::scim::error::ScimError;
use crate::scim::filter::eval::{get_ci, lenient_bool};
use crate::scim::schema::{find, AttrDef, AttrType, Mutability};

/// Most values one multi-valued attribute may hold (bounds the work of every later comparison).
pub const MAX_MULTI_VALUES: usize = 20;

/// A single-valued complex attribute with a `value` sub-attribute refers to another resource
/// (enterprise `manager`): it is set whole, and may be given as the bare id.
pub fn is_reference(d: &AttrDef) -> bool {
    d.ty == AttrType::Complex && !d.multi && find(d.sub, "value").is_some()
}

/// A whole attribute's value. `def` None (an attribute no schema names): kept as sent. Null
/// means "unassigned": store nothing.
pub fn coerce_attr(def: Option<&AttrDef>, v: Value, name: &str) -> Result<Value, ScimError> {
    let Some(d) = def else {
        return Ok(v);
    };
    if d.mutability == Mutability::WriteOnly {
        return Ok(Value::Null);
    }
    if !d.multi {
        return coerce_value(d, v, name);
    }
    let items = match v {
        Value::Null => return Ok(Value::Null),
        Value::Array(items) => items,
        other => vec![other],
    };
    check_count(items.len(), name)?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let item = coerce_value(d, item, name)?;
        if !item.is_null() {
            out.push(item);
        }
    }
    Ok(if out.is_empty() {
        Value::Null
    } else {
        Value::Array(out)
    })
}

/// The multi-valued cap, for a list as sent or as a PATCH leaves it.
pub fn check_count(n: usize, name: &str) -> Result<(), ScimError> {
    if n > MAX_MULTI_VALUES {
        return Err(ScimError::invalid_value(format!(
            "\"{name}\" has more than {MAX_MULTI_VALUES} values"
        )));
    }
    Ok(())
}

/// One element of a multi-valued complex attribute (`emails[...]` values, filter-built elements).
pub fn coerce_element(def: Option<&AttrDef>, v: Value, name: &str) -> Result<Value, ScimError> {
    match (def, v) {
        (_, Value::Null) => Ok(Value::Null),
        (Some(d), v) => coerce_value(d, v, name),
        (None, v @ Value::Object(_)) => Ok(v),
        (None, _) => Err(ScimError::invalid_value(format!(
            "the value for \"{name}[...]\" must be an object"
        ))),
    }
}

pub fn coerce_sub(
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
            // An empty reference (`{"value": ""}`) means "no manager"; `{}` means nothing.
            if out.is_empty() || is_reference(d) && get_ci(&out, "value").is_none_or(is_blank) {
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
        AttrType::Integer | AttrType::Decimal => match v {
            Value::Number(_) => Ok(v),
            _ => Err(ScimError::invalid_value(format!(
                "\"{name}\" is a number, not {}",
                json_kind(&v)
            ))),
        },
        // String, reference, dateTime, binary.
        _ => match v {
            Value::Array(_) | Value::Object(_) => Err(ScimError::invalid_value(format!(
                "\"{name}\" takes a single value, not {}",
                json_kind(&v)
            ))),
            // Lenient: a number or boolean where a string belongs keeps its text.
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
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
pub fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}
