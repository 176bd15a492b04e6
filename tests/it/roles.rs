//! Roles from groups, as the application sees them: declare roles, map a directory's groups in
//! priority order, push memberships as Okta and Entra do (PATCH add/remove with a value filter),
//! and read each user's `role` through the management API and in its `dsync.user.updated`
//! events — exactly one per change, with `previous_attributes.role`.

use serde_json::{json, Value};

use crate::support::Scim;

async fn declare(s: &Scim) {
    let r = s
        .manage(
            "PUT",
            "/roles",
            Some(json!({"roles": [
                {"slug": "admin", "name": "Admin"},
                {"slug": "member", "name": "Member", "description": "Everyone else"}],
                "default": "member"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn assign(s: &Scim, pairs: &[(&str, &str)]) -> Value {
    let assignments: Vec<Value> = pairs
        .iter()
        .map(|(g, r)| json!({"group_id": g, "role": r}))
        .collect();
    let d = &s.directory;
    let r = s
        .manage(
            "PUT",
            &format!("/directories/{d}/role-assignments"),
            Some(json!({ "assignments": assignments })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn add(users: &[&str]) -> Value {
    let value: Vec<Value> = users.iter().map(|u| json!({"value": u})).collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": value}]})
}

fn remove(user: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]})
}

/// (role, roles) of a user through the management API.
async fn role_of(s: &Scim, user: &str) -> (Value, Vec<String>) {
    let d = &s.directory;
    let r = s
        .manage("GET", &format!("/directories/{d}/users/{user}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let roles = r.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["slug"].as_str().unwrap().to_string())
        .collect();
    (r.body["role"]["slug"].clone(), roles)
}

/// The user's `dsync.user.updated` events after sequence `after`: (role before, role after).
async fn role_events(s: &Scim, user: &str, after: u64) -> Vec<(Value, Value)> {
    let d = &s.directory;
    let r = s
        .manage(
            "GET",
            &format!("/directories/{d}/events?after={after}&limit=100&event=dsync.user.updated"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["data"]["id"] == user)
        .map(|e| {
            (
                e["data"]["previous_attributes"]["role"].clone(),
                e["data"]["role"].clone(),
            )
        })
        .collect()
}

/// Writes `member` (and no `roles`) on the user's item behind the write paths' back: a stored
/// role that no longer matches its groups, as a bug or a cut re-resolution would leave it.
async fn write_role_member(s: &Scim, user: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    s.update_item(format!("USER#{user}"))
        .update_expression("SET #r = :m REMOVE #rs")
        .expression_attribute_names("#r", "role")
        .expression_attribute_names("#rs", "roles")
        .expression_attribute_values(":m", AttributeValue::S("member".into()))
        .send()
        .await
        .unwrap();
}

async fn sequence(s: &Scim) -> u64 {
    s.app.store().sequence(&s.directory).await.unwrap()
}

#[tokio::test]
async fn roles_follow_group_pushes_in_priority_order_with_one_event_per_change() {
    let s = Scim::start().await;
    declare(&s).await;
    let (ada, bob) = (
        s.user("ada@example.com").await,
        s.user("bob@example.com").await,
    );
    // Created after the roles: the default from the start.
    assert_eq!(role_of(&s, &ada).await.0, "member");
    let admins = s.group("Admins", &[]).await;
    let everyone = s.group("Everyone", &[]).await;
    let view = assign(&s, &[(&admins, "admin"), (&everyone, "member")]).await;
    assert_eq!(view["assignments"][0]["group_name"], "Admins");
    assert_eq!(view["assignments"][0]["priority"], 1);
    assert_eq!(view["sync"]["state"], "done");

    // Okta "Push groups": the members, then the admin.
    let before = sequence(&s).await;
    let r = s
        .patch(&format!("/Groups/{everyone}"), add(&[&ada, &bob]))
        .await;
    assert!(r.status < 300, "{}", r.body);
    // Everyone gives member, which bob had as the default: `role` stays, `roles` gains it —
    // one event, whose previous_attributes name only `roles`.
    assert_eq!(
        role_of(&s, &bob).await,
        (json!("member"), vec!["member".into()])
    );
    assert_eq!(
        role_events(&s, &bob, before).await,
        [(json!(null), json!({"slug": "member"}))]
    );
    let r = s.patch(&format!("/Groups/{admins}"), add(&[&ada])).await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(
        role_of(&s, &ada).await,
        (json!("admin"), vec!["admin".into(), "member".into()])
    );
    assert_eq!(
        role_events(&s, &ada, before).await,
        [
            (json!(null), json!({"slug": "member"})),
            (json!({"slug": "member"}), json!({"slug": "admin"}))
        ],
        "one updated event per change of her roles, in order"
    );

    // Entra removes by a value filter: the role falls back, once.
    let before = sequence(&s).await;
    let r = s.patch(&format!("/Groups/{admins}"), remove(&ada)).await;
    assert!(r.status < 300, "{}", r.body);
    assert_eq!(role_of(&s, &ada).await.0, "member");
    assert_eq!(
        role_events(&s, &ada, before).await,
        [(json!({"slug": "admin"}), json!({"slug": "member"}))]
    );

    // Deleting the higher-priority group re-resolves its members, one event each.
    let r = s
        .patch(&format!("/Groups/{admins}"), add(&[&ada, &bob]))
        .await;
    assert!(r.status < 300, "{}", r.body);
    let before = sequence(&s).await;
    assert_eq!(s.delete(&format!("/Groups/{admins}")).await.status, 204);
    for u in [&ada, &bob] {
        assert_eq!(role_of(&s, u).await.0, "member");
        assert_eq!(
            role_events(&s, u, before).await,
            [(json!({"slug": "admin"}), json!({"slug": "member"}))]
        );
    }
}

#[tokio::test]
async fn changing_the_priority_order_re_resolves_exactly_the_users_it_changes() {
    let s = Scim::start().await;
    declare(&s).await;
    let (ada, bob) = (
        s.user("ada@example.com").await,
        s.user("bob@example.com").await,
    );
    let carol = s.user("carol@example.com").await;
    let ops = s.group("Ops", &[&ada, &bob]).await;
    let eng = s.group("Eng", &[&ada]).await;
    assign(&s, &[(&ops, "member"), (&eng, "admin")]).await;
    assert_eq!(role_of(&s, &ada).await.0, "member");
    let before = sequence(&s).await;
    let view = assign(&s, &[(&eng, "admin"), (&ops, "member")]).await;
    assert_eq!(view["sync"]["users_updated"], 1, "{view}");
    assert_eq!(
        role_of(&s, &ada).await,
        (json!("admin"), vec!["admin".into(), "member".into()])
    );
    assert_eq!(role_events(&s, &ada, before).await.len(), 1);
    assert!(role_events(&s, &bob, before).await.is_empty());
    assert!(role_events(&s, &carol, before).await.is_empty());
    // The same map again changes nothing.
    let view = assign(&s, &[(&eng, "admin"), (&ops, "member")]).await;
    assert_eq!(view["sync"]["users_updated"], 0);
}

#[tokio::test]
async fn bad_roles_and_assignments_are_refused_with_the_reason() {
    let s = Scim::start().await;
    let d = s.directory.clone();
    let g = s.group("G", &[]).await;
    let put = |body: Value| {
        let s = &s;
        let d = d.clone();
        async move {
            s.manage(
                "PUT",
                &format!("/directories/{d}/role-assignments"),
                Some(body),
            )
            .await
        }
    };
    let r = put(json!({"assignments": [{"group_id": g, "role": "admin"}]})).await;
    assert_eq!(r.status, 400, "no roles declared yet: {}", r.body);
    declare(&s).await;
    for (body, why) in [
        (
            json!({"assignments": [{"group_id": g, "role": "owner"}]}),
            "not a declared role",
        ),
        (
            json!({"assignments": [{"group_id": "0190f0f0-0000-7000-8000-000000000000", "role": "admin"}]}),
            "no group",
        ),
        (
            json!({"assignments": [{"group_id": "../x", "role": "admin"}]}),
            "no group",
        ),
        (json!({"assignments": [], "extra": 1}), "does not fit"),
        (
            json!({"assignments": [{"group_id": g, "role": "admin"}, {"group_id": g, "role": "member"}]}),
            "twice",
        ),
    ] {
        let r = put(body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().contains(why),
            "{}",
            r.body
        );
    }
    let r = s
        .manage(
            "PUT",
            "/roles",
            Some(json!({"roles": [{"slug": "Admin", "name": "A"}]})),
        )
        .await;
    assert_eq!(r.status, 400);
    // A role still assigned cannot be removed.
    assert_eq!(
        put(json!({"assignments": [{"group_id": g, "role": "admin"}]}))
            .await
            .status,
        200
    );
    let r = s
        .manage(
            "PUT",
            "/roles",
            Some(json!({"roles": [{"slug": "member", "name": "M"}]})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

/// 1,000 and more membership changes at once (125 users × 5 groups: every pair added, most
/// removed again), 32 in flight: every user's roles equal a recomputation, and the check (which
/// recomputes every user's roles from its groups) finds nothing.
#[tokio::test]
async fn parallel_membership_changes_leave_every_role_equal_to_a_recomputation() {
    let s = Scim::start().await;
    declare(&s).await;
    let mut users = Vec::new();
    for i in 0..125 {
        users.push(s.user(&format!("u{i}@example.com")).await);
    }
    let mut groups = Vec::new();
    for name in ["A", "B", "C", "D", "E"] {
        groups.push(s.group(name, &[]).await);
    }
    assign(&s, &[(&groups[0], "admin"), (&groups[1], "member")]).await;
    // Which memberships stay: A for i % 3 == 1, B for i % 3 != 0, nothing else.
    let keep = |i: usize, g: usize| (g == 0 && i % 3 == 1) || (g == 1 && !i.is_multiple_of(3));
    let s = std::sync::Arc::new(s);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let changes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, u) in users.iter().enumerate() {
        for (k, g) in groups.iter().enumerate() {
            let (s, u, g) = (s.clone(), u.clone(), g.clone());
            let (slots, changes) = (slots.clone(), changes.clone());
            let stays = keep(i, k);
            tasks.spawn(async move {
                // As IdPs do: a 503 (the writes kept colliding past the deadline) is retried.
                let send = |body: Value| {
                    let (s, g, slots, changes) =
                        (s.clone(), g.clone(), slots.clone(), changes.clone());
                    async move {
                        let _slot = slots.acquire().await.unwrap();
                        for _ in 0..20 {
                            let r = s.patch(&format!("/Groups/{g}"), body.clone()).await;
                            if r.status != 503 {
                                assert!(r.status < 300, "{}", r.body);
                                changes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                return;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        }
                        panic!("503 twenty times");
                    }
                };
                send(add(&[&u])).await;
                if !stays {
                    send(remove(&u)).await;
                }
            });
        }
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
    let changes = changes.load(std::sync::atomic::Ordering::Relaxed);
    assert!(changes >= 1_000, "{changes} changes");
    for (i, u) in users.iter().enumerate() {
        let want = match i % 3 {
            1 => (json!("admin"), vec!["admin".into(), "member".into()]),
            2 => (json!("member"), vec!["member".into()]),
            _ => (json!("member"), Vec::<String>::new()),
        };
        assert_eq!(role_of(&s, u).await, want, "user {i}");
    }
    let report = s.check().await;
    assert!(report.problems.is_empty(), "{report:?}");
}

#[tokio::test]
async fn a_member_change_larger_than_one_transaction_resolves_every_user_once() {
    let s = Scim::start().await;
    declare(&s).await;
    let mut users = Vec::new();
    for i in 0..60 {
        users.push(s.user(&format!("big{i}@example.com")).await);
    }
    let g = s.group("Big", &[]).await;
    assign(&s, &[(&g, "admin")]).await;
    let before = sequence(&s).await;
    let ids: Vec<&str> = users.iter().map(String::as_str).collect();
    let r = s.patch(&format!("/Groups/{g}"), add(&ids)).await;
    assert!(r.status < 300, "{}", r.body);
    for u in &users {
        assert_eq!(role_of(&s, u).await, (json!("admin"), vec!["admin".into()]));
        assert_eq!(
            role_events(&s, u, before).await,
            [(json!({"slug": "member"}), json!({"slug": "admin"}))]
        );
    }
}

#[tokio::test]
async fn the_check_finds_a_drifted_role_and_the_repair_resolves_it_with_its_event() {
    let s = Scim::start().await;
    declare(&s).await;
    let ada = s.user("ada@example.com").await;
    let g = s.group("Admins", &[&ada]).await;
    assign(&s, &[(&g, "admin")]).await;
    assert!(s.check().await.problems.is_empty());
    // A role written by something else than the write paths (a bug, a manual edit).
    let store = s.app.store();
    write_role_member(&s, &ada).await;
    let report = s.check().await;
    let kinds: Vec<&str> = report.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["role_drift"], "{report:?}");
    assert!(report.problems[0].fixable);
    let before = sequence(&s).await;
    let repaired = store.check_directory(&s.directory, true).await.unwrap();
    assert!(repaired.repaired);
    assert!(s.check().await.problems.is_empty());
    assert_eq!(
        role_of(&s, &ada).await,
        (json!("admin"), vec!["admin".into()])
    );
    assert_eq!(
        role_events(&s, &ada, before).await,
        [(json!({"slug": "member"}), json!({"slug": "admin"}))]
    );
}

/// A re-resolution the saving request could not finish (its deadline, a crash): the clean-up
/// function, fed by the marker's write, finishes it with one event per changed user.
#[tokio::test]
async fn the_clean_up_function_finishes_a_pending_re_resolution() {
    use scim_lambda::service::cleanup::{finish_role_sync, RoleSyncMark};
    let s = Scim::start().await;
    declare(&s).await;
    let ada = s.user("ada@example.com").await;
    let g = s.group("Admins", &[&ada]).await;
    assign(&s, &[(&g, "admin")]).await;
    let store = s.app.store();
    // As if the save's request had died before resolving ada: her old role, the marker left.
    write_role_member(&s, &ada).await;
    let version = store.read_settings(&s.directory).await.unwrap().version;
    store
        .mark_role_sync(&s.directory, version, Some(vec![g.clone()]))
        .await
        .unwrap();
    let kinds: Vec<&str> = s.check().await.problems.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["role_drift", "role_sync_pending"]);
    let before = sequence(&s).await;
    let mark = RoleSyncMark {
        directory: s.directory.clone(),
        marked_ms: 0,
    };
    finish_role_sync(store, &mark).await.unwrap();
    assert!(s.check().await.problems.is_empty());
    assert_eq!(role_of(&s, &ada).await.0, "admin");
    assert_eq!(role_events(&s, &ada, before).await.len(), 1);
    // Run again (the stream delivers at least once): nothing more.
    finish_role_sync(store, &mark).await.unwrap();
    assert_eq!(role_events(&s, &ada, before).await.len(), 1);
}

/// The cost of role resolution on the member path (docs/roles.md): a group with no assignment
/// costs what tests/it/cost.rs budgets; a mapped one two round trips more (the users in one
/// BatchGetItem, their groups in parallel Queries), the event, and for a remove the user item.
#[tokio::test]
async fn a_mapped_member_change_costs_two_round_trips_more() {
    let s = Scim::start().await;
    declare(&s).await;
    let ada = s.user("ada@example.com").await;
    let plain = s.group("Plain", &[]).await;
    let mapped = s.group("Mapped", &[]).await;
    assign(&s, &[(&mapped, "admin")]).await;
    let mut costs = Vec::new();
    for g in [&plain, &mapped] {
        for body in [add(&[&ada]), remove(&ada)] {
            s.flush_log().await;
            s.meter.take();
            let r = s.patch(&format!("/Groups/{g}"), body).await;
            assert!(r.status < 300, "{}", r.body);
            let u = s.meter.take();
            costs.push((u.round_trips(), u.items_read(), u.items_written()));
        }
    }
    println!("plain add, plain remove, mapped add, mapped remove: {costs:?}");
    let [plain_add, plain_remove, mapped_add, mapped_remove] = costs[..] else {
        unreachable!()
    };
    assert!(plain_add.0 <= 4 && plain_remove.0 <= 4, "{costs:?}");
    assert_eq!(mapped_add.0, plain_add.0 + 2, "{costs:?}");
    assert_eq!(mapped_remove.0, plain_remove.0 + 2, "{costs:?}");
    // The user read, and the event of its role change (and for a remove, the user item moved).
    assert_eq!(mapped_add.2, plain_add.2 + 1, "{costs:?}");
    assert_eq!(mapped_remove.2, plain_remove.2 + 2, "{costs:?}");
}

/// A directory created after the roles were declared gives its first users the default.
#[tokio::test]
async fn a_directory_created_after_the_roles_gives_its_users_the_default_role() {
    let s = Scim::start().await;
    declare(&s).await;
    let created = scim_lambda::service::directories::create(s.svc(), &s.base, "later", None, None)
        .await
        .unwrap();
    let d = &created.directory.id;
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com"});
    let r = s
        .raw(
            "POST",
            &format!("/scim/v2/{d}/Users"),
            Some(user.to_string()),
            &[
                ("authorization", &format!("Bearer {}", created.token)),
                ("content-type", "application/scim+json"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    let r = s
        .manage("GET", &format!("/directories/{d}/users/{id}"), None)
        .await;
    assert_eq!(r.body["role"], json!({"slug": "member"}), "{}", r.body);
}
