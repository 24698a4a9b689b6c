//! Items as DynamoDB sees them: JSON values ⇄ attribute values (objects are
//! maps, arrays lists, numbers `N`), keys and cursors ⇄ key maps, and the
//! DynamoDB JSON of stream images (`{"S": "…"}`, `{"N": "1"}`…), which is
//! what a Lambda stream event carries. One number decoder serves both.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Number, Value};

use crate::store::table;
use crate::store::{Attrs, Cursor, Index, Item, Key, PK, SK, StoreError, StoreResult};

pub type Av = AttributeValue;

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

/// A DynamoDB number (decimal text) as JSON: an integer when it is one.
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

/// A value in DynamoDB's JSON (as stream images are written) as plain JSON.
pub fn from_dynamodb_json(v: &Value) -> Value {
    let Some((tag, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return Value::Null;
    };
    match (tag.as_str(), inner) {
        ("S", Value::String(s)) => Value::String(s.clone()),
        ("N", Value::String(n)) => number(n),
        ("BOOL", Value::Bool(b)) => Value::Bool(*b),
        ("NULL", _) => Value::Null,
        ("M", Value::Object(m)) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), from_dynamodb_json(v)))
                .collect(),
        ),
        ("L", Value::Array(l)) => Value::Array(l.iter().map(from_dynamodb_json).collect()),
        ("SS", Value::Array(l)) => Value::Array(l.clone()),
        ("NS", Value::Array(l)) => Value::Array(
            l.iter()
                .map(|n| n.as_str().map_or(Value::Null, number))
                .collect(),
        ),
        _ => Value::Null,
    }
}

pub fn key_av(key: &Key) -> HashMap<String, Av> {
    HashMap::from([
        (PK.to_owned(), Av::S(key.pk.clone())),
        (SK.to_owned(), Av::S(key.sk.clone())),
    ])
}

pub fn item_av(item: &Item) -> HashMap<String, Av> {
    let mut m = key_av(&item.key);
    m.extend(item.attrs.iter().map(|(k, v)| (k.clone(), to_av(v))));
    m
}

pub fn item_of(mut m: HashMap<String, Av>) -> StoreResult<Item> {
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

/// The cursor of a query's `LastEvaluatedKey`.
pub fn cursor_of(lek: &HashMap<String, Av>, index: Index) -> Option<Cursor> {
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

/// The `ExclusiveStartKey` of a cursor.
pub fn start_key(c: &Cursor, index: Index) -> StoreResult<HashMap<String, Av>> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dynamodb_json_converts() {
        let v = json!({"M": {"a": {"S": "x"}, "n": {"N": "5"}, "l": {"L": [{"BOOL": true}, {"NULL": true}]}}});
        assert_eq!(
            from_dynamodb_json(&v),
            json!({"a": "x", "n": 5, "l": [true, null]})
        );
        assert_eq!(from_dynamodb_json(&json!({"N": "1.5"})), json!(1.5));
        assert_eq!(
            from_dynamodb_json(&json!({"NS": ["1", "2.5"]})),
            json!([1, 2.5])
        );
    }

    #[test]
    fn attribute_values_round_trip() {
        let v = json!({"s": "x", "n": 12, "f": 0.5, "b": false, "l": [1, null], "m": {"k": "v"}});
        assert_eq!(from_av(&to_av(&v)), v);
        assert_eq!(
            from_av(&Av::N("18446744073709551615".into())),
            json!(u64::MAX)
        );
    }
}
