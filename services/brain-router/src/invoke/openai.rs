//! OpenAI-compatible chat completions: `POST {base_url}/chat/completions`, plain or streamed
//! (Server-Sent Events of `chat.completion.chunk`, usage in the last chunk).

use futures::StreamExt;
use serde_json::{Value, json};

use super::sse::SseEvent;
use super::{
    EventOutcome, FailureKind, InvokeError, Piece, PieceStream, Prompt, Target, decode_sse_stream,
    send,
};

pub(crate) fn body(model: &str, prompt: &Prompt, stream: bool) -> Value {
    let mut body = json!({
        "model": model,
        "messages": prompt.messages.iter().map(|message| json!({"role": message.role, "content": message.content})).collect::<Vec<_>>(),
        "max_tokens": prompt.max_output_tokens,
        "stream": stream,
    });
    if stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if let Some(temperature) = prompt.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(top_p) = prompt.top_p {
        body["top_p"] = json!(top_p);
    }
    body
}

fn request(
    http: &reqwest::Client,
    target: &Target,
    prompt: &Prompt,
    stream: bool,
) -> Result<reqwest::RequestBuilder, InvokeError> {
    let Target::OpenAi {
        base_url,
        model,
        api_key,
    } = target
    else {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            "not an openai-compatible target",
        ));
    };
    let url = format!("{}/chat/completions", base_url.trim_end_matches('/'));
    let mut builder = http.post(url).json(&body(model, prompt, stream));
    if let Some(api_key) = api_key {
        builder = builder.bearer_auth(api_key);
    }
    Ok(builder)
}

pub async fn stream(
    http: &reqwest::Client,
    target: &Target,
    prompt: &Prompt,
) -> Result<PieceStream, InvokeError> {
    let response = send(request(http, target, prompt, true)?).await?;
    let bytes = response
        .bytes_stream()
        .map(|chunk| chunk.map_err(|error| error.to_string()));
    Ok(decode_sse_stream(bytes, openai_event))
}

/// One OpenAI stream event: `[DONE]` ends the answer.
pub(crate) fn openai_event(event: &SseEvent) -> Result<EventOutcome, InvokeError> {
    if event.data == "[DONE]" {
        return Ok(EventOutcome::End(Vec::new()));
    }
    chunk_pieces(&event.data).map(EventOutcome::Pieces)
}

/// The pieces one `chat.completion.chunk` (or an error event) carries.
pub(crate) fn chunk_pieces(data: &str) -> Result<Vec<Piece>, InvokeError> {
    let chunk: Value = serde_json::from_str(data).map_err(|error| {
        InvokeError::new(
            FailureKind::Protocol,
            format!("unreadable stream chunk: {error}"),
        )
    })?;
    if let Some(error) = chunk.get("error") {
        let message = error["message"].as_str().unwrap_or("the provider failed");
        return Err(InvokeError::new(
            FailureKind::Protocol,
            format!("the provider failed mid-stream: {message}"),
        ));
    }
    let mut pieces = Vec::new();
    let choice = &chunk["choices"][0];
    if let Some(text) = choice["delta"]["content"].as_str()
        && !text.is_empty()
    {
        pieces.push(Piece::Text(text.to_string()));
    }
    if let Some(reason) = choice["finish_reason"].as_str() {
        pieces.push(Piece::Finish(reason.to_string()));
    }
    if let Some(usage) = chunk.get("usage").filter(|usage| usage.is_object()) {
        pieces.push(Piece::Usage {
            input_tokens: usage["prompt_tokens"].as_u64(),
            output_tokens: usage["completion_tokens"].as_u64(),
        });
    }
    Ok(pieces)
}

/// The pieces of a whole `chat.completion`.
pub(crate) fn completion_pieces(body: &[u8]) -> Result<Vec<Piece>, InvokeError> {
    let completion: Value = serde_json::from_slice(body).map_err(|error| {
        InvokeError::new(
            FailureKind::Protocol,
            format!("unreadable completion: {error}"),
        )
    })?;
    let choice = &completion["choices"][0];
    let Some(text) = choice["message"]["content"].as_str() else {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            "the completion has no message content",
        ));
    };
    let mut pieces = vec![Piece::Text(text.to_string())];
    pieces.push(Piece::Finish(
        choice["finish_reason"]
            .as_str()
            .unwrap_or("stop")
            .to_string(),
    ));
    if let Some(usage) = completion.get("usage").filter(|usage| usage.is_object()) {
        pieces.push(Piece::Usage {
            input_tokens: usage["prompt_tokens"].as_u64(),
            output_tokens: usage["completion_tokens"].as_u64(),
        });
    }
    Ok(pieces)
}

pub async fn complete(
    http: &reqwest::Client,
    target: &Target,
    prompt: &Prompt,
) -> Result<Vec<Piece>, InvokeError> {
    let response = send(request(http, target, prompt, false)?).await?;
    let body = response.bytes().await.map_err(InvokeError::from_reqwest)?;
    completion_pieces(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_give_text_finish_and_usage() {
        let pieces =
            chunk_pieces(r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}]}"#)
                .unwrap();
        assert_eq!(pieces, vec![Piece::Text("Hi".into())]);
        let pieces = chunk_pieces(r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":5}}"#).unwrap();
        assert_eq!(
            pieces,
            vec![
                Piece::Finish("stop".into()),
                Piece::Usage {
                    input_tokens: Some(3),
                    output_tokens: Some(5)
                }
            ]
        );
        assert!(chunk_pieces(r#"{"error":{"message":"overloaded"}}"#).is_err());
        assert!(chunk_pieces("not json").is_err());
    }

    #[test]
    fn a_completion_without_content_is_refused() {
        assert!(completion_pieces(br#"{"choices":[{"message":{}}]}"#).is_err());
        let pieces = completion_pieces(br#"{"choices":[{"message":{"content":"ok"},"finish_reason":"length"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#).unwrap();
        assert_eq!(pieces[0], Piece::Text("ok".into()));
        assert_eq!(pieces[1], Piece::Finish("length".into()));
    }
}
