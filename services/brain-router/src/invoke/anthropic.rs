//! Anthropic's Messages API: `POST {base_url}/messages` with `x-api-key` and
//! `anthropic-version`, plain or streamed (`message_start`, `content_block_delta`,
//! `message_delta`, `message_stop`, `error` events). System messages go in `system`.

use futures::StreamExt;
use serde_json::{Value, json};

use super::sse::SseEvent;
use super::{
    Clients, EventOutcome, FailureKind, InvokeError, Piece, PieceStream, Prompt, Target,
    decode_sse_stream,
};

pub(crate) fn body(model: &str, prompt: &Prompt, stream: bool) -> Value {
    let system: Vec<&str> = prompt
        .messages
        .iter()
        .filter(|message| message.role == "system")
        .map(|message| message.content.as_str())
        .collect();
    let messages: Vec<Value> = prompt
        .messages
        .iter()
        .filter(|message| message.role != "system")
        .map(|message| json!({ "role": message.role, "content": message.content }))
        .collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "max_tokens": prompt.max_output_tokens,
        "stream": stream,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if let Some(temperature) = prompt.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(top_p) = prompt.top_p {
        body["top_p"] = json!(top_p);
    }
    body
}

async fn send(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
    stream: bool,
) -> Result<reqwest::Response, InvokeError> {
    let Target::Anthropic {
        base_url,
        model,
        api_key,
    } = target
    else {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            "not an anthropic target",
        ));
    };
    let url = format!("{}/messages", base_url.trim_end_matches('/'));
    let mut builder = clients
        .http
        .post(url)
        .header("anthropic-version", &clients.anthropic_version)
        .json(&body(model, prompt, stream));
    if let Some(api_key) = api_key {
        builder = builder.header("x-api-key", api_key);
    }
    super::send(builder).await
}

/// Anthropic's stop reasons in OpenAI's words.
fn finish_reason(stop_reason: &str) -> String {
    match stop_reason {
        "max_tokens" => "length".to_string(),
        "end_turn" | "stop_sequence" => "stop".to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn anthropic_event(event: &SseEvent) -> Result<EventOutcome, InvokeError> {
    let data: Value = serde_json::from_str(&event.data).map_err(|error| {
        InvokeError::new(
            FailureKind::Protocol,
            format!("unreadable stream event: {error}"),
        )
    })?;
    let kind = event
        .event
        .as_deref()
        .or_else(|| data["type"].as_str())
        .unwrap_or("");
    let pieces = match kind {
        "message_start" => vec![Piece::Usage {
            input_tokens: data["message"]["usage"]["input_tokens"].as_u64(),
            output_tokens: None,
        }],
        "content_block_delta" => match data["delta"]["text"].as_str() {
            Some(text) if !text.is_empty() => vec![Piece::Text(text.to_string())],
            _ => Vec::new(),
        },
        "message_delta" => {
            let mut pieces = Vec::new();
            if let Some(stop_reason) = data["delta"]["stop_reason"].as_str() {
                pieces.push(Piece::Finish(finish_reason(stop_reason)));
            }
            if let Some(output_tokens) = data["usage"]["output_tokens"].as_u64() {
                pieces.push(Piece::Usage {
                    input_tokens: None,
                    output_tokens: Some(output_tokens),
                });
            }
            pieces
        }
        "message_stop" => return Ok(EventOutcome::End(Vec::new())),
        "error" => {
            let message = data["error"]["message"]
                .as_str()
                .unwrap_or("the provider failed");
            return Err(InvokeError::new(
                FailureKind::Protocol,
                format!("the provider failed mid-stream: {message}"),
            ));
        }
        _ => Vec::new(),
    };
    Ok(EventOutcome::Pieces(pieces))
}

pub async fn stream(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
) -> Result<PieceStream, InvokeError> {
    let response = send(clients, target, prompt, true).await?;
    let bytes = response
        .bytes_stream()
        .map(|chunk| chunk.map_err(|error| error.to_string()));
    Ok(decode_sse_stream(bytes, anthropic_event))
}

pub(crate) fn message_pieces(body: &[u8]) -> Result<Vec<Piece>, InvokeError> {
    let message: Value = serde_json::from_slice(body).map_err(|error| {
        InvokeError::new(
            FailureKind::Protocol,
            format!("unreadable message: {error}"),
        )
    })?;
    let Some(content) = message["content"].as_array() else {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            "the message has no content",
        ));
    };
    let text: String = content
        .iter()
        .filter_map(|block| block["text"].as_str())
        .collect();
    Ok(vec![
        Piece::Text(text),
        Piece::Finish(finish_reason(
            message["stop_reason"].as_str().unwrap_or("end_turn"),
        )),
        Piece::Usage {
            input_tokens: message["usage"]["input_tokens"].as_u64(),
            output_tokens: message["usage"]["output_tokens"].as_u64(),
        },
    ])
}

pub async fn complete(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
) -> Result<Vec<Piece>, InvokeError> {
    let response = send(clients, target, prompt, false).await?;
    let body = response.bytes().await.map_err(InvokeError::from_reqwest)?;
    message_pieces(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use radiant_proto::brain::ChatMessage;

    fn event(kind: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(kind.to_string()),
            data: data.to_string(),
        }
    }

    #[test]
    fn a_stream_gives_usage_text_and_its_end() {
        let outcome = anthropic_event(&event(
            "message_start",
            r#"{"type":"message_start","message":{"usage":{"input_tokens":12}}}"#,
        ))
        .unwrap();
        assert!(
            matches!(outcome, EventOutcome::Pieces(ref pieces) if pieces == &vec![Piece::Usage { input_tokens: Some(12), output_tokens: None }])
        );
        let outcome = anthropic_event(&event(
            "content_block_delta",
            r#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"Hello"}}"#,
        ))
        .unwrap();
        assert!(
            matches!(outcome, EventOutcome::Pieces(ref pieces) if pieces == &vec![Piece::Text("Hello".into())])
        );
        let outcome = anthropic_event(&event("message_delta", r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":7}}"#)).unwrap();
        assert!(
            matches!(outcome, EventOutcome::Pieces(ref pieces) if pieces[0] == Piece::Finish("length".into()))
        );
        assert!(matches!(
            anthropic_event(&event("message_stop", "{}")).unwrap(),
            EventOutcome::End(_)
        ));
        assert!(anthropic_event(&event("error", r#"{"error":{"message":"overloaded"}}"#)).is_err());
    }

    #[test]
    fn system_messages_go_in_system() {
        let prompt = Prompt {
            messages: vec![
                ChatMessage {
                    role: "system".into(),
                    content: "be brief".into(),
                },
                ChatMessage {
                    role: "user".into(),
                    content: "hi".into(),
                },
            ],
            max_output_tokens: 10,
            temperature: None,
            top_p: None,
        };
        let body = body("claude", &prompt, true);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    }
}
