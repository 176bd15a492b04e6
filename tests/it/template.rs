//! template.yaml as data, and the check that its routes are exactly the local server's.

use std::collections::{BTreeMap, BTreeSet};

use scim_lambda::api::routes::ROUTES;
use scim_lambda::function::Function;
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
    let local: BTreeSet<(String, String)> = scim_lambda::api::routes::api_gateway_routes()
        .into_iter()
        .map(|(f, p)| (f.logical_id().to_string(), p))
        .collect();
    // Every route the local server knows is declared, in the RFC's spelling and in lower case.
    assert!(local.len() > ROUTES.len());
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
        ("TokenFunction", "token"),
        ("ManagementFunction", "management"),
        ("PortalFunction", "portal"),
        ("RequestLogFunction", "request_log"),
    ] {
        let f = &t["Resources"][logical];
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
        // One binary for every function; which one it is comes from SCIM_FAMILY.
        assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "lambda");
        assert_eq!(
            f["Properties"]["Environment"]["Variables"]["SCIM_FAMILY"],
            bin
        );
        assert_eq!(
            Function::from_name(bin).map(|f| f.logical_id()),
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
        Function::Cleanup.name()
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

#[test]
fn every_management_route_is_iam_authorised_and_no_scim_route_is() {
    let t = load();
    assert_eq!(
        t["Resources"]["ScimApi"]["Properties"]["Auth"]["EnableIamAuthorizer"],
        true
    );
    for (name, res) in t["Resources"].as_mapping().unwrap() {
        for (_, ev) in res["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if ev["Type"] != "HttpApi" {
                continue;
            }
            let path = ev["Properties"]["Path"].as_str().unwrap();
            let iam = ev["Properties"]["Auth"]["Authorizer"] == "AWS_IAM";
            assert_eq!(path.starts_with("/manage/"), iam, "{name:?} {path}");
            assert_eq!(iam, name == "ManagementFunction", "{path}");
        }
    }
}

