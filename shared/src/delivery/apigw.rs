//! Live connections through API Gateway's Management API (feature
//! `aws-events`): `PostToConnection`, `DeleteConnection`, `GetConnection`,
//! on the WebSocket API's `https://{domain}/{stage}` endpoint. API Gateway
//! cannot close a socket with a code: `close` deletes the connection, and a
//! caller that must say why sends a frame first.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;

use super::connections::{Connections, SendError};

pub struct ApiGatewayConnections {
    client: Client,
}

impl ApiGatewayConnections {
    /// A client of `endpoint`, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
    /// (or an emulator's URL).
    pub fn new(config: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let conf = aws_sdk_apigatewaymanagement::config::Builder::from(config)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: Client::from_conf(conf),
        }
    }
}

fn error<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> SendError {
    match e.code() {
        Some("GoneException") => SendError::Gone,
        code => SendError::Failed(format!(
            "API Gateway Management API: {}",
            code.unwrap_or("unreachable")
        )),
    }
}

#[async_trait]
impl Connections for ApiGatewayConnections {
    async fn send(&self, connection_id: &str, text: &str) -> Result<(), SendError> {
        self.client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(text.as_bytes()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| error(&e))
    }

    async fn close(&self, connection_id: &str, _code: u16, _reason: &str) -> Result<(), SendError> {
        match self
            .client
            .delete_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match error(&e) {
                SendError::Gone => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn is_live(&self, connection_id: &str) -> Result<bool, SendError> {
        match self
            .client
            .get_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match error(&e) {
                SendError::Gone => Ok(false),
                other => Err(other),
            },
        }
    }
}
