//! The cold start and latency benchmark. See `scripts/bench.sh`, and
//! docs/performance.md for the method and the figures.
//!
//! Each function's release binary is started as Lambda starts it (a fresh
//! process, Lambda's environment, the Runtime API on loopback) against
//! DynamoDB Local, through a TLS endpoint as on AWS. In the same run: the
//! floor (a hello-world `lambda_http` binary), the naive Rust function
//! (`bench/naive`, when built), the alternatives (Python with boto3 on
//! `awslambdaric`, Node.js with the AWS SDK v3 on `aws-lambda-ric`, when
//! installed), and the data floor (a bare GetItem from a Rust client). Then
//! the memory sweep (`sweep.rs`): the same subjects under each memory size's
//! CPU quota (`cpu_quota.rs`), with the cost of a million requests at each
//! size, drawn as an SVG chart (`chart.rs`). Prints Markdown tables and
//! writes the figures as JSON.

mod chart;
mod concurrency;
mod cpu_quota;
mod runtime_api;
mod sweep;
mod workloads;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use employee_api::config::DynamoDbSettings;
use employee_api_tests::dynamodb_local::{
    self, create_idempotency_table, create_table, put_items, unique_table_name,
};
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::otlp_receiver::{Mode, OtlpReceiver};
use employee_api_tests::stats::{median, percentile};
use employee_api_tests::tls_proxy;
use runtime_api::{Measured, Subject, Workload};
use serde_json::{Value, json};
use sweep::{Role, SweepOptions, SweepSubject};
use workloads::{Add, Get, Remove};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `(label, program, extra environment)`: a variant of get-employee.
type Variant = (String, PathBuf, Vec<(String, String)>);

struct Options {
    cold_runs: usize,
    warm: usize,
    out: PathBuf,
    chart: PathBuf,
    /// `(label, working directory, command line)` of each alternative runtime.
    baselines: Vec<(String, PathBuf, Vec<String>)>,
    /// The naive Rust function's bootstrap (bench/naive), if built.
    naive: Option<PathBuf>,
    /// `(label, program, extra environment)` of further Rust subjects over
    /// TLS (variants of get-employee, to measure a lever).
    extra: Vec<Variant>,
    /// get-employee built with the `otel` feature: measured with tracing off,
    /// and exporting to a local OTLP receiver on the default schedule and
    /// after every invocation.
    traced: Option<PathBuf>,
    /// `(concurrency, invocations)` of each one-process concurrency run.
    concurrency: Vec<(usize, usize)>,
    sweep: SweepOptions,
    /// Only the memory sweep: no table without a quota, no data floor, no
    /// concurrency runs.
    sweep_only: bool,
    /// The TLS endpoint's chain: RSA 2048 as DynamoDB's (the default), or
    /// the ECDSA P-256 one of the tests (`--tls-chain ecdsa`, as the
    /// benchmark had before).
    ecdsa_chain: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench [--quick] [--cold-runs N] [--warm N] [--out FILE] [--chart FILE.svg] \
         [--baseline 'LABEL|CWD|COMMAND ARGS…']… [--naive BOOTSTRAP] \
         [--subject 'LABEL|PROGRAM[|NAME=VALUE,…]']… [--traced BOOTSTRAP] [--concurrency N:INVOCATIONS,…] \
         [--sizes MB,…|none] [--sweep-cold-runs N] [--sweep-warm N] [--sweep-only] \
         [--tls-chain rsa|ecdsa]\n       \
         bench data-floor ENDPOINT TABLE N"
    );
    std::process::exit(2)
}

