//! Motion-compensated frame interpolation.
//!
//! 1. Motion estimation by block matching on luma. The matching is *bilateral* (symmetric
//!    around the frame being synthesised): for a block at position B of the output frame and
//!    a candidate motion v, the block of the first frame at `B - t v` is compared with the
//!    block of the second frame at `B + (1 - t) v`. The vectors therefore live on the output
//!    frame's grid, which is exactly where the warping step needs them (vectors estimated on
//!    the first frame's grid would leave holes and double images at moving edges).
//!    The search is coarse-to-fine: a full search over +-16 px at half resolution, then a
//!    +-2 px refinement at full resolution (about ten times cheaper than a full-resolution
//!    full search, which matters for HD frames).
//! 2. The vector field is smoothed by a component-wise median over each block's 3x3
//!    neighbourhood, keeping a block's own vector only when it matches clearly better.
//! 3. Bidirectional warping: output(p) = (1 - t) first(p - t v) + t second(p + (1 - t) v),
//!    bilinear sampling, falling back smoothly to a plain cross-fade where even the best
//!    match is poor (occlusions, lighting changes, motion beyond the search range).

use super::filters::{LUMA_WEIGHTS, clamp_to_u8, exact_rgba_bytes};
use image::RgbaImage;
use rayon::prelude::*;

/// Block edge length at full resolution.
const BLOCK_SIZE: usize = 8;

/// Largest motion searched, in pixels, per axis.
const SEARCH_RANGE: i32 = 16;

/// Refinement window at full resolution around the doubled coarse vector.
const REFINEMENT_RANGE: i32 = 2;

/// A small cost per pixel of the block and per pixel of vector length (L1), so that in flat
/// regions, where every candidate matches equally well, the zero vector wins instead of an
/// arbitrary one.
const MOTION_PENALTY_PER_PIXEL: f32 = 0.05;

/// A block's own vector survives the median smoothing only when its error is below this
/// fraction of the median vector's error.
const KEEP_OWN_VECTOR_ERROR_RATIO: f32 = 0.8;

/// Mean absolute luma error per pixel of a block's match: below the low bound the motion
/// compensated result is used as is, above the high bound a plain cross-fade is used, and in
/// between the two are mixed linearly.
const FALLBACK_ERROR_LOW: f32 = 10.0;
const FALLBACK_ERROR_HIGH: f32 = 30.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MotionVector {
    x: i32,
    y: i32,
}

impl MotionVector {
    const ZERO: Self = Self { x: 0, y: 0 };

    fn length_l1(self) -> i32 {
        self.x.abs() + self.y.abs()
    }
}

/// A luma plane, row-major, values in [0, 255].
struct LumaPlane {
    width: usize,
    height: usize,
    values: Vec<f32>,
}

impl LumaPlane {
    fn from_rgba(image: &RgbaImage) -> Self {
        let values = exact_rgba_bytes(image)
            .chunks_exact(4)
            .map(|pixel| {
                LUMA_WEIGHTS[0] * f32::from(pixel[0])
                    + LUMA_WEIGHTS[1] * f32::from(pixel[1])
                    + LUMA_WEIGHTS[2] * f32::from(pixel[2])
            })
            .collect();
        Self {
            width: image.width() as usize,
            height: image.height() as usize,
            values,
        }
    }

    /// Half resolution by 2x2 averaging (odd edges average what exists).
    fn downsample_by_two(&self) -> Self {
        let width = self.width.div_ceil(2);
        let height = self.height.div_ceil(2);
        let mut values = Vec::with_capacity(width * height);
        for row in 0..height {
            for column in 0..width {
                let mut sum = 0.0;
                let mut count = 0.0;
                for source_row in (2 * row)..(2 * row + 2).min(self.height) {
                    for source_column in (2 * column)..(2 * column + 2).min(self.width) {
                        sum += self.values[source_row * self.width + source_column];
                        count += 1.0;
                    }
                }
                values.push(sum / count);
            }
        }
        Self {
            width,
            height,
            values,
        }
    }

