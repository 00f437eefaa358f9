//! A fault-injecting HTTP proxy between the functions and DynamoDB Local.
//!
//! It reads each HTTP/1.1 request the SDK sends and, depending on the
//! current [`Fault`], forwards it, answers with an error DynamoDB would send,
//! delays it, cuts the response short, never answers, or refuses connections
//! altogether. It counts the DynamoDB API requests it receives (those naming
//! an operation in `X-Amz-Target`; not the functions' `GET /` that opens a
//! connection during init), so tests can prove that retries are bounded, and
//! the connections it accepts.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to DynamoDB Local.
    None,
    /// Nothing listens: connections are refused.
    RefuseConnections,
    /// Accept and read the request, never answer.
    NeverAnswer,
    /// Wait this long, then forward.
    Slow(Duration),
    /// HTTP 500 with DynamoDB's internal-failure body.
    InternalServerError,
    /// HTTP 400 `ThrottlingException`.
    Throttling,
    /// HTTP 400 `ProvisionedThroughputExceededException`.
    ProvisionedThroughputExceeded,
    /// HTTP 400 `TransactionConflictException`, as a plain write to an item
    /// that a transaction holds gets.
    TransactionConflict,
    /// Forward, then send only the first half of the response and close.
    CutResponse,
}

struct Shared {
    fault: Mutex<Fault>,
    /// Requests left before the fault clears by itself (`None`: it stays).
    remaining: Mutex<Option<usize>>,
    requests: AtomicUsize,
    /// Every request received, whatever it is.
    messages: AtomicUsize,
    connections: AtomicUsize,
    health_checks: AtomicUsize,
    /// The access key id of every signed API request, in order.
    access_keys: Mutex<Vec<String>>,
    upstream: String,
}

