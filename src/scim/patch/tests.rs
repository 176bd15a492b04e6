//! PATCH behaviour, one rule per test, written as the request an IdP sends and what it then sees.

use serde_json::{json, Value};

use super::*;
use crate::scim::error::ScimType;
use crate::scim::schema::{CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP};

const USER: ResourceKind = ResourceKind::User;
const GROUP: ResourceKind = ResourceKind::Group;
const CUSTOM: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

fn user() -> Value {
    json!({
        "schemas": [CORE_USER],
        "id": "u-1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [{"value": "b@home.org", "type": "home"}],
        "meta": {"resourceType": "User", "created": "2025-01-01T00:00:00Z"}
    })
}

fn group() -> Value {
    json!({"schemas": [CORE_GROUP], "id": "g-1", "displayName": "Admins"})
}

fn run(
    resource: &Value,
    kind: ResourceKind,
    ops: Value,
) -> Result<(Value, Vec<MemberChange>), ScimError> {
    let body = json!({"schemas": [PATCH_OP], "Operations": ops});
    let req = PatchRequest::parse(&body, kind)?;
    let mut r = resource.clone();
    let changes = apply(&mut r, &req, kind)?;
    Ok((r, changes))
}

fn patch_user_from(resource: &Value, ops: Value) -> Value {
    run(resource, USER, ops).unwrap_or_else(|e| panic!("{e}")).0
}

fn patch_user(ops: Value) -> Value {
    patch_user_from(&user(), ops)
}

fn user_error(ops: Value) -> ScimError {
    run(&user(), USER, ops).unwrap_err()
}

fn member_changes(ops: Value) -> Vec<MemberChange> {
    let (body, changes) = run(&group(), GROUP, ops).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body, group(), "members never land in the group body");
    changes
}

