//! Pixel work, all blocking (callers run it on `web::block`): deciding the type from the bytes,
//! checking an upload (its container walked under limits by `container`, then decoded the
//! cheapest way by `decode`), planning and pricing renditions for the memory budget, and
//! rendering resized/cropped renditions with EXIF orientation applied.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat};

use crate::images::container::{self, AncillaryLimits};
use crate::images::decode::{self, Header};

pub use crate::images::kind::{ImageKind, ImageProblem};

/// A decoded upload, checked and ready to store.
pub struct Checked {
    pub kind: ImageKind,
    /// Width and height as displayed, i.e. after the EXIF orientation is applied.
    pub width: u32,
    pub height: u32,
    /// The bytes to store and serve as the original: the upload without location metadata,
    /// with the licence fields read from it (creator, credit, source, copyright, usage terms)
    /// as a fresh XMP packet (JPEG, PNG).
    pub stored: Vec<u8>,
    /// The newsroom metadata read from the upload's XMP and IPTC-IIM (PRODUCT.md §3a).
    pub embedded: crate::images::embedded::Embedded,
}

/// Decodes `bytes` of `kind` whole under a pixel limit, EXIF orientation applied (tests and
/// the demo; uploads and renditions go through [`check_upload`] and [`render`]).
pub fn decode_full(bytes: &[u8], kind: ImageKind, max_pixels: u64) -> Result<DynamicImage, ImageProblem> {
    decode::decode_full(bytes, kind, max_pixels)
}

/// How much an upload check reduces the picture while decoding it: every byte of pixel data is
/// still decoded (so corruption shows), but a JPEG at 1/8 scale and a PNG averaged down as it
/// streams, never at full size.
pub const CHECK_SHRINK: u32 = 8;

/// Peak memory of [`check_upload`] for an upload of `len` bytes with this header.
pub fn check_cost(header: Option<&Header>, len: usize) -> u64 {
    let decoding = match header {
        Some(h) => h.decode_cost(CHECK_SHRINK),
        None => 16 * 1024 * 1024,
    };
    // The upload, the sanitized copy and the decoder's work.
    (len as u64).saturating_mul(2).saturating_add(decoding)
}

/// Checks an upload: type from the bytes; the container walked under `limits` and reduced to
/// what is stored (location metadata and everything else not needed to render removed); then
/// the stored bytes decoded under the pixel limit, so a truncated or corrupt file is refused
/// now, not when a rendition is first asked for.
pub fn check_upload(bytes: &[u8], max_pixels: u64, limits: AncillaryLimits) -> Result<Checked, ImageProblem> {
    let kind = ImageKind::sniff(bytes).ok_or(ImageProblem::Unsupported)?;
    let sanitized = container::sanitize(bytes, kind, limits)?;
    let image = decode::decode(&sanitized.bytes, kind, max_pixels, CHECK_SHRINK)?;
    let (width, height) = match decode::header(&sanitized.bytes, kind) {
        Some(h) if decode::orientation(&sanitized.bytes, kind).to_exif() >= 5 => (h.height, h.width),
        Some(h) => (h.width, h.height),
        None => (image.width(), image.height()),
    };
    let embedded = crate::images::embedded::read(&sanitized.metadata);
    Ok(Checked {
        kind,
        width,
        height,
        stored: crate::images::embedded::keep_rights(sanitized.bytes, kind, &embedded),
        embedded,
    })
}

// --- renditions ---------------------------------------------------------------------------

/// How a rendition fills the requested box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Fill the box exactly, cropping around the focal point.
    Cover,
    /// Fit inside the box, keeping the whole picture.
    Contain,
}

impl Fit {
    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Cover => "cover",
            Fit::Contain => "contain",
        }
    }
}

/// Output formats of renditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Jpeg,
    Png,
    Webp,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Png => "image/png",
            OutputFormat::Webp => "image/webp",
        }
    }

    /// The natural rendition format of an original: JPEG stays JPEG, WebP stays WebP, PNG and
    /// GIF (first frame) become PNG.
    pub fn for_original(kind: ImageKind) -> OutputFormat {
        match kind {
            ImageKind::Jpeg => OutputFormat::Jpeg,
            ImageKind::Webp => OutputFormat::Webp,
            ImageKind::Png | ImageKind::Gif => OutputFormat::Png,
        }
    }
}

/// A rendition request, already checked against the allowed sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenditionSpec {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub format: OutputFormat,
}

