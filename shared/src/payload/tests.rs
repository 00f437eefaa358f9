//! Reading payloads exactly as the Lambda runtime reads them.

use super::*;
use serde_json::json;

/// Read the way the Lambda runtime reads a payload.
fn read(payload: serde_json::Value) -> Payload {
    let bytes = serde_json::to_vec(&payload).unwrap();
    let jd = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(jd).expect("every JSON payload is read")
}

fn http(payload: serde_json::Value) -> Result<HttpEvent, String> {
    match read(payload) {
        Payload::Http(event) => event,
        other => panic!("not read as HTTP: {other:?}"),
    }
}

#[test]
fn an_http_event_keeps_what_the_api_reads() {
    let event = http(json!({
        "version": "2.0",
        "routeKey": "GET /employees/{employeeId}",
        "rawPath": "/employees/42",
        "rawQueryString": "a=1",
        "headers": {"Content-Type": "application/json", "x-other": "1", "If-Match": "\"v1\"",
            "if-none-match": "*", "IDEMPOTENCY-KEY": "k"},
        "pathParameters": {"employeeId": "42", "other": "x"},
        "requestContext": {"http": {"method": "GET", "path": "/employees/42"}, "requestId": "r"},
        "body": "{}",
        "isBase64Encoded": false,
        "cookies": ["a"]
    }))
    .unwrap();
    assert_eq!(event.method, "GET");
    assert_eq!(event.raw_path, "/employees/42");
    assert_eq!(event.employee_id_parameter.as_deref(), Some("42"));
    assert_eq!(event.query, Query::Raw("a=1".into()));
    assert_eq!(event.headers.content_type.as_deref(), Some("application/json"));
    assert_eq!(event.headers.if_match.as_deref(), Some("\"v1\""));
    assert_eq!(event.headers.if_none_match.as_deref(), Some("*"));
    assert_eq!(event.headers.idempotency_key.as_deref(), Some("k"));
    assert_eq!(event.body.as_deref(), Some("{}"));
    assert!(!event.is_base64_encoded);
}

#[test]
fn missing_fields_take_their_defaults() {
    let event = http(json!({"requestContext": {"http": {"method": "GET", "path": "/p"}},
        "queryStringParameters": {"limit": "2"}, "pathParameters": null, "body": null}))
    .unwrap();
    assert_eq!(event.raw_path, "/p");
    assert_eq!(event.query, Query::Parameters(BTreeMap::from([("limit".into(), "2".into())])));
    assert_eq!((event.employee_id_parameter, event.body), (None, None));
}

#[test]
fn a_wrongly_typed_http_field_is_named_not_fatal() {
    let cases = [
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "rawPath": 5}),
            "rawPath: invalid type: integer `5`",
        ),
        (
            json!({"requestContext": {"http": {}}, "rawPath": "/"}),
            "requestContext.http: missing field `method`",
        ),
        (
            json!({"requestContext": {"http": {"method": 7}}}),
            "requestContext.http.method: invalid type: integer",
        ),
        (json!({"requestContext": {"http": "GET"}}), "requestContext.http: invalid type: string"),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "headers": {"Content-Type": 1}}),
            "headers.content-type: invalid type: integer",
        ),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "headers": [1, {"a": 2}]}),
            "headers: invalid type: sequence",
        ),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "rawQueryString": null, "queryStringParameters": {"a": {}}}),
            "queryStringParameters.a: invalid type: map",
        ),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "isBase64Encoded": "yes"}),
            "isBase64Encoded: invalid type: string",
        ),
    ];
    for (payload, expected) in cases {
        let err = http(payload.clone()).unwrap_err();
        assert!(err.starts_with(expected), "{payload}: {err}");
    }
}

#[test]
fn anything_without_a_request_context_object_is_a_direct_input() {
    let Payload::Direct(input) = read(json!({"employee": "42", "step": 3})) else { panic!() };
    assert_eq!(input.field("employee", &input.employee), Ok("42"));
    assert_eq!(input.idempotency_key, None);
    let Payload::Direct(keyed) = read(json!({"employee": "42", "idempotencyKey": "k"})) else {
        panic!()
    };
    assert_eq!(keyed.idempotency_key, Some(Ok("k".into())));
    assert_eq!(input.field("jobTitle", &input.job_title), Err("missing field `jobTitle`".into()));
    let Payload::Direct(input) = read(json!({"employee": 42, "requestContext": "x"})) else {
        panic!()
    };
    let err = input.field("employee", &input.employee).unwrap_err();
    assert!(err.starts_with("employee: invalid type: integer `42`"), "{err}");
    for payload in [json!("42"), json!(null), json!([1]), json!(4.5), json!(true)] {
        let Payload::Direct(input) = read(payload.clone()) else { panic!("{payload}") };
        let err = input.field("employee", &input.employee).unwrap_err();
        assert!(err.ends_with("expected an object"), "{payload}: {err}");
    }
}

#[test]
fn a_repeated_key_keeps_its_last_value() {
    let bytes = br#"{"employee":"1","employee":"2"}"#;
    let Payload::Direct(input) = serde_json::from_slice(bytes).unwrap() else { panic!() };
    assert_eq!(input.employee, Some(Ok("2".into())));
}

/// Read from the bytes, as the runtime reads them (JSON a `Value` cannot hold).
fn read_text(text: &str) -> Payload {
    let jd = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(jd).expect("every JSON payload is read")
}

#[test]
fn json_serde_json_cannot_read_is_refused_by_the_door_it_came_through() {
    for text in [
        r#"{"employee":"\ud800"}"#,
        r#"{"employee":"42","jobTitle":1e999}"#,
        r#"1e999"#,
        r#""\udfff""#,
        r#"{"employee":"42","other":{"requestContext":{}},"idempotencyKey":"\ud800x"}"#,
    ] {
        let Payload::Direct(input) = read_text(text) else { panic!("{text}: not direct") };
        let why = input.field("employee", &input.employee).unwrap_err();
        assert!(why.contains("cannot be read as text or a number"), "{text}: {why}");
    }
    for text in [
        r#"{"requestContext":{"http":{"method":"GET"}},"rawPath":"/employees/\ud800"}"#,
        r#"{"rawPath":"/employees","body":"\udc00","requestContext":{"x":[1e999]}}"#,
        r#"{"requestContext":{"http":{"method":"POST"}},"body":"{}","headers":{"a":1e999},"isBase64Encoded":1e999}"#,
    ] {
        let Payload::Http(Err(why)) = read_text(text) else {
            panic!("{text}: not a refused event")
        };
        assert!(why.contains("cannot be read as text or a number"), "{text}: {why}");
    }
    // Fields nobody reads may hold anything.
    let Payload::Direct(input) = read_text(r#"{"employee":"42","other":"\ud800","n":1e999}"#)
    else {
        panic!("not direct")
    };
    assert_eq!(input.field("employee", &input.employee), Ok("42"));
}
