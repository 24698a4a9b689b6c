//! The port's conditions and updates as DynamoDB expressions, and the
//! writes of a transaction as `TransactWriteItem`s. Every condition is
//! written so that an expired item counts as absent.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::build_error;
use super::values::{Av, item_av, key_av, to_av};
use crate::store::{Attrs, Cond, PK, StoreError, StoreResult, TTL, Write};

/// Sets a condition and the placeholders of its expression on any of the
/// SDK's request builders: each has the same three setters, but they share
/// no trait, hence a macro.
macro_rules! with_expr {
    ($builder:expr, $e:expr, $cond:expr) => {
        $builder
            .set_condition_expression($cond)
            .set_expression_attribute_names($e.names())
            .set_expression_attribute_values($e.values())
    };
}
pub(super) use with_expr;

/// Builds one expression's placeholders: `#n0`… for names, `:v0`… for values.
#[derive(Default)]
pub struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, Av>,
}

impl Expr {
    pub fn name(&mut self, name: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, n)| *n == name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    pub fn value(&mut self, v: Av) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), v);
        placeholder
    }

    /// `(the item has no ttl, or it is in the future)`.
    pub fn live(&mut self, now: i64) -> String {
        let ttl = self.name(TTL);
        let now = self.value(Av::N(now.to_string()));
        format!("(attribute_not_exists({ttl}) OR {ttl} > {now})")
    }

    fn expired(&mut self, now: i64) -> String {
        let ttl = self.name(TTL);
        let now = self.value(Av::N(now.to_string()));
        format!("{ttl} <= {now}")
    }

    pub fn cond(&mut self, c: &Cond, now: i64) -> String {
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

    /// The condition of an optional `Cond`.
    pub fn opt_cond(&mut self, c: Option<&Cond>, now: i64) -> Option<String> {
        c.map(|c| self.cond(c, now))
    }

    pub fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub fn values(&self) -> Option<HashMap<String, Av>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// `SET #a = :a, … REMOVE #b, … ADD #c :c, …` (the port checked what it
/// may touch).
pub fn update_expression(
    e: &mut Expr,
    set: &Attrs,
    remove: &[String],
    add: &[(String, i64)],
) -> StoreResult<String> {
    if set.is_empty() && remove.is_empty() && add.is_empty() {
        return Err(StoreError::Invalid(
            "an update sets, removes or adds something".into(),
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
    if !add.is_empty() {
        let adds: Vec<String> = add
            .iter()
            .map(|(k, a)| {
                let n = e.name(k);
                let v = e.value(Av::N(a.to_string()));
                format!("{n} {v}")
            })
            .collect();
        parts.push(format!("ADD {}", adds.join(", ")));
    }
    Ok(parts.join(" "))
}

/// The update expression (of an update) and the condition of `write`, made
/// in `e`: what a single write and a transaction's write both send.
pub fn expressions(
    e: &mut Expr,
    write: &Write,
    now: i64,
) -> StoreResult<(Option<String>, Option<String>)> {
    let update = match write {
        Write::Update {
            set, remove, add, ..
        } => Some(update_expression(e, set, remove, add)?),
        _ => None,
    };
    let cond = match write {
        Write::Put { cond, .. } | Write::Update { cond, .. } | Write::Delete { cond, .. } => {
            e.opt_cond(cond.as_ref(), now)
        }
        Write::Check { cond, .. } => Some(e.cond(cond, now)),
    };
    Ok((update, cond))
}

/// One write of a transaction. (Its arms look alike: each is one of the
/// SDK's four request types, which share no trait.)
pub fn transact_item(table: &str, write: &Write, now: i64) -> StoreResult<TransactWriteItem> {
    let mut e = Expr::default();
    let (u, c) = expressions(&mut e, write, now)?;
    let t = TransactWriteItem::builder();
    let item = match write {
        Write::Put { item, .. } => {
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(item_av(item)));
            t.put(with_expr!(put, e, c).build().map_err(build_error)?)
        }
        Write::Update { key, .. } => {
            let update = Update::builder()
                .table_name(table)
                .set_key(Some(key_av(key)));
            let update = with_expr!(update.set_update_expression(u), e, c);
            t.update(update.build().map_err(build_error)?)
        }
        Write::Delete { key, .. } => {
            let delete = Delete::builder()
                .table_name(table)
                .set_key(Some(key_av(key)));
            t.delete(with_expr!(delete, e, c).build().map_err(build_error)?)
        }
        Write::Check { key, .. } => {
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_av(key)));
            t.condition_check(with_expr!(check, e, c).build().map_err(build_error)?)
        }
    };
    Ok(item.build())
}