fn options() -> Options {
    let mut options = Options {
        cold_runs: 5,
        warm: 2000,
        out: workspace().join("target/bench/latest.json"),
        chart: workspace().join("bench/memory-sweep.svg"),
        baselines: Vec::new(),
        naive: None,
        traced: None,
        extra: Vec::new(),
        concurrency: vec![(1, 1000), (8, 4000), (32, 10_000)],
        sweep: SweepOptions {
            sizes: sweep::SIZES.to_vec(),
            cold_runs: 9,
            warm: 200,
            pause: sweep::default_pause(),
        },
        sweep_only: false,
        ecdsa_chain: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--quick" => {
                options.cold_runs = 1;
                options.warm = 20;
                options.concurrency = vec![(1, 20), (4, 40)];
                options.sweep =
                    SweepOptions { sizes: vec![128], cold_runs: 1, warm: 5, ..options.sweep };
                options.chart = workspace().join("target/bench/smoke.svg");
            }
            "--concurrency" => {
                let runs = value()
                    .split(',')
                    .filter(|run| !run.is_empty())
                    .map(|run| {
                        let (n, m) = run.split_once(':')?;
                        Some((n.parse().ok()?, m.parse().ok()?))
                    })
                    .collect::<Option<Vec<_>>>();
                options.concurrency = runs.unwrap_or_else(|| usage());
            }
            "--cold-runs" => options.cold_runs = value().parse().unwrap_or_else(|_| usage()),
            "--warm" => options.warm = value().parse().unwrap_or_else(|_| usage()),
            "--out" => options.out = PathBuf::from(value()),
            "--chart" => options.chart = PathBuf::from(value()),
            "--baseline" => {
                let spec = value();
                let mut parts = spec.splitn(3, '|');
                let (Some(label), Some(cwd), Some(command)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    usage()
                };
                let command = command.split_whitespace().map(str::to_owned).collect();
                options.baselines.push((label.to_owned(), PathBuf::from(cwd), command));
            }
            // Absolute: the subjects start in a scratch directory.
            "--naive" => options.naive = Some(absolute(&value())),
            "--traced" => options.traced = Some(absolute(&value())),
            "--subject" => {
                let spec = value();
                let mut parts = spec.splitn(3, '|');
                let (Some(label), Some(program)) = (parts.next(), parts.next()) else { usage() };
                let env = parts
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once('=').unwrap_or_else(|| usage());
                        (k.to_owned(), v.to_owned())
                    })
                    .collect();
                options.extra.push((label.to_owned(), absolute(program), env));
            }
            "--sizes" => {
                let sizes = value();
                options.sweep.sizes = if sizes == "none" {
                    Vec::new()
                } else {
                    sizes.split(',').map(|mb| mb.parse().unwrap_or_else(|_| usage())).collect()
                };
            }
            "--sweep-cold-runs" => {
                options.sweep.cold_runs = value().parse().unwrap_or_else(|_| usage())
            }
            "--sweep-warm" => options.sweep.warm = value().parse().unwrap_or_else(|_| usage()),
            "--sweep-only" => options.sweep_only = true,
            "--tls-chain" => {
                options.ecdsa_chain = match value().as_str() {
                    "rsa" => false,
                    "ecdsa" => true,
                    _ => usage(),
                }
            }
            _ => usage(),
        }
    }
    options
}

fn absolute(path: &str) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| usage())
}

