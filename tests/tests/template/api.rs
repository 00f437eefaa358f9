//! The API's security settings: IAM, JWT or no authorization, throttling,
//! access logs, CORS, and the reasons of skipped security checks.

use std::collections::BTreeSet;

use employee_api_tests::template::{
    Deployment, api_definition, get_att, is_ref, resources, routes, security, template, yaml,
};

#[test]
fn every_route_requires_iam_authorization_by_default() {
    let template = template();
    assert_eq!(template["Parameters"]["AuthorizationType"]["Default"], "AWS_IAM");
    let resources = Deployment::new(&template, &[]).resources();
    let definition = api_definition(&resources);
    let schemes = &definition["components"]["securitySchemes"];
    assert_eq!(
        schemes,
        &yaml(
            "AWS_IAM: {type: apiKey, name: Authorization, in: header, \
             x-amazon-apigateway-authtype: awsSigv4}"
        )
    );
    let routes = routes(&template);
    assert_eq!(routes.len(), 5);
    for (method, path, event) in routes {
        assert_eq!(
            security(definition, &method, &path),
            &yaml("[{AWS_IAM: []}]"),
            "{method} {path}"
        );
        // A route's own Auth would replace the API's requirement.
        assert!(event["Properties"]["Auth"].is_null(), "{method} {path} sets its own Auth");
    }
    // SAM's Auth would add its own default authorizer: the definition decides alone.
    assert!(resources["EmployeeApi"]["Properties"]["Auth"].is_null());
}

#[test]
fn every_route_requires_a_jwt_from_the_configured_issuer_when_jwt_is_chosen() {
    let template = template();
    let deployment = Deployment::new(
        &template,
        &[
            ("AuthorizationType", "JWT"),
            ("JwtIssuer", "https://issuer.example.com"),
            ("JwtAudience", "employee-api,admin-console"),
        ],
    );
    let resources = deployment.resources();
    let definition = api_definition(&resources);
    let schemes = definition["components"]["securitySchemes"].as_mapping().unwrap();
    assert_eq!(schemes.keys().collect::<Vec<_>>(), ["JwtAuthorizer"], "IAM is off");
    let authorizer = &schemes["JwtAuthorizer"]["x-amazon-apigateway-authorizer"];
    assert_eq!(authorizer["type"], "jwt");
    assert_eq!(authorizer["identitySource"], "$request.header.Authorization");
    assert!(is_ref(&authorizer["jwtConfiguration"]["issuer"], "JwtIssuer"));
    assert!(is_ref(&authorizer["jwtConfiguration"]["audience"], "JwtAudience"));
    for (method, path, _) in routes(&template) {
        assert_eq!(
            security(definition, &method, &path),
            &yaml("[{JwtAuthorizer: []}]"),
            "{method} {path}"
        );
    }
}

#[test]
fn a_jwt_deployment_without_an_issuer_or_an_audience_is_refused() {
    let template = template();
    let rule = &template["Rules"]["JwtAuthorizationNeedsIssuerAndAudience"];
    let accepted = |overrides: &[(&str, &str)]| {
        let deployment = Deployment::new(&template, overrides);
        !deployment.holds(&rule["RuleCondition"])
            || rule["Assertions"]
                .as_sequence()
                .unwrap()
                .iter()
                .all(|a| deployment.holds(&a["Assert"]))
    };
    let issuer = ("JwtIssuer", "https://issuer.example.com");
    let audience = ("JwtAudience", "employee-api");
    assert!(accepted(&[("AuthorizationType", "JWT"), issuer, audience]));
    assert!(!accepted(&[("AuthorizationType", "JWT"), audience]));
    assert!(!accepted(&[("AuthorizationType", "JWT"), issuer]));
    assert!(!accepted(&[("AuthorizationType", "JWT"), issuer, ("JwtAudience", "employee-api,")]));
    assert!(accepted(&[]), "the default (AWS_IAM) needs neither");
}

#[test]
fn routes_are_open_only_when_authorization_is_explicitly_none() {
    let template = template();
    assert_eq!(
        template["Parameters"]["AuthorizationType"]["AllowedValues"],
        yaml("[AWS_IAM, JWT, NONE]")
    );
    let resources = Deployment::new(&template, &[("AuthorizationType", "NONE")]).resources();
    let definition = api_definition(&resources);
    assert!(definition["components"]["securitySchemes"].is_null());
    for (method, path, _) in routes(&template) {
        assert!(security(definition, &method, &path).is_null(), "{method} {path}");
    }
}

