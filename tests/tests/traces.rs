//! OpenTelemetry traces, end to end: each function built with the `otel`
//! feature (scripts/build-traced.sh) runs as Lambda runs it, against the
//! tests' Runtime API, over DynamoDB Local behind the fault proxy, and
//! exports to an OTLP/HTTP receiver on loopback that decodes every request
//! with the OpenTelemetry protobuf types (tests/src/otlp_receiver.rs).
//!
//! Every span must be in the receiver by the time the function asks for its
//! next event: the export runs between the answer and the next poll, so the
//! tests wait for that poll, not for a while. Most tests export after every
//! invocation (`OTEL_BSP_SCHEDULE_DELAY=0`), to see what one invocation
//! sends; the last ones check the schedule that lets invocations share an
//! export, and the export at shutdown (`SIGTERM`). Two export to a stand-in
//! for X-Ray's OTLP endpoint, configured as on AWS, and check the SigV4
//! signature of each request against botocore's.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use employee_api_tests::botocore;
use employee_api_tests::credentials_server::CredentialsServer;
use employee_api_tests::dynamodb_local::{
    self, client, fresh_idempotency_table, fresh_table, put_items,
};
use employee_api_tests::events::http_event;
use employee_api_tests::fault_proxy::{Fault, FaultProxy};
use employee_api_tests::lambda_process::{LambdaProcess, lambda_environment, traced_debug_binary};
use employee_api_tests::otlp_receiver::ExportRequest;
use employee_api_tests::otlp_receiver::{Mode, OtlpReceiver, ReceivedSpan};
use employee_api_tests::runtime_api::{Answer, FUNCTION_TIMEOUT, Poll, RuntimeApi};
use employee_api_tests::tls_proxy;
use serde_json::{Value, json};

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const ERROR: i32 = 2;

struct Stack {
    api: Arc<RuntimeApi>,
    proxy: FaultProxy,
    receiver: OtlpReceiver,
    process: LambdaProcess,
    table: String,
    /// The function's poll for its next event, taken after each answer.
    poll: tokio::sync::Mutex<Option<Poll>>,
}

struct Options {
    mode: Mode,
    concurrency: usize,
    /// `OTEL_BSP_SCHEDULE_DELAY`, in ms.
    delay_ms: u64,
    extra: Vec<(&'static str, String)>,
    /// Whether the Runtime API refuses extensions.
    no_extensions: bool,
    /// The receiver, when not a plain one in `mode` (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    receiver: Option<OtlpReceiver>,
    /// The function's `/etc/hosts` ([`LambdaProcess::start_with_hosts`]).
    hosts: Option<PathBuf>,
    /// Variables of Lambda's environment the function is started without.
    without: &'static [&'static str],
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: Mode::Answer,
            concurrency: 1,
            delay_ms: 0,
            extra: Vec::new(),
            no_extensions: false,
            receiver: None,
            hosts: None,
            without: &[],
        }
    }
}