fn workspace() -> PathBuf {
    employee_api_tests::workspace_root()
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("data-floor") {
        let [_, _, endpoint, table, n] = args.as_slice() else { usage() };
        return data_floor_child(endpoint, table, n.parse()?);
    }
    let options = options();
    // The deployment artifacts, as `cargo lambda build --release` (and so
    // `sam build`) makes them: target/lambda/<function>/bootstrap.
    let artifacts = workspace().join("target/lambda");
    let bootstrap = |name: &str| artifacts.join(name).join("bootstrap");
    for binary in
        ["get-employee", "add-employee", "remove-employee", "hello-floor", "cpu-quota-exec"]
    {
        if !bootstrap(binary).is_file() {
            return Err(format!(
                "target/lambda/{binary}/bootstrap is missing: build with `cargo lambda build --release` (scripts/bench.sh does)"
            )
            .into());
        }
    }
    // A sweep by memory size without the sizes' quotas would print figures
    // that are not what its table says: refused before anything runs.
    let groups = if options.sweep.sizes.is_empty() {
        None
    } else {
        match cpu_quota::CpuGroups::create(&options.sweep.sizes) {
            Ok(groups) => Some(groups),
            Err(why) => {
                eprintln!("bench: {why}");
                std::process::exit(2)
            }
        }
    };
    let scratch = std::env::temp_dir().join(format!("employee-api-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    // The engine, a table in the template's schema with one employee, and
    // the TLS endpoint in front of it.
    let plain = dynamodb_local::endpoint().to_owned();
    let table = unique_table_name("bench");
    let keys = unique_table_name("bench-idempotency");
    runtime()?.block_on(async {
        let client = dynamodb_local::client();
        create_table(&client, &table, true).await;
        create_idempotency_table(&client, &keys).await;
        put_items(&client, &table, &[("42", "Engineer")]).await;
        warm_up_engine(&client, &table, options.warm).await
    })?;
    let tls = tls_endpoint(&plain, &scratch, &options)?;
    let ca = tls.ca_file.display().to_string();
    let amazon_bundle = tls.amazon_bundle.display().to_string();
    let system_bundle = tls.system_bundle.display().to_string();
    let data_env = |endpoint: &str| {
        vec![
            ("TABLE_NAME".to_owned(), table.clone()),
            ("IDEMPOTENCY_TABLE_NAME".to_owned(), keys.clone()),
            ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), endpoint.to_owned()),
            // The roots each client loads on AWS, and the run's CA (see
            // tls_proxy): ours, boto3 and Node.js read one variable each.
            ("SSL_CERT_FILE".to_owned(), amazon_bundle.clone()),
            ("AWS_CA_BUNDLE".to_owned(), system_bundle.clone()),
            ("NODE_EXTRA_CA_CERTS".to_owned(), ca.clone()),
        ]
    };
    let rust_at = |name: &str, program: &Path, endpoint: &str| Subject {
        name: name.to_owned(),
        program: program.to_owned(),
        args: Vec::new(),
        cwd: scratch.clone(),
        env: data_env(endpoint),
        artifact: Some(program.to_owned()),
    };
    let rust = |name: &str, endpoint: &str| rust_at(name, &bootstrap(name), endpoint);
    let floor = Subject { env: Vec::new(), ..rust("hello-floor", "") };
    // The naive function loads the system's roots, as it would on AWS
    // (rustls-native-certs reads SSL_CERT_FILE): the system bundle and the
    // run's CA.
    let naive = options.naive.as_ref().map(|program| {
        let mut subject = rust_at("naive-get-employee", program, &tls.endpoint);
        subject.env.retain(|(k, _)| k != "SSL_CERT_FILE");
        subject.env.push(("SSL_CERT_FILE".to_owned(), system_bundle.clone()));
        subject
    });
    // The traced subject exports to a receiver on loopback, which answers
    // as a collector does and counts what it got (its CPU is the bench's).
    let otlp_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let receiver =
        options.traced.as_ref().map(|_| otlp_runtime.block_on(OtlpReceiver::start(Mode::Count)));
    let mut variants = options.extra.clone();
    if let (Some(program), Some(receiver)) = (&options.traced, &receiver) {
        let endpoint = (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_owned(),
            format!("{}/v1/traces", receiver.endpoint),
        );
        // The same binary with tracing off: what the bigger build costs alone.
        variants.push((
            "get-employee + otel build, tracing off".to_owned(),
            program.clone(),
            vec![("OTEL_SDK_DISABLED".to_owned(), "true".to_owned())],
        ));
        variants.push(("get-employee + otel".to_owned(), program.clone(), vec![endpoint.clone()]));
        variants.push((
            "get-employee + otel, export per invocation".to_owned(),
            program.clone(),
            vec![endpoint, ("OTEL_BSP_SCHEDULE_DELAY".to_owned(), "0".to_owned())],
        ));
    }
    let extras: Vec<(String, Subject)> = variants
        .iter()
        .enumerate()
        .map(|(n, (label, program, env))| {
            let mut subject = rust_at(&format!("variant-{n}"), program, &tls.endpoint);
            subject.env.retain(|(k, _)| !env.iter().any(|(name, _)| name == k));
            subject.env.extend(env.iter().cloned());
            (label.clone(), subject)
        })
        .collect();
    let baselines: Vec<(String, Subject)> = options
        .baselines
        .iter()
        .enumerate()
        .filter_map(|(n, (label, cwd, command))| {
            let (program, args) = command.split_first()?;
            let mut env = data_env(&tls.endpoint);
            // Python writes bytecode caches: keep them out of the work tree.
            env.push((
                "PYTHONPYCACHEPREFIX".to_owned(),
                scratch.join("pycache").display().to_string(),
            ));
            Some((
                label.clone(),
                Subject {
                    name: format!("baseline-{n}"),
                    program: PathBuf::from(program),
                    args: args.to_vec(),
                    cwd: cwd.clone(),
                    env,
                    artifact: None,
                },
            ))
        })
        .collect();

    let mut report = String::new();
    let mut json = json!({
        "machine": machine(),
        "cold_runs": options.cold_runs,
        "warm_invocations": options.warm,
    });
    if !options.sweep_only {
        let mut rows: Vec<Row> = Vec::new();
        let mut run = |label: &str,
                       transport: &str,
                       subject: &Subject,
                       workload: &mut dyn Workload| {
            eprintln!("bench: {label} ({transport})…");
            let measured =
                runtime_api::measure(subject, workload, options.cold_runs, options.warm, &scratch)?;
            rows.push(Row::new(label, transport, subject, measured));
            Ok::<(), BoxError>(())
        };
        run(FLOOR, "none", &floor, &mut Get::new(200))?;
        run("get-employee", "TLS", &rust("get-employee", &tls.endpoint), &mut Get::new(200))?;
        run("get-employee", "plain HTTP", &rust("get-employee", &plain), &mut Get::new(200))?;
        run("add-employee", "TLS", &rust("add-employee", &tls.endpoint), &mut Add::new("bench"))?;
        // The same POST with an Idempotency-Key: a transaction of two items.
        let keyed = rust("add-employee", &tls.endpoint);
        run("add-employee, Idempotency-Key", "TLS", &keyed, &mut Add::keyed("bench-keyed"))?;
        run(
            "remove-employee",
            "TLS",
            &rust("remove-employee", &tls.endpoint),
            &mut Remove::new("bench"),
        )?;
        if let Some(naive) = &naive {
            run(NAIVE, "TLS", naive, &mut Get::new(200))?;
        }
        for (label, subject) in extras.iter().chain(&baselines) {
            run(label, "TLS", subject, &mut Get::new(200))?;
        }

        let iterations = options.warm.max(20);
        let floor_tls = data_floor(&tls.endpoint, &table, iterations, &data_env(&tls.endpoint))?;
        let floor_plain = data_floor(&plain, &table, iterations, &data_env(&plain))?;

        let concurrency = concurrency_runs(&plain, &table, &scratch, &options)?;
        report.push_str(&self::report(&rows, &floor_tls, &floor_plain, &options));
        report.push_str(&concurrency::report(&concurrency));
        json["subjects"] = rows.iter().map(Row::json).collect();
        json["data_floor"] = json!({"tls": floor_tls, "plain": floor_plain});
        json["concurrency"] =
            concurrency.iter().map(concurrency::Measured::json).collect::<Vec<_>>().into();
    }

    // The memory sweep: the floor, get-employee, the naive function, the
    // variants and the alternatives, at each size's CPU quota.
    let mut subjects = vec![
        SweepSubject { label: FLOOR.to_owned(), role: Role::Floor, subject: floor.clone() },
        SweepSubject {
            label: "get-employee".to_owned(),
            role: Role::Ours,
            subject: rust("get-employee", &tls.endpoint),
        },
    ];
    if let Some(naive) = &naive {
        subjects.push(SweepSubject {
            label: NAIVE.to_owned(),
            role: Role::Naive,
            subject: naive.clone(),
        });
    }
    for (label, subject) in extras.iter().chain(&baselines) {
        subjects.push(SweepSubject {
            label: label.clone(),
            role: Role::Other,
            subject: subject.clone(),
        });
    }
    let launcher = bootstrap("cpu-quota-exec");
    let results = sweep::run(&subjects, groups.as_ref(), &launcher, &options.sweep, &scratch)?;
    drop(groups);
    report.push_str(&sweep::report(&subjects, &results, &options.sweep));
    json["sweep"] = sweep::json(&subjects, &results);
    if results.iter().any(|at| at.memory_mb.is_some()) {
        if let Some(dir) = options.chart.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let caption = format!(
            "get-employee and the alternatives by Lambda memory size (emulated: CPU quota per 20 ms on {})",
            machine()["cpu"].as_str().unwrap_or("this machine")
        );
        chart::draw(&options.chart, &subjects, &results, &caption)?;
        eprintln!("bench: chart written to {}", options.chart.display());
    } else {
        eprintln!("bench: no chart: no memory size was measured under a CPU quota");
    }

    if let Some(receiver) = &receiver {
        let requests = receiver.requests();
        let bytes: usize = requests.iter().map(|r| r.bytes).sum();
        if requests.is_empty() {
            return Err("the traced subjects exported nothing to the OTLP receiver".into());
        }
        report.push_str(&format!(
            "\nOTLP receiver: {} export requests, {bytes} bytes, from the traced subjects' runs.\n",
            requests.len()
        ));
        json["otlp_receiver"] = json!({"requests": requests.len(), "bytes": bytes});
    }
    println!("{report}");
    if let Some(dir) = options.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.out, serde_json::to_string_pretty(&json)?)?;
    eprintln!("bench: figures written to {}", options.out.display());
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

