//! One directory's pages: the overview (status, counts, endpoints, health, setup link), its
//! users (with their roles), groups and events (paged), its request log (when the API has one),
//! its webhook's delivery state, its group → role assignments (read-only), its custom attribute
//! mapping (previewed and saved with the form the Admin Portal uses) and its credentials (issue
//! and revoke; secrets shown once).

use maud::{html, Markup};
use serde_json::Value;

use super::{dir_href, provider_name, status, Frame};
use crate::api::console::request::RequestFilter;
use crate::api::console::wire::{
    CreatedClient, Credential, DirectoryDetail, IssuedToken, RequestsPage, Webhook,
};
use crate::api::web::attributes::{section, MappingOutcome, MappingSection};
use crate::api::web::{copyable, count, when, when_millis};
use crate::custom_attributes::{AttributeCatalogue, Mapping};
use crate::roles::RoleCatalogue;
use crate::service::custom_attributes::{DirectoryAttributes, Preview};
use crate::service::directory_reads::{NormalisedGroup, NormalisedUser, ResourcePage, UserState};
use crate::service::event_reads::EventsPage;
use crate::service::portal_links::CreatedPortalLink;
use crate::service::roles::{RoleAssignments, SyncStatus};

/// A directory page's tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Users,
    Groups,
    Events,
    Requests,
    Webhook,
    Roles,
    Attributes,
    Credentials,
}

/// The directory's tabs; `requests`: whether the API keeps a request log.
fn tabs(id: &str, name: &str, current: Tab, requests: bool) -> Markup {
    let tab = |t: Tab, path: &str, label: &str| {
        html! { a href=(dir_href(id, path)) aria-current=[(t == current).then_some("page")] { (label) } }
    };
    html! {
        nav.tabs aria-label=(format!("Directory {name}")) {
            (tab(Tab::Overview, "", "Overview"))
            (tab(Tab::Users, "users", "Users"))
            (tab(Tab::Groups, "groups", "Groups"))
            (tab(Tab::Events, "events", "Events"))
            @if requests { (tab(Tab::Requests, "requests", "Requests")) }
            (tab(Tab::Webhook, "webhook", "Webhook"))
            (tab(Tab::Roles, "roles", "Roles"))
            (tab(Tab::Attributes, "attributes", "Custom attributes"))
            (tab(Tab::Credentials, "credentials", "Credentials"))
        }
    }
}

/// The heading every directory page starts with.
fn heading(d: &DirectoryDetail, what: &str) -> Markup {
    html! {
        p { a href="/" { "← All directories" } }
        h1 { (d.directory.name) @if !what.is_empty() { " · " (what) } " " (status(&d.directory.status)) }
    }
}

fn page(
    frame: &Frame,
    d: &DirectoryDetail,
    tab: Tab,
    requests: bool,
    title: &str,
    main: Markup,
) -> Markup {
    let nav = tabs(&d.directory.id, &d.directory.name, tab, requests);
    frame.page(&format!("{title} · {}", d.directory.name), Some(nav), main)
}

