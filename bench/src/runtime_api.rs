//! A Lambda Runtime API on loopback, and a function started as Lambda starts
//! it: a fresh process with Lambda's environment, polling
//! `/2018-06-01/runtime/invocation/next` for events and posting responses,
//! with or without a memory size's CPU quota (`cpu_quota.rs`).
//!
//! Times are taken where Lambda would see them: init is spawn → the first
//! `next`; the cold start is spawn → the first response; a warm request is
//! handing over an event → its response. CPU time is read from the kernel's
//! per-thread scheduler statistics (nanoseconds, user and system together),
//! so short cold paths are not rounded to clock ticks.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cpu_quota::{CpuGroup, CpuQuota};
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

/// When the CPU quota starts to apply. AWS documents neither, so the
/// benchmark runs both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitMode {
    /// Init runs at full speed; the process is moved under the quota while
    /// it waits for its first event (the move is not timed).
    Unthrottled,
    /// Under the quota from spawn: the process execs inside the group.
    Throttled,
}

/// A memory size's CPU quota, and how init meets it.
#[derive(Debug, Clone, Copy)]
pub struct Quota<'a> {
    pub quota: &'a CpuQuota,
    pub init: InitMode,
    /// `cpu-quota-exec`, which starts a process inside the group.
    pub launcher: &'a Path,
}

#[derive(Debug, Clone, Copy)]
pub struct Cold {
    pub init: Duration,
    /// The cold start: spawn → first response (under "init unthrottled",
    /// init plus the first request, without the move in between).
    pub first_response: Duration,
    /// The first request alone: event handed over → response.
    pub first_request: Duration,
    /// CPU time of the whole cold path, spawn → first response.
    pub cpu: Duration,
    /// CPU time of init alone, spawn → first poll.
    pub init_cpu: Duration,
    /// Periods in which the quota stopped the process, over the cold path.
    pub throttled_periods: u64,
    /// Minor page faults over the cold path: the pages it touched.
    pub page_faults: u64,
}

#[derive(Debug, Clone)]
pub struct Measured {
    pub colds: Vec<Cold>,
    pub warm: Warm,
}

/// A process's warm invocations.
#[derive(Debug, Clone, Default)]
pub struct Warm {
    /// Event handed over → response, in the order they ran.
    pub latencies: Vec<Duration>,
    pub total: Duration,
    /// CPU time the process spent over all of them.
    pub cpu: Duration,
    pub peak_rss_kib: u64,
}

/// The event for invocation `n` and a check of the function's output.
pub trait Workload {
    fn event(&mut self, n: usize) -> String;
    fn accept(&self, output: &Value) -> bool;
}

/// Runs `cold_runs` fresh processes to their first response; the last one
/// then serves `warm` more invocations back to back. No CPU quota.
pub fn measure(
    subject: &Subject,
    workload: &mut dyn Workload,
    cold_runs: usize,
    warm: usize,
    log_dir: &Path,
) -> Result<Measured, BoxError> {
    let mut colds = Vec::new();
    let mut invocation = 0;
    for run in 1..=cold_runs.max(1) {
        let (cold, mut process) =
            cold_start(subject, workload, None, 128, &mut invocation, log_dir)?;
        colds.push(cold);
        if run == cold_runs.max(1) {
            let warm = process.warm(workload, warm, Duration::ZERO, &mut invocation)?;
            return Ok(Measured { colds, warm });
        }
    }
    unreachable!("the last cold run returns")
}

/// A function process past its first response; killed when dropped.
pub struct Running {
    child: Child,
    server: Server,
    name: String,
    /// The process's own CPU-quota group, removed after the process ends.
    group: Option<CpuGroup>,
}

/// Starts `subject` as Lambda would with `memory_mb` configured, under
/// `quota` if given, and takes it to its first response.
pub fn cold_start(
    subject: &Subject,
    workload: &mut dyn Workload,
    quota: Option<Quota<'_>>,
    memory_mb: u32,
    invocation: &mut usize,
    log_dir: &Path,
) -> Result<(Cold, Running), BoxError> {
    let server = Server::bind()?;
    let log = log_dir.join(format!("{}-{}.log", subject.name, *invocation));
    // A group of its own, with the size's quota and nothing owed.
    let group = quota.map(|q| q.quota.group()).transpose()?;
    let launch = match (quota, &group) {
        (Some(Quota { init: InitMode::Throttled, launcher, .. }), Some(group)) => {
            Some((group, launcher))
        }
        _ => None,
    };
    let (child, started, cpu_before, faults_before) =
        spawn(subject, server.port, memory_mb, launch, &log)?;
    let mut process = Running { child, server, name: subject.name.clone(), group: None };
    let (first_poll, polled_at) = process.expect_next()?;
    let init = polled_at.saturating_duration_since(started);
    let init_cpu = cpu_time(process.child.id()).saturating_sub(cpu_before);
    if let (Some(Quota { init: InitMode::Unthrottled, .. }), Some(group)) = (quota, &group) {
        group.admit(process.child.id())?;
    }
    let handed_over = Instant::now();
    respond_with_event(first_poll, &workload.event(*invocation), *invocation)?;
    let output = process.expect_response(*invocation)?;
    let responded = Instant::now();
    let cpu = cpu_time(process.child.id()).saturating_sub(cpu_before);
    let page_faults = minor_faults(process.child.id()).saturating_sub(faults_before);
    check(workload, &output, &subject.name, *invocation)?;
    *invocation += 1;
    let first_request = responded - handed_over;
    let first_response = match quota {
        Some(Quota { init: InitMode::Unthrottled, .. }) => init + first_request,
        _ => responded - started,
    };
    let throttled_periods = group.as_ref().map_or(0, CpuGroup::throttled_periods);
    process.group = group;
    Ok((
        Cold { init, first_response, first_request, cpu, init_cpu, throttled_periods, page_faults },
        process,
    ))
}

