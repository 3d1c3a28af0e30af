//! Alpha matting: a coarse binary segmentation refined into a soft matte with He, Sun and
//! Tang's guided filter ("Guided Image Filtering", ECCV 2010 / TPAMI 2013).
//!
//! The guided filter models the output as locally linear in the guidance image,
//! `q = a I + b` in every window, fitted to the coarse mask by least squares with the
//! regulariser `eps`. Where the image has an edge the matte follows it (so the hard,
//! blocky segmentation boundary snaps to the real object boundary and becomes soft where
//! the image is soft, e.g. hair); where the image is flat the matte is just smoothed.

use super::filters::{box_mean_plane, clamp_to_u8, luma_plane};
use super::segment::{SegmentPrompt, segment};
use image::{GrayImage, Luma, RgbaImage};

/// Window radius of the guided filter, in pixels.
pub const GUIDED_FILTER_RADIUS: usize = 8;

/// Regulariser of the guided filter on [0, 1] values: edges whose local luma variance is well
/// above it are followed, weaker texture is smoothed away.
pub const GUIDED_FILTER_EPSILON: f32 = 1.0e-3;

/// The prompt used when the caller gives none: a box over the central region, leaving a
/// 10% margin on each side (the usual framing of a portrait or product photo).
pub fn default_prompt(width: u32, height: u32) -> SegmentPrompt {
    SegmentPrompt::Box {
        x0: width / 10,
        y0: height / 10,
        x1: width - width / 10,
        y1: height - height / 10,
    }
}

/// Guided filter with a single-channel guidance, all planes row-major with values in [0, 1].
/// Mismatched plane lengths return the input unchanged.
pub fn guided_filter(
    guidance: &[f32],
    input: &[f32],
    width: usize,
    height: usize,
    radius: usize,
    epsilon: f32,
) -> Vec<f32> {
    let pixel_count = width.saturating_mul(height);
    if pixel_count == 0 || guidance.len() != pixel_count || input.len() != pixel_count {
        return input.to_vec();
    }
    let mean = |plane: &[f32]| box_mean_plane(plane, width, height, radius);
    let guidance_mean = mean(guidance);
    let input_mean = mean(input);
    let product: Vec<f32> = guidance.iter().zip(input).map(|(g, p)| g * p).collect();
    let product_mean = mean(&product);
    let squared: Vec<f32> = guidance.iter().map(|g| g * g).collect();
    let squared_mean = mean(&squared);

    let mut slopes = Vec::with_capacity(pixel_count);
    let mut offsets = Vec::with_capacity(pixel_count);
    for index in 0..pixel_count {
        let covariance = product_mean[index] - guidance_mean[index] * input_mean[index];
        // rounding can make a tiny variance negative; the regulariser must stay positive
        let variance = (squared_mean[index] - guidance_mean[index] * guidance_mean[index]).max(0.0);
        let slope = covariance / (variance + epsilon.max(1.0e-12));
        slopes.push(slope);
        offsets.push(input_mean[index] - slope * guidance_mean[index]);
    }
    // every pixel lies in many windows: average their linear models
    let slope_mean = mean(&slopes);
    let offset_mean = mean(&offsets);
    guidance
        .iter()
        .zip(slope_mean.iter().zip(&offset_mean))
        .map(|(g, (slope, offset))| slope * g + offset)
        .collect()
}

/// A soft alpha matte (255 = foreground) for the object designated by `prompt`, or by
/// `default_prompt` when `None`: the binary mask from `segment`, refined by a guided filter
/// on the image's luma.
pub fn alpha_matte(image: &RgbaImage, prompt: Option<SegmentPrompt>) -> GrayImage {
    let width = image.width() as usize;
    let height = image.height() as usize;
    let pixel_count = width.saturating_mul(height);
    if pixel_count == 0 {
        return GrayImage::new(image.width(), image.height());
    }
    let prompt = prompt.unwrap_or_else(|| default_prompt(image.width(), image.height()));
    let coarse = segment(image, prompt);
    let coarse_plane: Vec<f32> = coarse
        .as_raw()
        .iter()
        .take(pixel_count)
        .map(|value| f32::from(*value) / 255.0)
        .collect();
    let guidance: Vec<f32> = luma_plane(image)
        .iter()
        .map(|value| value / 255.0)
        .collect();
    let refined = guided_filter(
        &guidance,
        &coarse_plane,
        width,
        height,
        GUIDED_FILTER_RADIUS,
        GUIDED_FILTER_EPSILON,
    );
    let alpha: Vec<u8> = refined
        .iter()
        .map(|value| clamp_to_u8(value * 255.0))
        .collect();
    GrayImage::from_raw(image.width(), image.height(), alpha)
        .unwrap_or_else(|| GrayImage::new(image.width(), image.height()))
}

