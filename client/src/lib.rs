//! A typed client of the employee API, with the API's write-safety protocol
//! built in, and the `employees` command line on top of it.
//!
//! - Requests are signed with SigV4 (credentials from the AWS default chain),
//!   carry a bearer token, or go as they are: [`Auth`].
//! - Every `create`, `put` and `remove` sends a fresh `Idempotency-Key`, and
//!   its retries send the same one: a retried write is done once.
//! - A transient fault (503, 429, 502, 504, a cut connection) is retried after
//!   `Retry-After` or a jittered back-off, within a deadline: [`RetryPolicy`].
//! - [`Client::update`] reads, changes and writes with `If-Match`, again on
//!   412: concurrent updates are all kept.
//!
//! ```no_run
//! use employee_api_client::{Auth, Client, Condition, ListOptions};
//! use futures_util::TryStreamExt;
//!
//! # async fn run() -> Result<(), employee_api_client::Error> {
//! let api = Client::builder().stack("employee-api").auth(Auth::Iam).build().await?;
//! api.create("42", "Engineer").await?; // Idempotency-Key, retries: built in
//! let promoted = api.update("42", |e| format!("Senior {}", e.job_title)).await?;
//! let seniors: Vec<_> = api.list(ListOptions { job_title: Some("Senior Engineer".into()), ..Default::default() })
//!     .try_collect().await?; // follows nextCursor
//! api.remove("42", &Condition::IfMatch(promoted.etag)).await?;
//! # let _ = seniors; Ok(()) }
//! ```

mod client;
mod error;
mod model;
mod retry;
pub mod sign;
mod target;
mod tls;

pub use aws_credential_types::Credentials;
pub use client::{Auth, Client, ClientBuilder};
pub use error::{Error, ErrorCode};
pub use model::{Condition, Employee, ListOptions, Page, Revision};
pub use retry::RetryPolicy;