/// `GET /directories/{id}` (and the answer of "Copy a setup link", with `link`).
pub fn overview(
    frame: &Frame,
    d: &DirectoryDetail,
    requests: bool,
    link: Option<&CreatedPortalLink>,
) -> Markup {
    let v = &d.directory;
    let main = html! {
        (heading(d, ""))
        dl.details id="overview" {
            dt { "Provider" } dd { (provider_name(v.provider.as_deref())) }
            dt { "Users" } dd id="users-count" { (d.users.map_or("—".into(), |n| count(n, "user"))) }
            dt { "Groups" } dd id="groups-count" { (d.groups.map_or("—".into(), |n| count(n, "group"))) }
            dt { "Created" } dd { (v.created_at.as_deref().map_or("—".into(), when)) }
            dt { "Linked" } dd { (v.linked_at.as_deref().map_or("Not yet".into(), when)) }
            dt { "Last request" } dd { (v.last_request_at.as_deref().map_or("Never".into(), when)) }
            dt { "Last error" }
            dd id="directory-last-error" {
                @match &v.last_error {
                    Some(e) => {
                        @if let Some(s) = e.status { strong { (s) } " " }
                        (e.detail.as_deref().unwrap_or(""))
                        @if let Some(at) = &e.at { " (" (when(at)) ")" }
                    }
                    None => "None",
                }
            }
            dt { "SCIM 2.0 base URL" } dd { (copyable("v-base-url", "base_url", &v.scim_v2_url, "the SCIM 2.0 base URL")) }
            dt { "SCIM 1.1 base URL" } dd { (copyable("v-base-url-v1", "base_url_v1", &v.scim_v1_url, "the SCIM 1.1 base URL")) }
            dt { "Token endpoint" } dd { code { (v.token_endpoint) } }
        }
        @let reports = d.reports();
        @if !reports.is_empty() {
            h2 { "Health" }
            dl.details id="health" {
                @for (k, value) in reports {
                    dt { (label(k)) }
                    dd { (report(value)) }
                }
            }
        }
        h2 id="setup-link" { "Admin Portal setup link" }
        p { "A link for the customer's IT admin: they pick their IdP, get the endpoint and a token, and follow its steps. It works for 7 days; the URL carries a secret and is shown once." }
        @if let Some(l) = link {
            div.reveal role="status" {
                (copyable("v-setup-link", "setup_link", &l.url, "the setup link"))
                p.warn { "Copy it now and send it to the customer's IT admin: it is shown this once. Expires " (when(&l.link.expires_at)) "." }
            }
        }
        (frame.form(&dir_href(&v.id, "portal-links"), Some("copy-setup-link"), html! {
            button.primary type="submit" { @if link.is_some() { "Make another setup link" } @else { "Copy a setup link" } }
        }))
    };
    page(frame, d, Tab::Overview, requests, "Overview", main)
}

/// A report field's key in words (`last_hour` → `Last hour`).
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut c = words.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// A report's value: scalars as text, objects as nested lists, as the API gives them.
fn report(v: &Value) -> Markup {
    match v {
        Value::Null => html! { "—" },
        Value::String(s) => html! { (s) },
        Value::Object(o) => html! {
            dl.details { @for (k, v) in o { dt { (label(k)) } dd { (report(v)) } } }
        },
        Value::Array(a) if a.is_empty() => html! { "None" },
        Value::Array(a) => html! { ul { @for v in a { li { (report(v)) } } } },
        other => html! { (other.to_string()) },
    }
}

fn next_link(href: String) -> Markup {
    html! { nav.pager aria-label="Pages" { a rel="next" href=(href) { "Next page" } } }
}

fn with_after(base: &str, after: &str) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("after", after);
    format!("{base}?{}", q.finish())
}

/// `roles`: the stack's catalogue (`None`: the API has none), for the names of users' roles.
pub fn users(
    frame: &Frame,
    d: &DirectoryDetail,
    requests: bool,
    p: &ResourcePage<NormalisedUser>,
    roles: Option<&RoleCatalogue>,
) -> Markup {
    let id = &d.directory.id;
    let declared = roles.is_some_and(|c| !c.roles.is_empty());
    let main = html! {
        (heading(d, "Users"))
        @if p.data.is_empty() {
            p.empty { "No users yet: they appear here as the IdP sends them." }
        } @else {
            div.table-wrap { table id="users" {
                thead { tr { th scope="col" { "User name" } th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "State" } @if declared { th scope="col" { "Role" } } th scope="col" { "Groups" } th scope="col" { "Updated" } } }
                tbody { @for u in &p.data { tr {
                    td { (u.username.as_deref().unwrap_or("")) }
                    td { (crate::service::portal::user_label(u)) }
                    td { (u.email.as_deref().unwrap_or("")) }
                    td { (if u.state == UserState::Active { "Active" } else { "Inactive" }) }
                    @if declared {
                        td.role title=[(u.roles.len() > 1).then(|| format!("All roles: {}", u.roles.iter().map(|r| r.slug.as_str()).collect::<Vec<_>>().join(", ")))] {
                            @match (&u.role, roles) {
                                (Some(r), Some(c)) => (c.name(&r.slug).unwrap_or(&r.slug)),
                                _ => "—",
                            }
                        }
                    }
                    td { @for (i, g) in u.groups.iter().enumerate() { @if i > 0 { ", " } (g.name.as_deref().unwrap_or(&g.id)) } }
                    td { (when(&u.updated_at)) }
                } } }
            } }
        }
        @if let Some(after) = &p.list_metadata.after { (next_link(with_after(&dir_href(id, "users"), after))) }
    };
    page(frame, d, Tab::Users, requests, "Users", main)
}