    fn clamped(&self, x: i64, y: i64) -> f32 {
        let x = x.clamp(0, self.width as i64 - 1) as usize;
        let y = y.clamp(0, self.height as i64 - 1) as usize;
        self.values[y * self.width + x]
    }
}

/// Splits a vector into the displacement towards the first frame and towards the second for
/// integer block matching: `backward = round(t v)`, `forward = v - backward`.
fn split_vector(component: i32, t: f32) -> (i32, i32) {
    let backward = (t * component as f32).round() as i32;
    (backward, component - backward)
}

/// A block's pixel rectangle, half-open.
#[derive(Debug, Clone, Copy)]
struct BlockBounds {
    left: usize,
    top: usize,
    right: usize,
    bottom: usize,
}

impl BlockBounds {
    fn pixel_count(self) -> usize {
        (self.right - self.left) * (self.bottom - self.top)
    }
}

/// Sum of absolute luma differences between the first frame's block displaced by
/// `-round(t v)` and the second frame's block displaced by `v - round(t v)`. Coordinates are
/// clamped at the image edges; the unclamped fast path covers almost every block.
fn bilateral_sad(
    first: &LumaPlane,
    second: &LumaPlane,
    bounds: BlockBounds,
    vector: MotionVector,
    t: f32,
) -> f32 {
    let (backward_x, forward_x) = split_vector(vector.x, t);
    let (backward_y, forward_y) = split_vector(vector.y, t);
    let width = first.width as i64;
    let height = first.height as i64;
    let within = |start: usize, end: usize, offset: i32, length: i64| {
        start as i64 + i64::from(offset) >= 0 && end as i64 - 1 + i64::from(offset) < length
    };
    let unclamped = within(bounds.left, bounds.right, -backward_x, width)
        && within(bounds.left, bounds.right, forward_x, width)
        && within(bounds.top, bounds.bottom, -backward_y, height)
        && within(bounds.top, bounds.bottom, forward_y, height);
    let mut total = 0.0f32;
    if unclamped {
        let block_width = bounds.right - bounds.left;
        for row in bounds.top..bounds.bottom {
            let first_start = (row as i64 - i64::from(backward_y)) as usize * first.width
                + (bounds.left as i64 - i64::from(backward_x)) as usize;
            let second_start = (row as i64 + i64::from(forward_y)) as usize * second.width
                + (bounds.left as i64 + i64::from(forward_x)) as usize;
            let first_row = &first.values[first_start..first_start + block_width];
            let second_row = &second.values[second_start..second_start + block_width];
            for (a, b) in first_row.iter().zip(second_row) {
                total += (a - b).abs();
            }
        }
    } else {
        for row in bounds.top..bounds.bottom {
            for column in bounds.left..bounds.right {
                let a = first.clamped(
                    column as i64 - i64::from(backward_x),
                    row as i64 - i64::from(backward_y),
                );
                let b = second.clamped(
                    column as i64 + i64::from(forward_x),
                    row as i64 + i64::from(forward_y),
                );
                total += (a - b).abs();
            }
        }
    }
    total
}

/// Full search of a square window of vectors around `centre`, vectors limited to
/// `+-maximum_component`; returns the vector with the lowest penalised cost and its raw SAD.
fn search_block(
    first: &LumaPlane,
    second: &LumaPlane,
    bounds: BlockBounds,
    t: f32,
    centre: MotionVector,
    range: i32,
    maximum_component: i32,
) -> (MotionVector, f32) {
    let penalty_per_unit = MOTION_PENALTY_PER_PIXEL * bounds.pixel_count() as f32;
    let zero_sad = bilateral_sad(first, second, bounds, MotionVector::ZERO, t);
    let mut best = (MotionVector::ZERO, zero_sad, zero_sad);
    for offset_y in -range..=range {
        for offset_x in -range..=range {
            let candidate = MotionVector {
                x: (centre.x + offset_x).clamp(-maximum_component, maximum_component),
                y: (centre.y + offset_y).clamp(-maximum_component, maximum_component),
            };
            if candidate == MotionVector::ZERO {
                continue;
            }
            let sad = bilateral_sad(first, second, bounds, candidate, t);
            let cost = sad + penalty_per_unit * candidate.length_l1() as f32;
            if cost < best.2 {
                best = (candidate, sad, cost);
            }
        }
    }
    (best.0, best.1)
}

