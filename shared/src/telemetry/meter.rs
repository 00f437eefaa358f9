//! The DynamoDB call meter: an SDK interceptor that counts the running
//! invocation's calls and attempts and times each call. It is attached once,
//! to the client every invocation shares; the figures go to the counters of
//! the invocation whose task makes the call. With the `otel` feature it
//! also makes a span per attempt ([`super::trace`]).

use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

use super::{count, increment};

#[derive(Debug, Default)]
pub struct DynamoDbCallMeter;

/// When a call started, kept in that call's own configuration bag, so calls
/// that overlap are each timed right.
#[derive(Debug, Clone, Copy)]
struct CallStarted(Instant);

impl Storable for CallStarted {
    type Storer = StoreReplace<Self>;
}

impl Intercept for DynamoDbCallMeter {
    fn name(&self) -> &'static str {
        "DynamoDbCallMeter"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(CallStarted(Instant::now()));
        count(|c| increment(&c.calls));
        #[cfg(feature = "otel")]
        super::trace::CallTables::record(_context, cfg);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        count(|c| increment(&c.attempts));
        #[cfg(feature = "otel")]
        super::trace::AttemptSpan::start(_cfg);
        Ok(())
    }

    #[cfg(feature = "otel")]
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        super::trace::AttemptSpan::end(context, cfg);
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallStarted(started)) = cfg.load::<CallStarted>().copied() {
            let elapsed = started.elapsed();
            count(|c| c.dynamodb_time.set(c.dynamodb_time.get() + elapsed));
        }
        Ok(())
    }
}
