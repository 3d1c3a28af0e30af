//! Shared building blocks for the classical visual algorithms: conversions between
//! `RgbaImage` and f32 planes, separable Gaussian blur, unsharp masking, box means through
//! integral images, and the quality metrics (PSNR, mean absolute error) the tests rely on.
//!
//! Everything here works on f32 values in the [0, 255] range (the u8 range) unless a function
//! says otherwise, so that conversions back to u8 are a clamp and a rounding, nothing more.

use image::RgbaImage;
use rayon::prelude::*;

/// Rec. 601 luma weights: the conventional weights for the perceived brightness of sRGB values.
pub const LUMA_WEIGHTS: [f32; 3] = [0.299, 0.587, 0.114];

/// The largest Gaussian kernel radius ever built: beyond this a blur is effectively a flat
/// average anyway, and capping it keeps an absurd sigma from allocating gigabytes.
const MAXIMUM_KERNEL_RADIUS: usize = 512;

/// An image split into four row-major f32 planes (red, green, blue, alpha), values in [0, 255].
#[derive(Debug, Clone, PartialEq)]
pub struct RgbaPlanes {
    pub width: usize,
    pub height: usize,
    /// red, green, blue and alpha, each `width * height` long
    pub channels: [Vec<f32>; 4],
}

/// Rounds (to nearest, ties to even) and saturates an f32 into the u8 range; NaN becomes 0.
///
/// This is on the hot path of every algorithm, so it is branch-free: `max`/`min` (unlike
/// `clamp`) map NaN to a bound, and adding 2^23 to a value in [0, 255] leaves that value,
/// rounded to an integer, in the low mantissa bits. A float-to-int `as` cast would instead be
/// scalarised by the compiler for its saturation and NaN handling, which made the final
/// conversion of the upscaler cost as much as the resampling itself.
#[inline]
#[allow(clippy::manual_clamp)] // deliberate: `clamp` would propagate NaN
pub fn clamp_to_u8(value: f32) -> u8 {
    const MANTISSA_ROUNDING_OFFSET: f32 = 8_388_608.0;
    let clamped = value.max(0.0).min(255.0);
    ((clamped + MANTISSA_ROUNDING_OFFSET).to_bits() & 0xff) as u8
}

/// The raw RGBA bytes of exactly `width * height` pixels. `ImageBuffer::from_raw` accepts
/// containers longer than needed, so code that zips rows must not trust `as_raw().len()`.
pub fn exact_rgba_bytes(image: &RgbaImage) -> &[u8] {
    let byte_count = (image.width() as usize)
        .saturating_mul(image.height() as usize)
        .saturating_mul(4);
    let raw = image.as_raw();
    raw.get(..byte_count).unwrap_or(raw.as_slice())
}

/// Splits an image into four f32 planes.
pub fn rgba_to_planes(image: &RgbaImage) -> RgbaPlanes {
    let width = image.width() as usize;
    let height = image.height() as usize;
    let pixel_count = width.saturating_mul(height);
    let mut channels: [Vec<f32>; 4] = std::array::from_fn(|_| Vec::with_capacity(pixel_count));
    for pixel in exact_rgba_bytes(image).chunks_exact(4) {
        for (channel, value) in channels.iter_mut().zip(pixel) {
            channel.push(f32::from(*value));
        }
    }
    RgbaPlanes {
        width,
        height,
        channels,
    }
}

/// Joins four f32 planes back into an image, rounding and clamping each value. A malformed
/// value (a plane shorter than `width * height`, or dimensions beyond u32) yields an empty
/// image rather than a panic.
pub fn planes_to_rgba(planes: &RgbaPlanes) -> RgbaImage {
    let pixel_count = planes.width.saturating_mul(planes.height);
    let (Ok(width), Ok(height)) = (u32::try_from(planes.width), u32::try_from(planes.height))
    else {
        return RgbaImage::new(0, 0);
    };
    if planes
        .channels
        .iter()
        .any(|channel| channel.len() < pixel_count)
    {
        return RgbaImage::new(0, 0);
    }
    let mut raw = vec![0u8; pixel_count * 4];
    for (pixel_index, pixel) in raw.chunks_exact_mut(4).enumerate() {
        for (value, channel) in pixel.iter_mut().zip(&planes.channels) {
            *value = clamp_to_u8(channel[pixel_index]);
        }
    }
    RgbaImage::from_raw(width, height, raw).unwrap_or_else(|| RgbaImage::new(0, 0))
}

/// The Rec. 601 luma of every pixel, in [0, 255], row-major.
pub fn luma_plane(image: &RgbaImage) -> Vec<f32> {
    exact_rgba_bytes(image)
        .chunks_exact(4)
        .map(|pixel| {
            LUMA_WEIGHTS[0] * f32::from(pixel[0])
                + LUMA_WEIGHTS[1] * f32::from(pixel[1])
                + LUMA_WEIGHTS[2] * f32::from(pixel[2])
        })
        .collect()
}