/// One vector and its match error per block of the output frame.
struct MotionField {
    blocks_across: usize,
    blocks_down: usize,
    vectors: Vec<MotionVector>,
    /// mean absolute luma error per pixel of each block's chosen vector
    mean_errors: Vec<f32>,
}

fn block_bounds(
    block_column: usize,
    block_row: usize,
    block_size: usize,
    width: usize,
    height: usize,
) -> BlockBounds {
    let left = (block_column * block_size).min(width.saturating_sub(1));
    let top = (block_row * block_size).min(height.saturating_sub(1));
    BlockBounds {
        left,
        top,
        right: (left + block_size).min(width),
        bottom: (top + block_size).min(height),
    }
}

fn estimate_motion(first: &LumaPlane, second: &LumaPlane, t: f32) -> MotionField {
    let width = first.width;
    let height = first.height;
    let blocks_across = width.div_ceil(BLOCK_SIZE);
    let blocks_down = height.div_ceil(BLOCK_SIZE);
    let block_count = blocks_across * blocks_down;
    // the pyramid only pays off (and only has enough pixels per coarse block) for frames a
    // few blocks across; tiny frames get a direct full search
    let use_pyramid = width >= 4 * BLOCK_SIZE && height >= 4 * BLOCK_SIZE;
    let coarse_planes =
        use_pyramid.then(|| (first.downsample_by_two(), second.downsample_by_two()));

    let raw_matches: Vec<(MotionVector, f32)> = (0..block_count)
        .into_par_iter()
        .map(|block_index| {
            let block_column = block_index % blocks_across;
            let block_row = block_index / blocks_across;
            let bounds = block_bounds(block_column, block_row, BLOCK_SIZE, width, height);
            match &coarse_planes {
                Some((coarse_first, coarse_second)) => {
                    let coarse_bounds = block_bounds(
                        block_column,
                        block_row,
                        BLOCK_SIZE / 2,
                        coarse_first.width,
                        coarse_first.height,
                    );
                    let (coarse_vector, _) = search_block(
                        coarse_first,
                        coarse_second,
                        coarse_bounds,
                        t,
                        MotionVector::ZERO,
                        SEARCH_RANGE / 2,
                        SEARCH_RANGE / 2,
                    );
                    let doubled = MotionVector {
                        x: coarse_vector.x * 2,
                        y: coarse_vector.y * 2,
                    };
                    search_block(
                        first,
                        second,
                        bounds,
                        t,
                        doubled,
                        REFINEMENT_RANGE,
                        SEARCH_RANGE,
                    )
                }
                None => search_block(
                    first,
                    second,
                    bounds,
                    t,
                    MotionVector::ZERO,
                    SEARCH_RANGE,
                    SEARCH_RANGE,
                ),
            }
        })
        .collect();

    // Median smoothing: outliers (a block that matched a repeated texture elsewhere) rarely
    // match much better than their neighbours' consensus, so they are replaced by it, while
    // genuine motion boundaries keep their own clearly better vector.
    let smoothed: Vec<(MotionVector, f32)> = (0..block_count)
        .into_par_iter()
        .map(|block_index| {
            let block_column = block_index % blocks_across;
            let block_row = block_index / blocks_across;
            let mut horizontal = Vec::with_capacity(9);
            let mut vertical = Vec::with_capacity(9);
            for neighbour_row in block_row.saturating_sub(1)..(block_row + 2).min(blocks_down) {
                for neighbour_column in
                    block_column.saturating_sub(1)..(block_column + 2).min(blocks_across)
                {
                    let vector = raw_matches[neighbour_row * blocks_across + neighbour_column].0;
                    horizontal.push(vector.x);
                    vertical.push(vector.y);
                }
            }
            horizontal.sort_unstable();
            vertical.sort_unstable();
            let median = MotionVector {
                x: horizontal[horizontal.len() / 2],
                y: vertical[vertical.len() / 2],
            };
            let (own_vector, own_sad) = raw_matches[block_index];
            let bounds = block_bounds(block_column, block_row, BLOCK_SIZE, width, height);
            let pixel_count = bounds.pixel_count() as f32;
            if median == own_vector {
                return (own_vector, own_sad / pixel_count);
            }
            let median_sad = bilateral_sad(first, second, bounds, median, t);
            if own_sad < KEEP_OWN_VECTOR_ERROR_RATIO * median_sad {
                (own_vector, own_sad / pixel_count)
            } else {
                (median, median_sad / pixel_count)
            }
        })
        .collect();

    MotionField {
        blocks_across,
        blocks_down,
        vectors: smoothed.iter().map(|(vector, _)| *vector).collect(),
        mean_errors: smoothed.iter().map(|(_, error)| *error).collect(),
    }
}

