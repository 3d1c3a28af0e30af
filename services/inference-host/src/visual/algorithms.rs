//! The classical image algorithms behind the visual endpoints, one module each.

pub mod face_restore;
pub mod filters;
pub mod inpaint;
pub mod interpolate;
pub mod matting;
pub mod segment;
pub mod upscale;