/// A running proxy; it stops with the test binary.
pub struct FaultProxy {
    shared: Arc<Shared>,
    port: u16,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`127.0.0.1:port`) on a free port, on a
    /// runtime of its own that outlives any single test.
    pub fn start(upstream: &str) -> Self {
        let shared = Arc::new(Shared {
            fault: Mutex::new(Fault::None),
            remaining: Mutex::new(None),
            requests: AtomicUsize::new(0),
            messages: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            health_checks: AtomicUsize::new(0),
            access_keys: Mutex::new(Vec::new()),
            upstream: upstream.trim_start_matches("http://").trim_end_matches('/').to_owned(),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let task_shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(serve(task_shared, ready_tx));
        });
        let port = ready_rx.recv().expect("the proxy started");
        Self { shared, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.shared.remaining.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.shared.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// `fault` for the next `requests` requests, then [`Fault::None`].
    pub fn set_for(&self, fault: Fault, requests: usize) {
        *self.shared.remaining.lock().unwrap_or_else(|p| p.into_inner()) = Some(requests);
        *self.shared.fault.lock().unwrap_or_else(|p| p.into_inner()) = fault;
    }

    /// Requests of any kind received since the last call.
    pub fn take_message_count(&self) -> usize {
        self.shared.messages.swap(0, Ordering::SeqCst)
    }

    /// DynamoDB API requests received since the last call.
    pub fn take_request_count(&self) -> usize {
        self.shared.requests.swap(0, Ordering::SeqCst)
    }

    /// Health checks (an unsigned `GET /`) answered since the last call.
    pub fn take_health_check_count(&self) -> usize {
        self.shared.health_checks.swap(0, Ordering::SeqCst)
    }

    /// The access key ids the API requests since the last call were signed
    /// with (`Credential=<id>/…` of their `Authorization`), in order.
    pub fn take_access_keys(&self) -> Vec<String> {
        std::mem::take(&mut *self.shared.access_keys.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Connections accepted since the last call.
    pub fn take_connection_count(&self) -> usize {
        self.shared.connections.swap(0, Ordering::SeqCst)
    }
}

fn current(shared: &Shared) -> Fault {
    *shared.fault.lock().unwrap_or_else(|p| p.into_inner())
}

/// The fault for the request just received, counting it against a fault set
/// for a number of requests.
fn for_request(shared: &Shared) -> Fault {
    let mut fault = shared.fault.lock().unwrap_or_else(|p| p.into_inner());
    let mut remaining = shared.remaining.lock().unwrap_or_else(|p| p.into_inner());
    let now = *fault;
    match remaining.as_mut() {
        Some(0) => {
            *fault = Fault::None;
            *remaining = None;
            Fault::None
        }
        Some(left) => {
            *left -= 1;
            if *left == 0 {
                *fault = Fault::None;
                *remaining = None;
            }
            now
        }
        None => now,
    }
}

async fn serve(shared: Arc<Shared>, ready: std::sync::mpsc::Sender<u16>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
    let port = listener.local_addr().expect("proxy address").port();
    let _ = ready.send(port);
    let mut listener = Some(listener);
    loop {
        // Refusing means nothing listens on the port; listen again when the
        // fault clears.
        if current(&shared) == Fault::RefuseConnections {
            listener = None;
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let active = match &listener {
            Some(active) => active,
            None => match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(rebound) => listener.insert(rebound),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let accepted = tokio::time::timeout(Duration::from_millis(50), active.accept()).await;
        if let Ok(Ok((client, _))) = accepted {
            tokio::spawn(connection(Arc::clone(&shared), client));
        }
    }
}

/// Serves one client connection, request by request (keep-alive).
async fn connection(shared: Arc<Shared>, mut client: TcpStream) {
    shared.connections.fetch_add(1, Ordering::SeqCst);
    let mut buffer = Vec::new();
    while let Some(request) = read_message(&mut client, &mut buffer).await {
        shared.messages.fetch_add(1, Ordering::SeqCst);
        let head = head(&request);
        let is_api = is_api_request(&head);
        if is_api {
            shared.requests.fetch_add(1, Ordering::SeqCst);
            if let Some(key) = access_key(&request) {
                shared.access_keys.lock().unwrap_or_else(|p| p.into_inner()).push(key);
            }
        }
        let fault = if is_health_check(&head) { current(&shared) } else { for_request(&shared) };
        if !is_api && fault == Fault::None && is_health_check(&head) {
            // The endpoint's health check, as DynamoDB answers it (DynamoDB
            // Local would answer a 500).
            shared.health_checks.fetch_add(1, Ordering::SeqCst);
            let body = "healthy: dynamodb.us-east-1.amazonaws.com ";
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if client.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
            continue;
        }
        let reply = match fault {
            Fault::RefuseConnections => return,
            Fault::NeverAnswer => {
                // Hold the connection open without a word until the client gives up.
                let mut sink = [0u8; 1024];
                while client.read(&mut sink).await.is_ok_and(|n| n > 0) {}
                return;
            }
            Fault::InternalServerError => error_response(
                500,
                "com.amazon.coral.service#InternalFailure",
                "Injected internal failure",
            ),
            Fault::Throttling => error_response(
                400,
                "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "Rate of requests exceeds the allowed throughput.",
            ),
            Fault::ProvisionedThroughputExceeded => error_response(
                400,
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded.",
            ),
            Fault::TransactionConflict => error_response(
                400,
                "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
                "Transaction is ongoing for the item",
            ),
            Fault::Slow(delay) => {
                tokio::time::sleep(delay).await;
                match forward(&shared.upstream, &request).await {
                    Some(response) => response,
                    None => return,
                }
            }
            Fault::None | Fault::CutResponse => match forward(&shared.upstream, &request).await {
                Some(response) => response,
                None => return,
            },
        };
        if fault == Fault::CutResponse {
            let _ = client.write_all(&reply[..reply.len() / 2]).await;
            return;
        }
        if client.write_all(&reply).await.is_err() {
            return;
        }
    }
}

fn error_response(status: u16, error_type: &str, message: &str) -> Vec<u8> {
    let body = format!(r#"{{"__type":"{error_type}","message":"{message}"}}"#);
    let reason = if status == 500 { "Internal Server Error" } else { "Bad Request" };
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: injected\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends one request to the upstream on a fresh connection and returns its
/// whole response.
async fn forward(upstream: &str, request: &[u8]) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await.ok()?;
    server.write_all(request).await.ok()?;
    let mut buffer = Vec::new();
    read_message(&mut server, &mut buffer).await
}

/// Reads one HTTP/1.1 message (head and a `content-length` or chunked body).
/// `buffer` keeps bytes already read past the message, for keep-alive.
async fn read_message<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> Option<Vec<u8>> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at + 4;
        }
        if !fill(stream, buffer).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let content_length = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    let end = if let Some(length) = content_length {
        while buffer.len() < head_end + length {
            if !fill(stream, buffer).await {
                return None;
            }
        }
        head_end + length
    } else if head.contains("transfer-encoding: chunked") {
        loop {
            if let Some(at) = find(&buffer[head_end..], b"0\r\n\r\n") {
                break head_end + at + 5;
            }
            if !fill(stream, buffer).await {
                return None;
            }
        }
    } else {
        head_end
    };
    Some(buffer.drain(..end).collect())
}

/// The request line and headers of `request`, lower-cased.
fn head(request: &[u8]) -> String {
    let head_end = find(request, b"\r\n\r\n").unwrap_or(request.len());
    String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase()
}

/// Whether the request with this `head` is DynamoDB's health check:
/// `GET /`, unsigned.
fn is_health_check(head: &str) -> bool {
    head.starts_with("get / http/1.1\r\n")
        && !head.lines().any(|line| line.starts_with("authorization:"))
}

/// The access key id `request` was signed with.
fn access_key(request: &[u8]) -> Option<String> {
    let head_end = find(request, b"\r\n\r\n").unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..head_end]);
    let authorization = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("authorization").then_some(value)
    })?;
    let credential = authorization.split("Credential=").nth(1)?;
    Some(credential.split('/').next()?.trim().to_owned())
}

/// Whether the request with this `head` calls a DynamoDB operation
/// (`X-Amz-Target` names it).
fn is_api_request(head: &str) -> bool {
    head.lines().any(|line| line.starts_with("x-amz-target:"))
}

async fn fill<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buffer.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
