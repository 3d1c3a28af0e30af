//! Prompted segmentation on top of Felzenszwalb and Huttenlocher's efficient graph-based
//! segmentation ("Efficient Graph-Based Image Segmentation", IJCV 2004).
//!
//! The image is a grid graph (8-connected) whose edge weights are the RGB distances between
//! neighbours after a small Gaussian blur (the blur suppresses pixel noise and JPEG
//! artefacts). Edges are visited in increasing weight and two components merge when the edge
//! is no heavier than both components' internal difference plus `k / |C|`, which lets small
//! components merge easily and makes large ones demand real evidence of similarity. A final
//! pass absorbs components below a minimum size into their most similar neighbour.
//!
//! A prompt then picks components: a point selects the component under it, a box the union
//! of components lying mostly inside the box (restricted to the box).

use super::filters::{gaussian_blur_plane, rgba_to_planes};
use image::{GrayImage, Luma, RgbaImage};
use rayon::prelude::*;

/// What the caller wants segmented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentPrompt {
    /// A pixel on the object (clamped into the image).
    Point { x: u32, y: u32 },
    /// A box around the object, half-open: pixels with `x0 <= x < x1` and `y0 <= y < y1`.
    /// Corners may be given in either order; the box is clamped into the image and is at
    /// least one pixel wide and tall.
    Box { x0: u32, y0: u32, x1: u32, y1: u32 },
}

/// Parameters of the graph-based segmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GraphSegmentationParameters {
    /// Gaussian blur applied to each channel before measuring edge weights.
    pub blur_sigma: f32,
    /// The `k` of the `k / |C|` threshold, in RGB distance units (u8 scale): larger values
    /// prefer larger components.
    pub threshold_scale: f32,
    /// Components smaller than this are merged into a neighbour at the end.
    pub minimum_component_size: usize,
}

impl GraphSegmentationParameters {
    /// The defaults used by `segment`: the paper's suggested sigma and a `k` of 300 for
    /// u8-scale colours; the minimum size grows with the image (one 4000th of the pixels,
    /// between 20 and 200) so large images are not shattered into speckles.
    pub fn for_image_size(width: u32, height: u32) -> Self {
        let pixel_count = (width as usize).saturating_mul(height as usize);
        Self {
            blur_sigma: 0.8,
            threshold_scale: 300.0,
            minimum_component_size: (pixel_count / 4000).clamp(20, 200),
        }
    }
}

/// The result of the graph-based segmentation: one label per pixel, row-major, labels
/// numbered `0..component_count`.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentLabels {
    pub width: usize,
    pub height: usize,
    pub labels: Vec<u32>,
    pub component_count: usize,
}

/// Edges are packed into one u64 so that sorting them is a plain integer sort: the weight's
/// f32 bits in the high half (for non-negative floats the bit patterns order like the
/// values), and `pixel_index * 4 + direction` in the low half. This caps the pixel count at
/// 2^30, far above anything the graph could hold in memory anyway.
const MAXIMUM_GRAPH_PIXELS: usize = 1 << 30;

/// The four "forward" neighbours of a pixel; with them every 8-connected pair is one edge.
#[derive(Debug, Clone, Copy)]
enum EdgeDirection {
    Right = 0,
    Down = 1,
    DownRight = 2,
    UpRight = 3,
}

fn pack_edge(weight: f32, pixel_index: usize, direction: EdgeDirection) -> u64 {
    (u64::from(weight.to_bits()) << 32) | ((pixel_index as u64) << 2) | direction as u64
}

fn unpack_edge(edge: u64, width: usize) -> (f32, usize, usize) {
    let weight = f32::from_bits((edge >> 32) as u32);
    let low = (edge & 0xffff_ffff) as usize;
    let pixel_index = low >> 2;
    let neighbour_index = match low & 3 {
        0 => pixel_index + 1,
        1 => pixel_index + width,
        2 => pixel_index + width + 1,
        _ => pixel_index + 1 - width,
    };
    (weight, pixel_index, neighbour_index)
}

/// Union-find with union by size and path halving; `threshold` holds each root's
/// `Int(C) + k / |C|`.
struct DisjointSets {
    parents: Vec<u32>,
    sizes: Vec<u32>,
    thresholds: Vec<f32>,
}

impl DisjointSets {
    fn new(element_count: usize, initial_threshold: f32) -> Self {
        Self {
            parents: (0..element_count as u32).collect(),
            sizes: vec![1; element_count],
            thresholds: vec![initial_threshold; element_count],
        }
    }

