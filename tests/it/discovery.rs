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