#[test]
fn events_reach_the_bus_from_the_stream_and_webhooks_retry_for_a_day() {
    let t = load();
    let r = &t["Resources"];
    // Publisher: event inserts only, bounded retries, bisect, dead-letter queue, the bus named.
    let f = &r["PublisherFunction"]["Properties"];
    assert_eq!(
        f["Environment"]["Variables"]["SCIM_FAMILY"],
        Function::Publisher.name()
    );
    assert!(!f["Environment"]["Variables"][scim_lambda::service::publisher::ENV_BUS].is_null());
    let ev = &f["Events"]["DirectoryEvents"]["Properties"];
    let pattern: serde_json::Value = serde_json::from_str(
        ev["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        pattern["dynamodb"]["NewImage"]["sk"]["S"][0]["prefix"],
        scim_lambda::store::keys::EVENT_PREFIX
    );
    assert_eq!(pattern["eventName"][0], "INSERT");
    assert_eq!(ev["BisectBatchOnFunctionError"], true);
    assert!(ev["MaximumRetryAttempts"].as_u64().unwrap() > 0);
    assert!(!ev["DestinationConfig"]["OnFailure"]["Destination"].is_null());
    // The rule forwards our source to the webhook queue.
    let rule = &r["WebhookRule"]["Properties"];
    assert_eq!(
        rule["EventPattern"]["source"][0],
        scim_lambda::service::publisher::SOURCE
    );
    // Retries for at least 24 hours, then a dead-letter queue.
    let q = &r["WebhookQueue"]["Properties"];
    let visibility = q["VisibilityTimeout"].as_u64().unwrap();
    let receives = q["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert!(
        visibility * receives >= 24 * 3600,
        "{visibility} s x {receives}"
    );
    assert!(q["MessageRetentionPeriod"].as_u64().unwrap() > visibility * receives);
    let w = &r["WebhookFunction"]["Properties"];
    assert!(w["Timeout"].as_u64().unwrap() < visibility);
    assert_eq!(
        w["Events"]["Triggers"]["Properties"]["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    // Retention is a parameter the functions see.
    assert_eq!(t["Parameters"]["EventRetentionDays"]["Default"], 30);
    assert!(!t["Globals"]["Function"]["Environment"]["Variables"]
        [scim_lambda::store::outbox::ENV_RETENTION_DAYS]
        .is_null());
}

#[test]
fn every_function_logs_with_retention_reserves_concurrency_on_demand_and_has_alarms() {
    let t = load();
    let r = &t["Resources"];
    assert_eq!(t["Parameters"]["LogRetentionDays"]["Default"], 90);
    let functions: Vec<String> = r
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["Type"] == "AWS::Serverless::Function")
        .map(|(k, _)| k.as_str().unwrap().to_string())
        .collect();
    // Exactly the functions of `Function` (the one binary serves nothing else).
    let known: BTreeSet<String> = Function::ALL
        .iter()
        .map(|f| f.logical_id().to_string())
        .collect();
    assert_eq!(
        functions.iter().cloned().collect::<BTreeSet<_>>(),
        known,
        "{functions:?}"
    );
    let alarms: Vec<&serde_yaml::Value> = r
        .as_mapping()
        .unwrap()
        .values()
        .filter(|v| v["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    let alarm_on = |namespace: &str, metric: &str, function: &str| {
        alarms.iter().any(|a| {
            let p = &a["Properties"];
            p["Namespace"] == namespace
                && p["MetricName"] == metric
                && serde_yaml::to_string(&p["Dimensions"])
                    .unwrap()
                    .contains(function)
        })
    };
    for f in &functions {
        let p = &r[f.as_str()]["Properties"];
        // Its own log group, with the retention parameter.
        let group = serde_yaml::to_string(&p["LoggingConfig"]["LogGroup"]).unwrap();
        let group = group.trim().trim_start_matches("!Ref").trim();
        assert_eq!(
            serde_yaml::to_string(&r[group]["Properties"]["RetentionInDays"])
                .unwrap()
                .trim(),
            "!Ref LogRetentionDays",
            "{f}"
        );
        // Reserved concurrency from the parameter (none when it is 0).
        assert!(
            serde_yaml::to_string(&p["ReservedConcurrentExecutions"])
                .unwrap()
                .contains("FunctionConcurrency"),
            "{f}"
        );
        for metric in ["Errors", "Throttles", "Duration"] {
            assert!(alarm_on("AWS/Lambda", metric, f), "{f}: no {metric} alarm");
        }
    }
    // Every alarm notifies the topic; the e-mail subscription is optional.
    for a in &alarms {
        assert!(serde_yaml::to_string(&a["Properties"]["AlarmActions"])
            .unwrap()
            .contains("AlarmTopic"));
        assert_eq!(a["Properties"]["TreatMissingData"], "notBreaching");
    }
    assert_eq!(r["AlarmEmailSubscription"]["Condition"], "HasAlarmEmail");
    // CloudWatch cannot publish to a topic under the AWS-managed SNS key: the topic's key is the
    // stack's own, and its policy lets CloudWatch (of this account only) use it.
    let key = serde_yaml::to_string(&r["AlarmTopic"]["Properties"]["KmsMasterKeyId"]).unwrap();
    assert!(!key.contains("alias/aws/"), "{key}");
    let key = key.trim().trim_start_matches("!Ref").trim();
    assert_eq!(r[key]["Type"], "AWS::KMS::Key");
    let grants: Vec<&serde_yaml::Value> = r[key]["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|st| st["Principal"]["Service"] == "cloudwatch.amazonaws.com")
        .collect();
    assert_eq!(grants.len(), 1);
    let grant = serde_yaml::to_string(grants[0]).unwrap();
    for wanted in ["kms:Decrypt", "kms:GenerateDataKey*", "aws:SourceAccount"] {
        assert!(grant.contains(wanted), "{wanted}: {grant}");
    }
    // API 5xx, DynamoDB throttles and system errors, every dead-letter queue.
    assert!(alarms
        .iter()
        .any(|a| a["Properties"]["MetricName"] == "5xx"));
    for table in ["DirectoryTable", "TokensTable"] {
        assert!(
            alarms.iter().any(|a| {
                let m = serde_yaml::to_string(&a["Properties"]["Metrics"]).unwrap();
                m.contains("WriteThrottleEvents") && m.contains(table)
            }),
            "{table}"
        );
    }
    assert!(alarms
        .iter()
        .any(|a| serde_yaml::to_string(&a["Properties"]["Metrics"])
            .unwrap()
            .contains("SystemErrors")));
    // Stream consumers lagging, the webhook queue's oldest trigger, webhook delivery failures.
    for f in &functions {
        let events = r[f.as_str()]["Properties"]["Events"].as_mapping();
        let on_stream = events
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"] == "DynamoDB");
        if on_stream {
            assert!(
                alarm_on("AWS/Lambda", "IteratorAge", f),
                "{f}: no IteratorAge alarm"
            );
        }
        for (_, e) in events.into_iter().flatten() {
            if e["Type"] == "SQS" {
                let queue = serde_yaml::to_string(&e["Properties"]["Queue"]).unwrap();
                let queue = queue.trim().trim_start_matches("!GetAtt").trim();
                let queue = queue.split('.').next().unwrap();
                assert!(
                    alarm_on("AWS/SQS", "ApproximateAgeOfOldestMessage", queue),
                    "{f}: no age alarm on {queue}"
                );
            }
        }
    }
    assert!(alarm_on(
        "ScimLambda",
        "WebhookDeliveryFailures",
        "webhooks"
    ));
    for (name, res) in r.as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if res["Type"] == "AWS::SQS::Queue" && name.ends_with("DeadLetterQueue") {
            assert!(
                alarm_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", name),
                "{name}"
            );
        }
    }
}

#[test]
fn routes_are_throttled_and_access_logs_hold_no_secret() {
    let t = load();
    let api = &t["Resources"]["ScimApi"]["Properties"];
    let route = &api["DefaultRouteSettings"];
    assert!(serde_yaml::to_string(&route["ThrottlingRateLimit"])
        .unwrap()
        .contains("ThrottleRateLimit"));
    assert!(serde_yaml::to_string(&route["ThrottlingBurstLimit"])
        .unwrap()
        .contains("ThrottleBurstLimit"));
    // The token endpoint, every /manage route and the Admin Portal have limits of their own, so
    // a flood on one family spends nothing of another's (and of the SCIM routes').
    let own = api["RouteSettings"].as_mapping().unwrap();
    for (family, path) in ROUTES {
        let (rate, burst) = match family {
            Function::Token => ("TokenThrottleRateLimit", "TokenThrottleBurstLimit"),
            Function::Management => (
                "ManagementThrottleRateLimit",
                "ManagementThrottleBurstLimit",
            ),
            Function::Portal => ("PortalThrottleRateLimit", "PortalThrottleBurstLimit"),
            _ => {
                assert!(own.get(format!("ANY {path}")).is_none(), "{path}");
                continue;
            }
        };
        let settings = &own[&serde_yaml::Value::from(format!("ANY {path}"))];
        let text = serde_yaml::to_string(settings).unwrap();
        assert!(
            text.contains(rate) && text.contains(burst),
            "{path}: {text}"
        );
    }
    // The edge option: CloudFront with the user's web ACL, adding the secret the functions check.
    let edge = &t["Resources"]["EdgeDistribution"];
    assert_eq!(edge["Condition"], "HasEdge");
    let config = serde_yaml::to_string(&edge["Properties"]["DistributionConfig"]).unwrap();
    assert!(config.contains("EdgeWebAclArn") && config.contains(scim_lambda::api::EDGE_HEADER));
    assert!(
        serde_yaml::to_string(&t["Globals"]["Function"]["Environment"])
            .unwrap()
            .contains(scim_lambda::api::ENV_EDGE_SECRET)
    );
    let format: serde_json::Value =
        serde_json::from_str(api["AccessLogSettings"]["Format"].as_str().unwrap()).unwrap();
    let fields: Vec<&str> = format
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_str().unwrap())
        .collect();
    for wanted in [
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.responseLatency",
        "$context.integrationErrorMessage",
    ] {
        assert!(fields.contains(&wanted), "{wanted}");
    }
    let text = fields.join(" ");
    for secret in ["authorization", "header", "body", "querystring", "$input"] {
        assert!(
            !text.to_lowercase().contains(secret),
            "{secret} in the access log"
        );
    }
    // The dashboard body is JSON once its ${...} references are substituted.
    let body = t["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            serde_yaml::to_string(
                &t["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"],
            )
            .unwrap()
        });
    let body = body
        .trim()
        .trim_start_matches("!Sub")
        .trim()
        .trim_matches('\'')
        .replace("''", "'");
    let mut plain = String::new();
    let mut rest = body.as_str();
    while let Some(i) = rest.find("${") {
        plain.push_str(&rest[..i]);
        plain.push('X');
        rest = &rest[i + rest[i..].find('}').unwrap() + 1..];
    }
    plain.push_str(rest);
    let dash: serde_json::Value =
        serde_json::from_str(&plain).unwrap_or_else(|e| panic!("{e}: {plain}"));
    assert!(dash["widgets"].as_array().unwrap().len() >= 6);
}

