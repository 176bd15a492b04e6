//! The Users and Groups tabs: read-only, paged, searchable by name; and one user with its groups.
//! When the application declares roles, users show theirs by name (`Frame::role_of`).

use maud::{html, Markup};

use super::{when, Frame, Tab};
use crate::service::directory_reads::{NormalisedGroup, NormalisedUser, ResourcePage, UserState};
use crate::service::portal::user_label;

fn search(frame: &Frame, path: &str, what: &str, q: Option<&str>) -> Markup {
    html! {
        form.search method="get" action=(frame.href(path)) role="search" {
            label for="q" { "Search " (what) " by name" }
            input id="q" type="search" name="q" value=[q] placeholder="Name starts with…" autocomplete="off";
            button type="submit" { "Search" }
            @if q.is_some() { a href=(frame.href(path)) { "Show all" } }
        }
    }
}

fn next(frame: &Frame, path: &str, q: Option<&str>, after: Option<&str>) -> Markup {
    let Some(after) = after else {
        return html! {};
    };
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    if let Some(q) = q {
        url.append_pair("q", q);
    }
    url.append_pair("after", after);
    html! {
        nav.pager aria-label="Pages" {
            a rel="next" href=(format!("{}?{}", frame.href(path), url.finish())) { "Next page" }
        }
    }
}

pub fn users(
    frame: &Frame,
    page: &ResourcePage<NormalisedUser>,
    total: u64,
    q: Option<&str>,
) -> Markup {
    let main = html! {
        h1 { "Users " span.count { "(" (total) ")" } }
        (search(frame, "users", "users", q))
        @if page.data.is_empty() {
            p.empty { @if q.is_some() { "No user's name starts with that." } @else { "No users yet: they appear here as your IdP sends them." } }
        } @else {
            div.table-wrap {
                table id="users" {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "User name" } th scope="col" { "Email" } @if frame.has_roles() { th scope="col" { "Role" } } th scope="col" { "State" } } }
                    tbody {
                        @for u in &page.data {
                            tr {
                                td { a href=(frame.href(&format!("users/{}", u.id))) { (user_label(u)) } }
                                td { (u.username.as_deref().unwrap_or("")) }
                                td { (u.email.as_deref().unwrap_or("")) }
                                @if frame.has_roles() { td.role { (frame.role_of(u)) } }
                                td { (state(u.state)) }
                            }
                        }
                    }
                }
            }
        }
        (next(frame, "users", q, page.list_metadata.after.as_deref()))
    };
    frame.page("Users", Tab::Users, main)
}

fn state(s: UserState) -> &'static str {
    match s {
        UserState::Active => "Active",
        UserState::Inactive => "Inactive",
    }
}

pub fn user(frame: &Frame, u: &NormalisedUser) -> Markup {
    let main = html! {
        p { a href=(frame.href("users")) { "← All users" } }
        h1 { (user_label(u)) }
        dl.details {
            dt { "User name" } dd { (u.username.as_deref().unwrap_or("—")) }
            dt { "Email" } dd { (u.email.as_deref().unwrap_or("—")) }
            dt { "First name" } dd { (u.first_name.as_deref().unwrap_or("—")) }
            dt { "Last name" } dd { (u.last_name.as_deref().unwrap_or("—")) }
            dt { "State" } dd { (state(u.state)) }
            @if frame.has_roles() {
                dt { "Role" } dd id="user-role" { (frame.role_of(u)) }
                @if u.roles.len() > 1 {
                    dt { "All roles its groups give" }
                    dd id="user-roles" {
                        @for (i, r) in u.roles.iter().enumerate() {
                            @if i > 0 { ", " }
                            (frame.roles.name(&r.slug).unwrap_or(&r.slug))
                        }
                    }
                }
            }
            dt { "IdP id (externalId)" } dd { (u.idp_id.as_deref().unwrap_or("—")) }
            dt { "Created" } dd { (when(&u.created_at)) }
            dt { "Updated" } dd { (when(&u.updated_at)) }
        }
        h2 { "Groups" }
        @if u.groups.is_empty() {
            p.empty { "In no group." }
        } @else {
            ul id="user-groups" {
                @for g in &u.groups { li { (g.name.as_deref().unwrap_or(&g.id)) } }
            }
        }
    };
    frame.page(&user_label(u), Tab::Users, main)
}

pub fn groups(
    frame: &Frame,
    page: &ResourcePage<NormalisedGroup>,
    total: u64,
    q: Option<&str>,
) -> Markup {
    let main = html! {
        h1 { "Groups " span.count { "(" (total) ")" } }
        (search(frame, "groups", "groups", q))
        @if page.data.is_empty() {
            p.empty { @if q.is_some() { "No group's name starts with that." } @else { "No groups yet: they appear here as your IdP pushes them." } }
        } @else {
            div.table-wrap {
                table id="groups" {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "IdP id (externalId)" } th scope="col" { "Created" } } }
                    tbody {
                        @for g in &page.data {
                            tr {
                                td { (g.name.as_deref().unwrap_or("")) }
                                td { (g.idp_id.as_deref().unwrap_or("")) }
                                td { (when(&g.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        (next(frame, "groups", q, page.list_metadata.after.as_deref()))
    };
    frame.page("Groups", Tab::Groups, main)
}
