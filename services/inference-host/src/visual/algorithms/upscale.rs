//! Upscaling by an integer factor: separable Lanczos-3 resampling followed by a mild unsharp
//! mask.
//!
//! The resampler is written by hand (rather than `image::imageops::resize`) because it has to
//! be fast: the weights of every output column and row are computed once into tables, the
//! horizontal pass runs on input rows in parallel, and the vertical pass, the sharpening blur
//! and the conversion back to u8 are fused per strip of output rows so that the full-size f32
//! intermediate images never exist at once (a x4 of a 1024x1024 image would otherwise need
//! several 256 MB buffers).

use super::filters::{clamp_to_u8, exact_rgba_bytes};
use image::RgbaImage;
use rayon::prelude::*;

/// Lanczos-3: the windowed sinc with three lobes each side, the usual quality/speed trade-off
/// for photographic upscaling.
const LANCZOS_LOBES: f32 = 3.0;

/// When upscaling, the kernel support in input pixels is `2 * lobes`, so six taps per output.
const TAPS_PER_OUTPUT: usize = 6;

/// Interleaved RGBA.
const CHANNELS: usize = 4;

/// The sharpening is deliberately mild: Lanczos already restores some contrast, and a strong
/// unsharp mask would amplify its ringing.
/// The blur kernel has a fixed size (radius = 3 sigma) so the taps can be unrolled.
const SHARPEN_SIGMA: f32 = 1.0;
const SHARPEN_RADIUS: usize = 3;
const SHARPEN_TAPS: usize = 2 * SHARPEN_RADIUS + 1;
const SHARPEN_AMOUNT: f32 = 0.35;

/// Colour channels are sharpened; alpha is only resampled (a sharpened matte would halo).
const CHANNEL_SHARPEN_AMOUNTS: [f32; CHANNELS] =
    [SHARPEN_AMOUNT, SHARPEN_AMOUNT, SHARPEN_AMOUNT, 0.0];

/// Outputs above this many pixels (1 GiB of RGBA) are refused: the input is returned
/// unchanged rather than letting an absurd factor abort the process on allocation.
const MAXIMUM_OUTPUT_PIXELS: usize = 1 << 28;

/// Output rows handled by one parallel task. Each strip recomputes `radius` halo rows above
/// and below for the sharpening blur, so strips should be much taller than the blur radius.
const STRIP_ROWS: usize = 64;

/// For each output position, the six source indices (already clamped to the image, which
/// replicates the edge pixels) and their normalised weights.
struct ResampleTable {
    source_indices: Vec<[usize; TAPS_PER_OUTPUT]>,
    weights: Vec<[f32; TAPS_PER_OUTPUT]>,
}

fn lanczos3(distance: f32) -> f32 {
    let distance = distance.abs();
    if distance < 1.0e-6 {
        return 1.0;
    }
    if distance >= LANCZOS_LOBES {
        return 0.0;
    }
    let scaled = std::f32::consts::PI * distance;
    LANCZOS_LOBES * scaled.sin() * (scaled / LANCZOS_LOBES).sin() / (scaled * scaled)
}

/// The normalised Gaussian taps of the sharpening blur.
fn sharpen_kernel() -> [f32; SHARPEN_TAPS] {
    let mut kernel: [f32; SHARPEN_TAPS] = std::array::from_fn(|tap| {
        let offset = tap as f32 - SHARPEN_RADIUS as f32;
        (-(offset * offset) / (2.0 * SHARPEN_SIGMA * SHARPEN_SIGMA)).exp()
    });
    let total: f32 = kernel.iter().sum();
    for weight in &mut kernel {
        *weight /= total;
    }
    kernel
}

/// `output[i] = sum over taps of weights[tap] * sources[tap][i]`, in one pass. The tap count
/// is a compile-time constant, so the tap loop unrolls and the loop over `i` vectorises;
/// accumulating tap by tap instead would read and write the whole output row once per tap.
fn weighted_sum_of_rows<const TAPS: usize>(
    sources: &[&[f32]; TAPS],
    weights: &[f32; TAPS],
    output: &mut [f32],
) {
    let length = sources
        .iter()
        .map(|source| source.len())
        .fold(output.len(), usize::min);
    let sources: [&[f32]; TAPS] = std::array::from_fn(|tap| &sources[tap][..length]);
    for (index, destination) in output[..length].iter_mut().enumerate() {
        let mut sum = 0.0f32;
        for tap in 0..TAPS {
            sum += weights[tap] * sources[tap][index];
        }
        *destination = sum;
    }
}

