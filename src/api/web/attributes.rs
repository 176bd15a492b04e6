//! The custom attribute mapping form and its preview, as the Admin Portal's Attributes tab and
//! the operator console's show them: the mapping in force (defaults marked), one path field per
//! declared key, **Preview** (what the paths make of the directory's newest users, before and
//! after, nothing stored) and **Save**. Both sites post the same form (`MappingForm::parse`) to
//! the same use cases, so they cannot drift apart.
//!
//! Every value here came from the IdP (users' attributes) or from a person (paths): each is
//! spliced as text, and a value that is not a string is shown as its JSON.

use maud::{html, Markup};
use serde_json::{Map, Value};

use crate::custom_attributes::{default_path, AttributeCatalogue, Mapping, Source};
use crate::service::custom_attributes::{DirectoryAttributes, Preview};

/// A path field's name: this prefix and the key (`path.cost_center`).
const FIELD: &str = "path.";

/// What the form's button asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingAction {
    Preview,
    Save,
}

/// The mapping form: the paths typed (blank fields left out: those keys take their default)
/// and the button pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingForm {
    pub mappings: Vec<Mapping>,
    pub action: MappingAction,
}

impl MappingForm {
    /// The form's fields; `op` is `preview` (also Enter in a field: the form's first button) or
    /// `save`.
    pub fn parse(form: &[(String, String)]) -> Result<MappingForm, &'static str> {
        let action = match form
            .iter()
            .find(|(k, _)| k == "op")
            .map(|(_, v)| v.as_str())
        {
            None | Some("preview") => MappingAction::Preview,
            Some("save") => MappingAction::Save,
            Some(_) => return Err("that button could not be read"),
        };
        let mut mappings: Vec<Mapping> = Vec::new();
        for (k, v) in form {
            let (Some(key), path) = (k.strip_prefix(FIELD), v.trim()) else {
                continue;
            };
            if path.is_empty() {
                continue;
            }
            if mappings.iter().any(|m| m.key == key) {
                return Err("a key's path was sent twice");
            }
            mappings.push(Mapping {
                key: key.to_string(),
                path: path.to_string(),
            });
        }
        Ok(MappingForm { mappings, action })
    }
}

/// What the last button did, said above the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MappingOutcome {
    #[default]
    None,
    Saved,
    /// The use case refused the paths (a 400): why, and whether it was Save.
    Refused {
        saving: bool,
        why: String,
    },
}

/// What the mapping section shows.
pub struct MappingSection<'a> {
    pub keys: &'a AttributeCatalogue,
    /// The directory's map as saved.
    pub saved: &'a DirectoryAttributes,
    /// The paths in the form (the saved mappings unless the form sent others).
    pub draft: &'a [Mapping],
    pub preview: Option<&'a Preview>,
    pub outcome: &'a MappingOutcome,
    /// Where the form posts, and its CSRF token.
    pub action: &'a str,
    pub csrf: &'a str,
}

/// The mapping in force, the form, and the preview if one was asked.
pub fn section(s: &MappingSection) -> Markup {
    let unsaved = sorted(s.draft) != sorted(&s.saved.mappings);
    html! {
        (said(s.outcome))
        h2 { "In force now" }
        (in_force(s.keys, s.saved))
        form.attributes method="post" action=(s.action) id="attributes-form" {
            input type="hidden" name="csrf" value=(s.csrf);
            h2 { "Where each attribute comes from" }
            p.hint { "A SCIM attribute path: " code { "title" } ", " code { "addresses[type eq \"work\"].locality" } ", " code { "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter" } ", or an extension your IdP sends. Leave a field blank for the default shown in it." }
            div.table-wrap { table id="attribute-fields" {
                thead { tr { th scope="col" { "Attribute" } th scope="col" { "SCIM attribute path" } } }
                tbody { @for a in &s.keys.attributes {
                    @let id = format!("path-{}", a.key);
                    @let typed = s.draft.iter().find(|m| m.key == a.key).map(|m| m.path.as_str());
                    @let default = default_path(&a.key);
                    tr data-key=(a.key) {
                        td {
                            label for=(id) { code { (a.key) } }
                            @if let Some(d) = &a.description { br; small { (d) } }
                        }
                        td {
                            input type="text" id=(id) name=(format!("{FIELD}{}", a.key)) value=[typed]
                                placeholder=(default.as_deref().unwrap_or("Not mapped")) autocomplete="off" spellcheck="false";
                        }
                    }
                } }
            } }
            p.save-bar {
                // The first button: Enter in a field previews, never saves.
                button type="submit" name="op" value="preview" id="preview" { "Preview" }
                button.primary type="submit" name="op" value="save" id="save" { "Save" }
                @if unsaved { " " span.unsaved id="unsaved" { "Unsaved changes" } }
            }
        }
        @if let Some(p) = s.preview { (preview(s.keys, p)) }
    }
}

fn sorted(m: &[Mapping]) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = m
        .iter()
        .map(|m| (m.key.as_str(), m.path.as_str()))
        .collect();
    v.sort_unstable();
    v
}

fn said(outcome: &MappingOutcome) -> Markup {
    match outcome {
        MappingOutcome::None => html! {},
        MappingOutcome::Saved => html! {
            div.reveal id="attributes-saved" role="status" {
                p { strong { "Saved." } " Users carry these attributes from now on: the application reads them with the new paths at once, and each user's next change sends them in its event." }
            }
        },
        MappingOutcome::Refused { saving, why } => html! {
            div.problem id="attributes-error" role="alert" {
                p { strong { @if *saving { "Not saved." } @else { "No preview." } } " " (why) }
            }
        },
    }
}