fn group_error(ops: Value) -> ScimError {
    run(&group(), GROUP, ops).unwrap_err()
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// --- request body ------------------------------------------------------------------------------

#[test]
fn missing_operations_is_invalid_syntax() {
    let e = PatchRequest::parse(&json!({"schemas": [PATCH_OP]}), USER).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn operations_that_is_not_an_array_is_invalid_syntax() {
    let e = PatchRequest::parse(&json!({"Operations": {"op": "add"}}), USER).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    let e = PatchRequest::parse(&json!([]), USER).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn microsoft_validator_empty_operations_changes_nothing() {
    assert_eq!(patch_user(json!([])), user());
}

#[test]
fn schemas_may_be_missing() {
    let req = PatchRequest::parse(
        &json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
        USER,
    )
    .unwrap();
    assert_eq!(req.ops.len(), 1);
}

#[test]
fn entra_capitalised_ops_are_accepted() {
    let u = patch_user(json!([
        {"op": "Replace", "path": "displayName", "value": "Babs"},
        {"op": "Add", "path": "title", "value": "Boss"},
        {"op": "Remove", "path": "title"}
    ]));
    assert_eq!(u["displayName"], "Babs");
    assert!(u.get("title").is_none());
}

#[test]
fn unknown_op_is_invalid_syntax() {
    let e = user_error(json!([{"op": "merge", "path": "title", "value": "x"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
    assert!(e.detail.contains("\"merge\""), "{}", e.detail);
    let e = user_error(json!([{"path": "title", "value": "x"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn remove_without_path_is_no_target() {
    let e = user_error(json!([{"op": "remove"}]));
    assert_eq!(e.scim_type, Some(ScimType::NoTarget));
}

#[test]
fn add_or_replace_without_value_is_invalid_syntax() {
    for op in ["add", "replace"] {
        let e = user_error(json!([{"op": op, "path": "title"}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{op}");
    }
}

#[test]
fn pathless_value_must_be_an_object() {
    let e = user_error(json!([{"op": "replace", "value": "x"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn errors_name_the_operation() {
    let e = user_error(json!([
        {"op": "replace", "path": "title", "value": "x"},
        {"op": "replace", "path": "nope", "value": "x"}
    ]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    assert_eq!(e.detail, "Operations[1]: unknown attribute \"nope\"");
}

#[test]
fn malformed_path_is_invalid_path() {
    let e = user_error(json!([{"op": "remove", "path": "emails[type eq"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    let e = user_error(json!([{"op": "remove", "path": 7}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn failed_patch_leaves_the_resource_unchanged() {
    let body = json!({"Operations": [
        {"op": "replace", "path": "displayName", "value": "changed"},
        {"op": "replace", "path": "active", "value": "maybe"}
    ]});
    let req = PatchRequest::parse(&body, USER).unwrap();
    let mut r = user();
    assert!(apply(&mut r, &req, USER).is_err());
    assert_eq!(r, user());
}

// --- add ---------------------------------------------------------------------------------------

#[test]
fn add_sets_a_single_valued_attribute() {
    let u = patch_user(json!([{"op": "add", "path": "title", "value": "Tour Guide"}]));
    assert_eq!(u["title"], "Tour Guide");
    let u = patch_user(json!([{"op": "add", "path": "userName", "value": "babs"}]));
    assert_eq!(u["userName"], "babs");
}

#[test]
fn add_appends_to_a_multi_valued_attribute() {
    let u = patch_user(json!([{"op": "add", "path": "emails",
        "value": [{"value": "b@work.com", "type": "work"}]}]));
    assert_eq!(
        u["emails"],
        json!([{"value": "b@home.org", "type": "home"}, {"value": "b@work.com", "type": "work"}])
    );
}

#[test]
fn add_of_a_single_object_to_a_multi_valued_attribute_is_one_element() {
    let u = patch_user(json!([{"op": "add", "path": "phoneNumbers",
        "value": {"value": "555-1234", "type": "work"}}]));
    assert_eq!(
        u["phoneNumbers"],
        json!([{"value": "555-1234", "type": "work"}])
    );
}

#[test]
fn add_does_not_duplicate_an_existing_value() {
    let u = patch_user(json!([{"op": "add", "path": "emails",
        "value": [{"value": "b@home.org", "type": "home"}]}]));
    assert_eq!(u["emails"], user()["emails"]);
}

#[test]
fn add_sub_attribute_creates_the_parent() {
    let mut r = user();
    r.as_object_mut().unwrap().remove("name");
    let u = patch_user_from(
        &r,
        json!([{"op": "add", "path": "name.givenName", "value": "B"}]),
    );
    assert_eq!(u["name"], json!({"givenName": "B"}));
}

#[test]
fn add_complex_value_merges_sub_attributes() {
    let u = patch_user(json!([{"op": "add", "path": "name", "value": {"middleName": "M"}}]));
    assert_eq!(
        u["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "M"})
    );
}

#[test]
fn add_on_missing_valuepath_creates_element() {
    // Entra, for a user without a work email.
    let u = patch_user(
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value",
        "value": "a@b.com"}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "b@home.org", "type": "home"}, {"type": "work", "value": "a@b.com"}])
    );
}

#[test]
fn add_on_missing_valuepath_creates_the_attribute_too() {
    // Microsoft Q&A 120490: addresses[type eq "work"].formatted for a user with no addresses.
    let u = patch_user(
        json!([{"op": "Add", "path": "addresses[type eq \"work\"].formatted",
        "value": "Columbus"}]),
    );
    assert_eq!(
        u["addresses"],
        json!([{"type": "work", "formatted": "Columbus"}])
    );
}

#[test]
fn entra_add_on_existing_valuepath_updates_it() {
    // Entra sends add, not replace, when a work email changes (Microsoft Q&A 1684621).
    let mut r = user();
    r["emails"] = json!([{"value": "old@work.com", "type": "work", "primary": true}]);
    let u = patch_user_from(
        &r,
        json!([{"op": "Add", "path": "emails[type eq \"work\"].value",
        "value": "new@work.com"}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "new@work.com", "type": "work", "primary": true}])
    );
}

#[test]
fn add_with_primary_true_clears_the_previous_primary() {
    let mut r = user();
    r["emails"] = json!([{"value": "a@x.com", "primary": true}]);
    let u = patch_user_from(
        &r,
        json!([{"op": "add", "path": "emails",
        "value": [{"value": "b@x.com", "primary": true}]}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "a@x.com", "primary": false}, {"value": "b@x.com", "primary": true}])
    );
}

#[test]
fn add_null_adds_nothing() {
    assert_eq!(
        patch_user(json!([{"op": "add", "path": "title", "value": null}])),
        user()
    );
}

// --- replace -----------------------------------------------------------------------------------

#[test]
fn replace_sets_a_single_valued_attribute() {
    let u = patch_user(json!([{"op": "replace", "path": "userName", "value": "babs"}]));
    assert_eq!(u["userName"], "babs");
}

#[test]
fn replace_of_a_multi_valued_attribute_replaces_the_whole_list() {
    let u = patch_user(json!([{"op": "replace", "path": "emails",
        "value": [{"value": "n@x.com", "type": "work"}]}]));
    assert_eq!(u["emails"], json!([{"value": "n@x.com", "type": "work"}]));
}

#[test]
fn replace_complex_value_updates_only_named_sub_attributes() {
    let u = patch_user(json!([{"op": "replace", "path": "name", "value": {"familyName": "J"}}]));
    assert_eq!(
        u["name"],
        json!({"givenName": "Barbara", "familyName": "J"})
    );
}

#[test]
fn replace_complex_value_with_null_sub_attribute_removes_it() {
    let u = patch_user(json!([{"op": "replace", "path": "name", "value": {"givenName": null}}]));
    assert_eq!(u["name"], json!({"familyName": "Jensen"}));
}

#[test]
fn replace_with_null_clears_the_attribute() {
    let u = patch_user(json!([{"op": "replace", "path": "name", "value": null}]));
    assert!(u.get("name").is_none());
    let u = patch_user(json!([{"op": "replace", "path": "emails", "value": []}]));
    assert!(u.get("emails").is_none());
}

#[test]
fn replace_valuepath_sub_attribute_sets_it_on_every_match() {
    let mut r = user();
    r["emails"] = json!([
        {"value": "a@w.com", "type": "work"},
        {"value": "b@h.com", "type": "home"},
        {"value": "c@w.com", "type": "work"}
    ]);
    let u = patch_user_from(
        &r,
        json!([{"op": "replace",
        "path": "emails[type eq \"work\"].display", "value": "Work"}]),
    );
    assert_eq!(
        u["emails"],
        json!([
            {"value": "a@w.com", "type": "work", "display": "Work"},
            {"value": "b@h.com", "type": "home"},
            {"value": "c@w.com", "type": "work", "display": "Work"}
        ])
    );
}

#[test]
fn entra_replace_on_missing_valuepath_creates_element() {
    let u = patch_user(
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value",
        "value": "a@b.com"}]),
    );
    assert_eq!(u["emails"][1], json!({"type": "work", "value": "a@b.com"}));
}

#[test]
fn created_element_takes_every_eq_constraint_of_the_filter() {
    let u = patch_user(json!([{"op": "replace",
        "path": "phoneNumbers[type eq \"mobile\" and primary eq \"True\"].value", "value": "555"}]));
    assert_eq!(
        u["phoneNumbers"],
        json!([{"type": "mobile", "primary": true, "value": "555"}])
    );
}

#[test]
fn replace_on_unmatched_non_equality_valuepath_is_no_target() {
    for (path, value) in [
        ("emails[type co \"wor\"].value", json!("x@y.com")),
        (
            "emails[type eq \"work\" or type eq \"other\"].value",
            json!("x@y.com"),
        ),
        (
            "emails[not (type eq \"home\")]",
            json!({"value": "x@y.com"}),
        ),
    ] {
        let e = user_error(json!([{"op": "replace", "path": path, "value": value}]));
        assert_eq!(e.scim_type, Some(ScimType::NoTarget), "{path}");
    }
}

#[test]
fn replace_valuepath_element_merges_into_matches() {
    let u = patch_user(json!([{"op": "replace", "path": "emails[type eq \"home\"]",
        "value": {"value": "new@home.org", "primary": "True"}}]));
    assert_eq!(
        u["emails"],
        json!([{"value": "new@home.org", "type": "home", "primary": true}])
    );
}

#[test]
fn replace_valuepath_element_without_match_creates_it() {
    let u = patch_user(json!([{"op": "replace", "path": "emails[type eq \"work\"]",
        "value": {"value": "w@x.com"}}]));
    assert_eq!(u["emails"][1], json!({"type": "work", "value": "w@x.com"}));
}

// --- remove ------------------------------------------------------------------------------------

#[test]
fn remove_deletes_the_attribute() {
    let u = patch_user(json!([{"op": "remove", "path": "name"}]));
    assert!(u.get("name").is_none());
}

#[test]
fn remove_of_something_absent_is_a_no_op() {
    assert_eq!(
        patch_user(json!([{"op": "remove", "path": "nickName"}])),
        user()
    );
    assert_eq!(
        patch_user(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}])),
        user()
    );
    assert_eq!(
        patch_user(json!([{"op": "remove", "path": "addresses.region"}])),
        user()
    );
    assert_eq!(
        patch_user(json!([{"op": "remove",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}])),
        user()
    );
}

#[test]
fn remove_valuepath_removes_matching_elements() {
    let mut r = user();
    r["emails"] = json!([{"value": "a", "type": "work"}, {"value": "b", "type": "home"}]);
    let u = patch_user_from(
        &r,
        json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
    );
    assert_eq!(u["emails"], json!([{"value": "b", "type": "home"}]));
}

#[test]
fn removing_the_last_element_leaves_the_attribute_absent() {
    let u = patch_user(json!([{"op": "remove", "path": "emails[value eq \"B@HOME.ORG\"]"}]));
    assert!(u.get("emails").is_none(), "{u}");
}

#[test]
fn remove_valuepath_sub_attribute_removes_it_from_matches() {
    let mut r = user();
    r["emails"] =
        json!([{"value": "a", "type": "work", "display": "A"}, {"value": "b", "display": "B"}]);
    let u = patch_user_from(
        &r,
        json!([{"op": "remove",
        "path": "emails[type eq \"work\"].display"}]),
    );
    assert_eq!(
        u["emails"],
        json!([{"value": "a", "type": "work"}, {"value": "b", "display": "B"}])
    );
}

#[test]
fn remove_sub_attribute_and_empty_parent_disappears() {
    let u = patch_user(json!([
        {"op": "remove", "path": "name.givenName"},
        {"op": "remove", "path": "name.familyName"}
    ]));
    assert!(u.get("name").is_none());
}

#[test]
fn remove_with_a_value_list_removes_only_those_values() {
    let mut r = user();
    r["emails"] = json!([{"value": "a", "type": "work"}, {"value": "b", "type": "home"}]);
    let u = patch_user_from(
        &r,
        json!([{"op": "remove", "path": "emails",
        "value": [{"value": "a"}]}]),
    );
    assert_eq!(u["emails"], json!([{"value": "b", "type": "home"}]));
}

// --- path-less add / replace -------------------------------------------------------------------

#[test]
fn okta_pathless_replace_active_false() {
    let u = patch_user(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(u["active"], false);
}

#[test]
fn entra_pathless_dotted_and_urn_qualified_keys() {
    // aadOptscim062020 mode (Entra "Known issues ... SCIM 2.0 protocol compliance").
    let u = patch_user(json!([{"op": "replace", "value": {
        "displayName": "Babs",
        "name.givenName": "Barb",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
        "emails[type eq \"work\"].value": "w@x.com"
    }}]));
    assert_eq!(u["displayName"], "Babs");
    assert_eq!(u["name"]["givenName"], "Barb");
    assert_eq!(u["name"]["familyName"], "Jensen");
    assert_eq!(u[ENTERPRISE_USER]["employeeNumber"], "42");
    assert_eq!(u["emails"][1], json!({"type": "work", "value": "w@x.com"}));
}

#[test]
fn pathless_extension_object_is_merged_attribute_by_attribute() {
    let mut r = user();
    r[ENTERPRISE_USER] = json!({"department": "Sales", "costCenter": "1"});
    let u = patch_user_from(
        &r,
        json!([{"op": "replace", "value": {
            ENTERPRISE_USER: {"department": "R&D", "manager": "m-1"}
        }}]),
    );
    assert_eq!(
        u[ENTERPRISE_USER],
        json!({"department": "R&D", "costCenter": "1", "manager": {"value": "m-1"}})
    );
}

#[test]
fn pathless_add_appends_to_multi_valued() {
    let u =
        patch_user(json!([{"op": "add", "value": {"emails": [{"value": "w@x", "type": "work"}]}}]));
    assert_eq!(u["emails"].as_array().unwrap().len(), 2);
}

#[test]
fn pathless_unqualified_enterprise_attribute_lands_in_the_extension() {
    let u = patch_user(json!([{"op": "replace", "value": {"department": "R&D"}}]));
    assert_eq!(u[ENTERPRISE_USER], json!({"department": "R&D"}));
}

#[test]
fn okta_group_rename_with_its_own_id_is_accepted() {
    let (g, changes) = run(
        &group(),
        GROUP,
        json!([{"op": "replace",
        "value": {"id": "g-1", "displayName": "Admins 2"}}]),
    )
    .unwrap();
    assert_eq!(g["displayName"], "Admins 2");
    assert!(changes.is_empty());
}

#[test]
fn pathless_different_id_is_mutability() {
    let e = user_error(json!([{"op": "replace", "value": {"id": "other"}}]));
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
}

#[test]
fn pathless_schemas_meta_and_groups_are_ignored() {
    let u = patch_user(json!([{"op": "replace", "value": {
        "schemas": ["x"],
        "meta": {"created": "1999-01-01T00:00:00Z"},
        "groups": [{"value": "g-1"}],
        "title": "T"
    }}]));
    let mut expected = user();
    expected["title"] = json!("T");
    assert_eq!(u, expected);
}

#[test]
fn pathless_read_only_sub_attribute_is_ignored() {
    let u = patch_user(json!([{"op": "add", "value": {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName": "Boss"
    }}]));
    assert_eq!(u, user());
}

// --- mutability and unknown attributes ---------------------------------------------------------

#[test]
fn explicit_path_to_read_only_attribute_is_mutability() {
    for path in [
        "id",
        "meta",
        "meta.created",
        "groups",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    ] {
        let e = user_error(json!([{"op": "replace", "path": path, "value": "x"}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability), "{path}");
        let e = user_error(json!([{"op": "remove", "path": path}]));
        assert_eq!(e.scim_type, Some(ScimType::Mutability), "{path}");
    }
}

#[test]
fn unknown_attribute_path_is_invalid_path() {
    let e = user_error(json!([{"op": "add", "path": "favouriteColour", "value": "x"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    let e = user_error(json!([{"op": "add", "value": {"favouriteColour": "x"}}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn unknown_extension_listed_in_schemas_is_kept() {
    let mut r = user();
    r["schemas"] = json!([CORE_USER, CUSTOM]);
    let u = patch_user_from(
        &r,
        json!([
            {"op": "add", "path": format!("{CUSTOM}:badge"), "value": "B-7"},
            {"op": "add", "path": format!("{CUSTOM}:site.code"), "value": "HQ"}
        ]),
    );
    assert_eq!(u[CUSTOM], json!({"badge": "B-7", "site": {"code": "HQ"}}));
    let u = patch_user_from(
        &u,
        json!([{"op": "remove", "path": format!("{CUSTOM}:badge")}]),
    );
    assert_eq!(u[CUSTOM], json!({"site": {"code": "HQ"}}));
}

#[test]
fn unknown_extension_not_listed_in_schemas_is_invalid_path() {
    let e = user_error(json!([{"op": "add", "path": format!("{CUSTOM}:badge"), "value": "B"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn pathless_unknown_extension_object_is_merged() {
    let mut r = user();
    r["schemas"] = json!([CORE_USER, CUSTOM]);
    r[CUSTOM] = json!({"badge": "old", "floor": 3});
    let u = patch_user_from(
        &r,
        json!([{"op": "replace", "value": {CUSTOM: {"badge": "new"}}}]),
    );
    assert_eq!(u[CUSTOM], json!({"badge": "new", "floor": 3}));
}

#[test]
fn unknown_extension_declared_in_the_pathless_value_is_kept_and_listed() {
    let u = patch_user(json!([{"op": "add", "value": {
        "schemas": [CORE_USER, CUSTOM],
        CUSTOM: {"badge": "B-7"}
    }}]));
    assert_eq!(u[CUSTOM], json!({"badge": "B-7"}));
    assert_eq!(u["schemas"], json!([CORE_USER, CUSTOM]));
}

#[test]
fn removing_manager_value_removes_the_manager() {
    let mut r = user();
    r[ENTERPRISE_USER] = json!({"manager": {"value": "m-1", "displayName": "Boss"}});
    let u = patch_user_from(
        &r,
        json!([{"op": "remove", "path": format!("{MANAGER}.value")}]),
    );
    assert!(u.get(ENTERPRISE_USER).is_none(), "{u}");
}

#[test]
fn writing_an_enterprise_attribute_declares_the_extension() {
    let u = patch_user(json!([{"op": "add",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        "value": "R&D"}]));
    assert_eq!(u["schemas"], json!([CORE_USER, ENTERPRISE_USER]));
}

#[test]
fn removing_the_last_extension_attribute_removes_the_extension_object() {
    let mut r = user();
    r[ENTERPRISE_USER] = json!({"department": "R&D"});
    let u = patch_user_from(
        &r,
        json!([{"op": "remove",
        "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}]),
    );
    assert!(u.get(ENTERPRISE_USER).is_none());
}

#[test]
fn differently_cased_keys_are_canonicalised() {
    let mut r = user();
    r["DisplayName"] = json!("old");
    let u = patch_user_from(
        &r,
        json!([{"op": "replace", "path": "DISPLAYNAME", "value": "new"}]),
    );
    assert_eq!(u["displayName"], "new");
    assert!(u.get("DisplayName").is_none());
}

// --- value types -------------------------------------------------------------------------------

#[test]
fn entra_string_false_deactivates_user() {
    let u = patch_user(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    assert_eq!(u["active"], false);
}

#[test]
fn entra_string_true_reactivates_user() {
    let mut r = user();
    r["active"] = json!(false);
    let u = patch_user_from(&r, json!([{"op": "replace", "value": {"active": "True"}}]));
    assert_eq!(u["active"], true);
}

#[test]
fn string_booleans_inside_complex_values_are_coerced() {
    let u = patch_user(json!([{"op": "replace", "path": "emails",
        "value": [{"value": "a@x", "Primary": "TRUE"}]}]));
    assert_eq!(u["emails"], json!([{"value": "a@x", "primary": true}]));
    let u = patch_user(
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary",
        "value": "True"}]),
    );
    assert_eq!(u["emails"][0]["primary"], true);
}

#[test]
fn non_boolean_for_a_boolean_is_invalid_value() {
    for v in [
        json!("yes"),
        json!(1),
        json!([true]),
        json!({"value": true}),
    ] {
        let e = user_error(json!([{"op": "replace", "path": "active", "value": v}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{v}");
    }
}

#[test]
fn wrong_shapes_are_invalid_value() {
    let e = user_error(json!([{"op": "replace", "path": "name", "value": "Barbara"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    let e = user_error(json!([{"op": "replace", "path": "title", "value": ["a", "b"]}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    let e = user_error(json!([{"op": "add", "path": "emails", "value": ["a@x"]}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

// --- manager -----------------------------------------------------------------------------------

const MANAGER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

#[test]
fn entra_manager_as_plain_string_is_stored_as_a_reference() {
    let u = patch_user(json!([{"op": "Add", "path": MANAGER, "value": "m-1"}]));
    assert_eq!(u[ENTERPRISE_USER]["manager"], json!({"value": "m-1"}));
}

#[test]
fn replace_manager_with_an_object_replaces_it_whole() {
    let mut r = user();
    r[ENTERPRISE_USER] = json!({"manager": {"value": "m-1", "displayName": "Old Boss"}});
    let u = patch_user_from(
        &r,
        json!([{"op": "Replace", "path": MANAGER,
        "value": {"value": "m-2"}}]),
    );
    assert_eq!(u[ENTERPRISE_USER]["manager"], json!({"value": "m-2"}));
}

#[test]
fn empty_manager_value_removes_the_manager() {
    let mut r = user();
    r[ENTERPRISE_USER] = json!({"manager": {"value": "m-1"}, "department": "D"});
    for v in [json!(""), json!({"value": ""}), json!(null)] {
        let u = patch_user_from(&r, json!([{"op": "Replace", "path": MANAGER, "value": v}]));
        assert_eq!(u[ENTERPRISE_USER], json!({"department": "D"}), "{v}");
    }
    let u = patch_user_from(
        &r,
        json!([{"op": "replace",
        "path": format!("{MANAGER}.value"), "value": ""}]),
    );
    assert_eq!(u[ENTERPRISE_USER], json!({"department": "D"}));
}

// --- password ----------------------------------------------------------------------------------

#[test]
fn password_path_is_accepted_and_never_stored() {
    let u = patch_user(json!([{"op": "replace", "path": "password", "value": "hunter2"}]));
    assert_eq!(u, user());
}

#[test]
fn pathless_password_is_accepted_and_never_stored() {
    let u = patch_user(json!([{"op": "replace", "value": {"password": "x", "title": "T"}}]));
    assert!(u.get("password").is_none());
    assert_eq!(u["title"], "T");
}

#[test]
fn a_stored_password_is_stripped() {
    let mut r = user();
    r["Password"] = json!("leaked");
    let u = patch_user_from(&r, json!([]));
    assert!(u.get("Password").is_none());
}

// --- group members -----------------------------------------------------------------------------

#[test]
fn add_members_becomes_a_member_add() {
    let changes = member_changes(json!([{"op": "add", "path": "members",
        "value": [{"value": "u-1", "display": "Babs"}, {"value": "u-2"}, {"value": "u-1"}]}]));
    assert_eq!(changes, vec![MemberChange::Add(ids(&["u-1", "u-2"]))]);
}

#[test]
fn pathless_add_and_replace_of_members() {
    assert_eq!(
        member_changes(json!([{"op": "add", "value": {"members": [{"value": "u-1"}]}}])),
        vec![MemberChange::Add(ids(&["u-1"]))]
    );
    assert_eq!(
        member_changes(json!([{"op": "replace", "value": {"members": [{"value": "u-2"}]}}])),
        vec![MemberChange::Replace(ids(&["u-2"]))]
    );
}

#[test]
fn okta_replace_members_sends_the_full_list() {
    assert_eq!(
        member_changes(json!([{"op": "replace", "path": "members",
            "value": [{"value": "u-1"}, {"value": "u-2"}]}])),
        vec![MemberChange::Replace(ids(&["u-1", "u-2"]))]
    );
    assert_eq!(
        member_changes(json!([{"op": "replace", "path": "members", "value": []}])),
        vec![MemberChange::Replace(vec![])]
    );
}

#[test]
fn okta_remove_member_by_value_filter() {
    assert_eq!(
        member_changes(json!([{"op": "remove", "path": "members[value eq \"u-1\"]"}])),
        vec![MemberChange::Remove(ids(&["u-1"]))]
    );
    assert_eq!(
        member_changes(json!([{"op": "remove",
            "path": "members[value eq \"u-1\" or value eq \"u-2\"]"}])),
        vec![MemberChange::Remove(ids(&["u-1", "u-2"]))]
    );
}

#[test]
fn entra_remove_members_with_a_value_removes_only_those() {
    assert_eq!(
        member_changes(json!([{"op": "Remove", "path": "members", "value": [{"value": "u-9"}]}])),
        vec![MemberChange::Remove(ids(&["u-9"]))]
    );
}

#[test]
fn remove_members_without_a_value_removes_all() {
    assert_eq!(
        member_changes(json!([{"op": "remove", "path": "members"}])),
        vec![MemberChange::RemoveAll]
    );
}

#[test]
fn member_changes_keep_request_order() {
    assert_eq!(
        member_changes(json!([
            {"op": "add", "path": "members", "value": [{"value": "a"}]},
            {"op": "remove", "path": "members[value eq \"b\"]"},
            {"op": "replace", "value": {"displayName": "Admins", "members": [{"value": "c"}]}}
        ])),
        vec![
            MemberChange::Add(ids(&["a"])),
            MemberChange::Remove(ids(&["b"])),
            MemberChange::Replace(ids(&["c"])),
        ]
    );
}

#[test]
fn members_filter_other_than_value_eq_is_invalid_filter() {
    for path in [
        "members[value co \"u\"]",
        "members[display eq \"Babs\"]",
        "members[value eq \"a\" and type eq \"User\"]",
        "members[not (value eq \"a\")]",
    ] {
        let e = group_error(json!([{"op": "remove", "path": path}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{path}");
    }
}

#[test]
fn member_values_must_be_non_empty_strings() {
    for v in [
        json!([{"value": ""}]),
        json!([{"value": 7}]),
        json!([{"display": "x"}]),
        json!([null]),
    ] {
        let e = group_error(json!([{"op": "add", "path": "members", "value": v}]));
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{v}");
    }
    let e = group_error(json!([{"op": "remove", "path": "members[value eq \"\"]"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn members_sub_attributes_and_filtered_adds_are_invalid_path() {
    let e = group_error(json!([{"op": "replace", "path": "members.display", "value": "x"}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
    let e = group_error(json!([{"op": "add", "path": "members[value eq \"a\"]", "value": {}}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn members_are_not_a_user_attribute() {
    let e = user_error(json!([{"op": "add", "path": "members", "value": [{"value": "x"}]}]));
    assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn group_display_name_replace_by_path() {
    let (g, changes) = run(
        &group(),
        GROUP,
        json!([{"op": "replace", "path": "displayName", "value": "Ops"}]),
    )
    .unwrap();
    assert_eq!(g["displayName"], "Ops");
    assert!(changes.is_empty());
}

// --- robustness --------------------------------------------------------------------------------

#[test]
fn never_panics_on_odd_but_parseable_requests() {
    let odd_resource = json!({"id": "u-1", "schemas": "not-an-array", "emails": "x",
        "name": ["x"], ENTERPRISE_USER: "x", "addresses": [1, null, {"type": "work"}]});
    let values = [
        json!(null),
        json!(""),
        json!(1),
        json!([]),
        json!({}),
        json!([null, 1, "x"]),
        json!({"value": null}),
        json!([[{}]]),
    ];
    let paths = [
        "emails",
        "emails.value",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "name",
        "name.givenName",
        "addresses[type eq \"work\"]",
        MANAGER,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "active",
        "title",
        "x509Certificates[value eq \"x\"]",
    ];
    for resource in [user(), odd_resource] {
        for op in ["add", "replace", "remove"] {
            for path in paths {
                for v in &values {
                    let _ = run(
                        &resource,
                        USER,
                        json!([{"op": op, "path": path, "value": v}]),
                    );
                }
            }
            for v in &values {
                let _ = run(&resource, USER, json!([{"op": op, "value": v}]));
                let _ = run(
                    &resource,
                    USER,
                    json!([{"op": op, "value": {ENTERPRISE_USER: v}}]),
                );
            }
        }
    }
}

#[test]
fn extension_urn_as_path_merges_replaces_and_removes_the_extension() {
    let urn = crate::scim::schema::ENTERPRISE_USER;
    let mut user = serde_json::json!({"schemas": [crate::scim::schema::CORE_USER, urn], "id": "u1", "userName": "a",
        urn: {"department": "d1", "employeeNumber": "7"}});
    let add = serde_json::json!({"Operations": [{"op": "add", "path": urn,
        "value": {"schemas": [urn], "department": "d2", "costCenter": "c"}}]});
    let req = PatchRequest::parse(&add, ResourceKind::User).unwrap();
    apply(&mut user, &req, ResourceKind::User).unwrap();
    assert_eq!(
        user[urn],
        serde_json::json!({"department": "d2", "employeeNumber": "7", "costCenter": "c"})
    );
    let remove = serde_json::json!({"Operations": [{"op": "remove", "path": urn}]});
    let req = PatchRequest::parse(&remove, ResourceKind::User).unwrap();
    apply(&mut user, &req, ResourceKind::User).unwrap();
    assert!(
        user.get(urn)
            .is_none_or(|e| e.as_object().is_some_and(|o| o.is_empty())),
        "{user}"
    );
}