async fn start(function: &str, table: &str, options: Options) -> Stack {
    let api = Arc::new(RuntimeApi::start().await.expect("the Runtime API listens"));
    if options.no_extensions {
        api.refuse_extensions();
    }
    let proxy = FaultProxy::start(dynamodb_local::endpoint());
    let receiver = match options.receiver {
        Some(receiver) => receiver,
        None => OtlpReceiver::start(options.mode).await,
    };
    let mut env = lambda_environment(function, &api.address);
    env.retain(|(name, _)| !options.without.contains(&name.as_str()));
    env.extend(
        [
            ("TABLE_NAME", table.to_owned()),
            ("AWS_ENDPOINT_URL_DYNAMODB", proxy.endpoint()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=secret-1".to_owned()),
            ("AWS_LAMBDA_MAX_CONCURRENCY", options.concurrency.to_string()),
            ("OTEL_BSP_SCHEDULE_DELAY", options.delay_ms.to_string()),
        ]
        .into_iter()
        .chain(options.extra)
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let log = std::env::temp_dir().join(format!(
        "traces-{function}-{}-{}.log",
        std::process::id(),
        table
    ));
    let binary = traced_debug_binary(function);
    let process = match &options.hosts {
        Some(hosts) => LambdaProcess::start_with_hosts(&binary, &env, &log, hosts),
        None => LambdaProcess::start(&binary, &env, &log),
    };
    Stack {
        api,
        proxy,
        receiver,
        process,
        table: table.to_owned(),
        poll: tokio::sync::Mutex::new(None),
    }
}

impl Stack {
    /// Invokes once with `trace_header` (`None`: a fresh sampled one), and
    /// waits for the function's next poll, by which time its spans must have
    /// been exported. Returns the answer and when that poll came.
    async fn invoke(&self, payload: &Value, trace_header: Option<String>) -> (Answer, Instant) {
        let mut held = self.poll.lock().await;
        let poll = match held.take() {
            Some(poll) => poll,
            None => self.api.next_poll(Some(Duration::from_secs(30))).await.unwrap_or_else(|| {
                panic!("the function never polled; log:\n{}", self.process.output())
            }),
        };
        let payload = serde_json::to_vec(payload).unwrap();
        let answer = self
            .api
            .hand_over_traced(poll, &payload, FUNCTION_TIMEOUT, trace_header)
            .answer()
            .await;
        let next =
            self.api.next_poll(Some(Duration::from_secs(30))).await.unwrap_or_else(|| {
                panic!("no poll after the answer; log:\n{}", self.process.output())
            });
        let polled = next.arrived;
        *held = Some(next);
        (answer, polled)
    }

    /// The spans of the trace `answer` was given.
    fn trace(&self, answer: &Answer) -> Trace {
        let trace_id = xray_trace_id(&answer.trace_id);
        let spans: Vec<ReceivedSpan> =
            self.receiver.spans().into_iter().filter(|s| s.trace_id == trace_id).collect();
        let servers: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.kind == SERVER).collect();
        assert_eq!(
            servers.len(),
            1,
            "one server span for {} in trace {trace_id}, got {spans:#?}\nlog:\n{}",
            answer.request_id,
            self.process.output()
        );
        let server = servers[0].clone();
        let attempts =
            spans.iter().filter(|s| s.kind == CLIENT).cloned().collect::<Vec<ReceivedSpan>>();
        Trace { server, attempts, header: answer.trace_id.clone() }
    }
}

impl Stack {
    /// The function's log lines that are JSON, in order.
    fn log_lines(&self) -> Vec<Value> {
        let output = self.process.output();
        output.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}

struct Trace {
    server: ReceivedSpan,
    attempts: Vec<ReceivedSpan>,
    header: String,
}

/// The OpenTelemetry trace id (32 hex digits) of an X-Ray header's `Root`.
fn xray_trace_id(header: &str) -> String {
    let root = field(header, "Root");
    let parts: Vec<&str> = root.split('-').collect();
    assert_eq!(parts.len(), 3, "{header}");
    format!("{}{}", parts[1], parts[2])
}

fn field<'a>(header: &'a str, name: &str) -> &'a str {
    header
        .split(';')
        .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} in {header}"))
}

/// Checks a server span and its attempts against the invocation: the trace
/// and parent of its X-Ray header, the FaaS and HTTP attributes, and every
/// attempt a child of it, with the AWS SDK attributes.
fn check(
    trace: &Trace,
    answer: &Answer,
    function: &str,
    route: &str,
    status: i64,
    tables: &[&str],
) {
    let server = &trace.server;
    assert_eq!(server.parent_span_id, field(&trace.header, "Parent"), "parent of {server:#?}");
    assert_eq!(server.text("faas.invocation_id"), answer.request_id);
    assert_eq!(server.text("faas.name"), function);
    assert_eq!(server.text("cloud.provider"), "aws");
    assert_eq!(server.text("cloud.region"), "us-east-1");
    assert_eq!(
        server.text("cloud.resource_id"),
        "arn:aws:lambda:us-east-1:123456789012:function:emulated"
    );
    assert!(server.attribute("faas.coldstart").is_boolean(), "{server:#?}");
    assert_eq!(server.resource.get("service.name"), Some(&json!(function)));
    assert_eq!(server.resource.get("cloud.provider"), Some(&json!("aws")));
    assert_eq!(server.scope_name, "employee-api");
    assert_eq!(server.scope_schema_url, "https://opentelemetry.io/schemas/1.42.0");
    assert!(server.start_unix_nano > 0 && server.end_unix_nano >= server.start_unix_nano);
    if route == "invoke" {
        assert_eq!(server.name, function);
        assert_eq!(server.text("faas.trigger"), "other");
        assert_eq!(server.attribute("http.request.method"), &Value::Null);
    } else {
        let (method, path) = route.split_once(' ').unwrap();
        assert_eq!(server.name, route);
        assert_eq!(server.text("faas.trigger"), "http");
        assert_eq!(server.text("http.request.method"), method);
        assert_eq!(server.text("http.route"), path);
        assert_eq!(server.attribute("http.response.status_code"), &json!(status));
    }
    assert!(!trace.attempts.is_empty(), "no DynamoDB attempt spans under {server:#?}");
    for attempt in &trace.attempts {
        assert_eq!(attempt.parent_span_id, server.span_id, "{attempt:#?}");
        assert_eq!(attempt.text("rpc.system"), "aws-api");
        assert_eq!(attempt.text("rpc.service"), "DynamoDB");
        assert_eq!(attempt.name, format!("DynamoDB.{}", attempt.text("rpc.method")));
        assert_eq!(attempt.text("cloud.region"), "us-east-1");
        let named: Vec<&str> = attempt
            .attribute("aws.dynamodb.table_names")
            .as_array()
            .unwrap_or_else(|| panic!("table names on {attempt:#?}"))
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(
            !named.is_empty() && named.iter().all(|t| tables.contains(t)),
            "{named:?} not among {tables:?}"
        );
        assert!(!attempt.text("aws.request_id").is_empty(), "request id on {attempt:#?}");
        assert!(attempt.start_unix_nano >= server.start_unix_nano, "{attempt:#?}");
        assert!(attempt.end_unix_nano <= server.end_unix_nano, "{attempt:#?}");
    }
}

