//! `Application::build`: the whole service from a `Config`, used by `main` and by the tests
//! (which bind port 0).

use crate::audit::AuditKey;
use crate::audit::{chain, denials};
use crate::auth::principal::authenticate_requests;
use crate::config::{Config, secret_bytes};
use crate::http::{body, errors};
use crate::state::AppState;
use crate::{
    alerts, api_doc, approvals, assessments, auth, dashboard, db, events, executions, monitoring,
    ops, remediations, servers, users, work,
};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::time::Duration;
use tracing_actix_web::TracingLogger;
use utoipa_swagger_ui::SwaggerUi;

const SEAL_INTERVAL: Duration = Duration::from_millis(500);
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(3600);

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

/// Every route of the API, relative to `/api/v1`.
pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(auth::routes::configure)
        .configure(approvals::routes::configure)
        .configure(users::routes::configure)
        .configure(servers::routes::configure)
        .configure(assessments::routes::configure)
        .configure(work::routes::configure)
        // Before `/remediations/{id}`, so its fixed paths are matched first.
        .configure(executions::routes::configure)
        .configure(remediations::routes::configure)
        .configure(crate::audit::routes::configure)
        .configure(events::routes::configure)
        .configure(monitoring::routes::configure)
        .configure(alerts::routes::configure)
        .configure(ops::routes::configure);
}

impl Application {
    /// Connects and migrates the database, makes sure an admin exists, starts the audit
    /// sealer and binds the HTTP server (not yet running).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
        let db = db::connect(&config.database, config.db_max_connections).await?;
        db::migrate(&db).await?;
        chain::check_key(&db, &AuditKey::new(secret_bytes(&config.audit_key))).await?;
        let listener =
            TcpListener::bind((config.host.as_str(), config.port)).with_context(|| {
                format!(
                    "HOST/PORT: cannot listen on {}:{}",
                    config.host, config.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let state = AppState::new(db, config);
        users::service::bootstrap_admin(&state).await?;
        chain::spawn_sealer(
            &state.background,
            state.db.clone(),
            state.audit_key.clone(),
            state.wakeups.sealer.clone(),
            SEAL_INTERVAL,
        );
        spawn_housekeeping(state.clone());
        crate::workflow::queue::spawn_reaper(state.clone());
        events::hub::spawn_relay(state.clone());
        monitoring::sampler::spawn(state.clone());
        alerts::service::load_file(&state).await?;
        alerts::evaluator::spawn(state.clone());
        crate::audit::retention::spawn(state.clone());

        let app_state = state.clone();
        let openapi = api_doc::openapi();
        let server = HttpServer::new(move || {
            let limit = app_state.config.max_body_bytes;
            App::new()
                .app_data(web::Data::new(app_state.clone()))
                .app_data(body::json_config(limit))
                .app_data(body::query_config())
                .app_data(body::path_config())
                .app_data(web::PayloadConfig::new(limit))
                .wrap(from_fn(authenticate_requests))
                .wrap(from_fn(denials::audit_denials))
                .wrap(from_fn(errors::contract_errors))
                .wrap(from_fn(errors::contain_panics))
                .wrap(from_fn(monitoring::requests::record_requests))
                .wrap(from_fn(errors::log_requests))
                .wrap(TracingLogger::default())
                .service(web::scope("/api/v1").configure(api_routes))
                .configure(ops::routes::configure)
                .configure(monitoring::routes::configure_root)
                // Where the specification's clients open it: `wss://host:3000/ws`.
                .configure(events::routes::configure)
                .service(
                    SwaggerUi::new("/api-docs/{_:.*}")
                        .url("/api-docs/openapi.json", openapi.clone()),
                )
                .default_service(web::to(dashboard::routes::fallback))
        })
        .listen(listener)?
        .shutdown_timeout(10)
        .run();
        tracing::info!(port, "coordinator listening");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the server from elsewhere (graceful: requests in flight are finished); the
    /// background loops stop after it, in `run_until_stopped`.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until the server is stopped (through `handle`, or by SIGINT/SIGTERM), then
    /// stops the background loops and waits for them.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.state.background.shutdown().await;
        served
    }

    /// Stops an application that was built but is not being run elsewhere: the server
    /// (gracefully), then the background loops.
    pub async fn shutdown(self) {
        let handle = self.server.handle();
        let background = self.state.background.clone();
        let server = tokio::spawn(self.server);
        handle.stop(true).await;
        if let Err(err) = server.await {
            tracing::warn!(error = %err, "the HTTP server ended abnormally");
        }
        background.shutdown().await;
    }
}

fn spawn_housekeeping(state: AppState) {
    state.background.clone().spawn(async move {
        let mut tick = tokio::time::interval(HOUSEKEEPING_INTERVAL);
        loop {
            tick.tick().await;
            match auth::service::prune_revocations(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "forgot revocations of expired tokens"),
                Err(err) => tracing::warn!(error = %err, "pruning revoked tokens failed"),
            }
        }
    });
}
