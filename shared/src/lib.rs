//! The employee API: the domain, its storage, its use cases and the two
//! doors into them, shared by the three Lambda functions (`get-employee`,
//! `add-employee`, `remove-employee`).
//!
//! Layers, from the bottom up (each uses only those below it):
//! - [`employee`]: the domain, valid by construction; [`revision`]: versions
//!   and entity tags; [`idempotency`]: keys, fingerprints, recorded answers;
//! - [`store`]: one narrow trait per DynamoDB operation, the DynamoDB store
//!   (and its client, built from [`config`]) and an in-memory one;
//! - [`employees`]: the use cases (get, list, create, put, remove; keyed
//!   writes in [`employees::keyed`]);
//! - the adapters: [`apigw`] (API Gateway HTTP API events, routed by
//!   [`route`]) and [`direct`] (the state machines' contract), both reading
//!   their input from one [`payload`] and failing with one [`error`];
//! - [`functions`]: which routes and contract each Lambda function serves;
//! - [`lambda`]: the entry point, which runs each invocation in its own
//!   [`telemetry`] scope and within its [`deadline`].
//!
//! Each binary reads the configuration, opens the store and hands one
//! function to [`lambda::run`].

pub mod apigw;
pub mod config;
pub mod deadline;
pub mod direct;
pub mod employee;
pub mod employees;
pub mod error;
pub mod functions;
pub mod idempotency;
pub mod lambda;
pub mod payload;
pub mod revision;
pub mod route;
pub mod store;
pub mod telemetry;

pub use employee::{Employee, EmployeeId, InvalidField, JobTitle};
