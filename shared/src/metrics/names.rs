//! The metrics contract: every name, its unit, its Prometheus name. The
//! dashboard and the alarms of `infra/` (both templates) use these names.

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "embedcare";

/// A business counter (CloudWatch unit `Count`, no dimension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// A launch (an iframe URL with its single-use token) issued.
    LaunchesIssued,
    /// A launch token redeemed: a browser session started.
    LaunchesRedeemed,
    /// A redemption refused: the token used, expired, unknown or revoked.
    RedemptionsExpired,
    /// An event written to the outbox (committed with its change).
    EventsWritten,
    /// An event put on the bus by the relay or the re-drive.
    EventsRelayed,
    /// A webhook attempt made (one POST to a receiver).
    WebhookDeliveries,
    /// A webhook attempt that failed (not a 2xx, or no answer).
    WebhookFailures,
    /// A visit booked in a slot.
    Bookings,
    /// A booking refused because the slot was no longer free.
    BookingConflicts,
}

impl Counter {
    pub const ALL: [Counter; 9] = [
        Counter::LaunchesIssued,
        Counter::LaunchesRedeemed,
        Counter::RedemptionsExpired,
        Counter::EventsWritten,
        Counter::EventsRelayed,
        Counter::WebhookDeliveries,
        Counter::WebhookFailures,
        Counter::Bookings,
        Counter::BookingConflicts,
    ];

    /// The CloudWatch metric name.
    pub fn name(self) -> &'static str {
        match self {
            Counter::LaunchesIssued => "LaunchesIssued",
            Counter::LaunchesRedeemed => "LaunchesRedeemed",
            Counter::RedemptionsExpired => "RedemptionsExpired",
            Counter::EventsWritten => "EventsWritten",
            Counter::EventsRelayed => "EventsRelayed",
            Counter::WebhookDeliveries => "WebhookDeliveries",
            Counter::WebhookFailures => "WebhookFailures",
            Counter::Bookings => "Bookings",
            Counter::BookingConflicts => "BookingConflicts",
        }
    }

    /// The Prometheus name (`embedcare_<snake_case>_total`).
    pub fn prometheus(self) -> &'static str {
        match self {
            Counter::LaunchesIssued => "embedcare_launches_issued_total",
            Counter::LaunchesRedeemed => "embedcare_launches_redeemed_total",
            Counter::RedemptionsExpired => "embedcare_redemptions_expired_total",
            Counter::EventsWritten => "embedcare_events_written_total",
            Counter::EventsRelayed => "embedcare_events_relayed_total",
            Counter::WebhookDeliveries => "embedcare_webhook_deliveries_total",
            Counter::WebhookFailures => "embedcare_webhook_failures_total",
            Counter::Bookings => "embedcare_bookings_total",
            Counter::BookingConflicts => "embedcare_booking_conflicts_total",
        }
    }

    pub fn index(self) -> usize {
        Counter::ALL.iter().position(|c| *c == self).unwrap_or(0)
    }
}

/// A sampled value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// Relay time − event time of one event relayed (milliseconds; a
    /// summary locally).
    RelayLag,
    /// The age of the oldest pending outbox item, by the re-drive on each
    /// run (seconds; 0 when none; a gauge locally).
    OutboxOldestPending,
}

impl Sample {
    pub fn name(self) -> &'static str {
        match self {
            Sample::RelayLag => "RelayLag",
            Sample::OutboxOldestPending => "OutboxOldestPending",
        }
    }

    /// The CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Sample::RelayLag => "Milliseconds",
            Sample::OutboxOldestPending => "Seconds",
        }
    }

    pub fn prometheus(self) -> &'static str {
        match self {
            Sample::RelayLag => "embedcare_relay_lag_milliseconds",
            Sample::OutboxOldestPending => "embedcare_outbox_oldest_pending_seconds",
        }
    }
}

/// The class of an HTTP error answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpClass {
    Client,
    Server,
}

impl HttpClass {
    /// The class of `status`, when it is an error.
    pub fn of(status: u16) -> Option<HttpClass> {
        match status {
            400..=499 => Some(HttpClass::Client),
            500..=599 => Some(HttpClass::Server),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HttpClass::Client => "Http4xx",
            HttpClass::Server => "Http5xx",
        }
    }

    pub fn prometheus(self) -> &'static str {
        match self {
            HttpClass::Client => "embedcare_http_4xx_total",
            HttpClass::Server => "embedcare_http_5xx_total",
        }
    }
}

/// The route of a request that matched none (never its raw path, which
/// may hold an id or a token).
pub const UNMATCHED: &str = "unmatched";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_names_are_the_snake_case_of_the_cloudwatch_ones() {
        for c in Counter::ALL {
            let mut snake = String::new();
            for (i, ch) in c.name().char_indices() {
                if ch.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(ch.to_ascii_lowercase());
            }
            assert_eq!(c.prometheus(), format!("embedcare_{snake}_total"));
            assert_eq!(Counter::ALL[c.index()], c);
        }
        assert_eq!(HttpClass::of(404), Some(HttpClass::Client));
        assert_eq!(HttpClass::of(503), Some(HttpClass::Server));
        assert_eq!(HttpClass::of(302), None);
    }
}
