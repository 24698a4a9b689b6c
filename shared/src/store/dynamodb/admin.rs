//! Creating the table from its single definition (`table.rs`), for
//! development and tests; the infrastructure defines the same table.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, SseSpecification, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use crate::store::table::GSIS;
use crate::store::{PK, SK, TTL};

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