impl RenditionSpec {
    /// The storage file name of this rendition, unique per parameter set.
    pub fn file_name(&self) -> String {
        format!(
            "w{}-h{}-{}.{}",
            self.width.unwrap_or(0),
            self.height.unwrap_or(0),
            self.fit.as_str(),
            self.format.as_str()
        )
    }
}

/// The crop rectangle `(x, y, w, h)` of aspect `target_w:target_h` in a `src_w×src_h` image,
/// as large as possible and centred on the focal point `(fx, fy)` (0–1) as far as the edges
/// allow.
pub fn focal_crop(
    src_w: u32,
    src_h: u32,
    target_w: u32,
    target_h: u32,
    fx: f64,
    fy: f64,
) -> (u32, u32, u32, u32) {
    let (sw, sh) = (f64::from(src_w), f64::from(src_h));
    let ratio = f64::from(target_w) / f64::from(target_h);
    let (cw, ch) = if sw / sh > ratio {
        ((sh * ratio).round().clamp(1.0, sw), sh)
    } else {
        (sw, (sw / ratio).round().clamp(1.0, sh))
    };
    let x = (fx.clamp(0.0, 1.0) * sw - cw / 2.0).clamp(0.0, sw - cw);
    let y = (fy.clamp(0.0, 1.0) * sh - ch / 2.0).clamp(0.0, sh - ch);
    (x.round() as u32, y.round() as u32, cw as u32, ch as u32)
}

/// The size a rendition comes out at, and by how much the decoder may shrink the picture
/// (each side) on the way, so that it still has at least the pixels the output needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenditionPlan {
    pub width: u32,
    pub height: u32,
    pub shrink: u32,
}

/// `image`'s own rule for fitting `w×h` into a box (`resize`), kept so sizes do not change.
fn fit_inside(w: u32, h: u32, bw: u32, bh: u32) -> (u32, u32) {
    let ratio = (f64::from(bw) / f64::from(w)).min(f64::from(bh) / f64::from(h));
    let side = |v: u32| ((f64::from(v) * ratio).round() as u32).max(1);
    (side(w), side(h))
}

/// Plans a rendition of a picture of `width×height` (as displayed). Never enlarges: a box
/// bigger than the picture yields the picture at its own size (for `cover`, the largest crop
/// of the right shape).
pub fn plan_rendition(width: u32, height: u32, spec: RenditionSpec) -> RenditionPlan {
    let shrink = |scale: f64| (scale.floor() as u32).max(1);
    match (spec.width, spec.height, spec.fit) {
        (Some(w), Some(h), Fit::Cover) => {
            let (_, _, cw, ch) = focal_crop(width, height, w, h, 0.5, 0.5);
            if cw > w {
                RenditionPlan {
                    width: w,
                    height: h,
                    shrink: shrink((f64::from(cw) / f64::from(w)).min(f64::from(ch) / f64::from(h))),
                }
            } else {
                RenditionPlan {
                    width: cw,
                    height: ch,
                    shrink: 1,
                }
            }
        }
        (w, h, _) => {
            let bw = w.unwrap_or(u32::MAX).min(width);
            let bh = h.unwrap_or(u32::MAX).min(height);
            if bw >= width && bh >= height {
                return RenditionPlan {
                    width,
                    height,
                    shrink: 1,
                };
            }
            let (ow, oh) = fit_inside(width, height, bw, bh);
            RenditionPlan {
                width: ow,
                height: oh,
                shrink: shrink((f64::from(width) / f64::from(ow)).min(f64::from(height) / f64::from(oh))),
            }
        }
    }
}

/// Peak memory of [`render`], in bytes: the original's bytes, decoding (see `decode`), a crop
/// or conversion copy of the decoded pixels, `image`'s resize (one `f32` RGBA pass of the
/// source width by the output height), and the output pixels, converted and encoded.
/// `header` may come from the first bytes of the file only; without it the worst case is used.
pub fn rendition_cost(
    header: Option<&Header>,
    width: u32,
    height: u32,
    plan: RenditionPlan,
    file_bytes: u64,
) -> u64 {
    let (decoding, (rw, rh)) = match header {
        Some(h) => (h.decode_cost(plan.shrink), h.reduced_size(plan.shrink)),
        None => (decode::cost_without_header(width, height), (width, height)),
    };
    let reduced = u64::from(rw) * u64::from(rh);
    let output = u64::from(plan.width) * u64::from(plan.height);
    file_bytes
        .saturating_add(decoding)
        .saturating_add(reduced * 4)
        .saturating_add(u64::from(rw.max(rh)) * u64::from(plan.height.max(plan.width)) * 16)
        .saturating_add(output * 12)
}

