//! Tasks that time makes due (placeholder filled in by the reminders).
