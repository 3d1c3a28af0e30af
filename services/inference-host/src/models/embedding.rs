//! all-MiniLM-L6-v2: candle's BERT, mean pooling over the attention mask, then L2 norm (what
//! sentence-transformers computes for this model).

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::{ModelError, floor_char_boundary};

pub const MODEL_FOLDER: &str = "all-minilm-l6-v2";
/// sentence-transformers' max_seq_length for this model: longer inputs are truncated.
const MAX_SEQUENCE_TOKENS: usize = 256;
pub const DIMENSIONS: usize = 384;
/// Bytes of a text that are tokenized (far more than 256 tokens ever cover).
const MAX_INPUT_BYTES: usize = 64 * 1024;

pub struct EmbeddingModel {
    model: BertModel,
    tokenizer: Tokenizer,
}

impl EmbeddingModel {
    pub fn load(models_dir: &Path) -> Result<Self, ModelError> {
        let folder = models_dir.join(MODEL_FOLDER);
        let read = |name: &str| {
            let path = folder.join(name);
            std::fs::read(&path).map_err(|source| ModelError::MissingFile {
                path: path.display().to_string(),
                source,
            })
        };
        let config: Config = serde_json::from_slice(&read("config.json")?)
            .map_err(|error| ModelError::Load(format!("config.json: {error}")))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?)
            .map_err(|error| ModelError::Load(format!("tokenizer.json: {error}")))?;
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_SEQUENCE_TOKENS,
                ..Default::default()
            }))
            .map_err(|error| ModelError::Load(format!("tokenizer truncation: {error}")))?;
        let weights = read("model.safetensors")?;
        let vars = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(ModelError::load)?;
        let model = BertModel::load(vars, &config).map_err(ModelError::load)?;
        Ok(Self { model, tokenizer })
    }

    /// One unit vector per input, in input order, and the tokens read. Blocking: run it on
    /// a blocking thread.
    pub fn embed(&self, inputs: &[String]) -> Result<(Vec<Vec<f32>>, usize), ModelError> {
        if inputs.is_empty() {
            return Ok((Vec::new(), 0));
        }
        // the model reads at most 256 tokens of a text; tokenizing megabytes to keep those
        // would only hold the endpoint's slot
        let inputs: Vec<String> = inputs
            .iter()
            .map(|text| text[..floor_char_boundary(text, MAX_INPUT_BYTES)].to_string())
            .collect();
        let encodings = self.tokenizer.encode_batch(inputs, true).map_err(|error| {
            ModelError::Invalid(format!("the input could not be tokenized: {error}"))
        })?;
        let batch = encodings.len();
        let length = encodings[0].get_ids().len();
        let mut token_ids = Vec::with_capacity(batch * length);
        let mut attention = Vec::with_capacity(batch * length);
        for encoding in &encodings {
            token_ids.extend_from_slice(encoding.get_ids());
            attention.extend_from_slice(encoding.get_attention_mask());
        }
        let tokens_read = attention.iter().map(|&bit| bit as usize).sum();
        let device = Device::Cpu;
        let compute = |error: candle_core::Error| ModelError::compute(error);
        let token_ids = Tensor::from_vec(token_ids, (batch, length), &device).map_err(compute)?;
        let attention = Tensor::from_vec(attention, (batch, length), &device).map_err(compute)?;
        let token_type_ids = token_ids.zeros_like().map_err(compute)?;
        let hidden = self
            .model
            .forward(&token_ids, &token_type_ids, Some(&attention))
            .map_err(compute)?;
        // mean over the real tokens only: padding must not dilute short inputs in a batch
        let mask = attention
            .to_dtype(DType::F32)
            .and_then(|mask| mask.unsqueeze(2))
            .map_err(compute)?;
        let summed = hidden
            .broadcast_mul(&mask)
            .and_then(|masked| masked.sum(1))
            .map_err(compute)?;
        let counts = mask.sum(1).map_err(compute)?;
        let mean = summed.broadcast_div(&counts).map_err(compute)?;
        let norms = mean
            .sqr()
            .and_then(|squares| squares.sum_keepdim(1))
            .and_then(|sum| sum.sqrt())
            .and_then(|norm| norm.clamp(1e-12, f32::MAX))
            .map_err(compute)?;
        let normalized = mean.broadcast_div(&norms).map_err(compute)?;
        let vectors = normalized.to_vec2::<f32>().map_err(compute)?;
        Ok((vectors, tokens_read))
    }
}

pub fn cosine(left: &[f32], right: &[f32]) -> f32 {
    let dot: f32 = left.iter().zip(right).map(|(a, b)| a * b).sum();
    let left_norm: f32 = left.iter().map(|a| a * a).sum::<f32>().sqrt();
    let right_norm: f32 = right.iter().map(|b| b * b).sum::<f32>().sqrt();
    dot / (left_norm * right_norm).max(f32::EPSILON)
}
