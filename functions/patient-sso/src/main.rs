//! Lambda `patient-sso`: the patient SSO tokens: issued to the vendor's server
//! (`POST /v2/patients/sso`), revoked (`DELETE /v2/patients/sso/{tokenId}`),
//! ended by the patient (`POST /v2/patients/logout`); CORS for the
//! franchises' origins.
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(
        shared::http::patient_sso_router(app),
    ))
    .await
}
