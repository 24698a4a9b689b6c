//! The DynamoDB adapter of the store port: one table, defined in `table.rs`.
//!
//! Every port call is exactly one DynamoDB request (plus the SDK's own
//! retries, and `UnprocessedKeys` follow-ups of a throttled `BatchGetItem`).
//! Items map one to one: JSON objects become maps, arrays lists, numbers `N`.
//! Expiry is enforced here, not left to TTL: reads drop items whose `ttl` has
//! passed, and every condition is written so that an expired item counts as
//! absent (TTL deletion lags by up to two days; moto never deletes).
//!
//! Depends on the AWS SDK; nothing else in the core does.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, KeysAndAttributes, Projection, ProjectionType, Put,
    ScalarAttributeType, SseSpecification, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use serde_json::{Map, Number, Value};

use super::table::{self, GSIS};
use super::{
    Attrs, Cond, Cursor, Index, Item, Key, MAX_BATCH_GET, PK, Page, Query, SK, SortCond, Store,
    StoreError, StoreResult, TTL, Write, validate_transaction, validate_write,
};
use crate::clock::Clock;
use std::sync::Arc;

pub type Av = AttributeValue;

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

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(DisplayErrorContext(&e).to_string())
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("request did not build: {e}"))
}

// ---- values -------------------------------------------------------------

/// A JSON value as a DynamoDB attribute value.
pub fn to_av(v: &Value) -> Av {
    match v {
        Value::Null => Av::Null(true),
        Value::Bool(b) => Av::Bool(*b),
        Value::Number(n) => Av::N(n.to_string()),
        Value::String(s) => Av::S(s.clone()),
        Value::Array(a) => Av::L(a.iter().map(to_av).collect()),
        Value::Object(m) => Av::M(m.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
    }
}

/// A DynamoDB attribute value as JSON (sets become arrays; binary is not
/// used by embedcare and reads as null).
pub fn from_av(av: &Av) -> Value {
    match av {
        Av::Null(_) => Value::Null,
        Av::Bool(b) => Value::Bool(*b),
        Av::N(n) => number(n),
        Av::S(s) => Value::String(s.clone()),
        Av::L(l) => Value::Array(l.iter().map(from_av).collect()),
        Av::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), from_av(v))).collect()),
        Av::Ss(ss) => Value::Array(ss.iter().cloned().map(Value::String).collect()),
        Av::Ns(ns) => Value::Array(ns.iter().map(|n| number(n)).collect()),
        _ => Value::Null,
    }
}