fn methods(trace: &Trace) -> Vec<String> {
    trace.attempts.iter().map(|a| a.text("rpc.method").to_owned()).collect()
}

fn employee(id: &str, title: &str) -> Value {
    json!({"employee": id, "jobTitle": title})
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_employee_traces_reads_listings_and_direct_invocations() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("t-1", "Engineer"), ("t-2", "Engineer")]).await;
    let stack = start("get-employee", &table, Options::default()).await;
    let tables = [stack.table.as_str()];

    let (answer, _) = stack.invoke(&http_event("GET", "/employees/t-1").build(), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "GET /employees/{employeeId}", 200, &tables);
    assert_eq!(methods(&trace), ["GetItem"]);
    assert_eq!(trace.attempts[0].attribute("http.response.status_code"), &json!(200));
    assert_eq!(trace.server.attribute("faas.coldstart"), &json!(true), "the first invocation");

    let list = http_event("GET", "/employees").query("jobTitle=Engineer").build();
    let (answer, _) = stack.invoke(&list, None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "GET /employees", 200, &tables);
    assert_eq!(methods(&trace), ["Query"]);
    assert_eq!(trace.server.attribute("faas.coldstart"), &json!(false));

    let (answer, _) = stack.invoke(&json!({"employee": "t-2"}), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "invoke", 200, &tables);
    assert_eq!(methods(&trace), ["GetItem"]);

    // A refused request: the stable code, no error status (a 4xx is handled).
    let (answer, _) = stack.invoke(&http_event("GET", "/employees/nobody").build(), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "GET /employees/{employeeId}", 404, &tables);
    assert_eq!(trace.server.text("employee_api.error_code"), "EmployeeDoesNotExist");
    assert_eq!(trace.server.attribute("error.type"), &Value::Null);
    assert_ne!(trace.server.status_code, ERROR);

    // The standard headers variable reaches the collector; the path is OTLP's.
    let requests = stack.receiver.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(
            request.headers.get("content-type").map(String::as_str),
            Some("application/x-protobuf")
        );
        assert_eq!(request.headers.get("x-collector-key").map(String::as_str), Some("secret-1"));
    }
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_employee_traces_creates_and_keyed_puts() {
    let db = client();
    let table = fresh_table(&db).await;
    let keys = fresh_idempotency_table(&db).await;
    let options =
        Options { extra: vec![("IDEMPOTENCY_TABLE_NAME", keys.clone())], ..Options::default() };
    let stack = start("add-employee", &table, options).await;
    let tables = [table.as_str(), keys.as_str()];

    let create =
        http_event("POST", "/employees").json_body(employee("c-1", "Engineer").to_string()).build();
    let (answer, _) = stack.invoke(&create, None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "add-employee", "POST /employees", 201, &tables);
    assert_eq!(methods(&trace), ["UpdateItem"]);

    let put = http_event("PUT", "/employees/k-1")
        .header("Idempotency-Key", "\"trace-key-1\"")
        .json_body(json!({"jobTitle": "Keyed"}).to_string());
    let (answer, _) = stack.invoke(&put.build(), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "add-employee", "PUT /employees/{employeeId}", 201, &tables);
    let transaction = trace
        .attempts
        .iter()
        .find(|a| a.text("rpc.method") == "TransactWriteItems")
        .unwrap_or_else(|| panic!("a TransactWriteItems attempt in {:?}", methods(&trace)));
    let mut named: Vec<&str> = transaction
        .attribute("aws.dynamodb.table_names")
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    named.sort_unstable();
    let mut both = [table.as_str(), keys.as_str()];
    both.sort_unstable();
    assert_eq!(named, both, "the transaction writes the employee and the key's record");
    println!("span tree of a keyed PUT:\n{}", tree(&trace));

    // A create that exists: DynamoDB refuses the condition, the API 409.
    let (answer, _) = stack.invoke(&create, None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "add-employee", "POST /employees", 409, &tables);
    let refused = &trace.attempts[0];
    assert_eq!(refused.text("error.type"), "ConditionalCheckFailedException", "{refused:#?}");
    assert_eq!(refused.attribute("http.response.status_code"), &json!(400));
    assert_eq!(refused.status_code, ERROR);
}

