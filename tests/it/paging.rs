//! Index paging with anchors, RFC 9865 cursor paging, and sortBy.

use serde_json::Value;

use crate::support::Scim;

fn ids(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

async fn users(s: &Scim, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(s.user(&format!("user{i:02}@example.com")).await);
    }
    out
}

#[tokio::test]
async fn cursor_paging_visits_every_user_once() {
    let s = Scim::start().await;
    let all = users(&s, 5).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = s.get(&format!("/Users?count=2&cursor={cursor}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["totalResults"], 5);
        assert!(r.body.get("startIndex").is_none());
        seen.extend(ids(&r.body));
        match r.body["nextCursor"].as_str() {
            Some(c) => {
                assert!(c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
                cursor = c.to_string();
            }
            None => break,
        }
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn cursor_paging_with_a_filter_no_index_answers() {
    let s = Scim::start().await;
    let all = users(&s, 6).await;
    let f = "filter=userName%20ew%20%22example.com%22%20and%20not%20(userName%20eq%20%22user03@example.com%22)";
    let first = s.get(&format!("/Users?{f}&count=3&cursor=")).await;
    assert_eq!(ids(&first.body), all[..3]);
    let c = first.body["nextCursor"].as_str().unwrap();
    let second = s.get(&format!("/Users?{f}&count=3&cursor={c}")).await;
    assert_eq!(ids(&second.body), vec![all[4].clone(), all[5].clone()]);
    assert!(second.body.get("nextCursor").is_none());
}

#[tokio::test]
async fn tampered_or_foreign_cursors_are_invalid_cursor() {
    let s = Scim::start().await;
    users(&s, 3).await;
    let r = s.get("/Users?count=1&cursor=").await;
    let c = r.body["nextCursor"].as_str().unwrap().to_string();
    let mut tampered = c.clone().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [
        format!("/Users?count=1&cursor={tampered}"),
        "/Users?count=1&cursor=not-a-cursor".to_string(),
        // The same cursor with another filter is another query.
        format!("/Users?count=1&cursor={c}&filter=userName%20pr"),
    ] {
        let r = s.get(&bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.body["scimType"], "invalidCursor", "{bad}");
    }
    // And another directory's server rejects it.
    let other = Scim::start().await;
    let r = other.get(&format!("/Users?count=1&cursor={c}")).await;
    assert_eq!(r.body["scimType"], "invalidCursor");
}

#[tokio::test]
async fn index_paging_resumes_from_the_anchor_without_rereading_skipped_users() {
    let s = Scim::start().await;
    let all = users(&s, 12).await;
    let first = s.get("/Users?startIndex=1&count=5").await;
    assert_eq!(ids(&first.body), all[..5]);
    s.meter.take();
    let second = s.get("/Users?startIndex=6&count=5").await;
    let read = s.meter.take().items_read();
    assert_eq!(ids(&second.body), all[5..10]);
    // anchor (1) + the page and one look-ahead (6); the 5 skipped users are not read again.
    assert!(read <= 7, "read {read} items for a page of 5");
    // Without an anchor (a client jumping ahead) the page is still right.
    let jump = s.get("/Users?startIndex=11&count=5").await;
    assert_eq!(ids(&jump.body), all[10..]);
    assert_eq!(jump.body["totalResults"], 12);
}

#[tokio::test]
async fn filtered_index_paging_counts_once_and_pages_by_anchor() {
    let s = Scim::start().await;
    let all = users(&s, 8).await;
    let f = "filter=userName%20sw%20%22user%22";
    let p1 = s.get(&format!("/Users?{f}&startIndex=1&count=3")).await;
    assert_eq!(p1.body["totalResults"], 8);
    let p2 = s.get(&format!("/Users?{f}&startIndex=4&count=3")).await;
    assert_eq!(p2.body["totalResults"], 8);
    assert_eq!(ids(&p2.body), all[3..6]);
}

#[tokio::test]
async fn sort_by_user_name_descending() {
    let s = Scim::start().await;
    for n in ["bravo", "Alpha", "charlie"] {
        s.user(&format!("{n}@example.com")).await;
    }
    let r = s.get("/Users?sortBy=userName&sortOrder=descending").await;
    let names: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "charlie@example.com",
            "bravo@example.com",
            "Alpha@example.com"
        ]
    );
    let bad = s.get("/Users?sortBy=nope").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn service_provider_config_announces_both_paging_methods_and_sort() {
    let s = Scim::start().await;
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.body["sort"]["supported"], true);
    let p = &r.body["pagination"];
    assert_eq!(p["cursor"], true);
    assert_eq!(p["index"], true);
    assert_eq!(p["defaultPaginationMethod"], "index");
    assert!(p["cursorTimeout"].as_u64().unwrap() > 0);
}