    fn find(&mut self, element: usize) -> usize {
        let mut node = element;
        while self.parents[node] as usize != node {
            let grandparent = self.parents[self.parents[node] as usize];
            self.parents[node] = grandparent;
            node = grandparent as usize;
        }
        node
    }

    /// Joins two roots, returning the new root.
    fn join(&mut self, first_root: usize, second_root: usize) -> usize {
        let (large, small) = if self.sizes[first_root] >= self.sizes[second_root] {
            (first_root, second_root)
        } else {
            (second_root, first_root)
        };
        self.parents[small] = large as u32;
        self.sizes[large] += self.sizes[small];
        large
    }
}

/// Felzenszwalb–Huttenlocher segmentation of an image. Images with more than 2^30 pixels
/// (beyond what the edge list can address) come back as a single component.
pub fn felzenszwalb_huttenlocher(
    image: &RgbaImage,
    parameters: &GraphSegmentationParameters,
) -> ComponentLabels {
    let width = image.width() as usize;
    let height = image.height() as usize;
    let pixel_count = width.saturating_mul(height);
    if pixel_count == 0 || pixel_count > MAXIMUM_GRAPH_PIXELS {
        return ComponentLabels {
            width,
            height,
            labels: vec![
                0;
                if pixel_count > MAXIMUM_GRAPH_PIXELS {
                    pixel_count
                } else {
                    0
                }
            ],
            component_count: usize::from(pixel_count > 0),
        };
    }

    let planes = rgba_to_planes(image);
    let [red, green, blue, _] = &planes.channels;
    let blurred: Vec<Vec<f32>> = [red, green, blue]
        .par_iter()
        .map(|channel| gaussian_blur_plane(channel, width, height, parameters.blur_sigma))
        .collect();
    let (red, green, blue) = (&blurred[0], &blurred[1], &blurred[2]);
    let colour_distance = |first: usize, second: usize| -> f32 {
        let red_difference = red[first] - red[second];
        let green_difference = green[first] - green[second];
        let blue_difference = blue[first] - blue[second];
        (red_difference * red_difference
            + green_difference * green_difference
            + blue_difference * blue_difference)
            .sqrt()
    };

    let mut edges: Vec<u64> = (0..height)
        .into_par_iter()
        .flat_map_iter(|row| {
            let mut row_edges = Vec::with_capacity(width * 4);
            for column in 0..width {
                let pixel_index = row * width + column;
                let has_right = column + 1 < width;
                if has_right {
                    let weight = colour_distance(pixel_index, pixel_index + 1);
                    row_edges.push(pack_edge(weight, pixel_index, EdgeDirection::Right));
                }
                if row + 1 < height {
                    let weight = colour_distance(pixel_index, pixel_index + width);
                    row_edges.push(pack_edge(weight, pixel_index, EdgeDirection::Down));
                    if has_right {
                        let weight = colour_distance(pixel_index, pixel_index + width + 1);
                        row_edges.push(pack_edge(weight, pixel_index, EdgeDirection::DownRight));
                    }
                }
                if row > 0 && has_right {
                    let weight = colour_distance(pixel_index, pixel_index + 1 - width);
                    row_edges.push(pack_edge(weight, pixel_index, EdgeDirection::UpRight));
                }
            }
            row_edges
        })
        .collect();
    edges.par_sort_unstable();

    let threshold_scale = if parameters.threshold_scale.is_finite() {
        parameters.threshold_scale.max(0.0)
    } else {
        0.0
    };
    let mut sets = DisjointSets::new(pixel_count, threshold_scale);
    for edge in &edges {
        let (weight, first, second) = unpack_edge(*edge, width);
        let first_root = sets.find(first);
        let second_root = sets.find(second);
        if first_root == second_root {
            continue;
        }
        // merge when the edge is no heavier than both internal differences (plus k / |C|);
        // since edges come in increasing order, `weight` becomes the new internal
        // difference, the largest edge of the merged component's minimum spanning tree
        if weight <= sets.thresholds[first_root] && weight <= sets.thresholds[second_root] {
            let root = sets.join(first_root, second_root);
            sets.thresholds[root] = weight + threshold_scale / sets.sizes[root] as f32;
        }
    }

    // Absorb small components, cheapest edges first, so each joins its most similar neighbour.
    let minimum_size = parameters.minimum_component_size.min(u32::MAX as usize) as u32;
    if minimum_size > 1 {
        for edge in &edges {
            let (_, first, second) = unpack_edge(*edge, width);
            let first_root = sets.find(first);
            let second_root = sets.find(second);
            if first_root != second_root
                && (sets.sizes[first_root] < minimum_size || sets.sizes[second_root] < minimum_size)
            {
                sets.join(first_root, second_root);
            }
        }
    }

    let root_labels: Vec<u32> = (0..pixel_count)
        .map(|pixel| sets.find(pixel) as u32)
        .collect();
    let (labels, component_count) = renumber_labels(&root_labels);

    // Clean-up of the blur's side effects (see `merge_similar_neighbours` and
    // `refine_boundaries`), measured on the unblurred colours.
    let [red, green, blue, _] = &planes.channels;
    let colours = [red, green, blue];
    let (mut labels, mut component_count) =
        merge_similar_neighbours(&labels, component_count, colours, &edges, width);
    for _ in 0..BOUNDARY_REFINEMENT_PASSES {
        labels = refine_boundaries(&labels, component_count, colours, width, height);
    }
    (labels, component_count) = renumber_labels(&labels);
    ComponentLabels {
        width,
        height,
        labels,
        component_count,
    }
}

