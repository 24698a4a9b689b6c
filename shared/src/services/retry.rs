//! Lost races. Uniqueness and optimistic concurrency are enforced by the
//! conditions of the writes (one patient per key, one user per id, an
//! update at the version read), so a concurrent call can make a write fail
//! (`Error::Contention`). Here is the one way to retry such a call — plan it
//! again from a fresh read, after a short jittered pause — and the one way
//! to answer a race that is not retried: a `409` that says what changed.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// Attempts of a call whose conditional write lost a race.
pub const ATTEMPTS: u32 = 5;

/// Runs `attempt` until it does not lose a race, at most [`ATTEMPTS`]
/// times, pausing between attempts unless `pause(failed)` says the next
/// one will not collide again (`failed`: the writes whose conditions
/// failed). When the last attempt loses too, the answer is a `409` with
/// `message`.
pub async fn retry_lost_races<T, F, Fut>(
    message: &str,
    pause: impl Fn(&[usize]) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for n in 1..ATTEMPTS {
        match attempt().await {
            Err(Error::Contention { failed }) => {
                if pause(&failed) {
                    backoff(n).await;
                }
            }
            other => return other,
        }
    }
    conflict(attempt().await, message)
}

/// Pause between every attempt.
pub fn always(_: &[usize]) -> bool {
    true
}

/// A lost race as a `409` saying `message`; any other result as it is.
pub fn conflict<T>(result: Result<T>, message: impl Into<String>) -> Result<T> {
    match result {
        Err(Error::Contention { .. }) => Err(Error::Conflict(message.into())),
        other => other,
    }
}

/// Runs a write again when it was cancelled by a conflicting transaction
/// on one of its items (a contention in which no condition failed), at
/// most [`ATTEMPTS`] times; a failed condition is answered at once.
pub async fn retry_conflicting<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    for n in 1..ATTEMPTS {
        match attempt().await {
            Err(Error::Contention { failed }) if failed.is_empty() => backoff(n).await,
            other => return other,
        }
    }
    attempt().await
}

/// A short, jittered pause, so that racing calls do not collide again.
async fn backoff(attempt: u32) {
    let mut b = [0u8; 1];
    let jitter = getrandom::fill(&mut b).map_or(0, |()| u64::from(b[0] % 8));
    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2 + jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn races_are_retried_then_a_conflict() {
        let calls = AtomicU32::new(0);
        let lost = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Error::Contention { failed: vec![0] })
        };
        let e = retry_lost_races("changed", always, lost).await.unwrap_err();
        assert!(
            matches!(e, Error::Conflict(ref m) if m == "changed"),
            "{e:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
        let wins = AtomicU32::new(0);
        let second = || async {
            match wins.fetch_add(1, Ordering::SeqCst) {
                0 => Err(Error::Contention { failed: vec![] }),
                n => Ok(n),
            }
        };
        assert_eq!(retry_lost_races("x", |_| false, second).await.unwrap(), 1);
        let other = || async { Err::<(), _>(Error::invalid("no")) };
        assert!(matches!(
            retry_lost_races("x", always, other).await,
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            conflict(Err::<(), _>(Error::Contention { failed: vec![] }), "m"),
            Err(Error::Conflict(_))
        ));
    }

    #[tokio::test]
    async fn only_conflicting_transactions_are_run_again() {
        let calls = AtomicU32::new(0);
        let conflicted_once = || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(Error::Contention { failed: vec![] }),
                n => Ok(n),
            }
        };
        assert_eq!(retry_conflicting(conflicted_once).await.unwrap(), 1);
        let condition = AtomicU32::new(0);
        let failed = || async {
            condition.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Error::Contention { failed: vec![0] })
        };
        assert!(matches!(
            retry_conflicting(failed).await,
            Err(Error::Contention { .. })
        ));
        assert_eq!(
            condition.load(Ordering::SeqCst),
            1,
            "a failed condition is final"
        );
    }
}