pub fn groups(
    frame: &Frame,
    d: &DirectoryDetail,
    requests: bool,
    p: &ResourcePage<NormalisedGroup>,
) -> Markup {
    let id = &d.directory.id;
    let main = html! {
        (heading(d, "Groups"))
        @if p.data.is_empty() {
            p.empty { "No groups yet: they appear here as the IdP pushes them." }
        } @else {
            div.table-wrap { table id="groups" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "IdP id (externalId)" } th scope="col" { "Created" } th scope="col" { "Updated" } } }
                tbody { @for g in &p.data { tr {
                    td { (g.name.as_deref().unwrap_or("")) }
                    td { (g.idp_id.as_deref().unwrap_or("")) }
                    td { (when(&g.created_at)) }
                    td { (when(&g.updated_at)) }
                } } }
            } }
        }
        @if let Some(after) = &p.list_metadata.after { (next_link(with_after(&dir_href(id, "groups"), after))) }
    };
    page(frame, d, Tab::Groups, requests, "Groups", main)
}

pub fn events(frame: &Frame, d: &DirectoryDetail, requests: bool, p: &EventsPage) -> Markup {
    let id = &d.directory.id;
    let main = html! {
        (heading(d, "Events"))
        p.lead { "What the application learns, oldest first (the Events API)." }
        @if p.data.is_empty() {
            p.empty { "No events here." }
        } @else {
            div.table-wrap { table id="events" {
                thead { tr { th.num scope="col" { "#" } th scope="col" { "Event" } th scope="col" { "At" } th scope="col" { "Data" } } }
                tbody { @for e in &p.data { tr {
                    td.num { (e.sequence) }
                    td { code { (serde_json::to_value(e.event).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) } }
                    td { (when(&e.created_at)) }
                    td { details { summary { (summary(&e.data)) } pre.json { (serde_json::to_string_pretty(&e.data).unwrap_or_default()) } } }
                } } }
            } }
        }
        @if p.has_more { (next_link(format!("{}?after={}", dir_href(id, "events"), p.after))) }
    };
    page(frame, d, Tab::Events, requests, "Events", main)
}

/// An event's data in a few words: the user's or group's name.
fn summary(data: &Value) -> String {
    ["username", "name", "email", "id"]
        .iter()
        .find_map(|k| data[*k].as_str())
        .unwrap_or("data")
        .to_string()
}