/// Renumbers arbitrary u32 labels (all below the label count's length) as `0..count` in order
/// of first appearance.
fn renumber_labels(labels: &[u32]) -> (Vec<u32>, usize) {
    let mut new_label_of = vec![u32::MAX; labels.len()];
    let mut count = 0usize;
    let renumbered = labels
        .iter()
        .map(|label| {
            let slot = &mut new_label_of[*label as usize];
            if *slot == u32::MAX {
                *slot = count as u32;
                count += 1;
            }
            *slot
        })
        .collect();
    (renumbered, count)
}

/// Boundary passes after the graph segmentation: each is one pixel of snapping.
const BOUNDARY_REFINEMENT_PASSES: usize = 3;

/// Adjacent components whose mean unblurred colours are closer than this (RGB Euclidean
/// distance, u8 scale) are merged.
const SIMILAR_MEAN_COLOUR_DISTANCE: f32 = 12.0;

/// The mean unblurred colour of every component.
fn component_means(
    labels: &[u32],
    component_count: usize,
    colours: [&Vec<f32>; 3],
) -> Vec<[f32; 3]> {
    let mut sums = vec![[0.0f64; 3]; component_count];
    let mut counts = vec![0u32; component_count];
    for (pixel_index, label) in labels.iter().enumerate() {
        let label = *label as usize;
        for (channel, sum) in sums[label].iter_mut().enumerate() {
            *sum += f64::from(colours[channel][pixel_index]);
        }
        counts[label] += 1;
    }
    sums.iter()
        .zip(&counts)
        .map(|(sum, count)| sum.map(|total| (total / f64::from((*count).max(1))) as f32))
        .collect()
}

fn squared_colour_distance(first: [f32; 3], second: [f32; 3]) -> f32 {
    (0..3)
        .map(|channel| (first[channel] - second[channel]).powi(2))
        .sum()
}

/// The blur that makes edge weights robust to noise also mixes the colours along every
/// object boundary, and a perfectly flat region has an internal difference of zero, so its
/// threshold is just `k / |C|`, tiny for a large region: the partially mixed pixels just
/// inside its edge form thin "ring" components of the *same* true colour that never rejoin
/// it. Merging adjacent components whose mean unblurred colours are nearly equal removes
/// those rings (and the odd noise fragment of a textured background) without merging
/// anything that actually looks different.
fn merge_similar_neighbours(
    labels: &[u32],
    component_count: usize,
    colours: [&Vec<f32>; 3],
    edges: &[u64],
    width: usize,
) -> (Vec<u32>, usize) {
    let means = component_means(labels, component_count, colours);
    let maximum_squared_distance = SIMILAR_MEAN_COLOUR_DISTANCE * SIMILAR_MEAN_COLOUR_DISTANCE;
    let mut sets = DisjointSets::new(component_count, 0.0);
    for edge in edges {
        let (_, first, second) = unpack_edge(*edge, width);
        let (first_label, second_label) = (labels[first] as usize, labels[second] as usize);
        if first_label == second_label {
            continue;
        }
        let first_root = sets.find(first_label);
        let second_root = sets.find(second_label);
        if first_root != second_root
            && squared_colour_distance(means[first_label], means[second_label])
                < maximum_squared_distance
        {
            sets.join(first_root, second_root);
        }
    }
    let merged: Vec<u32> = labels
        .iter()
        .map(|label| sets.find(*label as usize) as u32)
        .collect();
    renumber_labels(&merged)
}

