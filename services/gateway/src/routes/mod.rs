//! HTTP routes, the OpenAPI document generated from them, and the middleware stack.

mod ai_history;
mod brain;
mod chat;
mod chats;
mod health;
mod me;
mod media;
mod openai;
mod registry;
mod services;
mod time_machine;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::middleware::{REQUEST_ID_HEADER, request_id};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "RADIANT gateway",
        description = "The HTTP/JSON door to the RADIANT platform. Every error is `{\"error\":{\"code\",\"message\",\"request_id\"}}`."
    ),
    modifiers(&BearerSecurity),
    tags(
        (name = "health", description = "liveness and readiness"),
        (name = "identity", description = "who the caller is"),
        (name = "platform", description = "the services that make up the platform"),
        (name = "media", description = "files and their versions in the media vault"),
        (name = "registry", description = "models, providers, live health and thermal state, workflows"),
        (name = "registry-admin", description = "model, license, workflow and credential administration (admin role)"),
        (name = "chats", description = "chats, their messages and every version of each message"),
        (name = "time-machine", description = "a chat's snapshots, timeline and calendar; restores, comparisons, search, files and exports"),
        (name = "chat", description = "send a message and stream the answer; which model answers and why; routing rules and history"),
        (name = "openai", description = "the OpenAI-compatible API: chat completions and models"),
        (name = "ai-history", description = "a chat's history for assistants: summaries, natural-language finding, confirmed restores")
    )
)]
struct ApiDoc;

struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub fn router(state: AppState) -> Router {
    let (router, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(me::me))
        .routes(routes!(services::list_services))
        .routes(routes!(services::service_status))
        .routes(routes!(services::batch_status))
        .routes(routes!(media::store_file))
        .routes(routes!(media::create_upload))
        .routes(routes!(media::get_upload, media::abort_upload))
        .routes(routes!(media::part_urls))
        .routes(routes!(media::upload_part))
        .routes(routes!(media::complete_upload))
        .routes(routes!(media::get_file, media::tombstone))
        .routes(routes!(media::list_versions))
        .routes(routes!(media::download_url))
        .routes(routes!(media::content))
        .routes(routes!(media::restore))
        .routes(routes!(media::legal_hold))
        .routes(routes!(media::purge))
        .routes(routes!(registry::list_models))
        .routes(routes!(registry::get_model))
        .routes(routes!(registry::model_config))
        .routes(routes!(registry::select_models))
        .routes(routes!(registry::list_providers))
        .routes(routes!(registry::provider_health))
        .routes(routes!(registry::get_thermal))
        .routes(routes!(registry::list_workflows))
        .routes(routes!(registry::get_workflow))
        .routes(routes!(
            registry::admin_list_models,
            registry::admin_create_model
        ))
        .routes(routes!(
            registry::admin_get_model,
            registry::admin_update_model,
            registry::admin_disable_model
        ))
        .routes(routes!(registry::admin_enable_model))
        .routes(routes!(registry::license_summary))
        .routes(routes!(registry::list_licenses))
        .routes(routes!(registry::review_license))
        .routes(routes!(
            registry::admin_list_workflows,
            registry::create_workflow
        ))
        .routes(routes!(
            registry::update_workflow,
            registry::delete_workflow
        ))
        .routes(routes!(registry::registry_models))
        .routes(routes!(registry::registry_stats))
        .routes(routes!(registry::sync_history))
        .routes(routes!(registry::trigger_sync))
        .routes(routes!(registry::audit_log))
        .routes(routes!(registry::warm_up))
        .routes(routes!(registry::set_thermal_mode))
        .routes(routes!(registry::list_credentials))
        .routes(routes!(
            registry::set_credential,
            registry::revoke_credential
        ))
        .routes(routes!(chat::chat))
        .routes(routes!(brain::auto_resolve))
        .routes(routes!(brain::list_rules, brain::upsert_rule))
        .routes(routes!(brain::delete_rule))
        .routes(routes!(brain::history))
        .routes(routes!(openai::chat_completions))
        .routes(routes!(openai::models))
        .routes(routes!(chats::list_chats, chats::create_chat))
        .routes(routes!(chats::recent_chats))
        .routes(routes!(chats::deleted_chats))
        .routes(routes!(
            chats::get_chat,
            chats::update_chat,
            chats::delete_chat
        ))
        .routes(routes!(chats::restore_chat))
        .routes(routes!(chats::save_message))
        .routes(routes!(chats::edit_message, chats::delete_message))
        .routes(routes!(chats::message_versions))
        .routes(routes!(time_machine::timeline))
        .routes(routes!(time_machine::create_snapshot))
        .routes(routes!(time_machine::view_snapshot))
        .routes(routes!(time_machine::calendar))
        .routes(routes!(time_machine::snapshots_by_date))
        .routes(routes!(time_machine::verify_chat))
        .routes(routes!(time_machine::restore))
        .routes(routes!(time_machine::compare))
        .routes(routes!(time_machine::search_chat))
        .routes(routes!(time_machine::search))
        .routes(routes!(time_machine::list_files, time_machine::upload_file))
        .routes(routes!(time_machine::attach_file))
        .routes(routes!(time_machine::delete_file))
        .routes(routes!(time_machine::file_versions))
        .routes(routes!(time_machine::download_file))
        .routes(routes!(time_machine::create_export))
        .routes(routes!(time_machine::get_export))
        .routes(routes!(ai_history::summary))
        .routes(routes!(ai_history::find))
        .routes(routes!(ai_history::restore))
        .routes(routes!(ai_history::compare_since))
        .split_for_parts();
    let openapi_json = openapi
        .to_pretty_json()
        .expect("openapi document serializes");

    let body_limit_bytes = state.config.http.body_limit_bytes;
    let cors = cors_layer(&state.config.cors.allowed_origins);
    router
        .route(
            "/openapi.json",
            get(
                move || async move { ([(header::CONTENT_TYPE, "application/json")], openapi_json) },
            ),
        )
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .with_state(state)
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .layer(cors)
        .layer(axum::middleware::from_fn(request_id))
}

fn cors_layer(allowed_origins: &[String]) -> CorsLayer {
    let allow_origin = if allowed_origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            allowed_origins
                .iter()
                .filter_map(|origin| HeaderValue::from_str(origin).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static(REQUEST_ID_HEADER),
            // browsers send it on chat, message, upload and export creation (see chats.rs)
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([HeaderName::from_static(REQUEST_ID_HEADER)])
        .max_age(std::time::Duration::from_secs(600))
}
