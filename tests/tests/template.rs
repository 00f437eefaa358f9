//! template.yaml against the code: the routes the local router serves, the
//! table the tests create, least-privilege IAM, and the API's security
//! settings (authorization, throttling, access logs, CORS) as CloudFormation
//! deploys them for given parameters. (cfn-lint, `sam validate --lint` and
//! `sam build` run from scripts/test.sh; checkov from scripts/checkov.sh.)

use std::collections::{BTreeMap, BTreeSet};

use employee_api::route::RouteKey;
use employee_api::store::MemoryStore;
use employee_api_tests::dynamodb_local::{self, client, fresh_table};
use employee_api_tests::events::http_event;
use employee_api_tests::invoke::request;
use employee_api_tests::workspace_root;
use serde_yaml_ng::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

fn resources(template: &Value) -> &serde_yaml_ng::Mapping {
    template["Resources"].as_mapping().expect("Resources")
}

/// `(logical id, resource)` of every `AWS::Serverless::Function`.
fn functions(template: &Value) -> Vec<(String, &Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

fn binary_of(function: &Value) -> String {
    function["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned()
}

/// Strings anywhere inside a value (through `!If`, `!Sub` and other tags).
fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            strings_in(k, out);
            strings_in(v, out);
        }),
        Value::Tagged(tagged) => {
            out.push(tagged.tag.to_string());
            strings_in(&tagged.value, out);
        }
        _ => {}
    }
}

/// The name and arguments of an intrinsic function, in either YAML form:
/// `!If [...]` or `{"Fn::If": [...]}` (and `!Ref x` or `{"Ref": x}`).
fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            Some((
                if name == "Ref" { name.to_owned() } else { format!("Fn::{name}") },
                &tagged.value,
            ))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, arguments) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key.starts_with("Fn::") || key == "Condition")
                .then(|| (key.to_owned(), arguments))
        }
        _ => None,
    }
}

/// Whether `value` is `!Ref <name>`.
fn is_ref(value: &Value, name: &str) -> bool {
    intrinsic(value).is_some_and(|(f, target)| f == "Ref" && target == name)
}

/// `Resource.Attribute` of a `!GetAtt`, in either form.
fn get_att(value: &Value) -> Option<String> {
    match intrinsic(value)? {
        (f, Value::String(dotted)) if f == "Fn::GetAtt" => Some(dotted.clone()),
        (f, Value::Sequence(parts)) if f == "Fn::GetAtt" => {
            Some(format!("{}.{}", parts.first()?.as_str()?, parts.get(1)?.as_str()?))
        }
        _ => None,
    }
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

/// What CloudFormation knows when it deploys the template: the parameter
/// values (defaults, then overrides) and so the conditions.
struct Deployment<'a> {
    template: &'a Value,
    /// A string, or for a `CommaDelimitedList` the list of strings.
    parameters: BTreeMap<String, Value>,
}

impl<'a> Deployment<'a> {
    fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Self {
        let declared = template["Parameters"].as_mapping().expect("Parameters");
        let mut parameters = BTreeMap::new();
        for (name, declaration) in declared {
            let name = name.as_str().unwrap();
            let given = overrides.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
            let text = given.unwrap_or_else(|| match &declaration["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("parameter {name} has no usable default: {other:?}"),
            });
            let value = if declaration["Type"] == "CommaDelimitedList" {
                Value::Sequence(text.split(',').map(|s| Value::String(s.to_owned())).collect())
            } else {
                Value::String(text)
            };
            parameters.insert(name.to_owned(), value);
        }
        for (name, _) in overrides {
            assert!(parameters.contains_key(*name), "no parameter {name}");
        }
        Deployment { template, parameters }
    }

    fn scalar(&self, value: &Value) -> String {
        match (value, intrinsic(value)) {
            (Value::String(s), _) => s.clone(),
            (Value::Number(n), _) => n.to_string(),
            (Value::Bool(b), _) => b.to_string(),
            (_, Some((f, Value::String(name)))) if f == "Ref" => self.parameters[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} is a list"))
                .to_owned(),
            (_, Some((f, Value::Sequence(args)))) if f == "Fn::Join" => {
                self.list(&args[1]).join(args[0].as_str().unwrap())
            }
            _ => panic!("cannot evaluate {value:?}"),
        }
    }