/// Per-task buffers of the strip stage, reused from one strip to the next.
#[derive(Default)]
struct StripScratch {
    resampled: Vec<f32>,
    horizontally_blurred: Vec<f32>,
    vertically_blurred: Vec<f32>,
    padded_row: Vec<f32>,
}

/// Builds the weight table for one axis. Output pixel `o` has its centre at input coordinate
/// `(o + 0.5) / factor - 0.5` (pixel centres aligned, so the image does not drift by half a
/// pixel); the six input pixels around that point get Lanczos weights, renormalised to sum
/// to one so flat regions stay exactly flat.
fn build_resample_table(input_length: usize, output_length: usize, factor: u32) -> ResampleTable {
    let last_index = input_length.saturating_sub(1) as i64;
    let mut source_indices = Vec::with_capacity(output_length);
    let mut weights = Vec::with_capacity(output_length);
    for output_position in 0..output_length {
        let centre = (output_position as f64 + 0.5) / f64::from(factor) - 0.5;
        let first_tap = centre.floor() as i64 - (TAPS_PER_OUTPUT as i64 / 2 - 1);
        let mut tap_indices = [0usize; TAPS_PER_OUTPUT];
        let mut tap_weights = [0.0f32; TAPS_PER_OUTPUT];
        let mut total = 0.0f32;
        for tap in 0..TAPS_PER_OUTPUT {
            let source = first_tap + tap as i64;
            let weight = lanczos3((centre - source as f64) as f32);
            tap_indices[tap] = source.clamp(0, last_index) as usize;
            tap_weights[tap] = weight;
            total += weight;
        }
        if total.abs() > 1.0e-6 {
            for weight in &mut tap_weights {
                *weight /= total;
            }
        }
        source_indices.push(tap_indices);
        weights.push(tap_weights);
    }
    ResampleTable {
        source_indices,
        weights,
    }
}