impl Running {
    /// Serves `n` invocations, waiting `pause` between one response and the
    /// next event (idle, as an environment between requests).
    pub fn warm(
        &mut self,
        workload: &mut dyn Workload,
        n: usize,
        pause: Duration,
        invocation: &mut usize,
    ) -> Result<Warm, BoxError> {
        let mut latencies = Vec::with_capacity(n);
        let started = Instant::now();
        let cpu_before = cpu_time(self.child.id());
        for _ in 0..n {
            let (next, _) = self.expect_next()?;
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            let event = workload.event(*invocation);
            let handed_over = Instant::now();
            respond_with_event(next, &event, *invocation)?;
            let output = self.expect_response(*invocation)?;
            latencies.push(handed_over.elapsed());
            check(workload, &output, &self.name, *invocation)?;
            *invocation += 1;
        }
        Ok(Warm {
            latencies,
            total: started.elapsed(),
            cpu: cpu_time(self.child.id()).saturating_sub(cpu_before),
            peak_rss_kib: peak_rss_kib(self.child.id()),
        })
    }

    fn expect_next(&mut self) -> Result<(Incoming, Instant), BoxError> {
        expect_next(&self.server, &mut self.child, &self.name)
    }

    fn expect_response(&mut self, invocation: usize) -> Result<Value, BoxError> {
        expect_response(&self.server, &mut self.child, &self.name, invocation)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lambda's environment for a function of `memory_mb`, then the subject's.
fn environment(subject: &Subject, port: u16, memory_mb: u32) -> Vec<(String, String)> {
    let name = &subject.name;
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
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
    env.extend(subject.env.iter().cloned());
    env
}

/// Starts the process and says when its clock starts, and the CPU time it
/// had used by then: at spawn (none), or, under "init throttled", when the
/// launcher, already inside the group, is told to exec the subject (what
/// the launcher used before is not the subject's). `launch`: the group and
/// the launcher, under "init throttled".
fn spawn(
    subject: &Subject,
    port: u16,
    memory_mb: u32,
    launch: Option<(&CpuGroup, &Path)>,
    log: &Path,
) -> Result<(Child, Instant, Duration, u64), BoxError> {
    let file = std::fs::File::create(log)?;
    let cannot_start =
        |e: std::io::Error| format!("cannot start {}: {e}", subject.program.display());
    let mut command = match launch {
        Some((group, launcher)) => {
            let mut command = Command::new(launcher);
            command
                .arg(group.dir())
                .arg(crate::cpu_quota::subject_cpu().to_string())
                .arg(log)
                .arg(&subject.program);
            command.stdin(Stdio::piped()).stdout(Stdio::piped());
            command
        }
        None => {
            let mut command = Command::new(&subject.program);
            command.stdin(Stdio::null()).stdout(file.try_clone()?);
            command
        }
    };
    command
        .args(&subject.args)
        .current_dir(&subject.cwd)
        .env_clear()
        .envs(environment(subject, port, memory_mb))
        .stderr(file);
    let started = Instant::now();
    let mut child = command.spawn().map_err(cannot_start)?;
    if let (Some(mut go), Some(ready)) = (child.stdin.take(), child.stdout.take()) {
        let mut line = String::new();
        BufReader::new(ready).read_line(&mut line)?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(log).unwrap_or_default();
            return Err(format!("{}: the launcher did not get ready: {log}", subject.name).into());
        }
        let (cpu_before, faults_before) = (cpu_time(child.id()), minor_faults(child.id()));
        let started = Instant::now();
        go.write_all(b"go\n")?;
        return Ok((child, started, cpu_before, faults_before));
    }
    Ok((child, started, Duration::ZERO, 0))
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

/// Minor page faults of `pid` so far (`/proc/<pid>/stat`, field 10),
/// threads included.
pub fn minor_faults(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // The command name, in parentheses, may hold spaces: count from
            // the closing one.
            let fields = &stat[stat.rfind(')')? + 2..];
            fields.split_whitespace().nth(7)?.parse().ok()
        })
        .unwrap_or(0)
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
