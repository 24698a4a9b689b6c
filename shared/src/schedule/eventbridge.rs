//! The Amazon EventBridge Scheduler adapter of the scheduler port: one
//! one-shot schedule per reminder (`at(…)` in UTC, no flexible window),
//! in the stack's schedule group, whose target is the visit notifier
//! function with the reminder's payload as its input, invoked with a role
//! the scheduler assumes (it may invoke that function only); the schedule
//! deletes itself once it has run (`ActionAfterCompletion: DELETE`). Its
//! name is derived from the reminder ([`super::schedule_name`]): creating
//! it again is a conflict, taken as done; deleting one that is gone is too.

use async_trait::async_trait;
use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, RetryPolicy, Target,
};

use super::{Reminder, ReminderKind, Scheduler, schedule_name};
use crate::domain::{TenantKey, VisitId};

/// Where the schedules go and what they invoke.
#[derive(Debug, Clone)]
pub struct ScheduleTarget {
    /// The stack's schedule group (`EMBEDCARE_SCHEDULE_GROUP`).
    pub group: String,
    /// The function a reminder invokes (`EMBEDCARE_SCHEDULE_TARGET_ARN`).
    pub target_arn: String,
    /// The role the scheduler assumes to invoke it
    /// (`EMBEDCARE_SCHEDULER_ROLE_ARN`).
    pub role_arn: String,
}

pub struct EventBridgeScheduler {
    client: Client,
    target: ScheduleTarget,
}

impl EventBridgeScheduler {
    pub fn new(client: Client, target: ScheduleTarget) -> Self {
        Self { client, target }
    }
}

/// `at(yyyy-mm-ddThh:mm:ss)`, UTC, to the second.
pub fn at_expression(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "at({:04}-{:02}-{:02}T{:02}:{:02}:{:02})",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// An SDK error as the port reports it: the service's code only (its
/// messages may quote the request).
fn code_of<E: ProvideErrorMetadata>(what: &str, e: &E) -> String {
    format!("{what} failed: {}", e.code().unwrap_or("unreachable"))
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn create(&self, r: &Reminder) -> Result<(), String> {
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| e.to_string())?;
        // A reminder later than an hour is not worth sending.
        let retry = RetryPolicy::builder()
            .maximum_event_age_in_seconds(3600)
            .maximum_retry_attempts(10)
            .build();
        let target = Target::builder()
            .arn(&self.target.target_arn)
            .role_arn(&self.target.role_arn)
            .input(r.payload().to_string())
            .retry_policy(retry)
            .build()
            .map_err(|e| e.to_string())?;
        let sent = self
            .client
            .create_schedule()
            .name(schedule_name(&r.tenant, &r.visit_id, r.kind))
            .group_name(&self.target.group)
            .schedule_expression(at_expression(r.at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .description("embedcare: a reminder of a scheduled visit")
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(code_of("CreateSchedule", &e)),
        }
    }

    async fn delete(
        &self,
        tenant: &TenantKey,
        visit: &VisitId,
        kind: ReminderKind,
    ) -> Result<(), String> {
        let sent = self
            .client
            .delete_schedule()
            .name(schedule_name(tenant, visit, kind))
            .group_name(&self.target.group)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(code_of("DeleteSchedule", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn at_expressions_are_utc_seconds() {
        // 2026-01-01T14:00:00.250Z
        assert_eq!(
            super::at_expression(1_767_276_000_250),
            "at(2026-01-01T14:00:00)"
        );
    }
}
