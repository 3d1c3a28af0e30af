//! `POST /api/chat`: the platform's main path. The brain router routes the request (a refusal
//! is the response's status, before anything is saved), the time machine saves the user's
//! message (creating the chat when no id is given), the answer streams back as Server-Sent
//! Events, and the time machine saves the assistant's message with model, tokens, cost and
//! output id. A client that goes away mid-answer stops the generation; what was generated is
//! saved, marked partial. The saving runs in its own task, so it happens however the client
//! leaves.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use radiant_bus::RequestContext;
use radiant_bus::subjects::{TIME_MACHINE, tm as tm_subjects};
use radiant_proto::brain::{ChatMessage, CompleteRequest, Completion, RouteRequest, stream_chunk};
use radiant_proto::tm::{
    Chat, ChatWithMessages, CreateChatRequest, GetChatRequest, MessageMetadata, SaveMessageRequest,
    SavedMessage,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::answers::{self, AnswerStream};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, Authenticated};
use crate::state::AppState;

/// The most messages one request may carry (the router refuses more as well).
const MAX_MESSAGES: usize = 256;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessageBody {
    /// system, user or assistant
    pub role: String,
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// An existing chat of the caller; absent: a new chat is created.
    #[serde(default)]
    pub chat_id: Option<String>,
    /// The conversation so far; the last message is the user's new one (saved in the chat).
    pub messages: Vec<ChatMessageBody>,
    /// A registry model id, or "auto" (the default).
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
    /// chat, code, analysis, creative, vision, audio (default: classified from the prompt)
    #[serde(default)]
    pub task_type: Option<String>,
    /// The new chat's title (default: from the first message).
    #[serde(default)]
    pub title: Option<String>,
}

/// What `event: started` carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatStarted {
    pub chat_id: String,
    pub user_message_id: String,
    pub output_id: String,
    pub model_id: String,
    pub provider_id: String,
    pub reason: String,
}

fn validate(body: &ChatBody) -> Result<(), ApiError> {
    let Some(last) = body.messages.last() else {
        return Err(ApiError::invalid_argument(
            "messages: must hold at least one message",
        ));
    };
    if body.messages.len() > MAX_MESSAGES {
        return Err(ApiError::invalid_argument(format!(
            "messages: at most {MAX_MESSAGES} messages"
        )));
    }
    if last.role != "user" {
        return Err(ApiError::invalid_argument(
            "messages: the last message must be the user's",
        ));
    }
    for (index, message) in body.messages.iter().enumerate() {
        if !["system", "user", "assistant"].contains(&message.role.as_str()) {
            return Err(ApiError::invalid_argument(format!(
                "messages[{index}].role: \"{}\" is not one of: system, user, assistant",
                message.role
            )));
        }
        if message.content.trim().is_empty() {
            return Err(ApiError::invalid_argument(format!(
                "messages[{index}].content: must not be empty"
            )));
        }
    }
    Ok(())
}

/// Sends a message and streams the answer: `event: started` (chat, saved user message, model
/// and why), `event: delta` (`{"text"}`) pieces, `event: switched` when another model takes
/// over mid-answer, then `event: done` (the saved assistant message, usage, cost) or
/// `event: error`.
#[utoipa::path(post, path = "/api/chat", tag = "chat", security(("bearer" = [])),
    request_body = ChatBody,
    responses(
        (status = 200, description = "text/event-stream of started, delta, switched, done and error events"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn chat(
    State(state): State<AppState>,
    Authenticated(context): Authenticated,
    ApiJson(body): ApiJson<ChatBody>,
) -> Result<Sse<impl futures::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    validate(&body)?;
    let output_id = uuid::Uuid::now_v7().to_string();
    let messages: Vec<ChatMessage> = body
        .messages
        .iter()
        .map(|message| ChatMessage {
            role: message.role.clone(),
            content: message.content.clone(),
        })
        .collect();
    let request = CompleteRequest {
        route: Some(RouteRequest {
            messages,
            model: body.model.clone().unwrap_or_default(),
            task_type: body.task_type.clone().unwrap_or_default(),
            max_output_tokens: body.max_tokens.unwrap_or(0),
            source: "chat".to_string(),
            ..Default::default()
        }),
        temperature: body.temperature,
        output_id: output_id.clone(),
        ..Default::default()
    };
    // a chat the caller cannot write to is refused before anything is generated for it
    if let Some(chat_id) = given_chat_id(&body) {
        check_writable(&state, &context, chat_id).await?;
    }
    // routed first: a refusal leaves nothing behind
    let (decision, stream) = answers::open(&state, &context, request).await?;
    let saved = save_user_message(&state, &context, &body).await;
    let (chat_id, user_message) = match saved {
        Ok(saved) => saved,
        Err(error) => {
            stream.cancel().await;
            return Err(error);
        }
    };
    let started = ChatStarted {
        chat_id: chat_id.clone(),
        user_message_id: user_message
            .message
            .as_ref()
            .map(|message| message.message_id.clone())
            .unwrap_or_default(),
        output_id,
        model_id: decision.model_id.clone(),
        provider_id: decision.provider_id.clone(),
        reason: decision.summary.clone(),
    };
    let (events, receiver) = tokio::sync::mpsc::channel::<Event>(64);
    let _ = events.try_send(json_event("started", &started));
    let save_context = answers::answer_context(&state, &context);
    tokio::spawn(relay(
        state.clone(),
        save_context,
        chat_id,
        started.output_id.clone(),
        stream,
        events,
    ));
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn json_event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|_| Event::default().event(name).data("{}"))
}

