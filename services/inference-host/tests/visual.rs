//! The visual endpoints through the SageMaker protocol, with the visual pipeline's shapes.

mod support;

use aws_sdk_sagemakerruntime::primitives::Blob;
use image::{GrayImage, Luma, Rgba, RgbaImage};
use radiant_inference_host::visual::algorithms::filters::psnr;
use serde_json::{Value, json};
use support::{decode_png, gray_png_base64, png_base64, spawn_host};

async fn invoke(host: &support::TestHost, endpoint: &str, body: Value) -> Value {
    let output = host
        .sagemaker()
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap_or_else(|error| panic!("{endpoint} failed: {:?}", error.into_service_error()));
    serde_json::from_slice(output.body().expect("a body").as_ref()).expect("JSON")
}

/// A smooth but detailed image: what upscaling must reconstruct.
fn detailed_image(size: u32) -> RgbaImage {
    RgbaImage::from_fn(size, size, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let r = 128.0 + 100.0 * (x / 7.0).sin() * (y / 11.0).cos();
        let g = 128.0 + 90.0 * ((x + y) / 9.0).sin();
        let b = 128.0 + 80.0 * ((x - 2.0 * y) / 13.0).cos();
        Rgba([r as u8, g as u8, b as u8, 255])
    })
}

fn box_downscale(image: &RgbaImage) -> RgbaImage {
    RgbaImage::from_fn(image.width() / 2, image.height() / 2, |x, y| {
        let mut sums = [0u32; 4];
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let pixel = image.get_pixel(2 * x + dx, 2 * y + dy).0;
            for channel in 0..4 {
                sums[channel] += u32::from(pixel[channel]);
            }
        }
        Rgba(sums.map(|sum| (sum / 4) as u8))
    })
}

#[tokio::test]
async fn upscaling_beats_nearest_neighbour_psnr() {
    let host = spawn_host().await;
    let original = detailed_image(128);
    let small = box_downscale(&original);
    let body = invoke(
        &host,
        "upscale-lanczos-sharpen",
        json!({ "image": png_base64(&small), "scale": 2 }),
    )
    .await;
    let upscaled = decode_png(body["output"].as_str().expect("output"));
    assert_eq!(upscaled.dimensions(), original.dimensions());
    let nearest = image::imageops::resize(&small, 128, 128, image::imageops::FilterType::Nearest);
    let ours = psnr(&upscaled, &original);
    let baseline = psnr(&nearest, &original);
    assert!(
        ours > baseline + 1.0,
        "upscaled {ours:.2} dB vs nearest neighbour {baseline:.2} dB"
    );

    let x4 = invoke(
        &host,
        "upscale-lanczos-sharpen",
        json!({ "image": png_base64(&small), "scale": 4 }),
    )
    .await;
    assert_eq!(x4["width"], 256);
}

#[tokio::test]
async fn inpainting_restores_a_masked_smooth_gradient() {
    let host = spawn_host().await;
    let gradient = RgbaImage::from_fn(160, 160, |x, y| {
        Rgba([x as u8, y as u8, ((x + y) / 2) as u8, 255])
    });
    let mut damaged = gradient.clone();
    let mask = GrayImage::from_fn(160, 160, |x, y| {
        let inside = (60..100).contains(&x) && (60..100).contains(&y);
        Luma([if inside { 255 } else { 0 }])
    });
    for (x, y, pixel) in damaged.enumerate_pixels_mut() {
        if mask.get_pixel(x, y).0[0] > 0 {
            *pixel = Rgba([255, 0, 255, 255]);
        }
    }
    let body = invoke(
        &host,
        "inpaint-telea",
        json!({ "image": png_base64(&damaged), "mask": gray_png_base64(&mask) }),
    )
    .await;
    let restored = decode_png(body["output"].as_str().expect("output"));
    let mut total_error = 0.0f64;
    let mut count = 0usize;
    for (x, y, pixel) in restored.enumerate_pixels() {
        let truth = gradient.get_pixel(x, y).0;
        if mask.get_pixel(x, y).0[0] > 0 {
            for (restored_value, true_value) in pixel.0.iter().zip(truth).take(3) {
                total_error += (f64::from(*restored_value) - f64::from(true_value)).abs();
                count += 1;
            }
        } else {
            assert_eq!(pixel.0, truth, "pixels outside the mask are untouched");
        }
    }
    let mean_error = total_error / count as f64;
    assert!(
        mean_error < 4.0,
        "mean absolute error inside the hole: {mean_error:.2}"
    );
}

fn disc_image() -> RgbaImage {
    RgbaImage::from_fn(128, 128, |x, y| {
        let (dx, dy) = (x as i32 - 64, y as i32 - 60);
        if dx * dx + dy * dy <= 30 * 30 {
            Rgba([220, 30, 30, 255])
        } else {
            let noise = ((x * 37 + y * 91) % 23) as u8;
            Rgba([20 + noise, 40 + noise, 180 + noise, 255])
        }
    })
}

#[tokio::test]
async fn segmentation_from_a_point_finds_the_object() {
    let host = spawn_host().await;
    let body = invoke(
        &host,
        "segment-graph-felzenszwalb",
        json!({ "image": png_base64(&disc_image()), "point": [64, 60] }),
    )
    .await;
    let mask = decode_png(body["output"].as_str().expect("output"));
    let inside = mask.get_pixel(64, 60).0[0];
    let outside = mask.get_pixel(5, 5).0[0];
    assert!(
        inside > 127 && outside < 128,
        "inside {inside}, outside {outside}"
    );
    let area = body["area_pixels"].as_u64().expect("area");
    let disc_area = (std::f64::consts::PI * 30.0 * 30.0) as u64;
    assert!(
        area.abs_diff(disc_area) < disc_area / 10,
        "area {area} vs disc {disc_area}"
    );
}