fn number(n: &str) -> Value {
    if let Ok(i) = n.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = n.parse::<u64>() {
        return Value::from(u);
    }
    n.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn key_av(key: &Key) -> HashMap<String, Av> {
    HashMap::from([
        (PK.to_owned(), Av::S(key.pk.clone())),
        (SK.to_owned(), Av::S(key.sk.clone())),
    ])
}

fn item_av(item: &Item) -> HashMap<String, Av> {
    let mut m = key_av(&item.key);
    m.extend(item.attrs.iter().map(|(k, v)| (k.clone(), to_av(v))));
    m
}

fn item_of(mut m: HashMap<String, Av>) -> StoreResult<Item> {
    let s = |m: &mut HashMap<String, Av>, name: &str| match m.remove(name) {
        Some(Av::S(s)) => Ok(s),
        _ => Err(StoreError::Unavailable(format!(
            "item without a string {name}"
        ))),
    };
    let pk = s(&mut m, PK)?;
    let sk = s(&mut m, SK)?;
    let attrs: Attrs = m.iter().map(|(k, v)| (k.clone(), from_av(v))).collect();
    Ok(Item::new(Key::new(pk, sk), attrs))
}

// ---- expressions --------------------------------------------------------

/// Builds one expression's placeholders: `#n0`… for names, `:v0`… for values.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, Av>,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| *n == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, v: Av) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), v);
        placeholder
    }

    /// `(the item has no ttl, or it is in the future)`.
    fn live(&mut self, now: i64) -> String {
        let ttl = self.name(TTL);
        let now = self.value(Av::N(now.to_string()));
        format!("(attribute_not_exists({ttl}) OR {ttl} > {now})")
    }

    fn expired(&mut self, now: i64) -> String {
        let ttl = self.name(TTL);
        let now = self.value(Av::N(now.to_string()));
        format!("{ttl} <= {now}")
    }

    fn cond(&mut self, c: &Cond, now: i64) -> String {
        match c {
            Cond::Exists => {
                let pk = self.name(PK);
                let live = self.live(now);
                format!("(attribute_exists({pk}) AND {live})")
            }
            Cond::NotExists => {
                let pk = self.name(PK);
                let expired = self.expired(now);
                format!("(attribute_not_exists({pk}) OR {expired})")
            }
            Cond::AttrExists(a) => {
                let a = self.name(a);
                let live = self.live(now);
                format!("(attribute_exists({a}) AND {live})")
            }
            Cond::AttrNotExists(a) => {
                let a = self.name(a);
                let expired = self.expired(now);
                format!("(attribute_not_exists({a}) OR {expired})")
            }
            Cond::AttrEq(a, v) => {
                let a = self.name(a);
                let v = self.value(to_av(v));
                let live = self.live(now);
                format!("({a} = {v} AND {live})")
            }
            Cond::And(cs) if cs.is_empty() => {
                let pk = self.name(PK);
                format!("(attribute_exists({pk}) OR attribute_not_exists({pk}))")
            }
            Cond::And(cs) => self.join(cs, " AND ", now),
            Cond::Or(cs) if cs.is_empty() => {
                let pk = self.name(PK);
                format!("(attribute_exists({pk}) AND attribute_not_exists({pk}))")
            }
            Cond::Or(cs) => self.join(cs, " OR ", now),
        }
    }

    /// Every part is already parenthesised; DynamoDB rejects `((x))` as
    /// redundant, so a single part is not wrapped again.
    fn join(&mut self, cs: &[Cond], op: &str, now: i64) -> String {
        let parts: Vec<String> = cs.iter().map(|c| self.cond(c, now)).collect();
        match parts.as_slice() {
            [one] => one.clone(),
            _ => format!("({})", parts.join(op)),
        }
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, Av>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// `SET #a = :a, … REMOVE #b, …`
fn update_expression(e: &mut Expr, set: &Attrs, remove: &[String]) -> StoreResult<String> {
    if set.is_empty() && remove.is_empty() {
        return Err(StoreError::Invalid(
            "an update sets or removes something".into(),
        ));
    }
    if remove.iter().any(|r| r == PK || r == SK) {
        return Err(StoreError::Invalid(
            "an update cannot remove a key attribute".into(),
        ));
    }
    if remove.iter().any(|r| set.contains_key(r)) {
        return Err(StoreError::Invalid(
            "an update cannot set and remove one attribute".into(),
        ));
    }
    let mut parts = Vec::new();
    if !set.is_empty() {
        let sets: Vec<String> = set
            .iter()
            .map(|(k, v)| {
                let n = e.name(k);
                let v = e.value(to_av(v));
                format!("{n} = {v}")
            })
            .collect();
        parts.push(format!("SET {}", sets.join(", ")));
    }
    if !remove.is_empty() {
        let removes: Vec<String> = remove.iter().map(|r| e.name(r)).collect();
        parts.push(format!("REMOVE {}", removes.join(", ")));
    }
    Ok(parts.join(" "))
}

fn check_gsi_attrs(attrs: &Attrs) -> StoreResult<()> {
    for g in GSIS {
        for name in [g.pk, g.sk] {
            match attrs.get(name) {
                None => {}
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "index key attribute {name} must be a non-empty string"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn transact_item(table: &str, write: &Write, now: i64) -> StoreResult<TransactWriteItem> {
    let mut e = Expr::default();
    let item = match write {
        Write::Put { item, cond } => {
            check_gsi_attrs(&item.attrs)?;
            let c = cond.as_ref().map(|c| e.cond(c, now));
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(item_av(item)))
                        .set_condition_expression(c)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build()
        }
        Write::Update {
            key,
            set,
            remove,
            cond,
        } => {
            check_gsi_attrs(set)?;
            let u = update_expression(&mut e, set, remove)?;
            let c = cond.as_ref().map(|c| e.cond(c, now));
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(table)
                        .set_key(Some(key_av(key)))
                        .update_expression(u)
                        .set_condition_expression(c)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build()
        }
        Write::Delete { key, cond } => {
            let c = cond.as_ref().map(|c| e.cond(c, now));
            TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(table)
                        .set_key(Some(key_av(key)))
                        .set_condition_expression(c)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build()
        }
        Write::Check { key, cond } => {
            let c = e.cond(cond, now);
            TransactWriteItem::builder()
                .condition_check(
                    ConditionCheck::builder()
                        .table_name(table)
                        .set_key(Some(key_av(key)))
                        .condition_expression(c)
                        .set_expression_attribute_names(e.names())
                        .set_expression_attribute_values(e.values())
                        .build()
                        .map_err(build_error)?,
                )
                .build()
        }
    };
    Ok(item)
}

fn cursor_of(lek: &HashMap<String, Av>, index: Index) -> Option<Cursor> {
    let s = |name: &str| match lek.get(name) {
        Some(Av::S(s)) => Some(s.clone()),
        _ => None,
    };
    let gsi = table::gsi(index);
    Some(Cursor {
        pk: s(PK)?,
        sk: s(SK)?,
        ipk: gsi.and_then(|g| s(g.pk)),
        isk: gsi.and_then(|g| s(g.sk)),
    })
}

fn start_key(c: &Cursor, index: Index) -> StoreResult<HashMap<String, Av>> {
    let mut m = HashMap::from([
        (PK.to_owned(), Av::S(c.pk.clone())),
        (SK.to_owned(), Av::S(c.sk.clone())),
    ]);
    if let Some(g) = table::gsi(index) {
        let (Some(ipk), Some(isk)) = (&c.ipk, &c.isk) else {
            return Err(StoreError::Invalid(
                "an index cursor needs its index key".into(),
            ));
        };
        m.insert(g.pk.to_owned(), Av::S(ipk.clone()));
        m.insert(g.sk.to_owned(), Av::S(isk.clone()));
    }
    Ok(m)
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
            SortCond::All => {}
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
        match &write {
            Write::Check { .. } => {
                return Err(StoreError::Invalid(
                    "a check is only meaningful in a transaction".into(),
                ));
            }
            Write::Put { item, cond } => {
                check_gsi_attrs(&item.attrs)?;
                let c = cond.as_ref().map(|c| e.cond(c, now));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item_av(item)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|err| {
                        condition_or(err, |se| se.is_conditional_check_failed_exception())
                    })
            }
            Write::Update {
                key,
                set,
                remove,
                cond,
            } => {
                check_gsi_attrs(set)?;
                let u = update_expression(&mut e, set, remove)?;
                let c = cond.as_ref().map(|c| e.cond(c, now));
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_av(key)))
                    .update_expression(u)
                    .set_condition_expression(c)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|err| {
                        condition_or(err, |se| se.is_conditional_check_failed_exception())
                    })
            }
            Write::Delete { key, cond } => {
                let c = cond.as_ref().map(|c| e.cond(c, now));
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_av(key)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .send()
                    .await
                    .map(drop)
                    .map_err(|err| {
                        condition_or(err, |se| se.is_conditional_check_failed_exception())
                    })
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
                Some(se) if se.is_transaction_canceled_exception() => {
                    let failed = match se {
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => t
                            .cancellation_reasons()
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                            .map(|(i, _)| i)
                            .collect(),
                        _ => Vec::new(),
                    };
                    Err(StoreError::TransactionCancelled { failed })
                }
                _ => Err(unavailable(err)),
            },
        }
    }
}

