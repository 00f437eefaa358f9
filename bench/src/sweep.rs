//! The memory sweep: each subject at each memory size's CPU quota
//! (`cpu_quota.rs`), in both init modes, and what a million requests cost at
//! that size. The offline answer to what AWS Lambda Power Tuning answers on
//! a live account.
//!
//! Cold starts are interleaved: each round starts every subject once, in
//! turn, so that whatever else the machine is doing falls on all of them
//! alike and the ratios within a round hold; the order rotates from round to
//! round, so that no subject always follows the same one. Warm requests are
//! spaced by a pause longer than the quota's period, so each starts with the
//! period's whole budget, as Power Tuning's sequential invocations do; back
//! to back, they would measure a saturated environment instead.

use std::path::Path;
use std::time::Duration;

use employee_api_tests::stats::{median, percentile};
use serde_json::{Value, json};

use crate::cpu_quota::{CpuGroups, PERIOD_US};
use crate::runtime_api::{self, Cold, InitMode, Quota, Subject, Warm};
use crate::workloads::Get;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The memory sizes of the sweep: Lambda's smallest, powers of two, and the
/// size with one full vCPU.
pub const SIZES: [u32; 5] = [128, 256, 512, 1024, 1769];

/// Lambda on arm64 (the template's default), us-east-1, on demand,
/// November 2026: per request, and per GB-second billed by the millisecond.
pub const LAMBDA_PER_MILLION_REQUESTS: f64 = 0.20;
pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// The same for every size: an HTTP API request, and one eventually
/// consistent GetItem of a small item (0.5 read request unit at $0.125 per
/// million) — shown once, beside the sweep.
pub const HTTP_API_PER_MILLION: f64 = 1.00;
pub const DYNAMODB_GET_ITEM_PER_MILLION: f64 = 0.0625;

/// What a subject stands for in the comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The hello-world floor.
    Floor,
    /// get-employee, the function under test.
    Ours,
    /// The naive Rust function.
    Naive,
    /// Another alternative or a variant of ours.
    Other,
}

pub struct SweepSubject {
    pub label: String,
    pub role: Role,
    pub subject: Subject,
}

pub struct SweepOptions {
    pub sizes: Vec<u32>,
    pub cold_runs: usize,
    pub warm: usize,
    /// Idle time between warm requests.
    pub pause: Duration,
}

/// One memory size (`None`: no quota) and every subject's figures there.
pub struct AtSize {
    pub memory_mb: Option<u32>,
    pub subjects: Vec<SubjectAtSize>,
}

#[derive(Default)]
pub struct SubjectAtSize {
    pub unthrottled: Vec<Cold>,
    pub throttled: Vec<Cold>,
    pub warm: Warm,
}

/// Runs the sweep: no quota first, then each size of `options` that
/// `groups` holds.
pub fn run(
    subjects: &[SweepSubject],
    groups: Option<&CpuGroups>,
    launcher: &Path,
    options: &SweepOptions,
    log_dir: &Path,
) -> Result<Vec<AtSize>, BoxError> {
    let mut sizes = vec![None];
    if let Some(groups) = groups {
        sizes.extend(
            options.sizes.iter().filter(|&&mb| groups.quota(mb).is_some()).map(|&mb| Some(mb)),
        );
    }
    let mut invocation = 0;
    let mut workload = Get::new(200);
    let mut results = Vec::new();
    for memory_mb in sizes {
        let size_quota = memory_mb.and_then(|mb| groups?.quota(mb));
        let quota = |init| size_quota.map(|quota| Quota { quota, init, launcher });
        let memory = memory_mb.unwrap_or(128);
        let mut at: Vec<SubjectAtSize> =
            subjects.iter().map(|_| SubjectAtSize::default()).collect();
        let modes: &[InitMode] = if size_quota.is_some() {
            &[InitMode::Unthrottled, InitMode::Throttled]
        } else {
            &[InitMode::Throttled]
        };
        for &mode in modes {
            eprintln!(
                "bench: sweep at {}{}, {} cold starts per subject, interleaved…",
                size_label(memory_mb),
                match (size_quota, mode) {
                    (None, _) => "",
                    (Some(_), InitMode::Unthrottled) => ", init unthrottled",
                    (Some(_), InitMode::Throttled) => ", init throttled",
                },
                options.cold_runs
            );
            for round in 0..options.cold_runs.max(1) {
                // Each round starts one place further along, so that every
                // subject follows every other equally often: one that always
                // ran after the naive function (half a second of a busy CPU)
                // was measured ~0.5 ms slower with init unthrottled, and
                // 6-8 ms with init throttled, than the same code elsewhere.
                for n in (0..subjects.len()).map(|k| (round + k) % subjects.len()) {
                    let s = &subjects[n];
                    let (cold, _process) = runtime_api::cold_start(
                        &s.subject,
                        &mut workload,
                        quota(mode),
                        memory,
                        &mut invocation,
                        log_dir,
                    )?;
                    at[n].colds_mut(mode).push(cold);
                }
            }
        }
        if size_quota.is_none() {
            for subject in &mut at {
                subject.unthrottled = subject.throttled.clone();
            }
        }
        for (n, s) in subjects.iter().enumerate() {
            eprintln!(
                "bench: sweep at {}, {}: {} warm requests…",
                size_label(memory_mb),
                s.label,
                options.warm
            );
            let (_, mut process) = runtime_api::cold_start(
                &s.subject,
                &mut workload,
                quota(InitMode::Throttled),
                memory,
                &mut invocation,
                log_dir,
            )?;
            at[n].warm =
                process.warm(&mut workload, options.warm, options.pause, &mut invocation)?;
        }
        results.push(AtSize { memory_mb, subjects: at });
    }
    Ok(results)
}

