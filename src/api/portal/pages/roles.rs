//! The Roles tab: the application's roles, the IT admin's groups that give them in priority
//! order, the role of users in none of them, and a search of the directory's groups to add from.
//!
//! One POST form carries the draft (`service::portal_roles`): each assignment is a `select`
//! named `a` whose option values are `role:group_id`, in priority order, so changing a role is
//! choosing another option, and every button (move up or down, remove, add, another page of
//! groups, Save) posts the whole draft with the session's CSRF token. Nothing is stored until
//! Save. Group names came from the IdP: like every value spliced here, they are text.

use maud::{html, Markup};

use super::{Frame, Tab};
use crate::api::web::count;
use crate::roles::RoleCatalogue;
use crate::service::portal_roles::RolesView;

/// What the last button did, said above the form.
#[derive(Debug, Clone, Default)]
pub enum Outcome {
    #[default]
    None,
    /// Saved: how many users' roles changed, and whether some are still to be updated.
    Saved { users_updated: u64, pending: bool },
    /// Save was refused (the draft is unchanged, nothing was stored).
    NotSaved(String),
    /// An edit was not made.
    NotChanged(String),
}

/// What the form showed and chose besides the draft: the group search, the page of groups shown
/// (its cursor), and the role the Add buttons give.
#[derive(Debug, Clone, Copy, Default)]
pub struct Search<'a> {
    pub q: Option<&'a str>,
    pub at: Option<&'a str>,
    pub give: Option<&'a str>,
}

fn name<'c>(c: &'c RoleCatalogue, slug: &'c str) -> &'c str {
    c.name(slug).unwrap_or(slug)
}

