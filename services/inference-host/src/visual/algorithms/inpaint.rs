//! Inpainting with Alexandru Telea's fast marching method ("An Image Inpainting Technique
//! Based on the Fast Marching Method", Journal of Graphics Tools, 2004), the algorithm behind
//! OpenCV's `INPAINT_TELEA`.
//!
//! The hole is filled from its boundary inwards, in increasing order of the distance `T` to
//! the boundary, which the fast marching method computes on the fly. Every pixel that leaves
//! the hole is estimated from the already known pixels within `radius` as a weighted average
//! of first-order extrapolations `I(q) + grad I(q) . (p - q)`, with weights favouring pixels
//! along the boundary normal (direction), close by (geometric distance) and on the same
//! level set of `T` (level-set distance).

use super::filters::{clamp_to_u8, exact_rgba_bytes};
use image::{GrayImage, RgbaImage};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Mask values above this are unknown pixels to fill.
const MASK_THRESHOLD: u8 = 127;

/// The distance given to pixels the march has not reached yet; large enough to never win a
/// minimum against a real distance.
const UNREACHED_DISTANCE: f32 = 1.0e6;

/// Below this the direction factor is clamped, so that a neighbour exactly tangent to the
/// boundary still has a tiny positive weight (the sum of weights can then never be zero
/// while any neighbour exists).
const MINIMUM_DIRECTION_FACTOR: f32 = 1.0e-6;

/// The first-order term `grad I(q) . (p - q)` is exact on smooth shading but explodes on
/// texture and text: a one-pixel edge has a gradient of 100+ levels per pixel, extrapolated
/// over up to `radius` pixels, and because filled pixels feed later estimates the overshoot
/// compounds into saturated streaks. Capping the gradient per pixel and the averaged
/// correction keeps the term for what it is good at (continuing smooth ramps) and lets the
/// weighted average do the rest, as OpenCV effectively does.
const MAXIMUM_GRADIENT: f32 = 8.0;
const MAXIMUM_CORRECTION: f32 = 12.0;

/// The fast marching states of the paper: KNOWN pixels have their final value and distance,
/// BAND pixels form the front (known value, tentative distance, in the heap), INSIDE pixels
/// are still to be filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PixelState {
    Known,
    Band,
    Inside,
}

/// A heap entry. `BinaryHeap` is a max-heap, so the ordering is reversed to pop the smallest
/// distance first; the insertion sequence breaks ties first-in first-out so results are
/// deterministic.
#[derive(Debug, Clone, Copy)]
struct BandEntry {
    distance: f32,
    sequence: u64,
    pixel_index: usize,
}

impl PartialEq for BandEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for BandEntry {}

impl PartialOrd for BandEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BandEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .distance
            .total_cmp(&self.distance)
            .then_with(|| other.sequence.cmp(&self.sequence))
    }
}

/// The grid state shared by the march and the estimator.
struct FastMarchingGrid {
    width: usize,
    height: usize,
    states: Vec<PixelState>,
    distances: Vec<f32>,
    /// RGB of every pixel as f32: inpainted values are kept unrounded so that later
    /// extrapolations do not accumulate quantisation error.
    colours: Vec<[f32; 3]>,
}