fn condition_or<E, R>(err: SdkError<E, R>, is_condition: impl Fn(&E) -> bool) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err.as_service_error() {
        Some(se) if is_condition(se) => StoreError::ConditionFailed,
        _ => unavailable(err),
    }
}

// ---- the table ----------------------------------------------------------

/// Creates the table from `table.rs` (on-demand, stream of new images,
/// server-side encryption, TTL on `ttl`) and waits until it is active.
/// For development and tests; the infrastructure defines the same table.
pub async fn create_table(client: &Client, name: &str) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let s_attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| err(&e))
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| err(&e))
    };
    let mut attrs = vec![s_attr(PK)?, s_attr(SK)?];
    let mut gsis = Vec::new();
    for g in GSIS {
        attrs.push(s_attr(g.pk)?);
        attrs.push(s_attr(g.sk)?);
        gsis.push(
            GlobalSecondaryIndex::builder()
                .index_name(g.name)
                .key_schema(key(g.pk, KeyType::Hash)?)
                .key_schema(key(g.sk, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| err(&e))?,
        );
    }
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attrs))
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .set_global_secondary_indexes(Some(gsis))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .map_err(|e| err(&e))?,
        )
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .send()
        .await
        .map_err(|e| DisplayErrorContext(&e).to_string())?;
    for _ in 0..100 {
        let d = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        let active = d
            .table
            .and_then(|t| t.table_status)
            .is_some_and(|s| s == aws_sdk_dynamodb::types::TableStatus::Active);
        if active {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL)
                .build()
                .map_err(|e| err(&e))?,
        )
        .send()
        .await
        .map_err(|e| DisplayErrorContext(&e).to_string())?;
    Ok(())
}

/// JSON of an attribute map (for stream records and tests).
pub fn json_of_image(m: &HashMap<String, Av>) -> Map<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), from_av(v))).collect()
}

// ---- request counting -----------------------------------------------------

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use std::sync::Mutex;

/// An SDK interceptor that records the operation of every request the
/// DynamoDB client actually sends (retries included), from its
/// `X-Amz-Target` header. Tests and benchmarks use it to count round trips
/// on the wire rather than calls of the port.
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<String>>>);

impl RequestLog {
    /// Operation names (`GetItem`, `TransactWriteItems`, …) since the last take.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "embedcare-request-log"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
            .unwrap_or_else(|| "?".to_owned());
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(target);
        Ok(())
    }
}
