//! The DynamoDB stream record decoder of the relay
//! (`shared::lambda::stream::records_of_lambda_event`, DynamoDB's JSON by
//! `store::dynamodb::values::from_dynamodb_json`) and the bus entry of a
//! record (`events::relay::entry_of`). Properties: one record per element
//! of `Records`, in order, with its sequence number; an image keeps its
//! attribute names; any plain JSON written as DynamoDB's JSON decodes back
//! to itself; an outbox record's entry carries its detail as it was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use shared::events::relay::{StreamRecord, entry_of};
use shared::lambda::stream::records_of_lambda_event;
use shared::store::dynamodb::values::from_dynamodb_json;

/// A plain JSON value in DynamoDB's JSON, as a stream image writes it.
fn to_dynamodb_json(v: &Value) -> Value {
    match v {
        Value::Null => json!({"NULL": true}),
        Value::Bool(b) => json!({"BOOL": b}),
        Value::Number(n) => json!({"N": n.to_string()}),
        Value::String(s) => json!({"S": s}),
        Value::Array(a) => json!({"L": a.iter().map(to_dynamodb_json).collect::<Vec<_>>()}),
        Value::Object(m) => json!({"M": m.iter()
            .map(|(k, v)| (k.clone(), to_dynamodb_json(v)))
            .collect::<Map<_, _>>()}),
    }
}

fn check(event: &Value) -> Vec<StreamRecord> {
    let records = records_of_lambda_event(event);
    let given = event["Records"].as_array().map_or(0, Vec::len);
    assert_eq!(records.len(), given);
    for (r, raw) in records
        .iter()
        .zip(event["Records"].as_array().into_iter().flatten())
    {
        assert_eq!(
            r.id,
            raw["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap_or_default()
        );
        if let (Some(image), Some(raw)) = (&r.new_image, raw["dynamodb"]["NewImage"].as_object()) {
            assert!(image.keys().eq(raw.keys()), "attribute names changed");
        }
        let _ = r.key();
        let _ = entry_of(r);
    }
    records
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // The fuzzer's JSON as a stream event.
    check(&value);
    // The fuzzer's JSON as an item's attribute, in a well-formed event.
    let plain = from_dynamodb_json(&to_dynamodb_json(&value));
    assert_eq!(plain, value, "DynamoDB's JSON did not decode back");
    let detail = match &value {
        Value::Object(_) => value.clone(),
        other => json!({ "v": other }),
    };
    let image = json!({
        "pk": {"S": "T#demo#OUTBOX"}, "sk": {"S": "E#1"}, "type": {"S": "outbox"},
        "detailType": {"S": "Consultation Created"}, "detail": to_dynamodb_json(&detail),
    });
    let event = json!({"Records": [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "1", "NewImage": image}},
        {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "2"}},
    ]});
    let records = check(&event);
    let entry = entry_of(&records[0])
        .expect("a well-formed outbox item")
        .expect("an outbox insert is relayed");
    assert_eq!(entry.detail_type, "Consultation Created");
    assert_eq!(entry.detail, detail.to_string());
    assert_eq!(entry_of(&records[1]), Ok(None));
});