/// Bilinear sample of an interleaved RGBA byte buffer at (x, y), edges clamped.
fn sample_bilinear(raw: &[u8], width: usize, height: usize, x: f32, y: f32) -> [f32; 4] {
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    let left = x.floor() as usize;
    let top = y.floor() as usize;
    let right = (left + 1).min(width - 1);
    let bottom = (top + 1).min(height - 1);
    let horizontal_fraction = x - left as f32;
    let vertical_fraction = y - top as f32;
    let pixel = |column: usize, row: usize| &raw[(row * width + column) * 4..][..4];
    let (top_left, top_right) = (pixel(left, top), pixel(right, top));
    let (bottom_left, bottom_right) = (pixel(left, bottom), pixel(right, bottom));
    std::array::from_fn(|channel| {
        let upper = f32::from(top_left[channel]) * (1.0 - horizontal_fraction)
            + f32::from(top_right[channel]) * horizontal_fraction;
        let lower = f32::from(bottom_left[channel]) * (1.0 - horizontal_fraction)
            + f32::from(bottom_right[channel]) * horizontal_fraction;
        upper * (1.0 - vertical_fraction) + lower * vertical_fraction
    })
}

/// Synthesises the frame at time `t` between `first` (t = 0) and `second` (t = 1).
///
/// `t` is clamped into [0, 1] (NaN counts as 0.5); at the ends the corresponding frame is
/// returned. If the frames' dimensions differ, no interpolation is possible and the nearer
/// frame in time is returned.
pub fn interpolate(first: &RgbaImage, second: &RgbaImage, t: f32) -> RgbaImage {
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    if first.dimensions() != second.dimensions() {
        return if t < 0.5 {
            first.clone()
        } else {
            second.clone()
        };
    }
    if t == 0.0 {
        return first.clone();
    }
    if t == 1.0 {
        return second.clone();
    }
    let width = first.width() as usize;
    let height = first.height() as usize;
    if width == 0 || height == 0 {
        return first.clone();
    }

    let first_luma = LumaPlane::from_rgba(first);
    let second_luma = LumaPlane::from_rgba(second);
    let motion = estimate_motion(&first_luma, &second_luma, t);

    let first_raw = exact_rgba_bytes(first);
    let second_raw = exact_rgba_bytes(second);
    let row_length = width * 4;
    let mut output = vec![0u8; row_length * height];
    output
        .par_chunks_mut(row_length)
        .enumerate()
        .for_each(|(row, output_row)| {
            let block_row = (row / BLOCK_SIZE).min(motion.blocks_down - 1);
            for (column, output_pixel) in output_row.chunks_exact_mut(4).enumerate() {
                let block_index = block_row * motion.blocks_across
                    + (column / BLOCK_SIZE).min(motion.blocks_across - 1);
                let vector = motion.vectors[block_index];
                let error = motion.mean_errors[block_index];
                let fallback = ((error - FALLBACK_ERROR_LOW)
                    / (FALLBACK_ERROR_HIGH - FALLBACK_ERROR_LOW))
                    .clamp(0.0, 1.0);

                let (vector_x, vector_y) = (vector.x as f32, vector.y as f32);
                let from_first = sample_bilinear(
                    first_raw,
                    width,
                    height,
                    column as f32 - t * vector_x,
                    row as f32 - t * vector_y,
                );
                let from_second = sample_bilinear(
                    second_raw,
                    width,
                    height,
                    column as f32 + (1.0 - t) * vector_x,
                    row as f32 + (1.0 - t) * vector_y,
                );
                let pixel_index = (row * width + column) * 4;
                let first_pixel = &first_raw[pixel_index..pixel_index + 4];
                let second_pixel = &second_raw[pixel_index..pixel_index + 4];
                for channel in 0..4 {
                    let compensated = (1.0 - t) * from_first[channel] + t * from_second[channel];
                    let cross_fade = (1.0 - t) * f32::from(first_pixel[channel])
                        + t * f32::from(second_pixel[channel]);
                    output_pixel[channel] =
                        clamp_to_u8(compensated * (1.0 - fallback) + cross_fade * fallback);
                }
            }
        });
    RgbaImage::from_raw(first.width(), first.height(), output).unwrap_or_else(|| first.clone())
}