/// Evaluates the template's conditions for `params` (defaults for the others): the `Fn::Equals`,
/// `Fn::Not`, `Fn::And` and `Condition` forms this template uses.
fn conditions(t: &serde_yaml::Value, params: &[(&str, &str)]) -> BTreeMap<String, bool> {
    fn param(t: &Value, params: &[(&str, &str)], name: &str) -> String {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| match &t["Parameters"][name]["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("no default for {name}: {other:?}"),
            })
    }
    fn scalar(t: &Value, params: &[(&str, &str)], v: &Value) -> String {
        match v {
            Value::Tagged(tag) if tag.tag == "!Ref" => {
                param(t, params, tag.value.as_str().unwrap())
            }
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("unexpected {other:?}"),
        }
    }
    fn eval(t: &Value, params: &[(&str, &str)], v: &Value) -> bool {
        let Value::Tagged(tag) = v else {
            panic!("not a condition: {v:?}")
        };
        let args = &tag.value;
        match tag.tag.to_string().as_str() {
            "!Equals" => scalar(t, params, &args[0]) == scalar(t, params, &args[1]),
            "!Not" => !eval(t, params, &args[0]),
            "!And" => args
                .as_sequence()
                .unwrap()
                .iter()
                .all(|a| eval(t, params, a)),
            "!Condition" => eval(t, params, &t["Conditions"][args.as_str().unwrap()]),
            other => panic!("condition form {other} not handled"),
        }
    }
    t["Conditions"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), eval(t, params, v)))
        .collect()
}

