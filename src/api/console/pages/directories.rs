//! Every directory at a glance (the WorkOS dashboard's list), the Add directory form and the
//! answer that shows the new directory's endpoints and token once.

use maud::{html, Markup};

use super::{dir_href, provider_name, status, Frame};
use crate::api::console::wire::{CreatedDirectory, Directory};
use crate::api::web::{copyable, when};
use crate::provider::Provider;

/// A directory with its counts (`None`: its detail could not be read).
pub struct Row {
    pub directory: Directory,
    pub users: Option<u64>,
    pub groups: Option<u64>,
}

pub fn directories(frame: &Frame, rows: &[Row]) -> Markup {
    let main = html! {
        h1 { "Directories " span.count { "(" (rows.len()) ")" } }
        div.actions { a.primary href="/directories/new" { "Add directory" } }
        @if rows.is_empty() {
            p.empty { "No directories yet. Add one for each customer organisation." }
        } @else {
            div.table-wrap {
                table id="directories" {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Provider" } th scope="col" { "Status" }
                        th.num scope="col" { "Users" } th.num scope="col" { "Groups" }
                        th scope="col" { "Last request" } th scope="col" { "Last error" }
                    } }
                    tbody {
                        @for r in rows {
                            @let d = &r.directory;
                            tr data-directory=(d.id) {
                                td { a href=(dir_href(&d.id, "")) { (d.name) } }
                                td { (provider_name(d.provider.as_deref())) }
                                td { (status(&d.status)) }
                                td.num { (r.users.map_or("—".into(), |n| n.to_string())) }
                                td.num { (r.groups.map_or("—".into(), |n| n.to_string())) }
                                td { (d.last_request_at.as_deref().map_or("Never".into(), when)) }
                                td.error { @if let Some(e) = &d.last_error {
                                    @if let Some(s) = e.status { strong { (s) } " " }
                                    (e.detail.as_deref().unwrap_or(""))
                                    @if let Some(at) = &e.at { br; small { (when(at)) } }
                                } }
                            }
                        }
                    }
                }
            }
        }
    };
    frame.page("Directories", None, main)
}

/// `GET /directories/new`.
pub fn new_directory(frame: &Frame) -> Markup {
    let main = html! {
        h1 { "Add a directory" }
        p.lead { "One directory per customer organisation. Its SCIM endpoint and first bearer token are shown once, on the next page; or send the customer's IT admin a setup link from the directory's page." }
        (frame.form("/directories", Some("add-directory"), html! {
            div.stacked {
                label for="name" { "Name (the customer's organisation)" }
                input id="name" name="name" type="text" required maxlength="200" autocomplete="off";
                label for="provider" { "Identity provider" }
                select id="provider" name="provider" {
                    option value="" { "Let the customer's IT admin choose (Admin Portal)" }
                    @for p in Provider::ALL {
                        option value=(p.name()) { (p.product_name()) }
                    }
                }
                div { button.primary type="submit" { "Add directory" } }
            }
        }))
    };
    frame.page("Add a directory", None, main)
}

/// The answer of `POST /directories`: the endpoints and the token, this once.
pub fn created(frame: &Frame, c: &CreatedDirectory) -> Markup {
    let d = &c.directory;
    let v1 = d
        .provider
        .as_deref()
        .and_then(Provider::from_name)
        .is_some_and(|p| p.protocol() == crate::provider::Protocol::V1);
    let main = html! {
        h1 { "Directory “" (d.name) "” added" }
        p.lead { "Paste these into " (provider_name(d.provider.as_deref()).replace("Not chosen yet", "the IdP")) "'s provisioning settings, or send the customer a setup link from the directory's page." }
        div.reveal role="status" {
            dl.values {
                dt { "SCIM base URL (2.0)" }
                dd { (copyable("v-base-url", "base_url", &d.scim_v2_url, "the SCIM 2.0 base URL")) }
                dt { "SCIM base URL (1.1)" }
                dd { (copyable("v-base-url-v1", "base_url_v1", &d.scim_v1_url, "the SCIM 1.1 base URL")) }
                @if v1 { dd { em { "This provider speaks SCIM 1.1: use the 1.1 base URL." } } }
                dt { "Bearer token" }
                dd { (copyable("v-token", "bearer_token", &c.token, "the token")) }
            }
            @if let Some(id) = &c.token_id { p { "Token id " code { (id) } " (how the Credentials tab names it)." } }
            p.warn { "Copy the token now: it is shown this once and cannot be shown again. If it is lost, issue another on the directory's Credentials tab." }
        }
        p { a.primary href=(dir_href(&d.id, "")) { "Open the directory" } }
    };
    frame.page("Directory added", None, main)
}
