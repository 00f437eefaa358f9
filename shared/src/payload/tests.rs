//! Reading payloads exactly as the Lambda runtime reads them.

use super::*;
use serde_json::json;

/// Read from the bytes, as the runtime reads them (through
/// `serde_path_to_error`), including JSON a `Value` cannot hold.
fn read_text(text: &str) -> Payload {
    let jd = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(jd).expect("every JSON payload is read")
}

fn http(payload: serde_json::Value) -> Result<Box<ApiGatewayV2httpRequest>, String> {
    match read_text(&payload.to_string()) {
        Payload::Http(event) => event,
        other => panic!("not read as HTTP: {other:?}"),
    }
}

fn direct(text: &str) -> DirectInput {
    match read_text(text) {
        Payload::Direct(input) => input,
        other => panic!("{text}: not read as a direct input: {other:?}"),
    }
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
            "headers.Content-Type: data did not match any variant",
        ),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "headers": [1, {"a": 2}]}),
            "headers: invalid type: sequence",
        ),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "queryStringParameters": {"a": {}}}),
            "queryStringParameters.a: data did not match any variant",
        ),
        (
            json!({"requestContext": {"http": {"method": "GET"}}, "isBase64Encoded": "yes"}),
            "isBase64Encoded: invalid type: string",
        ),
    ];
    for (payload, expected) in cases {
        let err = http(payload.clone()).unwrap_err();
        assert!(err.starts_with(expected), "{payload}: {err}");
        assert!(!err.contains(" at line "), "{err}");
    }
}

#[test]
fn anything_without_a_request_context_object_is_a_direct_input() {
    let input = direct(r#"{"employee": "42", "step": 3, "other": {"requestContext": {}}}"#);
    assert_eq!(input.employee(), Ok("42"));
    assert_eq!(input.idempotency_key(), Ok(None));
    assert_eq!(input.job_title(), Err("missing field `jobTitle`".into()));
    let keyed = direct(r#"{"employee": "42", "idempotencyKey": "k", "requestContext": null}"#);
    assert_eq!(keyed.idempotency_key(), Ok(Some("k")));
    let err = direct(r#"{"employee": 42, "requestContext": "x"}"#).employee().unwrap_err();
    assert!(err.starts_with("employee: invalid type: integer `42`"), "{err}");
    // A field the state machines read is a string wherever it appears.
    let err = direct(r#"{"employee": "42", "jobTitle": 5}"#).employee().unwrap_err();
    assert!(err.starts_with("jobTitle: invalid type: integer `5`"), "{err}");
    for text in [r#""42""#, "null", "[1]", "4.5", "true", r#"  "{""#] {
        let err = direct(text).employee().unwrap_err();
        assert_eq!(err, "the input must be a JSON object", "{text}");
    }
}

#[test]
fn a_repeated_key_is_refused_by_name() {
    let err = direct(r#"{"employee":"1","employee":"2"}"#).employee().unwrap_err();
    assert_eq!(err, "duplicate field `employee`");
}

#[test]
fn json_serde_json_cannot_read_is_refused_by_the_door_it_came_through() {
    for text in [
        r#"{"employee":"\ud800"}"#,
        r#"{"employee":"42","jobTitle":1e999}"#,
        r#""\udfff""#,
        r#"{"employee":"42","other":{"requestContext":{}},"idempotencyKey":"\ud800x"}"#,
    ] {
        let why = direct(text).employee().unwrap_err();
        assert!(
            why.contains("cannot be read as text or a number") || why.contains("JSON object"),
            "{text}: {why}"
        );
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
    let input = direct(r#"{"employee":"42","other":"\ud800","n":1e999}"#);
    assert_eq!(input.employee(), Ok("42"));
}