#[test]
fn a_custom_domain_is_created_mapped_and_used_only_when_configured() {
    let t = load();
    let with = [
        ("DomainName", "scim.example.com"),
        (
            "CertificateArn",
            "arn:aws:acm:us-east-1:123456789012:certificate/x",
        ),
        ("HostedZoneId", "Z0123"),
        ("DisableExecuteApiEndpoint", "true"),
    ];
    let on = conditions(&t, &with);
    let off = conditions(&t, &[]);
    let exists = |c: &BTreeMap<String, bool>, resource: &str| match t["Resources"][resource]
        ["Condition"]
        .as_str()
    {
        Some(cond) => c[cond],
        None => true,
    };
    for r in [
        "CustomDomain",
        "CustomDomainMapping",
        "CustomDomainRecordA",
        "CustomDomainRecordAAAA",
    ] {
        assert!(exists(&on, r), "{r} with a domain");
        assert!(!exists(&off, r), "{r} without");
    }
    // A domain without a hosted zone: the domain and mapping, no records (DNS is the user's).
    let no_zone = conditions(&t, &with[..2]);
    assert!(exists(&no_zone, "CustomDomain") && !exists(&no_zone, "CustomDomainRecordA"));
    assert!(on["ExecuteApiOff"] && !off["ExecuteApiOff"] && !no_zone["ExecuteApiOff"]);
    // The functions' public URL is the domain's when there is one (printed URLs, meta.location).
    let url = &t["Globals"]["Function"]["Environment"]["Variables"]["SCIM_PUBLIC_URL"];
    let text = serde_yaml::to_string(url).unwrap();
    assert!(
        text.contains("HasPublicUrl")
            && text.contains("HasDomain")
            && text.contains("https://${DomainName}"),
        "{text}"
    );
    // The SCIM base URL outputs follow the domain.
    for output in [
        "ScimV2BaseTemplate",
        "ScimV1BaseTemplate",
        "ManagementApiBase",
    ] {
        let v = serde_yaml::to_string(&t["Outputs"][output]["Value"]).unwrap();
        assert!(
            v.contains("HasDomain") && v.contains("https://${DomainName}"),
            "{output}: {v}"
        );
    }
}