/// A normalised 1-D Gaussian kernel of odd length `2 * radius + 1`, radius = ceil(3 sigma)
/// (three sigmas hold 99.7% of the mass). A non-positive or non-finite sigma gives the
/// identity kernel `[1.0]`.
pub fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return vec![1.0];
    }
    let radius = ((3.0 * sigma).ceil() as usize).clamp(1, MAXIMUM_KERNEL_RADIUS);
    let two_sigma_squared = 2.0 * sigma * sigma;
    let mut kernel: Vec<f32> = (0..=2 * radius)
        .map(|tap| {
            let offset = tap as f32 - radius as f32;
            (-(offset * offset) / two_sigma_squared).exp()
        })
        .collect();
    let total: f32 = kernel.iter().sum();
    if total > 0.0 {
        for weight in &mut kernel {
            *weight /= total;
        }
    }
    kernel
}

/// Convolves one row of interleaved samples (`channels` values per pixel) with an odd-length
/// kernel, replicating the edge pixels. The row is first copied into `padded_scratch` with
/// `radius` copies of the edge pixels on each side, so the inner loop is a plain
/// multiply-add over contiguous slices that the compiler vectorises (no per-tap clamping).
/// `output` receives `row.len()` values (fewer if it is shorter).
pub fn convolve_row(
    row: &[f32],
    channels: usize,
    kernel: &[f32],
    padded_scratch: &mut Vec<f32>,
    output: &mut [f32],
) {
    if channels == 0 || kernel.is_empty() {
        return;
    }
    let pixel_count = row.len() / channels;
    if pixel_count == 0 {
        return;
    }
    let sample_count = pixel_count * channels;
    let radius = kernel.len() / 2;
    let first_pixel = &row[..channels];
    let last_pixel = &row[(pixel_count - 1) * channels..sample_count];
    padded_scratch.clear();
    for _ in 0..radius {
        padded_scratch.extend_from_slice(first_pixel);
    }
    padded_scratch.extend_from_slice(&row[..sample_count]);
    for _ in 0..radius {
        padded_scratch.extend_from_slice(last_pixel);
    }
    let output_length = sample_count.min(output.len());
    let output = &mut output[..output_length];
    output.fill(0.0);
    for (tap, weight) in kernel.iter().enumerate() {
        let start = tap * channels;
        let Some(source) = padded_scratch.get(start..start + sample_count) else {
            continue;
        };
        for (destination, value) in output.iter_mut().zip(source) {
            *destination += weight * value;
        }
    }
}

/// Separable Gaussian blur of interleaved data (`channels` values per pixel, row-major),
/// edges replicated, rows processed in parallel. Malformed input (length not equal to
/// `width * height * channels`) is returned unchanged.
pub fn gaussian_blur_interleaved(
    data: &[f32],
    width: usize,
    height: usize,
    channels: usize,
    sigma: f32,
) -> Vec<f32> {
    let row_length = width.saturating_mul(channels);
    if row_length == 0 || height == 0 || data.len() != row_length.saturating_mul(height) {
        return data.to_vec();
    }
    let kernel = gaussian_kernel(sigma);
    if kernel.len() == 1 {
        return data.to_vec();
    }
    let radius = kernel.len() / 2;

    let mut horizontal = vec![0.0f32; data.len()];
    horizontal
        .par_chunks_mut(row_length)
        .zip(data.par_chunks(row_length))
        .for_each_init(Vec::new, |padded_scratch, (output_row, input_row)| {
            convolve_row(input_row, channels, &kernel, padded_scratch, output_row);
        });

    // The vertical pass accumulates whole weighted rows, again contiguous multiply-adds.
    let mut blurred = vec![0.0f32; data.len()];
    blurred
        .par_chunks_mut(row_length)
        .enumerate()
        .for_each(|(row_index, output_row)| {
            for (tap, weight) in kernel.iter().enumerate() {
                let source_row = (row_index + tap).saturating_sub(radius).min(height - 1);
                let source = &horizontal[source_row * row_length..(source_row + 1) * row_length];
                for (destination, value) in output_row.iter_mut().zip(source) {
                    *destination += weight * value;
                }
            }
        });
    blurred
}

/// Separable Gaussian blur of one plane.
pub fn gaussian_blur_plane(plane: &[f32], width: usize, height: usize, sigma: f32) -> Vec<f32> {
    gaussian_blur_interleaved(plane, width, height, 1, sigma)
}

