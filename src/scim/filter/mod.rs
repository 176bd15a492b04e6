//! SCIM filters (RFC 7644 §3.4.2.2): the AST, and the two calls the API layer makes — [`parse`]
//! a `filter=` string into a schema-checked [`Filter`], and test a resource with [`matches`].
//!
//! The work is split by stage: [`lexer`] turns text into tokens, [`parser`] builds the AST with
//! names as the client wrote them, [`resolve`] checks every name against the schema table and
//! rewrites it to its canonical spelling, [`eval`] runs a filter over a resource body.
//! Because names are canonical after [`parse`], the index planner can pattern-match the AST on
//! plain string equality (`path.attr == "userName"`), and `Display` prints a filter that parses
//! back to the same AST.

pub mod datetime;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod resolve;

use std::fmt;

use serde_json::Value;

use super::error::ScimError;
use super::schema::ResourceKind;

pub use eval::{matches, matches_element};

/// An attribute reference (RFC 7644 §3.10): optional schema URN, top-level name, optional
/// sub-attribute. After [`parse`] the names are canonical: `urn` is `None` for core attributes and
/// the extension's canonical URN otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// A core attribute with no sub-attribute.
    pub fn new(attr: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            attr: attr.into(),
            sub: None,
        }
    }

    pub fn with_sub(attr: impl Into<String>, sub: impl Into<String>) -> Self {
        AttrPath {
            urn: None,
            attr: attr.into(),
            sub: Some(sub.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    /// The operator keyword, matched case-insensitively (Ping sends `Eq`).
    pub fn from_keyword(word: &str) -> Option<Self> {
        const OPS: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        OPS.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
            .map(|(_, op)| *op)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// gt/ge/lt/le: the operators RFC 7644 §3.4.2.2 forbids on boolean and binary attributes.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `value` is a String, Number, Bool or Null.
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Value,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: inner filter paths are relative to one element (their `attr` is
    /// the sub-attribute name, `urn` None). `emails[type eq "work"].value eq "a@b"` is represented
    /// as the value path `emails[type eq "work" and value eq "a@b"]`: same meaning, one shape.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    pub fn and(a: Filter, b: Filter) -> Filter {
        Filter::And(Box::new(a), Box::new(b))
    }
    pub fn or(a: Filter, b: Filter) -> Filter {
        Filter::Or(Box::new(a), Box::new(b))
    }
    pub fn negate(a: Filter) -> Filter {
        Filter::Not(Box::new(a))
    }
    pub fn equals(path: AttrPath, value: impl Into<Value>) -> Filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: value.into(),
        }
    }
}

/// Parses a `filter` query parameter (or SearchRequest `filter`) and resolves every attribute
/// against the `kind`'s schema. Errors are 400 `invalidFilter`; syntax errors name the
/// 1-based character position (`at character 14: expected a comparison operator, found "equals"`).
pub fn parse(input: &str, kind: ResourceKind) -> Result<Filter, ScimError> {
    let raw = parser::parse_filter(input).map_err(|e| ScimError::invalid_filter(e.to_string()))?;
    resolve::resolve_filter(raw, kind).map_err(ScimError::invalid_filter)
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Prints the filter in RFC 7644 syntax, parenthesised so that it parses back to the same tree.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => {
                write_operand(f, a, matches!(**a, Filter::Or(..)))?;
                f.write_str(" and ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Or(a, b) => {
                write_operand(f, a, false)?;
                f.write_str(" or ")?;
                write_operand(f, b, matches!(**b, Filter::Or(..)))
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, x: &Filter, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({x})")
    } else {
        write!(f, "{x}")
    }
}

#[cfg(test)]
mod tests;
