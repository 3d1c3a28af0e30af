//! The OpenAI-compatible routes, as an OpenAI-style HTTP client calls them.

mod support;

use futures::StreamExt;
use serde_json::{Value, json};
use support::spawn_host;

const LLM: &str = "smollm2-135m-instruct";

#[tokio::test]
async fn chat_completions_answer_greedily_with_usage() {
    let host = spawn_host().await;
    let response = host
        .post_json(
            "/v1/chat/completions",
            &json!({
                "model": LLM,
                "messages": [{ "role": "user", "content": "What is the capital of France?" }],
                "temperature": 0,
                "max_tokens": 32
            }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], LLM);
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    assert!(content.contains("Paris"), "answer: {content}");
    let usage = &body["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap_or(0) > 5);
    assert!(usage["completion_tokens"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        usage["total_tokens"].as_u64(),
        Some(
            usage["prompt_tokens"].as_u64().unwrap_or(0)
                + usage["completion_tokens"].as_u64().unwrap_or(0)
        )
    );
}

#[tokio::test]
async fn streamed_chat_completions_are_server_sent_events_ending_in_done() {
    let host = spawn_host().await;
    let response = host
        .post_json(
            "/v1/chat/completions",
            &json!({
                "model": LLM,
                "messages": [{ "role": "user", "content": "What is the capital of France?" }],
                "temperature": 0,
                "max_tokens": 32,
                "stream": true,
                "stream_options": { "include_usage": true }
            }),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut raw = String::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        raw.push_str(std::str::from_utf8(&chunk.expect("a chunk")).expect("utf-8"));
    }
    let events: Vec<&str> = raw
        .split("\n\n")
        .filter(|event| !event.is_empty())
        .collect();
    assert_eq!(events.last().copied(), Some("data: [DONE]"));
    let mut answer = String::new();
    let mut usage = None;
    for event in &events[..events.len() - 1] {
        let chunk: Value =
            serde_json::from_str(event.strip_prefix("data: ").expect("data line")).expect("JSON");
        assert_eq!(chunk["object"], "chat.completion.chunk");
        if let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() {
            answer.push_str(content);
        }
        if !chunk["usage"].is_null() {
            usage = Some(chunk["usage"].clone());
        }
    }
    assert!(answer.contains("Paris"), "answer: {answer}");
    assert!(
        usage.expect("a usage chunk")["completion_tokens"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
}

#[tokio::test]
async fn embeddings_match_all_minilm_l6_v2() {
    let host = spawn_host().await;
    let response = host
        .post_json(
            "/v1/embeddings",
            &json!({
                "model": "all-minilm-l6-v2",
                "input": [
                    "A man is eating food.",
                    "A man is eating a piece of bread.",
                    "The stock market fell sharply on Tuesday."
                ]
            }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("JSON");
    let vectors: Vec<Vec<f32>> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| serde_json::from_value(item["embedding"].clone()).expect("floats"))
        .collect();
    assert_eq!(vectors.len(), 3);
    assert!(vectors.iter().all(|vector| vector.len() == 384));
    let norm: f32 = vectors[0].iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
    let similar = radiant_inference_host::models::embedding::cosine(&vectors[0], &vectors[1]);
    let unrelated = radiant_inference_host::models::embedding::cosine(&vectors[0], &vectors[2]);
    assert!(
        (similar - 0.755).abs() < 0.01,
        "similar sentences: {similar}"
    );
    assert!(unrelated.abs() < 0.15, "unrelated sentences: {unrelated}");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap_or(0) > 10);

    // a batch gives what single calls give: padding does not leak into the mean
    let single: Value = host
        .post_json(
            "/v1/embeddings",
            &json!({ "model": "all-minilm-l6-v2", "input": "A man is eating food." }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    let alone: Vec<f32> =
        serde_json::from_value(single["data"][0]["embedding"].clone()).expect("floats");
    let same = radiant_inference_host::models::embedding::cosine(&alone, &vectors[0]);
    assert!(
        same > 0.9999,
        "batched and single embeddings differ: {same}"
    );
}

#[tokio::test]
async fn models_lists_the_chat_and_embedding_endpoints() {
    let host = spawn_host().await;
    let body = host.get_json("/v1/models").await;
    let ids: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|model| model["id"].as_str())
        .collect();
    assert!(
        ids.contains(&LLM) && ids.contains(&"all-minilm-l6-v2") && ids.contains(&"zero-work"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"upscale-lanczos-sharpen"),
        "image endpoints are not chat models"
    );
}

#[tokio::test]
async fn bad_requests_get_openai_shaped_errors() {
    let host = spawn_host().await;
    let unknown = host
        .post_json(
            "/v1/chat/completions",
            &json!({ "model": "gpt-nothing", "messages": [{ "role": "user", "content": "hi" }] }),
        )
        .await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "model_not_found");

    let wrong_kind = host
        .post_json("/v1/chat/completions", &json!({ "model": "all-minilm-l6-v2", "messages": [{ "role": "user", "content": "hi" }] }))
        .await;
    assert_eq!(wrong_kind.status(), 400);

    let bad_role = host
        .post_json(
            "/v1/chat/completions",
            &json!({ "model": LLM, "messages": [{ "role": "wizard", "content": "hi" }] }),
        )
        .await;
    assert_eq!(bad_role.status(), 400);
    let body: Value = bad_role.json().await.expect("JSON");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("messages[0].role"),
        "{body}"
    );

    let no_model = host
        .post_json(
            "/v1/chat/completions",
            &json!({ "messages": [{ "role": "user", "content": "hi" }] }),
        )
        .await;
    assert_eq!(no_model.status(), 400);

    let too_long = host
        .post_json(
            "/v1/chat/completions",
            &json!({ "model": LLM, "messages": [{ "role": "user", "content": "lorem ipsum dolor ".repeat(2000) }] }),
        )
        .await;
    assert_eq!(too_long.status(), 400);
    let body: Value = too_long.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "context_length_exceeded");

    let empty_input = host
        .post_json(
            "/v1/embeddings",
            &json!({ "model": "all-minilm-l6-v2", "input": [] }),
        )
        .await;
    assert_eq!(empty_input.status(), 400);
}