/// Unsharp mask of one plane: `value + amount * (value - blurred)`. The result is not clamped
/// (callers clamp when converting back to u8).
pub fn unsharp_mask_plane(
    plane: &[f32],
    width: usize,
    height: usize,
    sigma: f32,
    amount: f32,
) -> Vec<f32> {
    let blurred = gaussian_blur_plane(plane, width, height, sigma);
    plane
        .iter()
        .zip(&blurred)
        .map(|(value, smooth)| value + amount * (value - smooth))
        .collect()
}

/// Unsharp mask of an image's colour channels; alpha is left untouched because sharpening a
/// matte would create halos in the transparency.
pub fn unsharp_mask(image: &RgbaImage, sigma: f32, amount: f32) -> RgbaImage {
    let width = image.width() as usize;
    let height = image.height() as usize;
    if width == 0 || height == 0 || !amount.is_finite() || amount == 0.0 {
        return image.clone();
    }
    let raw = exact_rgba_bytes(image);
    let interleaved: Vec<f32> = raw.iter().map(|value| f32::from(*value)).collect();
    let blurred = gaussian_blur_interleaved(&interleaved, width, height, 4, sigma);
    let mut output = raw.to_vec();
    for ((destination, original), smooth) in output
        .chunks_exact_mut(4)
        .zip(interleaved.chunks_exact(4))
        .zip(blurred.chunks_exact(4))
    {
        for channel in 0..3 {
            destination[channel] =
                clamp_to_u8(original[channel] + amount * (original[channel] - smooth[channel]));
        }
    }
    RgbaImage::from_raw(image.width(), image.height(), output).unwrap_or_else(|| image.clone())
}

/// The mean of every `(2 radius + 1)^2` window of a plane, the window clipped at the borders
/// (dividing by the number of pixels actually inside), computed in O(1) per pixel from an
/// integral image. The integral is f64 because f32 running sums over a large image lose the
/// precision that the differences of four corners need.
pub fn box_mean_plane(plane: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    if width == 0 || height == 0 || plane.len() != width.saturating_mul(height) {
        return plane.to_vec();
    }
    let stride = width + 1;
    let mut integral = vec![0.0f64; stride * (height + 1)];
    for row in 0..height {
        let mut running_row_sum = 0.0f64;
        for column in 0..width {
            running_row_sum += f64::from(plane[row * width + column]);
            integral[(row + 1) * stride + column + 1] =
                integral[row * stride + column + 1] + running_row_sum;
        }
    }
    let mut means = vec![0.0f32; plane.len()];
    means
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(row, output_row)| {
            let top = row.saturating_sub(radius);
            let bottom = row.saturating_add(radius).saturating_add(1).min(height);
            for (column, mean) in output_row.iter_mut().enumerate() {
                let left = column.saturating_sub(radius);
                let right = column.saturating_add(radius).saturating_add(1).min(width);
                let sum = integral[bottom * stride + right]
                    - integral[top * stride + right]
                    - integral[bottom * stride + left]
                    + integral[top * stride + left];
                let count = ((right - left) * (bottom - top)) as f64;
                *mean = (sum / count) as f32;
            }
        });
    means
}

/// Sums the squared and absolute RGB differences of two same-sized images; `None` when the
/// dimensions differ.
fn rgb_difference_totals(first: &RgbaImage, second: &RgbaImage) -> Option<(f64, f64, usize)> {
    if first.dimensions() != second.dimensions() {
        return None;
    }
    let mut squared_total = 0.0f64;
    let mut absolute_total = 0.0f64;
    let mut sample_count = 0usize;
    for (pixel_a, pixel_b) in exact_rgba_bytes(first)
        .chunks_exact(4)
        .zip(exact_rgba_bytes(second).chunks_exact(4))
    {
        for channel in 0..3 {
            let difference = f64::from(pixel_a[channel]) - f64::from(pixel_b[channel]);
            squared_total += difference * difference;
            absolute_total += difference.abs();
        }
        sample_count += 3;
    }
    Some((squared_total, absolute_total, sample_count))
}

/// Peak signal-to-noise ratio in dB over the RGB channels (alpha ignored), peak 255.
/// Identical images (including two empty images) give `f64::INFINITY`; images of different
/// dimensions cannot be compared and give 0.0, the worst possible score.
pub fn psnr(a: &RgbaImage, b: &RgbaImage) -> f64 {
    let Some((squared_total, _, sample_count)) = rgb_difference_totals(a, b) else {
        return 0.0;
    };
    if sample_count == 0 || squared_total == 0.0 {
        return f64::INFINITY;
    }
    let mean_squared_error = squared_total / sample_count as f64;
    10.0 * (255.0f64 * 255.0 / mean_squared_error).log10()
}