const FLOOR: &str = "hello-world lambda_http (floor)";
const NAIVE: &str = "naive Rust (aws-config, SDK defaults, lambda_http)";

/// DynamoDB Local runs on the JVM, whose JIT compiles the request paths
/// only after they have run a while: without this, whichever subject went
/// first met a cold engine (warm p50 about 2× that of the same binary
/// measured later in the run). Runs `n` reads and `n` writes first.
async fn warm_up_engine(client: &Client, table: &str, n: usize) -> Result<(), BoxError> {
    eprintln!("bench: warming up DynamoDB Local ({n} reads, {n} writes)…");
    let key = |id: String| AttributeValue::S(id);
    for i in 0..n {
        client.get_item().table_name(table).key("EmployeeId", key("42".into())).send().await?;
        let id = format!("warm-up-{}", i % 16);
        if i % 2 == 0 {
            client
                .put_item()
                .table_name(table)
                .item("EmployeeId", key(id))
                .item("JobTitle", key("Engineer".into()))
                .send()
                .await?;
        } else {
            client.delete_item().table_name(table).key("EmployeeId", key(id)).send().await?;
        }
    }
    Ok(())
}

/// get-employee as one process at each concurrency of the options, over
/// DynamoDB Local behind the fault proxy (adding the round trip) and TLS.
fn concurrency_runs(
    plain: &str,
    table: &str,
    scratch: &Path,
    options: &Options,
) -> Result<Vec<concurrency::Measured>, BoxError> {
    if options.concurrency.is_empty() {
        return Ok(Vec::new());
    }
    let delay = FaultProxy::start(plain);
    delay.set(Fault::Slow(concurrency::ADDED_ROUND_TRIP));
    let dir = scratch.join("concurrency");
    std::fs::create_dir_all(&dir)?;
    let tls = tls_endpoint(&delay.endpoint(), &dir, options)?;
    let env = vec![
        ("TABLE_NAME".to_owned(), table.to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB".to_owned(), tls.endpoint.clone()),
        ("SSL_CERT_FILE".to_owned(), tls.amazon_bundle.display().to_string()),
    ];
    let program = workspace().join("target/lambda/get-employee/bootstrap");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut rows = Vec::new();
    for &(n, invocations) in &options.concurrency {
        eprintln!("bench: get-employee, one process, concurrency {n} ({invocations} invocations)…");
        rows.push(runtime.block_on(concurrency::measure(&program, &env, n, invocations, &dir))?);
    }
    Ok(rows)
}

/// The TLS endpoint in front of `upstream`: DynamoDB's RSA chain, unless
/// the options ask for the tests' ECDSA one.
fn tls_endpoint(
    upstream: &str,
    dir: &Path,
    options: &Options,
) -> Result<tls_proxy::TlsProxy, BoxError> {
    if options.ecdsa_chain {
        tls_proxy::start(upstream, dir)
    } else {
        tls_proxy::start_like_dynamodb(upstream, dir)
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

struct Row {
    label: String,
    transport: String,
    measured: Measured,
    artifact_bytes: Option<u64>,
    zipped_bytes: Option<u64>,
}

fn us(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e7).round() / 1e1
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 1e2
}

/// Size of `path` deflated as a deployment zip stores it.
fn deflated_size(path: &Path) -> std::io::Result<u64> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&std::fs::read(path)?)?;
    Ok(encoder.finish()?.len() as u64)
}

