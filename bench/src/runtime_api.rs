//! A function started as Lambda starts it: a fresh process with Lambda's
//! environment, polling the Runtime API (the tests' emulator,
//! `employee_api_tests::runtime_api`, one per process) for events and
//! posting responses, with or without a memory size's CPU quota
//! (`cpu_quota.rs`).
//!
//! Times are taken where Lambda would see them: init is spawn → the first
//! `next`; the cold start is spawn → the first response; a warm request is
//! handing over an event → its response. CPU time is read from the kernel's
//! per-thread scheduler statistics (nanoseconds, user and system together),
//! so short cold paths are not rounded to clock ticks.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::cpu_quota::{CpuGroup, CpuQuota};
use employee_api_tests::runtime_api::{FUNCTION_TIMEOUT, Held, Pending, Poll, RuntimeApi};
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
    api: RuntimeApi,
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
    let api = emulator().block_on(RuntimeApi::start())?;
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
        spawn(subject, &api.address, memory_mb, launch, &log)?;
    let mut process = Running { child, api, name: subject.name.clone(), group: None };
    let first_poll = process.expect_next()?;
    let init = first_poll.arrived.saturating_duration_since(started);
    let init_cpu = cpu_time(process.child.id()).saturating_sub(cpu_before);
    if let (Some(Quota { init: InitMode::Unthrottled, .. }), Some(group)) = (quota, &group) {
        group.admit(process.child.id())?;
    }
    let event = workload.event(*invocation);
    let handed_over = Instant::now();
    let pending = process.api.hand_over(first_poll, event.as_bytes(), FUNCTION_TIMEOUT);
    let (output, held) = process.expect_response(pending, *invocation)?;
    let responded = Instant::now();
    // Read while the function waits for its answer's 202.
    let cpu = cpu_time(process.child.id()).saturating_sub(cpu_before);
    let page_faults = minor_faults(process.child.id()).saturating_sub(faults_before);
    drop(held);
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
            let next = self.expect_next()?;
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
            let event = workload.event(*invocation);
            let handed_over = Instant::now();
            let pending = self.api.hand_over(next, event.as_bytes(), FUNCTION_TIMEOUT);
            let (output, held) = self.expect_response(pending, *invocation)?;
            latencies.push(handed_over.elapsed());
            drop(held);
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

    /// The function's next poll. Waits a minute at most, and stops early
    /// if the process exits or reports an init error.
    fn expect_next(&mut self) -> Result<Poll, BoxError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(poll) = emulator().block_on(self.api.next_poll(Some(POLL_CHECK))) {
                return Ok(poll);
            }
            self.still_running("calling the Runtime API")?;
            if let Some(error) = self.api.init_errors().first() {
                return Err(format!("{}: init failed: {error}", self.name).into());
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not poll for an event within 60 s", self.name).into());
            }
        }
    }

    /// The function's response to `pending`, invocation `invocation`, and
    /// the function held until the [`Held`] is dropped.
    fn expect_response(
        &mut self,
        pending: Pending,
        invocation: usize,
    ) -> Result<(Value, Held), BoxError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let answer = pending.answer_held();
        tokio::pin!(answer);
        loop {
            // The timer is made inside the runtime, which it needs.
            let waited =
                emulator().block_on(async { tokio::time::timeout(POLL_CHECK, &mut answer).await });
            if let Ok((answer, held)) = waited {
                return match answer.result {
                    Ok(output) => Ok((output, held)),
                    Err(error) => {
                        Err(format!("{}: invocation {invocation} ended with {error}", self.name)
                            .into())
                    }
                };
            }
            self.still_running("answering")?;
            if Instant::now() > deadline {
                return Err(
                    format!("{}: invocation {invocation} unanswered in 60 s", self.name).into()
                );
            }
        }
    }

    fn still_running(&mut self, doing: &str) -> Result<(), BoxError> {
        match self.child.try_wait()? {
            Some(status) => Err(format!("{} exited ({status}) before {doing}", self.name).into()),
            None => Ok(()),
        }
    }
}

/// How often a wait on the function checks that it is still running.
const POLL_CHECK: Duration = Duration::from_millis(200);

/// The runtime the emulators run on: one worker thread, beside the
/// benchmark's own thread, which waits on it.
fn emulator() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a Tokio runtime")
    })
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lambda's environment for a function of `memory_mb`, then the subject's.
fn environment(subject: &Subject, address: &str, memory_mb: u32) -> Vec<(String, String)> {
    let name = &subject.name;
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_RUNTIME_API", address.to_owned()),
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
    address: &str,
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
        .envs(environment(subject, address, memory_mb))
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
