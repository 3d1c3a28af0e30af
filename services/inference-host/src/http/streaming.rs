//! Turns a chat stream's events into what each route sends: Server-Sent Events lines for the
//! OpenAI route, the same lines wrapped in event-stream frames for SageMaker's response stream.

use std::convert::Infallible;

use bytes::Bytes;
use futures::Stream;
use serde_json::json;

use super::{chat_wire, event_stream};
use crate::invoke::{ChatEvent, ChatStream};

/// Which chunk format the caller asked in.
#[derive(Debug, Clone)]
pub enum Dialect {
    OpenAi {
        id: String,
        model: String,
        include_usage: bool,
    },
    /// TGI: `{"token": {"text"}}` per piece, `generated_text` and `details` at the end.
    Tgi,
}

enum Piece {
    Data(String),
    Error(String),
}

struct Renderer {
    dialect: Dialect,
    generated: String,
    sent_role: bool,
}

impl Renderer {
    fn render(&mut self, event: ChatEvent) -> Vec<Piece> {
        match (&self.dialect, event) {
            (Dialect::OpenAi { id, model, .. }, ChatEvent::Text(text)) => {
                let mut pieces = Vec::with_capacity(2);
                if !self.sent_role {
                    self.sent_role = true;
                    let role = chat_wire::chunk(
                        id,
                        model,
                        json!({ "role": "assistant", "content": "" }),
                        None,
                    );
                    pieces.push(Piece::Data(chat_wire::sse(&role)));
                }
                let chunk = chat_wire::chunk(id, model, json!({ "content": text }), None);
                pieces.push(Piece::Data(chat_wire::sse(&chunk)));
                pieces
            }
            (
                Dialect::OpenAi {
                    id,
                    model,
                    include_usage,
                },
                ChatEvent::Finished(generation),
            ) => {
                let mut pieces = Vec::with_capacity(3);
                let last = chat_wire::chunk(
                    id,
                    model,
                    json!({}),
                    Some(generation.finish_reason.as_openai()),
                );
                pieces.push(Piece::Data(chat_wire::sse(&last)));
                if *include_usage {
                    pieces.push(Piece::Data(chat_wire::sse(&chat_wire::usage_chunk(
                        id,
                        model,
                        &generation,
                    ))));
                }
                pieces.push(Piece::Data(chat_wire::SSE_DONE.to_string()));
                pieces
            }
            (Dialect::Tgi, ChatEvent::Text(text)) => {
                self.generated.push_str(&text);
                let line =
                    json!({ "token": { "text": text, "special": false }, "generated_text": null });
                vec![Piece::Data(chat_wire::sse(&line))]
            }
            (Dialect::Tgi, ChatEvent::Finished(generation)) => {
                let line = json!({
                    "token": { "text": "", "special": true },
                    "generated_text": self.generated,
                    "details": {
                        "finish_reason": generation.finish_reason.as_openai(),
                        "generated_tokens": generation.completion_tokens,
                        "prompt_tokens": generation.prompt_tokens,
                    },
                });
                vec![Piece::Data(chat_wire::sse(&line))]
            }
            (_, ChatEvent::Failed(message)) => vec![Piece::Error(message)],
        }
    }
}

fn pieces(stream: ChatStream, dialect: Dialect) -> impl Stream<Item = Piece> {
    let renderer = Renderer {
        dialect,
        generated: String::new(),
        sent_role: false,
    };
    let events = stream.events;
    futures::stream::unfold(
        (events, renderer, false),
        |(mut events, mut renderer, ended)| async move {
            if ended {
                return None;
            }
            match events.recv().await {
                Some(event) => {
                    let ends = matches!(event, ChatEvent::Finished(_) | ChatEvent::Failed(_));
                    let rendered = renderer.render(event);
                    Some((futures::stream::iter(rendered), (events, renderer, ends)))
                }
                // the generator ended without a last event: it crashed
                None => Some((
                    futures::stream::iter(vec![Piece::Error(
                        "the generation ended unexpectedly".into(),
                    )]),
                    (events, renderer, true),
                )),
            }
        },
    )
    .flatten()
}

use futures::StreamExt;

/// Server-Sent Events bytes for the OpenAI route; a failure becomes an `error` event.
pub fn sse_body(
    stream: ChatStream,
    dialect: Dialect,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    pieces(stream, dialect).map(|piece| {
        let text = match piece {
            Piece::Data(text) => text,
            Piece::Error(message) => {
                chat_wire::sse(&json!({ "error": { "message": message, "type": "server_error", "code": "model_error" } }))
            }
        };
        Ok(Bytes::from(text))
    })
}

/// Event-stream frames for SageMaker's response stream; a failure becomes a
/// `ModelStreamError` exception frame.
pub fn event_stream_body(
    stream: ChatStream,
    dialect: Dialect,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    pieces(stream, dialect).map(|piece| {
        Ok(match piece {
            Piece::Data(text) => event_stream::payload_part(Bytes::from(text)),
            Piece::Error(message) => event_stream::model_stream_error(&message, "ModelError"),
        })
    })
}