    fn list(&self, value: &Value) -> Vec<String> {
        match (value, intrinsic(value)) {
            (Value::Sequence(items), _) => items.iter().map(|i| self.scalar(i)).collect(),
            (_, Some((f, Value::String(name)))) if f == "Ref" => self.parameters[name]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name} is not a list"))
                .iter()
                .map(|i| i.as_str().unwrap().to_owned())
                .collect(),
            _ => panic!("cannot evaluate {value:?} as a list"),
        }
    }

    /// A condition, a rule's condition or a rule's assertion.
    fn holds(&self, value: &Value) -> bool {
        let (f, args) = intrinsic(value).unwrap_or_else(|| panic!("not a condition: {value:?}"));
        let arg = |i: usize| &args.as_sequence().unwrap()[i];
        match f.as_str() {
            "Fn::Equals" => self.scalar(arg(0)) == self.scalar(arg(1)),
            "Fn::Not" => !self.holds(arg(0)),
            "Fn::And" => args.as_sequence().unwrap().iter().all(|c| self.holds(c)),
            "Fn::Or" => args.as_sequence().unwrap().iter().any(|c| self.holds(c)),
            "Fn::Contains" => self.list(arg(0)).contains(&self.scalar(arg(1))),
            "Condition" => self.condition(args.as_str().unwrap()),
            other => panic!("unsupported condition function {other}"),
        }
    }

    fn condition(&self, name: &str) -> bool {
        let condition = &self.template["Conditions"][name];
        assert!(!condition.is_null(), "no condition {name}");
        self.holds(condition)
    }

    /// `value` with every `Fn::If` chosen and every `AWS::NoValue` removed;
    /// `None` when the whole value is `AWS::NoValue`.
    fn resolve(&self, value: &Value) -> Option<Value> {
        if is_ref(value, "AWS::NoValue") {
            return None;
        }
        if let Some((f, args)) = intrinsic(value)
            && f == "Fn::If"
        {
            let args = args.as_sequence().unwrap();
            let branch =
                if self.condition(args[0].as_str().unwrap()) { &args[1] } else { &args[2] };
            return self.resolve(branch);
        }
        Some(match value {
            Value::Sequence(items) => items.iter().filter_map(|i| self.resolve(i)).collect(),
            Value::Mapping(map) => Value::Mapping(
                map.iter().filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?))).collect(),
            ),
            Value::Tagged(tagged) => Value::Tagged(Box::new(serde_yaml_ng::value::TaggedValue {
                tag: tagged.tag.clone(),
                value: self.resolve(&tagged.value)?,
            })),
            other => other.clone(),
        })
    }

    /// The resources CloudFormation creates, as it sees them.
    fn resources(&self) -> serde_yaml_ng::Mapping {
        resources(self.template)
            .iter()
            .filter(|(_, r)| r["Condition"].as_str().is_none_or(|c| self.condition(c)))
            .map(|(id, r)| (id.clone(), self.resolve(r).unwrap()))
            .collect()
    }
}

/// `(METHOD, path, event)` of every HttpApi event of every function.
fn routes(template: &Value) -> Vec<(String, String, &Value)> {
    functions(template)
        .into_iter()
        .flat_map(|(_, function)| function["Properties"]["Events"].as_mapping().unwrap().values())
        .map(|event| {
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().unwrap().to_uppercase();
            (method, properties["Path"].as_str().unwrap().to_owned(), event)
        })
        .collect()
}

/// The OpenAPI document of the deployed API.
fn api_definition(resources: &serde_yaml_ng::Mapping) -> &Value {
    let api = &resources["EmployeeApi"];
    assert_eq!(api["Type"], "AWS::Serverless::HttpApi");
    &api["Properties"]["DefinitionBody"]
}