/// Mean absolute RGB difference (alpha ignored), in u8 levels. Empty images give 0.0;
/// images of different dimensions give 255.0, the worst possible score.
pub fn mean_absolute_error(a: &RgbaImage, b: &RgbaImage) -> f64 {
    let Some((_, absolute_total, sample_count)) = rgb_difference_totals(a, b) else {
        return 255.0;
    };
    if sample_count == 0 {
        return 0.0;
    }
    absolute_total / sample_count as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn gaussian_kernel_is_normalised_and_symmetric() {
        let kernel = gaussian_kernel(1.5);
        assert_eq!(kernel.len(), 11);
        let total: f32 = kernel.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        for tap in 0..kernel.len() {
            assert!((kernel[tap] - kernel[kernel.len() - 1 - tap]).abs() < 1e-7);
        }
        assert_eq!(gaussian_kernel(0.0), vec![1.0]);
        assert_eq!(gaussian_kernel(f32::NAN), vec![1.0]);
    }

    #[test]
    fn gaussian_blur_keeps_constant_planes_and_smooths_impulses() {
        let constant = vec![42.0f32; 13 * 7];
        let blurred = gaussian_blur_plane(&constant, 13, 7, 2.0);
        assert!(blurred.iter().all(|value| (value - 42.0).abs() < 1e-3));

        let mut impulse = vec![0.0f32; 15 * 15];
        impulse[7 * 15 + 7] = 100.0;
        let blurred = gaussian_blur_plane(&impulse, 15, 15, 1.0);
        let total: f32 = blurred.iter().sum();
        assert!((total - 100.0).abs() < 1e-2);
        assert!(blurred[7 * 15 + 7] < 20.0);
        assert!(blurred[7 * 15 + 8] > 5.0);
    }

    #[test]
    fn box_mean_matches_direct_average() {
        let width = 9;
        let height = 6;
        let plane: Vec<f32> = (0..width * height)
            .map(|index| (index * 7 % 11) as f32)
            .collect();
        let means = box_mean_plane(&plane, width, height, 2);
        let (row, column) = (0usize, 4usize);
        let mut sum = 0.0;
        let mut count = 0.0;
        for y in 0..=2 {
            for x in 2..=6 {
                sum += plane[y * width + x];
                count += 1.0;
            }
        }
        assert!((means[row * width + column] - sum / count).abs() < 1e-4);
    }

    #[test]
    fn clamp_to_u8_rounds_and_saturates() {
        assert_eq!(clamp_to_u8(-3.0), 0);
        assert_eq!(clamp_to_u8(0.4), 0);
        assert_eq!(clamp_to_u8(0.6), 1);
        assert_eq!(clamp_to_u8(127.49), 127);
        assert_eq!(clamp_to_u8(254.7), 255);
        assert_eq!(clamp_to_u8(1000.0), 255);
        assert_eq!(clamp_to_u8(f32::NAN), 0);
        assert_eq!(clamp_to_u8(f32::INFINITY), 255);
        assert_eq!(clamp_to_u8(f32::NEG_INFINITY), 0);
        for value in 0..=255u8 {
            assert_eq!(clamp_to_u8(f32::from(value)), value);
        }
    }

    #[test]
    fn planes_round_trip_and_metrics_behave() {
        let image = RgbaImage::from_fn(5, 4, |x, y| Rgba([x as u8 * 10, y as u8 * 20, 7, 200]));
        let planes = rgba_to_planes(&image);
        assert_eq!(planes_to_rgba(&planes), image);
        assert_eq!(psnr(&image, &image), f64::INFINITY);
        assert_eq!(mean_absolute_error(&image, &image), 0.0);

        let mut shifted = image.clone();
        for pixel in shifted.pixels_mut() {
            pixel.0[0] = pixel.0[0].saturating_add(3);
        }
        // one channel in three off by 3: MSE = 3, PSNR = 10 log10(65025 / 3)
        let expected = 10.0 * (65025.0f64 / 3.0).log10();
        assert!((psnr(&image, &shifted) - expected).abs() < 1e-9);
        assert!((mean_absolute_error(&image, &shifted) - 1.0).abs() < 1e-9);
        assert_eq!(psnr(&image, &RgbaImage::new(1, 1)), 0.0);
    }

    #[test]
    fn empty_images_do_not_panic() {
        let empty = RgbaImage::new(0, 0);
        assert_eq!(unsharp_mask(&empty, 1.0, 0.5).dimensions(), (0, 0));
        assert!(luma_plane(&empty).is_empty());
        assert_eq!(psnr(&empty, &empty), f64::INFINITY);
        assert!(gaussian_blur_plane(&[], 0, 0, 1.0).is_empty());
        assert!(box_mean_plane(&[], 0, 0, 3).is_empty());
        let single = RgbaImage::from_pixel(1, 1, Rgba([9, 8, 7, 6]));
        assert_eq!(unsharp_mask(&single, 1.0, 0.5), single);
    }
}