#[cfg(test)]
mod tests {
    use super::super::filters::mean_absolute_error;
    use super::*;
    use image::Rgba;

    const SQUARE_SIZE: u32 = 24;
    const SQUARE_TOP: u32 = 36;

    /// A smooth background with a square of fixed pseudo-random texture whose left edge is at
    /// `square_left`; the texture moves with the square.
    fn frame_with_square(square_left: u32) -> RgbaImage {
        RgbaImage::from_fn(128, 96, |x, y| {
            let inside = (square_left..square_left + SQUARE_SIZE).contains(&x)
                && (SQUARE_TOP..SQUARE_TOP + SQUARE_SIZE).contains(&y);
            if inside {
                let (u, v) = (x - square_left, y - SQUARE_TOP);
                let hash = (u.wrapping_mul(73_856_093) ^ v.wrapping_mul(19_349_663))
                    .wrapping_mul(2_654_435_761);
                Rgba([
                    (hash >> 24) as u8,
                    (hash >> 16) as u8,
                    (hash >> 8) as u8 / 2 + 100,
                    255,
                ])
            } else {
                Rgba([
                    (80.0 + x as f32 * 0.4) as u8,
                    (90.0 + y as f32 * 0.5) as u8,
                    100,
                    255,
                ])
            }
        })
    }

    #[test]
    fn interpolation_tracks_moving_square() {
        let first = frame_with_square(40);
        let second = frame_with_square(48);
        let expected = frame_with_square(44);
        let interpolated = interpolate(&first, &second, 0.5);

        let blended = RgbaImage::from_fn(128, 96, |x, y| {
            let (a, b) = (first.get_pixel(x, y).0, second.get_pixel(x, y).0);
            Rgba(std::array::from_fn(|channel| {
                (u16::from(a[channel]) + u16::from(b[channel])).div_ceil(2) as u8
            }))
        });
        let interpolated_error = mean_absolute_error(&interpolated, &expected);
        let blended_error = mean_absolute_error(&blended, &expected);
        assert!(
            interpolated_error < 0.25 * blended_error,
            "interpolated mae {interpolated_error:.3} vs blend mae {blended_error:.3}"
        );
    }

    #[test]
    fn interpolation_handles_degenerate_inputs() {
        let empty = RgbaImage::new(0, 0);
        assert_eq!(interpolate(&empty, &empty, 0.5), empty);
        let single_a = RgbaImage::from_pixel(1, 1, Rgba([0, 0, 0, 255]));
        let single_b = RgbaImage::from_pixel(1, 1, Rgba([100, 200, 50, 255]));
        assert_eq!(
            interpolate(&single_a, &single_b, 0.5).get_pixel(0, 0).0,
            [50, 100, 25, 255]
        );
        assert_eq!(interpolate(&single_a, &single_b, 0.0), single_a);
        assert_eq!(interpolate(&single_a, &single_b, 7.0), single_b);
        assert_eq!(
            interpolate(&single_a, &single_b, f32::NAN).dimensions(),
            (1, 1)
        );
        assert_eq!(interpolate(&single_a, &RgbaImage::new(3, 2), 0.2), single_a);
        // identical frames interpolate to themselves
        let frame = frame_with_square(10);
        assert_eq!(interpolate(&frame, &frame, 0.3), frame);
    }
}
