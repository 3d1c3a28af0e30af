//! The SageMaker protocol, through aws-sdk-sagemakerruntime itself: plain and streamed
//! invocations, SageMaker-shaped errors, endpoint lifecycle and capacity.

mod support;

use std::time::Duration;

use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use serde_json::{Value, json};
use support::{endpoint_mut, spawn_host, spawn_host_with};

const LLM: &str = "smollm2-135m-instruct";

fn capital_question() -> Value {
    json!({
        "messages": [{ "role": "user", "content": "What is the capital of France?" }],
        "max_tokens": 32,
        "temperature": 0
    })
}

#[tokio::test]
async fn invoke_endpoint_answers_a_greedy_chat_request_with_paris() {
    let host = spawn_host().await;
    let output = host
        .sagemaker()
        .invoke_endpoint()
        .endpoint_name(LLM)
        .content_type("application/json")
        .body(Blob::new(capital_question().to_string()))
        .send()
        .await
        .expect("the SDK call succeeds");
    let body: Value =
        serde_json::from_slice(output.body().expect("a body").as_ref()).expect("JSON");
    let content = body["choices"][0]["message"]["content"]
        .as_str()
        .expect("content");
    assert!(content.contains("Paris"), "answer: {content}");
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap_or(0) > 0);
    assert_eq!(output.invoked_production_variant(), Some("AllTraffic"));
}

#[tokio::test]
async fn invoke_endpoint_takes_the_tgi_shape_with_stop_sequences() {
    let host = spawn_host().await;
    let prompt =
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n";
    let request =
        json!({ "inputs": prompt, "parameters": { "max_new_tokens": 24, "stop": ["Paris"] } });
    let output = host
        .sagemaker()
        .invoke_endpoint()
        .endpoint_name(LLM)
        .body(Blob::new(request.to_string()))
        .send()
        .await
        .expect("the SDK call succeeds");
    let body: Value =
        serde_json::from_slice(output.body().expect("a body").as_ref()).expect("JSON");
    let text = body[0]["generated_text"].as_str().expect("generated_text");
    // greedy decoding says Paris; the stop sequence cuts the text right before it
    assert!(
        !text.contains("Paris"),
        "the stop sequence was not applied: {text}"
    );
    assert_eq!(body[0]["details"]["finish_reason"], "stop");
}

#[tokio::test]
async fn the_response_stream_carries_payload_parts_that_add_up_to_the_answer() {
    let host = spawn_host().await;
    let mut output = host
        .sagemaker()
        .invoke_endpoint_with_response_stream()
        .endpoint_name(LLM)
        .content_type("application/json")
        .body(Blob::new(capital_question().to_string()))
        .send()
        .await
        .expect("the stream opens");
    let mut parts = 0;
    let mut answer = String::new();
    let mut finish_reason = None;
    while let Some(event) = output.body.recv().await.expect("a well-formed event") {
        let ResponseStream::PayloadPart(part) = event else {
            panic!("unexpected event {event:?}");
        };
        parts += 1;
        let text =
            String::from_utf8(part.bytes().expect("bytes").as_ref().to_vec()).expect("utf-8");
        for line in text.lines().filter_map(|line| line.strip_prefix("data: ")) {
            if line == "[DONE]" {
                continue;
            }
            let chunk: Value = serde_json::from_str(line).expect("a JSON chunk");
            if let Some(content) = chunk["choices"][0]["delta"]["content"].as_str() {
                answer.push_str(content);
            }
            if let Some(reason) = chunk["choices"][0]["finish_reason"].as_str() {
                finish_reason = Some(reason.to_string());
            }
        }
    }
    assert!(
        parts > 3,
        "a streamed answer arrives in several parts, got {parts}"
    );
    assert!(answer.contains("Paris"), "answer: {answer}");
    assert!(finish_reason.is_some());
}

#[tokio::test]
async fn an_unknown_endpoint_is_a_404_validation_error() {
    let host = spawn_host().await;
    let error = host
        .sagemaker()
        .invoke_endpoint()
        .endpoint_name("no-such-endpoint")
        .body(Blob::new("{}"))
        .send()
        .await
        .expect_err("an unknown endpoint fails");
    let raw = error.raw_response().expect("an HTTP response");
    assert_eq!(raw.status().as_u16(), 404);
    let service_error = error.into_service_error();
    assert!(
        matches!(service_error, InvokeEndpointError::ValidationError(_)),
        "{service_error:?}"
    );
    let message = service_error.to_string();
    assert!(message.contains("no-such-endpoint"), "message: {message}");
}

