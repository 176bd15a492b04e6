//! Parallel IdP traffic on one resource, as Entra and Okta send it: no request without `If-Match`
//! ever answers 412, nothing is lost, and `If-Match` still means what RFC 7644 §3.14 says. The
//! emulator serialises transactions, so DynamoDB's `TransactionConflict` is injected by the meter
//! (every third transaction) to prove the retries too. Throttling ends in 503 + Retry-After.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use scim_lambda::local::meter::Fault;
use serde_json::{json, Value};

use crate::support::{add_member, assert_clean, Reply, Scim};

async fn users(scim: &Scim, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(scim.user(&format!("p{i}@example.com")).await);
    }
    out
}

/// Runs one request per item in parallel; returns the replies in item order.
async fn parallel<T, F, Fut>(scim: &Arc<Scim>, items: Vec<T>, f: F) -> Vec<Reply>
where
    T: Send + 'static,
    F: Fn(Arc<Scim>, T) -> Fut,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let fut = f(Arc::clone(scim), item);
        tasks.spawn(async move { (i, fut.await) });
    }
    let mut out: Vec<Option<Reply>> = (0..tasks.len()).map(|_| None).collect();
    while let Some(j) = tasks.join_next().await {
        let (i, r) = j.unwrap();
        out[i] = Some(r);
    }
    out.into_iter().map(Option::unwrap).collect()
}

fn member_ids(group: &Value) -> BTreeSet<String> {
    group["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn fifty_parallel_member_adds_all_land_without_412_even_when_transactions_conflict() {
    for conflicts in [false, true] {
        let scim = Arc::new(Scim::start().await);
        let ids = users(&scim, 50).await;
        let g = scim.group("parallel", &[]).await;
        if conflicts {
            scim.meter.inject(Fault::Conflicts { every: 3 });
        }
        let replies = parallel(&scim, ids.clone(), |s, id| {
            let path = s.v2(&format!("/Groups/{g}"));
            async move { s.send("PATCH", &path, Some(add_member(&id))).await }
        })
        .await;
        scim.meter.clear();
        let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
        assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
        let group = scim.get(&format!("/Groups/{g}")).await.body;
        assert_eq!(member_ids(&group), ids.iter().cloned().collect());
        assert_eq!(scim.groups_of(&ids[7]).await[0]["value"], json!(g));
        assert_clean(&scim).await;
    }
}

#[tokio::test]
async fn twenty_parallel_member_list_replacements_end_as_exactly_one_of_them() {
    let scim = Arc::new(Scim::start().await);
    let ids = users(&scim, 12).await;
    let g = scim.group("replaced", &[&ids[0]]).await;
    // Twenty different lists of four members each.
    let lists: Vec<Vec<String>> = (0..20)
        .map(|i| (0..4).map(|k| ids[(i + 3 * k) % 12].clone()).collect())
        .collect();
    scim.meter.inject(Fault::Conflicts { every: 4 });
    let replies = parallel(&scim, lists.clone(), |s, list| {
        let path = s.v2(&format!("/Groups/{g}"));
        let members: Vec<Value> = list.iter().map(|m| json!({"value": m})).collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "replaced", "members": members});
        async move { s.send("PUT", &path, Some(body)).await }
    })
    .await;
    scim.meter.clear();
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let group = scim.get(&format!("/Groups/{g}")).await.body;
    let final_list = member_ids(&group);
    assert!(
        lists
            .iter()
            .any(|l| l.iter().cloned().collect::<BTreeSet<_>>() == final_list),
        "final members {final_list:?} are none of the lists sent"
    );
    assert_clean(&scim).await;
}

#[tokio::test]
async fn parallel_patches_of_different_attributes_of_one_user_all_land() {
    let scim = Arc::new(Scim::start().await);
    let id = scim.user("many@example.com").await;
    let attrs = [
        "title",
        "nickName",
        "displayName",
        "locale",
        "timezone",
        "profileUrl",
        "preferredLanguage",
        "userType",
    ];
    scim.meter.inject(Fault::Conflicts { every: 3 });
    let replies = parallel(&scim, attrs.to_vec(), |s, attr| {
        let path = s.v2(&format!("/Users/{id}"));
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": attr, "value": format!("v-{attr}")}]});
        async move { s.send("PATCH", &path, Some(body)).await }
    })
    .await;
    scim.meter.clear();
    assert!(replies.iter().all(|r| r.status == 200));
    let user = scim.get(&format!("/Users/{id}")).await.body;
    for attr in attrs {
        assert_eq!(
            user[attr],
            json!(format!("v-{attr}")),
            "{attr} lost: {user}"
        );
    }
    assert_eq!(
        user["meta"]["version"],
        json!(format!("W/\"{}\"", 1 + attrs.len()))
    );
}