#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_employee_traces_removals_and_sampling_decisions() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("r-1", "Engineer"), ("r-2", "Engineer")]).await;
    let stack = start("remove-employee", &table, Options::default()).await;
    let tables = [table.as_str()];

    let (answer, _) = stack.invoke(&http_event("DELETE", "/employees/r-1").build(), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "remove-employee", "DELETE /employees/{employeeId}", 200, &tables);
    assert_eq!(methods(&trace), ["DeleteItem"]);

    // Lambda's header says not to sample: nothing is recorded or exported.
    let before = stack.receiver.spans().len();
    let unsampled = "Root=1-5f84c7a1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=0";
    let (answer, _) = stack
        .invoke(&http_event("DELETE", "/employees/r-2").build(), Some(unsampled.to_owned()))
        .await;
    assert_eq!(answer.result.as_ref().unwrap()["statusCode"], 200, "{:?}", answer.result);
    assert_eq!(stack.receiver.spans().len(), before, "spans of an unsampled invocation");

    // The direct door.
    let (answer, _) = stack.invoke(&json!({"employee": "r-9"}), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "remove-employee", "invoke", 404, &tables);
}

/// DynamoDB throttles the first two attempts: three attempt spans under the
/// one invocation, the first two with the throttling error, the retries
/// numbered.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_calls_show_each_attempt_with_its_error() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("h-1", "Engineer")]).await;
    let stack = start("get-employee", &table, Options::default()).await;
    // The connection check at init is not an API request; warm up first.
    stack.invoke(&http_event("GET", "/employees/h-1").build(), None).await;

    stack.proxy.set_for(Fault::ProvisionedThroughputExceeded, 2);
    let (answer, _) = stack.invoke(&http_event("GET", "/employees/h-1").build(), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "GET /employees/{employeeId}", 200, &[&table]);
    let mut attempts = trace.attempts.clone();
    attempts.sort_by_key(|a| a.start_unix_nano);
    let errors: Vec<&str> = attempts.iter().map(|a| a.text("error.type")).collect();
    assert_eq!(
        errors,
        ["ProvisionedThroughputExceededException", "ProvisionedThroughputExceededException", ""],
        "{attempts:#?}"
    );
    let resends: Vec<&Value> =
        attempts.iter().map(|a| a.attribute("http.request.resend_count")).collect();
    assert_eq!(resends, [&Value::Null, &json!(1), &json!(2)]);
    assert_eq!(attempts[0].status_code, ERROR);

    // Throttled throughout: the invocation answers 503 with three failed
    // attempts, and its span carries the server error.
    stack.proxy.set(Fault::Throttling);
    let (answer, _) = stack.invoke(&http_event("GET", "/employees/h-1").build(), None).await;
    stack.proxy.set(Fault::None);
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "GET /employees/{employeeId}", 503, &[&table]);
    assert_eq!(trace.attempts.len(), 3);
    assert!(trace.attempts.iter().all(|a| a.text("error.type") == "ThrottlingException"));
    assert_eq!(trace.server.text("error.type"), "ServiceUnavailable");
    assert_eq!(trace.server.status_code, ERROR);
}