impl FastMarchingGrid {
    fn index_of(&self, x: i64, y: i64) -> Option<usize> {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return None;
        }
        Some(y as usize * self.width + x as usize)
    }

    /// State of a pixel; outside the image counts as INSIDE, i.e. unusable.
    fn state_at(&self, x: i64, y: i64) -> PixelState {
        self.index_of(x, y)
            .map_or(PixelState::Inside, |index| self.states[index])
    }

    fn distance_at(&self, x: i64, y: i64) -> f32 {
        self.index_of(x, y)
            .map_or(UNREACHED_DISTANCE, |index| self.distances[index])
    }

    /// Solves the eikonal equation |grad T| = 1 at a pixel from one vertical neighbour
    /// (x1, y1) and one horizontal neighbour (x2, y2), as in the paper and OpenCV: with both
    /// neighbours usable, the upwind quadratic `(T - T1)^2 + (T - T2)^2 = 1`; with one, `1 + T`.
    fn solve_eikonal(&self, x1: i64, y1: i64, x2: i64, y2: i64) -> f32 {
        let first_usable = self.state_at(x1, y1) != PixelState::Inside;
        let second_usable = self.state_at(x2, y2) != PixelState::Inside;
        let first_distance = self.distance_at(x1, y1);
        let second_distance = self.distance_at(x2, y2);
        match (first_usable, second_usable) {
            (true, true) => {
                let difference = first_distance - second_distance;
                if difference.abs() >= 1.0 {
                    // the quadratic has no upwind solution: propagate from the nearer one
                    1.0 + first_distance.min(second_distance)
                } else {
                    (first_distance + second_distance + (2.0 - difference * difference).sqrt())
                        * 0.5
                }
            }
            (true, false) => 1.0 + first_distance,
            (false, true) => 1.0 + second_distance,
            (false, false) => 1.0 + first_distance.min(second_distance),
        }
    }

    /// The distance of a pixel entering the band: the best of the four quadrant solutions.
    fn march_distance(&self, x: i64, y: i64) -> f32 {
        self.solve_eikonal(x, y - 1, x - 1, y)
            .min(self.solve_eikonal(x, y + 1, x - 1, y))
            .min(self.solve_eikonal(x, y - 1, x + 1, y))
            .min(self.solve_eikonal(x, y + 1, x + 1, y))
    }

    /// One component (along `step`) of the gradient of a per-pixel vector of values (the
    /// distance `T`, or the three colour channels at once), by finite differences over
    /// usable (non-INSIDE) pixels: central difference when both sides are usable, one-sided
    /// when only one is, zero when neither (the values of INSIDE pixels are not meaningful).
    fn finite_difference<const CHANNELS: usize>(
        &self,
        x: i64,
        y: i64,
        step_x: i64,
        step_y: i64,
        value_at: impl Fn(usize) -> [f32; CHANNELS],
    ) -> [f32; CHANNELS] {
        let centre_index = self.index_of(x, y);
        let forward = self
            .index_of(x + step_x, y + step_y)
            .filter(|index| self.states[*index] != PixelState::Inside);
        let backward = self
            .index_of(x - step_x, y - step_y)
            .filter(|index| self.states[*index] != PixelState::Inside);
        let difference = |later: [f32; CHANNELS], earlier: [f32; CHANNELS], scale: f32| {
            std::array::from_fn(|channel| (later[channel] - earlier[channel]) * scale)
        };
        match (forward, backward, centre_index) {
            (Some(forward), Some(backward), _) => {
                difference(value_at(forward), value_at(backward), 0.5)
            }
            (Some(forward), None, Some(centre)) => {
                difference(value_at(forward), value_at(centre), 1.0)
            }
            (None, Some(backward), Some(centre)) => {
                difference(value_at(centre), value_at(backward), 1.0)
            }
            _ => [0.0; CHANNELS],
        }
    }

    /// Telea's estimate of the colour at (x, y) from the usable pixels within `radius`.
    /// Returns `None` if no usable pixel is in reach (cannot happen when the pixel was reached
    /// by the march, which always comes from a usable 4-neighbour, but costs nothing to guard).
    fn estimate_colour(&self, x: i64, y: i64, radius: i64) -> Option<[f32; 3]> {
        let own_distance = self.distance_at(x, y);
        let distances = |index: usize| [self.distances[index]];
        let [normal_x] = self.finite_difference(x, y, 1, 0, distances);
        let [normal_y] = self.finite_difference(x, y, 0, 1, distances);
        let normal_length = (normal_x * normal_x + normal_y * normal_y).sqrt();
        let (normal_x, normal_y) = if normal_length > 1.0e-12 {
            (normal_x / normal_length, normal_y / normal_length)
        } else {
            (0.0, 0.0)
        };

        let radius_squared = radius * radius;
        let mut weighted_values = [0.0f32; 3];
        let mut weighted_corrections = [0.0f32; 3];
        let mut weight_total = 0.0f32;
        for neighbour_y in (y - radius)..=(y + radius) {
            for neighbour_x in (x - radius)..=(x + radius) {
                let offset_x = x - neighbour_x;
                let offset_y = y - neighbour_y;
                let offset_squared = offset_x * offset_x + offset_y * offset_y;
                if offset_squared == 0 || offset_squared > radius_squared {
                    continue;
                }
                let Some(neighbour_index) = self.index_of(neighbour_x, neighbour_y) else {
                    continue;
                };
                if self.states[neighbour_index] == PixelState::Inside {
                    continue;
                }
                let offset_x = offset_x as f32;
                let offset_y = offset_y as f32;
                let offset_squared = offset_squared as f32;
                let offset_length = offset_squared.sqrt();
                // direction: neighbours along the boundary normal carry the isophotes into
                // the hole; geometric: nearer is more reliable; level set: neighbours at
                // the same distance from the original boundary are the front itself
                let direction = ((normal_x * offset_x + normal_y * offset_y) / offset_length)
                    .abs()
                    .max(MINIMUM_DIRECTION_FACTOR);
                let geometric = 1.0 / offset_squared;
                let level_set =
                    1.0 / (1.0 + (self.distances[neighbour_index] - own_distance).abs());
                let weight = direction * geometric * level_set;

                let colours = |index: usize| self.colours[index];
                let gradient_x = self.finite_difference(neighbour_x, neighbour_y, 1, 0, colours);
                let gradient_y = self.finite_difference(neighbour_x, neighbour_y, 0, 1, colours);
                for channel in 0..3 {
                    let channel_gradient_x =
                        gradient_x[channel].clamp(-MAXIMUM_GRADIENT, MAXIMUM_GRADIENT);
                    let channel_gradient_y =
                        gradient_y[channel].clamp(-MAXIMUM_GRADIENT, MAXIMUM_GRADIENT);
                    weighted_values[channel] += weight * self.colours[neighbour_index][channel];
                    weighted_corrections[channel] +=
                        weight * (channel_gradient_x * offset_x + channel_gradient_y * offset_y);
                }
                weight_total += weight;
            }
        }
        if !weight_total.is_finite() || weight_total <= 0.0 {
            return None;
        }
        Some(std::array::from_fn(|channel| {
            let average = weighted_values[channel] / weight_total;
            let correction = (weighted_corrections[channel] / weight_total)
                .clamp(-MAXIMUM_CORRECTION, MAXIMUM_CORRECTION);
            (average + correction).clamp(0.0, 255.0)
        }))
    }
}

