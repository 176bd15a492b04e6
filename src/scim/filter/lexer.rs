//! Tokens of the RFC 7644 §3.4.2.2 filter language (also used for PATCH paths, §3.5.2).
//!
//! The lexer is deliberately dumb about keywords: `and`, `eq`, `true` and `userName` are all
//! [`Tok::Word`]s, and the parser decides from the position which one it expects. That keeps
//! case-insensitivity (Ping sends `Eq`, Microsoft `name.FamilyName`) in one place and lets an
//! attribute be named like an operator without a reserved-word table.
//!
//! Every token carries the 1-based *character* (not byte) position it starts at, so error details
//! can say `at character 14` about the string the client actually sent. No input can panic here:
//! the input is walked char by char and never sliced at a byte index.

use std::fmt;

/// A lexer or parser failure: where (1-based character position) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: usize,
    pub problem: String,
}

impl SyntaxError {
    pub fn new(pos: usize, problem: impl Into<String>) -> Self {
        SyntaxError {
            pos,
            problem: problem.into(),
        }
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.pos, self.problem)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An attribute path (`name.givenName`, `urn:...:User:manager.value`) or a keyword
    /// (`eq`, `and`, `not`, `pr`, `true`, ...). ASCII only: RFC 7644's ATTRNAME and URNs are.
    Word(String),
    /// A JSON string literal, escapes already decoded.
    Str(String),
    Number(serde_json::Number),
    LParen,
    RParen,
    LBracket,
    RBracket,
    /// A `.` that starts a token: only meaningful right after `]` (`emails[...].value`).
    Dot,
    Eof,
}

impl Tok {
    /// How the token is named in an error detail (`found "equals"`).
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("{:?}", clip(w)),
            Tok::Str(s) => format!("the string {}", quote_json(&clip(s))),
            Tok::Number(n) => format!("the number {n}"),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Dot => "\".\"".into(),
            Tok::Eof => "the end of the input".into(),
        }
    }
}

/// Client text quoted back in an error detail, cut to a readable length (a 1 MB token should
/// not become a 1 MB error body).
pub fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        s.chars().take(MAX).chain("...".chars()).collect()
    }
}

fn quote_json(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// 1-based character position of the token's first character.
    pub pos: usize,
}

/// Characters that may appear inside a Word. Beyond RFC 7644's nameChar (`-`, `_`, digits,
/// letters) this admits `.` (sub-attributes, URN versions like `2.0`), `:` (URNs) and `$`
/// (`members.$ref`, which RFC 7643 names although the ABNF cannot spell it).
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$')
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '_' | '$')
}

/// Splits `input` into tokens, ending with one [`Tok::Eof`].
pub fn tokenize(input: &str) -> Result<Vec<Token>, SyntaxError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '.' => Some(Tok::Dot),
            _ => None,
        };
        if let Some(tok) = simple {
            out.push(Token { tok, pos });
            i += 1;
        } else if c == '"' {
            let (s, next) = lex_string(&chars, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = next;
        } else if c == '-' || c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || matches!(chars[i], '-' | '+' | '.' | 'e' | 'E'))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            // serde_json's own number grammar is exactly RFC 7644's compValue `number`.
            let n = text
                .parse::<serde_json::Number>()
                .map_err(|_| SyntaxError::new(pos, format!("invalid number {text:?}")))?;
            out.push(Token {
                tok: Tok::Number(n),
                pos,
            });
        } else if is_word_start(c) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Word(chars[start..i].iter().collect()),
                pos,
            });
        } else {
            return Err(SyntaxError::new(
                pos,
                format!("unexpected character {:?}", c.to_string()),
            ));
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: chars.len() + 1,
    });
    Ok(out)
}

