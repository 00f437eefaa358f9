//! The client: one request per call, signed, retried and bounded.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use futures_util::stream::{self, Stream, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{ETAG, HeaderMap};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::retry::{RetryPolicy, retry_after};
use crate::{Condition, Employee, Error, ErrorCode, ListOptions, Page, Revision, sign, target};

/// Everything but RFC 3986's unreserved characters is percent-encoded, so an
/// id is one path segment and a query value one value, whatever they hold.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// How requests prove who sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// SigV4 with credentials from the AWS default chain (the template's
    /// default authorizer, `AWS_IAM`).
    Iam,
    /// `Authorization: Bearer <token>` (a JWT authorizer).
    Bearer(String),
    /// No authorization (a local API, or `Authorizer=NONE`).
    None,
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: Option<String>,
    stack: Option<String>,
    auth: Auth,
    region: Option<String>,
    profile: Option<String>,
    credentials: Option<Credentials>,
    retry: RetryPolicy,
}

impl ClientBuilder {
    /// The API's URL, its stage included where it has one
    /// (`https://abc123.execute-api.eu-west-1.amazonaws.com`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API of a deployed stack: its `ApiUrl` output (CloudFormation
    /// `DescribeStacks`, with the credentials of the default chain).
    pub fn stack(mut self, name: impl Into<String>) -> Self {
        self.stack = Some(name.into());
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// The region to sign for (and to find the stack in). Otherwise the
    /// region of an `execute-api` URL, else the default chain's
    /// (`AWS_REGION`, the profile).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The named profile of `~/.aws/config` (otherwise `AWS_PROFILE`, else `default`).
    pub fn profile(mut self, profile: impl Into<String>) -> Self {
        self.profile = Some(profile.into());
        self
    }

    /// Fixed credentials instead of the default chain.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub async fn build(self) -> Result<Client, Error> {
        let needs_aws =
            self.stack.is_some() || (self.auth == Auth::Iam && self.credentials.is_none());
        let aws = if needs_aws {
            Some(target::aws_config(self.region.as_deref(), self.profile.as_deref()).await)
        } else {
            None
        };
        let base_url = match (self.base_url, &self.stack, &aws) {
            (Some(url), None, _) => url,
            (None, Some(stack), Some(aws)) => target::stack_url(aws, stack).await?,
            (Some(_), Some(_), _) => {
                return Err(Error::Config("give the API's URL or its stack, not both".into()));
            }
            _ => return Err(Error::Config("give the API's URL or the name of its stack".into())),
        };
        let base = parse_base(&base_url)?;
        let auth = match self.auth {
            Auth::None => Signing::None,
            Auth::Bearer(token) => Signing::Bearer(token),
            Auth::Iam => {
                let region = self
                    .region
                    .or_else(|| target::execute_api_region(&base))
                    .or_else(|| aws.as_ref().and_then(|c| c.region()).map(|r| r.to_string()))
                    .ok_or_else(|| {
                        Error::Config(
                            "no AWS region to sign for: pass --region or set AWS_REGION".into(),
                        )
                    })?;
                let provider = match (self.credentials, &aws) {
                    (Some(fixed), _) => SharedCredentialsProvider::new(fixed),
                    (None, Some(aws)) => aws.credentials_provider().ok_or_else(|| {
                        Error::Config("no AWS credentials provider is configured".into())
                    })?,
                    (None, None) => unreachable!("the default chain is loaded for IAM"),
                };
                Signing::Iam(Box::new(Signer { region, provider, cached: Mutex::new(None) }))
            }
        };
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(crate::tls::client_config()?)
            .user_agent(concat!("employee-api-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client { inner: Arc::new(Inner { http, base, auth, retry: self.retry }) })
    }
}

fn parse_base(url: &str) -> Result<Url, Error> {
    let mut base =
        Url::parse(url).map_err(|e| Error::Config(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(Error::Config(format!("{url:?} is not an http(s) URL")));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(Error::Config(format!("{url:?}: the API's URL takes no query or fragment")));
    }
    let path = base.path().trim_end_matches('/').to_owned();
    base.set_path(&path);
    Ok(base)
}

/// `tail` (already percent-encoded) below the base URL's path. A bare host's
/// path is "/", a stage's "/prod": either way one slash joins them.
fn under(base: &Url, tail: &str) -> Url {
    let mut url = base.clone();
    url.set_path(&format!("{}/{tail}", base.path().trim_end_matches('/')));
    url
}

/// A client of one deployed (or local) employee API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Signing,
    retry: RetryPolicy,
}

#[derive(Debug)]
enum Signing {
    None,
    Bearer(String),
    Iam(Box<Signer>),
}

#[derive(Debug)]
struct Signer {
    region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl Signer {
    /// The current credentials, fetched again five minutes before they expire.
    async fn credentials(&self) -> Result<Credentials, Error> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry().is_none_or(|at| at > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(credentials) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let credentials = self.provider.provide_credentials().await.map_err(|e| {
            Error::Config(format!(
                "no AWS credentials ({}): configure them (aws configure, aws sso login, AWS_PROFILE) or pass --auth none",
                error_chain(&e)
            ))
        })?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One HTTP request of a call, sent again as it is on every retry.
struct Request {
    method: Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

/// A 2xx answer.
struct Answer {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json<T: DeserializeOwned>(&self, status: StatusCode) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::UnexpectedAnswer {
            status: status.as_u16(),
            detail: format!("{e}: {}", String::from_utf8_lossy(&self.body)),
        })
    }

    fn revision(&self, status: StatusCode) -> Result<Revision, Error> {
        let employee = self.json(status)?;
        let etag = self
            .headers
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::UnexpectedAnswer {
                status: status.as_u16(),
                detail: "no ETag header".into(),
            })?
            .to_owned();
        Ok(Revision { employee, etag })
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            base_url: None,
            stack: None,
            auth: Auth::Iam,
            region: None,
            profile: None,
            credentials: None,
            retry: RetryPolicy::default(),
        }
    }

    /// The API's URL, as requests are sent to it.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// `GET /employees/{id}`.
    pub async fn get(&self, id: &str) -> Result<Revision, Error> {
        let request =
            self.request(Method::GET, &self.employee_url(id), None, &Condition::None, false);
        let (status, answer) = self.send(request).await?;
        answer.revision(status)
    }

    /// One page of `GET /employees`: `cursor` is the previous page's `next_cursor`.
    pub async fn list_page(
        &self,
        options: &ListOptions,
        cursor: Option<&str>,
    ) -> Result<Page, Error> {
        let mut query = Vec::new();
        if let Some(title) = &options.job_title {
            query.push(("jobTitle", title.as_str().to_owned()));
        }
        if let Some(size) = options.page_size {
            query.push(("limit", size.to_string()));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        let mut url = self.collection_url();
        if !query.is_empty() {
            let query: Vec<String> = query
                .iter()
                .map(|(name, value)| format!("{name}={}", utf8_percent_encode(value, COMPONENT)))
                .collect();
            url.set_query(Some(&query.join("&")));
        }
        let request = self.request(Method::GET, &url, None, &Condition::None, false);
        let (status, answer) = self.send(request).await?;
        answer.json(status)
    }

    /// Every page of a listing, following `nextCursor`.
    pub fn pages(
        &self,
        options: ListOptions,
    ) -> impl Stream<Item = Result<Page, Error>> + Send + 'static {
        let client = self.clone();
        stream::try_unfold(Some(None::<String>), move |state| {
            let client = client.clone();
            let options = options.clone();
            async move {
                let Some(cursor) = state else { return Ok(None) };
                let page = client.list_page(&options, cursor.as_deref()).await?;
                let next = page.next_cursor.clone().map(Some);
                Ok(Some((page, next)))
            }
        })
    }

    /// Every employee of a listing, page after page.
    pub fn list(
        &self,
        options: ListOptions,
    ) -> impl Stream<Item = Result<Employee, Error>> + Send + 'static {
        self.pages(options)
            .map_ok(|page| stream::iter(page.employees.into_iter().map(Ok)))
            .try_flatten()
    }

    /// `POST /employees`: creates the employee; `EmployeeAlreadyExists` if the id is taken.
    pub async fn create(&self, id: &str, job_title: &str) -> Result<Revision, Error> {
        let body = serde_json::json!({ "employee": id, "jobTitle": job_title });
        let request =
            self.request(Method::POST, &self.collection_url(), Some(&body), &Condition::None, true);
        let (status, answer) = self.send(request).await?;
        answer.revision(status)
    }

    /// `PUT /employees/{id}`: creates or replaces the employee, under `condition`.
    pub async fn put(
        &self,
        id: &str,
        job_title: &str,
        condition: &Condition,
    ) -> Result<Revision, Error> {
        let body = serde_json::json!({ "jobTitle": job_title });
        let request =
            self.request(Method::PUT, &self.employee_url(id), Some(&body), condition, true);
        let (status, answer) = self.send(request).await?;
        answer.revision(status)
    }

    /// `DELETE /employees/{id}`, under `condition`: the employee removed.
    pub async fn remove(&self, id: &str, condition: &Condition) -> Result<Employee, Error> {
        let request = self.request(Method::DELETE, &self.employee_url(id), None, condition, true);
        let (status, answer) = self.send(request).await?;
        answer.json(status)
    }

    /// Reads the employee, gives it to `change` for its new job title, and
    /// writes that with `If-Match` on the revision read. When another writer
    /// came first (412), reads again and calls `change` again, for at most
    /// [`RetryPolicy::update_rounds`] rounds: no concurrent update is lost.
    /// A title equal to the stored one writes nothing.
    pub async fn update<F>(&self, id: &str, mut change: F) -> Result<Revision, Error>
    where
        F: FnMut(&Employee) -> String,
    {
        let rounds = self.inner.retry.update_rounds.max(1);
        for round in 1..=rounds {
            let current = self.get(id).await?;
            let job_title = change(&current.employee);
            if job_title == current.employee.job_title {
                return Ok(current);
            }
            match self.put(id, &job_title, &Condition::IfMatch(current.etag)).await {
                Err(Error::Api { code: ErrorCode::PreconditionFailed, .. }) => {
                    // Spread the next round of the writers that lost this one.
                    tokio::time::sleep(self.inner.retry.backoff(round, None)).await;
                }
                written => return written,
            }
        }
        Err(Error::UpdateConflict { id: id.to_owned(), rounds })
    }

    fn collection_url(&self) -> Url {
        under(&self.inner.base, "employees")
    }

    fn employee_url(&self, id: &str) -> Url {
        let segment = utf8_percent_encode(id, COMPONENT);
        under(&self.inner.base, &format!("employees/{segment}"))
    }

    fn request(
        &self,
        method: Method,
        url: &Url,
        body: Option<&serde_json::Value>,
        condition: &Condition,
        keyed: bool,
    ) -> Request {
        let mut headers = Vec::new();
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        if !body.is_empty() {
            headers.push(("content-type", "application/json".to_owned()));
        }
        match condition {
            Condition::None => {}
            Condition::IfMatch(tags) => headers.push(("if-match", tags.clone())),
            Condition::IfAbsent => headers.push(("if-none-match", "*".to_owned())),
        }
        if keyed {
            // One key per call: every retry of it sends the same one, so the
            // API does the write once and replays its answer.
            headers.push(("idempotency-key", uuid::Uuid::new_v4().to_string()));
        }
        Request { method, url: url.clone(), headers, body }
    }

    /// Sends `request` until it gets an answer that is not transient, the
    /// attempts run out or the deadline comes.
    async fn send(&self, request: Request) -> Result<(StatusCode, Answer), Error> {
        let policy = &self.inner.retry;
        let started = Instant::now();
        let deadline = started + policy.deadline;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let error = match self.attempt(&request, remaining.min(policy.attempt_timeout)).await {
                Ok(answer) => return Ok(answer),
                Err(error) if !error.is_transient() => return Err(error),
                Err(error) => error,
            };
            let wait = policy.backoff(
                attempt,
                match &error {
                    Error::Api { retry_after, .. } => *retry_after,
                    _ => None,
                },
            );
            if attempt >= policy.max_attempts || Instant::now() + wait >= deadline {
                return Err(Error::Unavailable {
                    attempts: attempt,
                    elapsed: started.elapsed(),
                    last: Box::new(error),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        timeout: Duration,
    ) -> Result<(StatusCode, Answer), Error> {
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), request.url.clone())
            .timeout(timeout)
            .body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        match &self.inner.auth {
            Signing::None => {}
            Signing::Bearer(token) => builder = builder.bearer_auth(token),
            Signing::Iam(signer) => {
                let credentials = signer.credentials().await?;
                let headers: Vec<(&str, &str)> =
                    request.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
                for (name, value) in sign::signature_headers(
                    request.method.as_str(),
                    request.url.as_str(),
                    &headers,
                    &request.body,
                    &credentials,
                    &signer.region,
                    SystemTime::now(),
                )? {
                    builder = builder.header(name, value);
                }
            }
        }
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?.to_vec();
        if status.is_success() {
            return Ok((status, Answer { headers, body }));
        }
        Err(refusal(status, &headers, &body))
    }
}

fn transport(error: reqwest::Error) -> Error {
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(cause) = source {
        if let Some(tls) = rustls_error(cause) {
            return Error::Tls(format!(
                "{tls} (trust another authority with SSL_CERT_FILE=<PEM file>)"
            ));
        }
        source = cause.source();
    }
    Error::Transport(error_chain(&error))
}

/// The rustls error in `cause`, looking through the `io::Error`s around it:
/// an `io::Error`'s `source()` skips the error it wraps (it returns that
/// error's own source), and hyper-util wraps rustls's in two of them.
fn rustls_error<'a>(mut cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    loop {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cause = cause.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
}

/// The API's `{"error", "message"}`, or the gateway's `{"message"}`.
fn refusal(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    #[derive(Deserialize)]
    struct Body {
        error: Option<String>,
        message: String,
    }
    let retry_after = retry_after(headers);
    match serde_json::from_slice::<Body>(body) {
        Ok(Body { error, message }) => Error::Api {
            status: status.as_u16(),
            code: error.map_or(ErrorCode::Gateway(status.as_u16()), |c| ErrorCode::parse(&c)),
            message,
            retry_after,
        },
        // A transient status is transient whatever its body says.
        Err(_) if matches!(status.as_u16(), 429 | 502 | 503 | 504) => Error::Api {
            status: status.as_u16(),
            code: ErrorCode::Gateway(status.as_u16()),
            message: String::from_utf8_lossy(body).trim().to_owned(),
            retry_after,
        },
        Err(_) => Error::UnexpectedAnswer {
            status: status.as_u16(),
            detail: String::from_utf8_lossy(body).chars().take(200).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_one_path_segment() {
        let base = parse_base("https://example.com/prod/").unwrap();
        assert_eq!(base.as_str(), "https://example.com/prod");
        let segment = utf8_percent_encode("Zoë A/b?%+#", COMPONENT).to_string();
        let url = under(&base, &format!("employees/{segment}"));
        assert_eq!(url.as_str(), "https://example.com/prod/employees/Zo%C3%AB%20A%2Fb%3F%25%2B%23");
        let bare = parse_base("http://127.0.0.1:9000").unwrap();
        assert_eq!(under(&bare, "employees").as_str(), "http://127.0.0.1:9000/employees");
        assert!(parse_base("ftp://example.com").is_err());
        assert!(parse_base("https://example.com/?a=1").is_err());
        assert!(parse_base("example.com").is_err());
    }

    #[test]
    fn refusals_keep_the_code_the_api_sent() {
        let headers = HeaderMap::new();
        let api = refusal(
            StatusCode::NOT_FOUND,
            &headers,
            br#"{"error":"EmployeeDoesNotExist","message":"Employee \"x\" does not exist."}"#,
        );
        assert!(matches!(
            api,
            Error::Api { status: 404, code: ErrorCode::EmployeeDoesNotExist, .. }
        ));
        let newer = refusal(
            StatusCode::BAD_REQUEST,
            &headers,
            br#"{"error":"SomethingNew","message":"m"}"#,
        );
        assert_eq!(newer.code(), Some(&ErrorCode::Other("SomethingNew".into())));
        let gateway = refusal(StatusCode::FORBIDDEN, &headers, br#"{"message":"Forbidden"}"#);
        assert_eq!(gateway.code(), Some(&ErrorCode::Gateway(403)));
        assert!(!gateway.is_transient());
        let throttled = refusal(StatusCode::TOO_MANY_REQUESTS, &headers, b"slow down");
        assert!(throttled.is_transient());
        let odd = refusal(StatusCode::BAD_REQUEST, &headers, b"<html>");
        assert!(matches!(odd, Error::UnexpectedAnswer { status: 400, .. }));
    }
}
