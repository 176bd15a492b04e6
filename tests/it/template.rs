//! template.yaml as data, and the check that its routes are exactly the local server's.

use std::collections::BTreeSet;

use scim_lambda::api::routes::ROUTES;
use serde_yaml::Value;

pub fn load() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml")).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

pub fn key_schema(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_string(),
                k["KeyType"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn template_routes_equal_the_local_server_routes() {
    let t = load();
    let mut in_template = BTreeSet::new();
    for (name, res) in t["Resources"].as_mapping().unwrap() {
        let Some(events) = res["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, ev) in events {
            if ev["Type"] == "HttpApi" {
                assert_eq!(ev["Properties"]["Method"], "ANY");
                in_template.insert((
                    name.as_str().unwrap().to_string(),
                    ev["Properties"]["Path"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    let local: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(f, p)| (f.function().to_string(), p.to_string()))
        .collect();
    assert_eq!(in_template, local);
}

#[test]
fn functions_are_arm64_cargo_lambda_builds_of_one_binary_each_naming_its_family() {
    let t = load();
    assert_eq!(t["Globals"]["Function"]["Architectures"][0], "arm64");
    assert_eq!(t["Globals"]["Function"]["Runtime"], "provided.al2023");
    for (logical, bin) in [
        ("UsersFunction", "users"),
        ("GroupsFunction", "groups"),
        ("DiscoveryFunction", "discovery"),
    ] {
        let f = &t["Resources"][logical];
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
        // One binary for all three; the function's family comes from SCIM_FAMILY.
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "lambda");
        assert_eq!(
            f["Properties"]["Environment"]["Variables"]["SCIM_FAMILY"],
            bin
        );
        assert_eq!(
            scim_lambda::api::Family::from_name(bin).map(|f| f.function()),
            Some(logical)
        );
        let policy = serde_yaml::to_string(&f["Properties"]["Policies"]).unwrap();
        assert!(
            !policy.contains("Scan"),
            "{logical} must not be granted Scan"
        );
    }
}

#[test]
fn the_clean_up_function_is_fed_only_clean_up_markers_from_the_table_stream() {
    let t = load();
    let f = &t["Resources"]["CleanupFunction"];
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "lambda");
    assert_eq!(
        f["Properties"]["Environment"]["Variables"]["SCIM_FAMILY"],
        scim_lambda::api::lambda::CLEANUP
    );
    let event = &f["Properties"]["Events"]["CleanupMarkers"]["Properties"];
    let pattern = event["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .unwrap();
    let pattern: serde_json::Value = serde_json::from_str(pattern).unwrap();
    assert_eq!(
        pattern["dynamodb"]["NewImage"]["sk"]["S"][0]["prefix"],
        scim_lambda::store::keys::CLEANUP_PREFIX
    );
    assert_eq!(pattern["eventName"][0], "INSERT");
    assert!(!event["DestinationConfig"]["OnFailure"]["Destination"].is_null());
    let table = &t["Resources"]["DirectoryTable"]["Properties"];
    assert!(table["StreamSpecification"]["StreamViewType"].is_string());
}
