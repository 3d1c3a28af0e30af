//! Image variants: decode with bounds, scale down, encode as WebP. Pure CPU work; callers run
//! it on the blocking pool.

use std::io::Cursor;

use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{ExtendedColorType, ImageReader, Limits};

use crate::domain::{exceeds_megapixels, fit_within};

pub const VARIANT_MIME_TYPE: &str = "image/webp";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub variant_type: String,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Renders every `(variant type, longest side)` of the image in `data`; the error is the reason
/// recorded on the variants.
pub fn render_variants(
    data: &[u8],
    max_megapixels: u64,
    targets: &[(&str, u32)],
) -> Result<Vec<Rendered>, String> {
    let reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|error| format!("cannot read image: {error}"))?;
    if reader.format().is_none() {
        return Err("not a recognized image format".to_string());
    }
    // the header alone says how large the image is: refuse image bombs before decoding
    let (width, height) = reader
        .into_dimensions()
        .map_err(|error| format!("cannot read image dimensions: {error}"))?;
    if exceeds_megapixels(width, height, max_megapixels) {
        return Err(format!(
            "image of {width}x{height} pixels exceeds the limit of {max_megapixels} megapixels"
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .map_err(|error| format!("cannot read image: {error}"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // 8 bytes per pixel covers 16-bit RGBA; decoders may not allocate beyond it
    limits.max_alloc = Some(max_megapixels * 1_000_000 * 8 + 64 * 1024 * 1024);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|error| format!("cannot decode image: {error}"))?;

    let mut rendered = Vec::with_capacity(targets.len());
    for (variant_type, max_side) in targets {
        let (target_width, target_height) = fit_within(image.width(), image.height(), *max_side);
        let scaled = if (target_width, target_height) == (image.width(), image.height()) {
            image.to_rgba8()
        } else {
            image
                .resize_exact(target_width, target_height, FilterType::Lanczos3)
                .to_rgba8()
        };
        let mut bytes = Vec::new();
        WebPEncoder::new_lossless(&mut bytes)
            .encode(
                scaled.as_raw(),
                scaled.width(),
                scaled.height(),
                ExtendedColorType::Rgba8,
            )
            .map_err(|error| format!("cannot encode {variant_type}: {error}"))?;
        rendered.push(Rendered {
            variant_type: variant_type.to_string(),
            bytes,
            width: scaled.width(),
            height: scaled.height(),
        });
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut bytes = Vec::new();
        image
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        bytes
    }

    #[test]
    fn variants_fit_their_box_and_decode_as_webp() {
        let rendered =
            render_variants(&png(600, 300), 80, &[("thumbnail", 256), ("display", 1440)]).unwrap();
        assert_eq!((rendered[0].width, rendered[0].height), (256, 128));
        assert_eq!((rendered[1].width, rendered[1].height), (600, 300));
        let decoded =
            image::load_from_memory_with_format(&rendered[0].bytes, ImageFormat::WebP).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (256, 128));
    }

    #[test]
    fn garbage_and_bombs_are_refused_with_a_reason() {
        assert!(
            render_variants(b"not an image", 80, &[("thumbnail", 256)])
                .unwrap_err()
                .contains("format")
        );
        // a 2000x1000 image is 2 megapixels: over a 1 megapixel limit, refused before decoding
        let error = render_variants(&png(2000, 1000), 1, &[("thumbnail", 256)]).unwrap_err();
        assert!(error.contains("exceeds"), "{error}");
        let mut truncated = png(100, 100);
        truncated.truncate(truncated.len() / 2);
        assert!(render_variants(&truncated, 80, &[("thumbnail", 256)]).is_err());
    }
}
