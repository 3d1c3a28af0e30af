//! The visual endpoints' request and response shapes (the visual pipeline's: a JSON body with a
//! base64 image in, a base64 PNG out, extra parameters beside the image) and their dispatch to
//! the classical algorithms that compute them.

pub mod algorithms;

use std::io::Cursor;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use image::{ExtendedColorType, GrayImage, ImageFormat, ImageReader, RgbaImage};
use serde::Deserialize;
use serde_json::{Value, json};

use self::algorithms::segment::SegmentPrompt;
use self::algorithms::{face_restore, inpaint, interpolate, matting, segment, upscale};
use crate::config::EndpointKind;

/// The largest neighbourhood inpainting averages over, in pixels.
const MAX_INPAINT_RADIUS: u32 = 16;

/// Why a visual request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum VisualError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VisualRequest {
    image: Option<String>,
    /// inpainting: the region to fill (white = fill), same size as the image
    mask: Option<String>,
    /// upscaling: 2 or 4
    scale: Option<u32>,
    /// segmentation and matting: a point prompt [x, y]
    point: Option<[u32; 2]>,
    /// segmentation and matting: a box prompt [x0, y0, x1, y1]
    #[serde(rename = "box")]
    bounding_box: Option<[u32; 4]>,
    /// interpolation: the frame after `image`
    next_image: Option<String>,
    /// interpolation: the source and target frame rates decide how many frames go between
    source_fps: Option<f64>,
    target_fps: Option<f64>,
    /// face restoration: 0..1
    strength: Option<f32>,
    /// inpainting: the neighbourhood radius in pixels
    radius: Option<u32>,
}

/// Decodes a request, runs the endpoint's algorithm and encodes the answer. Blocking.
pub fn invoke(kind: EndpointKind, body: &[u8], max_megapixels: u64) -> Result<Value, VisualError> {
    let request: VisualRequest = serde_json::from_slice(body).map_err(|error| {
        VisualError::Invalid(format!("the body is not a valid visual request: {error}"))
    })?;
    let image_field = request.image.as_deref().ok_or_else(|| {
        VisualError::Invalid("the field image (a base64 image) is required".into())
    })?;
    let image = decode_image("image", image_field, max_megapixels)?;
    let (width, height) = image.dimensions();
    match kind {
        EndpointKind::Upscale => {
            let factor = request.scale.unwrap_or(2);
            if factor != 2 && factor != 4 {
                return Err(VisualError::Invalid(format!(
                    "scale must be 2 or 4, not {factor}"
                )));
            }
            let output_megapixels = u64::from(width * factor) * u64::from(height * factor);
            if output_megapixels > max_megapixels * 1_000_000 {
                return Err(VisualError::TooLarge(format!(
                    "a {width}x{height} image upscaled x{factor} exceeds the {max_megapixels} megapixel limit"
                )));
            }
            let output = upscale::upscale(&image, factor);
            Ok(
                json!({ "output": encode_png(&output)?, "width": output.width(), "height": output.height(), "scale": factor }),
            )
        }
        EndpointKind::Inpaint => {
            let mask_field = request.mask.as_deref().ok_or_else(|| {
                VisualError::Invalid(
                    "the field mask (a base64 image, white = fill) is required".into(),
                )
            })?;
            let mask = decode_image("mask", mask_field, max_megapixels)?;
            if mask.dimensions() != image.dimensions() {
                return Err(VisualError::Invalid(format!(
                    "the mask is {}x{} but the image is {width}x{height}",
                    mask.width(),
                    mask.height()
                )));
            }
            let mask = to_gray(&mask);
            // the fill's cost grows with the square of the radius: bound it
            let radius = request.radius.unwrap_or(5);
            if !(1..=MAX_INPAINT_RADIUS).contains(&radius) {
                return Err(VisualError::Invalid(format!(
                    "radius must be within 1..{MAX_INPAINT_RADIUS}, not {radius}"
                )));
            }
            let output = inpaint::inpaint_telea(&image, &mask, radius);
            Ok(json!({ "output": encode_png(&output)? }))
        }
        EndpointKind::Segment => {
            let prompt = segment_prompt(&request, width, height)?.ok_or_else(|| {
                VisualError::Invalid(
                    "a prompt is required: point [x, y] or box [x0, y0, x1, y1]".into(),
                )
            })?;
            let mask = segment::segment(&image, prompt);
            let covered = mask.pixels().filter(|pixel| pixel.0[0] > 127).count();
            Ok(json!({ "output": encode_gray_png(&mask)?, "area_pixels": covered }))
        }
        EndpointKind::Matting => {
            let prompt = segment_prompt(&request, width, height)?;
            let alpha = matting::alpha_matte(&image, prompt);
            let cutout = matting::apply_alpha(&image, &alpha);
            Ok(json!({ "output": encode_png(&cutout)?, "alpha": encode_gray_png(&alpha)? }))
        }
        EndpointKind::FaceRestore => {
            let strength = request.strength.unwrap_or(0.6);
            if !(0.0..=1.0).contains(&strength) {
                return Err(VisualError::Invalid(format!(
                    "strength must be within 0..1, not {strength}"
                )));
            }
            let output = face_restore::restore(&image, strength);
            Ok(json!({ "output": encode_png(&output)? }))
        }
        EndpointKind::Interpolate => {
            let next_field = request.next_image.as_deref().ok_or_else(|| {
                VisualError::Invalid(
                    "the field nextImage (the following frame, base64) is required".into(),
                )
            })?;
            let next = decode_image("nextImage", next_field, max_megapixels)?;
            if next.dimensions() != image.dimensions() {
                return Err(VisualError::Invalid(format!(
                    "nextImage is {}x{} but image is {width}x{height}",
                    next.width(),
                    next.height()
                )));
            }
            let between = frames_between(request.source_fps, request.target_fps)?;
            let mut frames = Vec::with_capacity(between);
            for index in 1..=between {
                let t = index as f32 / (between + 1) as f32;
                frames.push(encode_png(&interpolate::interpolate(&image, &next, t))?);
            }
            let output = frames.first().cloned().unwrap_or_default();
            Ok(json!({ "output": output, "frames": frames }))
        }
        EndpointKind::ChatLlm | EndpointKind::Embedding | EndpointKind::ZeroWork => Err(
            VisualError::Invalid("this endpoint does not take images".into()),
        ),
    }
}