pub fn requests(frame: &Frame, d: &DirectoryDetail, f: &RequestFilter, p: &RequestsPage) -> Markup {
    let id = &d.directory.id;
    let select = |name: &str, current: Option<&str>, options: &[(&str, &str)]| {
        html! {
            select id=(name) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[current.unwrap_or("") == *value] { (text) }
                }
            }
        }
    };
    let main = html! {
        (heading(d, "Requests"))
        p.lead { "What the IdP sent and what it was answered, newest first; passwords and tokens are redacted before they are stored." }
        form.filters method="get" action=(dir_href(id, "requests")) {
            label { "Status" (select("status", f.status.as_deref(), &[("", "All"), ("2xx", "2xx"), ("4xx", "4xx"), ("5xx", "5xx")])) }
            label { "Method" (select("method", f.method.as_deref(), &[("", "All"), ("GET", "GET"), ("POST", "POST"), ("PUT", "PUT"), ("PATCH", "PATCH"), ("DELETE", "DELETE")])) }
            label { "Resource" (select("resource", f.resource.as_deref(), &[("", "All"), ("Users", "Users"), ("Groups", "Groups")])) }
            button type="submit" { "Filter" }
        }
        @if p.data.is_empty() {
            p.empty { "No requests match." }
        } @else {
            div.table-wrap { table id="requests" {
                thead { tr { th scope="col" { "At" } th scope="col" { "Request" } th.num scope="col" { "Status" } th scope="col" { "IdP" } th.num scope="col" { "ms" } th scope="col" { "Detail" } } }
                tbody { @for r in &p.data { tr data-status=(r.status) data-request=[r.id.as_deref()] {
                    td { (when(&r.at)) }
                    td { code { (r.method) " " (r.path) @if let Some(q) = &r.query { @if !q.is_empty() { "?" (q) } } } }
                    td.num { strong { (r.status) } }
                    td { (r.idp.as_deref().unwrap_or("")) }
                    td.num { (r.latency_ms.map(|l| l.to_string()).unwrap_or_default()) }
                    td {
                        @if let Some(t) = &r.scim_type { code { (t) } " " }
                        (r.detail.as_deref().unwrap_or(""))
                        @if !r.events.is_empty() {
                            " " small { "Events " @for (i, e) in r.events.iter().enumerate() { @if i > 0 { ", " } "#" (e) } }
                        }
                        @if r.request_body.is_some() || r.response_body.is_some() {
                            details { summary { "Bodies" }
                                @if let Some(b) = &r.request_body { h3 { "Request" } pre.json { (b) } }
                                @if let Some(b) = &r.response_body { h3 { "Response" } pre.json { (b) } }
                            }
                        }
                    }
                } } }
            } }
        }
        @if let Some(after) = p.next() { (next_link(requests_href(id, f, Some(after)))) }
    };
    page(frame, d, Tab::Requests, true, "Requests", main)
}

/// The request log's URL with `f`'s filters (and a page's cursor).
fn requests_href(id: &str, f: &RequestFilter, after: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let pairs = [
        ("status", f.status.as_deref()),
        ("method", f.method.as_deref()),
        ("resource", f.resource.as_deref()),
        ("after", after),
    ];
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    format!("{}?{}", dir_href(id, "requests"), q.finish())
}

pub fn webhook(frame: &Frame, d: &DirectoryDetail, requests: bool, w: Option<&Webhook>) -> Markup {
    let main = html! {
        (heading(d, "Webhook"))
        @match w {
            None => p.empty id="no-webhook" { "No webhook registered. The application registers one with " code { "PUT /manage/directories/{id}/webhook" } " or " code { "scimctl webhook set" } "." },
            Some(w) => {
                dl.details id="webhook" {
                    dt { "URL" } dd { code { (w.url) } }
                    dt { "Registered" } dd { (w.created_at.as_deref().map_or("—".into(), when)) }
                    dt { "Delivered up to event" } dd { (w.delivery.delivered) }
                    dt { "Last attempt" } dd { (w.delivery.last_attempt_at.as_deref().map_or("—".into(), when)) }
                    dt { "Last error" } dd { (w.delivery.last_error.as_deref().unwrap_or("None")) }
                    dt { "Deliveries" } dd {
                        @match &w.delivery.disabled {
                            Some(why) => { strong { "Stopped" } ": " (why) @if let Some(at) = &w.delivery.disabled_at { " (" (when(at)) ")" } }
                            None => "Running",
                        }
                    }
                    @if let Some(at) = &w.previous_secret_expires_at { dt { "Previous secret signs until" } dd { (when(at)) } }
                }
                h2 { "Parked events " span.count { "(" (w.delivery.parked.len()) ")" } }
                @if w.delivery.parked.is_empty() {
                    p.empty { "None: every event was delivered or is on its way." }
                } @else {
                    div.table-wrap { table id="parked" {
                        thead { tr { th.num scope="col" { "#" } th scope="col" { "Error" } th scope="col" { "Parked" } } }
                        tbody { @for p in &w.delivery.parked { tr { td.num { (p.sequence) } td { (p.error) } td { (when(&p.parked_at)) } } } }
                    } }
                    p { "Deliver them again with " code { "scimctl webhook resume DIR --from N" } "." }
                }
            }
        }
    };
    page(frame, d, Tab::Webhook, requests, "Webhook", main)
}

