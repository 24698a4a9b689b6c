//! Lambda `visits`: the visits: walk-in, scheduled and eConsult
//! creation, lists and reads, the moves (`/v2/visits/{visitId}/accept`,
//! `start`, `complete`, `no-show`, `cancel`) and the chat
//! (`/v2/visits/{visitId}/messages`), the live encounter (participants,
//! end, fulfil, the intake, presence: `alive`, `connection-status`, video
//! keys — built with feature `chime`: with `EMBEDCARE_VIDEO=chime` its
//! video rooms are Chime SDK meetings); CORS for the franchises' origins.
//! Posts to the visits' live connections (`EMBEDCARE_VISIT_LIVE_ENDPOINT`,
//! feature `aws-events`).
//! Wiring only; everything worth testing is in `shared`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::lambda::http::init_logging();
    // Configuration and AWS clients, once per instance (cold start).
    let app = shared::runtime::lambda_app().await?;
    lambda_http::run(shared::lambda::http::service(shared::http::visits_router(
        app,
    )))
    .await
}
