//! "Face restoration" without a model: an edge-preserving bilateral denoise followed by an
//! unsharp mask, both scaled by a strength in [0, 1].
//!
//! The bilateral filter averages each pixel with neighbours that are both near (spatial
//! Gaussian) and similar in colour (range Gaussian), so noise in skin and backgrounds is
//! smoothed while eyes, lips and hair edges, whose colours differ strongly, are kept. Both
//! weight functions are precomputed as tables so the inner loop is a few loads and
//! multiply-adds; rows run in parallel.

use super::filters::{clamp_to_u8, exact_rgba_bytes, unsharp_mask};
use image::RgbaImage;
use rayon::prelude::*;

/// The window radius can never exceed this, whatever the caller asks: the cost grows with
/// the square of the radius.
const MAXIMUM_BILATERAL_RADIUS: u32 = 16;

/// The range distance is the sum of the absolute RGB differences, 0..=765.
const RANGE_TABLE_LENGTH: usize = 3 * 255 + 1;

/// Sharpening blur scale, in pixels.
const SHARPEN_SIGMA: f32 = 1.0;

/// Bilateral filter of the colour channels (alpha unchanged). The colour distance between two
/// pixels is the mean absolute RGB difference (L1 distance / 3), a cheap stand-in for the
/// Euclidean one that allows a 766-entry weight table; `sigma_range` is on that u8 scale.
/// Neighbours outside the image are skipped and the weights renormalised.
pub fn bilateral_filter(
    image: &RgbaImage,
    radius: u32,
    sigma_spatial: f32,
    sigma_range: f32,
) -> RgbaImage {
    let width = image.width() as usize;
    let height = image.height() as usize;
    let radius = radius.min(MAXIMUM_BILATERAL_RADIUS) as usize;
    let valid_sigmas = sigma_spatial.is_finite()
        && sigma_spatial > 0.0
        && sigma_range.is_finite()
        && sigma_range > 0.0;
    if width == 0 || height == 0 || radius == 0 || !valid_sigmas {
        return image.clone();
    }

    let window = 2 * radius + 1;
    let spatial_weights: Vec<f32> = (0..window * window)
        .map(|tap| {
            let dx = (tap % window) as f32 - radius as f32;
            let dy = (tap / window) as f32 - radius as f32;
            (-(dx * dx + dy * dy) / (2.0 * sigma_spatial * sigma_spatial)).exp()
        })
        .collect();
    let range_weights: Vec<f32> = (0..RANGE_TABLE_LENGTH)
        .map(|l1_distance| {
            let mean_difference = l1_distance as f32 / 3.0;
            (-(mean_difference * mean_difference) / (2.0 * sigma_range * sigma_range)).exp()
        })
        .collect();

    let raw = exact_rgba_bytes(image);
    let row_length = width * 4;
    let mut output = raw.to_vec();
    output
        .par_chunks_mut(row_length)
        .enumerate()
        .for_each(|(row, output_row)| {
            let top = row.saturating_sub(radius);
            let bottom = (row + radius + 1).min(height);
            for (column, output_pixel) in output_row.chunks_exact_mut(4).enumerate() {
                let left = column.saturating_sub(radius);
                let right = (column + radius + 1).min(width);
                let centre_start = (row * width + column) * 4;
                let centre = &raw[centre_start..centre_start + 4];
                let mut sums = [0.0f32; 3];
                let mut weight_total = 0.0f32;
                for neighbour_row in top..bottom {
                    let spatial_row_start = (neighbour_row + radius - row) * window;
                    let neighbours = &raw
                        [(neighbour_row * width + left) * 4..(neighbour_row * width + right) * 4];
                    for (offset, neighbour) in neighbours.chunks_exact(4).enumerate() {
                        let neighbour_column = left + offset;
                        let l1_distance = centre[0].abs_diff(neighbour[0]) as usize
                            + centre[1].abs_diff(neighbour[1]) as usize
                            + centre[2].abs_diff(neighbour[2]) as usize;
                        let weight = spatial_weights
                            [spatial_row_start + neighbour_column + radius - column]
                            * range_weights[l1_distance];
                        sums[0] += weight * f32::from(neighbour[0]);
                        sums[1] += weight * f32::from(neighbour[1]);
                        sums[2] += weight * f32::from(neighbour[2]);
                        weight_total += weight;
                    }
                }
                // the centre pixel always contributes weight 1, so the total is positive
                for channel in 0..3 {
                    output_pixel[channel] = clamp_to_u8(sums[channel] / weight_total);
                }
            }
        });
    RgbaImage::from_raw(image.width(), image.height(), output).unwrap_or_else(|| image.clone())
}

