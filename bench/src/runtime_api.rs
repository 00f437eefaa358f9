//! A Lambda Runtime API on loopback, and a function started as Lambda starts
//! it: a fresh process with Lambda's environment, polling
//! `/2018-06-01/runtime/invocation/next` for events and posting responses.
//!
//! Times are taken where Lambda would see them: init is spawn → the first
//! `next`; the cold request is spawn → the first response; a warm request is
//! handing over an event → its response. CPU time is read from the kernel's
//! per-thread scheduler statistics (nanoseconds, user and system together),
//! so short cold paths are not rounded to clock ticks.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::loopback_http::{Incoming, Server};
use serde_json::Value;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A function to start: a program, its arguments, and its own environment
/// on top of Lambda's.
#[derive(Debug, Clone)]
pub struct Subject {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// The deployment artifact whose size is reported, if there is one.
    pub artifact: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy)]
pub struct Cold {
    pub init: Duration,
    pub first_response: Duration,
    /// CPU time of the whole cold path, spawn → first response.
    pub cpu: Duration,
    /// CPU time of init alone, spawn → first poll.
    pub init_cpu: Duration,
}

#[derive(Debug, Clone)]
pub struct Measured {
    pub colds: Vec<Cold>,
    pub warm: Vec<Duration>,
    pub warm_total: Duration,
    /// CPU time the function's process spent over all warm invocations.
    pub warm_cpu: Duration,
    pub peak_rss_kib: u64,
}

/// Warm latencies, their total time and CPU time, and the process's peak
/// RSS (KiB).
type Warm = (Vec<Duration>, Duration, Duration, u64);

/// The event for invocation `n` and a check of the function's output.
pub trait Workload {
    fn event(&mut self, n: usize) -> String;
    fn accept(&self, output: &Value) -> bool;
}

/// Runs `cold_runs` fresh processes to their first response; the last one
/// then serves `warm` more invocations.
pub fn measure(
    subject: &Subject,
    workload: &mut dyn Workload,
    cold_runs: usize,
    warm: usize,
    log_dir: &std::path::Path,
) -> Result<Measured, BoxError> {
    let mut colds = Vec::new();
    let mut invocation = 0;
    for run in 0..cold_runs.max(1) {
        let server = Server::bind()?;
        let port = server.port;
        let log = std::fs::File::create(log_dir.join(format!("{}-{run}.log", subject.name)))?;
        let started = Instant::now();
        let mut child = spawn(subject, port, log)?;
        let outcome = (|| -> Result<(Cold, Option<Warm>), BoxError> {
            let (first_poll, polled_at) = expect_next(&server, &mut child, &subject.name)?;
            let init = polled_at.saturating_duration_since(started);
            let init_cpu = cpu_time(child.id());
            respond_with_event(first_poll, &workload.event(invocation), invocation)?;
            let output = expect_response(&server, &mut child, &subject.name, invocation)?;
            let first_response = started.elapsed();
            let cpu = cpu_time(child.id());
            check(workload, &output, &subject.name, invocation)?;
            invocation += 1;
            let cold = Cold { init, first_response, cpu, init_cpu };
            if run + 1 < cold_runs.max(1) {
                return Ok((cold, None));
            }
            let mut latencies = Vec::with_capacity(warm);
            let warm_started = Instant::now();
            let cpu_before = cpu_time(child.id());
            for _ in 0..warm {
                let (next, _) = expect_next(&server, &mut child, &subject.name)?;
                let event = workload.event(invocation);
                let handed_over = Instant::now();
                respond_with_event(next, &event, invocation)?;
                let output = expect_response(&server, &mut child, &subject.name, invocation)?;
                latencies.push(handed_over.elapsed());
                check(workload, &output, &subject.name, invocation)?;
                invocation += 1;
            }
            let warm_total = warm_started.elapsed();
            let warm_cpu = cpu_time(child.id()).saturating_sub(cpu_before);
            Ok((cold, Some((latencies, warm_total, warm_cpu, peak_rss_kib(child.id())))))
        })();
        let _ = child.kill();
        let _ = child.wait();
        let (cold, warm_part) = outcome?;
        colds.push(cold);
        if let Some((warm, warm_total, warm_cpu, peak_rss_kib)) = warm_part {
            return Ok(Measured { colds, warm, warm_total, warm_cpu, peak_rss_kib });
        }
    }
    unreachable!("the last cold run always returns")
}