#[tokio::test]
async fn matting_gives_a_soft_alpha_around_the_subject() {
    let host = spawn_host().await;
    let body = invoke(
        &host,
        "matting-guided-filter",
        json!({ "image": png_base64(&disc_image()), "box": [24, 20, 104, 100] }),
    )
    .await;
    let alpha = decode_png(body["alpha"].as_str().expect("alpha"));
    assert!(alpha.get_pixel(64, 60).0[0] > 200);
    assert!(alpha.get_pixel(3, 3).0[0] < 55);
    let cutout = decode_png(body["output"].as_str().expect("output"));
    assert_eq!(cutout.get_pixel(3, 3).0[3], alpha.get_pixel(3, 3).0[0]);
}

#[tokio::test]
async fn frame_interpolation_makes_the_frames_between() {
    let host = spawn_host().await;
    let frame = |offset: u32| {
        RgbaImage::from_fn(96, 64, |x, y| {
            let inside = x >= 20 + offset && x < 44 + offset && (20..44).contains(&y);
            let texture = ((i64::from(x) - i64::from(offset)).rem_euclid(40) * 13 % 40
                + i64::from(y) * 7 % 40) as u8
                % 40;
            if inside {
                Rgba([200 + texture / 2, 180, 40 + texture, 255])
            } else {
                Rgba([30, 30, 30, 255])
            }
        })
    };
    let body = invoke(
        &host,
        "interpolate-block-motion",
        json!({ "image": png_base64(&frame(0)), "nextImage": png_base64(&frame(8)), "sourceFps": 30, "targetFps": 60 }),
    )
    .await;
    assert_eq!(body["frames"].as_array().map(Vec::len), Some(1));
    let middle = decode_png(body["output"].as_str().expect("output"));
    let expected = frame(4);
    let error: f64 = middle
        .pixels()
        .zip(expected.pixels())
        .map(|(a, b)| {
            (0..3)
                .map(|c| (f64::from(a.0[c]) - f64::from(b.0[c])).abs())
                .sum::<f64>()
        })
        .sum::<f64>()
        / (96.0 * 64.0 * 3.0);
    assert!(
        error < 10.0,
        "mean absolute error against the true middle frame: {error:.2}"
    );
}

#[tokio::test]
async fn face_restoration_reduces_noise() {
    let host = spawn_host().await;
    let clean = RgbaImage::from_fn(96, 96, |x, y| {
        Rgba([(60 + x) as u8, (80 + y) as u8, 120, 255])
    });
    let noisy = RgbaImage::from_fn(96, 96, |x, y| {
        let pixel = clean.get_pixel(x, y).0;
        let noise = ((x * 7919 + y * 104729) % 41) as i32 - 20;
        Rgba([0, 1, 2, 3].map(|c| {
            if c == 3 {
                255
            } else {
                (i32::from(pixel[c]) + noise).clamp(0, 255) as u8
            }
        }))
    });
    let body = invoke(
        &host,
        "face-restore-bilateral-sharpen",
        json!({ "image": png_base64(&noisy), "strength": 1.0 }),
    )
    .await;
    let restored = decode_png(body["output"].as_str().expect("output"));
    assert!(
        psnr(&restored, &clean) > psnr(&noisy, &clean),
        "restoration must bring the image closer to the clean one"
    );
}

#[tokio::test]
async fn an_image_over_80_megapixels_is_refused_from_its_header() {
    use base64::Engine;
    let host = spawn_host().await;
    let huge = support::png_header_only(10_000, 9_000);
    let encoded = base64::engine::general_purpose::STANDARD.encode(huge);
    let response = host
        .invoke("upscale-lanczos-sharpen", &json!({ "image": encoded }))
        .await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("80 megapixels"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_visual_requests_are_400s_naming_the_field() {
    let host = spawn_host().await;
    let cases = [
        ("upscale-lanczos-sharpen", json!({}), "image"),
        (
            "upscale-lanczos-sharpen",
            json!({ "image": "%%%not-base64" }),
            "base64",
        ),
        (
            "upscale-lanczos-sharpen",
            json!({ "image": png_base64(&disc_image()), "scale": 3 }),
            "scale",
        ),
        (
            "inpaint-telea",
            json!({ "image": png_base64(&disc_image()) }),
            "mask",
        ),
        (
            "segment-graph-felzenszwalb",
            json!({ "image": png_base64(&disc_image()), "point": [500, 1] }),
            "outside",
        ),
        (
            "interpolate-block-motion",
            json!({ "image": png_base64(&disc_image()) }),
            "nextImage",
        ),
    ];
    for (endpoint, body, expected) in cases {
        let response = host.invoke(endpoint, &body).await;
        assert_eq!(response.status(), 400, "{endpoint} {body}");
        let answer: Value = response.json().await.expect("JSON");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{endpoint}: {message}");
    }
    let not_an_image = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"plain text, not pixels",
    );
    let response = host
        .invoke("upscale-lanczos-sharpen", &json!({ "image": not_an_image }))
        .await;
    assert_eq!(response.status(), 400);
}
