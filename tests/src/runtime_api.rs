//! A Lambda Runtime API on loopback, for the tests and the benchmark.
//!
//! Every `GET …/invocation/next` a function has open is a [`Poll`], taken in
//! the order they arrive; an event handed over on a poll is answered on
//! `POST …/invocation/{id}/response` (or `/error`) in whatever order the
//! function finishes, so one process can serve several at once, as Lambda
//! Managed Instances do. [`RuntimeApi::invoke`] does both steps; the
//! benchmark takes them one at a time, to time them and to act between
//! them ([`RuntimeApi::next_poll`], [`RuntimeApi::hand_over`]). It counts
//! the invocations handed out and not yet answered, and the most there
//! ever were at once, so a test can prove that one process really served
//! `N` at a time, and keeps what a function reported on `…/init/error`.
//!
//! It also answers the Extensions API's registration, as Lambda does
//! (`POST /2020-01-01/extension/register`: `200`, the
//! `Lambda-Extension-Identifier` header and the function's name, version and
//! handler; <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html#extensions-registration-api-a>),
//! and holds an extension's `GET …/extension/event/next` open: it sends no
//! event (the extensions here subscribe to none). A test can refuse
//! registrations, as an emulator without the Extensions API does.
//!
//! Only what `lambda_runtime` sends is understood: HTTP/1.1 requests with a
//! `Content-Length` body, on keep-alive connections (one per poller), each
//! with `TCP_NODELAY` so that no answer waits for Nagle's algorithm.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";
const EXTENSION_REGISTER: &str = "/2020-01-01/extension/register";
const EXTENSION_NEXT: &str = "/2020-01-01/extension/event/next";

/// The deadline an invocation gets unless the caller chooses one: the
/// template's function timeout.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// How a function answered one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    pub request_id: String,
    pub trace_id: String,
    /// The function's output (`/response`), or its error (`/error`).
    pub result: Result<Value, Value>,
    /// From handing the event over to receiving the answer.
    pub latency: Duration,
    /// When the event was handed out, and the deadline it was given.
    pub handed_out: Option<Instant>,
    pub deadline: Option<Instant>,
}

/// A function waiting on `…/invocation/next`.
pub struct Poll {
    /// When the request arrived.
    pub arrived: Instant,
    reply: oneshot::Sender<Vec<u8>>,
}

/// An event handed over, its answer still to come.
pub struct Pending {
    answer: oneshot::Receiver<(Answer, Held)>,
    request_id: String,
}

/// The function's answer is held here, its `202` not sent yet, until this
/// is dropped: what it does after answering waits.
pub struct Held {
    _release: oneshot::Sender<()>,
}

impl Pending {
    /// The function's answer (it never comes if the function never answers).
    pub async fn answer(self) -> Answer {
        self.answer_held().await.0
    }

    /// The answer, with the function held until the [`Held`] is dropped:
    /// the benchmark reads the process's CPU time in between, so that what
    /// the runtime does after its answer is not counted in it.
    pub async fn answer_held(self) -> (Answer, Held) {
        let id = self.request_id;
        self.answer.await.unwrap_or_else(|_| panic!("invocation {id} was never answered"))
    }
}

/// An invocation handed out, not answered yet.
struct Waiting {
    answer: oneshot::Sender<(Answer, Held)>,
    trace_id: String,
    handed_out: Instant,
    deadline: Instant,
}

#[derive(Default)]
struct Shared {
    /// Answers awaited, by request id.
    waiting: Mutex<HashMap<String, Waiting>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    init_errors: Mutex<Vec<String>>,
    /// The names of the extensions registered, in order.
    extensions: Mutex<Vec<String>>,
    refuse_extensions: std::sync::atomic::AtomicBool,
}