/// `GET /directories/{id}/roles`: the stack's roles and the directory's assignments in priority
/// order (read-only: the customer's IT admin edits them in the Admin Portal, the operator with
/// `scimctl roles assign`). `None`: the API has no roles routes.
pub fn roles(
    frame: &Frame,
    d: &DirectoryDetail,
    requests: bool,
    roles: Option<&(RoleCatalogue, RoleAssignments)>,
) -> Markup {
    let id = &d.directory.id;
    let main = html! {
        (heading(d, "Roles"))
        @match roles {
            None => p.empty { "This management API has no roles yet." },
            Some((c, _)) if c.roles.is_empty() => p.empty id="no-roles" {
                "The application declares no roles: " code { "PUT /manage/roles" } " or " code { "scimctl roles set" } "."
            },
            Some((c, a)) => {
                @let name = |slug: &str| c.name(slug).unwrap_or(slug).to_string();
                h2 { "The application's roles" }
                div.table-wrap { table id="roles" {
                    thead { tr { th scope="col" { "Slug" } th scope="col" { "Name" } th scope="col" { "Description" } } }
                    tbody { @for r in &c.roles { tr {
                        td { code { (r.slug) } @if c.default.as_deref() == Some(r.slug.as_str()) { " (default)" } }
                        td { (r.name) }
                        td { (r.description.as_deref().unwrap_or("")) }
                    } } }
                } }
                h2 { "This directory's groups, highest priority first" }
                @if a.assignments.is_empty() {
                    p.empty id="no-assignments" { "No group gives a role here: every user gets the default." }
                } @else {
                    div.table-wrap { table id="role-assignments" {
                        thead { tr { th.num scope="col" { "#" } th scope="col" { "Group" } th scope="col" { "Role" } } }
                        tbody { @for x in &a.assignments { tr data-group=(x.group_id) {
                            td.num { (x.priority) }
                            td { @match &x.group_name { Some(n) => (n), None => { "Deleted group " code { (x.group_id) } } } }
                            td { (name(&x.role)) " " code { (x.role) } }
                        } } }
                    } }
                }
                h2 { "Everyone else" }
                dl.details id="role-defaults" {
                    dt { "Users in no mapped group get" }
                    dd { @match &a.effective_default { Some(r) => (name(r)), None => "No role" } }
                    dt { "Whose default" }
                    dd { @if a.default.is_some() { "This directory's own" } @else { "The application's" } }
                    dt { "Re-resolution" }
                    dd id="role-sync" {
                        @if a.sync.state == SyncStatus::Pending {
                            strong { "Pending" } ": some users' roles are still to be updated; the clean-up function finishes it, " code { "scimctl roles sync " (id) } " does it now."
                        } @else { "Done" }
                    }
                }
                p { "The customer's IT admin assigns their groups in the Admin Portal's Roles tab; from here, " code { "scimctl roles assign " (id) " --group GROUP=ROLE" } "." }
            }
        }
    };
    page(frame, d, Tab::Roles, requests, "Roles", main)
}

/// The directory's custom attribute mapping and its form; `None`: the management API has no
/// custom attributes routes.
pub struct AttributesPage<'a> {
    pub mapping: Option<(&'a AttributeCatalogue, &'a DirectoryAttributes)>,
    /// The paths in the form.
    pub draft: &'a [Mapping],
    pub preview: Option<&'a Preview>,
    pub outcome: &'a MappingOutcome,
}