impl Row {
    fn new(label: &str, transport: &str, subject: &Subject, mut measured: Measured) -> Self {
        measured.warm.latencies.sort();
        let artifact_bytes =
            subject.artifact.as_ref().and_then(|a| std::fs::metadata(a).ok()).map(|m| m.len());
        let zipped_bytes = subject.artifact.as_ref().and_then(|a| deflated_size(a).ok());
        Self {
            label: label.into(),
            transport: transport.into(),
            measured,
            artifact_bytes,
            zipped_bytes,
        }
    }

    fn init(&self) -> Duration {
        median(self.measured.colds.iter().map(|c| c.init).collect())
    }

    fn cold(&self) -> Duration {
        median(self.measured.colds.iter().map(|c| c.first_response).collect())
    }

    fn cpu(&self) -> Duration {
        median(self.measured.colds.iter().map(|c| c.cpu).collect())
    }

    fn init_cpu(&self) -> Duration {
        median(self.measured.colds.iter().map(|c| c.init_cpu).collect())
    }

    /// CPU of the first request alone (cold path minus init), per run.
    fn first_request_cpu(&self) -> Duration {
        median(self.measured.colds.iter().map(|c| c.cpu.saturating_sub(c.init_cpu)).collect())
    }

    fn p(&self, p: f64) -> Duration {
        percentile(&self.measured.warm.latencies, p)
    }