/// The default pause between warm requests: one quota period and a bit, so
/// that each request starts with a full budget.
pub fn default_pause() -> Duration {
    Duration::from_micros(PERIOD_US) + Duration::from_millis(5)
}

pub fn size_label(memory_mb: Option<u32>) -> String {
    memory_mb.map_or("no quota".to_owned(), |mb| format!("{mb} MB"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl SubjectAtSize {
    fn colds(&self, mode: InitMode) -> &[Cold] {
        match mode {
            InitMode::Unthrottled => &self.unthrottled,
            InitMode::Throttled => &self.throttled,
        }
    }

    fn colds_mut(&mut self, mode: InitMode) -> &mut Vec<Cold> {
        match mode {
            InitMode::Unthrottled => &mut self.unthrottled,
            InitMode::Throttled => &mut self.throttled,
        }
    }

    pub fn cold(&self, mode: InitMode) -> Duration {
        median(self.colds(mode).iter().map(|c| c.first_response).collect())
    }

    fn cold_cpu(&self) -> Duration {
        median(self.throttled.iter().map(|c| c.cpu).collect())
    }

    fn throttled_periods(&self, mode: InitMode) -> u64 {
        let mut periods: Vec<u64> = self.colds(mode).iter().map(|c| c.throttled_periods).collect();
        periods.sort_unstable();
        periods.get(periods.len() / 2).copied().unwrap_or(0)
    }

    pub fn warm_p(&self, p: f64) -> Duration {
        let mut sorted = self.warm.latencies.clone();
        sorted.sort();
        percentile(&sorted, p)
    }

    /// Mean billed duration of a warm request: Lambda rounds each one up to
    /// the next millisecond.
    pub fn billed_ms(&self) -> f64 {
        let latencies = &self.warm.latencies;
        if latencies.is_empty() {
            return 0.0;
        }
        latencies.iter().map(|l| ms(*l).ceil().max(1.0)).sum::<f64>() / latencies.len() as f64
    }
}

/// Lambda's part of a million warm requests at `memory_mb` (requests and
/// duration).
pub fn lambda_cost_per_million(memory_mb: u32, billed_ms: f64) -> f64 {
    let gb_seconds = billed_ms / 1000.0 * f64::from(memory_mb) / 1024.0;
    LAMBDA_PER_MILLION_REQUESTS + gb_seconds * LAMBDA_PER_GB_SECOND * 1e6
}

/// The size at which `subject` (an index) costs least per million.
pub fn cheapest(results: &[AtSize], subject: usize) -> Option<(u32, f64)> {
    results
        .iter()
        .filter_map(|at| {
            let mb = at.memory_mb?;
            Some((mb, lambda_cost_per_million(mb, at.subjects[subject].billed_ms())))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// The sweep as Markdown: one row per size and subject, then the target
/// ratios at 128 MB and the cheapest size of each subject.
pub fn report(subjects: &[SweepSubject], results: &[AtSize], options: &SweepOptions) -> String {
    let mut out = format!(
        "\nMemory sweep: CPU quota = memory / 1,769 of one core per {} ms period; {} cold starts per subject and mode (medians, interleaved); {} warm requests {} ms apart. Cost: Lambda arm64 ${:.2}/M requests + ${}/GB-s, billed per ms (warm requests); add ${:.2}/M for the HTTP API and ${:.4}/M for DynamoDB (GetItem, 0.5 RRU) at every size.\n\n",
        PERIOD_US / 1000,
        options.cold_runs,
        options.warm,
        options.pause.as_millis(),
        LAMBDA_PER_MILLION_REQUESTS,
        LAMBDA_PER_GB_SECOND,
        HTTP_API_PER_MILLION,
        DYNAMODB_GET_ITEM_PER_MILLION,
    );
    out.push_str("| memory | subject | cold start ms, init unthrottled | cold start ms, init throttled | cold CPU ms | throttled periods (unthrottled / throttled) | warm p50 ms | warm p99 ms | billed ms | Lambda $ per million |\n");
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for at in results {
        for (s, figures) in subjects.iter().zip(&at.subjects) {
            let cost = at.memory_mb.map_or("–".to_owned(), |mb| {
                format!("{:.4}", lambda_cost_per_million(mb, figures.billed_ms()))
            });
            let label =
                if s.role == Role::Ours { format!("**{}**", s.label) } else { s.label.clone() };
            out.push_str(&format!(
                "| {} | {} | {:.1} | {:.1} | {:.2} | {} / {} | {:.2} | {:.2} | {:.2} | {} |\n",
                size_label(at.memory_mb),
                label,
                ms(figures.cold(InitMode::Unthrottled)),
                ms(figures.cold(InitMode::Throttled)),
                ms(figures.cold_cpu()),
                figures.throttled_periods(InitMode::Unthrottled),
                figures.throttled_periods(InitMode::Throttled),
                ms(figures.warm_p(50.0)),
                ms(figures.warm_p(99.0)),
                figures.billed_ms(),
                cost,
            ));
        }
    }
    out.push_str(&targets(subjects, results));
    out.push('\n');
    for (n, s) in subjects.iter().enumerate() {
        if let Some((mb, cost)) = cheapest(results, n) {
            out.push_str(&format!(
                "- cheapest size for {}: **{mb} MB** (${cost:.4} per million for Lambda)\n",
                s.label
            ));
        }
    }
    out
}

/// get-employee's cold start against the naive function's and the floor's,
/// at 128 MB (or the smallest size measured), in each init mode.
fn targets(subjects: &[SweepSubject], results: &[AtSize]) -> String {
    let find = |role| subjects.iter().position(|s| s.role == role);
    let (Some(ours), Some(floor)) = (find(Role::Ours), find(Role::Floor)) else {
        return String::new();
    };
    let naive = find(Role::Naive);
    let Some(at) = results.iter().filter(|at| at.memory_mb.is_some()).min_by_key(|at| at.memory_mb)
    else {
        return "\nNo CPU quota was applied: the targets at 128 MB could not be measured.\n"
            .to_owned();
    };
    let mut out = format!(
        "\nAt {} (same run): get-employee's cold start against the naive function's (target ≤ 1/20) and the floor's (target ≤ 3×):\n\n",
        size_label(at.memory_mb)
    );
    out.push_str("| init | get-employee ms | naive ms | get-employee / naive | floor ms | get-employee / floor |\n|---|---:|---:|---:|---:|---:|\n");
    for (mode, name) in [(InitMode::Unthrottled, "unthrottled"), (InitMode::Throttled, "throttled")]
    {
        let ours_ms = ms(at.subjects[ours].cold(mode));
        let floor_ms = ms(at.subjects[floor].cold(mode));
        let (naive_ms, naive_ratio) = naive.map_or(("–".to_owned(), "–".to_owned()), |n| {
            let naive_ms = ms(at.subjects[n].cold(mode));
            (format!("{naive_ms:.1}"), format!("1/{:.1}", naive_ms / ours_ms.max(1e-9)))
        });
        out.push_str(&format!(
            "| {name} | {ours_ms:.1} | {naive_ms} | {naive_ratio} | {floor_ms:.1} | {:.2}× |\n",
            ours_ms / floor_ms.max(1e-9)
        ));
    }
    out
}

pub fn json(subjects: &[SweepSubject], results: &[AtSize]) -> Value {
    let colds = |colds: &[Cold]| {
        colds
            .iter()
            .map(|c| {
                json!({
                    "cold_start_ms": ms(c.first_response), "init_ms": ms(c.init),
                    "first_request_ms": ms(c.first_request), "cpu_ms": ms(c.cpu),
                    "init_cpu_ms": ms(c.init_cpu), "throttled_periods": c.throttled_periods,
                    "page_faults": c.page_faults,
                })
            })
            .collect::<Vec<_>>()
    };
    json!(results
        .iter()
        .map(|at| json!({
            "memory_mb": at.memory_mb,
            "subjects": subjects.iter().zip(&at.subjects).map(|(s, f)| json!({
                "subject": s.label,
                "cold_start_ms_init_unthrottled": ms(f.cold(InitMode::Unthrottled)),
                "cold_start_ms_init_throttled": ms(f.cold(InitMode::Throttled)),
                "warm_p50_ms": ms(f.warm_p(50.0)),
                "warm_p99_ms": ms(f.warm_p(99.0)),
                "billed_ms": f.billed_ms(),
                "lambda_cost_per_million": at.memory_mb.map(|mb| lambda_cost_per_million(mb, f.billed_ms())),
                "cold_runs_init_unthrottled": colds(&f.unthrottled),
                "cold_runs_init_throttled": colds(&f.throttled),
            })).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_requests_cost_the_request_fee_plus_the_billed_gb_seconds() {
        // 128 MB, 2 ms billed: 0.125 GB × 0.002 s × 1e6 = 250 GB-s.
        let cost = lambda_cost_per_million(128, 2.0);
        assert!((cost - (0.20 + 250.0 * LAMBDA_PER_GB_SECOND)).abs() < 1e-12);
        // One vCPU for 1 ms costs more than 128 MB for 2 ms.
        assert!(lambda_cost_per_million(1769, 1.0) > cost);
    }

    #[test]
    fn each_request_is_billed_up_to_the_next_millisecond() {
        let at = SubjectAtSize {
            warm: Warm {
                latencies: vec![Duration::from_micros(300), Duration::from_micros(1200)],
                ..Warm::default()
            },
            ..SubjectAtSize::default()
        };
        assert_eq!(at.billed_ms(), 1.5);
    }
}