/// A running Runtime API; it stops with the test or benchmark.
pub struct RuntimeApi {
    /// `127.0.0.1:<port>`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    polls: tokio::sync::Mutex<mpsc::UnboundedReceiver<Poll>>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    /// Listens on a free port; must be called inside a Tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (polled, polls) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let accept_shared = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, polled.clone(), Arc::clone(&accept_shared)));
            }
        });
        let polls = tokio::sync::Mutex::new(polls);
        Ok(Self { address, polls, shared, next_id: AtomicU64::new(0) })
    }

    /// Hands `payload` to the function and waits for its answer. Its
    /// request id and trace id are unique to it.
    pub async fn invoke(&self, payload: &Value) -> Answer {
        let payload = serde_json::to_vec(payload).expect("a JSON value serializes");
        self.invoke_raw(payload, FUNCTION_TIMEOUT).await
    }

    /// [`RuntimeApi::invoke`] with `timeout` to the deadline.
    pub async fn invoke_within(&self, payload: &Value, timeout: Duration) -> Answer {
        let payload = serde_json::to_vec(payload).expect("a JSON value serializes");
        self.invoke_raw(payload, timeout).await
    }

    /// Hands these bytes over as the payload (JSON a `Value` cannot hold,
    /// such as `"\ud800"` or `1e999`), with `timeout` to the deadline.
    pub async fn invoke_raw(&self, payload: Vec<u8>, timeout: Duration) -> Answer {
        let poll = self.next_poll(None).await.expect("the Runtime API runs");
        self.hand_over(poll, &payload, timeout).answer().await
    }

    /// The function's next poll, in the order they arrived; `None` when
    /// none arrives `within` that long (`None`: no limit).
    pub async fn next_poll(&self, within: Option<Duration>) -> Option<Poll> {
        let mut polls = self.polls.lock().await;
        match within {
            Some(within) => tokio::time::timeout(within, polls.recv()).await.ok().flatten(),
            None => polls.recv().await,
        }
    }

    /// Hands `payload` over on `poll`, with `timeout` to its deadline
    /// (`Lambda-Runtime-Deadline-Ms`).
    pub fn hand_over(&self, poll: Poll, payload: &[u8], timeout: Duration) -> Pending {
        self.hand_over_traced(poll, payload, timeout, None)
    }

    /// [`RuntimeApi::hand_over`] with this X-Ray trace header
    /// (`Lambda-Runtime-Trace-Id`); `None`: a fresh one, sampled, in the
    /// format Lambda sends (`Root=1-<epoch>-<96 bits>;Parent=<64 bits>;Sampled=1`).
    pub fn hand_over_traced(
        &self,
        poll: Poll,
        payload: &[u8],
        timeout: Duration,
        trace_header: Option<String>,
    ) -> Pending {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("{:08x}-0000-4000-8000-{:012x}", std::process::id(), n);
        let trace_id = trace_header.unwrap_or_else(|| {
            let epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!(
                "Root=1-{epoch:08x}-{:08x}{:016x};Parent={:016x};Sampled=1",
                std::process::id(),
                n + 1,
                0x5eed_0000_0000_0000_u64 + n
            )
        });
        let (sender, answer) = oneshot::channel();
        let handed_out = Instant::now();
        self.shared.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(
            request_id.clone(),
            Waiting {
                answer: sender,
                trace_id: trace_id.clone(),
                handed_out,
                deadline: handed_out + timeout,
            },
        );
        let now = self.shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| (d + timeout).as_millis())
            .unwrap_or(0);
        let headers = [
            ("lambda-runtime-aws-request-id", request_id.clone()),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:emulated".to_owned(),
            ),
            ("lambda-runtime-trace-id", trace_id),
            ("content-type", "application/json".to_owned()),
        ];
        let _ = poll.reply.send(http_response(200, &headers, payload));
        Pending { answer, request_id }
    }

    /// Invocations handed out and not yet answered, now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most invocations in flight at once so far.
    pub fn peak_in_flight(&self) -> usize {
        self.shared.peak_in_flight.load(Ordering::SeqCst)
    }

    /// Forgets the peak (between phases of a test).
    pub fn reset_peak(&self) {
        self.shared.peak_in_flight.store(self.in_flight(), Ordering::SeqCst);
    }

    /// The names of the extensions registered so far.
    pub fn extensions(&self) -> Vec<String> {
        self.shared.extensions.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// From now on, answers registrations `404`, as a Runtime API without
    /// the Extensions API does.
    pub fn refuse_extensions(&self) {
        self.shared.refuse_extensions.store(true, Ordering::SeqCst);
    }

    /// What the function reported on `…/init/error`.
    pub fn init_errors(&self) -> Vec<String> {
        self.shared.init_errors.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn serve(stream: TcpStream, polled: mpsc::UnboundedSender<Poll>, shared: Arc<Shared>) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some((method, path, headers, body))) = read_request(&mut reader).await {
        let response = if method == "GET" && path == NEXT {
            let (reply, event) = oneshot::channel();
            if polled.send(Poll { arrived: Instant::now(), reply }).is_err() {
                return;
            }
            // Held until an event is handed over on this poll.
            let Ok(event) = event.await else { return };
            event
        } else if method == "POST" && path.starts_with(INVOCATION) {
            let rest = &path[INVOCATION.len()..];
            match rest.rsplit_once('/') {
                Some((id, kind @ ("response" | "error"))) => {
                    if let Some(released) = answer(&shared, id, kind == "response", &body) {
                        // Dropped unanswered when the receiver is gone.
                        let _ = released.await;
                    }
                    http_response(202, &[], b"{}")
                }
                _ => http_response(404, &[], b"{}"),
            }
        } else if method == "POST"
            && path == EXTENSION_REGISTER
            && !shared.refuse_extensions.load(Ordering::SeqCst)
        {
            let name = headers.get("lambda-extension-name").cloned().unwrap_or_default();
            let mut extensions = shared.extensions.lock().unwrap_or_else(|p| p.into_inner());
            extensions.push(name);
            let id = format!("00000000-0000-4000-8000-{:012x}", extensions.len());
            drop(extensions);
            http_response(
                200,
                &[("lambda-extension-identifier", id), ("content-type", "application/json".into())],
                br#"{"functionName":"emulated","functionVersion":"$LATEST","handler":"bootstrap"}"#,
            )
        } else if method == "GET" && path == EXTENSION_NEXT {
            // No event ever comes: the connection stays open, unanswered.
            std::future::pending::<()>().await;
            return;
        } else if method == "POST" && path == INIT_ERROR {
            let error = String::from_utf8_lossy(&body).into_owned();
            shared.init_errors.lock().unwrap_or_else(|p| p.into_inner()).push(error);
            http_response(202, &[], b"{}")
        } else {
            http_response(404, &[], b"{}")
        };
        if writer.write_all(&response).await.is_err() {
            return;
        }
    }
}

/// Delivers an answer; what it returns completes when the receiver lets
/// the function go on.
fn answer(
    shared: &Shared,
    request_id: &str,
    ok: bool,
    body: &[u8],
) -> Option<oneshot::Receiver<()>> {
    let waiting = shared.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(request_id);
    let Waiting { answer: sender, trace_id, handed_out, deadline } = waiting?;
    let (release, released) = oneshot::channel();
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    let value = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let answer = Answer {
        request_id: request_id.to_owned(),
        trace_id,
        result: if ok { Ok(value) } else { Err(value) },
        latency: handed_out.elapsed(),
        handed_out: Some(handed_out),
        deadline: Some(deadline),
    };
    sender.send((answer, Held { _release: release })).ok()?;
    Some(released)
}

/// One request: method, path, headers (names in lower case) and body;
/// `None` when the connection closed.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<(String, String, HashMap<String, String>, Vec<u8>)>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0;
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(std::io::Error::other("chunked request bodies are not supported"));
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(Some((method, path, headers, body)))
}

fn http_response(status: u16, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} OK\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    response
}
