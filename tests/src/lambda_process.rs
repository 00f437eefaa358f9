//! One function process started as Lambda starts it (a fresh process with
//! Lambda's environment and nothing else, polling a Runtime API), and what
//! it wrote: the request log lines and the EMF documents, checked against
//! the invocations that were answered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::runtime_api::Answer;

/// A function binary of this workspace's debug build (the test command
/// builds them first).
pub fn debug_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/<test> → target/debug/<name>
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join(name))
        .expect("the target directory");
    assert!(
        binary.is_file(),
        "{} is missing: build the functions with `cargo build --workspace --bins` \
         (scripts/test.sh does)",
        binary.display()
    );
    binary
}

/// A function binary built with the `otel` feature (traces), which the
/// test command builds and keeps in `target/debug/otel/`.
pub fn traced_debug_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let binary = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("otel").join(name))
        .expect("the target directory");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `./scripts/build-traced.sh` (scripts/test.sh does)",
        binary.display()
    );
    binary
}

/// What Lambda sets in a function's environment (JSON logs, as the
/// template's `LoggingConfig` asks), and the runtime's address.
pub fn lambda_environment(name: &str, runtime_api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/test"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/28/[$LATEST]test"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("TZ", ":UTC"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A running function process; killed when dropped.
pub struct LambdaProcess {
    child: Child,
    pub log: PathBuf,
}

impl LambdaProcess {
    /// Starts `program` with `env` only (Lambda's environment and the
    /// function's own), its output going to `log`.
    pub fn start(program: &Path, env: &[(String, String)], log: &Path) -> Self {
        Self::spawn(Command::new(program), program, env, log)
    }

    /// As [`start`](Self::start), with `hosts` as the process's
    /// `/etc/hosts`: it runs in a mount namespace of its own (`unshare
    /// --mount`, util-linux) where that file is bound over `/etc/hosts`, so
    /// the names it lists resolve, for this process alone, to the addresses
    /// it gives (glibc's resolver reads the file before DNS). Needs root.
    pub fn start_with_hosts(
        program: &Path,
        env: &[(String, String)],
        log: &Path,
        hosts: &Path,
    ) -> Self {
        let tool = |name: &str| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .chain(["/usr/bin".into(), "/bin".into()])
                .map(|dir| dir.join(name))
                .find(|path| path.is_file())
                .unwrap_or_else(|| {
                    panic!("{name} is missing: install util-linux (apt-get install util-linux)")
                })
        };
        // `$0` is the hosts file, `$1` mount, the rest the program, which
        // `exec` makes the process itself (`unshare` does not fork).
        let script = r#"m="$1"; shift; "$m" --bind "$0" /etc/hosts && exec "$@""#;
        let mut command = Command::new(tool("unshare"));
        command.args(["--mount", "--"]).arg(tool("sh")).args(["-c", script]);
        command.arg(hosts).arg(tool("mount")).arg(program);
        Self::spawn(command, program, env, log)
    }

    /// Runs `command` (which starts `program`) with `env` only, its output
    /// going to `log`.
    fn spawn(mut command: Command, program: &Path, env: &[(String, String)], log: &Path) -> Self {
        let file = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let child = command
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("a log file handle"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Self { child, log: log.to_owned() }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit on its own: its exit
    /// status, or `None` if it still runs.
    pub fn wait_for_exit(
        &mut self,
        timeout: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= until {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Everything the function wrote so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What an invocation's log line and metrics document must say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `GET /employees/{employeeId}`…, or `invoke`.
    pub route: &'static str,
    pub status: u16,
    /// DynamoDB calls the invocation made (retries not counted).
    pub dynamodb_calls: u32,
}

/// One invocation's record in the function's output.
#[derive(Debug, Clone, Default)]
struct Seen {
    lines: Vec<Value>,
    documents: Vec<Value>,
}

/// Checks that every answered invocation has exactly one request log line
/// and one EMF document, both carrying its own request id and trace id and
/// the route, status and DynamoDB calls it should, and that no line or
/// document names an invocation that was not answered. Returns what is
/// wrong, one sentence per problem, and the DynamoDB attempts the lines
/// account for (calls plus retries).
pub fn misattributed(answered: &[(Answer, Expected)], output: &str) -> (Vec<String>, u64) {
    let mut seen: HashMap<String, Seen> = HashMap::new();
    let mut problems = Vec::new();
    for line in output.lines() {
        let Some(value) =
            line.find('{').and_then(|at| serde_json::from_str::<Value>(&line[at..]).ok())
        else {
            continue;
        };
        if value["_aws"]["CloudWatchMetrics"].is_array() {
            let id = value["RequestId"].as_str().unwrap_or_default().to_owned();
            seen.entry(id).or_default().documents.push(value);
        } else if value["message"] == "request" {
            let id = value["request_id"].as_str().unwrap_or_default().to_owned();
            seen.entry(id).or_default().lines.push(value);
        }
    }
    let mut attempts = 0;
    for (answer, expected) in answered {
        let id = &answer.request_id;
        let Some(record) = seen.remove(id) else {
            problems.push(format!("{id}: no log line and no metrics document"));
            continue;
        };
        match record.lines.as_slice() {
            [line] => {
                let calls = line["dynamodb_calls"].as_u64().unwrap_or(u64::MAX);
                let retries = line["dynamodb_retries"].as_u64().unwrap_or(u64::MAX);
                attempts += calls.saturating_add(retries);
                let span = &line["span"];
                let wrong = [
                    (span["requestId"] != id.as_str(), "span requestId"),
                    (span["xrayTraceId"] != answer.trace_id.as_str(), "span xrayTraceId"),
                    (line["route"] != expected.route, "route"),
                    (line["status"] != expected.status, "status"),
                    (calls != u64::from(expected.dynamodb_calls), "dynamodb_calls"),
                    (retries > 2, "dynamodb_retries"),
                ];
                for (_, what) in wrong.iter().filter(|(bad, _)| *bad) {
                    problems.push(format!("{id}: log line has the wrong {what}: {line}"));
                }
            }
            lines => problems.push(format!("{id}: {} log lines", lines.len())),
        }
        match record.documents.as_slice() {
            [doc] => {
                let called = expected.dynamodb_calls > 0;
                let wrong = [
                    (doc["TraceId"] != answer.trace_id.as_str(), "TraceId"),
                    (doc["Route"] != expected.route, "Route"),
                    (
                        doc["Status"].as_str().and_then(|s| s.parse().ok())
                            != Some(expected.status),
                        "Status",
                    ),
                    (doc["Requests"] != 1, "Requests"),
                    (doc["DynamoDbLatency"].is_array() != called, "DynamoDbLatency"),
                ];
                for (_, what) in wrong.iter().filter(|(bad, _)| *bad) {
                    problems.push(format!("{id}: metrics document has the wrong {what}: {doc}"));
                }
            }
            docs => problems.push(format!("{id}: {} metrics documents", docs.len())),
        }
    }
    for (id, record) in seen {
        problems.push(format!(
            "{id:?}: {} log lines and {} documents for no invocation answered",
            record.lines.len(),
            record.documents.len()
        ));
    }
    (problems, attempts)
}