#[tokio::test]
async fn a_malformed_body_is_a_400_naming_the_problem() {
    let host = spawn_host().await;
    let response = host
        .http
        .post(host.url(&format!("/endpoints/{LLM}/invocations")))
        .body("{not json")
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-amzn-errortype"], "ValidationError");
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not a valid"),
        "{body}"
    );

    let empty = host.invoke(LLM, &json!({ "messages": [] })).await;
    assert_eq!(empty.status(), 400);
    let bad_temperature = host
        .invoke(
            LLM,
            &json!({ "messages": [{ "role": "user", "content": "hi" }], "temperature": 7 }),
        )
        .await;
    assert_eq!(bad_temperature.status(), 400);
    let body: Value = bad_temperature.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("temperature"),
        "{body}"
    );
}

#[tokio::test]
async fn a_prompt_beyond_the_context_window_is_a_400() {
    let host = spawn_host().await;
    let long_prompt = "the quick brown fox jumps over the lazy dog ".repeat(600);
    let error = host
        .sagemaker()
        .invoke_endpoint()
        .endpoint_name(LLM)
        .body(Blob::new(
            json!({ "messages": [{ "role": "user", "content": long_prompt }] }).to_string(),
        ))
        .send()
        .await
        .expect_err("too long a prompt fails");
    assert_eq!(
        error.raw_response().expect("a response").status().as_u16(),
        400
    );
    let message = error.into_service_error().to_string();
    assert!(message.contains("context window"), "message: {message}");

    // a prompt that fits but asks for more tokens than remain is refused the same way
    let response = host
        .invoke(LLM, &json!({ "messages": [{ "role": "user", "content": "hi ".repeat(3000) }], "max_tokens": 2000 }),
        )
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_cold_call_loads_the_model_and_idling_unloads_it() {
    let host = spawn_host_with(|config| {
        endpoint_mut(config, "all-minilm-l6-v2").idle_unload_seconds = 1;
    })
    .await;
    assert_eq!(host.status_of("all-minilm-l6-v2").await, "Absent");

    let body = json!({ "inputs": ["a first call loads the model"] });
    let cold = host.invoke("all-minilm-l6-v2", &body).await;
    assert_eq!(cold.status(), 200);
    let cold_start_ms: u64 = cold.headers()["x-radiant-cold-start-ms"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("milliseconds");
    assert!(cold_start_ms > 0);
    assert_eq!(host.status_of("all-minilm-l6-v2").await, "InService");
    let description = host.get_json("/endpoints/all-minilm-l6-v2").await;
    assert_eq!(description["LastColdStartMs"], cold_start_ms);
    assert_eq!(description["ColdStarts"], 1);

    let warm = host.invoke("all-minilm-l6-v2", &body).await;
    assert_eq!(warm.status(), 200);
    assert!(
        warm.headers().get("x-radiant-cold-start-ms").is_none(),
        "a warm call pays no cold start"
    );

    let unloaded = support::eventually(Duration::from_secs(10), || async {
        host.status_of("all-minilm-l6-v2").await == "Absent"
    })
    .await;
    assert!(
        unloaded,
        "the endpoint scales to zero after its idle timeout"
    );
    let description = host.get_json("/endpoints/all-minilm-l6-v2").await;
    assert_eq!(description["Unloads"], 1);

    let again = host.invoke("all-minilm-l6-v2", &body).await;
    assert_eq!(again.status(), 200);
    assert!(
        again.headers().get("x-radiant-cold-start-ms").is_some(),
        "the next call is cold again"
    );
}

#[tokio::test]
async fn warm_up_loads_an_endpoint_before_its_first_call() {
    let host = spawn_host().await;
    let warmed = host
        .post_json("/endpoints/all-minilm-l6-v2/warm", &json!({}))
        .await;
    assert_eq!(warmed.status(), 200);
    let body: Value = warmed.json().await.expect("JSON");
    assert_eq!(body["EndpointStatus"], "InService");
    assert_eq!(body["WasWarm"], false);
    assert!(body["ColdStartMs"].as_u64().is_some());
    let again: Value = host
        .post_json("/endpoints/all-minilm-l6-v2/warm", &json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(again["WasWarm"], true);

    let missing = host.post_json("/endpoints/nope/warm", &json!({})).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_missing_model_file_fails_the_endpoint_with_the_reason() {
    let host = spawn_host_with(|config| {
        config.models.dir = std::env::temp_dir().join("radiant-no-models-here");
    })
    .await;
    let response = host
        .invoke("all-minilm-l6-v2", &json!({ "inputs": "x" }))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers()["x-amzn-errortype"],
        "ModelNotReadyException"
    );
    assert!(response.headers().get("retry-after").is_some());
    let description = host.get_json("/endpoints/all-minilm-l6-v2").await;
    assert_eq!(description["EndpointStatus"], "Failed");
    assert!(
        description["FailureReason"]
            .as_str()
            .unwrap_or_default()
            .contains("models.sh")
    );
}

/// A host whose chat endpoint has one slot and `max_queue` queue places, with the slot held
/// by a long streamed generation (the response, still being received).
async fn host_with_its_only_slot_held(max_queue: usize) -> (support::TestHost, reqwest::Response) {
    let host = spawn_host_with(|config| {
        let llm = endpoint_mut(config, LLM);
        llm.max_concurrency = 1;
        llm.max_queue = max_queue;
    })
    .await;
    let long = json!({
        "model": LLM,
        "messages": [{ "role": "user", "content": "Write a long story about a dragon." }],
        "max_tokens": 400,
        "temperature": 0,
        "stream": true
    });
    let holder = host.post_json("/v1/chat/completions", &long).await;
    assert_eq!(holder.status(), 200);
    (host, holder)
}

#[tokio::test]
async fn a_full_queue_is_refused_with_429_and_retry_after() {
    let (host, holder) = host_with_its_only_slot_held(0).await;
    let refused = host.invoke(LLM, &capital_question()).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["x-amzn-errortype"], "ThrottlingException");
    drop(holder);
    // the abandoned stream stops generating and frees the slot
    let freed = support::eventually(Duration::from_secs(30), || async {
        host.get_json(&format!("/endpoints/{LLM}")).await["InFlight"] == 0
    })
    .await;
    assert!(freed, "a client that goes away frees its slot");
    let served = host.invoke(LLM, &capital_question()).await;
    assert_eq!(served.status(), 200);
}

#[tokio::test]
async fn a_call_past_its_timeout_is_a_model_error() {
    let host = spawn_host_with(|config| {
        endpoint_mut(config, LLM).timeout_ms = 1500;
    })
    .await;
    let slow = json!({
        "messages": [{ "role": "user", "content": "Write a long story about a dragon." }],
        "max_tokens": 2000,
        "temperature": 0
    });
    let response = host.invoke(LLM, &slow).await;
    assert_eq!(response.status(), 424);
    assert_eq!(response.headers()["x-amzn-errortype"], "ModelError");
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("1500 ms"),
        "{body}"
    );
}

#[tokio::test]
async fn ping_answers_and_every_endpoint_is_listed() {
    let host = spawn_host().await;
    let ping = host
        .http
        .get(host.url("/ping"))
        .send()
        .await
        .expect("answers");
    assert_eq!(ping.status(), 200);
    let listed = host.get_json("/endpoints").await;
    let names: Vec<&str> = listed["Endpoints"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|endpoint| endpoint["EndpointName"].as_str())
        .collect();
    for expected in [
        LLM,
        "all-minilm-l6-v2",
        "zero-work",
        "upscale-lanczos-sharpen",
        "inpaint-telea",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn the_zero_work_endpoint_answers_at_once_on_both_routes() {
    let host = spawn_host().await;
    let output = host
        .sagemaker()
        .invoke_endpoint()
        .endpoint_name("zero-work")
        .body(Blob::new(capital_question().to_string()))
        .send()
        .await
        .expect("the SDK call succeeds");
    let body: Value =
        serde_json::from_slice(output.body().expect("a body").as_ref()).expect("JSON");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        radiant_inference_host::invoke::ZERO_WORK_REPLY
    );
    let openai: Value = host
        .post_json(
            "/v1/chat/completions",
            &json!({ "model": "zero-work", "messages": [{ "role": "user", "content": "hi" }] }),
        )
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        openai["choices"][0]["message"]["content"],
        radiant_inference_host::invoke::ZERO_WORK_REPLY
    );
}

#[tokio::test]
async fn a_caller_that_gives_up_while_queued_leaves_the_queue() {
    let (host, holder) = host_with_its_only_slot_held(1).await;
    // this caller waits in the queue, then its client gives up
    let impatient = host
        .http
        .post(host.url(&format!("/endpoints/{LLM}/invocations")))
        .timeout(Duration::from_millis(500))
        .json(&capital_question())
        .send()
        .await;
    assert!(
        impatient.is_err(),
        "the queued call cannot finish while the slot is held"
    );
    let left = support::eventually(Duration::from_secs(5), || async {
        host.get_json(&format!("/endpoints/{LLM}")).await["Queued"] == 0
    })
    .await;
    assert!(left, "an abandoned wait gives its queue place back");
    // so the queue has room again: a new caller waits instead of being refused
    drop(holder);
    let served = host.invoke(LLM, &capital_question()).await;
    assert_eq!(served.status(), 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_and_a_tiny_top_p_a_400() {
    let host = spawn_host_with(|config| {
        config.http.max_body_bytes = 1024;
    })
    .await;
    let oversized = json!({ "inputs": "word ".repeat(1000) });
    let response = host.invoke("all-minilm-l6-v2", &oversized).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["x-amzn-errortype"], "ValidationError");

    let tiny_top_p = json!({
        "messages": [{ "role": "user", "content": "hi" }],
        "temperature": 1,
        "top_p": 1e-40
    });
    let response = host.invoke(LLM, &tiny_top_p).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("top_p"),
        "{body}"
    );
}