/// Upscales by an integer `factor` (2 and 4 are the expected values; any factor >= 1 works,
/// 0 is treated as 1) with Lanczos-3 resampling and a mild unsharp mask on the colour
/// channels (alpha is resampled but not sharpened). An empty image gives an empty (scaled)
/// image; a factor whose output would overflow u32 dimensions or exceed
/// `MAXIMUM_OUTPUT_PIXELS` returns the input unchanged.
pub fn upscale(image: &RgbaImage, factor: u32) -> RgbaImage {
    let factor = factor.max(1);
    let (input_width_u32, input_height_u32) = image.dimensions();
    let (Some(output_width_u32), Some(output_height_u32)) = (
        input_width_u32.checked_mul(factor),
        input_height_u32.checked_mul(factor),
    ) else {
        return image.clone();
    };
    if input_width_u32 == 0 || input_height_u32 == 0 {
        return RgbaImage::new(output_width_u32, output_height_u32);
    }
    let input_width = input_width_u32 as usize;
    let input_height = input_height_u32 as usize;
    let output_width = output_width_u32 as usize;
    let output_height = output_height_u32 as usize;
    let Some(output_pixel_count) = output_width
        .checked_mul(output_height)
        .filter(|pixels| *pixels <= MAXIMUM_OUTPUT_PIXELS)
    else {
        return image.clone();
    };
    let output_byte_count = output_pixel_count * CHANNELS;

    let horizontal_table = build_resample_table(input_width, output_width, factor);
    let vertical_table = build_resample_table(input_height, output_height, factor);
    let input_row_length = input_width * CHANNELS;
    let output_row_length = output_width * CHANNELS;

    // Horizontal pass: every input row becomes a row of output width (f32, interleaved).
    let mut horizontal = vec![0.0f32; input_height * output_row_length];
    horizontal
        .par_chunks_mut(output_row_length)
        .zip(exact_rgba_bytes(image).par_chunks(input_row_length))
        .for_each_init(
            || Vec::with_capacity(input_row_length),
            |input_row_f32: &mut Vec<f32>, (output_row, input_row)| {
                input_row_f32.clear();
                input_row_f32.extend(input_row.iter().map(|value| f32::from(*value)));
                for ((output_pixel, tap_indices), tap_weights) in output_row
                    .chunks_exact_mut(CHANNELS)
                    .zip(&horizontal_table.source_indices)
                    .zip(&horizontal_table.weights)
                {
                    let mut accumulator = [0.0f32; CHANNELS];
                    for (source_index, weight) in tap_indices.iter().zip(tap_weights) {
                        let start = source_index * CHANNELS;
                        let Some(source) = input_row_f32.get(start..start + CHANNELS) else {
                            continue;
                        };
                        for (sum, value) in accumulator.iter_mut().zip(source) {
                            *sum += weight * value;
                        }
                    }
                    output_pixel.copy_from_slice(&accumulator);
                }
            },
        );

    // Vertical pass, sharpening and u8 conversion, fused per strip of output rows.
    let sharpen_kernel = sharpen_kernel();
    let mut output = vec![0u8; output_byte_count];
    output
        .par_chunks_mut(STRIP_ROWS * output_row_length)
        .enumerate()
        .for_each_init(
            StripScratch::default,
            |scratch, (strip_index, output_strip)| {
                let strip_first_row = strip_index * STRIP_ROWS;
                let strip_row_count = output_strip.len() / output_row_length;
                let halo_first_row = strip_first_row.saturating_sub(SHARPEN_RADIUS);
                let halo_end_row =
                    (strip_first_row + strip_row_count + SHARPEN_RADIUS).min(output_height);
                let halo_sample_count = (halo_end_row - halo_first_row) * output_row_length;
                // every value is overwritten below, so resizing (which only zeroes growth) is
                // enough and the buffers are reused across strips
                scratch.resampled.resize(halo_sample_count, 0.0);
                scratch.horizontally_blurred.resize(halo_sample_count, 0.0);
                scratch.vertically_blurred.resize(output_row_length, 0.0);
                let StripScratch {
                    resampled,
                    horizontally_blurred,
                    vertically_blurred,
                    padded_row,
                } = scratch;

                // The upscaled (not yet sharpened) rows of this strip plus its halo.
                for (offset, resampled_row) in resampled[..halo_sample_count]
                    .chunks_exact_mut(output_row_length)
                    .enumerate()
                {
                    let output_row = halo_first_row + offset;
                    let tap_indices = &vertical_table.source_indices[output_row];
                    let sources: [&[f32]; TAPS_PER_OUTPUT] = std::array::from_fn(|tap| {
                        let start = tap_indices[tap] * output_row_length;
                        &horizontal[start..start + output_row_length]
                    });
                    weighted_sum_of_rows(
                        &sources,
                        &vertical_table.weights[output_row],
                        resampled_row,
                    );
                }

                // Horizontal half of the sharpening blur, on a copy of each row with the edge
                // pixels replicated so that every tap is a plain shifted slice.
                for (source_row, blurred_row) in resampled[..halo_sample_count]
                    .chunks_exact(output_row_length)
                    .zip(
                        horizontally_blurred[..halo_sample_count]
                            .chunks_exact_mut(output_row_length),
                    )
                {
                    padded_row.clear();
                    for _ in 0..SHARPEN_RADIUS {
                        padded_row.extend_from_slice(&source_row[..CHANNELS]);
                    }
                    padded_row.extend_from_slice(source_row);
                    for _ in 0..SHARPEN_RADIUS {
                        padded_row.extend_from_slice(&source_row[output_row_length - CHANNELS..]);
                    }
                    let shifted: [&[f32]; SHARPEN_TAPS] = std::array::from_fn(|tap| {
                        &padded_row[tap * CHANNELS..tap * CHANNELS + output_row_length]
                    });
                    weighted_sum_of_rows(&shifted, &sharpen_kernel, blurred_row);
                }

                // Vertical half of the blur, then value + amount * (value - blurred).
                for (row_offset, output_row_bytes) in
                    output_strip.chunks_exact_mut(output_row_length).enumerate()
                {
                    let output_row = strip_first_row + row_offset;
                    let sources: [&[f32]; SHARPEN_TAPS] = std::array::from_fn(|tap| {
                        let source_row = (output_row + tap)
                            .saturating_sub(SHARPEN_RADIUS)
                            .min(output_height - 1)
                            - halo_first_row;
                        let start = source_row * output_row_length;
                        &horizontally_blurred[start..start + output_row_length]
                    });
                    weighted_sum_of_rows(&sources, &sharpen_kernel, vertically_blurred);
                    let start = (output_row - halo_first_row) * output_row_length;
                    let upscaled_row = &resampled[start..start + output_row_length];
                    // The sharpened values overwrite the blurred row, then a flat conversion loop:
                    // a per-channel amount array (instead of a branch for alpha) and two simple
                    // loops (instead of one over pixel chunks) are what let both vectorise.
                    for (blurred_pixel, upscaled_pixel) in vertically_blurred
                        .chunks_exact_mut(CHANNELS)
                        .zip(upscaled_row.chunks_exact(CHANNELS))
                    {
                        for channel in 0..CHANNELS {
                            let value = upscaled_pixel[channel];
                            blurred_pixel[channel] = value
                                + CHANNEL_SHARPEN_AMOUNTS[channel]
                                    * (value - blurred_pixel[channel]);
                        }
                    }
                    for (output_byte, value) in
                        output_row_bytes.iter_mut().zip(vertically_blurred.iter())
                    {
                        *output_byte = clamp_to_u8(*value);
                    }
                }
            },
        );

    RgbaImage::from_raw(output_width_u32, output_height_u32, output)
        .unwrap_or_else(|| image.clone())
}