#[tokio::test]
async fn if_match_answers_412_exactly_when_the_version_differs() {
    let scim = Scim::start().await;
    let ids = users(&scim, 2).await;
    let g = scim.group("etag", &[]).await;
    let r = scim.get(&format!("/Groups/{g}")).await;
    let etag = r.header("etag").unwrap().to_string();
    let path = scim.v2(&format!("/Groups/{g}"));
    let with = |tag: &str| {
        [
            ("authorization", format!("Bearer {}", scim.token)),
            ("if-match", tag.to_string()),
        ]
    };
    let h = with(&etag);
    let headers: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = Some(add_member(&ids[0]).to_string());
    let ok = scim.raw("PATCH", &path, body.clone(), &headers).await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    let moved = ok.header("etag").unwrap().to_string();
    assert_ne!(moved, etag);
    let stale = scim
        .raw(
            "PATCH",
            &path,
            Some(add_member(&ids[1]).to_string()),
            &headers,
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let group = scim.get(&format!("/Groups/{g}")).await.body;
    assert_eq!(member_ids(&group), BTreeSet::from([ids[0].clone()]));
    // Without If-Match a member change needs no version, and the ETag still moves.
    let r = scim
        .patch(&format!("/Groups/{g}"), add_member(&ids[1]))
        .await;
    assert_eq!(r.status, 204);
    let now = scim.get(&format!("/Groups/{g}")).await;
    let now = now.header("etag").unwrap().to_string();
    assert_ne!(now, moved);
    // That change moved only its member's slot (`store::slots`), not the group item: the
    // version the client saw before it is stale all the same, and the one after it is current.
    let stale = scim.raw("PATCH", &path, body.clone(), &headers).await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let h = with(&now);
    let headers: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "etag2"}]});
    let ok = scim
        .raw("PATCH", &path, Some(rename.to_string()), &headers)
        .await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    let written = ok.header("etag").unwrap().to_string();
    assert_ne!(written, now);
    let read = scim.get(&format!("/Groups/{g}")).await;
    assert_eq!(read.header("etag").unwrap(), written);
    assert_eq!(read.body["meta"]["version"], json!(written));
}

#[tokio::test]
async fn a_large_member_change_racing_a_group_delete_leaves_no_membership_behind() {
    let scim = Arc::new(Scim::start().await);
    let ids = users(&scim, 120).await;
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let add_all = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}]});
    // The change takes several transactions; the delete starts a little after it, each round a
    // little later. Even rounds add by PATCH (member-only), odd ones PUT the list (a write of
    // the group item).
    for round in 0..8u64 {
        let name = format!("large{round}");
        let g = scim.group(&name, &[]).await;
        let path = scim.v2(&format!("/Groups/{g}"));
        let (method, body) = match round % 2 {
            0 => ("PATCH", add_all.clone()),
            _ => (
                "PUT",
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": name, "members": members}),
            ),
        };
        let (s1, s2, p1, p2) = (
            Arc::clone(&scim),
            Arc::clone(&scim),
            path.clone(),
            path.clone(),
        );
        let add = tokio::spawn(async move { s1.send(method, &p1, Some(body)).await });
        let delete = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(round)).await;
            s2.send("DELETE", &p2, None).await
        });
        let (add, delete) = (add.await.unwrap(), delete.await.unwrap());
        assert_eq!(delete.status, 204, "{}", delete.body);
        assert!(
            [204, 404].contains(&add.status),
            "{} {}",
            add.status,
            add.body
        );
        assert_eq!(scim.get(&format!("/Groups/{g}")).await.status, 404);
        // No edge of the group is left, and the counts are right.
        assert_clean(&scim).await;
    }
}

