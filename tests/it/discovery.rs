//! ServiceProviderConfig, Schemas and ResourceTypes.

use crate::support::Scim;

#[tokio::test]
async fn service_provider_config_is_truthful() {
    let s = Scim::start().await;
    let r = s.get("/ServiceProviderConfig").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["patch"]["supported"], true);
    assert_eq!(r.body["bulk"]["supported"], false);
    assert_eq!(r.body["filter"]["supported"], true);
    assert_eq!(r.body["etag"]["supported"], true);
    assert_eq!(
        r.body["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );
    assert_eq!(s.get("/Bulk").await.status, 501);
    assert_eq!(s.get("/Me").await.status, 501);
}

#[tokio::test]
async fn schemas_and_resource_types_are_listed_and_addressable() {
    let s = Scim::start().await;
    let list = s.get("/Schemas").await;
    assert_eq!(list.body["totalResults"], 3);
    let user = s
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    assert_eq!(user.status, 200);
    let attrs = user.body["attributes"].as_array().unwrap();
    let user_name = attrs.iter().find(|a| a["name"] == "userName").unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(s.get("/Schemas/urn:nope").await.status, 404);
    let types = s.get("/ResourceTypes").await;
    assert_eq!(types.body["totalResults"], 2);
    let rt = s.get("/ResourceTypes/User").await;
    assert_eq!(rt.body["endpoint"], "/Users");
    assert_eq!(
        rt.body["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_eq!(s.get("/ResourceTypes/Nope").await.status, 404);
}

#[tokio::test]
async fn root_search_finds_users_and_groups() {
    let s = Scim::start().await;
    let u = s.user("searcher@example.com").await;
    let g = s.group("Searchers", &[&u]).await;
    let r = s
        .post(
            "/.search",
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "displayName eq \"Searchers\" or userName eq \"searcher@example.com\""
            }),
        )
        .await;
    // userName is unknown to Groups and displayName is known to both: each type is searched with
    // the filter it understands.
    assert_eq!(r.status, 200, "{}", r.body);
    let found: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        vec![u.as_str()],
        "a filter naming userName cannot be evaluated on Groups"
    );
    let r = s
        .post(
            "/.search",
            serde_json::json!({"filter": "displayName eq \"Searchers\""}),
        )
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], g.as_str());
    assert_eq!(r.body["Resources"][0]["meta"]["resourceType"], "Group");
}

#[tokio::test]
async fn resource_search_endpoint_accepts_post() {
    let s = Scim::start().await;
    s.user("post@example.com").await;
    let r = s
        .post("/Users/.search", serde_json::json!({"filter": "userName eq \"POST@example.com\"", "attributes": ["userName"]}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("name").is_none());
}

/// Some IdP tooling and SCIM test suites send the endpoint names in lower case; RFC 7644 names
/// them `Users`, `Groups`, ... and the client should reach the same resources either way.
#[tokio::test]
async fn a_client_that_lowercases_endpoint_names_reaches_the_same_resources() {
    let s = Scim::start().await;
    let created = s
        .send(
            "POST",
            &s.v2("/users"),
            Some(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "lower@example.com"
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    // What the server hands back is in the RFC's spelling.
    assert!(created.body["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/Users/{id}")));
    let got = s.get(&format!("/users/{id}")).await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body["userName"], "lower@example.com");
    assert_eq!(s.get("/USERS").await.body["totalResults"], 1);
    assert_eq!(s.get("/groups").await.status, 200);
    assert_eq!(s.get("/schemas").await.body["totalResults"], 3);
    assert_eq!(s.get("/resourcetypes").await.body["totalResults"], 2);
    let config = s.get("/serviceproviderconfig").await;
    assert_eq!(config.status, 200, "{}", config.body);
    assert_eq!(config.body["patch"]["supported"], true);
    let v1 = s.send("GET", &s.v1("/users"), None).await;
    assert_eq!(v1.body["totalResults"], 1, "{}", v1.body);
    let v1_config = s.send("GET", &s.v1("/serviceproviderconfigs"), None).await;
    assert_eq!(v1_config.status, 200, "{}", v1_config.body);
}