    /// CPU time per warm invocation.
    fn warm_cpu(&self) -> Duration {
        self.measured.warm.cpu / (self.measured.warm.latencies.len().max(1) as u32)
    }

    fn throughput(&self) -> f64 {
        self.measured.warm.latencies.len() as f64 / self.measured.warm.total.as_secs_f64().max(1e-9)
    }

    fn json(&self) -> Value {
        json!({
            "subject": self.label,
            "dynamodb_transport": self.transport,
            "init_ms": ms(self.init()),
            "cold_request_ms": ms(self.cold()),
            "cold_cpu_ms": ms(self.cpu()),
            "init_cpu_ms": ms(self.init_cpu()),
            "first_request_cpu_ms": ms(self.first_request_cpu()),
            "cold_runs": self.measured.colds.iter().map(|c| json!({
                "init_ms": ms(c.init), "cold_request_ms": ms(c.first_response),
                "cold_cpu_ms": ms(c.cpu), "init_cpu_ms": ms(c.init_cpu),
            })).collect::<Vec<_>>(),
            "warm_invocations": self.measured.warm.latencies.len(),
            "warm_p50_ms": ms(self.p(50.0)),
            "warm_p99_ms": ms(self.p(99.0)),
            "warm_cpu_us_per_invocation": us(self.warm_cpu()),
            "throughput_per_s": self.throughput().round(),
            "peak_rss_kib": self.measured.warm.peak_rss_kib,
            "binary_bytes": self.artifact_bytes,
            "zipped_bytes": self.zipped_bytes,
        })
    }
}