/// `GET /directories/{id}/attributes`: the stack's keys, the mapping in force (defaults marked),
/// and the form that previews the paths on the directory's 10 newest users and saves them.
pub fn attributes(
    frame: &Frame,
    d: &DirectoryDetail,
    requests: bool,
    a: &AttributesPage,
) -> Markup {
    let id = &d.directory.id;
    let action = dir_href(id, "attributes");
    let main = html! {
        (heading(d, "Custom attributes"))
        @match a.mapping {
            None => p.empty { "This management API has no custom attributes yet." },
            Some((keys, _)) if keys.attributes.is_empty() => p.empty id="no-attributes" {
                "The application declares no custom attributes: users carry the enterprise extension, flattened. Declare keys with "
                code { "PUT /manage/custom-attributes" } " or " code { "scimctl attributes set" } "."
            },
            Some((keys, saved)) => {
                p.lead { "Which SCIM attribute each of the application's keys takes its value from in this directory. The customer's IT admin can set the same in the Admin Portal's Attributes tab." }
                (section(&MappingSection {
                    keys,
                    saved,
                    draft: a.draft,
                    preview: a.preview,
                    outcome: a.outcome,
                    action: &action,
                    csrf: frame.csrf,
                }))
            }
        }
    };
    page(
        frame,
        d,
        Tab::Attributes,
        requests,
        "Custom attributes",
        main,
    )
}

/// What a credentials form just made (shown on this answer only).
#[derive(Default)]
pub struct Revealed {
    pub token: Option<IssuedToken>,
    pub client: Option<CreatedClient>,
}

fn credential_table(
    frame: &Frame,
    d: &DirectoryDetail,
    table_id: &str,
    kind: &str,
    items: &[Credential],
) -> Markup {
    html! {
        div.table-wrap { table id=(table_id) {
            thead { tr { th scope="col" { "Id" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Actions" } } } }
            tbody { @for c in items { tr data-id=(c.token_id) {
                td { code { (c.token_id) } @if !c.live { " (expired)" } }
                td { (c.created_at.as_deref().map_or("—".into(), when)) }
                td { (c.expires_at_millis.map(when_millis).unwrap_or_else(|| "Never".into())) }
                td { (c.last_used_at.as_deref().map(when).unwrap_or_else(|| "Not yet".into())) }
                td { (frame.form(&dir_href(&d.directory.id, &format!("{kind}s/{}/revoke", crate::management_client::segment(&c.token_id))), None, html! {
                    button.danger type="submit" aria-label=(format!("Revoke {kind} {}", c.token_id)) { "Revoke" }
                })) }
            } } }
        } }
    }
}

pub fn credentials(
    frame: &Frame,
    d: &DirectoryDetail,
    requests: bool,
    tokens: &[Credential],
    clients: &[Credential],
    revealed: &Revealed,
) -> Markup {
    let id = &d.directory.id;
    let main = html! {
        (heading(d, "Credentials"))
        p.lead { "At most two live tokens and two OAuth clients: rotate by issuing a new one, changing it in the IdP, then revoking the old one. Secrets are shown only when they are made." }
        @if let Some(t) = &revealed.token {
            div.reveal role="status" {
                (copyable("v-token", "bearer_token", &t.token, "the token"))
                p.warn { "Copy token " code { (t.token_id) } " now: it is shown this once." }
            }
        }
        @if let Some(c) = &revealed.client {
            div.reveal role="status" {
                dl.values {
                    dt { "Token endpoint" } dd { (copyable("v-token-endpoint", "token_endpoint", &c.token_endpoint, "the token endpoint")) }
                    dt { "Client id" } dd { (copyable("v-client-id", "client_id", &c.client_id, "the client id")) }
                    dt { "Client secret" } dd { (copyable("v-client-secret", "client_secret", &c.client_secret, "the client secret")) }
                }
                p.warn { "Copy the secret now: it is shown this once." }
            }
        }
        h2 { "Bearer tokens" }
        @if tokens.is_empty() { p.empty { "No tokens." } } @else { (credential_table(frame, d, "tokens", "token", tokens)) }
        (frame.form(&dir_href(id, "tokens"), Some("issue-token"), html! { button.primary type="submit" { "Issue a token" } }))
        h2 { "OAuth clients" }
        @if clients.is_empty() { p.empty { "No clients." } } @else { (credential_table(frame, d, "clients", "client", clients)) }
        (frame.form(&dir_href(id, "clients"), Some("create-client"), html! { button type="submit" { "Create client credentials" } }))
    };
    page(frame, d, Tab::Credentials, requests, "Credentials", main)
}
