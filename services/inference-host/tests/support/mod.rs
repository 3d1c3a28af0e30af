//! Spawns the real inference host on a free port, with the real model files installed by
//! deploy/local/models.sh, and gives tests the clients services use against it.
#![allow(dead_code)]

use std::io::Cursor;
use std::time::Duration;

use aws_sdk_sagemakerruntime::config::{BehaviorVersion, Credentials, Region};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use radiant_inference_host::Application;
use radiant_inference_host::config::{EndpointConfig, InferenceHostConfig, embedded_defaults};

pub struct TestHost {
    pub base_url: String,
    pub http: reqwest::Client,
}

pub async fn spawn_host() -> TestHost {
    spawn_host_with(|_| {}).await
}

pub async fn spawn_host_with(adjust: impl FnOnce(&mut InferenceHostConfig)) -> TestHost {
    let mut config = embedded_defaults().expect("embedded defaults load");
    config.http.port = 0;
    adjust(&mut config);
    let application = Application::build(config).await.expect("the host builds");
    let base_url = application.base_url();
    tokio::spawn(application.run_until_stopped(std::future::pending()));
    TestHost {
        base_url,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .expect("http client"),
    }
}

pub fn endpoint_mut<'a>(config: &'a mut InferenceHostConfig, name: &str) -> &'a mut EndpointConfig {
    config
        .endpoints
        .iter_mut()
        .find(|endpoint| endpoint.name == name)
        .unwrap_or_else(|| panic!("endpoint {name} is declared"))
}

impl TestHost {
    /// The production client, pointed at this host.
    pub fn sagemaker(&self) -> aws_sdk_sagemakerruntime::Client {
        let config = aws_sdk_sagemakerruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.base_url)
            .credentials_provider(Credentials::new(
                "local",
                "local-secret",
                None,
                None,
                "tests",
            ))
            .build();
        aws_sdk_sagemakerruntime::Client::from_conf(config)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("the host answers")
    }

    /// `POST /endpoints/{endpoint}/invocations` with a JSON body.
    pub async fn invoke(&self, endpoint: &str, body: &serde_json::Value) -> reqwest::Response {
        self.post_json(&format!("/endpoints/{endpoint}/invocations"), body)
            .await
    }

    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("the host answers")
            .json()
            .await
            .expect("a JSON body")
    }

    pub async fn status_of(&self, endpoint: &str) -> String {
        let description = self.get_json(&format!("/endpoints/{endpoint}")).await;
        description["EndpointStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

pub fn png_base64(image: &image::RgbaImage) -> String {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("png encodes");
    BASE64.encode(bytes)
}

pub fn gray_png_base64(image: &image::GrayImage) -> String {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("png encodes");
    BASE64.encode(bytes)
}

pub fn decode_png(encoded: &str) -> image::RgbaImage {
    let bytes = BASE64.decode(encoded).expect("base64 output");
    image::load_from_memory(&bytes)
        .expect("a decodable image")
        .to_rgba8()
}

/// A PNG that declares `width`x`height` but holds almost no pixel data (an empty compressed
/// stream): what an attacker sends to make a decoder allocate gigabytes.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 6, 0, 0, 0]);
    append_chunk(&mut png, b"IHDR", &header);
    // zlib's encoding of nothing
    append_chunk(
        &mut png,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    append_chunk(&mut png, b"IEND", &[]);
    png
}

fn append_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    png.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut checked = kind.to_vec();
    checked.extend_from_slice(data);
    png.extend_from_slice(&checked);
    png.extend_from_slice(&crc32(&checked).to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Polls `check` every 100 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
