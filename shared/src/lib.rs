//! The employee API: the domain, its storage and its HTTP adapter, shared by
//! the three Lambda functions (`get-employee`, `add-employee`,
//! `remove-employee`). Each binary only wires configuration, the DynamoDB
//! client and one of the handlers in [`routes`] together.

pub mod config;
pub mod employee;
pub mod http;
pub mod lambda;
pub mod routes;
pub mod store;
pub mod telemetry;

pub use employee::{Employee, EmployeeId, InvalidField, JobTitle};