/// Fills the pixels where `mask > 127` with Telea's fast marching inpainting, using known
/// pixels within `radius` (0 is treated as 1; values beyond the image size are capped).
/// Pixels outside the mask, and the alpha channel everywhere, are returned unchanged. If the
/// mask does not have the image's dimensions, or there is no known pixel to start from, the
/// image is returned unchanged.
pub fn inpaint_telea(image: &RgbaImage, mask: &GrayImage, radius: u32) -> RgbaImage {
    if image.dimensions() != mask.dimensions() {
        return image.clone();
    }
    let width = image.width() as usize;
    let height = image.height() as usize;
    let pixel_count = width.saturating_mul(height);
    if pixel_count == 0 {
        return image.clone();
    }
    let radius = i64::from(radius.max(1)).min(width.max(height) as i64);
    let mask_values = mask.as_raw();
    let raw = exact_rgba_bytes(image);
    if mask_values.len() < pixel_count || raw.len() < pixel_count * 4 {
        return image.clone();
    }

    let states: Vec<PixelState> = mask_values[..pixel_count]
        .iter()
        .map(|value| {
            if *value > MASK_THRESHOLD {
                PixelState::Inside
            } else {
                PixelState::Known
            }
        })
        .collect();
    let distances: Vec<f32> = states
        .iter()
        .map(|state| {
            if *state == PixelState::Inside {
                UNREACHED_DISTANCE
            } else {
                0.0
            }
        })
        .collect();
    let colours: Vec<[f32; 3]> = raw
        .chunks_exact(4)
        .map(|pixel| {
            [
                f32::from(pixel[0]),
                f32::from(pixel[1]),
                f32::from(pixel[2]),
            ]
        })
        .collect();
    let mut grid = FastMarchingGrid {
        width,
        height,
        states,
        distances,
        colours,
    };

    // The initial band: known pixels with an unknown 4-neighbour, at distance zero.
    let neighbour_offsets: [(i64, i64); 4] = [(0, -1), (-1, 0), (0, 1), (1, 0)];
    let mut heap = BinaryHeap::new();
    let mut sequence = 0u64;
    for pixel_index in 0..pixel_count {
        if grid.states[pixel_index] != PixelState::Known {
            continue;
        }
        let x = (pixel_index % width) as i64;
        let y = (pixel_index / width) as i64;
        let touches_hole = neighbour_offsets.iter().any(|(dx, dy)| {
            grid.index_of(x + dx, y + dy)
                .is_some_and(|index| grid.states[index] == PixelState::Inside)
        });
        if touches_hole {
            grid.states[pixel_index] = PixelState::Band;
            heap.push(BandEntry {
                distance: 0.0,
                sequence,
                pixel_index,
            });
            sequence += 1;
        }
    }

    let mut filled_any = false;
    while let Some(entry) = heap.pop() {
        let pixel_index = entry.pixel_index;
        if grid.states[pixel_index] == PixelState::Known {
            continue;
        }
        grid.states[pixel_index] = PixelState::Known;
        let x = (pixel_index % width) as i64;
        let y = (pixel_index / width) as i64;
        for (dx, dy) in neighbour_offsets {
            let (neighbour_x, neighbour_y) = (x + dx, y + dy);
            let Some(neighbour_index) = grid.index_of(neighbour_x, neighbour_y) else {
                continue;
            };
            if grid.states[neighbour_index] != PixelState::Inside {
                continue;
            }
            let distance = grid.march_distance(neighbour_x, neighbour_y);
            grid.distances[neighbour_index] = distance;
            if let Some(colour) = grid.estimate_colour(neighbour_x, neighbour_y, radius) {
                grid.colours[neighbour_index] = colour;
                filled_any = true;
            }
            grid.states[neighbour_index] = PixelState::Band;
            heap.push(BandEntry {
                distance,
                sequence,
                pixel_index: neighbour_index,
            });
            sequence += 1;
        }
    }

    if !filled_any {
        return image.clone();
    }
    let mut output = image.clone();
    for (pixel_index, pixel) in output.pixels_mut().enumerate().take(pixel_count) {
        if mask_values[pixel_index] > MASK_THRESHOLD {
            let colour = grid.colours[pixel_index];
            pixel.0[0] = clamp_to_u8(colour[0]);
            pixel.0[1] = clamp_to_u8(colour[1]);
            pixel.0[2] = clamp_to_u8(colour[2]);
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgba};

    fn gradient_image(size: u32) -> RgbaImage {
        let scale = 255.0 / (size - 1) as f32;
        RgbaImage::from_fn(size, size, |x, y| {
            let horizontal = x as f32 * scale;
            let vertical = y as f32 * scale;
            Rgba([
                clamp_to_u8(horizontal),
                clamp_to_u8(vertical),
                clamp_to_u8((horizontal + vertical) * 0.5),
                255,
            ])
        })
    }

    fn square_mask(size: u32, first: u32, end: u32) -> GrayImage {
        GrayImage::from_fn(size, size, |x, y| {
            if (first..end).contains(&x) && (first..end).contains(&y) {
                Luma([255])
            } else {
                Luma([0])
            }
        })
    }

    #[test]
    fn telea_restores_linear_gradient_hole() {
        let original = gradient_image(200);
        let mask = square_mask(200, 80, 120);
        // wipe the hole so the test cannot pass by leaving the original values in place
        let mut damaged = original.clone();
        for y in 80..120 {
            for x in 80..120 {
                damaged.put_pixel(x, y, Rgba([255, 0, 255, 255]));
            }
        }
        let restored = inpaint_telea(&damaged, &mask, 5);

        let mut absolute_error_total = 0.0f64;
        let mut sample_count = 0usize;
        for y in 80..120 {
            for x in 80..120 {
                let expected = original.get_pixel(x, y).0;
                let actual = restored.get_pixel(x, y).0;
                for channel in 0..3 {
                    absolute_error_total +=
                        (f64::from(expected[channel]) - f64::from(actual[channel])).abs();
                    sample_count += 1;
                }
            }
        }
        let mean_absolute_error = absolute_error_total / sample_count as f64;
        assert!(
            mean_absolute_error < 3.0,
            "hole mean absolute error {mean_absolute_error:.3}"
        );

        // everything outside the mask is untouched
        for (x, y, pixel) in restored.enumerate_pixels() {
            if !((80..120).contains(&x) && (80..120).contains(&y)) {
                assert_eq!(pixel, damaged.get_pixel(x, y));
            }
        }
    }

    #[test]
    fn telea_handles_degenerate_inputs() {
        let empty = RgbaImage::new(0, 0);
        assert_eq!(inpaint_telea(&empty, &GrayImage::new(0, 0), 3), empty);

        // a fully masked image has nothing to propagate from: unchanged
        let single = RgbaImage::from_pixel(1, 1, Rgba([10, 20, 30, 40]));
        let full_mask = GrayImage::from_pixel(1, 1, Luma([255]));
        assert_eq!(inpaint_telea(&single, &full_mask, 3), single);

        // mismatched mask dimensions: unchanged
        assert_eq!(inpaint_telea(&single, &GrayImage::new(2, 2), 3), single);

        // a one-pixel hole in a flat image at the border, radius 0
        let flat = RgbaImage::from_pixel(4, 3, Rgba([50, 60, 70, 255]));
        let mut damaged = flat.clone();
        damaged.put_pixel(0, 0, Rgba([0, 0, 0, 255]));
        let mut mask = GrayImage::new(4, 3);
        mask.put_pixel(0, 0, Luma([200]));
        assert_eq!(inpaint_telea(&damaged, &mask, 0), flat);
    }
}