/// The components of mixed boundary pixels that remain after merging (those straddling an
/// edge, with a mean colour between both sides) still blur every boundary by a pixel or two.
/// This pass reassigns each pixel on a component boundary to whichever component among its
/// 8 neighbours (its own winning ties) has the mean *unblurred* colour closest to the pixel's
/// own unblurred colour, snapping boundaries back onto the real edges. Interior pixels (one
/// label in their neighbourhood) never change.
fn refine_boundaries(
    labels: &[u32],
    component_count: usize,
    colours: [&Vec<f32>; 3],
    width: usize,
    height: usize,
) -> Vec<u32> {
    let means = component_means(labels, component_count, colours);

    let mut refined = labels.to_vec();
    refined
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(row, refined_row)| {
            for (column, refined_label) in refined_row.iter_mut().enumerate() {
                let pixel_index = row * width + column;
                let own_label = labels[pixel_index];
                let colour = [
                    colours[0][pixel_index],
                    colours[1][pixel_index],
                    colours[2][pixel_index],
                ];
                let distance_to =
                    |label: u32| squared_colour_distance(colour, means[label as usize]);
                let mut best_label = own_label;
                let mut best_distance = f32::INFINITY;
                for neighbour_row in row.saturating_sub(1)..(row + 2).min(height) {
                    for neighbour_column in column.saturating_sub(1)..(column + 2).min(width) {
                        let label = labels[neighbour_row * width + neighbour_column];
                        if label == own_label || label == best_label {
                            continue;
                        }
                        if best_distance == f32::INFINITY {
                            best_distance = distance_to(own_label);
                        }
                        let distance = distance_to(label);
                        if distance < best_distance {
                            best_label = label;
                            best_distance = distance;
                        }
                    }
                }
                *refined_label = best_label;
            }
        });
    refined
}

/// The half-open pixel ranges of a box prompt, normalised and clamped into a non-empty
/// image; at least one pixel in each direction.
fn clamp_box(
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    width: usize,
    height: usize,
) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let clamp_axis = |first: u32, second: u32, length: usize| {
        let low = (first.min(second) as usize).min(length - 1);
        let high = (first.max(second) as usize).min(length).max(low + 1);
        low..high
    };
    (clamp_axis(x0, x1, width), clamp_axis(y0, y1, height))
}

fn mask_from_predicate(
    width: usize,
    height: usize,
    is_object: impl Fn(usize, usize) -> bool,
) -> GrayImage {
    GrayImage::from_fn(width as u32, height as u32, |x, y| {
        if is_object(x as usize, y as usize) {
            Luma([255])
        } else {
            Luma([0])
        }
    })
}