/// A bare GetItem loop in a fresh process (so its CA trust comes from the
/// same variable the functions read), returning its figures.
fn data_floor(
    endpoint: &str,
    table: &str,
    n: usize,
    env: &[(String, String)],
) -> Result<Value, BoxError> {
    eprintln!("bench: data floor, bare GetItem over {endpoint}…");
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["data-floor", endpoint, table, &n.to_string()])
        .env_clear()
        .envs(env.iter().cloned())
        .envs([
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "local"),
            ("AWS_SECRET_ACCESS_KEY", "local"),
        ])
        .output()?;
    if !output.status.success() {
        return Err(
            format!("data floor failed: {}", String::from_utf8_lossy(&output.stderr)).into()
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

fn data_floor_child(endpoint: &str, table: &str, n: usize) -> Result<(), BoxError> {
    runtime()?.block_on(async {
        // The functions' own client, from the same environment they get.
        let settings = DynamoDbSettings::from_env()?;
        if settings.endpoint_url.as_deref() != Some(endpoint) {
            return Err(format!("data floor: AWS_ENDPOINT_URL_DYNAMODB is not {endpoint}").into());
        }
        let client =
            Client::from_conf(employee_api::store::dynamodb::client_config(&settings).build());
        let get = || {
            client
                .get_item()
                .table_name(table)
                .key("EmployeeId", AttributeValue::S("42".into()))
                .send()
        };
        let started = Instant::now();
        get().await?;
        let first = started.elapsed();
        let mut times = Vec::with_capacity(n);
        let cpu_before = runtime_api::cpu_time(std::process::id());
        for _ in 0..n {
            let started = Instant::now();
            let output = get().await?;
            times.push(started.elapsed());
            if output.item.is_none() {
                return Err("GetItem found no item".into());
            }
        }
        let cpu = runtime_api::cpu_time(std::process::id()).saturating_sub(cpu_before);
        times.sort();
        println!(
            "{}",
            json!({
                "first_call_ms": ms(first),
                "calls": n,
                "cpu_us_per_call": us(cpu / n.max(1) as u32),
                "p50_ms": ms(percentile(&times, 50.0)),
                "p99_ms": ms(percentile(&times, 99.0)),
            })
        );
        Ok::<(), BoxError>(())
    })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
    })
}

fn report(rows: &[Row], floor_tls: &Value, floor_plain: &Value, options: &Options) -> String {
    let floor_cpu = rows.first().map(Row::cpu).unwrap_or_default().as_secs_f64().max(1e-9);
    let mut out = String::new();
    out.push_str(&format!(
        "Without a CPU quota: {} cold runs per subject (medians), {} warm invocations back to back. Machine: {}.\n\n",
        options.cold_runs,
        options.warm,
        machine()["cpu"].as_str().unwrap_or("?")
    ));
    out.push_str("| subject | DynamoDB | init ms | cold start ms | cold CPU ms | CPU × floor | of which init CPU ms | first-request CPU ms | warm p50 ms | warm p99 ms | warm p50 × GetItem | warm CPU µs/inv. | invocations/s | peak RSS MiB | binary MiB | zipped MiB |\n");
    out.push_str(
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let data_p50 = match row.transport.as_str() {
            "TLS" => floor_tls["p50_ms"].as_f64(),
            "plain HTTP" => floor_plain["p50_ms"].as_f64(),
            _ => None,
        };
        let cpu = row.cpu().as_secs_f64();
        let mib =
            |b: Option<u64>| b.map_or("–".to_owned(), |b| format!("{:.2}", b as f64 / 1048576.0));
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} | {} | {:.0} | {:.0} | {:.1} | {} | {} |\n",
            row.label,
            row.transport,
            ms(row.init()),
            ms(row.cold()),
            cpu * 1000.0,
            cpu / floor_cpu,
            ms(row.init_cpu()),
            ms(row.first_request_cpu()),
            ms(row.p(50.0)),
            ms(row.p(99.0)),
            data_p50.map_or("–".to_owned(), |d| format!("{:.2}", ms(row.p(50.0)) / d.max(1e-9))),
            us(row.warm_cpu()),
            row.throughput(),
            row.measured.warm.peak_rss_kib as f64 / 1024.0,
            mib(row.artifact_bytes),
            mib(row.zipped_bytes),
        ));
    }
    out.push_str(&format!(
        "\nData floor (a Rust SDK client in a fresh process, bare GetItem): over TLS first call {} ms, p50 {} ms, p99 {} ms, CPU {} µs/call; over plain HTTP first call {} ms, p50 {} ms, p99 {} ms, CPU {} µs/call.\n",
        floor_tls["first_call_ms"], floor_tls["p50_ms"], floor_tls["p99_ms"], floor_tls["cpu_us_per_call"],
        floor_plain["first_call_ms"], floor_plain["p50_ms"], floor_plain["p99_ms"], floor_plain["cpu_us_per_call"],
    ));
    out
}
