//! Recursive-descent parser for the RFC 7644 §3.4.2.2 filter grammar and the §3.5.2 PATCH `path`
//! grammar. It builds a [`Filter`] whose names are exactly as written; checking them against the
//! schema is [`super::resolve`]'s job.
//!
//! Precedence is `not` > `and` > `or`, both binary operators left-associative, as the RFC's
//! precedence note requires. Leniencies, each something a real client sends or a reading of the
//! RFC errata: keywords and operators in any case; `not` directly before `(` without a space
//! (errata 7319); `or`/`and`/parentheses inside `[...]` (errata 7322). Nested `[...]` is refused
//! (errata 4690).
//!
//! Depth and size are capped so that neither parsing nor the recursive evaluation, `Drop` and
//! `Display` of the tree can exhaust the stack, whatever a client (or fuzzer) sends.

use serde_json::Value;

use super::lexer::{clip, tokenize, SyntaxError, Tok, Token};
use super::{AttrPath, CompareOp, Filter};
use crate::scim::schema::split_urn;

/// Deepest nesting of `(`, `not` and `[` accepted. Real IdP filters nest two or three levels.
pub const MAX_DEPTH: usize = 32;
/// Most attribute expressions in one filter. `and`/`or` chains build a tree as deep as they are
/// long; this keeps that depth harmless on a 2 MiB async worker stack.
pub const MAX_TERMS: usize = 200;
/// Longest filter or path accepted, in bytes. Tokenizing is linear but allocates per token, so an
/// unbounded SearchRequest body would be a cheap way to make a Lambda allocate hundreds of MB.
pub const MAX_LEN: usize = 16 * 1024;

/// A PATCH `path` as written (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub struct RawPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Parses a whole filter expression.
pub fn parse_filter(input: &str) -> Result<Filter, SyntaxError> {
    check_len(input, "filter")?;
    let mut p = Parser::new(input)?;
    if p.peek() == &Tok::Eof {
        return Err(p.error("the filter is empty"));
    }
    let f = p.or_expr(false)?;
    p.expect_end("\"and\", \"or\" or the end of the filter")?;
    Ok(f)
}

/// Parses a PATCH path: an attribute path, optionally followed by `[valFilter]` and `.subAttr`.
pub fn parse_path(input: &str) -> Result<RawPath, SyntaxError> {
    check_len(input, "path")?;
    let mut p = Parser::new(input)?;
    if p.peek() == &Tok::Eof {
        return Err(p.error("the path is empty"));
    }
    let (attr, pos) = p.attr_path()?;
    let mut path = RawPath {
        attr,
        filter: None,
        sub: None,
    };
    if p.peek() == &Tok::LBracket {
        if path.attr.sub.is_some() {
            return Err(SyntaxError::new(
                pos,
                format!(
                    "\"{}\" is a sub-attribute and cannot take a [filter]",
                    path.attr
                ),
            ));
        }
        p.bump();
        p.depth += 1;
        path.filter = Some(p.or_expr(true)?);
        p.expect(&Tok::RBracket, "\"]\"")?;
        if p.peek() == &Tok::Dot {
            p.bump();
            path.sub = Some(p.sub_attr_name()?);
        }
    }
    p.expect_end("the end of the path")?;
    Ok(path)
}

fn check_len(input: &str, what: &str) -> Result<(), SyntaxError> {
    if input.len() > MAX_LEN {
        return Err(SyntaxError::new(
            1,
            format!("the {what} is longer than {MAX_LEN} bytes"),
        ));
    }
    Ok(())
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    terms: usize,
}

impl Parser {
    fn new(input: &str) -> Result<Self, SyntaxError> {
        Ok(Parser {
            toks: tokenize(input)?,
            i: 0,
            depth: 0,
            terms: 0,
        })
    }