pub fn roles(frame: &Frame, v: &RolesView, search: Search, outcome: &Outcome) -> Markup {
    let c = &*v.catalogue;
    let give = search
        .give
        .filter(|g| c.require(g, "").is_ok())
        .or_else(|| c.roles.first().map(|r| r.slug.as_str()));
    let main = html! {
        h1 { "Roles" }
        p.lead { "The application gives each of your users a role from the groups they are in. Choose which of your groups give each role. A user in several of them gets the role of the group highest in the list." }
        (said(outcome))
        h2 { "The application's roles" }
        div.table-wrap {
            table id="roles" {
                thead { tr { th scope="col" { "Role" } th scope="col" { "What it is for" } th scope="col" { "Given by" } } }
                tbody {
                    @for r in &c.roles {
                        @let by = v.rows.iter().filter(|x| x.role == r.slug).count() as u64;
                        tr data-role=(r.slug) {
                            td { strong { (r.name) } @if c.default.as_deref() == Some(r.slug.as_str()) { " " span.tag { "default" } } }
                            td { (r.description.as_deref().unwrap_or("")) }
                            td { @if by == 0 { "No group" } @else { (count(by, "group")) } }
                        }
                    }
                }
            }
        }
        form.roles method="post" action=(frame.href("roles")) id="roles-form" {
            input type="hidden" name="csrf" value=(frame.session.map(|s| s.csrf()).unwrap_or_default());
            // Enter in the search field presses the form's first button: this one, not a move.
            button.visually-hidden type="submit" name="op" value="search" tabindex="-1" aria-hidden="true" { "Search" }
            @if let Some(at) = search.at { input type="hidden" name="at" value=(at); }
            h2 { "Your groups, highest priority first" }
            @if v.rows.is_empty() {
                p.empty id="no-assignments" { "No group gives a role yet: every user gets the role below." }
            } @else {
                ol.assignments id="assignments" {
                    @for (i, row) in v.rows.iter().enumerate() {
                        @let label = row.group_name.as_deref().unwrap_or("this group");
                        li data-group=(row.group_id) {
                            span.group {
                                @match &row.group_name {
                                    Some(n) => (n),
                                    None => span.missing { "Not a group of this directory (deleted?): remove it to save" },
                                }
                            }
                            span.gives {
                                label for=(format!("a{i}")) { "gives" }
                                select id=(format!("a{i}")) name="a" {
                                    @for r in &c.roles {
                                        option value=(format!("{}:{}", r.slug, row.group_id)) selected[r.slug == row.role] { (r.name) }
                                    }
                                    @if c.require(&row.role, "").is_err() {
                                        option value=(format!("{}:{}", row.role, row.group_id)) selected { (row.role) " (not a role of the application)" }
                                    }
                                }
                            }
                            span.moves {
                                button type="submit" name="op" value=(format!("up:{i}")) disabled[i == 0] aria-label=(format!("Move {label} up")) { "Up" }
                                button type="submit" name="op" value=(format!("down:{i}")) disabled[i + 1 == v.rows.len()] aria-label=(format!("Move {label} down")) { "Down" }
                                button.danger type="submit" name="op" value=(format!("remove:{i}")) aria-label=(format!("Remove {label}")) { "Remove" }
                            }
                        }
                    }
                }
            }
            h2 { "Everyone else" }
            p.field {
                label for="default" { "Users in none of these groups get" }
                select id="default" name="default" {
                    option value="" selected[v.default.is_none()] {
                        @match &c.default {
                            Some(d) => { "The application's default (" (name(c, d)) ")" }
                            None => { "No role (the application's default)" }
                        }
                    }
                    @for r in &c.roles {
                        option value=(r.slug) selected[v.default.as_deref() == Some(r.slug.as_str())] { (r.name) }
                    }
                }
            }
            p.save-bar {
                button.primary id="save" type="submit" name="op" value="save" { "Save" }
                @if !v.saved { " " span.unsaved id="unsaved" { "Unsaved changes" } }
            }
            h2 { "Add a group" }
            div.search {
                label for="q" { "Find a group by the start of its name" }
                input id="q" type="search" name="q" value=[search.q] placeholder="Name starts with…" autocomplete="off";
                button type="submit" name="op" value="search" { "Search" }
            }
            p.field {
                label for="give" { "Role the Add buttons give" }
                select id="give" name="give" {
                    @for r in &c.roles { option value=(r.slug) selected[give == Some(r.slug.as_str())] { (r.name) } }
                }
            }
            @if v.groups.data.is_empty() {
                p.empty { @if search.q.is_some() { "No group's name starts with that." } @else { "No groups yet: they appear here as your IdP pushes them." } }
            } @else {
                div.table-wrap {
                    table id="group-results" {
                        thead { tr { th scope="col" { "Group" } th scope="col" { span.visually-hidden { "Action" } } } }
                        tbody {
                            @for g in &v.groups.data {
                                @let gname = g.name.as_deref().unwrap_or(&g.id);
                                tr data-group=(g.id) {
                                    td { (gname) }
                                    td {
                                        @match v.role_of(&g.id) {
                                            Some(r) => span.given { "Gives " (name(c, r)) },
                                            None => button type="submit" name="op" value=(format!("add:{}", g.id)) aria-label=(format!("Add {gname}")) { "Add" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(after) = &v.groups.list_metadata.after {
                nav.pager aria-label="Pages" {
                    button type="submit" name="op" value=(format!("page:{after}")) { "Next page of groups" }
                }
            }
        }
    };
    frame.page("Roles", Tab::Roles, main)
}

fn said(outcome: &Outcome) -> Markup {
    match outcome {
        Outcome::None => html! {},
        Outcome::Saved {
            users_updated,
            pending,
        } => html! {
            div.reveal id="roles-saved" role="status" data-users-updated=(users_updated) data-pending=(pending) {
                p {
                    strong { "Saved." } " "
                    @match users_updated {
                        0 => { "No user's role changed." }
                        1 => { "1 user's role changed." }
                        n => { (n) " users' roles changed." }
                    }
                }
                @if *pending {
                    p.warn { "Not finished yet: more users' roles change than one save could update. The rest are updated in the background (a very large group can take a few minutes); until then those users keep their previous role." }
                }
            }
        },
        Outcome::NotSaved(why) => html! {
            div.problem id="roles-error" role="alert" {
                p { strong { "Not saved." } " " (why) }
            }
        },
        Outcome::NotChanged(why) => html! {
            div.problem id="roles-error" role="alert" { p { (why) } }
        },
    }
}