/// A collector that never answers: the answer is not delayed by it (the
/// export runs after the answer), the next poll comes once the export's
/// bound has passed and not much later, and the dropped spans are counted in
/// a warning line of the invocation.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_costs_the_bound_after_the_answer() {
    let bound = Duration::from_millis(1500);
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("s-1", "Engineer")]).await;
    let options = Options {
        mode: Mode::Stall,
        extra: vec![("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", bound.as_millis().to_string())],
        ..Options::default()
    };
    let stack = start("get-employee", &table, options).await;

    for _ in 0..2 {
        let (answer, polled) =
            stack.invoke(&http_event("GET", "/employees/s-1").build(), None).await;
        assert_eq!(answer.result.as_ref().unwrap()["statusCode"], 200);
        assert!(answer.latency < bound, "the answer waited for the export: {:?}", answer.latency);
        let answered = answer.handed_out.unwrap() + answer.latency;
        let after = polled.duration_since(answered);
        assert!(after >= bound - Duration::from_millis(50), "no export attempted: {after:?}");
        assert!(after < bound + Duration::from_secs(3), "the export overran its bound: {after:?}");
        let warned = stack.log_lines().into_iter().any(|line| {
            line["message"] == "traces not exported"
                && line["spans_dropped"] == 2
                && line["span"]["requestId"] == answer.request_id.as_str()
        });
        assert!(warned, "no warning counting 2 dropped spans; log:\n{}", stack.process.output());
    }
    assert!(!stack.receiver.requests().is_empty(), "the collector was never asked");
}

/// Eight invocations in flight in one process (Lambda Managed Instances):
/// every span belongs to its own invocation's trace, and every attempt span
/// to its own invocation's server span.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_each_get_their_own_spans() {
    const CONCURRENCY: usize = 8;
    let db = client();
    let table = fresh_table(&db).await;
    let seeded: Vec<(String, String)> =
        (0..16).map(|i| (format!("m-{i}"), format!("Title {}", i % 2))).collect();
    let items: Vec<(&str, &str)> = seeded.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    put_items(&db, &table, &items).await;
    let options = Options { concurrency: CONCURRENCY, ..Options::default() };
    let stack = start("get-employee", &table, options).await;
    stack.proxy.set(Fault::Slow(Duration::from_millis(40)));

    // Each invocation's expected DynamoDB operation tells its attempts apart.
    let mut cases: Vec<(Value, &str)> = Vec::new();
    for (i, (id, _)) in seeded.iter().enumerate() {
        cases.push((http_event("GET", &format!("/employees/{id}")).build(), "GetItem"));
        if i % 2 == 0 {
            let list =
                http_event("GET", "/employees").query(&format!("jobTitle=Title%20{}", i % 4 / 2));
            cases.push((list.build(), "Query"));
        }
    }
    let total = cases.len();
    let tasks: Vec<_> = cases
        .into_iter()
        .map(|(payload, operation)| {
            let api = Arc::clone(&stack.api);
            tokio::spawn(async move { (api.invoke(&payload).await, operation) })
        })
        .collect();
    let mut answered = Vec::new();
    for task in tasks {
        answered.push(task.await.unwrap());
    }
    stack.proxy.set(Fault::None);
    assert_eq!(stack.api.peak_in_flight(), CONCURRENCY, "never {CONCURRENCY} in flight at once");
    // Every worker asks for its next event only after its export.
    // (The polls are kept: one dropped would close its connection, and the
    // runtime would poll again at once.)
    let mut polls = Vec::new();
    for _ in 0..CONCURRENCY {
        polls.push(stack.api.next_poll(Some(Duration::from_secs(30))).await.expect("a next poll"));
    }

    let spans = stack.receiver.spans();
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut problems = Vec::new();
    for (answer, operation) in &answered {
        let trace_id = xray_trace_id(&answer.trace_id);
        let servers: Vec<&ReceivedSpan> =
            spans.iter().filter(|s| s.kind == SERVER && s.trace_id == trace_id).collect();
        if servers.len() != 1
            || servers[0].text("faas.invocation_id") != answer.request_id
            || servers[0].parent_span_id != field(&answer.trace_id, "Parent")
        {
            problems.push(format!("{}: server spans {servers:?}", answer.request_id));
            continue;
        }
        let children: Vec<&ReceivedSpan> =
            spans.iter().filter(|s| s.parent_span_id == servers[0].span_id).collect();
        if children.len() != 1 || children[0].text("rpc.method") != *operation {
            problems.push(format!(
                "{}: {operation} expected, children {children:?}",
                answer.request_id
            ));
        }
    }
    for span in spans.iter().filter(|s| s.kind == CLIENT) {
        let parent = by_id.get(span.parent_span_id.as_str());
        if parent.is_none_or(|p| p.trace_id != span.trace_id || p.kind != SERVER) {
            problems.push(format!("attempt span without its invocation: {span:?}"));
        }
    }
    assert!(problems.is_empty(), "{} misattributed:\n{}", problems.len(), problems.join("\n"));
    assert_eq!(spans.iter().filter(|s| s.kind == SERVER).count(), total, "server spans");
}

