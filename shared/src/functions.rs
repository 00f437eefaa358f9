//! The three Lambda functions: which routes and which direct contract each
//! serves, over only the store capabilities it uses (so each binary links,
//! and its IAM role grants, exactly those DynamoDB operations).

use std::future::Future;

use crate::apigw::{self, HttpRequest, HttpResponse};
use crate::config::Config;
use crate::direct;
use crate::employee::Employee;
use crate::error::ApiError;
use crate::payload::DirectInput;
use crate::route::Route;
use crate::store::{StoreDelete, StoreGet, StoreList, StorePut, StoreRecord, StoreTransact};

/// What a Lambda function of this API does with an invocation, through
/// either door. The entry point ([`crate::lambda`]) reads the payload,
/// parses the route and keeps the telemetry; a function only maps routes
/// and direct inputs to the adapters.
pub trait Function: Send + Sync {
    /// The function's name in logs and metrics.
    const NAME: &'static str;

    /// Answers an HTTP request for `route`; a route this function does not
    /// serve is [`Route::not_served`].
    fn http(
        &self,
        route: Route,
        request: &HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, ApiError>> + Send;

    /// Answers a direct invocation with the state machine's contract.
    fn direct(
        &self,
        input: &DirectInput,
    ) -> impl Future<Output = Result<Employee, ApiError>> + Send;
}

/// `GET /employees/{employeeId}`, `GET /employees`; the "get" state machine.
#[derive(Debug, Clone)]
pub struct GetEmployee<S>(pub S);

/// `POST /employees`, `PUT /employees/{employeeId}`; the "add" state machine.
#[derive(Debug, Clone)]
pub struct AddEmployee<S>(pub S, pub WriteRules);

/// `DELETE /employees/{employeeId}`; the "remove" state machine.
#[derive(Debug, Clone)]
pub struct RemoveEmployee<S>(pub S, pub WriteRules);

/// What the HTTP API demands of writes, from the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteRules {
    /// `PUT` and `DELETE` without `If-Match` (or `If-None-Match: *` on
    /// `PUT`) are refused with 428 (`REQUIRE_IF_MATCH`). Direct invocations
    /// keep the state machines' contract and are never refused for it.
    pub require_if_match: bool,
}

impl From<&Config> for WriteRules {
    fn from(config: &Config) -> Self {
        Self { require_if_match: config.require_if_match }
    }
}

impl<S: StoreGet + StoreList + Send + Sync> Function for GetEmployee<S> {
    const NAME: &'static str = "get-employee";

    async fn http(&self, route: Route, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        match route {
            Route::GetEmployee(id) => apigw::get(&self.0, &id).await,
            Route::ListEmployees => apigw::list(&self.0, request).await,
            other => Err(other.not_served()),
        }
    }

    async fn direct(&self, input: &DirectInput) -> Result<Employee, ApiError> {
        direct::get(&self.0, input).await
    }
}

impl<S> Function for AddEmployee<S>
where
    S: StoreGet + StorePut + StoreTransact + StoreRecord + Send + Sync,
{
    const NAME: &'static str = "add-employee";

    async fn http(&self, route: Route, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        match route {
            Route::CreateEmployee => apigw::create(&self.0, request).await,
            Route::PutEmployee(id) => {
                apigw::put(&self.0, id, request, self.1.require_if_match).await
            }
            other => Err(other.not_served()),
        }
    }

    async fn direct(&self, input: &DirectInput) -> Result<Employee, ApiError> {
        direct::create(&self.0, input).await
    }
}

impl<S> Function for RemoveEmployee<S>
where
    S: StoreGet + StoreDelete + StoreTransact + StoreRecord + Send + Sync,
{
    const NAME: &'static str = "remove-employee";

    async fn http(&self, route: Route, request: &HttpRequest) -> Result<HttpResponse, ApiError> {
        match route {
            Route::RemoveEmployee(id) => {
                apigw::remove(&self.0, &id, request, self.1.require_if_match).await
            }
            other => Err(other.not_served()),
        }
    }

    async fn direct(&self, input: &DirectInput) -> Result<Employee, ApiError> {
        direct::remove(&self.0, input).await
    }
}