#[tokio::test]
async fn member_adds_racing_a_group_delete_leave_no_membership_behind() {
    let scim = Arc::new(Scim::start().await);
    let ids = users(&scim, 30).await;
    for round in 0..3 {
        let first: Vec<&str> = ids[..4].iter().map(String::as_str).collect();
        let g = scim.group(&format!("doomed{round}"), &first).await;
        // Twenty-six adds, the delete among them; every third transaction conflicts.
        let mut items: Vec<Option<String>> = ids[4..].iter().cloned().map(Some).collect();
        items.insert(8 + 4 * round, None);
        scim.meter.inject(Fault::Conflicts { every: 3 });
        let replies = parallel(&scim, items.clone(), |s, item| {
            let path = s.v2(&format!("/Groups/{g}"));
            async move {
                match item {
                    Some(id) => s.send("PATCH", &path, Some(add_member(&id))).await,
                    None => s.send("DELETE", &path, None).await,
                }
            }
        })
        .await;
        scim.meter.clear();
        for (item, r) in items.iter().zip(&replies) {
            match item {
                None => assert_eq!(r.status, 204, "delete: {}", r.body),
                // Before the delete, or after it: the group is gone.
                Some(_) => assert!([204, 404].contains(&r.status), "{} {}", r.status, r.body),
            }
        }
        assert_eq!(scim.get(&format!("/Groups/{g}")).await.status, 404);
        let late = scim
            .patch(&format!("/Groups/{g}"), add_member(&ids[5]))
            .await;
        assert_eq!(late.status, 404, "{}", late.body);
        for id in &ids {
            let groups = scim.groups_of(id).await;
            assert!(
                groups
                    .as_array()
                    .is_none_or(|a| a.iter().all(|x| x["value"] != json!(g))),
                "{id} is still in {g}: {groups}"
            );
        }
        // No edge of the group is left (the check reads every item of the directory).
        assert_clean(&scim).await;
    }
}

/// A user delete lists the user's groups beside its read and trusts the listing when the user's
/// group count agrees (`store::deletes`): adds of the user to other groups racing it must still
/// leave no membership of the deleted user, and the counts exact (the check verifies them).
#[tokio::test]
async fn member_adds_racing_a_user_delete_leave_no_membership_behind() {
    let scim = Arc::new(Scim::start().await);
    let mut groups = Vec::new();
    for i in 0..14 {
        groups.push(scim.group(&format!("team{i}"), &[]).await);
    }
    for round in 0..3 {
        let u = scim.user(&format!("leaver{round}@example.com")).await;
        for g in &groups[..2] {
            let r = scim.patch(&format!("/Groups/{g}"), add_member(&u)).await;
            assert_eq!(r.status, 204, "{}", r.body);
        }
        // Twelve adds, the delete among them; every third transaction conflicts.
        let mut items: Vec<Option<String>> = groups[2..].iter().cloned().map(Some).collect();
        items.insert(3 + 3 * round, None);
        scim.meter.inject(Fault::Conflicts { every: 3 });
        let replies = parallel(&scim, items.clone(), |s, item| {
            let u = u.clone();
            async move {
                match item {
                    Some(g) => {
                        let path = s.v2(&format!("/Groups/{g}"));
                        s.send("PATCH", &path, Some(add_member(&u))).await
                    }
                    None => s.send("DELETE", &s.v2(&format!("/Users/{u}")), None).await,
                }
            }
        })
        .await;
        scim.meter.clear();
        for (item, r) in items.iter().zip(&replies) {
            match item {
                None => assert_eq!(r.status, 204, "delete: {}", r.body),
                // Before the delete, or after it: the user is gone.
                Some(_) => assert!(
                    [204, 400, 404].contains(&r.status),
                    "{} {}",
                    r.status,
                    r.body
                ),
            }
        }
        assert_eq!(scim.get(&format!("/Users/{u}")).await.status, 404);
        for g in &groups {
            let group = scim.get(&format!("/Groups/{g}")).await.body;
            assert!(!member_ids(&group).contains(&u), "{u} is still in {g}");
        }
        assert_clean(&scim).await;
    }
}

#[tokio::test]
async fn throttling_is_retried_and_past_the_deadline_answers_503_with_nothing_written() {
    let scim = Scim::start_with_budget(Duration::from_millis(400)).await;
    let ids = users(&scim, 1).await;
    let g = scim.group("throttled", &[]).await;

    // A short burst of throttles is absorbed by the retries.
    scim.meter.inject(Fault::Throttle { at: 1, count: 2 });
    let r = scim
        .patch(&format!("/Groups/{g}"), add_member(&ids[0]))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // Throttled throughout: 503 with Retry-After, and nothing half-written.
    scim.meter.inject(Fault::ThrottleAll);
    let r = scim
        .post("/Users", json!({"userName": "late@example.com"}))
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.header("retry-after").is_some());
    assert_eq!(r.body["status"], "503");
    let r = scim
        .patch(
            &format!("/Groups/{g}"),
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members"}]}),
        )
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    scim.meter.clear();

    let r = scim
        .get("/Users?filter=userName%20eq%20%22late@example.com%22")
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let group = scim.get(&format!("/Groups/{g}")).await.body;
    assert_eq!(member_ids(&group), BTreeSet::from([ids[0].clone()]));
    assert_clean(&scim).await;
}