/// The span tree of one trace, indented, for the test's output.
fn tree(trace: &Trace) -> String {
    let line = |s: &ReceivedSpan| {
        let ms = (s.end_unix_nano.saturating_sub(s.start_unix_nano)) as f64 / 1e6;
        let keys: Vec<String> = s
            .attributes
            .iter()
            .map(|(k, v)| {
                format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            })
            .collect();
        format!(
            "{} [{:.2} ms] span {} parent {}\n      {}",
            s.name,
            ms,
            s.span_id,
            s.parent_span_id,
            keys.join(" ")
        )
    };
    let mut out = format!("trace {}\n  {}\n", trace.server.trace_id, line(&trace.server));
    let mut attempts = trace.attempts.clone();
    attempts.sort_by_key(|a| a.start_unix_nano);
    for attempt in &attempts {
        out.push_str(&format!("    └ {}\n", line(attempt)));
    }
    out
}

/// Sends `SIGTERM`, as Lambda does before it shuts an environment down.
fn terminate(process: &LambdaProcess) {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &process.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -TERM failed");
}

/// The spans each export request carried, in order.
fn exports(receiver: &OtlpReceiver) -> Vec<usize> {
    receiver.requests().iter().map(|r| r.spans).collect()
}

/// With a delay, invocations share an export: the first one exports at
/// once, the next ones wait until `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` spans
/// do, and those still waiting leave on `SIGTERM`, within the shutdown bound,
/// before the process exits. The internal extension that makes Lambda send
/// that signal is registered at init.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_share_exports_and_the_rest_leave_at_shutdown() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("b-1", "Engineer")]).await;
    let options = Options {
        delay_ms: 60_000,
        extra: vec![
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "5000".to_owned()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "6".to_owned()),
        ],
        ..Options::default()
    };
    let mut stack = start("get-employee", &table, options).await;
    let get = http_event("GET", "/employees/b-1").build();

    let (first, _) = stack.invoke(&get, None).await;
    assert_eq!(stack.api.extensions(), ["employee-api-traces"], "the extension registered at init");
    assert_eq!(exports(&stack.receiver), [2], "the first invocation exports at once");
    stack.trace(&first);
    let mut answers = Vec::new();
    for expected in [[2].as_slice(), &[2], &[2, 6]] {
        let (answer, _) = stack.invoke(&get, None).await;
        answers.push(answer);
        assert_eq!(exports(&stack.receiver), expected, "log:\n{}", stack.process.output());
    }
    for answer in &answers {
        assert_eq!(methods(&stack.trace(answer)), ["GetItem"]);
    }
    let (last, _) = stack.invoke(&get, None).await;
    assert_eq!(exports(&stack.receiver), [2, 6], "the last invocation's spans wait");

    // The function waits on its next poll, as a frozen one would.
    let signalled = Instant::now();
    terminate(&stack.process);
    let status = stack.process.wait_for_exit(Duration::from_secs(5));
    let took = signalled.elapsed();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exit after SIGTERM; log:\n{}",
        stack.process.output()
    );
    assert!(took < Duration::from_millis(500), "shutdown took {took:?} (Lambda kills at 500 ms)");
    assert_eq!(exports(&stack.receiver), [2, 6, 2]);
    check(
        &stack.trace(&last),
        &last,
        "get-employee",
        "GET /employees/{employeeId}",
        200,
        &[&table],
    );
    let said = stack.log_lines().into_iter().any(|line| {
        line["message"] == "shutting down"
            && line["spans_exported"] == 2
            && line["signal"] == "SIGTERM"
    });
    assert!(said, "no shutdown line; log:\n{}", stack.process.output());
}

/// The delay alone: an invocation within `OTEL_BSP_SCHEDULE_DELAY` of the
/// last export waits; the first one after it takes the waiting spans along.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_waits_for_the_schedule_delay() {
    let delay = Duration::from_millis(1500);
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("d-1", "Engineer")]).await;
    let options = Options { delay_ms: delay.as_millis() as u64, ..Options::default() };
    let stack = start("get-employee", &table, options).await;
    let get = http_event("GET", "/employees/d-1").build();

    let (first, _) = stack.invoke(&get, None).await;
    let exported = first.handed_out.unwrap() + first.latency;
    assert_eq!(exports(&stack.receiver), [2]);
    let (second, _) = stack.invoke(&get, None).await;
    assert!(exported.elapsed() < delay, "too slow to test the delay: {:?}", exported.elapsed());
    assert_eq!(exports(&stack.receiver), [2], "within the delay, spans wait");
    tokio::time::sleep(delay.saturating_sub(exported.elapsed()) + Duration::from_millis(50)).await;
    let (third, _) = stack.invoke(&get, None).await;
    assert_eq!(exports(&stack.receiver), [2, 4], "after the delay, one export takes both");
    for answer in [&first, &second, &third] {
        check(
            &stack.trace(answer),
            answer,
            "get-employee",
            "GET /employees/{employeeId}",
            200,
            &[&table],
        );
    }
}

