//! The scheduler port on the store, for one machine: a reminder is a due
//! task of its visit (an item in the store, indexed by the hour it is due
//! in), which the local server's loop sends when its time has come
//! (`services::clinic::due`). Kept on disk with everything else, so a
//! restart loses no reminder; creating one twice writes the same item.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Reminder, ReminderKind, Scheduler};
use crate::domain::clinic::DueTask;
use crate::domain::{TenantKey, VisitId};
use crate::store::Store;
use crate::store::clinic_items::{due_put, due_removal};

pub struct StoreScheduler {
    store: Arc<dyn Store>,
}

impl StoreScheduler {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Scheduler for StoreScheduler {
    async fn create(&self, r: &Reminder) -> Result<(), String> {
        let write = due_put(&r.tenant, &r.visit_id, DueTask::Remind(r.kind), r.at);
        self.store.write(write).await.map_err(|e| e.to_string())
    }

    async fn delete(
        &self,
        tenant: &TenantKey,
        visit: &VisitId,
        kind: ReminderKind,
    ) -> Result<(), String> {
        let write = due_removal(tenant, visit, DueTask::Remind(kind), None);
        self.store.write(write).await.map_err(|e| e.to_string())
    }
}