#[cfg(test)]
mod tests {
    use super::super::filters::psnr;
    use super::*;
    use image::Rgba;

    /// Smooth but detailed: several sinusoids of different frequencies per channel, none
    /// above a quarter of the sampling rate so that a 2x box downscale keeps most detail.
    fn smooth_detailed_image(width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_fn(width, height, |x, y| {
            let (x, y) = (x as f32, y as f32);
            let red =
                128.0 + 60.0 * (x * 0.21).sin() * (y * 0.13).cos() + 30.0 * ((x + y) * 0.09).sin();
            let green = 120.0 + 70.0 * (x * 0.11 + y * 0.17).sin() + 25.0 * (y * 0.31).cos();
            let blue = 110.0 + 50.0 * (x * 0.27).cos() + 50.0 * ((x - y) * 0.12).sin();
            Rgba([clamp_to_u8(red), clamp_to_u8(green), clamp_to_u8(blue), 255])
        })
    }

    fn box_downscale_by_two(image: &RgbaImage) -> RgbaImage {
        RgbaImage::from_fn(image.width() / 2, image.height() / 2, |x, y| {
            let mut sums = [0u32; 4];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let pixel = image.get_pixel(2 * x + dx, 2 * y + dy);
                for (sum, value) in sums.iter_mut().zip(pixel.0) {
                    *sum += u32::from(value);
                }
            }
            Rgba(sums.map(|sum| ((sum + 2) / 4) as u8))
        })
    }

    fn nearest_neighbour_upscale(image: &RgbaImage, factor: u32) -> RgbaImage {
        RgbaImage::from_fn(image.width() * factor, image.height() * factor, |x, y| {
            *image.get_pixel(x / factor, y / factor)
        })
    }

    #[test]
    fn lanczos_upscale_beats_nearest_neighbour_psnr() {
        let original = smooth_detailed_image(128, 128);
        let small = box_downscale_by_two(&original);
        let lanczos = upscale(&small, 2);
        let nearest = nearest_neighbour_upscale(&small, 2);
        assert_eq!(lanczos.dimensions(), original.dimensions());
        let lanczos_psnr = psnr(&original, &lanczos);
        let nearest_psnr = psnr(&original, &nearest);
        assert!(
            lanczos_psnr > nearest_psnr + 3.0,
            "lanczos {lanczos_psnr:.2} dB vs nearest {nearest_psnr:.2} dB"
        );
    }

    #[test]
    fn upscale_output_dimensions_and_flat_regions() {
        let flat = RgbaImage::from_pixel(7, 5, Rgba([90, 140, 200, 128]));
        let upscaled = upscale(&flat, 4);
        assert_eq!(upscaled.dimensions(), (28, 20));
        // normalised weights keep a flat image exactly flat, and flat has nothing to sharpen
        assert!(
            upscaled
                .pixels()
                .all(|pixel| pixel.0 == [90, 140, 200, 128])
        );
        assert_eq!(upscale(&flat, 1), flat);
        assert_eq!(upscale(&flat, 0), flat);
    }

    #[test]
    fn upscale_handles_empty_and_single_pixel_images() {
        assert_eq!(upscale(&RgbaImage::new(0, 0), 2).dimensions(), (0, 0));
        assert_eq!(upscale(&RgbaImage::new(0, 3), 2).dimensions(), (0, 6));
        let single = RgbaImage::from_pixel(1, 1, Rgba([1, 2, 3, 4]));
        let upscaled = upscale(&single, 2);
        assert_eq!(upscaled.dimensions(), (2, 2));
        assert!(upscaled.pixels().all(|pixel| pixel.0 == [1, 2, 3, 4]));
        // a factor whose output cannot be addressed or would be absurdly large returns the
        // input instead of panicking or aborting on allocation
        let two_by_two = RgbaImage::from_pixel(2, 2, Rgba([5, 6, 7, 8]));
        assert_eq!(upscale(&two_by_two, u32::MAX), two_by_two);
        assert_eq!(upscale(&single, 1 << 20), single);
    }
}