/// Writes `alpha` into the image's alpha channel. If the matte's dimensions differ from the
/// image's it is stretched to fit (nearest neighbour); an empty matte leaves the image as is.
pub fn apply_alpha(image: &RgbaImage, alpha: &GrayImage) -> RgbaImage {
    let (width, height) = image.dimensions();
    let (alpha_width, alpha_height) = alpha.dimensions();
    if alpha_width == 0 || alpha_height == 0 {
        return image.clone();
    }
    let mut output = image.clone();
    for (x, y, pixel) in output.enumerate_pixels_mut() {
        let alpha_x = (u64::from(x) * u64::from(alpha_width) / u64::from(width.max(1))) as u32;
        let alpha_y = (u64::from(y) * u64::from(alpha_height) / u64::from(height.max(1))) as u32;
        let Luma([value]) = alpha
            .get_pixel_checked(alpha_x.min(alpha_width - 1), alpha_y.min(alpha_height - 1))
            .copied()
            .unwrap_or(Luma([255]));
        pixel.0[3] = value;
    }
    output
}

#[cfg(test)]
mod tests {
    use super::super::segment::tests::{disc_image, is_in_disc};
    use super::*;
    use image::Rgba;

    #[test]
    fn matte_is_high_inside_disc_and_low_outside() {
        let image = disc_image();
        for prompt in [None, Some(SegmentPrompt::Point { x: 64, y: 60 })] {
            let alpha = alpha_matte(&image, prompt);
            assert_eq!(alpha.dimensions(), image.dimensions());
            // well inside the disc (centre (64, 60), radius 30)
            for (x, y) in [(64, 60), (50, 60), (78, 60), (64, 46), (64, 74)] {
                let value = alpha.get_pixel(x, y).0[0];
                assert!(value > 200, "alpha {value} at ({x}, {y}) with {prompt:?}");
            }
            // far outside: the corners, and background inside the default box
            for (x, y) in [
                (3, 3),
                (124, 3),
                (3, 124),
                (124, 124),
                (16, 60),
                (112, 60),
                (64, 112),
            ] {
                assert!(!is_in_disc(x, y));
                let value = alpha.get_pixel(x, y).0[0];
                assert!(value < 55, "alpha {value} at ({x}, {y}) with {prompt:?}");
            }
        }
    }

    #[test]
    fn guided_filter_keeps_constant_and_follows_edges() {
        let (width, height) = (32, 16);
        let guidance: Vec<f32> = (0..width * height)
            .map(|index| if index % width < 16 { 0.2 } else { 0.8 })
            .collect();
        let input: Vec<f32> = guidance
            .iter()
            .map(|g| if *g > 0.5 { 1.0 } else { 0.0 })
            .collect();
        let output = guided_filter(&guidance, &input, width, height, 4, 1.0e-3);
        // a step in the input aligned with a strong step in the guidance stays sharp
        assert!(output[8 * width + 15] < 0.05);
        assert!(output[8 * width + 16] > 0.95);
        let constant = vec![0.5f32; width * height];
        let output = guided_filter(&guidance, &constant, width, height, 4, 1.0e-3);
        assert!(output.iter().all(|value| (value - 0.5).abs() < 1e-4));
    }

    #[test]
    fn apply_alpha_writes_alpha_channel() {
        let image = RgbaImage::from_pixel(4, 2, Rgba([10, 20, 30, 255]));
        let alpha = GrayImage::from_fn(4, 2, |x, _| Luma([x as u8 * 50]));
        let output = apply_alpha(&image, &alpha);
        assert_eq!(output.get_pixel(3, 1).0, [10, 20, 30, 150]);
        // a half-size matte is stretched
        let small = GrayImage::from_fn(2, 1, |x, _| Luma([x as u8 * 100]));
        let output = apply_alpha(&image, &small);
        assert_eq!(output.get_pixel(1, 0).0[3], 0);
        assert_eq!(output.get_pixel(2, 1).0[3], 100);
        assert_eq!(apply_alpha(&image, &GrayImage::new(0, 0)), image);
    }

    #[test]
    fn matting_handles_degenerate_inputs() {
        let empty = RgbaImage::new(0, 0);
        assert_eq!(alpha_matte(&empty, None).dimensions(), (0, 0));
        let single = RgbaImage::from_pixel(1, 1, Rgba([200, 10, 10, 255]));
        let alpha = alpha_matte(&single, None);
        assert_eq!(alpha.dimensions(), (1, 1));
        assert_eq!(
            apply_alpha(&single, &alpha).get_pixel(0, 0).0[3],
            alpha.get_pixel(0, 0).0[0]
        );
        assert_eq!(apply_alpha(&empty, &alpha), empty);
    }
}