fn spawn(subject: &Subject, port: u16, log: std::fs::File) -> Result<Child, BoxError> {
    let name = &subject.name;
    let mut lambda_env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/22/[$LATEST]bench".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
        ("AWS_SESSION_TOKEN", "local".to_owned()),
        ("LAMBDA_TASK_ROOT", subject.cwd.display().to_string()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", std::env::var("PATH").unwrap_or_default()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    lambda_env.extend(subject.env.iter().cloned());
    Ok(Command::new(&subject.program)
        .args(&subject.args)
        .current_dir(&subject.cwd)
        .env_clear()
        .envs(lambda_env)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", subject.program.display()))?)
}

fn receive(server: &Server, child: &mut Child, name: &str) -> Result<Incoming, BoxError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(request) = server.recv_timeout(Duration::from_millis(200)) {
            return Ok(request);
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!("{name} exited ({status}) before calling the Runtime API").into());
        }
        if Instant::now() > deadline {
            return Err(format!("{name} did not call the Runtime API within 60 s").into());
        }
    }
}

/// The function's next poll, and when it arrived.
fn expect_next(
    server: &Server,
    child: &mut Child,
    name: &str,
) -> Result<(Incoming, Instant), BoxError> {
    let request = receive(server, child, name)?;
    let arrived = Instant::now();
    if request.method == "GET" && request.url.ends_with("/runtime/invocation/next") {
        return Ok((request, arrived));
    }
    let (url, body) = (request.url.clone(), request.body.clone());
    request.respond(202, &[], "");
    Err(format!("{name}: expected a poll for the next event, got {url}: {body}").into())
}

fn expect_response(
    server: &Server,
    child: &mut Child,
    name: &str,
    invocation: usize,
) -> Result<Value, BoxError> {
    let request = receive(server, child, name)?;
    let (url, body) = (request.url.clone(), request.body.clone());
    request.respond(202, &[], "");
    if url.ends_with(&format!("/runtime/invocation/{}/response", request_id(invocation))) {
        return Ok(serde_json::from_str(&body)?);
    }
    Err(format!("{name}: invocation {invocation} ended with {url}: {body}").into())
}

fn check(
    workload: &dyn Workload,
    output: &Value,
    name: &str,
    invocation: usize,
) -> Result<(), BoxError> {
    if workload.accept(output) {
        Ok(())
    } else {
        Err(format!("{name}: invocation {invocation} answered {output}").into())
    }
}

fn request_id(invocation: usize) -> String {
    format!("00000000-0000-4000-8000-{invocation:012}")
}

fn respond_with_event(poll: Incoming, event: &str, invocation: usize) -> Result<(), BoxError> {
    let deadline_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() + 10_000;
    poll.respond(
        200,
        &[
            ("content-type", "application/json".to_owned()),
            ("lambda-runtime-aws-request-id", request_id(invocation)),
            ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-6740b7c0-2f5a4c1e3b8d9a7f6e5d4c3b;Parent=53995c3f42cd8ad8;Sampled=0"
                    .to_owned(),
            ),
        ],
        event,
    );
    Ok(())
}

/// CPU time (user + system) of every live thread of `pid`, from
/// `/proc/<pid>/task/*/schedstat` (nanoseconds).
pub fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// Peak resident set size (`VmHWM`) of `pid`, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:")?.trim().trim_end_matches("kB").trim().parse().ok()
            })
        })
        .unwrap_or(0)
}