fn given_chat_id(body: &ChatBody) -> Option<&str> {
    body.chat_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

/// Refuses a chat that does not exist for the caller (404) or is deleted (409), as saving into
/// it would; the time machine checks again when it saves.
async fn check_writable(
    state: &AppState,
    context: &RequestContext,
    chat_id: &str,
) -> Result<(), ApiError> {
    let found: ChatWithMessages = state
        .bus
        .call(
            &TIME_MACHINE,
            tm_subjects::CHATS_GET,
            context,
            &GetChatRequest {
                chat_id: chat_id.to_string(),
                message_limit: 1,
                order: "desc".to_string(),
                ..Default::default()
            },
        )
        .await?;
    if found.chat.is_some_and(|chat| chat.is_deleted) {
        return Err(ApiError::from(radiant_bus::ServiceError::conflict(
            "the chat is deleted; restore it first",
        )));
    }
    Ok(())
}

async fn save_user_message(
    state: &AppState,
    context: &RequestContext,
    body: &ChatBody,
) -> Result<(String, SavedMessage), ApiError> {
    let chat_id = match given_chat_id(body) {
        Some(chat_id) => chat_id.to_string(),
        None => {
            let chat: Chat = state
                .bus
                .call(
                    &TIME_MACHINE,
                    tm_subjects::CHATS_CREATE,
                    context,
                    &CreateChatRequest {
                        title: body.title.clone().unwrap_or_default(),
                        model_id: body.model.clone().unwrap_or_else(|| "auto".to_string()),
                        ..Default::default()
                    },
                )
                .await?;
            chat.chat_id
        }
    };
    let last = body
        .messages
        .last()
        .expect("validated: at least one message");
    let saved: SavedMessage = state
        .bus
        .call(
            &TIME_MACHINE,
            tm_subjects::MESSAGES_SAVE,
            context,
            &SaveMessageRequest {
                chat_id: chat_id.clone(),
                role: "user".to_string(),
                content: last.content.clone(),
                ..Default::default()
            },
        )
        .await?;
    Ok((chat_id, saved))
}

/// Forwards the answer to the client and saves it when it ends, however it ends.
async fn relay(
    state: AppState,
    context: RequestContext,
    chat_id: String,
    output_id: String,
    mut stream: AnswerStream,
    events: tokio::sync::mpsc::Sender<Event>,
) {
    let started = Instant::now();
    let mut text = String::new();
    let mut client_gone = false;
    let mut switched_from: Vec<String> = Vec::new();
    let (completion, failure) = loop {
        let Some(chunk) = stream.next().await else {
            break (
                None,
                Some((
                    "deadline_exceeded".to_string(),
                    "the answer stopped arriving".to_string(),
                )),
            );
        };
        let event = match chunk.chunk {
            Some(stream_chunk::Chunk::Delta(delta)) => {
                text.push_str(&delta);
                json_event("delta", &json!({ "text": delta }))
            }
            Some(stream_chunk::Chunk::Switched(switch)) => {
                switched_from.push(switch.from_model.clone());
                json_event(
                    "switched",
                    &json!({ "from_model": switch.from_model, "to_model": switch.to_model }),
                )
            }
            Some(stream_chunk::Chunk::Finished(completion)) => break (Some(completion), None),
            Some(stream_chunk::Chunk::Failed(failure)) => {
                let partial = failure.partial.filter(|partial| !partial.text.is_empty());
                break (partial, Some((failure.code, failure.message)));
            }
            None => continue,
        };
        if !client_gone && events.send(event).await.is_err() {
            // the client went away: the router stops and finishes with what it has
            client_gone = true;
            stream.cancel().await;
        }
    };
    let mut completion = completion.unwrap_or_else(|| Completion {
        text: text.clone(),
        partial: true,
        ..Default::default()
    });
    if completion.text.is_empty() && !text.is_empty() {
        completion.text = text;
    }
    if completion.output_id.is_empty() {
        completion.output_id = output_id;
    }
    let partial = completion.partial || client_gone || failure.is_some();
    let saved = if completion.text.trim().is_empty() {
        None
    } else {
        save_answer(
            &state,
            &context,
            &chat_id,
            &completion,
            partial,
            started,
            &switched_from,
            failure.as_ref(),
        )
        .await
    };
    if client_gone {
        return;
    }
    let event = match failure {
        Some((code, message)) => {
            // the router's failure messages may name internal addresses: the client gets the code
            tracing::warn!(%code, %message, %chat_id, "answer failed");
            json_event(
                "error",
                &json!({
                    "code": code,
                    "message": if code == "deadline_exceeded" { "the answer did not finish in time" } else { "no model could complete the answer" },
                    "partial_message_id": saved.as_ref().and_then(|saved| saved.message.as_ref()).map(|message| message.message_id.clone()),
                }),
            )
        }
        None => json_event(
            "done",
            &json!({
                "chat_id": chat_id,
                "message_id": saved.as_ref().and_then(|saved| saved.message.as_ref()).map(|message| message.message_id.clone()),
                "model_id": completion.model_id,
                "provider_id": completion.provider_id,
                "output_id": completion.output_id,
                "finish_reason": completion.finish_reason,
                "usage": { "input_tokens": completion.input_tokens, "output_tokens": completion.output_tokens },
                "cost_usd": completion.cost_usd,
                "latency_ms": completion.latency_ms,
                "time_to_first_token_ms": completion.time_to_first_token_ms,
            }),
        ),
    };
    let _ = events.send(event).await;
}

#[allow(clippy::too_many_arguments)]
async fn save_answer(
    state: &AppState,
    context: &RequestContext,
    chat_id: &str,
    completion: &Completion,
    partial: bool,
    started: Instant,
    switched_from: &[String],
    failure: Option<&(String, String)>,
) -> Option<SavedMessage> {
    let mut extra = std::collections::BTreeMap::new();
    extra.insert("provider_id".to_string(), completion.provider_id.clone());
    if let Some(decision) = &completion.decision {
        extra.insert("decision_id".to_string(), decision.decision_id.clone());
        extra.insert("routing_basis".to_string(), decision.basis.clone());
    }
    if !switched_from.is_empty() {
        extra.insert("continued_from".to_string(), switched_from.join(","));
    }
    if let Some((code, _)) = failure {
        extra.insert("failure".to_string(), code.clone());
    }
    let request = SaveMessageRequest {
        chat_id: chat_id.to_string(),
        role: "assistant".to_string(),
        content: completion.text.clone(),
        metadata: Some(MessageMetadata {
            model_id: completion.model_id.clone(),
            input_tokens: completion.input_tokens,
            output_tokens: completion.output_tokens,
            total_tokens: completion.input_tokens + completion.output_tokens,
            cost_micros: (completion.cost_usd * 1e6).round().max(0.0) as u64,
            currency: "USD".to_string(),
            output_id: completion.output_id.clone(),
            finish_reason: if partial && completion.finish_reason.is_empty() {
                "cancelled".to_string()
            } else {
                completion.finish_reason.clone()
            },
            stream_duration_ms: started.elapsed().as_millis() as u64,
            partial,
            extra,
            ..Default::default()
        }),
        // a retry of this save (same output) is a replay, not a second answer
        idempotency_key: format!("answer-{}", completion.output_id),
        ..Default::default()
    };
    match state
        .bus
        .call(&TIME_MACHINE, tm_subjects::MESSAGES_SAVE, context, &request)
        .await
    {
        Ok(saved) => Some(saved),
        Err(error) => {
            tracing::warn!(%error, %chat_id, output_id = %completion.output_id, "assistant message not saved");
            None
        }
    }
}
