//! What the Admin Portal reads besides the setup flow: users and groups searched by name (the
//! Users and Groups tabs, through the name guards, never a scan), their counts, and each
//! credential's last use (the Credentials tab).

use aws_sdk_dynamodb::types::AttributeValue;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::directory_reads::{
    count_users_groups, search_groups, search_users, NormalisedGroup, NormalisedUser, ResourcePage,
};
use scim_lambda::service::ManagementError;
use scim_lambda::store::keys;
use serde_json::Value;

use crate::support::{http, Reply, Scim};

fn user_names(page: &ResourcePage<NormalisedUser>) -> Vec<&str> {
    page.data
        .iter()
        .map(|u| u.username.as_deref().unwrap_or_default())
        .collect()
}

fn group_names(page: &ResourcePage<NormalisedGroup>) -> Vec<&str> {
    page.data
        .iter()
        .map(|g| g.name.as_deref().unwrap_or_default())
        .collect()
}

/// Marks a group as if its create were still adding members (`store::State::Pending`).
async fn make_pending(s: &Scim, group: &str) {
    s.update_item(keys::resource_sk(ResourceKind::Group, group))
        .update_expression("SET pending = :intent, pending_since = :now")
        .expression_attribute_values(":intent", AttributeValue::S("test".into()))
        .expression_attribute_values(
            ":now",
            AttributeValue::N(scim_lambda::clock::now_millis().to_string()),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn users_are_found_by_the_start_of_their_name_whatever_its_case_in_name_order() {
    let s = Scim::start().await;
    let mut ids = Vec::new();
    for name in [
        "bob@x.com",
        "adam@x.com",
        "Ada.Byron@x.com",
        "ada@x.com",
        "zed@x.com",
    ] {
        ids.push(s.user(name).await);
    }
    s.group("Analysts", &[&ids[2]]).await;
    let page = search_users(s.svc(), &s.directory, "AD", None, 10)
        .await
        .unwrap();
    // In folded name order ('.' sorts before '@'), not creation order.
    assert_eq!(
        user_names(&page),
        ["Ada.Byron@x.com", "ada@x.com", "adam@x.com"]
    );
    assert_eq!(page.list_metadata.after, None);
    // A list carries no groups; one user's read does.
    assert!(page.data.iter().all(|u| u.groups.is_empty()));
    let one = scim_lambda::service::directory_reads::user(s.svc(), &s.directory, &page.data[0].id)
        .await
        .unwrap()
        .unwrap();
    let groups: Vec<_> = one.groups.iter().map(|g| g.name.as_deref()).collect();
    assert_eq!(groups, [Some("Analysts")]);
}

#[tokio::test]
async fn an_empty_search_pages_through_everyone_in_name_order() {
    let s = Scim::start().await;
    for name in [
        "carol@x.com",
        "alice@x.com",
        "erin@x.com",
        "bob@x.com",
        "dave@x.com",
    ] {
        s.user(name).await;
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = search_users(s.svc(), &s.directory, "", after.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.data.len() <= 2);
        seen.extend(user_names(&page).into_iter().map(str::to_string));
        match page.list_metadata.after {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "alice@x.com",
            "bob@x.com",
            "carol@x.com",
            "dave@x.com",
            "erin@x.com"
        ]
    );
}

#[tokio::test]
async fn the_last_full_page_says_no_more_follow() {
    let s = Scim::start().await;
    for name in ["a1@x.com", "a2@x.com", "b@x.com"] {
        s.user(name).await;
    }
    let page = search_users(s.svc(), &s.directory, "a", None, 2)
        .await
        .unwrap();
    assert_eq!(user_names(&page), ["a1@x.com", "a2@x.com"]);
    assert_eq!(page.list_metadata.after, None);
}

#[tokio::test]
async fn a_group_still_being_created_is_not_found_and_the_page_stays_full() {
    let s = Scim::start().await;
    s.group("Engineering", &[]).await;
    let hidden = s.group("Engineers (new)", &[]).await;
    s.group("Engines", &[]).await;
    s.group("Sales", &[]).await;
    make_pending(&s, &hidden).await;
    let page = search_groups(s.svc(), &s.directory, "eng", None, 2)
        .await
        .unwrap();
    assert_eq!(group_names(&page), ["Engineering", "Engines"]);
    assert_eq!(page.list_metadata.after, None);
    // As the id-ordered listing hides it.
    let listed = scim_lambda::service::directory_reads::groups(s.svc(), &s.directory, None, 10)
        .await
        .unwrap();
    assert!(listed.data.iter().all(|g| g.id != hidden));
}

#[tokio::test]
async fn a_hash_in_the_search_cannot_reach_past_the_names_it_starts() {
    let s = Scim::start().await;
    s.group("R#D", &[]).await;
    s.group("R%23D", &[]).await;
    s.group("R", &[]).await;
    let page = search_groups(s.svc(), &s.directory, "r#", None, 10)
        .await
        .unwrap();
    assert_eq!(group_names(&page), ["R#D"]);
}

#[tokio::test]
async fn a_cursor_from_another_search_is_refused_not_followed() {
    let s = Scim::start().await;
    s.user("ann@x.com").await;
    // A cursor outside the query's prefix, and one aiming at another kind's guards.
    for cursor in ["bob@x.com", "\u{ffff}", "a#GNAME#x"] {
        let e = search_users(s.svc(), &s.directory, "an", Some(cursor), 10)
            .await
            .unwrap_err();
        match e {
            ManagementError::Scim(e) => assert_eq!(e.status, 400, "{cursor}: {}", e.detail),
            other => panic!("{cursor}: {other:?}"),
        }
    }
    // A `#` in a cursor is escaped like any name: it stays among the users' names.
    let page = search_users(s.svc(), &s.directory, "an", Some("an#GNAME#x"), 10)
        .await
        .unwrap();
    assert_eq!(user_names(&page), ["ann@x.com"]);
    // Within the prefix, a cursor resumes after it (here: past everyone).
    let page = search_users(s.svc(), &s.directory, "an", Some("ann@x.com"), 10)
        .await
        .unwrap();
    assert!(page.data.is_empty());
}

#[tokio::test]
async fn a_search_of_a_directory_that_is_not_there_is_no_directory() {
    let s = Scim::start().await;
    let e = search_users(
        s.svc(),
        "0190c0de-0000-7000-8000-000000000000",
        "",
        None,
        10,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, ManagementError::NoDirectory(_)), "{e:?}");
}

/// The Groups tab's page: the directory, its guards, its groups — three round trips however
/// many groups the directory holds.
#[tokio::test]
async fn a_page_of_groups_costs_three_round_trips() {
    let s = Scim::start().await;
    for i in 0..30 {
        s.group(&format!("team-{i:02}"), &[]).await;
    }
    s.meter.take();
    let page = search_groups(s.svc(), &s.directory, "TEAM-1", None, 5)
        .await
        .unwrap();
    let usage = s.meter.take();
    assert_eq!(
        group_names(&page),
        ["team-10", "team-11", "team-12", "team-13", "team-14"]
    );
    assert_eq!(page.list_metadata.after.as_deref(), Some("team-14"));
    assert_eq!(
        usage.operations(),
        ["GetItem", "Query", "BatchGetItem"],
        "{usage}"
    );
    // The next page reads the same way, and ends the search.
    let next = search_groups(s.svc(), &s.directory, "team-1", Some("team-14"), 5)
        .await
        .unwrap();
    assert_eq!(
        group_names(&next),
        ["team-15", "team-16", "team-17", "team-18", "team-19"]
    );
    assert_eq!(next.list_metadata.after, None);
}

#[tokio::test]
async fn both_counts_come_from_one_query() {
    let s = Scim::start().await;
    let u = s.user("ann@x.com").await;
    s.user("bob@x.com").await;
    s.group("Everyone", &[&u]).await;
    s.meter.take();
    let counts = count_users_groups(s.svc(), &s.directory).await.unwrap();
    assert_eq!((counts.users, counts.groups), (2, 1));
    assert_eq!(s.meter.take().operations(), ["GetItem", "Query"]);
}

/// The Users tab's page: the groups page's three round trips; the users come without their
/// groups (a list has no room for them; one user's page reads them). The directory is read with
/// its settings (the custom attribute map the users are rendered with) in one BatchGetItem.
#[tokio::test]
async fn a_page_of_users_costs_three_round_trips() {
    let s = Scim::start().await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(s.user(&format!("user{i}@x.com")).await);
    }
    s.group("Staff", &[&ids[0]]).await;
    s.meter.take();
    let page = search_users(s.svc(), &s.directory, "user", None, 5)
        .await
        .unwrap();
    let usage = s.meter.take();
    assert_eq!(page.data.len(), 5);
    let mut ops = usage.operations();
    ops.sort_unstable();
    assert_eq!(ops, ["BatchGetItem", "BatchGetItem", "Query"], "{usage}");
}

