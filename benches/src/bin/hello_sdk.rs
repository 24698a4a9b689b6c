//! Floor variant: the hello-world plus the AWS SDK as the functions use it —
//! the same `shared::runtime::dynamo_client` (region from the environment,
//! the process's HTTP/1.1 client with compiled-in roots), built eagerly at
//! init — and one `GetItem` per invocation (on `EMBEDCARE_TABLE`), so that
//! its first response pays what a function's first DynamoDB request pays.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let client = shared::runtime::dynamo_client().await?;
    let table = std::env::var("EMBEDCARE_TABLE").unwrap_or_else(|_| "embedcare".into());
    let (client, table) = (&client, table.as_str());
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let item = client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S("hello".into()))
            .key("sk", AttributeValue::S("hello".into()))
            .send()
            .await?;
        Ok::<Value, Error>(json!({"statusCode": 200, "body": item.item().is_some().to_string()}))
    }))
    .await
}
