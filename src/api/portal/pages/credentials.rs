//! The Credentials tab: the directory's tokens and OAuth clients (created, expires, last used),
//! never their secrets; rotation is "generate another, paste it, revoke the old one".

use maud::{html, Markup};

use super::{when, when_millis, Frame, Tab};
use crate::service::portal::Credentials;

pub fn credentials(frame: &Frame, c: &Credentials, offers_clients: bool) -> Markup {
    let main = html! {
        h1 { "Credentials" }
        p.lead { "To rotate a token: generate a new one, paste it into your IdP, check that requests still arrive, then revoke the old one. A token is shown only when it is made." }
        h2 { "Bearer tokens" }
        @if c.tokens.is_empty() {
            p.empty { "No tokens." }
        } @else {
            div.table-wrap {
                table id="tokens" {
                    thead { tr { th scope="col" { "Token" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Actions" } } } }
                    tbody {
                        @for t in &c.tokens {
                            tr {
                                td { code { (t.credential.token_id) } @if !t.live { " (expired)" } }
                                td { (when(&t.credential.created_at)) }
                                td { (t.credential.expires_at_millis.map(when_millis).unwrap_or_else(|| "Never".into())) }
                                td { (t.credential.last_used_at.as_deref().map(when).unwrap_or_else(|| "Not yet".into())) }
                                td { (frame.form(&format!("tokens/{}/revoke", t.credential.token_id), None, html! {
                                    button.danger type="submit" aria-label=(format!("Revoke token {}", t.credential.token_id)) { "Revoke" }
                                })) }
                            }
                        }
                    }
                }
            }
        }
        (frame.form("tokens", Some("generate-token"), html! {
            button.primary type="submit" { "Generate a new token" }
        }))
        @if offers_clients || !c.clients.is_empty() {
            h2 { "OAuth clients" }
            @if c.clients.is_empty() {
                p.empty { "No clients." }
            } @else {
                div.table-wrap {
                    table id="clients" {
                        thead { tr { th scope="col" { "Client id" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Last used" } th scope="col" { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for cl in &c.clients {
                                tr {
                                    td { code { (cl.credential.client_id) } @if !cl.live { " (expired)" } }
                                    td { (when(&cl.credential.created_at)) }
                                    td { (cl.credential.expires_at_millis.map(when_millis).unwrap_or_else(|| "Never".into())) }
                                    td { (cl.credential.last_used_at.as_deref().map(when).unwrap_or_else(|| "Not yet".into())) }
                                    td { (frame.form(&format!("clients/{}/revoke", cl.credential.client_id), None, html! {
                                        button.danger type="submit" aria-label=(format!("Revoke client {}", cl.credential.client_id)) { "Revoke" }
                                    })) }
                                }
                            }
                        }
                    }
                }
            }
            (frame.form("clients", Some("create-client"), html! {
                button type="submit" { "Create client credentials" }
            }))
        }
    };
    frame.page("Credentials", Tab::Credentials, main)
}
