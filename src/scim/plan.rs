//! Turns a filter into a lookup plan: which index answers it without reading the whole directory.
//!
//! The IdPs' lookups — `userName eq`, `externalId eq`, `id eq`, `emails[.value] eq`,
//! `displayName eq` (Groups), alone or under `and` — become index lookups; `or` of indexed terms
//! becomes a union. Anything else is evaluated over the directory's items page by page (a Query of
//! the directory's partition, never a table Scan). Candidates from an index are always re-checked
//! against the whole filter, so a plan only has to be a superset.

use serde_json::Value;

use super::filter::{CompareOp, Filter};
use super::schema::ResourceKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Id(String),
    UserName(String),
    ExternalId(String),
    Email(String),
    DisplayName(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Union of the ids these lookups find.
    Lookups(Vec<Lookup>),
    /// Evaluate over every resource of the kind in the directory.
    Partition,
}

impl Lookup {
    /// Lower is more selective: unique lookups first.
    fn rank(&self) -> u8 {
        match self {
            Lookup::Id(_) => 0,
            Lookup::UserName(_) => 1,
            Lookup::ExternalId(_) => 2,
            Lookup::Email(_) => 3,
            Lookup::DisplayName(_) => 4,
        }
    }
}

pub fn plan(filter: &Filter, kind: ResourceKind) -> Plan {
    match lookups(filter, kind) {
        Some(l) => Plan::Lookups(l),
        None => Plan::Partition,
    }
}

fn lookups(filter: &Filter, kind: ResourceKind) -> Option<Vec<Lookup>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(v),
        } if path.urn.is_none() => {
            let attr = path.attr.as_str();
            let sub = path.sub.as_deref();
            let l = match (kind, attr, sub) {
                (_, "id", None) => Lookup::Id(v.clone()),
                (_, "externalId", None) => Lookup::ExternalId(v.clone()),
                (ResourceKind::User, "userName", None) => Lookup::UserName(v.clone()),
                (ResourceKind::User, "emails", None | Some("value")) => Lookup::Email(v.clone()),
                (ResourceKind::Group, "displayName", None) => Lookup::DisplayName(v.clone()),
                _ => return None,
            };
            Some(vec![l])
        }
        // emails[type eq "work" and value eq "x"] and emails[type eq "work"].value eq "x"
        Filter::ValuePath { path, filter }
            if kind == ResourceKind::User && path.attr == "emails" =>
        {
            email_in(filter).map(|e| vec![Lookup::Email(e)])
        }
        Filter::And(a, b) => match (lookups(a, kind), lookups(b, kind)) {
            (Some(x), Some(y)) => {
                let best = |l: &Vec<Lookup>| l.iter().map(Lookup::rank).max().unwrap_or(u8::MAX);
                Some(if best(&y) < best(&x) && y.len() <= x.len() {
                    y
                } else {
                    x
                })
            }
            (Some(x), None) | (None, Some(x)) => Some(x),
            (None, None) => None,
        },
        Filter::Or(a, b) => {
            let mut x = lookups(a, kind)?;
            x.extend(lookups(b, kind)?);
            Some(x)
        }
        _ => None,
    }
}

/// The email a value filter pins down (`value eq "x"`, possibly under `and`).
fn email_in(f: &Filter) -> Option<String> {
    match f {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: Value::String(v),
        } if path.attr == "value" && path.sub.is_none() => Some(v.clone()),
        Filter::And(a, b) => email_in(a).or_else(|| email_in(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter::parse;

    fn p(f: &str, kind: ResourceKind) -> Plan {
        plan(&parse(f, kind).unwrap(), kind)
    }

    #[test]
    fn idp_lookups_use_indexes() {
        let u = ResourceKind::User;
        assert_eq!(
            p("userName eq \"A\"", u),
            Plan::Lookups(vec![Lookup::UserName("A".into())])
        );
        assert_eq!(
            p("USERNAME Eq \"A\"", u),
            Plan::Lookups(vec![Lookup::UserName("A".into())])
        );
        assert_eq!(
            p("externalId eq \"x\"", u),
            Plan::Lookups(vec![Lookup::ExternalId("x".into())])
        );
        assert_eq!(
            p("emails.value eq \"e\"", u),
            Plan::Lookups(vec![Lookup::Email("e".into())])
        );
        assert_eq!(
            p("emails eq \"e\"", u),
            Plan::Lookups(vec![Lookup::Email("e".into())])
        );
        assert_eq!(
            p("emails[type eq \"work\"].value eq \"e\"", u),
            Plan::Lookups(vec![Lookup::Email("e".into())])
        );
        assert_eq!(
            p("displayName eq \"g\"", ResourceKind::Group),
            Plan::Lookups(vec![Lookup::DisplayName("g".into())])
        );
    }

    #[test]
    fn and_prefers_the_unique_lookup() {
        assert_eq!(
            p(
                "emails.value eq \"e\" and userName eq \"a\"",
                ResourceKind::User
            ),
            Plan::Lookups(vec![Lookup::UserName("a".into())])
        );
        assert_eq!(
            p("userName eq \"a\" and active eq true", ResourceKind::User),
            Plan::Lookups(vec![Lookup::UserName("a".into())])
        );
    }

    #[test]
    fn or_of_lookups_is_a_union_and_anything_else_reads_the_partition() {
        assert_eq!(
            p("userName eq \"a\" or userName eq \"b\"", ResourceKind::User),
            Plan::Lookups(vec![
                Lookup::UserName("a".into()),
                Lookup::UserName("b".into())
            ])
        );
        assert_eq!(p("userName sw \"a\"", ResourceKind::User), Plan::Partition);
        assert_eq!(
            p("userName eq \"a\" or active eq true", ResourceKind::User),
            Plan::Partition
        );
        assert_eq!(
            p("displayName eq \"a\"", ResourceKind::User),
            Plan::Partition
        );
    }
}
