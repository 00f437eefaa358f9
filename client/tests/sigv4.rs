//! SigV4 checked against an independent implementation: botocore's
//! `SigV4Auth` (the Python SDK's signer, from the SAM CLI's virtualenv) for
//! the `execute-api` service. For fixed credentials, time, method, URL,
//! headers and body, its `Authorization` header must equal ours, byte for
//! byte; and a request the `employees` CLI really sent, captured on the wire,
//! must carry the signature botocore computes for it.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use employee_api_client::{Credentials, sign};
use serde_json::{Value, json};
use support::*;

fn botocore(cases: &[Value]) -> Vec<Value> {
    let cases: Vec<Value> = cases
        .iter()
        .map(|case| {
            let mut case = case.clone();
            case["service"] = json!(employee_api_client::sign::SERVICE);
            case
        })
        .collect();
    employee_api_tests::botocore::sign(&cases)
}

struct Case {
    method: &'static str,
    url: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    region: &'static str,
    token: Option<&'static str>,
}

const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str =
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/with=odd+chars";

const CASES: &[Case] = &[
    // An id that needs encoding: a space, an encoded slash, a non-ASCII
    // letter, and the unreserved `~` that must stay as it is.
    Case {
        method: "GET",
        url: "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/employees/J%20Doe%2F%C3%A9~x",
        headers: &[],
        body: b"",
        region: "eu-west-1",
        token: None,
    },
    // A query whose order and encoding the canonical form fixes.
    Case {
        method: "GET",
        url: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/employees?limit=10&jobTitle=Senior%20Engineer&cursor=eyJrIjoiYSJ9%3D%3D",
        headers: &[],
        body: b"",
        region: "us-east-1",
        token: Some(TOKEN),
    },
    // A conditional, keyed write with a body, under temporary credentials.
    Case {
        method: "PUT",
        url: "https://a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com/employees/42",
        headers: &[
            ("content-type", "application/json"),
            ("if-match", "\"3f2a9c\""),
            ("idempotency-key", "0b0e8f0c-5d7e-4c8e-9a1f-2f6f8f1d9c11"),
        ],
        body: br#"{"employee":"42","jobTitle":"Senior Engineer"}"#,
        region: "eu-central-1",
        token: Some(TOKEN),
    },
    // A stage in the path, a removal with long-lived credentials.
    Case {
        method: "DELETE",
        url: "https://a1b2c3d4e5.execute-api.ap-southeast-2.amazonaws.com/prod/employees/7",
        headers: &[("idempotency-key", "9c2d6c1e-0f4b-4d2a-8f7e-1b3a5c7d9e0f")],
        body: b"",
        region: "ap-southeast-2",
        token: None,
    },
    // A custom domain on a port: the port is part of the signed Host.
    Case {
        method: "POST",
        url: "http://api.example.test:8443/employees",
        headers: &[
            ("content-type", "application/json"),
            ("idempotency-key", "5e1c0d3a-7b2f-4e9d-a6c8-3f1e2d4b5a69"),
        ],
        body: br#"{"employee":"n","jobTitle":"T"}"#,
        region: "us-west-2",
        token: Some(TOKEN),
    },
];

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn the_signature_equals_botocores() {
    // 2026-03-01T12:34:56Z
    let time = UNIX_EPOCH + Duration::from_secs(1_772_368_496);
    let seconds = time.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let requests: Vec<Value> = CASES
        .iter()
        .map(|case| {
            json!({
                "method": case.method,
                "url": case.url,
                "headers": case.headers,
                "body": base64_of(case.body),
                "region": case.region,
                "access_key_id": ACCESS_KEY_ID,
                "secret": SECRET,
                "token": case.token,
                "time": seconds,
            })
        })
        .collect();
    let expected = botocore(&requests);
    for (case, expected) in CASES.iter().zip(expected) {
        let credentials =
            Credentials::new(ACCESS_KEY_ID, SECRET, case.token.map(str::to_owned), None, "test");
        let ours = sign::signature_headers(
            case.method,
            case.url,
            case.headers,
            case.body,
            &credentials,
            case.region,
            time,
        )
        .unwrap();
        let ours = |name: &str| ours.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(ours("authorization"), expected["authorization"].as_str(), "{}", case.url);
        assert_eq!(ours("x-amz-date"), Some("20260301T123456Z"));
        assert_eq!(ours("x-amz-date"), expected["x-amz-date"].as_str());
        assert_eq!(ours("x-amz-security-token"), case.token, "{}", case.url);
        assert_eq!(ours("x-amz-security-token"), expected["x-amz-security-token"].as_str());
    }
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn the_cli_sends_what_botocore_would_sign() {
    let (port, request) =
        capture_one(200, r#"{"employee":"J Doe/é","jobTitle":"Senior Engineer"}"#);
    let url = format!("http://127.0.0.1:{port}/prod");
    let credentials = [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", TOKEN),
    ];
    let before = SystemTime::now();
    ok(
        &[
            "--url",
            &url,
            "--auth",
            "iam",
            "--region",
            "eu-west-1",
            "--output",
            "json",
            "put",
            "J Doe/é",
            "Senior Engineer",
            "--if-match",
            "\"v0\"",
        ],
        &credentials,
    );
    let request = request.join().unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.target, "/prod/employees/J%20Doe%2F%C3%A9");

    let authorization = request.header("authorization").expect("a signed request");
    let signed = employee_api_tests::botocore::signed_headers(authorization);
    for name in [
        "content-type",
        "host",
        "idempotency-key",
        "if-match",
        "x-amz-date",
        "x-amz-security-token",
    ] {
        assert!(signed.iter().any(|s| s == name), "{name} is signed: {authorization}");
    }
    assert_eq!(request.header("x-amz-security-token"), Some(TOKEN));
    assert!(
        authorization.contains(&format!("Credential={ACCESS_KEY_ID}/"))
            && authorization.contains("/eu-west-1/execute-api/aws4_request"),
        "{authorization}"
    );

    let date = request.header("x-amz-date").expect("X-Amz-Date");
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| signed.contains(name) && name != "host")
        .cloned()
        .collect();
    let expected = botocore(&[json!({
        "method": request.method,
        "url": format!("http://127.0.0.1:{port}{}", request.target),
        "headers": headers,
        "body": base64_of(&request.body),
        "region": "eu-west-1",
        "access_key_id": ACCESS_KEY_ID,
        "secret": SECRET,
        "token": TOKEN,
        "amz_date": date,
    })]);
    assert_eq!(Some(authorization), expected[0]["authorization"].as_str());
    // Signed at the time of the run (the clock, not a fixed time).
    let signed_at = expected[0]["time"].as_u64().unwrap();
    let started = before.duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(signed_at + 1 >= started && signed_at <= started + 60, "{date}");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
