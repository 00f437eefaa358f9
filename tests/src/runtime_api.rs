//! A Lambda Runtime API on loopback that hands out invocations concurrently,
//! as Lambda Managed Instances do: every `GET …/invocation/next` a function
//! has open gets the next queued event, and the function answers each on
//! `POST …/invocation/{id}/response` (or `/error`) in whatever order it
//! finishes. It counts the invocations handed out and not yet answered, and
//! the most there ever were at once, so a test can prove that one process
//! really served `N` at a time.
//!
//! Only what `lambda_runtime` sends is understood: HTTP/1.1 requests with a
//! `Content-Length` body, on keep-alive connections (one per poller).

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

/// An event waiting to be handed out.
struct Queued {
    request_id: String,
    trace_id: String,
    payload: Vec<u8>,
    /// How long the function has from the moment the event is handed out
    /// (`Lambda-Runtime-Deadline-Ms`).
    timeout: Duration,
}

/// The deadline an invocation gets unless the test chooses one: the
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

/// An invocation queued or handed out, not answered yet.
struct Waiting {
    answer: oneshot::Sender<Answer>,
    trace_id: String,
    handed_out: Option<Instant>,
    deadline: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    /// Answers awaited, by request id.
    waiting: Mutex<HashMap<String, Waiting>>,
    in_flight: AtomicUsize,
    peak_in_flight: AtomicUsize,
    init_errors: Mutex<Vec<String>>,
}

/// A running Runtime API; it stops with the test or benchmark.
pub struct RuntimeApi {
    /// `127.0.0.1:<port>`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    queue: mpsc::UnboundedSender<Queued>,
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl RuntimeApi {
    /// Listens on a free port; must be called inside a Tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let (queue, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let events = Arc::new(tokio::sync::Mutex::new(events));
        let accept_shared = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, Arc::clone(&events), Arc::clone(&accept_shared)));
            }
        });
        Ok(Self { address, queue, shared, next_id: AtomicU64::new(0) })
    }

    /// Queues `payload` for the function and waits for its answer. Its
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

    /// Queues these bytes as the payload (JSON a `Value` cannot hold, such
    /// as `"\ud800"` or `1e999`), with `timeout` to the deadline.
    pub async fn invoke_raw(&self, payload: Vec<u8>, timeout: Duration) -> Answer {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("{:08x}-0000-4000-8000-{:012x}", std::process::id(), n);
        let trace_id = format!("Root=1-00000000-{n:024x};Parent={n:016x};Sampled=1");
        let (sender, receiver) = oneshot::channel();
        self.shared.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(
            request_id.clone(),
            Waiting {
                answer: sender,
                trace_id: trace_id.clone(),
                handed_out: None,
                deadline: None,
            },
        );
        self.queue
            .send(Queued { request_id: request_id.clone(), trace_id, payload, timeout })
            .expect("the Runtime API runs");
        receiver.await.unwrap_or_else(|_| panic!("invocation {request_id} was never answered"))
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

    /// What the function reported on `…/init/error`.
    pub fn init_errors(&self) -> Vec<String> {
        self.shared.init_errors.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn serve(
    stream: TcpStream,
    events: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>>,
    shared: Arc<Shared>,
) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    while let Ok(Some((method, path, body))) = read_request(&mut reader).await {
        let response = if method == "GET" && path == NEXT {
            // One poller at a time waits on the queue; the others wait their turn.
            let event = events.lock().await.recv().await;
            let Some(event) = event else { return };
            hand_out(&shared, &event);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| (d + event.timeout).as_millis())
                .unwrap_or(0);
            let headers = [
                ("lambda-runtime-aws-request-id", event.request_id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:test".to_owned(),
                ),
                ("lambda-runtime-trace-id", event.trace_id.clone()),
                ("content-type", "application/json".to_owned()),
            ];
            http_response(200, &headers, &event.payload)
        } else if method == "POST" && path.starts_with(INVOCATION) {
            let rest = &path[INVOCATION.len()..];
            match rest.rsplit_once('/') {
                Some((id, kind @ ("response" | "error"))) => {
                    answer(&shared, id, kind == "response", &body);
                    http_response(202, &[], b"{}")
                }
                _ => http_response(404, &[], b"{}"),
            }
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

fn hand_out(shared: &Shared, event: &Queued) {
    if let Some(entry) =
        shared.waiting.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&event.request_id)
    {
        let now = Instant::now();
        entry.handed_out = Some(now);
        entry.deadline = Some(now + event.timeout);
    }
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.peak_in_flight.fetch_max(now, Ordering::SeqCst);
}

fn answer(shared: &Shared, request_id: &str, ok: bool, body: &[u8]) {
    let waiting = shared.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(request_id);
    let Some(Waiting { answer: sender, trace_id, handed_out, deadline }) = waiting else {
        return;
    };
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    let value = serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
    let _ = sender.send(Answer {
        request_id: request_id.to_owned(),
        trace_id,
        result: if ok { Ok(value) } else { Err(value) },
        latency: handed_out.map(|t| t.elapsed()).unwrap_or_default(),
        handed_out,
        deadline,
    });
}

/// One request: method, path and body; `None` when the connection closed.
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<(String, String, Vec<u8>)>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0;
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
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(std::io::Error::other("chunked request bodies are not supported"));
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(Some((method, path, body)))
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