/// Renders a rendition of the stored original, decoding it no larger than the plan needs.
pub fn render(
    original: &[u8],
    kind: ImageKind,
    spec: RenditionSpec,
    focal: (f64, f64),
    max_pixels: u64,
) -> Result<Vec<u8>, ImageProblem> {
    let (width, height) = match decode::header(original, kind) {
        Some(h) if decode::orientation(original, kind).to_exif() >= 5 => (h.height, h.width),
        Some(h) => (h.width, h.height),
        None => {
            let full = decode::decode_full(original, kind, max_pixels)?;
            (full.width(), full.height())
        }
    };
    let plan = plan_rendition(width, height, spec);
    let image = decode::decode(original, kind, max_pixels, plan.shrink)?;
    let (iw, ih) = (image.width(), image.height());
    let resized = match (spec.width, spec.height, spec.fit) {
        (Some(w), Some(h), Fit::Cover) => {
            let (x, y, cw, ch) = focal_crop(iw, ih, w, h, focal.0, focal.1);
            let cropped = image.crop_imm(x, y, cw, ch);
            if (cw, ch) == (plan.width, plan.height) {
                cropped
            } else {
                cropped.resize_exact(plan.width, plan.height, FilterType::Lanczos3)
            }
        }
        _ if (iw, ih) == (plan.width, plan.height) => image,
        _ => image.resize_exact(plan.width, plan.height, FilterType::Lanczos3),
    };
    encode(&resized, spec.format)
}

/// Encodes pixels; the encoders write no metadata at all.
pub fn encode(image: &DynamicImage, format: OutputFormat) -> Result<Vec<u8>, ImageProblem> {
    let mut out = Cursor::new(Vec::new());
    let result = match format {
        OutputFormat::Jpeg => {
            let rgb = image.to_rgb8();
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
            rgb.write_with_encoder(encoder)
        }
        OutputFormat::Png => image.write_to(&mut out, ImageFormat::Png),
        OutputFormat::Webp => {
            // The WebP encoder of `image` is lossless and wants 8-bit RGB(A).
            let rgba = DynamicImage::ImageRgba8(image.to_rgba8());
            rgba.write_to(&mut out, ImageFormat::WebP)
        }
    };
    result.map_err(|e| ImageProblem::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focal_crop_stays_inside_and_follows_the_focal_point() {
        // 3000×2000 into a square: 2000×2000, centred by default.
        assert_eq!(focal_crop(3000, 2000, 640, 640, 0.5, 0.5), (500, 0, 2000, 2000));
        // Focal point at the left edge: the crop starts at 0.
        assert_eq!(focal_crop(3000, 2000, 640, 640, 0.0, 0.5), (0, 0, 2000, 2000));
        // Far right: clamped to the right edge.
        assert_eq!(focal_crop(3000, 2000, 640, 640, 1.0, 0.5), (1000, 0, 2000, 2000));
        // Wide target in a tall image: full width, height by ratio, near the top.
        assert_eq!(focal_crop(1000, 2000, 1280, 720, 0.5, 0.1), (0, 0, 1000, 563));
    }

    fn spec(w: Option<u32>, h: Option<u32>, fit: Fit) -> RenditionSpec {
        RenditionSpec {
            width: w,
            height: h,
            fit,
            format: OutputFormat::Png,
        }
    }

    #[test]
    fn renditions_are_planned_with_the_largest_shrink_that_keeps_enough_pixels() {
        // 7000×7000 to 320 wide: fits, shrink 21 (7000/320 = 21.9).
        let p = plan_rendition(7000, 7000, spec(Some(320), None, Fit::Contain));
        assert_eq!((p.width, p.height, p.shrink), (320, 320, 21));
        // Cover 1920×1080 of 3000×2000: crop 3000×1688, shrink 1 (ratio 1.56).
        let p = plan_rendition(3000, 2000, spec(Some(1920), Some(1080), Fit::Cover));
        assert_eq!((p.width, p.height, p.shrink), (1920, 1080, 1));
        // Never enlarges.
        let p = plan_rendition(200, 100, spec(Some(640), Some(640), Fit::Cover));
        assert_eq!((p.width, p.height, p.shrink), (100, 100, 1));
        let p = plan_rendition(200, 100, spec(Some(640), None, Fit::Contain));
        assert_eq!((p.width, p.height, p.shrink), (200, 100, 1));
    }
}