/// A Runtime API without the Extensions API (an emulator): no `SIGTERM`
/// will come, so nothing may wait: every invocation exports its own spans,
/// whatever the delay, and one warning says so at init; the signals are
/// left as they were (`SIGTERM` ends the process).
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_extensions_api_every_invocation_exports() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("e-1", "Engineer")]).await;
    let options = Options { delay_ms: 60_000, no_extensions: true, ..Options::default() };
    let stack = start("get-employee", &table, options).await;
    let get = http_event("GET", "/employees/e-1").build();
    for n in 1..=3 {
        let (answer, _) = stack.invoke(&get, None).await;
        assert_eq!(exports(&stack.receiver), vec![2; n], "log:\n{}", stack.process.output());
        stack.trace(&answer);
    }
    assert!(stack.api.extensions().is_empty());
    let warned = stack
        .log_lines()
        .into_iter()
        .filter(|line| {
            line["level"] == "WARN"
                && line["message"].as_str().is_some_and(|m| m.starts_with("no export at shutdown"))
        })
        .count();
    assert_eq!(warned, 1, "one warning at init; log:\n{}", stack.process.output());
    // The signals keep their default: SIGTERM still ends the process.
    let mut stack = stack;
    terminate(&stack.process);
    let status = stack.process.wait_for_exit(Duration::from_secs(5));
    assert_eq!(
        status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)),
        Some(15),
        "not ended by SIGTERM: {status:?}"
    );
}

/// X-Ray's OTLP traces endpoint in the functions' region, as it is
/// configured on AWS (docs/operations.md).
const XRAY_TRACES: &str = "https://xray.us-east-1.amazonaws.com/v1/traces";
const XRAY_HOST: &str = "xray.us-east-1.amazonaws.com";

