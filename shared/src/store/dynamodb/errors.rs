//! Sorting the SDK's errors into what the caller can do about them.

use std::fmt::Debug;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

/// Sorts an SDK error into what the caller can do about it. Conditional-check
/// failures are handled where a condition is set; everything transient
/// (throttling, 5xx, timeouts, broken connections) is `Unavailable` once the
/// SDK's bounded retries have run out.
pub(super) fn classify<E>(err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + Debug,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or("Unknown");
            // Any 5xx is DynamoDB's own trouble (InternalFailure,
            // ServiceUnavailable…), whatever its code says.
            let transient = context.raw().status().is_server_error()
                || matches!(
                    code,
                    "ThrottlingException"
                        | "ProvisionedThroughputExceededException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "LimitExceededException"
                        // A plain write to an item a keyed write's
                        // transaction holds: it commits in milliseconds.
                        | "TransactionConflictException"
                );
            let detail = format!(
                "{code} (HTTP {}): {}",
                context.raw().status().as_u16(),
                context.err().message().unwrap_or_default()
            );
            if transient { StoreError::Unavailable(detail) } else { StoreError::Internal(detail) }
        }
        _ => StoreError::Internal(format!("{err:?}")),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::operation::BuildError;

    use super::*;

    fn service_error_with_status(code: &str, status: u16) -> StoreError {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        let err: SdkError<ErrorMetadata, HttpResponse> = SdkError::service_error(meta, raw);
        classify(err)
    }

    fn service_error(code: &str) -> StoreError {
        service_error_with_status(code, 400)
    }

    #[test]
    fn transient_service_errors_are_unavailable() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
            "TransactionConflictException",
        ] {
            assert!(matches!(service_error(code), StoreError::Unavailable(_)), "{code}");
        }
    }

    #[test]
    fn any_5xx_is_unavailable_whatever_its_code() {
        for code in ["InternalFailure", "Unknown", "ServiceUnavailableException"] {
            assert!(matches!(service_error_with_status(code, 500), StoreError::Unavailable(_)));
            assert!(matches!(service_error_with_status(code, 503), StoreError::Unavailable(_)));
        }
    }

    #[test]
    fn configuration_errors_are_internal() {
        for code in ["ResourceNotFoundException", "AccessDeniedException", "ValidationException"] {
            assert!(matches!(service_error(code), StoreError::Internal(_)), "{code}");
        }
        let err: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::construction_failure(BuildError::missing_field("TableName", "required"));
        assert!(matches!(classify(err), StoreError::Internal(_)));
    }

    #[test]
    fn timeouts_and_io_failures_are_unavailable() {
        let err: SdkError<ErrorMetadata, HttpResponse> =
            SdkError::timeout_error("attempt timed out");
        assert!(matches!(classify(err), StoreError::Unavailable(_)));
    }
}