#[test]
fn the_stage_throttles_every_route() {
    let template = template();
    let parameters = &template["Parameters"];
    assert_eq!(parameters["ThrottlingRateLimit"]["Default"].as_u64(), Some(100));
    assert_eq!(parameters["ThrottlingBurstLimit"]["Default"].as_u64(), Some(200));
    let api = &resources(&template)["EmployeeApi"]["Properties"];
    let settings = &api["DefaultRouteSettings"];
    assert!(is_ref(&settings["ThrottlingRateLimit"], "ThrottlingRateLimit"));
    assert!(is_ref(&settings["ThrottlingBurstLimit"], "ThrottlingBurstLimit"));
    // No route-level settings that could lift the limits.
    assert!(api["RouteSettings"].is_null());
}

#[test]
fn the_api_logs_every_request_as_json_without_bodies_to_its_own_log_group() {
    let template = template();
    let resources = resources(&template);
    let settings = &resources["EmployeeApi"]["Properties"]["AccessLogSettings"];
    let destination = get_att(&settings["DestinationArn"]).expect("DestinationArn is a GetAtt");
    let group_id = destination.strip_suffix(".Arn").expect("a log group ARN");
    let group = &resources[group_id];
    assert_eq!(group["Type"], "AWS::Logs::LogGroup");
    assert!(is_ref(&group["Properties"]["RetentionInDays"], "LogRetentionInDays"));
    assert_eq!(group["DeletionPolicy"], "Delete");

    let format = settings["Format"].as_str().expect("Format");
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(format).expect("the access log format is a JSON object");
    let variables: BTreeSet<&str> = fields.values().filter_map(|v| v.as_str()).collect();
    for variable in [
        "$context.requestId",
        "$context.routeKey",
        "$context.status",
        "$context.responseLatency",
        "$context.integrationErrorMessage",
        "$context.identity.sourceIp",
    ] {
        assert!(variables.contains(variable), "access log lacks {variable}");
    }
    assert!(
        !format.to_lowercase().contains("body"),
        "access logs must not carry request or response bodies: {format}"
    );
}

#[test]
fn cors_is_closed_unless_origins_are_configured() {
    let template = template();
    assert_eq!(template["Parameters"]["CorsAllowOrigins"]["Type"], "CommaDelimitedList");
    assert_eq!(template["Parameters"]["CorsAllowOrigins"]["Default"], "");
    // SAM's CorsConfiguration would add CORS whatever the parameter says.
    assert!(resources(&template)["EmployeeApi"]["Properties"]["CorsConfiguration"].is_null());

    let closed = Deployment::new(&template, &[]).resources();
    assert!(api_definition(&closed)["x-amazon-apigateway-cors"].is_null());

    let origins = [("CorsAllowOrigins", "https://app.example.com,https://admin.example.com")];
    let open = Deployment::new(&template, &origins).resources();
    let cors = &api_definition(&open)["x-amazon-apigateway-cors"];
    assert!(is_ref(&cors["allowOrigins"], "CorsAllowOrigins"));
    assert_eq!(cors["allowMethods"], yaml("[GET, POST, PUT, DELETE]"));
    assert_eq!(cors["allowHeaders"], yaml("[content-type, authorization]"));
    assert!(cors["allowCredentials"].is_null());
}

#[test]
fn every_skipped_security_check_states_its_reason() {
    let template = template();
    let mut skipped = 0;
    for (id, resource) in resources(&template) {
        let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_sequence() else { continue };
        let mut ids = BTreeSet::new();
        for skip in skips {
            let check = skip["id"].as_str().expect("skip id");
            assert!(check.starts_with("CKV"), "{id:?}: {check}");
            assert!(ids.insert(check), "{id:?} skips {check} twice");
            let reason = skip["comment"].as_str().unwrap_or_default();
            assert!(reason.len() >= 80, "{id:?} skips {check} without a real reason: {reason:?}");
            skipped += 1;
        }
    }
    assert!(skipped > 0);
}