/// Options that start a function exporting to [`XRAY_TRACES`], where a
/// stand-in for X-Ray's endpoint answers: a receiver on HTTPS port 443 of a
/// loopback address of the test's own, presenting a certificate for X-Ray's
/// host name from an authority the function trusts (`SSL_CERT_FILE`); the
/// name resolves to that address for the function's process alone (its own
/// `/etc/hosts`). The function itself is unchanged: it resolves the name,
/// checks the certificate and signs as it would on AWS.
async fn xray(name: &str, mut extra: Vec<(&'static str, String)>) -> Options {
    use std::sync::atomic::{AtomicU8, Ordering};
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let dir = std::env::temp_dir().join(format!("traces-xray-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 127.88.<pid>.<n>: apart from 127.0.0.1 and from other test processes.
    let address =
        format!("127.88.{}.{}", std::process::id() % 250 + 1, NEXT.fetch_add(1, Ordering::Relaxed));
    let (acceptor, authority) = tls_proxy::server_for(&[XRAY_HOST]).expect("a certificate");
    let listen = format!("{address}:443").parse().unwrap();
    let receiver = OtlpReceiver::start_tls(Mode::Answer, listen, acceptor).await;
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, authority).unwrap();
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 localhost\n::1 localhost\n{address} {XRAY_HOST}\n"))
        .unwrap();
    extra.push(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", XRAY_TRACES.to_owned()));
    extra.push(("SSL_CERT_FILE", ca_file.display().to_string()));
    Options { receiver: Some(receiver), hosts: Some(hosts), extra, ..Options::default() }
}

/// Checks that `request` is signed for X-Ray in us-east-1 with these
/// credentials, as botocore signs it: the same `Authorization` header for
/// the same method, URL, signed headers, body and time. Returns the access
/// key id it names.
fn check_signature(request: &ExportRequest, secret: &str, token: Option<&str>) -> String {
    let header = |name: &str| request.headers.get(name).map(String::as_str);
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/traces"));
    assert_eq!(header("host"), Some(XRAY_HOST));
    let authorization = header("authorization").expect("a signed export");
    let access_key_id = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("not SigV4: {authorization}"));
    assert!(authorization.contains("/us-east-1/xray/aws4_request, "), "{authorization}");
    let signed = botocore::signed_headers(authorization);
    for name in ["content-type", "host", "x-amz-date", "x-collector-key"] {
        assert!(signed.iter().any(|s| s == name), "{name} is signed: {authorization}");
    }
    assert_eq!(header("x-amz-security-token"), token);
    let date = header("x-amz-date").expect("X-Amz-Date");
    let headers: Vec<(&String, &String)> = request
        .headers
        .iter()
        .filter(|(name, _)| signed.contains(name) && *name != "host")
        .collect();
    let expected = botocore::sign(&[json!({
        "method": "POST",
        "url": XRAY_TRACES,
        "headers": headers,
        "body": base64_of(&request.body),
        "service": "xray",
        "region": "us-east-1",
        "access_key_id": access_key_id,
        "secret": secret,
        "token": token,
        "amz_date": date,
    })]);
    assert_eq!(Some(authorization), expected[0]["authorization"].as_str(), "botocore disagrees");
    // Signed at the time of the export.
    let signed_at = expected[0]["time"].as_u64().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    assert!(signed_at + 120 >= now && signed_at <= now + 1, "{date}");
    access_key_id.to_owned()
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str =
    "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token/with=odd+chars";

/// Configured for X-Ray's OTLP endpoint, the function exports there
/// directly: over TLS to X-Ray's host name, every request signed for the
/// service `xray` with the function's temporary credentials (the keys and
/// session token Lambda puts in the environment), and carrying the
/// invocation's spans.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_to_xray_are_signed_as_botocore_signs_them() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("x-1", "Engineer")]).await;
    let keys = vec![
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEXRAY".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET.to_owned()),
        ("AWS_SESSION_TOKEN", TOKEN.to_owned()),
    ];
    let stack = start("get-employee", &table, xray("keys", keys).await).await;
    let tables = [stack.table.as_str()];

    let (answer, _) = stack.invoke(&http_event("GET", "/employees/x-1").build(), None).await;
    let trace = stack.trace(&answer);
    check(&trace, &answer, "get-employee", "GET /employees/{employeeId}", 200, &tables);
    let (answer, _) = stack.invoke(&json!({"employee": "x-1"}), None).await;
    check(&stack.trace(&answer), &answer, "get-employee", "invoke", 200, &tables);

    let requests = stack.receiver.requests();
    assert_eq!(requests.len(), 2, "one export per invocation; log:\n{}", stack.process.output());
    for request in &requests {
        assert_eq!(check_signature(request, SECRET, Some(TOKEN)), "ASIAEXAMPLEXRAY");
    }
}

/// Where the credentials come from a container credentials endpoint (as
/// Lambda serves them for SnapStart and on long-lived environments), the
/// exports are signed with the ones it serves: kept while they are good
/// for more than 10 s, fetched again after that, with the endpoint's
/// token.
#[cfg_attr(not(feature = "local-stack"), ignore = "needs the local stack: ./scripts/test.sh")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_to_xray_are_signed_with_renewed_container_credentials() {
    let db = client();
    let table = fresh_table(&db).await;
    put_items(&db, &table, &[("x-2", "Engineer")]).await;
    // Due for renewal 3 s after they are handed out.
    let server = CredentialsServer::start("ASIAFIRST", Duration::from_secs(13)).await;
    let endpoint = vec![
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.uri.clone()),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", server.token.clone()),
    ];
    let options = Options {
        without: &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        ..xray("container", endpoint).await
    };
    let stack = start("get-employee", &table, options).await;
    let get = http_event("GET", "/employees/x-2").build();

    let (first, _) = stack.invoke(&get, None).await;
    server.rotate("ASIASECOND", Duration::from_secs(3600));
    // Good for more than 10 s still: the same credentials.
    let (second, _) = stack.invoke(&get, None).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (third, _) = stack.invoke(&get, None).await;
    for answer in [&first, &second, &third] {
        check(
            &stack.trace(answer),
            answer,
            "get-employee",
            "GET /employees/{employeeId}",
            200,
            &[stack.table.as_str()],
        );
    }

    let requests = stack.receiver.requests();
    assert_eq!(requests.len(), 3, "one export per invocation; log:\n{}", stack.process.output());
    let signed_with: Vec<String> = requests
        .iter()
        .zip(["ASIAFIRST", "ASIAFIRST", "ASIASECOND"])
        .map(|(request, key)| {
            let token = format!("session-of-{key}");
            check_signature(request, &format!("secret-of-{key}"), Some(&token))
        })
        .collect();
    assert_eq!(signed_with, ["ASIAFIRST", "ASIAFIRST", "ASIASECOND"]);
    assert_eq!(server.fetches().1, 0, "every fetch carried the endpoint's token");
}
