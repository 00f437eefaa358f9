//! End to end: HTTP requests to the three functions served by `cargo lambda
//! watch` with the router of Cargo.toml, on DynamoDB Local — the stack README
//! command 1 runs. Tests share one API and table, so each uses ids (and job
//! titles) of its own.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::AttributeValue;
use employee_api_tests::dynamodb_local;
use employee_api_tests::lambda_watch::{LocalApi, local_api};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

struct Api {
    local: &'static LocalApi,
    http: Client,
}

fn api() -> Api {
    Api { local: local_api(), http: employee_api_tests::http() }
}

impl Api {
    async fn get(&self, path: &str) -> Response {
        self.http.get(self.local.url(path)).send().await.unwrap()
    }

    async fn post(&self, body: Value) -> Response {
        self.http.post(self.local.url("/employees")).json(&body).send().await.unwrap()
    }

    async fn put(&self, path: &str, body: Value) -> Response {
        self.http.put(self.local.url(path)).json(&body).send().await.unwrap()
    }

    async fn delete(&self, path: &str) -> Response {
        self.http.delete(self.local.url(path)).send().await.unwrap()
    }
}

async fn expect(response: Response, status: u16) -> Value {
    let actual = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(actual.as_u16(), status, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn expect_error(response: Response, status: u16, code: &str) -> Value {
    let body = expect(response, status).await;
    assert_eq!(body["error"], code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    body
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_employee_goes_through_its_whole_life_over_http() {
    let api = api();
    let created = api.post(json!({"employee": "life-1", "jobTitle": "Engineer"})).await;
    assert_eq!(created.headers()["location"], "/employees/life-1");
    assert_eq!(expect(created, 201).await, json!({"employee": "life-1", "jobTitle": "Engineer"}));

    let read = expect(api.get("/employees/life-1").await, 200).await;
    assert_eq!(read, json!({"employee": "life-1", "jobTitle": "Engineer"}));

    let replaced = api.put("/employees/life-1", json!({"jobTitle": "Staff Engineer"})).await;
    assert_eq!(
        expect(replaced, 200).await,
        json!({"employee": "life-1", "jobTitle": "Staff Engineer"})
    );

    let removed = expect(api.delete("/employees/life-1").await, 200).await;
    assert_eq!(removed, json!({"employee": "life-1", "jobTitle": "Staff Engineer"}));

    expect_error(api.get("/employees/life-1").await, 404, "EmployeeDoesNotExist").await;
    expect_error(api.delete("/employees/life-1").await, 404, "EmployeeDoesNotExist").await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn adding_an_existing_employee_returns_409_and_keeps_the_original() {
    let api = api();
    expect(api.post(json!({"employee": "dup-1", "jobTitle": "Engineer"})).await, 201).await;
    expect_error(
        api.post(json!({"employee": "dup-1", "jobTitle": "Impostor"})).await,
        409,
        "EmployeeAlreadyExists",
    )
    .await;
    let kept = expect(api.get("/employees/dup-1").await, 200).await;
    assert_eq!(kept["jobTitle"], "Engineer");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn thirty_two_concurrent_posts_of_one_id_give_one_201_and_31_409s() {
    let api = api();
    let requests = (0..32).map(|n| {
        let http = api.http.clone();
        let url = api.local.url("/employees");
        tokio::spawn(async move {
            http.post(url)
                .json(&json!({"employee": "race-1", "jobTitle": format!("Title {n}")}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let mut statuses = Vec::new();
    for request in requests.collect::<Vec<_>>() {
        statuses.push(request.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    assert_eq!((created, conflicts), (1, 31), "{statuses:?}");
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn put_creates_with_201_and_location_then_replaces_with_200() {
    let api = api();
    let created = api.put("/employees/put-1", json!({"jobTitle": "Engineer"})).await;
    assert_eq!(created.headers()["location"], "/employees/put-1");
    expect(created, 201).await;
    let replaced =
        api.put("/employees/put-1", json!({"employee": "put-1", "jobTitle": "Manager"})).await;
    expect(replaced, 200).await;
    expect_error(
        api.put("/employees/put-1", json!({"employee": "other", "jobTitle": "Manager"})).await,
        400,
        "ValidationError",
    )
    .await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn ids_with_reserved_characters_round_trip_through_the_path() {
    let api = api();
    let created = api.post(json!({"employee": "Zoë A%#1", "jobTitle": "Engineer"})).await;
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/employees/Zo%C3%AB%20A%25%231");
    expect(created, 201).await;
    let read = expect(api.get(&location).await, 200).await;
    assert_eq!(read["employee"], "Zoë A%#1");
    expect(api.delete(&location).await, 200).await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn ids_that_look_encoded_reach_their_own_record_and_never_a_decoy() {
    // The sequence a percent-decoding door used to get wrong (a%41 read as aA).
    let api = api();
    let real = api.post(json!({"employee": "w-a%41", "jobTitle": "Real"})).await;
    let location = real.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/employees/w-a%2541");
    expect(real, 201).await;
    expect(api.post(json!({"employee": "w-aA", "jobTitle": "Decoy"})).await, 201).await;
    let read = expect(api.get(&location).await, 200).await;
    assert_eq!(read, json!({"employee": "w-a%41", "jobTitle": "Real"}));
    let removed = expect(api.delete(&location).await, 200).await;
    assert_eq!(removed["employee"], "w-a%41");
    let decoy = expect(api.get("/employees/w-aA").await, 200).await;
    assert_eq!(decoy["jobTitle"], "Decoy");

    for id in ["w-100%", "w-x%2541", "w-a+b", "w-ü ñ"] {
        let created = api.post(json!({"employee": id, "jobTitle": "Real"})).await;
        let location = created.headers()["location"].to_str().unwrap().to_owned();
        expect(created, 201).await;
        assert_eq!(expect(api.get(&location).await, 200).await["employee"], id, "{location}");
        let replaced = expect(api.put(&location, json!({"jobTitle": "Replaced"})).await, 200).await;
        assert_eq!(replaced, json!({"employee": id, "jobTitle": "Replaced"}), "{location}");
        assert_eq!(expect(api.delete(&location).await, 200).await["employee"], id, "{location}");
        expect_error(api.get(&location).await, 404, "EmployeeDoesNotExist").await;
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn an_id_api_gateway_would_cut_short_is_refused_over_http() {
    let api = api();
    let refused = expect_error(
        api.post(json!({"employee": "w-a?b", "jobTitle": "x"})).await,
        400,
        "ValidationError",
    )
    .await;
    assert!(refused["message"].as_str().unwrap().contains("API Gateway"), "{refused}");
    expect_error(
        api.put("/employees/w-a%3Fb", json!({"jobTitle": "x"})).await,
        400,
        "ValidationError",
    )
    .await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn listing_by_job_title_pages_through_each_employee_once() {
    let api = api();
    let title = "Pager Title";
    let mut expected = BTreeSet::new();
    for n in 0..7 {
        let id = format!("page-{n}");
        expect(api.post(json!({"employee": id, "jobTitle": title})).await, 201).await;
        expected.insert(id);
    }
    let mut seen = Vec::new();
    let mut path = "/employees?jobTitle=Pager%20Title&limit=3".to_owned();
    for _ in 0..10 {
        let page = expect(api.get(&path).await, 200).await;
        for e in page["employees"].as_array().unwrap() {
            assert_eq!(e["jobTitle"], title);
            seen.push(e["employee"].as_str().unwrap().to_owned());
        }
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!("/employees?jobTitle=Pager%20Title&limit=3&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn listing_without_a_filter_returns_a_page_and_a_cursor() {
    let api = api();
    for n in 0..3 {
        api.post(json!({"employee": format!("any-{n}"), "jobTitle": "Any"})).await;
    }
    let page = expect(api.get("/employees?limit=2").await, 200).await;
    assert_eq!(page["employees"].as_array().unwrap().len(), 2);
    assert!(page["nextCursor"].is_string());
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn bad_listing_queries_are_400() {
    let api = api();
    for path in [
        "/employees?limit=0",
        "/employees?limit=101",
        "/employees?limit=ten",
        "/employees?cursor=not-a-cursor",
        "/employees?jobTitle=%20padded",
        "/employees?jobtitle=Engineer",
    ] {
        expect_error(api.get(path).await, 400, "ValidationError").await;
    }
    // A real cursor from an unfiltered listing, replayed on a filtered one.
    for n in 0..2 {
        api.post(json!({"employee": format!("cur-{n}"), "jobTitle": "Cursor"})).await;
    }
    let page = expect(api.get("/employees?limit=1").await, 200).await;
    let cursor = page["nextCursor"].as_str().unwrap();
    expect_error(
        api.get(&format!("/employees?jobTitle=Cursor&cursor={cursor}")).await,
        400,
        "ValidationError",
    )
    .await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn bad_bodies_are_refused_and_nothing_is_written() {
    let api = api();
    let cases: Vec<(&str, Option<&str>, u16, &str)> = vec![
        (r#"{"employee":"bad-1"}"#, Some("application/json"), 400, "ValidationError"),
        (
            r#"{"employee":"bad-1","jobTitle":"x","extra":1}"#,
            Some("application/json"),
            400,
            "ValidationError",
        ),
        (
            r#"{"employee":"bad-1","jobTitle":" x"}"#,
            Some("application/json"),
            400,
            "ValidationError",
        ),
        (r#"{"employee":"bad-1","jobTitle":"#, Some("application/json"), 400, "ValidationError"),
        ("[]", Some("application/json"), 400, "ValidationError"),
        (r#"{"employee":"bad-1","jobTitle":"x"}"#, Some("text/plain"), 415, "UnsupportedMediaType"),
    ];
    for (body, content_type, status, code) in cases {
        let mut request = api.http.post(api.local.url("/employees")).body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        expect_error(request.send().await.unwrap(), status, code).await;
    }
    let too_big = json!({"employee": "bad-1", "jobTitle": "x".repeat(17 * 1024)});
    expect_error(api.post(too_big).await, 413, "PayloadTooLarge").await;
    expect_error(api.get("/employees/bad-1").await, 404, "EmployeeDoesNotExist").await;
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn invalid_ids_in_the_path_are_400() {
    let api = api();
    for path in ["/employees/%20padded", "/employees/a%2Fb", "/employees/%07bell"] {
        expect_error(api.get(path).await, 400, "ValidationError").await;
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn items_written_by_another_client_are_served_unchanged() {
    let api = api();
    let client = dynamodb_local::client();
    // As the original sample's state machines wrote them, plus an attribute
    // this project does not know.
    client
        .put_item()
        .table_name(&api.local.table)
        .item("EmployeeId", AttributeValue::S("legacy-1".into()))
        .item("JobTitle", AttributeValue::S("Legacy Title".into()))
        .item("Badge", AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    let read = expect(api.get("/employees/legacy-1").await, 200).await;
    assert_eq!(read, json!({"employee": "legacy-1", "jobTitle": "Legacy Title"}));
    let listed = expect(api.get("/employees?jobTitle=Legacy%20Title").await, 200).await;
    assert_eq!(listed["employees"], json!([{"employee": "legacy-1", "jobTitle": "Legacy Title"}]));
}

/// What an event in `events/` must get.
enum Outcome {
    /// An HTTP response with this status.
    Status(u16),
    /// A direct invocation's output (the state machine's output).
    Output(&'static str),
    /// A direct invocation's function error, by `errorType`.
    Error(&'static str),
}

use Outcome::{Error, Output, Status};

/// Every file in `events/`, the function it is for, and what it must get, in
/// an order that makes each outcome certain (ids 42–49 are used only here).
const EVENTS: &[(&str, &str, Outcome)] = &[
    ("get-employee.json", "get-employee", Status(200)),
    ("get-employee-missing.json", "get-employee", Status(404)),
    ("sam-generated-get-employee.json", "get-employee", Status(200)),
    ("list-employees.json", "get-employee", Status(200)),
    ("list-employees-by-job-title.json", "get-employee", Status(200)),
    ("list-employees-bad-limit.json", "get-employee", Status(400)),
    (
        "direct-get-employee.json",
        "get-employee",
        Output(r#"{"employee":"42","jobTitle":"Engineer"}"#),
    ),
    ("direct-get-employee-missing.json", "get-employee", Error("EmployeeDoesNotExist")),
    ("add-employee.json", "add-employee", Status(201)),
    ("add-employee-duplicate.json", "add-employee", Status(409)),
    ("add-employee-bad-body.json", "add-employee", Status(400)),
    ("add-employee-base64.json", "add-employee", Status(201)),
    ("sam-generated-add-employee.json", "add-employee", Status(201)),
    ("put-employee.json", "add-employee", Status(201)),
    ("sam-generated-put-employee.json", "add-employee", Status(201)),
    (
        "direct-add-employee.json",
        "add-employee",
        Output(r#"{"employee":"49","jobTitle":"Engineer"}"#),
    ),
    ("direct-add-employee-duplicate.json", "add-employee", Error("EmployeeAlreadyExists")),
    ("remove-employee.json", "remove-employee", Status(200)),
    ("remove-employee-missing.json", "remove-employee", Status(404)),
    ("sam-generated-remove-employee.json", "remove-employee", Status(200)),
    (
        "direct-remove-employee.json",
        "remove-employee",
        Output(r#"{"employee":"49","jobTitle":"Engineer"}"#),
    ),
    ("direct-remove-employee-missing.json", "remove-employee", Error("EmployeeDoesNotExist")),
];

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test]
async fn every_event_file_gets_its_expected_outcome_through_cargo_lambda_invoke() {
    let api = api();
    expect(api.post(json!({"employee": "42", "jobTitle": "Engineer"})).await, 201).await;
    let mut files: Vec<String> =
        std::fs::read_dir(employee_api_tests::workspace_root().join("events"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            // events/doors/ holds the door fixtures (doors.rs).
            .filter(|name| name.ends_with(".json"))
            .collect();
    files.sort();
    let mut covered: Vec<String> = EVENTS.iter().map(|(f, _, _)| (*f).to_owned()).collect();
    covered.sort();
    assert_eq!(files, covered, "every event file needs an expected outcome here");

    for (event, function, outcome) in EVENTS {
        // Blocking is fine: nothing else runs on this test's runtime.
        let result = api.local.invoke(function, event);
        match (outcome, result) {
            (Status(status), Ok(output)) => {
                assert_eq!(output["statusCode"], *status, "{event}: {output}");
                let body: Value = serde_json::from_str(output["body"].as_str().unwrap()).unwrap();
                if *status >= 400 {
                    assert!(body["error"].is_string(), "{event}: {body}");
                }
            }
            (Output(expected), Ok(output)) => {
                assert_eq!(output, serde_json::from_str::<Value>(expected).unwrap(), "{event}");
            }
            (Error(expected), Err(error_type)) => assert_eq!(error_type, *expected, "{event}"),
            (_, result) => panic!("{event}: unexpected {result:?}"),
        }
    }
}
