//! An OTLP/HTTP trace receiver on loopback: it takes `POST /v1/traces`
//! requests, decodes each body as an `ExportTraceServiceRequest` with the
//! OpenTelemetry project's own protobuf types (`opentelemetry-proto`, on
//! prost), and keeps every span with its resource and scope. It can also
//! stall: read requests and never answer, as a collector that hangs does;
//! or only count them, for the benchmark, which measures the exporting
//! function and not the decoding. It listens on plain HTTP, or on HTTPS at
//! an address of the test's choosing, as a stand-in for X-Ray's endpoint.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// One span as the receiver got it.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, or empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// OTLP's `SpanKind`: 2 server, 3 client.
    pub kind: i32,
    pub attributes: BTreeMap<String, Value>,
    /// OTLP's status code: 0 unset, 1 ok, 2 error.
    pub status_code: i32,
    pub resource: BTreeMap<String, Value>,
    pub scope_name: String,
    pub scope_schema_url: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl ReceivedSpan {
    /// The attribute's value, `Null` when absent.
    pub fn attribute(&self, key: &str) -> &Value {
        self.attributes.get(key).unwrap_or(&Value::Null)
    }

    /// The attribute as a string ("" when absent or not a string).
    pub fn text(&self, key: &str) -> &str {
        self.attribute(key).as_str().unwrap_or("")
    }
}

/// One export request: when it arrived and its headers (lower-cased names).
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub arrived: Instant,
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    /// The spans it carried (0 in [`Mode::Count`]).
    pub spans: usize,
    /// The body's length.
    pub bytes: usize,
    /// The body as it arrived (kept except in [`Mode::Count`]).
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers `200` with an empty `ExportTraceServiceResponse`.
    Answer,
    /// Reads each request and never answers.
    Stall,
    /// Answers as [`Mode::Answer`] without decoding (spans are not kept).
    Count,
}

#[derive(Default)]
struct Received {
    spans: Vec<ReceivedSpan>,
    requests: Vec<ExportRequest>,
    undecodable: Vec<String>,
}

/// A running receiver; it stops with the test.
pub struct OtlpReceiver {
    /// `http://127.0.0.1:<port>`, for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: String,
    received: Arc<Mutex<Received>>,
}

impl OtlpReceiver {
    /// Listens on a free port; must be called inside a Tokio runtime.
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        let received = Arc::new(Mutex::new(Received::default()));
        let shared = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, mode, Arc::clone(&shared)));
            }
        });
        Self { endpoint, received }
    }

    /// Listens on `address` over TLS, presenting `acceptor`'s certificate;
    /// must be called inside a Tokio runtime. Its `endpoint` is
    /// `https://<address>`.
    pub async fn start_tls(mode: Mode, address: SocketAddr, acceptor: TlsAcceptor) -> Self {
        let listener = TcpListener::bind(address).await.unwrap_or_else(|e| {
            panic!("cannot listen on {address} ({e}): binding port 443 needs root")
        });
        let endpoint = format!("https://{address}");
        let received = Arc::new(Mutex::new(Received::default()));
        let shared = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let (acceptor, shared) = (acceptor.clone(), Arc::clone(&shared));
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        serve(tls, mode, shared).await;
                    }
                });
            }
        });
        Self { endpoint, received }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.lock().spans.clone()
    }

    /// Every export request received so far.
    pub fn requests(&self) -> Vec<ExportRequest> {
        self.lock().requests.clone()
    }

    /// Waits until at least `count` spans have arrived, or `within` has
    /// passed; returns the spans received.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<ReceivedSpan> {
        let until = Instant::now() + within;
        loop {
            let spans = self.spans();
            if spans.len() >= count || Instant::now() >= until {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        let received = self.received.lock().unwrap_or_else(|p| p.into_inner());
        assert!(
            received.undecodable.is_empty(),
            "requests that are not OTLP protobuf: {:?}",
            received.undecodable
        );
        received
    }
}

