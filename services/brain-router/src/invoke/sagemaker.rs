//! Self-hosted models through aws-sdk-sagemakerruntime: `InvokeEndpoint` for whole answers,
//! `InvokeEndpointWithResponseStream` for streamed ones. The body is an OpenAI-shaped chat
//! request; the stream's payload parts carry `chat.completion.chunk` Server-Sent Events (as the
//! inference host and TGI/vLLM containers send them), decoded as the OpenAI stream is.

use std::collections::HashMap;
use std::sync::RwLock;

use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::ResponseStream;

use super::openai::{completion_pieces, openai_event};
use super::{
    Clients, FailureKind, InvokeError, Piece, PieceStream, Prompt, Target, decode_sse_stream,
};

/// Clients of one runtime URL, one per credential.
type ClientsOfUrl = Vec<(Option<String>, Client)>;

/// One client per runtime URL and credential, made on first use. Every call looks its client
/// up, so the lookup takes a shared lock and borrows the URL instead of building a key.
pub struct SageMakerClients {
    region: String,
    clients: RwLock<HashMap<String, ClientsOfUrl>>,
}

impl SageMakerClients {
    pub fn new(region: &str) -> Self {
        Self {
            region: region.to_string(),
            clients: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn client(&self, base_url: &str, credential: Option<&str>) -> Client {
        let found = |clients: &HashMap<String, ClientsOfUrl>| {
            clients.get(base_url).and_then(|of_url| {
                of_url
                    .iter()
                    .find(|(key, _)| key.as_deref() == credential)
                    .map(|(_, client)| client.clone())
            })
        };
        if let Some(client) = found(
            &self
                .clients
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        ) {
            return client;
        }
        let mut clients = self
            .clients
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // another call may have made it meanwhile
        if let Some(client) = found(&clients) {
            return client;
        }
        // a local runtime (the inference host) checks no signature; AWS's needs the key
        let (access_key, secret_key) = credential
            .and_then(|credential| credential.split_once(':'))
            .map(|(access, secret)| (access.to_string(), secret.to_string()))
            .unwrap_or_else(|| ("local".to_string(), "local".to_string()));
        let credentials = Credentials::new(access_key, secret_key, None, None, "radiant-registry");
        let mut builder = aws_sdk_sagemakerruntime::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(credentials)
            // retries and fallbacks are the router's own (crate::execute)
            .retry_config(aws_sdk_sagemakerruntime::config::retry::RetryConfig::disabled())
            // so are the timeouts (a stream that stalls runs into the idle timeout); the
            // SDK's throughput checks wrapped every body poll of every call
            .stalled_stream_protection(
                aws_sdk_sagemakerruntime::config::StalledStreamProtectionConfig::disabled(),
            );
        if !base_url.is_empty() {
            builder = builder.endpoint_url(base_url);
        }
        let client = Client::from_conf(builder.build());
        clients
            .entry(base_url.to_string())
            .or_default()
            .push((credential.map(str::to_string), client.clone()));
        client
    }
}

fn parts(target: &Target) -> Result<(&str, &str, Option<&str>), InvokeError> {
    match target {
        Target::SageMaker {
            base_url,
            endpoint_name,
            credential,
        } => Ok((base_url, endpoint_name, credential.as_deref())),
        _ => Err(InvokeError::new(
            FailureKind::Protocol,
            "not a sagemaker target",
        )),
    }
}

type HttpResponse = aws_sdk_sagemakerruntime::config::http::HttpResponse;

pub(crate) fn sdk_error<E>(
    error: aws_sdk_sagemakerruntime::error::SdkError<E, HttpResponse>,
) -> InvokeError
where
    E: std::error::Error + 'static,
{
    use aws_sdk_sagemakerruntime::error::SdkError;
    let kind = match &error {
        SdkError::TimeoutError(_) => FailureKind::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => FailureKind::Timeout,
        SdkError::DispatchFailure(_) => FailureKind::Unavailable,
        SdkError::ServiceError(_) => FailureKind::Refused(status_of(&error).unwrap_or(500)),
        SdkError::ResponseError(_) => FailureKind::Protocol,
        _ => FailureKind::Protocol,
    };
    let detail = aws_sdk_sagemakerruntime::error::DisplayErrorContext(&error).to_string();
    InvokeError::new(kind, format!("sagemaker: {detail}"))
}

fn status_of<E>(error: &aws_sdk_sagemakerruntime::error::SdkError<E, HttpResponse>) -> Option<u16> {
    error
        .raw_response()
        .map(|response| response.status().as_u16())
}

pub async fn complete(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
) -> Result<Vec<Piece>, InvokeError> {
    let (base_url, endpoint_name, credential) = parts(target)?;
    let client = clients.sagemaker.client(base_url, credential);
    let body = super::openai::body(endpoint_name, prompt, false);
    let output = client
        .invoke_endpoint()
        .endpoint_name(endpoint_name)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .map_err(sdk_error)?;
    let Some(body) = output.body else {
        return Err(InvokeError::new(
            FailureKind::Protocol,
            "sagemaker answered without a body",
        ));
    };
    completion_pieces(body.as_ref())
}

pub async fn stream(
    clients: &Clients,
    target: &Target,
    prompt: &Prompt,
) -> Result<PieceStream, InvokeError> {
    let (base_url, endpoint_name, credential) = parts(target)?;
    let client = clients.sagemaker.client(base_url, credential);
    let body = super::openai::body(endpoint_name, prompt, true);
    let output = client
        .invoke_endpoint_with_response_stream()
        .endpoint_name(endpoint_name)
        .content_type("application/json")
        .accept("text/event-stream")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .map_err(sdk_error)?;
    let receiver = output.body;
    let bytes = futures::stream::unfold(Some(receiver), |receiver| async move {
        let mut receiver = receiver?;
        match receiver.recv().await {
            Ok(Some(ResponseStream::PayloadPart(part))) => {
                let bytes = part
                    .bytes
                    .map(|blob| bytes::Bytes::from(blob.into_inner()))
                    .unwrap_or_default();
                Some((Ok(bytes), Some(receiver)))
            }
            Ok(Some(_)) => Some((Ok(bytes::Bytes::new()), Some(receiver))),
            Ok(None) => None,
            Err(error) => {
                let detail =
                    aws_sdk_sagemakerruntime::error::DisplayErrorContext(&error).to_string();
                Some((Err(detail), None))
            }
        }
    });
    Ok(decode_sse_stream(bytes, openai_event))
}
