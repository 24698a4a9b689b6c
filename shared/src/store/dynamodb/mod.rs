//! The DynamoDB adapter of the store port: one table, defined in `table.rs`.
//!
//! Every port call is exactly one DynamoDB request (plus the SDK's own
//! retries, and `UnprocessedKeys` follow-ups of a throttled `BatchGetItem`).
//! Items map one to one (`values.rs`). Expiry is enforced here, not left to
//! TTL: reads drop items whose `ttl` has passed, and every condition is
//! written so that an expired item counts as absent (`expr.rs`; TTL
//! deletion lags by up to two days; moto never deletes).
//!
//! Depends on the AWS SDK; nothing else in the store does.

pub mod admin;
pub mod errors;
mod expr;
pub mod request_log;
pub mod values;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::KeysAndAttributes;

use self::expr::{Expr, expressions, transact_item, with_expr};
use self::values::{Av, cursor_of, item_av, item_of, key_av, start_key};
use super::table;
use super::{
    Cond, Item, Key, MAX_BATCH_GET, PK, Page, Query, SK, SortCond, Store, StoreError, StoreResult,
    Write, validate_add, validate_transaction, validate_write,
};
use crate::clock::Clock;

pub use self::admin::create_table;
pub use self::request_log::RequestLog;

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.into(),
            clock,
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    errors::store_error(e)
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("request did not build: {e}"))
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        if key.pk.is_empty() || key.sk.is_empty() {
            return Err(StoreError::Invalid("empty key attribute".into()));
        }
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_av(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let now = self.clock.now_s();
        match out.item {
            None => Ok(None),
            Some(m) => {
                let item = item_of(m)?;
                Ok((!item.is_expired(now)).then_some(item))
            }
        }
    }

    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if keys.len() > MAX_BATCH_GET {
            return Err(StoreError::Invalid(format!(
                "at most {MAX_BATCH_GET} keys per batch read"
            )));
        }
        let mut sorted: Vec<&Key> = keys.iter().collect();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1])
            || keys.iter().any(|k| k.pk.is_empty() || k.sk.is_empty())
        {
            return Err(StoreError::Invalid(
                "batch read keys must be distinct and non-empty".into(),
            ));
        }
        let mut pending: Vec<HashMap<String, Av>> = keys.iter().map(key_av).collect();
        let mut found = Vec::new();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(unavailable)?;
            if let Some(mut responses) = out.responses {
                for m in responses.remove(&self.table).unwrap_or_default() {
                    found.push(item_of(m)?);
                }
            }
            if let Some(rest) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                pending = rest.keys;
            }
            if !pending.is_empty() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Unavailable("batch read throttled".into()));
                }
                tokio::time::sleep(Duration::from_millis(10 << attempt.min(6))).await;
            }
        }
        let now = self.clock.now_s();
        found.retain(|i| !i.is_expired(now));
        Ok(found)
    }

    async fn query(&self, q: &Query) -> StoreResult<Page> {
        if q.pk.is_empty() {
            return Err(StoreError::Invalid("empty partition key".into()));
        }
        let gsi = table::gsi(q.index);
        let (pk_name, sk_name) = gsi.map_or((PK, SK), |g| (g.pk, g.sk));
        let mut e = Expr::default();
        let pk = e.name(pk_name);
        let pk_v = e.value(Av::S(q.pk.clone()));
        let mut key_cond = format!("{pk} = {pk_v}");
        match &q.sort {
            // Every key begins with the empty prefix (as the embedded store
            // reads it); DynamoDB refuses an empty value in a key condition.
            SortCond::All => {}
            SortCond::BeginsWith(prefix) if prefix.is_empty() => {}
            SortCond::BeginsWith(prefix) => {
                let sk = e.name(sk_name);
                let p = e.value(Av::S(prefix.clone()));
                key_cond.push_str(&format!(" AND begins_with({sk}, {p})"));
            }
            SortCond::Between(a, b) => {
                if a > b {
                    return Err(StoreError::Invalid("BETWEEN bounds are reversed".into()));
                }
                let sk = e.name(sk_name);
                let a = e.value(Av::S(a.clone()));
                let b = e.value(Av::S(b.clone()));
                key_cond.push_str(&format!(" AND {sk} BETWEEN {a} AND {b}"));
            }
        }
        let now = self.clock.now_s();
        let filter = e.live(now);
        let start = q
            .start_after
            .as_ref()
            .map(|c| start_key(c, q.index))
            .transpose()?;
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(gsi.map(|g| g.name.to_owned()))
            .key_condition_expression(key_cond)
            .filter_expression(filter)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .scan_index_forward(q.forward)
            .limit(q.limit.clamp(1, 1000) as i32)
            .set_exclusive_start_key(start)
            .set_consistent_read(gsi.is_none().then_some(true))
            .send()
            .await
            .map_err(unavailable)?;
        let mut items = Vec::new();
        for m in out.items.unwrap_or_default() {
            let item = item_of(m)?;
            if !item.is_expired(now) {
                items.push(item);
            }
        }
        let next = out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| cursor_of(k, q.index));
        Ok(Page { items, next })
    }

    async fn write(&self, write: Write) -> StoreResult<()> {
        validate_write(&write)?;
        let now = self.clock.now_s();
        let mut e = Expr::default();
        // Each single write fails as `ConditionFailed` when its condition
        // does not hold (the three operations share no error type).
        macro_rules! send {
            ($request:expr) => {
                $request.send().await.map(drop).map_err(|err| {
                    condition_or(err, |se| se.is_conditional_check_failed_exception())
                })
            };
        }
        let (u, c) = expressions(&mut e, &write, now)?;
        match &write {
            Write::Check { .. } => Err(StoreError::Invalid(
                "a check is only meaningful in a transaction".into(),
            )),
            Write::Put { item, .. } => {
                let request = self.client.put_item().table_name(&self.table);
                send!(with_expr!(request.set_item(Some(item_av(item))), e, c))
            }
            Write::Update { key, .. } => {
                let request = self.client.update_item().table_name(&self.table);
                let request = request.set_key(Some(key_av(key))).set_update_expression(u);
                send!(with_expr!(request, e, c))
            }
            Write::Delete { key, .. } => {
                let request = self.client.delete_item().table_name(&self.table);
                send!(with_expr!(request.set_key(Some(key_av(key))), e, c))
            }
        }
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        let now = self.clock.now_s();
        let items = writes
            .iter()
            .map(|w| transact_item(&self.table, w, now))
            .collect::<StoreResult<Vec<_>>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t),
                ) => {
                    let reasons: Vec<Option<&str>> =
                        t.cancellation_reasons().iter().map(|r| r.code()).collect();
                    Err(errors::cancellation(&reasons))
                }
                _ => Err(unavailable(err)),
            },
        }
    }

    async fn add(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        self.add_item(key, amounts, cond).await
    }
}

