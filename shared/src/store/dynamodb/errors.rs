//! What a failed DynamoDB request means to the store port: a condition that
//! did not hold (`ConditionFailed`, `TransactionCancelled` with the writes
//! whose conditions failed), a request of ours that DynamoDB refuses (a bug:
//! `Invalid`), or a dependency that is not there right now — throttled,
//! timed out, unreachable, failing, or a transaction cancelled by a
//! concurrent one — which the caller may retry (`Unavailable`, a `503` with
//! `Retry-After` through `http::error`; a conflicting transaction stays a
//! contention that `services::retry` runs again).

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::super::StoreError;

/// Error codes of a request DynamoDB refuses as malformed: our bug, never
/// worth a retry.
const REFUSED: [&str; 4] = [
    "ValidationException",
    "SerializationException",
    "ItemCollectionSizeLimitExceededException",
    "IdempotentParameterMismatchException",
];

/// The store error of a failed request whose service error is not a
/// condition failure.
pub fn store_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let cause = DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::ConstructionFailure(_) => {
            StoreError::Invalid(format!("request did not build: {cause}"))
        }
        SdkError::ServiceError(se) => of_code(se.err().code(), cause),
        // Timed out, not sent, or an answer that did not parse.
        _ => StoreError::Unavailable(cause),
    }
}

/// A service error by its code: a refused request is our bug; any other
/// (`ProvisionedThroughputExceededException`, `ThrottlingException`,
/// `RequestLimitExceeded`, `InternalServerError`, `ServiceUnavailable`,
/// `TransactionConflictException`, `TransactionInProgressException`, an
/// unknown table…) is the dependency's, to retry.
pub fn of_code(code: Option<&str>, cause: String) -> StoreError {
    match code {
        Some(c) if REFUSED.contains(&c) => StoreError::Invalid(cause),
        _ => StoreError::Unavailable(cause),
    }
}

/// A `TransactionCanceledException` by its cancellation reasons, one per
/// write in order (`None`: the write was fine): the writes whose conditions
/// failed, when any did; a conflict with another transaction, to run again;
/// a throttled or failed write, to retry later; a refused one, our bug.
pub fn cancellation(reasons: &[Option<&str>]) -> StoreError {
    let failed: Vec<usize> = (0..reasons.len())
        .filter(|i| reasons[*i] == Some("ConditionalCheckFailed"))
        .collect();
    if !failed.is_empty() {
        return StoreError::TransactionCancelled { failed };
    }
    let codes: Vec<&str> = reasons
        .iter()
        .flatten()
        .copied()
        .filter(|c| *c != "None")
        .collect();
    let has = |c: &str| codes.contains(&c);
    if has("ValidationError") || has("ItemCollectionSizeLimitExceeded") {
        StoreError::Invalid(format!("transaction refused: {codes:?}"))
    } else if codes.is_empty() || codes.iter().all(|c| *c == "TransactionConflict") {
        StoreError::TransactionCancelled { failed }
    } else {
        StoreError::Unavailable(format!("transaction cancelled: {codes:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;

    fn unavailable(e: &StoreError) -> bool {
        matches!(e, StoreError::Unavailable(_))
    }

    #[test]
    fn throttling_and_failures_are_unavailable_and_refusals_bugs() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalServerError",
            "ServiceUnavailable",
            "TransactionConflictException",
            "ResourceNotFoundException",
        ] {
            assert!(unavailable(&of_code(Some(code), code.into())), "{code}");
        }
        assert!(unavailable(&of_code(None, "?".into())));
        for code in REFUSED {
            assert!(matches!(
                of_code(Some(code), code.into()),
                StoreError::Invalid(_)
            ));
        }
    }

    #[test]
    fn sdk_errors_that_never_reached_dynamodb() {
        let timeout = SdkError::<GetItemError, ()>::timeout_error("deadline");
        assert!(unavailable(&store_error(timeout)));
        let build = SdkError::<GetItemError, ()>::construction_failure("no table");
        assert!(matches!(store_error(build), StoreError::Invalid(_)));
        let throttled = SdkError::<GetItemError, ()>::service_error(
            GetItemError::generic(
                aws_sdk_dynamodb::error::ErrorMetadata::builder()
                    .code("ProvisionedThroughputExceededException")
                    .message("Rate of requests exceeds the allowed throughput")
                    .build(),
            ),
            (),
        );
        let e = store_error(throttled);
        assert!(unavailable(&e), "{e:?}");
        assert!(
            e.to_string().contains("ProvisionedThroughputExceeded"),
            "{e}"
        );
    }

    #[test]
    fn a_cancelled_transaction_by_its_reasons() {
        let partial = [None, Some("ConditionalCheckFailed"), Some("None")];
        assert!(matches!(
            cancellation(&partial),
            StoreError::TransactionCancelled { ref failed } if failed == &[1]
        ));
        let conflict = [Some("None"), Some("TransactionConflict")];
        assert!(matches!(
            cancellation(&conflict),
            StoreError::TransactionCancelled { ref failed } if failed.is_empty()
        ));
        for throttled in ["ThrottlingError", "ProvisionedThroughputExceeded"] {
            let reasons = [Some("None"), Some(throttled), Some("TransactionConflict")];
            assert!(unavailable(&cancellation(&reasons)), "{throttled}");
        }
        assert!(matches!(
            cancellation(&[Some("ValidationError")]),
            StoreError::Invalid(_)
        ));
        assert!(matches!(
            cancellation(&[]),
            StoreError::TransactionCancelled { .. }
        ));
    }
}
