//! One process serving many invocations at once, as on Lambda Managed
//! Instances: get-employee's deployment artifact started with
//! `AWS_LAMBDA_MAX_CONCURRENCY=N`, fed by a Runtime API that hands out
//! invocations concurrently, over DynamoDB Local behind TLS and a proxy that
//! adds 5 ms to every round trip (closer to DynamoDB in the Region than
//! loopback is). For each N: throughput, latency, CPU per invocation, peak
//! RSS, and whether every log line and metrics document belongs to its own
//! invocation.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use employee_api_tests::events::http_event;
use employee_api_tests::lambda_process::{
    Expected, LambdaProcess, lambda_environment, misattributed,
};
use employee_api_tests::runtime_api::RuntimeApi;
use employee_api_tests::stats::percentile;
use serde_json::{Value, json};

use crate::runtime_api::{cpu_time, peak_rss_kib};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The round trip the proxy adds to every DynamoDB request.
pub const ADDED_ROUND_TRIP: Duration = Duration::from_millis(5);

pub struct Measured {
    pub concurrency: usize,
    pub invocations: usize,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    pub cpu: Duration,
    pub peak_rss_kib: u64,
    pub peak_in_flight: usize,
    pub misattributed: usize,
}

impl Measured {
    pub fn throughput(&self) -> f64 {
        self.invocations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn json(&self) -> Value {
        json!({
            "concurrency": self.concurrency,
            "invocations": self.invocations,
            "throughput_per_s": (self.throughput() * 10.0).round() / 10.0,
            "p50_ms": ms(percentile(&self.latencies, 50.0)),
            "p99_ms": ms(percentile(&self.latencies, 99.0)),
            "cpu_us_per_invocation": us(self.cpu / self.invocations.max(1) as u32),
            "peak_rss_mib": (self.peak_rss_kib as f64 / 1024.0 * 10.0).round() / 10.0,
            "peak_in_flight": self.peak_in_flight,
            "misattributed": self.misattributed,
        })
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 1e2
}

fn us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 1e1
}

/// Runs `invocations` GET /employees/42 through one get-employee process at
/// `concurrency`, after as many again to warm it up.
pub async fn measure(
    program: &Path,
    env: &[(String, String)],
    concurrency: usize,
    invocations: usize,
    log_dir: &Path,
) -> Result<Measured, BoxError> {
    let api = Arc::new(RuntimeApi::start().await?);
    let mut environment = lambda_environment("get-employee", &api.address);
    environment.extend(env.iter().cloned());
    environment.push(("AWS_LAMBDA_MAX_CONCURRENCY".to_owned(), concurrency.to_string()));
    let log = log_dir.join(format!("concurrency-{concurrency}.log"));
    let process = LambdaProcess::start(program, &environment, &log);
    let event = Arc::new(http_event("GET", "/employees/42").build());
    let run = |count: usize| {
        let tasks: Vec<_> = (0..count)
            .map(|_| {
                let api = Arc::clone(&api);
                let event = Arc::clone(&event);
                tokio::spawn(async move { api.invoke(&event).await })
            })
            .collect();
        async move {
            let mut answers = Vec::with_capacity(tasks.len());
            for task in tasks {
                answers.push(task.await?);
            }
            Ok::<_, BoxError>(answers)
        }
    };
    let warm = run(invocations.min(2000)).await?;
    if let Some(bad) = warm
        .iter()
        .find(|a| a.result.as_ref().ok().map(|o| o["statusCode"].clone()) != Some(json!(200)))
    {
        return Err(format!("warm-up answer {bad:?}; log: {}", log.display()).into());
    }
    api.reset_peak();
    let cpu_before = cpu_time(process.pid());
    let started = Instant::now();
    let answers = run(invocations).await?;
    let elapsed = started.elapsed();
    let cpu = cpu_time(process.pid()).saturating_sub(cpu_before);
    let expected =
        Expected { route: "GET /employees/{employeeId}", status: 200, dynamodb_calls: 1 };
    let answered: Vec<_> =
        warm.into_iter().chain(answers.iter().cloned()).map(|a| (a, expected.clone())).collect();
    let (problems, _) = misattributed(&answered, &process.output());
    if let Some(problem) = problems.first() {
        eprintln!(
            "bench: concurrency {concurrency}: {} misattributed, e.g. {problem}",
            problems.len()
        );
    }
    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    latencies.sort();
    Ok(Measured {
        concurrency,
        invocations,
        elapsed,
        latencies,
        cpu,
        peak_rss_kib: peak_rss_kib(process.pid()),
        peak_in_flight: api.peak_in_flight(),
        misattributed: problems.len(),
    })
}

/// The Markdown table of the runs.
pub fn report(rows: &[Measured]) -> String {
    let mut out = format!(
        "\nOne get-employee process serving concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY), over TLS with {} ms added to every DynamoDB round trip:\n\n",
        ADDED_ROUND_TRIP.as_millis()
    );
    out.push_str("| concurrency | invocations | invocations/s | × concurrency 1 | p50 ms | p99 ms | CPU µs/inv. | peak RSS MiB | peak in flight | misattributed lines or documents |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let base = rows.first().map(Measured::throughput).unwrap_or(1.0).max(1e-9);
    for row in rows {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} | {:.2} | {:.2} | {:.0} | {:.1} | {} | {} |\n",
            row.concurrency,
            row.invocations,
            row.throughput(),
            row.throughput() / base,
            ms(percentile(&row.latencies, 50.0)),
            ms(percentile(&row.latencies, 99.0)),
            us(row.cpu / row.invocations.max(1) as u32),
            row.peak_rss_kib as f64 / 1024.0,
            row.peak_in_flight,
            row.misattributed,
        ));
    }
    out
}