impl DynamoStore {
    /// `UpdateItem ADD … ReturnValues ALL_NEW`.
    async fn add_item(
        &self,
        key: &Key,
        amounts: &[(&str, i64)],
        cond: Option<Cond>,
    ) -> StoreResult<Item> {
        validate_add(key, amounts)?;
        let now = self.clock.now_s();
        let mut e = Expr::default();
        let amounts: Vec<(String, i64)> =
            amounts.iter().map(|(n, a)| ((*n).to_owned(), *a)).collect();
        let update = expr::update_expression(&mut e, &super::Attrs::new(), &[], &amounts)?;
        let c = e.opt_cond(cond.as_ref(), now);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_av(key)))
            .update_expression(update)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let out = with_expr!(request, e, c)
            .send()
            .await
            .map_err(|err| condition_or(err, |se| se.is_conditional_check_failed_exception()))?;
        let mut attrs = out.attributes.unwrap_or_default();
        attrs.insert(PK.into(), Av::S(key.pk.clone()));
        attrs.insert(SK.into(), Av::S(key.sk.clone()));
        item_of(attrs)
    }
}

fn condition_or<E, R>(err: SdkError<E, R>, is_condition: impl Fn(&E) -> bool) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(se) if is_condition(se) => StoreError::ConditionFailed,
        _ => unavailable(err),
    }
}