async fn serve<S>(stream: S, mode: Mode, received: Arc<Mutex<Received>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let arrived = Instant::now();
        let mut words = request_line.split_whitespace();
        let method = words.next().unwrap_or("").to_owned();
        let path = words.next().unwrap_or("").to_owned();
        let mut headers = BTreeMap::new();
        loop {
            let mut line = String::new();
            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if stream.read_exact(&mut body).await.is_err() {
            return;
        }
        let spans = if mode == Mode::Count { Ok(Vec::new()) } else { decode(&body) };
        {
            let mut received = received.lock().unwrap_or_else(|p| p.into_inner());
            let count = spans.as_ref().map_or(0, Vec::len);
            match spans {
                Ok(spans) => received.spans.extend(spans),
                Err(error) => received.undecodable.push(error),
            }
            let bytes = body.len();
            let body = if mode == Mode::Count { Vec::new() } else { body };
            received.requests.push(ExportRequest {
                arrived,
                method,
                path,
                headers,
                spans: count,
                bytes,
                body,
            });
        }
        if mode == Mode::Stall {
            // Holds the connection open, unanswered, until the client gives up.
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
            return;
        }
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        // Flushed: a TLS stream holds what is written until then.
        let sent = stream.get_mut().write_all(answer.as_bytes()).await;
        if sent.is_err() || stream.get_mut().flush().await.is_err() {
            return;
        }
    }
}

/// The spans of one export request's body.
#[cfg(not(feature = "local-stack"))]
fn decode(_body: &[u8]) -> Result<Vec<ReceivedSpan>, String> {
    Err("decoding OTLP needs the local-stack feature (./scripts/test.sh)".to_owned())
}

#[cfg(feature = "local-stack")]
use otlp::decode;

/// Decoding with `opentelemetry-proto`'s prost types (see tests/Cargo.toml
/// for why only with `local-stack`).
#[cfg(feature = "local-stack")]
mod otlp {
    use std::collections::BTreeMap;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use prost::Message;
    use serde_json::{Value, json};

    use super::ReceivedSpan;

    pub(super) fn decode(body: &[u8]) -> Result<Vec<ReceivedSpan>, String> {
        let request = ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string())?;
        let mut spans = Vec::new();
        for resource_spans in request.resource_spans {
            let resource =
                resource_spans.resource.map(|r| attributes(&r.attributes)).unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                let scope_name =
                    scope_spans.scope.as_ref().map(|s| s.name.clone()).unwrap_or_default();
                for span in scope_spans.spans {
                    spans.push(ReceivedSpan {
                        trace_id: hex(&span.trace_id),
                        span_id: hex(&span.span_id),
                        parent_span_id: hex(&span.parent_span_id),
                        name: span.name,
                        kind: span.kind,
                        attributes: attributes(&span.attributes),
                        status_code: span.status.map_or(0, |s| s.code),
                        resource: resource.clone(),
                        scope_name: scope_name.clone(),
                        scope_schema_url: scope_spans.schema_url.clone(),
                        start_unix_nano: span.start_time_unix_nano,
                        end_unix_nano: span.end_time_unix_nano,
                    });
                }
            }
        }
        Ok(spans)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn attributes(pairs: &[KeyValue]) -> BTreeMap<String, Value> {
        pairs.iter().map(|kv| (kv.key.clone(), value(kv.value.as_ref()))).collect()
    }

    fn value(any: Option<&AnyValue>) -> Value {
        match any.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => json!(s),
            Some(any_value::Value::BoolValue(b)) => json!(b),
            Some(any_value::Value::IntValue(i)) => json!(i),
            Some(any_value::Value::DoubleValue(d)) => json!(d),
            Some(any_value::Value::ArrayValue(array)) => {
                Value::Array(array.values.iter().map(|v| value(Some(v))).collect())
            }
            Some(other) => json!(format!("{other:?}")),
            None => Value::Null,
        }
    }
}
