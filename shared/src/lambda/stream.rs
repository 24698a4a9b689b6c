//! The relay function's input and output: a DynamoDB stream event (records
//! in DynamoDB's JSON) in, the partial batch response out. Compiled always:
//! the relay tests feed it stream events too.

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::events::EventBus;
use crate::events::relay::{RelayPolicy, StreamRecord, relay, settle};
use crate::store::Store;
use crate::store::dynamodb::values::from_dynamodb_json;

/// Reads the records of a Lambda DynamoDB stream event.
pub fn records_of_lambda_event(event: &Value) -> Vec<StreamRecord> {
    event["Records"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .map(|r| StreamRecord {
                    id: r["dynamodb"]["SequenceNumber"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    event_name: r["eventName"].as_str().unwrap_or_default().to_owned(),
                    new_image: r["dynamodb"]["NewImage"].as_object().map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), from_dynamodb_json(v)))
                            .collect()
                    }),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The relay function's whole job: a DynamoDB stream event in, the partial
/// batch response out (`{"batchItemFailures": [{"itemIdentifier": seq}]}`),
/// so that the event source mapping retries from the first failed record
/// and nothing is dropped; what was delivered is marked relayed and a
/// malformed record dead-lettered, in `store` (`relay::settle`).
pub async fn handle_stream_event(
    event: &Value,
    bus: &dyn EventBus,
    store: &dyn Store,
    clock: &dyn Clock,
    policy: RelayPolicy,
) -> Value {
    let records = records_of_lambda_event(event);
    let relayed = relay(&records, bus, policy).await;
    let now = clock.now_ms();
    settle(store, &relayed, now).await;
    crate::events::relay::measure(&records, &relayed, now);
    if !relayed.failed.is_empty() {
        tracing::warn!(
            failed = relayed.failed.len(),
            of = records.len(),
            "records left for a retry"
        );
    }
    let failures: Vec<Value> = relayed
        .failed
        .into_iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    json!({"batchItemFailures": failures})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_from_dynamodb_json() {
        let event = json!({"Records": [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": "7",
            "NewImage": {"type": {"S": "outbox"}, "n": {"N": "2"}}}}]});
        let records = records_of_lambda_event(&event);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].id, "7");
        assert_eq!(records[0].new_image.as_ref().unwrap()["n"], json!(2));
        assert!(records_of_lambda_event(&json!({})).is_empty());
    }
}