async fn manage(s: &Scim, method: &str, path: &str) -> Reply {
    s.manage(method, &format!("/directories/{}{path}", s.directory), None)
        .await
}

/// The directory's registry entry, where the last uses are kept.
async fn registry(s: &Scim) -> scim_lambda::store::directories::Directory {
    let d = s.svc().store.get_directory(&s.directory).await.unwrap();
    d.expect("the directory's registry entry")
}

/// The listed credential named `id` under `field`, as the Credentials tab reads it.
fn listed<'a>(list: &'a Value, field: &str, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c[field] == id)
        .unwrap_or_else(|| panic!("no {id} in {list}"))
}

#[tokio::test]
async fn a_token_shows_when_it_was_last_used_and_the_other_token_shows_never() {
    let s = Scim::start().await;
    let spare = manage(&s, "POST", "/tokens").await;
    assert_eq!(spare.status, 201, "{}", spare.body);
    let spare_id = spare.body["token_id"].as_str().unwrap().to_string();
    let before = scim_lambda::clock::now_rfc3339();

    // The IdP sends a request with the directory's first token.
    assert_eq!(s.get("/Users").await.status, 200);

    let tokens = manage(&s, "GET", "/tokens").await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let used = tokens
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["token_id"] != spare_id.as_str())
        .unwrap();
    let at = used["last_used_at"]
        .as_str()
        .expect("the used token's last use");
    assert!(at >= before.as_str(), "{at} < {before}");
    assert_eq!(
        listed(&tokens.body, "token_id", &spare_id)["last_used_at"],
        Value::Null
    );
    // The directory's own page lists its tokens the same way.
    let shown = manage(&s, "GET", "").await;
    assert_eq!(
        listed(
            &shown.body["tokens"],
            "token_id",
            used["token_id"].as_str().unwrap()
        )["last_used_at"],
        at
    );
    assert_eq!(
        listed(&shown.body["tokens"], "token_id", &spare_id)["last_used_at"],
        Value::Null
    );
}

