//! Background processes (DynamoDB Local, `cargo lambda watch`) that must not
//! outlive the test binary that started them, even when it panics or is
//! killed: test statics are never dropped, so a watchdog shell ends the
//! process group once the test process is gone.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Starts `program args…` in its own process group, logging to `log`, and
/// kills that group when this process exits.
pub fn spawn_tied_to_this_process(
    program: &str,
    args: &[String],
    envs: &[(String, String)],
    cwd: &Path,
    log: &Path,
) -> Child {
    let log_file = std::fs::File::create(log)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    // `setsid` gives the child its own process group, so the whole tree
    // (cargo lambda and the function processes it starts) is ended at once.
    let script = r#"setsid "$@" &
child=$!
trap 'kill -TERM -- -$child 2>/dev/null; sleep 1; kill -KILL -- -$child 2>/dev/null' EXIT
while kill -0 "$WATCHED_PID" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done"#;
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg("bash")
        .arg(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .env("WATCHED_PID", std::process::id().to_string())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log file handle"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Waits until something accepts connections on `port`, or panics with the
/// tail of `log` after `timeout`.
pub fn wait_for_port(port: u16, timeout: Duration, what: &str, log: &Path) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on port {port} within {timeout:?}; log:\n{}", tail(log));
}

pub fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