/// The `security` requirement of one route in the deployed API.
fn security<'a>(definition: &'a Value, method: &str, path: &str) -> &'a Value {
    let operation = &definition["paths"][path][method.to_lowercase().as_str()];
    assert!(operation.is_mapping(), "{method} {path} is not in the API definition");
    &operation["security"]
}

#[test]
fn the_local_router_serves_exactly_the_templates_routes() {
    let template = template();
    let mut deployed = BTreeSet::new();
    for (_, function) in functions(&template) {
        for (_, event) in function["Properties"]["Events"].as_mapping().unwrap() {
            assert_eq!(event["Type"], "HttpApi");
            assert_eq!(event["Properties"]["PayloadFormatVersion"], "2.0");
            deployed.insert((
                event["Properties"]["Method"].as_str().unwrap().to_owned(),
                event["Properties"]["Path"].as_str().unwrap().to_owned(),
                binary_of(function),
            ));
        }
    }
    let cargo: toml::Table =
        std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap().parse().unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"].as_table().unwrap();
    let mut local = BTreeSet::new();
    for (path, routes) in router {
        for route in routes.as_array().unwrap() {
            local.insert((
                route["method"].as_str().unwrap().to_owned(),
                path.clone(),
                route["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    assert_eq!(local, deployed);
    assert_eq!(deployed.len(), 5);

    // The contract declares the same routes…
    let openapi: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace_root().join("openapi.yaml")).unwrap(),
    )
    .expect("openapi.yaml is YAML");
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_mapping().expect("paths") {
        for (method, _) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                .contains(&method)
            {
                documented.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let deployed_routes: BTreeSet<(String, String)> =
        deployed.iter().map(|(method, path, _)| (method.clone(), path.clone())).collect();
    assert_eq!(documented, deployed_routes, "openapi.yaml and template.yaml disagree");
    // …and so does the code's route table.
    let parsed: BTreeSet<(String, String)> = RouteKey::ALL
        .iter()
        .map(|key| (key.method().to_owned(), key.resource().path().to_owned()))
        .collect();
    assert_eq!(parsed, deployed_routes, "RouteKey::ALL and template.yaml disagree");
}

/// Each function serves exactly the routes the template sends it: asked for
/// any other route, it answers 405.
#[tokio::test]
async fn each_function_serves_exactly_the_routes_the_template_gives_it() {
    let store = MemoryStore::new();
    let template = template();
    for (_, function) in functions(&template) {
        let binary = binary_of(function);
        let given: BTreeSet<(String, String)> = function["Properties"]["Events"]
            .as_mapping()
            .unwrap()
            .values()
            .map(|event| {
                let properties = &event["Properties"];
                (
                    properties["Method"].as_str().unwrap().to_uppercase(),
                    properties["Path"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for key in RouteKey::ALL {
            let path = key.resource().path().replace("{employeeId}", "route-check");
            let body = r#"{"employee":"route-check","jobTitle":"Engineer"}"#;
            let event = http_event(key.method(), &path).json_body(body).build();
            let answer = request(&binary, &store, &event).await;
            let served =
                given.contains(&(key.method().to_owned(), key.resource().path().to_owned()));
            assert_eq!(
                answer.status() != 405,
                served,
                "{binary} answered {} to {}: {:?}",
                answer.status(),
                key.name(),
                answer.0
            );
        }
    }
}

#[test]
fn each_function_is_granted_only_the_dynamodb_actions_it_calls_on_its_own_tables() {
    // Per function and table. TransactWriteItems has no action of its own:
    // it is authorized by the actions inside it (UpdateItem, DeleteItem,
    // and PutItem on the idempotency table). Employees are written with
    // UpdateItem only, which leaves other writers' attributes in place.
    let expected: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::from([
        (
            "get-employee",
            BTreeSet::from([
                ("EmployeeTable", "dynamodb:GetItem"),
                ("EmployeeTable", "dynamodb:Query"),
                ("EmployeeTable", "dynamodb:Scan"),
            ]),
        ),
        (
            "add-employee",
            BTreeSet::from([
                ("EmployeeTable", "dynamodb:UpdateItem"),
                ("EmployeeTable", "dynamodb:GetItem"),
                ("IdempotencyTable", "dynamodb:PutItem"),
            ]),
        ),
        (
            "remove-employee",
            BTreeSet::from([
                ("EmployeeTable", "dynamodb:DeleteItem"),
                ("EmployeeTable", "dynamodb:GetItem"),
                ("IdempotencyTable", "dynamodb:PutItem"),
            ]),
        ),
    ]);
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 3);
    for (id, function) in functions {
        let binary = binary_of(function);
        let policies = function["Properties"]["Policies"].as_sequence().expect("Policies");
        let mut actions = BTreeSet::new();
        for policy in policies {
            // An inline document, not a SAM policy template (DynamoDBCrudPolicy…).
            let statements = policy["Statement"].as_sequence().unwrap_or_else(|| {
                panic!("{id}: every policy must be an inline statement list, got {policy:?}")
            });
            for statement in statements {
                assert_eq!(statement["Effect"], "Allow", "{id}");
                let mut resource = Vec::new();
                strings_in(&statement["Resource"], &mut resource);
                let table = ["EmployeeTable", "IdempotencyTable"]
                    .into_iter()
                    .find(|table| resource.iter().any(|s| s.contains(table)))
                    .unwrap_or_else(|| {
                        panic!("{id}: resource is not a table of ours: {resource:?}")
                    });
                assert!(
                    resource.iter().all(|s| !s.contains('*')),
                    "{id}: wildcard resource {resource:?}"
                );
                for action in statement["Action"].as_sequence().unwrap() {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{id}: wildcard action {action}");
                    actions.insert((table.to_owned(), action.to_owned()));
                }
            }
        }
        let expected: BTreeSet<(String, String)> = expected[binary.as_str()]
            .iter()
            .map(|(t, a)| ((*t).to_owned(), (*a).to_owned()))
            .collect();
        assert_eq!(actions, expected, "{id}");
    }
}

#[test]
fn functions_are_small_arm64_rust_functions_built_by_cargo_lambda() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["MemorySize"].as_u64(), Some(128));
    assert!(globals["Timeout"].as_u64().is_some_and(|t| t <= 10));
    assert_eq!(template["Parameters"]["Architecture"]["Default"], "arm64");
    let mut binaries = BTreeSet::new();
    for (id, function) in functions(&template) {
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        assert_eq!(function["Properties"]["CodeUri"], ".", "{id}");
        binaries.insert(binary_of(function));
    }
    for binary in &binaries {
        let manifest = workspace_root().join("functions").join(binary).join("Cargo.toml");
        assert!(manifest.is_file(), "no crate for binary {binary}");
    }
    assert_eq!(binaries.len(), 3);
}

#[test]
fn the_table_keeps_its_data_and_point_in_time_recovery() {
    let template = template();
    let table = &resources(&template)["EmployeeTable"];
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    assert_eq!(table["Properties"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

/// `(attribute, key type)` pairs of a CloudFormation `KeySchema`.
fn key_schema(value: &Value) -> Vec<(String, String)> {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap().to_owned(),
                k["KeyType"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_tables_the_tests_create_have_the_templates_schema() {
    let template = template();
    let table = &resources(&template)["EmployeeTable"]["Properties"];
    let client = client();
    let name = fresh_table(&client).await;
    let described = client.describe_table().table_name(&name).send().await.unwrap();
    let described = described.table.unwrap();

    let local_keys: Vec<(String, String)> = described
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
        .collect();
    assert_eq!(local_keys, key_schema(&table["KeySchema"]));

    let mut local_attributes: Vec<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| (a.attribute_name().to_owned(), a.attribute_type().as_str().to_owned()))
        .collect();
    local_attributes.sort();
    let mut template_attributes: Vec<(String, String)> = table["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_owned(),
                a["AttributeType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    template_attributes.sort();
    assert_eq!(local_attributes, template_attributes);

    let template_indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    let local_indexes = described.global_secondary_indexes();
    assert_eq!(local_indexes.len(), template_indexes.len());
    for index in template_indexes {
        let local = local_indexes
            .iter()
            .find(|i| i.index_name() == index["IndexName"].as_str())
            .expect("index exists locally");
        let local_keys: Vec<(String, String)> = local
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
            .collect();
        assert_eq!(local_keys, key_schema(&index["KeySchema"]));
        assert_eq!(
            local.projection().and_then(|p| p.projection_type()).map(|p| p.as_str()),
            index["Projection"]["ProjectionType"].as_str()
        );
    }
}

#[test]
fn the_api_definition_declares_exactly_the_routes_the_functions_serve() {
    let template = template();
    let definition = &resources(&template)["EmployeeApi"]["Properties"]["DefinitionBody"];
    let mut declared = BTreeSet::new();
    for (path, operations) in definition["paths"].as_mapping().expect("paths") {
        for (method, _) in operations.as_mapping().unwrap() {
            declared.insert((
                method.as_str().unwrap().to_uppercase(),
                path.as_str().unwrap().to_owned(),
            ));
        }
    }
    let served: BTreeSet<(String, String)> =
        routes(&template).into_iter().map(|(method, path, _)| (method, path)).collect();
    assert_eq!(declared, served);
}

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

/// The alarms CloudFormation would create with `overrides`.
fn alarms(overrides: &[(&str, &str)]) -> Vec<(String, Value)> {
    let template = template();
    let deployment = Deployment::new(&template, overrides);
    deployment
        .resources()
        .into_iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

/// Every metric an alarm watches, as `(namespace, metric name, extended statistic)`.
fn watched(alarm: &Value) -> Vec<(String, String, String)> {
    let properties = &alarm["Properties"];
    let mut metrics = Vec::new();
    if let Some(name) = properties["MetricName"].as_str() {
        metrics.push((
            properties["Namespace"].as_str().unwrap_or_default().to_owned(),
            name.to_owned(),
            properties["ExtendedStatistic"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    for query in properties["Metrics"].as_sequence().into_iter().flatten() {
        let stat = &query["MetricStat"];
        if let Some(name) = stat["Metric"]["MetricName"].as_str() {
            metrics.push((
                stat["Metric"]["Namespace"].as_str().unwrap_or_default().to_owned(),
                name.to_owned(),
                stat["Stat"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    metrics
}

#[test]
fn alarms_watch_the_5xx_rate_throttles_and_each_functions_p99_duration() {
    let alarms = alarms(&[]);
    let all: Vec<(String, String, String)> =
        alarms.iter().flat_map(|(_, alarm)| watched(alarm)).collect();
    let has = |namespace: &str, name: &str, stat: &str| {
        all.iter().any(|(n, m, s)| n == namespace && m == name && s == stat)
    };
    assert!(
        has("AWS/ApiGateway", "5xx", "Sum") && has("AWS/ApiGateway", "Count", "Sum"),
        "{all:?}"
    );
    let rate = alarms
        .iter()
        .find(|(_, a)| watched(a).iter().any(|(_, m, _)| m == "5xx"))
        .map(|(_, a)| a)
        .unwrap();
    let expression = rate["Properties"]["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|q| q["Expression"].as_str())
        .expect("a rate expression");
    assert!(expression.contains("100 * errors / requests"), "{expression}");
    assert_eq!(all.iter().filter(|(_, m, _)| m == "Throttles").count(), 3, "{all:?}");
    assert_eq!(
        all.iter().filter(|(n, m, s)| n == "AWS/Lambda" && m == "Duration" && s == "p99").count(),
        3,
        "one p99 duration alarm per function: {all:?}"
    );
}

#[test]
fn alarms_notify_the_topic_only_when_one_is_given() {
    for (_, alarm) in alarms(&[]) {
        assert!(alarm["Properties"]["AlarmActions"].is_null(), "{alarm:?}");
    }
    let topic = "arn:aws:sns:eu-west-1:123456789012:oncall";
    for (id, alarm) in alarms(&[("AlarmTopicArn", topic)]) {
        for key in ["AlarmActions", "OKActions"] {
            let actions = &alarm["Properties"][key];
            assert_eq!(actions.as_sequence().map(Vec::len), Some(1), "{id} {key}");
            assert!(is_ref(&actions[0], "AlarmTopicArn"), "{id} {key}: {actions:?}");
        }
    }
}

#[test]
fn functions_are_traced_by_x_ray() {
    let template = template();
    assert_eq!(template["Globals"]["Function"]["Tracing"], "Active");
    for (id, function) in functions(&template) {
        assert!(function["Properties"]["Tracing"].is_null(), "{id} overrides Tracing");
    }
}

#[test]
fn the_dynamodb_endpoint_variable_is_declared_for_sam_local_and_empty_when_deployed() {
    // `sam local` passes a function only the variables its template declares:
    // scripts/sam-local.sh sets this one to DynamoDB Local. Deployed it stays
    // empty, which the functions read as unset (the Region's endpoint).
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(variables["AWS_ENDPOINT_URL_DYNAMODB"], Value::String(String::new()));
    for (id, function) in functions(&template) {
        assert!(function["Properties"]["Environment"].is_null(), "{id} overrides Environment");
    }
}

fn managed_instances_template() -> Value {
    let text =
        std::fs::read_to_string(workspace_root().join("template-managed-instances.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("template-managed-instances.yaml is YAML")
}

/// `section` of both templates, without the keys in `only_in_managed`
/// (which must be in the Managed Instances template's section and not in
/// template.yaml's).
fn section_without(
    name: &str,
    only_in_managed: &[&str],
) -> (serde_yaml_ng::Mapping, serde_yaml_ng::Mapping) {
    let main = template()[name].as_mapping().cloned().unwrap_or_default();
    let mut managed = managed_instances_template()[name].as_mapping().cloned().unwrap_or_default();
    for key in only_in_managed {
        assert!(
            managed.remove(*key).is_some(),
            "{name}.{key} is missing from the managed template"
        );
        assert!(!main.contains_key(*key), "{name}.{key} is in template.yaml too");
    }
    (main, managed)
}

/// The Managed Instances template is template.yaml with the functions moved
/// onto a capacity provider: every parameter, condition, rule, output and
/// resource of template.yaml is in it unchanged, and the functions differ
/// only in where they run. After a change to template.yaml, rewrite it with
/// `python3 scripts/managed-instances-template.py`.
#[test]
fn the_managed_instances_template_is_the_main_one_but_where_the_functions_run() {
    let new_parameters = [
        "ManagedInstancesSubnetIds",
        "ManagedInstancesSecurityGroupIds",
        "PerExecutionEnvironmentMaxConcurrency",
        "ManagedInstancesMaxVCpuCount",
    ];
    let (main, managed) = section_without("Parameters", &new_parameters);
    assert_eq!(main, managed, "Parameters");
    for name in ["Conditions", "Rules", "Outputs"] {
        let (main, managed) = section_without(name, &[]);
        assert_eq!(main, managed, "{name}");
    }
    let globals = |t: &Value| t["Globals"]["Function"].as_mapping().cloned().unwrap();
    let mut managed_globals = globals(&managed_instances_template());
    for key in ["AutoPublishAlias", "CapacityProviderConfig"] {
        assert!(managed_globals.remove(key).is_some(), "Globals.Function.{key}");
    }
    managed_globals.insert("MemorySize".into(), 128.into());
    assert_eq!(globals(&template()), managed_globals, "Globals.Function");

    let (main, managed) = section_without("Resources", &["ManagedInstances"]);
    assert_eq!(main.len(), managed.len());
    for (id, resource) in &main {
        let mut counterpart = managed[id].clone();
        if resource["Type"] == "AWS::Serverless::Function" {
            // Only the reason for running in a VPC differs.
            let skips = |r: &mut Value| {
                r["Metadata"]["checkov"]["skip"].as_sequence_mut().map(std::mem::take)
            };
            let mut main_function = resource.clone();
            let (a, b) = (skips(&mut main_function).unwrap(), skips(&mut counterpart).unwrap());
            let ids = |s: &[Value]| s.iter().map(|skip| skip["id"].clone()).collect::<Vec<_>>();
            assert_eq!(ids(&a), ids(&b), "{id:?}: checkov skips");
            assert_eq!(main_function, counterpart, "{id:?}");
        } else {
            assert_eq!(resource, &counterpart, "{id:?}");
        }
    }
}

/// What Lambda Managed Instances require of a function, and what this
/// project sets: 2 GB or more, published versions, JSON logs, the capacity
/// provider with the concurrency that becomes AWS_LAMBDA_MAX_CONCURRENCY,
/// and instances of the functions' architecture in the user's subnets.
#[test]
fn managed_instances_run_published_versions_with_2_gb_json_logs_and_the_set_concurrency() {
    let template = managed_instances_template();
    let globals = &template["Globals"]["Function"];
    assert!(
        globals["MemorySize"].as_u64().is_some_and(|m| m >= 2048),
        "{:?}",
        globals["MemorySize"]
    );
    assert_eq!(globals["AutoPublishAlias"], "live");
    let config = &globals["CapacityProviderConfig"];
    assert!(is_ref(
        &config["PerExecutionEnvironmentMaxConcurrency"],
        "PerExecutionEnvironmentMaxConcurrency"
    ));
    let mut arn = Vec::new();
    strings_in(&config["Arn"], &mut arn);
    assert!(arn.iter().any(|s| s.contains(":capacity-provider:${ManagedInstances}")), "{arn:?}");
    for (id, function) in functions(&template) {
        assert_eq!(function["Properties"]["LoggingConfig"]["LogFormat"], "JSON", "{id}");
        assert!(function["Properties"].get("VpcConfig").is_none(), "{id}");
    }
    let provider = &resources(&template)["ManagedInstances"];
    assert_eq!(provider["Type"], "AWS::Serverless::CapacityProvider");
    let properties = &provider["Properties"];
    assert!(is_ref(&properties["VpcConfig"]["SubnetIds"], "ManagedInstancesSubnetIds"));
    assert!(is_ref(
        &properties["VpcConfig"]["SecurityGroupIds"],
        "ManagedInstancesSecurityGroupIds"
    ));
    assert!(is_ref(&properties["InstanceRequirements"]["Architectures"][0], "Architecture"));
    assert!(is_ref(&properties["ScalingConfig"]["MaxVCpuCount"], "ManagedInstancesMaxVCpuCount"));
}

#[tokio::test]
async fn the_idempotency_table_expires_records_and_matches_the_tests_table() {
    let template = template();
    let table = &resources(&template)["IdempotencyTable"]["Properties"];
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(table["TimeToLiveSpecification"]["AttributeName"], "ExpiresAt");
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    let client = client();
    let name = dynamodb_local::fresh_idempotency_table(&client).await;
    let described = client.describe_table().table_name(&name).send().await.unwrap();
    let local_keys: Vec<(String, String)> = described
        .table
        .unwrap()
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_owned(), k.key_type().as_str().to_owned()))
        .collect();
    assert_eq!(local_keys, key_schema(&table["KeySchema"]));
}

#[test]
fn write_safety_is_configured_from_parameters_off_by_default() {
    let template = template();
    let variables = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(is_ref(&variables["IDEMPOTENCY_TABLE_NAME"], "IdempotencyTable"));
    assert!(is_ref(&variables["IDEMPOTENCY_RETENTION_HOURS"], "IdempotencyRetentionHours"));
    assert!(is_ref(&variables["REQUIRE_IF_MATCH"], "RequireIfMatch"));
    let parameters = &template["Parameters"];
    assert_eq!(parameters["RequireIfMatch"]["Default"], "false");
    assert_eq!(parameters["IdempotencyRetentionHours"]["Default"].as_u64(), Some(24));
    // The range the functions accept (shared/src/config.rs).
    assert_eq!(parameters["IdempotencyRetentionHours"]["MinValue"].as_u64(), Some(1));
    assert_eq!(parameters["IdempotencyRetentionHours"]["MaxValue"].as_u64(), Some(8760));
}