#[tokio::test]
async fn an_access_token_counts_as_a_use_of_its_client_and_revoking_forgets_it() {
    let s = Scim::start().await;
    let created = manage(&s, "POST", "/clients").await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["client_id"].as_str().unwrap().to_string();
    let secret = created.body["client_secret"].as_str().unwrap();
    let issued = http(
        s.addr,
        "POST",
        &format!("/oauth2/{}/token", s.directory),
        Some(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        )),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let access = issued.body["access_token"].as_str().unwrap();
    let scim = http(
        s.addr,
        "GET",
        &format!("/scim/v2/{}/Groups", s.directory),
        None,
        &[("authorization", &format!("Bearer {access}"))],
    )
    .await;
    assert_eq!(scim.status, 200, "{}", scim.body);

    let clients = manage(&s, "GET", "/clients").await;
    assert!(listed(&clients.body, "client_id", &id)["last_used_at"].is_string());
    // No bearer token was used: the access token counts for its client only.
    let tokens = manage(&s, "GET", "/tokens").await;
    assert_eq!(tokens.body[0]["last_used_at"], Value::Null);

    assert_eq!(
        manage(&s, "DELETE", &format!("/clients/{id}")).await.status,
        200
    );
    let d = registry(&s).await;
    assert_eq!(d.last_used_at(&id), None);
}

#[tokio::test]
async fn revoking_a_used_token_removes_its_last_use() {
    let s = Scim::start().await;
    assert_eq!(s.get("/Users").await.status, 200);
    let token_id = manage(&s, "GET", "/tokens").await.body[0]["token_id"]
        .as_str()
        .unwrap()
        .to_string();
    let d = registry(&s).await;
    assert!(d.last_used_at(&token_id).is_some());
    let r = manage(&s, "DELETE", &format!("/tokens/{token_id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let d = registry(&s).await;
    assert_eq!(d.last_used_at(&token_id), None);
    assert!(d.last_used.is_empty(), "{:?}", d.last_used);
}
