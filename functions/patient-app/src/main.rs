//! Lambda `patient-app`: the patient app's pages: `/auth` (an SSO token becomes
//! a session), `/u/clinic`, `/visits/start/{visitId}`, `/visits/{visitId}`,
//! `/visits/join/{code}`, `/members/appointment/{visitId}`, and their script
//! under `/clinic/static/`.
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(
        shared::http::patient_app_router(app),
    ))
    .await
}
