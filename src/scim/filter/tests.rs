//! Filter behaviour end to end: parse + resolve + evaluate, the way the API layer uses it.

use serde_json::{json, Value};

use super::parser::MAX_TERMS;
use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::ENTERPRISE_USER;

const USER: ResourceKind = ResourceKind::User;
const GROUP: ResourceKind = ResourceKind::Group;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Ext-1",
        "userName": "Bjensen@Example.com",
        "name": {"familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "meta": {
            "resourceType": "User",
            "created": "2025-01-01T10:00:00Z",
            "lastModified": "2025-03-01T10:00:00.500+01:00"
        },
        ENTERPRISE_USER: {"employeeNumber": "701984", "manager": {"value": "mgr-1"}}
    })
}

fn parsed(f: &str) -> Filter {
    parse(f, USER).unwrap_or_else(|e| panic!("{f}: {e}"))
}

fn user_matches(f: &str) -> bool {
    matches(&parsed(f), &user(), USER)
}

fn filter_error(f: &str, kind: ResourceKind) -> String {
    let e = parse(f, kind).unwrap_err();
    assert_eq!(e.status, 400);
    assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{f}");
    e.detail
}

// --- resolution: canonical names -------------------------------------------------------------

#[test]
fn attribute_names_are_canonicalised() {
    assert_eq!(
        parsed(r#"USERNAME eq "x""#),
        Filter::equals(AttrPath::new("userName"), "x")
    );
    assert_eq!(
        parsed(r#"name.FamilyName eq "x""#),
        Filter::equals(AttrPath::with_sub("name", "familyName"), "x")
    );
}

#[test]
fn ping_capitalised_operator_is_accepted() {
    assert_eq!(
        parsed(r#"userName Eq "x""#),
        Filter::equals(AttrPath::new("userName"), "x")
    );
}

#[test]
fn core_urn_prefix_is_dropped() {
    assert_eq!(
        parsed(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x""#),
        Filter::equals(AttrPath::new("userName"), "x")
    );
}

#[test]
fn extension_urn_is_kept_in_canonical_form() {
    let f = parsed(
        r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "1""#,
    );
    let Filter::Compare { path, .. } = f else {
        panic!("{f:?}")
    };
    assert_eq!(path.urn.as_deref(), Some(ENTERPRISE_USER));
    assert_eq!(path.attr, "employeeNumber");
}

#[test]
fn unqualified_extension_attribute_resolves_to_its_extension() {
    let Filter::Compare { path, .. } = parsed(r#"employeeNumber eq "1""#) else {
        panic!()
    };
    assert_eq!(path.urn.as_deref(), Some(ENTERPRISE_USER));
}

#[test]
fn pingone_email_alias_means_emails_value() {
    assert_eq!(
        parsed(r#"email Co "babs""#),
        Filter::Compare {
            path: AttrPath::with_sub("emails", "value"),
            op: CompareOp::Co,
            value: json!("babs")
        }
    );
    assert!(user_matches(r#"email Co "jensen.org""#));
}

#[test]
fn comparing_a_multi_valued_attribute_compares_its_values() {
    assert_eq!(
        parsed(r#"emails co "example.com""#),
        Filter::Compare {
            path: AttrPath::with_sub("emails", "value"),
            op: CompareOp::Co,
            value: json!("example.com")
        }
    );
    assert_eq!(
        parse(r#"members eq "u1""#, GROUP).unwrap(),
        Filter::equals(AttrPath::with_sub("members", "value"), "u1")
    );
}

#[test]
fn unknown_attribute_is_invalid_filter() {
    assert_eq!(
        filter_error(r#"foo eq "x""#, USER),
        r#"unknown attribute "foo""#
    );
    assert_eq!(
        filter_error(r#"name.foo pr"#, USER),
        r#"unknown attribute "name.foo""#
    );
    assert_eq!(
        filter_error(r#"emails[foo eq "x"]"#, USER),
        r#"unknown attribute "emails.foo""#
    );
    assert!(filter_error(r#"userName eq "x""#, GROUP).contains("unknown attribute"));
    assert!(filter_error("urn:example:ext:1.0:User:x pr", USER).contains("unknown attribute"));
    // The schema table's common attributes are not extension attributes.
    assert!(filter_error(&format!("{ENTERPRISE_USER}:id pr"), USER).contains("unknown attribute"));
}

#[test]
fn syntax_errors_name_the_character_position() {
    assert_eq!(
        filter_error(r#"userName equals "x""#, USER),
        r#"at character 10: expected a comparison operator, found "equals""#
    );
    assert!(filter_error(r#"userName eq "x" and"#, USER).starts_with("at character 20:"));
    assert!(filter_error(r#"emails[type eq "work""#, USER).starts_with("at character 22:"));
}

#[test]
fn client_text_in_error_details_is_clipped() {
    let long = "a".repeat(10_000);
    assert!(filter_error(&format!("userName {long} \"x\""), USER).len() < 200);
    assert!(filter_error(&format!("{long} pr"), USER).len() < 200);
    assert!(filter_error(&format!("userName eq \"x\" \"{long}\""), USER).len() < 200);
}

#[test]
fn comparing_a_complex_attribute_without_value_is_refused() {
    assert!(filter_error(r#"name eq "x""#, USER).contains("cannot compare the complex attribute"));
}

#[test]
fn ordering_a_boolean_is_invalid_filter() {
    assert!(filter_error("active gt true", USER).contains("boolean"));
    assert!(filter_error(r#"emails[primary le "x"]"#, USER).contains("boolean"));
}

#[test]
fn ordering_a_binary_is_invalid_filter() {
    assert!(filter_error(r#"x509Certificates.value gt "a""#, USER).contains("binary"));
}

#[test]
fn ordering_against_null_or_boolean_literal_is_invalid_filter() {
    assert!(filter_error("userName gt null", USER).contains("string or number"));
    assert!(filter_error("userName lt false", USER).contains("string or number"));
}

#[test]
fn malformed_datetime_literal_is_invalid_filter() {
    assert!(filter_error(r#"meta.created gt "yesterday""#, USER).contains("RFC 3339"));
    // co/sw/ew on a dateTime is a string match and takes any text.
    assert!(parse(r#"meta.created sw "2025""#, USER).is_ok());
}

#[test]
fn value_path_on_simple_attribute_is_refused() {
    assert!(filter_error(r#"userName[value eq "x"]"#, USER).contains("cannot take a [filter]"));
}

#[test]
fn value_path_names_are_canonicalised() {
    assert_eq!(
        parsed(r#"Emails[Type eq "work"]"#),
        Filter::ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(Filter::equals(AttrPath::new("type"), "work")),
        }
    );
}

#[test]
fn value_path_followed_by_sub_attribute_comparison_is_one_value_path() {
    assert_eq!(
        parsed(r#"emails[type eq "work"].value eq "a@b""#),
        Filter::ValuePath {
            path: AttrPath::new("emails"),
            filter: Box::new(Filter::and(
                Filter::equals(AttrPath::new("type"), "work"),
                Filter::equals(AttrPath::new("value"), "a@b"),
            )),
        }
    );
}

#[test]
fn display_parses_back_to_the_same_filter() {
    for f in [
        r#"userName eq "a\"b\\c\u00e9""#,
        "name.givenName pr",
        r#"(userName eq "a" or userName eq "b") and active eq true"#,
        r#"userName eq "a" or (userName eq "b" or userName eq "c")"#,
        r#"userName eq "a" and (title pr and nickName pr)"#,
        r#"not (userName sw "x") and not (emails[type eq "work" or not (primary eq false)])"#,
        r#"emails[type eq "work"].value ew "@x.com""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq null"#,
        r#"meta.lastModified ge "2025-01-01T00:00:00Z""#,
    ] {
        let once = parsed(f);
        let printed = once.to_string();
        assert_eq!(parsed(&printed), once, "{f} -> {printed}");
    }
}

// --- evaluation: operators ---------------------------------------------------------------------

#[test]
fn eq_on_username_ignores_case() {
    assert!(user_matches(r#"userName eq "bjensen@example.com""#));
    assert!(user_matches(r#"USERNAME EQ "BJENSEN@EXAMPLE.COM""#));
}

#[test]
fn eq_on_case_exact_attributes_respects_case() {
    assert!(user_matches(r#"externalId eq "Ext-1""#));
    assert!(!user_matches(r#"externalId eq "ext-1""#));
    assert!(user_matches(
        r#"id eq "2819c223-7f76-453a-919d-413861904646""#
    ));
    assert!(!user_matches(
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#
    ));
}

#[test]
fn ne_is_the_negation_of_eq() {
    assert!(user_matches(r#"userName ne "someone""#));
    assert!(!user_matches(r#"userName ne "BJENSEN@example.com""#));
}

#[test]
fn ne_on_a_missing_attribute_is_true() {
    assert!(user_matches(r#"nickName ne "x""#));
}

#[test]
fn co_sw_ew_on_strings() {
    assert!(user_matches(r#"userName co "JENSEN@""#));
    assert!(user_matches(r#"userName sw "bjen""#));
    assert!(user_matches(r#"userName ew ".COM""#));
    assert!(!user_matches(r#"userName sw "jensen""#));
    assert!(!user_matches(r#"userName ew "example""#));
    assert!(!user_matches(r#"externalId co "ext""#));
}

#[test]
fn ordering_on_strings_is_lexicographic_after_case_rule() {
    assert!(user_matches(r#"userName gt "a""#));
    assert!(user_matches(r#"userName gt "A""#));
    assert!(!user_matches(r#"userName lt "b""#));
    assert!(user_matches(r#"userName ge "BJENSEN@EXAMPLE.COM""#));
    assert!(user_matches(r#"userName le "bjensen@example.com""#));
    assert!(user_matches(r#"userName lt "c""#));
}

#[test]
fn datetime_compares_as_instants() {
    assert!(user_matches(r#"meta.created gt "2025-01-01T00:00:00Z""#));
    assert!(!user_matches(r#"meta.created gt "2025-01-01T10:00:00Z""#));
    assert!(user_matches(
        r#"meta.created ge "2025-01-01T11:00:00+01:00""#
    ));
    // lastModified is 09:00:00.500Z written with a +01:00 offset.
    assert!(user_matches(
        r#"meta.lastModified lt "2025-03-01T09:00:00.6Z""#
    ));
    assert!(user_matches(
        r#"meta.lastModified gt "2025-03-01T09:00:00.4Z""#
    ));
    assert!(user_matches(
        r#"meta.lastModified eq "2025-03-01T09:00:00.5Z""#
    ));
    assert!(user_matches(
        r#"meta.lastModified le "2025-03-01T04:00:00.5-05:00""#
    ));
}

#[test]
fn numbers_compare_numerically() {
    let resource = json!({"logins": 15, "ratio": 0.5});
    let cmp = |attr: &str, op, v: Value| Filter::Compare {
        path: AttrPath::new(attr),
        op,
        value: v,
    };
    assert!(matches(
        &cmp("logins", CompareOp::Gt, json!(9)),
        &resource,
        USER
    ));
    assert!(matches(
        &cmp("logins", CompareOp::Eq, json!(15.0)),
        &resource,
        USER
    ));
    assert!(matches(
        &cmp("ratio", CompareOp::Lt, json!(1)),
        &resource,
        USER
    ));
    assert!(!matches(
        &cmp("logins", CompareOp::Le, json!(-1)),
        &resource,
        USER
    ));
    assert!(!matches(
        &cmp("logins", CompareOp::Co, json!(1)),
        &resource,
        USER
    ));
}

#[test]
fn a_number_never_equals_a_string() {
    assert!(!user_matches(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984"
    ));
    let resource = json!({"logins": 15});
    let f = Filter::equals(AttrPath::new("logins"), "15");
    assert!(!matches(&f, &resource, USER));
}

#[test]
fn pr_means_present_and_non_empty() {
    assert!(user_matches("displayName pr"));
    assert!(user_matches("name pr"));
    assert!(user_matches("emails pr"));
    assert!(!user_matches("title pr"), "empty string");
    assert!(!user_matches("phoneNumbers pr"), "empty array");
    assert!(!user_matches("nickName pr"), "missing");
    let nulls = json!({"nickName": null, "name": {"givenName": null}});
    assert!(!matches(&parsed("nickName pr"), &nulls, USER));
    assert!(!matches(&parsed("name pr"), &nulls, USER));
}

#[test]
fn eq_null_matches_missing_or_null() {
    assert!(user_matches("nickName eq null"));
    assert!(!user_matches("userName eq null"));
    assert!(!user_matches("nickName ne null"));
    assert!(user_matches("userName ne null"));
    assert!(matches(
        &parsed("nickName eq null"),
        &json!({"nickName": null}),
        USER
    ));
}

#[test]
fn boolean_matches_boolean_and_lenient_strings() {
    assert!(user_matches("active eq true"));
    assert!(!user_matches("active eq false"));
    assert!(user_matches(r#"active eq "True""#));
    assert!(user_matches(r#"active eq "true""#));
    assert!(!user_matches(r#"active eq "yes""#));
    assert!(user_matches("active ne false"));
    // A body that stored Entra's string form still answers a boolean filter.
    assert!(matches(
        &parsed("active eq false"),
        &json!({"active": "False"}),
        USER
    ));
}

// --- evaluation: logic and structure -----------------------------------------------------------

#[test]
fn precedence_and_before_or() {
    // Correct: T or (F and F) = T; read left to right it would be (T or F) and F = F.
    assert!(user_matches(
        r#"userName eq "bjensen@example.com" or active eq false and title pr"#
    ));
}

#[test]
fn not_negates() {
    assert!(user_matches(r#"not (userName eq "x")"#));
    assert!(!user_matches(r#"not (userName pr)"#));
    assert!(user_matches(
        r#"not (userName eq "x") and not (nickName pr)"#
    ));
}

#[test]
fn parentheses_group() {
    assert!(!user_matches(
        r#"(userName eq "bjensen@example.com" or active eq false) and title pr"#
    ));
}

#[test]
fn multi_valued_matches_if_any_value_matches() {
    assert!(user_matches(r#"emails.value eq "babs@jensen.org""#));
    assert!(user_matches(r#"emails.type eq "home""#));
    assert!(!user_matches(r#"emails.type eq "other""#));
}

#[test]
fn value_path_requires_one_element_to_match_everything() {
    assert!(user_matches(
        r#"emails[type eq "work" and value co "@example.com"]"#
    ));
    assert!(!user_matches(
        r#"emails[type eq "home" and value co "@example.com"]"#
    ));
    // Without brackets each comparison may be satisfied by a different email.
    assert!(user_matches(
        r#"emails.type eq "home" and emails.value co "@example.com""#
    ));
}

#[test]
fn value_path_sub_attribute_comparison() {
    assert!(user_matches(
        r#"emails[type eq "work"].value eq "BJENSEN@example.com""#
    ));
    assert!(!user_matches(
        r#"emails[type eq "home"].value eq "bjensen@example.com""#
    ));
    assert!(user_matches(r#"emails[primary eq true].value pr"#));
    assert!(user_matches(
        r#"emails[type eq "work" or (type eq "home" and value ew ".org")]"#
    ));
}

#[test]
fn extension_attributes_are_read_from_the_urn_object() {
    assert!(user_matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#
    ));
    assert!(user_matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "mgr-1""#
    ));
    assert!(user_matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value pr"#
    ));
    assert!(!user_matches(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#
    ));
}

#[test]
fn resource_keys_match_case_insensitively() {
    let r = json!({"UserName": "x", "NAME": {"FamilyName": "J"},
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"EmployeeNumber": "7"}});
    assert!(matches(&parsed(r#"userName eq "X""#), &r, USER));
    assert!(matches(&parsed(r#"name.familyName eq "j""#), &r, USER));
    assert!(matches(&parsed(r#"employeeNumber eq "7""#), &r, USER));
}

#[test]
fn group_member_filter_evaluates_against_member_values() {
    let g = json!({"displayName": "Admins", "members": [{"value": "u1"}, {"value": "u2"}]});
    assert!(matches(
        &parse(r#"members eq "u2""#, GROUP).unwrap(),
        &g,
        GROUP
    ));
    assert!(matches(
        &parse(r#"members[value eq "u1"]"#, GROUP).unwrap(),
        &g,
        GROUP
    ));
    assert!(!matches(
        &parse(r#"members eq "U1""#, GROUP).unwrap(),
        &g,
        GROUP
    ));
    assert!(matches(
        &parse(r#"displayName eq "admins""#, GROUP).unwrap(),
        &g,
        GROUP
    ));
}

#[test]
fn odd_resource_shapes_simply_do_not_match() {
    let f =
        parsed(r#"emails[type eq "work"].value eq "x" or userName sw "a" or name.givenName pr"#);
    for r in [
        json!(null),
        json!([1, 2]),
        json!("text"),
        json!({"emails": "x", "userName": 5, "name": [1]}),
        json!({"emails": [1, null, "x", [{"type": "work"}]], "name": "x"}),
    ] {
        assert!(!matches(&f, &r, USER), "{r}");
    }
}

#[test]
fn the_largest_accepted_filter_is_safe_on_a_small_stack() {
    let text = vec![r#"userName eq "x""#; MAX_TERMS].join(" and ");
    std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let f = parsed(&text);
            assert!(!matches(&f, &user(), USER));
            let g = f.clone();
            assert_eq!(parsed(&g.to_string()), f);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn never_panics_on_junk() {
    for s in [
        "",
        "(",
        ")",
        "[",
        "]",
        ".",
        "\"",
        "\\",
        "a[",
        "a]",
        "a[b",
        "a[b eq 1",
        "a[b eq 1]]",
        "a.",
        ".a",
        "a..b pr",
        "urn:",
        "urn:a",
        "urn:a:",
        "é",
        "aé pr",
        "\u{0}",
        "not",
        "not (",
        "a eq",
        "a eq -",
        "a eq 1e",
        "a eq \"\\u\"",
        "a eq \"\\ud800\\u0041\"",
        "a pr and",
        "emails[type eq \"w\"].",
        "emails[type eq \"w\"].value",
        "emails[type eq \"w\"]value",
        "emails[].value eq 1",
        "userName eq \"x\" ) ",
        "((((((",
        "urn:é:x pr",
        "abcé pr",
    ] {
        let _ = parse(s, USER);
        let _ = parse(s, GROUP);
        let _ = crate::scim::path::parse_path(s, USER);
    }
}