/// The keys and the path each takes in this directory (`default` marked), or that it has none.
fn in_force(keys: &AttributeCatalogue, a: &DirectoryAttributes) -> Markup {
    html! {
        div.table-wrap { table id="attribute-mapping" {
            thead { tr { th scope="col" { "Attribute" } th scope="col" { "Comes from" } } }
            tbody { @for k in &keys.attributes {
                @let e = a.effective.iter().find(|e| e.key == k.key);
                tr data-key=(k.key) data-source=[e.map(|e| if e.source == Source::Default { "default" } else { "directory" })] {
                    td { code { (k.key) } }
                    td { @match e {
                        Some(e) => { code { (e.path) } @if e.source == Source::Default { " " span.tag { "default" } } },
                        None => span.empty { "Not mapped: users do not carry it" },
                    } }
                }
            } }
        } }
    }
}

/// The newest users' attributes now and under the paths previewed, one `tbody` per user; a
/// value the paths change is `td.changed`.
fn preview(keys: &AttributeCatalogue, p: &Preview) -> Markup {
    let changed = p.users.iter().filter(|u| u.changed).count();
    html! {
        section id="attribute-preview" aria-labelledby="preview-heading" {
            h2 id="preview-heading" { "Preview" }
            p id="preview-summary" data-changed=(changed) {
                @if p.users.is_empty() {
                    "No users yet: the preview shows the newest users once your IdP has sent some."
                } @else {
                    "The " (p.users.len()) " newest users: "
                    @match changed { 0 => "these paths change nothing.", 1 => "1 user's attributes change.", n => { (n) " users' attributes change." } }
                    " Nothing is saved until you press Save."
                }
            }
            @if !p.users.is_empty() {
                div.table-wrap { table id="preview-users" {
                    thead { tr { th scope="col" { "User" } th scope="col" { "Attribute" } th scope="col" { "Now" } th scope="col" { "With these paths" } } }
                    @for u in &p.users {
                        @let names = key_order(keys, &u.before, &u.after);
                        @let who = u.username.as_deref().unwrap_or(&u.id);
                        tbody data-user=(u.id) data-changed=(u.changed) {
                            @if names.is_empty() {
                                tr { th scope="row" { (who) } td colspan="3" { span.empty { "No attributes, now or with these paths" } } }
                            }
                            @for (i, k) in names.iter().enumerate() {
                                @let (before, after) = (u.before.get(*k), u.after.get(*k));
                                tr data-key=(k) {
                                    @if i == 0 { th scope="row" rowspan=(names.len()) { (who) } }
                                    td { code { (k) } }
                                    td.before { (shown(before)) }
                                    td.after.changed[before != after] { (shown(after)) }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// The keys either side holds: the declared ones in their order, then any other (a flattening).
fn key_order<'a>(
    keys: &'a AttributeCatalogue,
    before: &'a Map<String, Value>,
    after: &'a Map<String, Value>,
) -> Vec<&'a str> {
    let mut names: Vec<&str> = keys
        .attributes
        .iter()
        .map(|a| a.key.as_str())
        .filter(|k| before.contains_key(*k) || after.contains_key(*k))
        .collect();
    for k in before.keys().chain(after.keys()) {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    names
}

/// A value as text: a string as it is, anything else as its JSON; absent as "—".
fn shown(v: Option<&Value>) -> String {
    match v {
        None => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(body: &str) -> Vec<(String, String)> {
        crate::api::request::parse_form(body)
    }

    #[test]
    fn blank_paths_are_left_out_and_the_button_decides() {
        let f = MappingForm::parse(&pairs(
            "csrf=t&path.city=+addresses%5Btype+eq+%22work%22%5D.locality+&path.title=&op=save",
        ))
        .unwrap();
        assert_eq!(f.action, MappingAction::Save);
        assert_eq!(
            f.mappings,
            [Mapping {
                key: "city".into(),
                path: "addresses[type eq \"work\"].locality".into()
            }]
        );
        let enter = MappingForm::parse(&pairs("path.title=title")).unwrap();
        assert_eq!(enter.action, MappingAction::Preview);
        assert!(MappingForm::parse(&pairs("op=launch")).is_err());
        assert!(MappingForm::parse(&pairs("path.a=x&path.a=y")).is_err());
    }

    #[test]
    fn markup_in_a_value_is_text_and_changed_values_are_marked() {
        let keys = AttributeCatalogue {
            attributes: vec![crate::custom_attributes::AttributeDef {
                key: "title".into(),
                description: None,
            }],
        };
        let p: Preview = serde_json::from_value(serde_json::json!({
            "directory_id": "d",
            "mapping": {"directory_id": "d", "mappings": [], "rendering": "mapped", "effective": [], "unmapped": []},
            "users": [{"id": "u1", "username": "<b>ada</b>", "before": {"title": "Eng"},
                       "after": {"title": "<img src=x onerror=alert(1)>"}, "changed": true}]
        }))
        .unwrap();
        let html = preview(&keys, &p).into_string();
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img") && !html.contains("<b>ada"));
        assert!(html.contains("class=\"after changed\""), "{html}");
    }
}