/// How many frames go between two source frames to reach the target rate (30 → 60: one).
fn frames_between(source_fps: Option<f64>, target_fps: Option<f64>) -> Result<usize, VisualError> {
    let source = source_fps.unwrap_or(30.0);
    let target = target_fps.unwrap_or(source * 2.0);
    if !(source.is_finite() && target.is_finite()) || source <= 0.0 || target < source {
        return Err(VisualError::Invalid(format!(
            "targetFps ({target}) must be at least sourceFps ({source}) and both positive"
        )));
    }
    let ratio = target / source;
    if ratio > 16.0 {
        return Err(VisualError::Invalid(format!(
            "targetFps / sourceFps is {ratio:.1}; at most 16 frames are made per pair"
        )));
    }
    Ok((ratio.round() as usize).saturating_sub(1).max(1))
}

fn segment_prompt(
    request: &VisualRequest,
    width: u32,
    height: u32,
) -> Result<Option<SegmentPrompt>, VisualError> {
    if let Some([x, y]) = request.point {
        if x >= width || y >= height {
            return Err(VisualError::Invalid(format!(
                "point [{x}, {y}] is outside the {width}x{height} image"
            )));
        }
        return Ok(Some(SegmentPrompt::Point { x, y }));
    }
    if let Some([x0, y0, x1, y1]) = request.bounding_box {
        if x0 >= x1 || y0 >= y1 || x1 > width || y1 > height {
            return Err(VisualError::Invalid(format!(
                "box [{x0}, {y0}, {x1}, {y1}] must have x0 < x1 <= {width} and y0 < y1 <= {height}"
            )));
        }
        return Ok(Some(SegmentPrompt::Box { x0, y0, x1, y1 }));
    }
    Ok(None)
}

/// Decodes a base64 image, refusing one over the pixel limit from its header, before any
/// pixel is decoded (a tiny PNG can declare gigapixels).
pub fn decode_image(
    field: &str,
    encoded: &str,
    max_megapixels: u64,
) -> Result<RgbaImage, VisualError> {
    let bytes = BASE64
        .decode(encoded.trim())
        .map_err(|error| VisualError::Invalid(format!("{field} is not valid base64: {error}")))?;
    let reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|error| VisualError::Invalid(format!("{field} could not be read: {error}")))?;
    if reader.format().is_none() {
        return Err(VisualError::Invalid(format!(
            "{field} is not a PNG, JPEG or WebP image"
        )));
    }
    let (width, height) = reader.into_dimensions().map_err(|error| {
        VisualError::Invalid(format!("{field} is not a readable image: {error}"))
    })?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_megapixels * 1_000_000 {
        return Err(VisualError::TooLarge(format!(
            "{field} is {width}x{height} ({:.1} megapixels); the limit is {max_megapixels} megapixels",
            pixels as f64 / 1e6
        )));
    }
    if pixels == 0 {
        return Err(VisualError::Invalid(format!("{field} has no pixels")));
    }
    let mut reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|error| VisualError::Invalid(format!("{field} could not be read: {error}")))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(pixels.saturating_mul(16).max(64 * 1024 * 1024));
    reader.limits(limits);
    let decoded = reader
        .decode()
        .map_err(|error| VisualError::Invalid(format!("{field} could not be decoded: {error}")))?;
    Ok(decoded.to_rgba8())
}

fn to_gray(image: &RgbaImage) -> GrayImage {
    GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let [r, g, b, _] = image.get_pixel(x, y).0;
        image::Luma([((u16::from(r) + u16::from(g) + u16::from(b)) / 3) as u8])
    })
}

pub fn encode_png(image: &RgbaImage) -> Result<String, VisualError> {
    encode_png_pixels(
        image.as_raw(),
        image.width(),
        image.height(),
        ExtendedColorType::Rgba8,
    )
}

fn encode_gray_png(image: &GrayImage) -> Result<String, VisualError> {
    encode_png_pixels(
        image.as_raw(),
        image.width(),
        image.height(),
        ExtendedColorType::L8,
    )
}

fn encode_png_pixels(
    pixels: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
) -> Result<String, VisualError> {
    let mut bytes = Vec::new();
    image::write_buffer_with_format(
        &mut Cursor::new(&mut bytes),
        pixels,
        width,
        height,
        color,
        ImageFormat::Png,
    )
    .map_err(|error| VisualError::Invalid(format!("the result could not be encoded: {error}")))?;
    Ok(BASE64.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_decide_how_many_frames_go_between() {
        assert_eq!(frames_between(Some(30.0), Some(60.0)).ok(), Some(1));
        assert_eq!(frames_between(Some(24.0), Some(96.0)).ok(), Some(3));
        assert_eq!(frames_between(None, None).ok(), Some(1));
        assert!(frames_between(Some(60.0), Some(30.0)).is_err());
        assert!(frames_between(Some(1.0), Some(100.0)).is_err());
    }
}
