//! `--stack`: the API found by its stack's `ApiUrl` output (CloudFormation
//! `DescribeStacks`), against moto's server as a local CloudFormation
//! (`AWS_ENDPOINT_URL_CLOUDFORMATION`, as every AWS SDK reads it).

mod support;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use employee_api_tests::lambda_watch::local_api;
use employee_api_tests::workspace_root;
use support::*;

const REGION: &str = "us-east-1";

/// moto's server on a port of its own, stopped on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Self {
        let bin = workspace_root().join(".tools/moto-venv/bin");
        let server = bin.join("moto_server");
        assert!(
            server.is_file(),
            "{} is missing: run ./scripts/install-tools.sh",
            server.display()
        );
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(std::env::temp_dir().join(format!("moto-{port}.log")))
            .expect("moto's log");
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("moto_server starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("moto_server exited ({status}): see {}", std::env::temp_dir().display());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// A stack with one placeholder resource and, if given, `ApiUrl`.
    fn create_stack(&self, name: &str, api_url: Option<&str>) {
        let outputs = match api_url {
            Some(url) => serde_json::json!({"ApiUrl": {"Value": url}}),
            None => serde_json::json!({"TableName": {"Value": "Employees"}}),
        };
        let template = serde_json::json!({
            "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": outputs,
        });
        let script = "import boto3, sys\n\
            boto3.client('cloudformation', region_name=sys.argv[1], endpoint_url=sys.argv[2])\
            .create_stack(StackName=sys.argv[3], TemplateBody=sys.argv[4])\n";
        let python = workspace_root().join(".tools/moto-venv/bin/python");
        let output = Command::new(python)
            .args(["-c", script, REGION, &self.endpoint, name, &template.to_string()])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .stdin(Stdio::null())
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "create_stack: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// What the CLI needs to reach this CloudFormation, with credentials.
    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn the_api_is_found_by_its_stacks_output() {
    let moto = Moto::start();
    let stack = unique("employee-api");
    moto.create_stack(&stack, Some(&local_api().base_url));
    let id = unique("stack");
    let mut env = moto.env();
    env.push(("AWS_REGION", REGION));

    let created = ok(&["--stack", &stack, "--output", "json", "add", &id, "Engineer"], &env);
    assert_eq!(created["employee"], id.as_str());
    let shown = ok(&["--stack", &stack, "--output", "json", "get", &id], &env);
    assert_eq!(shown["jobTitle"], "Engineer");
    assert_eq!(shown["etag"], created["etag"]);
    ok(&["--stack", &stack, "remove", &id], &env);
    refused(&["--stack", &stack, "get", &id], &env, "EmployeeDoesNotExist");
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn a_stack_is_called_signed_for_its_region() {
    let moto = Moto::start();
    let stack = unique("signed");
    let (port, request) = capture_one(200, r#"{"employee":"j","jobTitle":"T"}"#);
    moto.create_stack(&stack, Some(&format!("http://127.0.0.1:{port}/prod")));

    ok(&["--stack", &stack, "--region", REGION, "--output", "json", "get", "j"], &moto.env());
    let request = request.join().unwrap();
    assert_eq!(request.target, "/prod/employees/j");
    let authorization = request.header("authorization").expect("--stack signs by default");
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
            && authorization.contains(&format!("/{REGION}/execute-api/aws4_request")),
        "{authorization}"
    );
}

#[test]
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
fn a_missing_stack_or_output_is_a_set_up_error() {
    let moto = Moto::start();
    let env = moto.env();
    let missing = unique("missing");
    let run = employees(&["--stack", &missing, "--region", REGION, "get", "j"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains(&format!("{missing:?}")) && run.stderr.contains("does not exist"),
        "{run:?}"
    );
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "one sentence: {run:?}");

    let bare = unique("bare");
    moto.create_stack(&bare, None);
    let run = employees(&["--stack", &bare, "--region", REGION, "get", "j"], &env);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("has no ApiUrl output"), "{run:?}");
}
