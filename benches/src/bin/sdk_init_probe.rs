//! Where the AWS SDK's start-up time goes, phase by phase, in one process,
//! with the functions' own configuration (`shared::runtime::aws_config`:
//! the process's HTTP/1.1 client, roots compiled in): `aws-config` loading
//! (region and credentials from the environment), building the DynamoDB
//! client, the first `GetItem` (connection set-up included), a second one.
//! Timed first, apart: building the TLS configuration, which the first
//! request of a process otherwise pays (`shared/src/http_client.rs`), so
//! the first `GetItem` here does not. Prints one JSON line.
//! `AWS_ENDPOINT_URL` and `EMBEDCARE_TABLE` name the emulator and table.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tls0 = Instant::now();
    let tls = shared::http_client::tls_config();
    let tls1 = Instant::now();
    let t0 = Instant::now();
    let config = shared::runtime::aws_config().await?;
    let t1 = Instant::now();
    let client = aws_sdk_dynamodb::Client::new(&config);
    let t2 = Instant::now();
    let table = std::env::var("EMBEDCARE_TABLE").unwrap_or_else(|_| "embedcare".into());
    let get = || {
        client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("probe".into()))
            .key("sk", AttributeValue::S("probe".into()))
            .send()
    };
    get().await?;
    let t3 = Instant::now();
    get().await?;
    let t4 = Instant::now();
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    println!(
        "{{\"config_load_ms\":{:.3},\"client_build_ms\":{:.3},\"first_get_ms\":{:.3},\"second_get_ms\":{:.3},\"tls_config_ms\":{:.3},\"tls_roots\":{},\"tls_provider\":\"{}\"}}",
        ms(t0, t1),
        ms(t1, t2),
        ms(t2, t3),
        ms(t3, t4),
        ms(tls0, tls1),
        shared::http_client::root_store().len(),
        shared::http_client::CRYPTO_PROVIDER,
    );
    drop(tls);
    Ok(())
}
