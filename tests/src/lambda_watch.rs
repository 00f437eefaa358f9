//! The API served locally exactly as README command 1 serves it: the three
//! functions under `cargo lambda watch`, routed by the
//! `[workspace.metadata.lambda.watch.router]` of Cargo.toml, on DynamoDB
//! Local. One instance per test binary, on its own fresh table.

use std::path::PathBuf;
use std::process::Child;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::dynamodb_local::{self, ACCESS_KEY, REGION, SECRET_KEY};
use crate::process::{free_port, spawn_tied_to_this_process, tail, wait_for_port};
use crate::{INSTALL_HINT, workspace_root};

pub struct LocalApi {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// The port `cargo lambda watch` listens on (HTTP and the invoke API).
    pub port: u16,
    /// The table the functions use.
    pub table: String,
    /// The idempotency table the functions use.
    pub idempotency_table: String,
    log: PathBuf,
    _process: Mutex<Child>,
}

static API: OnceLock<LocalApi> = OnceLock::new();

/// The local API on DynamoDB Local, started (and its three functions
/// compiled and warmed) on first use.
pub fn local_api() -> &'static LocalApi {
    API.get_or_init(|| LocalApi::start(dynamodb_local::endpoint()))
}

impl LocalApi {
    /// Starts the API with the functions talking to DynamoDB at
    /// `dynamodb_endpoint` (DynamoDB Local, or a proxy in front of it), on a
    /// fresh table created directly in DynamoDB Local. The functions log
    /// JSON, as the template's `LoggingConfig` makes them.
    pub fn start(dynamodb_endpoint: &str) -> Self {
        start(dynamodb_endpoint, &[("AWS_LAMBDA_LOG_FORMAT", "JSON")])
    }

    /// Everything `cargo lambda watch` and the functions wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Invokes `function` with the event in `events/<event>` through
    /// `cargo lambda invoke`, as a developer would: the function's JSON
    /// output, or the `errorType` of the function error it reported.
    pub fn invoke(&self, function: &str, event: &str) -> Result<serde_json::Value, String> {
        let output = std::process::Command::new(cargo_lambda())
            .args(["lambda", "invoke", function, "--data-file"])
            .arg(workspace_root().join("events").join(event))
            .args(["--invoke-address", "127.0.0.1", "--invoke-port", &self.port.to_string()])
            .output()
            .expect("cargo lambda invoke runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            return Ok(serde_json::from_str(&stdout).unwrap_or_else(|e| {
                panic!("{function} {event}: output is not JSON ({e}): {stdout}")
            }));
        }
        // cargo lambda prints a function error as `Error: <errorType>`.
        stderr
            .lines()
            .find_map(|line| line.trim().strip_prefix("Error: "))
            .map(|error_type| Err(error_type.trim().to_owned()))
            .unwrap_or_else(|| panic!("cargo lambda invoke {function} {event} failed: {stderr}"))
    }

    /// The last lines `cargo lambda watch` and the functions logged.
    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }
}

/// The `cargo-lambda` binary: `.tools/venv/bin` first, then `PATH`.
pub fn cargo_lambda() -> PathBuf {
    let local = workspace_root().join(".tools/venv/bin/cargo-lambda");
    if local.is_file() {
        return local;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths).map(|p| p.join("cargo-lambda")).find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "cargo-lambda is not installed: run {INSTALL_HINT} \
                 (it runs `pip install cargo-lambda` into .tools/venv)"
            )
        })
}

/// Runs `future` to completion on a runtime of its own, so a static can be
/// initialised from any test, async or not.
fn block_on<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime")
            .block_on(future)
    })
    .join()
    .expect("the helper thread finished")
}

fn start(endpoint: &str, extra_env: &[(&str, &str)]) -> LocalApi {
    let (table, idempotency_table) = block_on(async {
        let client = dynamodb_local::client();
        let table = dynamodb_local::fresh_table(&client).await;
        (table, dynamodb_local::fresh_idempotency_table(&client).await)
    });
    let port = free_port();
    let log =
        std::env::temp_dir().join(format!("cargo-lambda-watch-{}-{port}.log", std::process::id()));
    let env_vars = [
        format!("TABLE_NAME={table}"),
        format!("IDEMPOTENCY_TABLE_NAME={idempotency_table}"),
        // `cargo lambda watch` passes no region to the functions by itself.
        format!("AWS_REGION={REGION}"),
        format!("AWS_ENDPOINT_URL_DYNAMODB={endpoint}"),
        format!("AWS_ACCESS_KEY_ID={ACCESS_KEY}"),
        format!("AWS_SECRET_ACCESS_KEY={SECRET_KEY}"),
    ]
    .into_iter()
    .chain(extra_env.iter().map(|(k, v)| format!("{k}={v}")))
    .collect::<Vec<_>>()
    .join(",");
    let args: Vec<String> = [
        "lambda",
        "watch",
        "--ignore-changes",
        "--invoke-address",
        "127.0.0.1",
        "--invoke-port",
        &port.to_string(),
        // Several instances per function, so concurrent requests really race.
        "--concurrency",
        "8",
        "--env-var",
        &env_vars,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let program = cargo_lambda();
    let child = spawn_tied_to_this_process(
        &program.display().to_string(),
        &args,
        &[],
        &workspace_root(),
        &log,
    );
    wait_for_port(port, Duration::from_secs(60), "cargo lambda watch", &log);
    let base_url = format!("http://127.0.0.1:{port}");
    warm_up(&base_url, &log);
    LocalApi { base_url, port, table, idempotency_table, log, _process: Mutex::new(child) }
}

/// Calls each function once, waiting while `cargo lambda` compiles it, so
/// tests measure the API, not the build.
fn warm_up(base_url: &str, log: &std::path::Path) {
    let base_url = base_url.to_owned();
    let calls =
        [("GET", "/employees/warm-up"), ("POST", "/employees"), ("DELETE", "/employees/warm-up")];
    let outcome = block_on(async move {
        let http = crate::http();
        let deadline = Instant::now() + Duration::from_secs(600);
        for (method, path) in calls {
            loop {
                let request = http
                    .request(method.parse().expect("method"), format!("{base_url}{path}"))
                    .header("content-type", "application/json")
                    .body("{}")
                    .timeout(Duration::from_secs(300));
                // A JSON error body with a code means the function itself answered.
                if let Ok(response) = request.send().await
                    && let Ok(body) = response.json::<serde_json::Value>().await
                    && body["error"].is_string()
                {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("{method} {path} never reached its function"));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}; cargo lambda watch log:\n{}", tail(log));
    }
}