/// Decodes the JSON string literal starting at `chars[start] == '"'` (RFC 7644: compValue strings
/// are JSON strings, RFC 8259 §7). Returns the text and the index just past the closing quote.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), SyntaxError> {
    let mut s = String::new();
    let mut i = start + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(SyntaxError::new(start + 1, "unterminated string"));
        };
        match c {
            '"' => return Ok((s, i + 1)),
            '\\' => {
                let esc_pos = i + 1;
                let Some(&e) = chars.get(i + 1) else {
                    return Err(SyntaxError::new(start + 1, "unterminated string"));
                };
                i += 2;
                match e {
                    '"' => s.push('"'),
                    '\\' => s.push('\\'),
                    '/' => s.push('/'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'n' => s.push('\n'),
                    'r' => s.push('\r'),
                    't' => s.push('\t'),
                    'u' => {
                        let (ch, next) = lex_unicode_escape(chars, i, esc_pos)?;
                        s.push(ch);
                        i = next;
                    }
                    other => {
                        return Err(SyntaxError::new(
                            esc_pos,
                            format!("invalid escape \"\\{other}\" in string"),
                        ))
                    }
                }
            }
            _ => {
                s.push(c);
                i += 1;
            }
        }
    }
}

fn hex4(chars: &[char], at: usize, esc_pos: usize) -> Result<u32, SyntaxError> {
    let mut v = 0u32;
    for k in 0..4 {
        let d = chars
            .get(at + k)
            .and_then(|c| c.to_digit(16))
            .ok_or_else(|| {
                SyntaxError::new(esc_pos, "invalid \\u escape: expected 4 hex digits")
            })?;
        v = v * 16 + d;
    }
    Ok(v)
}

/// `\uXXXX`, including UTF-16 surrogate pairs (`\ud83d\ude00`). `at` is just past the `u`.
fn lex_unicode_escape(
    chars: &[char],
    at: usize,
    esc_pos: usize,
) -> Result<(char, usize), SyntaxError> {
    let hi = hex4(chars, at, esc_pos)?;
    let mut next = at + 4;
    let code = if (0xD800..0xDC00).contains(&hi) {
        let has_low = chars.get(next) == Some(&'\\') && chars.get(next + 1) == Some(&'u');
        if !has_low {
            return Err(SyntaxError::new(
                esc_pos,
                "invalid \\u escape: unpaired surrogate",
            ));
        }
        let lo = hex4(chars, next + 2, esc_pos)?;
        if !(0xDC00..0xE000).contains(&lo) {
            return Err(SyntaxError::new(
                esc_pos,
                "invalid \\u escape: unpaired surrogate",
            ));
        }
        next += 6;
        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
    } else {
        hi
    };
    char::from_u32(code)
        .map(|c| (c, next))
        .ok_or_else(|| SyntaxError::new(esc_pos, "invalid \\u escape: unpaired surrogate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_strings_and_punctuation() {
        assert_eq!(
            toks(r#"emails[type eq "work"].value"#),
            vec![
                Tok::Word("emails".into()),
                Tok::LBracket,
                Tok::Word("type".into()),
                Tok::Word("eq".into()),
                Tok::Str("work".into()),
                Tok::RBracket,
                Tok::Dot,
                Tok::Word("value".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn urn_is_one_word() {
        assert_eq!(
            toks("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"),
            vec![
                Tok::Word(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
                        .into()
                ),
                Tok::Word("pr".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn string_escapes_are_decoded() {
        assert_eq!(
            toks(r#""a\"b\\c\u00e9\/\n\ud83d\ude00""#)[0],
            Tok::Str("a\"b\\c\u{e9}/\n\u{1F600}".into())
        );
    }

    #[test]
    fn numbers_follow_json() {
        assert_eq!(
            toks("-1.5e3")[0],
            Tok::Number(serde_json::Number::from_f64(-1500.0).unwrap())
        );
        assert_eq!(toks("42")[0], Tok::Number(42.into()));
        assert!(tokenize("1.2.3").is_err());
        assert!(tokenize("1e999999").is_err());
    }

    #[test]
    fn positions_are_characters_not_bytes() {
        let t = tokenize("\"é\" eq").unwrap();
        assert_eq!(t[1].pos, 5);
    }

    #[test]
    fn errors_name_position() {
        assert_eq!(
            tokenize("userName eq \"abc").unwrap_err().to_string(),
            "at character 13: unterminated string"
        );
        assert_eq!(
            tokenize("userName # x").unwrap_err().to_string(),
            "at character 10: unexpected character \"#\""
        );
        assert_eq!(
            tokenize(r#"a eq "\q""#).unwrap_err().to_string(),
            "at character 7: invalid escape \"\\q\" in string"
        );
        assert!(tokenize(r#""\ud800""#).is_err());
        assert!(tokenize(r#""\u12""#).is_err());
        assert!(tokenize("\"\\").is_err());
    }
}