/// Denoises (bilateral) then sharpens (unsharp mask). `strength` is clamped into [0, 1]
/// (NaN counts as 0); 0 returns the image unchanged. It scales the window radius (3 to 5),
/// the range sigma (how different a colour may be and still be averaged) and the sharpening
/// amount.
pub fn restore(image: &RgbaImage, strength: f32) -> RgbaImage {
    let strength = if strength.is_nan() {
        0.0
    } else {
        strength.clamp(0.0, 1.0)
    };
    if strength == 0.0 || image.width() == 0 || image.height() == 0 {
        return image.clone();
    }
    let radius = 3 + (2.0 * strength).round() as u32;
    let sigma_spatial = radius as f32 / 1.5;
    let sigma_range = 6.0 + 24.0 * strength;
    let denoised = bilateral_filter(image, radius, sigma_spatial, sigma_range);
    unsharp_mask(&denoised, SHARPEN_SIGMA, 0.5 * strength)
}

#[cfg(test)]
mod tests {
    use super::super::filters::mean_absolute_error;
    use super::*;
    use image::Rgba;

    /// A smooth gradient with a bright rectangle (hard edges) in the middle.
    fn clean_image() -> RgbaImage {
        RgbaImage::from_fn(128, 128, |x, y| {
            if (40..88).contains(&x) && (48..80).contains(&y) {
                Rgba([230, 200, 180, 255])
            } else {
                Rgba([
                    (60 + x / 2) as u8,
                    (70 + y / 3) as u8,
                    (90 + (x + y) / 4) as u8,
                    255,
                ])
            }
        })
    }

    /// Adds Gaussian noise (Box–Muller over a 64-bit LCG) of the given standard deviation.
    fn add_gaussian_noise(image: &RgbaImage, standard_deviation: f32) -> RgbaImage {
        let mut state = 12345u64;
        let mut next_unit = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((state >> 40) as f32) + 0.5) / (1u64 << 24) as f32
        };
        let mut noisy = image.clone();
        for pixel in noisy.pixels_mut() {
            for channel in 0..3 {
                let (u1, u2) = (next_unit(), next_unit());
                let gaussian = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos();
                pixel.0[channel] =
                    clamp_to_u8(f32::from(pixel.0[channel]) + standard_deviation * gaussian);
            }
        }
        noisy
    }

    #[test]
    fn restore_reduces_noise_error() {
        let clean = clean_image();
        let noisy = add_gaussian_noise(&clean, 15.0);
        let restored = restore(&noisy, 0.8);
        let noisy_error = mean_absolute_error(&noisy, &clean);
        let restored_error = mean_absolute_error(&restored, &clean);
        assert!(
            restored_error < 0.6 * noisy_error,
            "restored mae {restored_error:.3} vs noisy mae {noisy_error:.3}"
        );
    }

    #[test]
    fn bilateral_preserves_edges_and_flat_regions() {
        let clean = clean_image();
        let filtered = bilateral_filter(&clean, 4, 3.0, 10.0);
        // the rectangle's colours are far beyond the range sigma from the background's: no
        // bleeding across its edge in either direction (the background pixel may move by a
        // level, its window being one-sided along the gradient)
        assert_eq!(filtered.get_pixel(40, 60), clean.get_pixel(40, 60));
        let (outside, original) = (filtered.get_pixel(39, 60).0, clean.get_pixel(39, 60).0);
        for channel in 0..3 {
            assert!(outside[channel].abs_diff(original[channel]) <= 1);
        }
        assert!(mean_absolute_error(&filtered, &clean) < 0.5);
    }

    #[test]
    fn restore_handles_degenerate_inputs() {
        let empty = RgbaImage::new(0, 0);
        assert_eq!(restore(&empty, 0.5), empty);
        let single = RgbaImage::from_pixel(1, 1, Rgba([10, 20, 30, 40]));
        assert_eq!(restore(&single, 1.0), single);
        let clean = clean_image();
        assert_eq!(restore(&clean, 0.0), clean);
        assert_eq!(restore(&clean, f32::NAN), clean);
    }
}
