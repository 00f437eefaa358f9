//! The `employees` command against the local API (`cargo lambda watch` on
//! DynamoDB Local), over HTTP and over HTTPS with a test authority: every
//! command, every exit code, what it sends for each kind of authorization.

mod support;

use employee_api_tests::lambda_watch::local_api;
use employee_api_tests::tls_proxy;
use support::*;

/// The local API, for every run of a test.
fn local() -> [(&'static str, &'static str); 1] {
    [("EMPLOYEES_URL", local_api().base_url.as_str())]
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn every_write_command_and_its_refusals() {
    let env = local();
    let id = unique("cli");

    let added = ok(&["add", &id, "Engineer"], &env);
    assert_eq!(added["employee"], id.as_str());
    assert_eq!(added["jobTitle"], "Engineer");
    let etag = added["etag"].as_str().expect("an ETag").to_owned();
    refused(&["add", &id, "Engineer"], &env, "EmployeeAlreadyExists");

    let read = ok(&["get", &id], &env);
    assert_eq!(read, added, "get shows what add wrote, with the same ETag");

    refused(&["put", &id, "Lead", "--if-match", "\"v1\""], &env, "PreconditionFailed");
    refused(&["put", &id, "Lead", "--if-absent"], &env, "PreconditionFailed");
    let replaced = ok(&["put", &id, "Lead", "--if-match", &etag], &env);
    assert_eq!(replaced["jobTitle"], "Lead");
    assert_ne!(replaced["etag"], etag.as_str());

    let updated = ok(&["update", &id, "--job-title", "Director"], &env);
    assert_eq!(updated["jobTitle"], "Director");

    refused(&["remove", &id, "--if-match", &etag], &env, "PreconditionFailed");
    let removed = ok(&["remove", &id, "--if-match", updated["etag"].as_str().unwrap()], &env);
    assert_eq!(removed, serde_json::json!({"employee": id, "jobTitle": "Director"}));
    refused(&["get", &id], &env, "EmployeeDoesNotExist");
    refused(&["remove", &id], &env, "EmployeeDoesNotExist");

    // The API's own validation reaches the terminal as its code.
    refused(&["add", "a/b", "Engineer"], &env, "ValidationError");
    refused(&["add", &id, " padded "], &env, "ValidationError");

    // An id that needs encoding arrives intact and is read back.
    let odd = format!("Zoë A+%#&=;{}", unique(""));
    ok(&["add", &odd, "Engineer"], &env);
    assert_eq!(ok(&["get", &odd], &env)["employee"], odd.as_str());
    ok(&["put", &odd, "R&D / Ops", "--if-match", "*"], &env);
    assert_eq!(ok(&["get", &odd], &env)["jobTitle"], "R&D / Ops");
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn list_pages_and_follows_every_page() {
    let env = local();
    let title = format!("Tester {}", unique("t"));
    let mut ids: Vec<String> = (0..3).map(|i| unique(&format!("list{i}"))).collect();
    for id in &ids {
        ok(&["add", id, &title], &env);
    }
    let first = ok(&["list", "--job-title", &title, "--limit", "2"], &env);
    assert_eq!(first["employees"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["nextCursor"].as_str().expect("a next page").to_owned();
    let second = ok(&["list", "--job-title", &title, "--limit", "2", "--cursor", &cursor], &env);
    assert_eq!(second["nextCursor"], serde_json::Value::Null, "{second}");
    let all = ok(&["list", "--job-title", &title, "--limit", "1", "--all"], &env);
    let mut listed: Vec<String> = all["employees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["jobTitle"], title.as_str());
            e["employee"].as_str().unwrap().to_owned()
        })
        .collect();
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);
    refused(&["list", "--limit", "1000"], &env, "ValidationError");
    refused(&["list", "--cursor", "not-a-cursor"], &env, "ValidationError");
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn tables_for_people() {
    let env = local();
    let id = unique("table");
    let run = employees(&["--output", "table", "add", &id, "Engineer"], &env);
    assert_eq!(run.code, 0, "{run:?}");
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(
        lines[0].starts_with("EMPLOYEE")
            && lines[0].contains("JOB TITLE")
            && lines[0].ends_with("ETAG")
    );
    assert!(lines[1].starts_with(&id) && lines[1].contains("Engineer"), "{run:?}");
    let list =
        employees(&["--output", "table", "list", "--job-title", "Engineer", "--limit", "1"], &env);
    assert_eq!(list.code, 0, "{list:?}");
    assert!(list.stdout.lines().last().unwrap().starts_with("(more: --cursor "), "{list:?}");
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn usage_and_unavailability_have_their_exit_codes() {
    // 2: usage, or a client that cannot be set up.
    let run = employees(&["get", "42"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--url URL or --stack NAME"), "{run:?}");
    let run = employees(&["--url", "http://127.0.0.1:9", "get"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let run = employees(&["--url", "http://127.0.0.1:9", "--auth", "jwt", "get", "42"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("EMPLOYEES_TOKEN"), "{run:?}");
    let run = employees(&["--url", "not a url", "get", "42"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let run =
        employees(&["--url", "https://abc.execute-api.eu-west-1.amazonaws.com", "get", "42"], &[]);
    assert_eq!(run.code, 2, "no credentials for the default --auth iam: {run:?}");
    assert!(run.stderr.contains("no AWS credentials"), "{run:?}");

    // 3: nothing answers, every attempt fails.
    let port = employee_api_tests::process::free_port().to_string();
    let run = employees(&["--url", &format!("http://127.0.0.1:{port}"), "get", "42"], &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("unavailable after 5 attempt(s)"), "{run:?}");

    // Every command explains itself, with an example.
    for command in ["get", "list", "add", "put", "update", "remove"] {
        let help = employees(&[command, "--help"], &[]);
        assert_eq!(help.code, 0, "{help:?}");
        assert!(help.stdout.contains("Example:\n  employees "), "{command}: {help:?}");
    }
    let help = employees(&["--help"], &[]);
    assert!(help.stdout.contains("Exit codes: 0 done, 1 the API refused"), "{help:?}");
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn https_with_the_authority_in_ssl_cert_file() {
    let dir = std::env::temp_dir().join(unique("employees-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let proxy = tls_proxy::start(&local_api().base_url, &dir).expect("the TLS endpoint starts");
    let ca = proxy.ca_file.display().to_string();
    let id = unique("tls");
    let trusted = [("EMPLOYEES_URL", proxy.endpoint.as_str()), ("SSL_CERT_FILE", ca.as_str())];
    ok(&["add", &id, "Engineer"], &trusted);
    assert_eq!(ok(&["get", &id], &trusted)["jobTitle"], "Engineer");

    // Without the authority the certificate is refused, at once.
    let started = std::time::Instant::now();
    let run = employees(&["get", &id], &[("EMPLOYEES_URL", proxy.endpoint.as_str())]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr.contains("cannot reach the API securely") && run.stderr.contains("certificate"),
        "{run:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "not retried: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_jwt_goes_as_a_bearer_token() {
    let (port, request) = capture_one(200, r#"{"employee":"j","jobTitle":"T"}"#);
    let url = format!("http://127.0.0.1:{port}/prod");
    let shown =
        ok(&["--url", &url, "--auth", "jwt", "get", "j"], &[("EMPLOYEES_TOKEN", "eyJ.token.sig")]);
    assert_eq!(shown, serde_json::json!({"employee": "j", "jobTitle": "T", "etag": "\"v1\""}));
    let request = request.join().unwrap();
    assert_eq!((request.method.as_str(), request.target.as_str()), ("GET", "/prod/employees/j"));
    assert_eq!(request.header("authorization"), Some("Bearer eyJ.token.sig"));

    // A loopback URL goes unsigned by default.
    let (port, request) = capture_one(200, r#"{"employee":"j","jobTitle":"T"}"#);
    ok(&["--url", &format!("http://localhost:{port}"), "get", "j"], &[]);
    assert_eq!(request.join().unwrap().header("authorization"), None);
}

#[test]
fn writes_carry_one_idempotency_key_and_a_json_body() {
    let (port, request) = capture_one(201, r#"{"employee":"k","jobTitle":"T"}"#);
    ok(&["--url", &format!("http://127.0.0.1:{port}"), "add", "k", "T"], &[]);
    let request = request.join().unwrap();
    assert_eq!((request.method.as_str(), request.target.as_str()), ("POST", "/employees"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let key = request.header("idempotency-key").expect("an Idempotency-Key");
    assert_eq!(key.len(), 36, "a UUID: {key}");
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body, serde_json::json!({"employee": "k", "jobTitle": "T"}));
}