/// The rest of least privilege that lives in the template: only the publisher may put directory
/// events on the bus; the access log names the IAM caller of `/manage`; the webhook queue hides a
/// trigger for at least six times the function's timeout (AWS's advice for SQS event sources),
/// so a trigger is not redelivered while it is being served.
#[test]
fn the_bus_takes_directory_events_only_from_the_publisher_and_the_queue_outlasts_its_function() {
    let t = load();
    let r = &t["Resources"];
    let policy = r
        .as_mapping()
        .unwrap()
        .values()
        .find(|v| v["Type"] == "AWS::Events::EventBusPolicy")
        .expect("a bus policy");
    let st = &policy["Properties"]["Statement"];
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(st["Action"], "events:PutEvents");
    assert_eq!(
        st["Condition"]["StringEquals"]["events:source"],
        scim_lambda::service::publisher::SOURCE
    );
    assert!(serde_yaml::to_string(&st["Condition"]["ArnNotEquals"])
        .unwrap()
        .contains("PublisherFunctionRole"));
    let format = r["ScimApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap();
    assert!(format.contains("$context.authorizer.iam.userArn"));
    let queue = r["WebhookQueue"]["Properties"]["VisibilityTimeout"]
        .as_u64()
        .unwrap();
    let timeout = r["WebhookFunction"]["Properties"]["Timeout"]
        .as_u64()
        .unwrap();
    assert!(queue >= 6 * timeout, "{queue} < 6 × {timeout}");
}

/// The Admin Portal as deployed: public routes of its own function, which gets the stack's
/// public URL and edge secret like the SCIM functions and the branding parameters under the
/// names `api::portal::brand` reads; the parameters' defaults are the code's.
#[test]
fn the_portal_is_public_and_branded_by_the_stack_parameters() {
    use scim_lambda::api::portal::brand::{Brand, ENV_ACCENT, ENV_LOGO_URL, ENV_PRODUCT_NAME};
    let t = load();
    let f = &t["Resources"][Function::Portal.logical_id()]["Properties"];
    let mut paths = Vec::new();
    for (_, ev) in f["Events"].as_mapping().unwrap() {
        assert_eq!(ev["Type"], "HttpApi");
        assert!(ev["Properties"]["Auth"].is_null(), "no IAM authorizer");
        paths.push(ev["Properties"]["Path"].as_str().unwrap().to_string());
    }
    paths.sort();
    assert_eq!(paths, ["/portal", "/portal/{proxy+}"]);
    // The public URL and the edge secret come from Globals, as for every SCIM function.
    let vars = &f["Environment"]["Variables"];
    for global in [
        scim_lambda::api::ENV_PUBLIC_URL,
        scim_lambda::api::ENV_EDGE_SECRET,
    ] {
        assert!(vars[global].is_null(), "{global} is overridden");
        assert!(!t["Globals"]["Function"]["Environment"]["Variables"][global].is_null());
    }
    let defaults = Brand::new(None, None, None);
    for (var, param, default) in [
        (
            ENV_PRODUCT_NAME,
            "PortalProductName",
            defaults.product.as_str(),
        ),
        (ENV_LOGO_URL, "PortalLogoUrl", ""),
        (ENV_ACCENT, "PortalAccentColor", defaults.accent.as_str()),
    ] {
        assert_eq!(
            serde_yaml::to_string(&vars[var]).unwrap().trim(),
            format!("!Ref {param}"),
            "{var}"
        );
        assert_eq!(t["Parameters"][param]["Default"], default, "{param}");
    }
    // CloudFormation refuses what the code would drop: a colour that is not #rrggbb, a logo
    // that is not https.
    assert_eq!(
        t["Parameters"]["PortalAccentColor"]["AllowedPattern"],
        "^#[0-9a-fA-F]{6}$"
    );
    assert!(t["Parameters"]["PortalLogoUrl"]["AllowedPattern"]
        .as_str()
        .unwrap()
        .starts_with("^(https://"));
}

/// With the edge, the portal goes through CloudFront like the SCIM routes (nothing cached,
/// cookies, query strings and headers forwarded) and only its assets are cached, keyed by their
/// content hash so a deploy is never answered with a stale script.
#[test]
fn the_edge_caches_only_the_portal_assets_keyed_by_their_content_hash() {
    let t = load();
    let r = &t["Resources"];
    let config = &r["EdgeDistribution"]["Properties"]["DistributionConfig"];
    let default = &config["DefaultCacheBehavior"];
    // Managed CachingDisabled and AllViewerExceptHostHeader.
    assert_eq!(
        default["CachePolicyId"],
        "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    );
    assert_eq!(
        default["OriginRequestPolicyId"],
        "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    );
    let behaviors = config["CacheBehaviors"].as_sequence().unwrap();
    assert_eq!(behaviors.len(), 1);
    let assets = &behaviors[0];
    assert_eq!(assets["PathPattern"], "/portal/assets/*");
    assert_eq!(
        assets["AllowedMethods"],
        serde_yaml::from_str::<Value>("[GET, HEAD]").unwrap()
    );
    assert!(
        assets["OriginRequestPolicyId"].is_null(),
        "no cookie or header forwarded"
    );
    let policy = serde_yaml::to_string(&assets["CachePolicyId"]).unwrap();
    let policy = policy.trim().trim_start_matches("!Ref").trim();
    assert_eq!(r[policy]["Condition"], "HasEdge");
    let key =
        &r[policy]["Properties"]["CachePolicyConfig"]["ParametersInCacheKeyAndForwardedToOrigin"];
    assert_eq!(key["CookiesConfig"]["CookieBehavior"], "none");
    assert_eq!(key["HeadersConfig"]["HeaderBehavior"], "none");
    assert_eq!(
        key["QueryStringsConfig"]["QueryStringBehavior"],
        "whitelist"
    );
    assert_eq!(key["QueryStringsConfig"]["QueryStrings"][0], "v");
}

/// The parts of a CloudWatch Logs JSON filter pattern of the form `{ $.field = "value" }` (the
/// one form the request log's filters use): the field and the value.
pub fn json_equality_pattern(pattern: &str) -> (String, String) {
    let inner = pattern
        .trim()
        .strip_prefix('{')
        .and_then(|p| p.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a JSON filter pattern: {pattern}"));
    let (field, value) = inner
        .split_once('=')
        .unwrap_or_else(|| panic!("not an equality: {pattern}"));
    let field = field.trim().strip_prefix("$.").expect("a $. selector");
    let value = value.trim().trim_matches('"');
    (field.to_string(), value.to_string())
}

/// The request log in AWS: every function that prints record lines (the SCIM families and the
/// token endpoint) has a subscription filter on its log group that passes the record lines
/// (`request_log::LOG_TARGET` in `message`) to the request-log function, which CloudWatch Logs
/// of this account may invoke for those log groups alone; the function keeps records for the
/// retention parameter, retries a failed payload and parks it in a dead-letter queue.
#[test]
fn the_request_log_function_is_fed_the_record_lines_of_every_function_that_prints_them() {
    use scim_lambda::service::request_log::{DEFAULT_RETENTION_DAYS, ENV_RETENTION_DAYS};
    let t = load();
    let r = &t["Resources"];
    let logical = Function::RequestLog.logical_id();
    let f = &r[logical]["Properties"];
    assert!(!Function::RequestLog.serves_http());
    assert_eq!(
        serde_yaml::to_string(&f["Environment"]["Variables"][ENV_RETENTION_DAYS])
            .unwrap()
            .trim(),
        "!Ref RequestLogRetentionDays"
    );
    assert_eq!(
        t["Parameters"]["RequestLogRetentionDays"]["Default"].as_u64(),
        Some(DEFAULT_RETENTION_DAYS)
    );
    assert!(
        f["EventInvokeConfig"]["MaximumRetryAttempts"]
            .as_u64()
            .unwrap()
            > 0
    );
    let dlq = serde_yaml::to_string(&f["DeadLetterQueue"]["TargetArn"]).unwrap();
    assert!(dlq.contains("RequestLogDeadLetterQueue"), "{dlq}");

    let mut fed: BTreeSet<String> = BTreeSet::new();
    for (name, res) in r.as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if res["Type"] != "AWS::Logs::SubscriptionFilter" {
            continue;
        }
        let p = &res["Properties"];
        assert_eq!(
            serde_yaml::to_string(&p["DestinationArn"]).unwrap().trim(),
            format!("!GetAtt {logical}.Arn"),
            "{name}"
        );
        let (field, value) = json_equality_pattern(p["FilterPattern"].as_str().unwrap());
        assert_eq!(
            (field.as_str(), value.as_str()),
            ("message", scim_lambda::request_log::LOG_TARGET),
            "{name}"
        );
        let group = serde_yaml::to_string(&p["LogGroupName"]).unwrap();
        let group = group.trim().trim_start_matches("!Ref").trim().to_string();
        // The filter waits for the permission that lets CloudWatch Logs invoke the function for
        // this log group (of this account) alone.
        let permission = res["DependsOn"].as_str().expect("DependsOn its permission");
        let perm = &r[permission]["Properties"];
        assert_eq!(perm["Principal"], "logs.amazonaws.com");
        assert_eq!(perm["Action"], "lambda:InvokeFunction");
        assert_eq!(
            serde_yaml::to_string(&perm["SourceArn"]).unwrap().trim(),
            format!("!GetAtt {group}.Arn")
        );
        assert!(serde_yaml::to_string(&perm["SourceAccount"])
            .unwrap()
            .contains("AWS::AccountId"));
        fed.insert(group);
    }
    // Exactly the log groups of the functions that print records.
    let printing: BTreeSet<String> = [
        Function::Users,
        Function::Groups,
        Function::Discovery,
        Function::Token,
    ]
    .into_iter()
    .map(|f| {
        let g =
            serde_yaml::to_string(&r[f.logical_id()]["Properties"]["LoggingConfig"]["LogGroup"])
                .unwrap();
        g.trim().trim_start_matches("!Ref").trim().to_string()
    })
    .collect();
    assert_eq!(fed, printing);
    // Every permission for logs.amazonaws.com is one of those.
    let permissions = r
        .as_mapping()
        .unwrap()
        .values()
        .filter(|v| v["Type"] == "AWS::Lambda::Permission")
        .count();
    assert_eq!(permissions, printing.len());
}