/// Segments the object designated by `prompt`, returning a mask of the image's size with 255
/// on the object and 0 elsewhere.
///
/// A point selects its component. A box selects the components with at least half of their
/// pixels inside the box, restricted to the box. Because a large box (say 80% of the image)
/// would also capture the background that way, a component must additionally be more
/// concentrated in the box than a component spread evenly over the whole image would be
/// (inside fraction >= box area / image area). If no component qualifies, the component
/// under the box centre is used, restricted to the box.
pub fn segment(image: &RgbaImage, prompt: SegmentPrompt) -> GrayImage {
    let width = image.width() as usize;
    let height = image.height() as usize;
    if width == 0 || height == 0 {
        return GrayImage::new(image.width(), image.height());
    }
    let parameters = GraphSegmentationParameters::for_image_size(image.width(), image.height());
    let components = felzenszwalb_huttenlocher(image, &parameters);
    let labels = &components.labels;
    if labels.len() != width * height {
        return GrayImage::new(image.width(), image.height());
    }

    match prompt {
        SegmentPrompt::Point { x, y } => {
            let x = (x as usize).min(width - 1);
            let y = (y as usize).min(height - 1);
            let selected = labels[y * width + x];
            mask_from_predicate(width, height, |column, row| {
                labels[row * width + column] == selected
            })
        }
        SegmentPrompt::Box { x0, y0, x1, y1 } => {
            let (columns, rows) = clamp_box(x0, y0, x1, y1, width, height);
            let mut total_counts = vec![0u32; components.component_count];
            let mut inside_counts = vec![0u32; components.component_count];
            for (pixel_index, label) in labels.iter().enumerate() {
                let label = *label as usize;
                total_counts[label] += 1;
                if columns.contains(&(pixel_index % width)) && rows.contains(&(pixel_index / width))
                {
                    inside_counts[label] += 1;
                }
            }
            let box_fraction = (columns.len() * rows.len()) as f64 / (width * height) as f64;
            let selected: Vec<bool> = total_counts
                .iter()
                .zip(&inside_counts)
                .map(|(total, inside)| {
                    let inside_fraction = f64::from(*inside) / f64::from((*total).max(1));
                    *inside > 0 && inside_fraction >= 0.5 && inside_fraction >= box_fraction
                })
                .collect();
            let selected = if selected.iter().any(|is_selected| *is_selected) {
                selected
            } else {
                let centre_label = labels
                    [(rows.start + rows.len() / 2) * width + columns.start + columns.len() / 2];
                (0..components.component_count)
                    .map(|label| label == centre_label as usize)
                    .collect()
            };
            mask_from_predicate(width, height, |column, row| {
                columns.contains(&column)
                    && rows.contains(&row)
                    && selected[labels[row * width + column] as usize]
            })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::Rgba;

    /// A tiny deterministic generator (64-bit LCG, high bits) for test noise.
    pub(crate) struct TestRandom(u64);

    impl TestRandom {
        pub(crate) fn new(seed: u64) -> Self {
            Self(seed)
        }

        /// Uniform in [0, 1).
        pub(crate) fn next_unit(&mut self) -> f32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 40) as f32) / (1u64 << 24) as f32
        }
    }

    pub(crate) const DISC_CENTRE: (f32, f32) = (64.0, 60.0);
    pub(crate) const DISC_RADIUS: f32 = 30.0;

    pub(crate) fn is_in_disc(x: u32, y: u32) -> bool {
        let dx = x as f32 - DISC_CENTRE.0;
        let dy = y as f32 - DISC_CENTRE.1;
        dx * dx + dy * dy <= DISC_RADIUS * DISC_RADIUS
    }

    /// A solid red disc on a blue background with uniform per-channel noise of +-25.
    pub(crate) fn disc_image() -> RgbaImage {
        let mut random = TestRandom::new(7);
        RgbaImage::from_fn(128, 128, |x, y| {
            if is_in_disc(x, y) {
                Rgba([210, 40, 40, 255])
            } else {
                let mut noisy = |base: f32| (base + (random.next_unit() - 0.5) * 50.0) as u8;
                Rgba([noisy(40.0), noisy(60.0), noisy(200.0), 255])
            }
        })
    }

    pub(crate) fn disc_intersection_over_union(mask: &GrayImage) -> f64 {
        let mut intersection = 0u32;
        let mut union = 0u32;
        for (x, y, value) in mask.enumerate_pixels() {
            let predicted = value.0[0] > 127;
            let truth = is_in_disc(x, y);
            intersection += u32::from(predicted && truth);
            union += u32::from(predicted || truth);
        }
        f64::from(intersection) / f64::from(union.max(1))
    }

    #[test]
    fn point_prompt_selects_disc() {
        let image = disc_image();
        let mask = segment(&image, SegmentPrompt::Point { x: 64, y: 60 });
        let iou = disc_intersection_over_union(&mask);
        assert!(iou > 0.9, "point prompt iou {iou:.4}");
    }

    #[test]
    fn box_prompt_selects_disc() {
        let image = disc_image();
        let mask = segment(
            &image,
            SegmentPrompt::Box {
                x0: 30,
                y0: 26,
                x1: 99,
                y1: 95,
            },
        );
        let iou = disc_intersection_over_union(&mask);
        assert!(iou > 0.8, "box prompt iou {iou:.4}");
    }

    #[test]
    fn segmentation_separates_disc_from_background() {
        let image = disc_image();
        let parameters = GraphSegmentationParameters::for_image_size(128, 128);
        let components = felzenszwalb_huttenlocher(&image, &parameters);
        assert!(components.component_count >= 2);
        let disc_label = components.labels[60 * 128 + 64];
        let background_label = components.labels[5 * 128 + 5];
        assert_ne!(disc_label, background_label);
    }

    #[test]
    fn segment_handles_degenerate_inputs() {
        let empty = RgbaImage::new(0, 0);
        assert_eq!(
            segment(&empty, SegmentPrompt::Point { x: 3, y: 3 }).dimensions(),
            (0, 0)
        );
        let single = RgbaImage::from_pixel(1, 1, Rgba([1, 2, 3, 255]));
        let mask = segment(&single, SegmentPrompt::Point { x: 9, y: 9 });
        assert_eq!(mask.as_raw(), &vec![255u8]);
        let mask = segment(
            &single,
            SegmentPrompt::Box {
                x0: 5,
                y0: 5,
                x1: 0,
                y1: 0,
            },
        );
        assert_eq!(mask.as_raw(), &vec![255u8]);
        let strip = RgbaImage::from_pixel(5, 1, Rgba([9, 9, 9, 255]));
        let mask = segment(
            &strip,
            SegmentPrompt::Box {
                x0: 1,
                y0: 0,
                x1: 3,
                y1: 1,
            },
        );
        assert_eq!(mask.as_raw(), &vec![0u8, 255, 255, 0, 0]);
    }
}