    fn current(&self) -> &Token {
        // `tokenize` always ends with Eof and `bump` never moves past it.
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek(&self) -> &Tok {
        &self.current().tok
    }

    fn bump(&mut self) -> Token {
        let t = self.current().clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn error(&self, problem: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.current().pos, problem)
    }

    fn expected(&self, what: &str) -> SyntaxError {
        self.error(format!("expected {what}, found {}", self.peek().describe()))
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), SyntaxError> {
        if self.peek() == tok {
            self.bump();
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn expect_end(&self, what: &str) -> Result<(), SyntaxError> {
        if self.peek() == &Tok::Eof {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// True (and consumes it) if the next token is the keyword `kw`, in any case.
    fn eat_keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case(kw)) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(self.error(format!(
                "the filter nests more than {MAX_DEPTH} levels deep"
            )))
        } else {
            Ok(())
        }
    }

    fn or_expr(&mut self, in_brackets: bool) -> Result<Filter, SyntaxError> {
        let mut left = self.and_expr(in_brackets)?;
        while self.eat_keyword("or") {
            let right = self.and_expr(in_brackets)?;
            left = Filter::or(left, right);
        }
        Ok(left)
    }

    fn and_expr(&mut self, in_brackets: bool) -> Result<Filter, SyntaxError> {
        let mut left = self.unary(in_brackets)?;
        while self.eat_keyword("and") {
            let right = self.unary(in_brackets)?;
            left = Filter::and(left, right);
        }
        Ok(left)
    }

    fn unary(&mut self, in_brackets: bool) -> Result<Filter, SyntaxError> {
        // `not` is only a keyword when an operand follows; a lone attribute called "not" would
        // then be followed by an operator, which the RFC grammar cannot express anyway.
        if matches!(self.peek(), Tok::Word(w) if w.eq_ignore_ascii_case("not")) {
            self.bump();
            self.enter()?;
            let inner = self.unary(in_brackets)?;
            self.depth -= 1;
            return Ok(Filter::negate(inner));
        }
        self.primary(in_brackets)
    }

    fn primary(&mut self, in_brackets: bool) -> Result<Filter, SyntaxError> {
        if self.peek() == &Tok::LParen {
            self.bump();
            self.enter()?;
            let inner = self.or_expr(in_brackets)?;
            self.expect(&Tok::RParen, "\")\", \"and\" or \"or\"")?;
            self.depth -= 1;
            return Ok(inner);
        }
        let (path, pos) = self.attr_path()?;
        if self.peek() == &Tok::LBracket {
            if in_brackets {
                return Err(self.error("a [filter] cannot be nested inside another [filter]"));
            }
            if path.sub.is_some() {
                return Err(SyntaxError::new(
                    pos,
                    format!("\"{path}\" is a sub-attribute and cannot take a [filter]"),
                ));
            }
            self.bump();
            self.enter()?;
            let mut inner = self.or_expr(true)?;
            self.expect(&Tok::RBracket, "\"]\", \"and\" or \"or\"")?;
            self.depth -= 1;
            // `emails[type eq "work"].value eq "a@b"` (PingFederate, Entra): one element must
            // satisfy both, which is exactly the value path with the comparison added inside.
            if self.peek() == &Tok::Dot {
                self.bump();
                let sub = AttrPath::new(self.sub_attr_name()?);
                let cmp = self.comparison(sub)?;
                inner = Filter::and(inner, cmp);
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        self.comparison(path)
    }

    /// `pr`, or an operator and a value, after an attribute path.
    fn comparison(&mut self, path: AttrPath) -> Result<Filter, SyntaxError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(self.error(format!("the filter has more than {MAX_TERMS} comparisons")));
        }
        if self.eat_keyword("pr") {
            return Ok(Filter::Present(path));
        }
        let op = match self.peek() {
            Tok::Word(w) => CompareOp::from_keyword(w),
            _ => None,
        };
        let Some(op) = op else {
            return Err(self.expected("a comparison operator"));
        };
        self.bump();
        let value = self.comp_value()?;
        Ok(Filter::Compare { path, op, value })
    }

    /// RFC 7644 `compValue = false / null / true / number / string`.
    fn comp_value(&mut self) -> Result<Value, SyntaxError> {
        let v = match self.peek() {
            Tok::Str(s) => Value::String(s.clone()),
            Tok::Number(n) => Value::Number(n.clone()),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Value::Null,
            _ => {
                return Err(
                    self.expected("a value (a quoted string, a number, true, false or null)")
                )
            }
        };
        self.bump();
        Ok(v)
    }

    /// An attribute path word, split into URN, name and sub-attribute; with its position.
    fn attr_path(&mut self) -> Result<(AttrPath, usize), SyntaxError> {
        let pos = self.current().pos;
        let Tok::Word(w) = self.peek().clone() else {
            return Err(self.expected("an attribute name"));
        };
        let path = split_attr_path(&w).ok_or_else(|| {
            SyntaxError::new(pos, format!("invalid attribute name {:?}", clip(&w)))
        })?;
        self.bump();
        Ok((path, pos))
    }

    /// The plain sub-attribute name after `].`.
    fn sub_attr_name(&mut self) -> Result<String, SyntaxError> {
        let pos = self.current().pos;
        match self.peek().clone() {
            Tok::Word(w) if is_attr_name(&w) => {
                self.bump();
                Ok(w)
            }
            Tok::Word(w) => Err(SyntaxError::new(
                pos,
                format!("invalid sub-attribute name {:?}", clip(&w)),
            )),
            _ => Err(self.expected("a sub-attribute name")),
        }
    }
}

/// RFC 7644 `ATTRNAME = ALPHA *(nameChar)`, plus a leading `$` for `$ref` (RFC 7643 §2.4).
pub fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = match chars.next() {
        Some(c) => c.is_ascii_alphabetic() || c == '$' || c == '_',
        None => false,
    };
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `[URN ":"] ATTRNAME ["." ATTRNAME]` (RFC 7644 §3.10). The URN is everything before the last
/// colon, so `urn:...:2.0:User:name.familyName` keeps its `2.0` intact.
pub fn split_attr_path(word: &str) -> Option<AttrPath> {
    // `split_urn` slices at byte 4: only call it on ASCII (lexer words always are).
    if !word.is_ascii() {
        return None;
    }
    let (urn, rest) = split_urn(word);
    if urn.is_none() && rest.contains(':') {
        return None;
    }
    let mut parts = rest.split('.');
    let attr = parts.next().filter(|a| is_attr_name(a))?;
    let sub = match parts.next() {
        Some(s) if is_attr_name(s) => Some(s.to_owned()),
        Some(_) => return None,
        None => None,
    };
    if parts.next().is_some() {
        return None;
    }
    Some(AttrPath {
        urn: urn.map(str::to_owned),
        attr: attr.to_owned(),
        sub,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(s: &str) -> Filter {
        parse_filter(s).unwrap()
    }
    fn err(s: &str) -> String {
        parse_filter(s).unwrap_err().to_string()
    }
    fn eq(attr: &str, v: Value) -> Filter {
        Filter::Compare {
            path: split_attr_path(attr).unwrap(),
            op: CompareOp::Eq,
            value: v,
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            p(r#"a eq 1 or b eq 2 and c eq 3"#),
            Filter::or(
                eq("a", json!(1)),
                Filter::and(eq("b", json!(2)), eq("c", json!(3)))
            )
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(
            p(r#"not (a eq 1) and b eq 2"#),
            Filter::and(Filter::negate(eq("a", json!(1))), eq("b", json!(2)))
        );
    }

    #[test]
    fn chains_are_left_associative() {
        assert_eq!(
            p("a eq 1 and b eq 2 and c eq 3"),
            Filter::and(
                Filter::and(eq("a", json!(1)), eq("b", json!(2))),
                eq("c", json!(3))
            )
        );
    }

    #[test]
    fn parentheses_override_precedence() {
        assert_eq!(
            p("(a eq 1 or b eq 2) and c eq 3"),
            Filter::and(
                Filter::or(eq("a", json!(1)), eq("b", json!(2))),
                eq("c", json!(3))
            )
        );
    }

    #[test]
    fn not_without_space_before_parenthesis() {
        assert_eq!(
            p("not(a pr)"),
            Filter::negate(Filter::Present(AttrPath::new("a")))
        );
    }

    #[test]
    fn keywords_any_case() {
        assert_eq!(
            p(r#"a Eq TRUE AND b EQ Null oR c pR"#),
            Filter::or(
                Filter::and(eq("a", json!(true)), eq("b", Value::Null)),
                Filter::Present(AttrPath::new("c"))
            )
        );
    }

    #[test]
    fn value_path_then_sub_attribute_comparison() {
        assert_eq!(
            p(r#"emails[type eq "work"].value eq "a@b""#),
            Filter::ValuePath {
                path: AttrPath::new("emails"),
                filter: Box::new(Filter::and(
                    eq("type", json!("work")),
                    eq("value", json!("a@b"))
                )),
            }
        );
    }

    #[test]
    fn urn_path_is_split_at_last_colon() {
        assert_eq!(
            split_attr_path(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
            ),
            Some(AttrPath {
                urn: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                attr: "manager".into(),
                sub: Some("value".into()),
            })
        );
        assert_eq!(split_attr_path("a.b.c"), None);
        assert_eq!(split_attr_path("foo:bar"), None);
        assert_eq!(split_attr_path("urn:"), None);
        assert_eq!(split_attr_path("a."), None);
    }

    #[test]
    fn error_messages_name_position_and_problem() {
        assert_eq!(
            err(r#"userName equals "x""#),
            r#"at character 10: expected a comparison operator, found "equals""#
        );
        assert_eq!(
            err(r#"userName eq bob"#),
            r#"at character 13: expected a value (a quoted string, a number, true, false or null), found "bob""#
        );
        assert_eq!(
            err(r#"(userName pr"#),
            r#"at character 13: expected ")", "and" or "or", found the end of the input"#
        );
        assert_eq!(
            err(r#"userName pr userName pr"#),
            r#"at character 13: expected "and", "or" or the end of the filter, found "userName""#
        );
        assert_eq!(err(""), "at character 1: the filter is empty");
        assert_eq!(err("   "), "at character 4: the filter is empty");
        assert_eq!(
            err("userName eq"),
            "at character 12: expected a value (a quoted string, a number, true, false or null), found the end of the input"
        );
        assert_eq!(
            err("a.b.c pr"),
            "at character 1: invalid attribute name \"a.b.c\""
        );
    }

    #[test]
    fn nested_brackets_are_refused() {
        assert!(err(r#"emails[type[value eq "x"] pr]"#).contains("cannot be nested"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}a pr{}", "(".repeat(5_000), ")".repeat(5_000));
        assert!(err(&deep).contains("nests more than"));
        let nots = format!("{}a pr", "not ".repeat(3_000));
        assert!(err(&nots).contains("nests more than"));
    }

    #[test]
    fn overlong_input_is_refused_before_tokenizing() {
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
        assert!(err(&long).contains("longer than"));
        assert!(parse_path(&"a".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn too_many_terms_is_an_error() {
        let long = vec!["a pr"; MAX_TERMS + 1].join(" or ");
        assert!(err(&long).contains("more than"));
        let ok = vec!["a pr"; MAX_TERMS].join(" and ");
        assert!(parse_filter(&ok).is_ok());
    }

    #[test]
    fn path_forms() {
        let r = parse_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(r.attr, AttrPath::new("emails"));
        assert_eq!(r.filter, Some(eq("type", json!("work"))));
        assert_eq!(r.sub.as_deref(), Some("value"));
        let r = parse_path("name.givenName").unwrap();
        assert_eq!(r.attr, AttrPath::with_sub("name", "givenName"));
        assert!(parse_path("").is_err());
        assert!(parse_path("name.givenName[x eq 1]").is_err());
        assert!(parse_path("emails[type eq \"work\"].value.x").is_err());
        assert!(parse_path("emails[type eq \"work\"] junk").is_err());
        assert!(parse_path("emails eq \"x\"").is_err());
    }
}
