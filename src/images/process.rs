//! Pixel work, all blocking (callers run it on `web::block`): deciding the type from the bytes,
//! decoding under limits (decompression bombs are refused from the header, before any pixel
//! buffer is allocated), removing location metadata from what is stored and served, and
//! rendering resized/cropped renditions with EXIF orientation applied.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The image types accepted for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageKind {
    /// Decides the type from the magic bytes (never from a file name or a declared type).
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        match infer::get(bytes)?.mime_type() {
            "image/jpeg" => Some(ImageKind::Jpeg),
            "image/png" => Some(ImageKind::Png),
            "image/webp" => Some(ImageKind::Webp),
            "image/gif" => Some(ImageKind::Gif),
            _ => None,
        }
    }

    pub fn from_content_type(ct: &str) -> Option<ImageKind> {
        match ct {
            "image/jpeg" => Some(ImageKind::Jpeg),
            "image/png" => Some(ImageKind::Png),
            "image/webp" => Some(ImageKind::Webp),
            "image/gif" => Some(ImageKind::Gif),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "jpg",
            ImageKind::Png => "png",
            ImageKind::Webp => "webp",
            ImageKind::Gif => "gif",
        }
    }

    fn format(self) -> ImageFormat {
        match self {
            ImageKind::Jpeg => ImageFormat::Jpeg,
            ImageKind::Png => ImageFormat::Png,
            ImageKind::Webp => ImageFormat::WebP,
            ImageKind::Gif => ImageFormat::Gif,
        }
    }
}

/// Why an image could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageProblem {
    #[error("the file is not a JPEG, PNG, WebP or GIF image")]
    Unsupported,
    #[error("the image is {width}×{height} = {pixels} pixels; the limit is {limit} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error("the image is corrupt or truncated: {0}")]
    Corrupt(String),
    #[error("could not encode the image: {0}")]
    Encode(String),
}

/// A decoded upload, checked and ready to store.
pub struct Checked {
    pub kind: ImageKind,
    /// Width and height as displayed, i.e. after the EXIF orientation is applied.
    pub width: u32,
    pub height: u32,
    /// The bytes to store and serve as the original: the upload without location metadata.
    pub stored: Vec<u8>,
}

/// Decodes `bytes` of `kind` under a pixel limit and returns the image, EXIF orientation
/// applied. The dimensions are read from the header first; over the limit nothing else happens.
pub fn decode(bytes: &[u8], kind: ImageKind, max_pixels: u64) -> Result<DynamicImage, ImageProblem> {
    let corrupt = |e: image::ImageError| ImageProblem::Corrupt(e.to_string());
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    // Each side may be at most the whole pixel budget; the product is checked below.
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // RGBA with 16 bits per channel is 8 bytes a pixel; leave room for the decoder's own state.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 * 1024 * 1024));
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(|e| match e {
        image::ImageError::Limits(_) => too_many_from_error(bytes, kind, max_pixels),
        other => corrupt(other),
    })?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels || width == 0 || height == 0 {
        return Err(ImageProblem::TooManyPixels {
            width,
            height,
            pixels,
            limit: max_pixels,
        });
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    limits.reserve(decoder.total_bytes()).map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// A limits error from the decoder constructor: report the header's dimensions if we can.
fn too_many_from_error(bytes: &[u8], kind: ImageKind, limit: u64) -> ImageProblem {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.no_limits();
    match reader.into_dimensions() {
        Ok((width, height)) => ImageProblem::TooManyPixels {
            width,
            height,
            pixels: u64::from(width) * u64::from(height),
            limit,
        },
        Err(e) => ImageProblem::Corrupt(e.to_string()),
    }
}

/// Checks an upload: type from the bytes, full decode under the pixel limit (so a truncated or
/// corrupt file is refused now, not when a rendition is first asked for), and location
/// metadata removed from the bytes that will be stored.
pub fn check_upload(bytes: &[u8], max_pixels: u64) -> Result<Checked, ImageProblem> {
    let kind = ImageKind::sniff(bytes).ok_or(ImageProblem::Unsupported)?;
    let image = decode(bytes, kind, max_pixels)?;
    let orientation = orientation_of(bytes, kind);
    let stored = strip_metadata(bytes, kind, orientation)?;
    Ok(Checked {
        kind,
        width: image.width(),
        height: image.height(),
        stored,
    })
}

fn orientation_of(bytes: &[u8], kind: ImageKind) -> u8 {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.no_limits();
    reader
        .into_decoder()
        .ok()
        .and_then(|mut d| d.orientation().ok())
        .map(|o| o.to_exif())
        .unwrap_or(1)
}

// --- metadata removal ---------------------------------------------------------------------

/// Removes EXIF (which may carry GPS coordinates), XMP and IPTC from the file without
/// re-encoding its pixels, so the original keeps its quality. The EXIF orientation is the one
/// piece kept: JPEG and PNG get a minimal EXIF block holding only that tag (when it is not the
/// default), so viewers still show the photo upright. GIF carries no EXIF; its bytes are kept.
/// Each format's end marker is required, so a truncated upload is refused even when the
/// decoder would tolerate it.
pub fn strip_metadata(bytes: &[u8], kind: ImageKind, orientation: u8) -> Result<Vec<u8>, ImageProblem> {
    match kind {
        ImageKind::Jpeg => strip_jpeg(bytes, orientation),
        ImageKind::Png => strip_png(bytes, orientation),
        ImageKind::Webp => strip_webp(bytes),
        ImageKind::Gif => {
            // The decoder reads the first frame only; the trailer proves the rest arrived.
            if bytes.last() != Some(&0x3B) {
                return Err(corrupt("the GIF is truncated (no trailer)"));
            }
            Ok(bytes.to_vec())
        }
    }
}

fn corrupt(msg: &str) -> ImageProblem {
    ImageProblem::Corrupt(msg.to_owned())
}

/// A big-endian TIFF structure with one IFD holding only the Orientation tag (0x0112).
fn orientation_tiff(orientation: u8) -> Vec<u8> {
    let mut t = Vec::with_capacity(26);
    t.extend_from_slice(b"MM\x00\x2a\x00\x00\x00\x08"); // header, IFD0 at offset 8
    t.extend_from_slice(&1u16.to_be_bytes()); // one entry
    t.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    t.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    t.extend_from_slice(&1u32.to_be_bytes()); // count 1
    t.extend_from_slice(&[0, orientation, 0, 0]); // value, left-justified
    t.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    t
}

/// Walks the JPEG segments up to the start of scan and drops APP1 (EXIF, XMP), APP13
/// (Photoshop/IPTC) and COM segments; everything from SOS on is copied unchanged.
fn strip_jpeg(bytes: &[u8], orientation: u8) -> Result<Vec<u8>, ImageProblem> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(corrupt("missing JPEG start marker"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    if orientation > 1 && orientation <= 8 {
        let mut payload = b"Exif\x00\x00".to_vec();
        payload.extend_from_slice(&orientation_tiff(orientation));
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&payload);
    }
    let mut i = 2;
    loop {
        // Fill bytes (0xFF padding) may precede a marker.
        while i < bytes.len() && bytes[i] == 0xFF && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 4 > bytes.len() || bytes[i] != 0xFF {
            return Err(corrupt("JPEG segments are truncated"));
        }
        let marker = bytes[i + 1];
        if marker == 0xDA || marker == 0xD9 {
            // Start of scan (entropy-coded data follows) or end of image: copy the rest. Some
            // decoders fill a truncated scan with grey; the missing end-of-image marker gives
            // such a file away.
            if !bytes[i..].windows(2).any(|w| w == [0xFF, 0xD9]) {
                return Err(corrupt("the JPEG is truncated (no end-of-image marker)"));
            }
            out.extend_from_slice(&bytes[i..]);
            return Ok(out);
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&bytes[i..i + 2]);
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if len < 2 || i + 2 + len > bytes.len() {
            return Err(corrupt("a JPEG segment runs past the end of the file"));
        }
        let drop = matches!(marker, 0xE1 | 0xED | 0xFE);
        if !drop {
            out.extend_from_slice(&bytes[i..i + 2 + len]);
        }
        i += 2 + len;
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Drops the PNG chunks that carry metadata (`eXIf`, `tEXt`, `zTXt`, `iTXt`, `tIME`).
fn strip_png(bytes: &[u8], orientation: u8) -> Result<Vec<u8>, ImageProblem> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return Err(corrupt("missing PNG signature"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(SIGNATURE);
    let mut i = SIGNATURE.len();
    while i + 12 <= bytes.len() {
        let len = u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
        let end = i
            .checked_add(12)
            .and_then(|v| v.checked_add(len))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| corrupt("a PNG chunk runs past the end of the file"))?;
        let kind = &bytes[i + 4..i + 8];
        if kind == b"IDAT" && orientation > 1 && orientation <= 8 && !out.windows(4).any(|w| w == b"eXIf") {
            // eXIf must come before the first IDAT.
            let data = orientation_tiff(orientation);
            let mut chunk = b"eXIf".to_vec();
            chunk.extend_from_slice(&data);
            out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            out.extend_from_slice(&chunk);
            out.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(corrupt("PNG has no IEND chunk"))
}

/// Drops the `EXIF` and `XMP ` chunks of a WebP file and clears their flags in `VP8X`.
fn strip_webp(bytes: &[u8]) -> Result<Vec<u8>, ImageProblem> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(corrupt("missing RIFF/WEBP header"));
    }
    let mut body = Vec::with_capacity(bytes.len());
    body.extend_from_slice(b"WEBP");
    let mut i = 12;
    while i + 8 <= bytes.len() {
        let len = u32::from_le_bytes([bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]]) as usize;
        let padded = len + (len & 1);
        let end = (i + 8 + padded).min(bytes.len());
        if i + 8 + len > bytes.len() {
            return Err(corrupt("a WebP chunk runs past the end of the file"));
        }
        let fourcc = &bytes[i..i + 4];
        match fourcc {
            b"EXIF" | b"XMP " => {}
            b"VP8X" if len >= 1 => {
                let start = body.len();
                body.extend_from_slice(&bytes[i..end]);
                body[start + 8] &= !(0x08 | 0x04);
            }
            _ => body.extend_from_slice(&bytes[i..end]),
        }
        i = end;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
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

/// Renders a rendition of the stored original. Never enlarges: a box bigger than the picture
/// yields the picture at its own size (for `cover`, the largest crop of the right shape).
pub fn render(
    original: &[u8],
    kind: ImageKind,
    spec: RenditionSpec,
    focal: (f64, f64),
    max_pixels: u64,
) -> Result<Vec<u8>, ImageProblem> {
    let image = decode(original, kind, max_pixels)?;
    let (iw, ih) = (image.width(), image.height());
    let resized = match (spec.width, spec.height, spec.fit) {
        (Some(w), Some(h), Fit::Cover) => {
            let (x, y, cw, ch) = focal_crop(iw, ih, w, h, focal.0, focal.1);
            let cropped = image.crop_imm(x, y, cw, ch);
            if cw > w {
                cropped.resize_exact(w, h, FilterType::Lanczos3)
            } else {
                cropped
            }
        }
        (w, h, _) => {
            let bw = w.unwrap_or(u32::MAX).min(iw);
            let bh = h.unwrap_or(u32::MAX).min(ih);
            if bw >= iw && bh >= ih {
                image
            } else {
                image.resize(bw, bh, FilterType::Lanczos3)
            }
        }
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

    #[test]
    fn crc32_matches_the_png_reference() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn jpeg_app1_is_dropped_and_orientation_kept() {
        let img = DynamicImage::new_rgb8(8, 4);
        let jpeg = encode(&img, OutputFormat::Jpeg).unwrap();
        let mut with_exif = jpeg[..2].to_vec();
        let payload = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08GPSGPSGPS";
        with_exif.extend_from_slice(&[0xFF, 0xE1]);
        with_exif.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        with_exif.extend_from_slice(payload);
        with_exif.extend_from_slice(&jpeg[2..]);
        let stripped = strip_jpeg(&with_exif, 6).unwrap();
        assert!(!stripped.windows(3).any(|w| w == b"GPS"));
        let decoded = decode(&stripped, ImageKind::Jpeg, 1000).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (4, 8),
            "rotated by the kept orientation"
        );
    }

    fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }

    #[test]
    fn png_text_and_exif_chunks_are_dropped_and_orientation_kept() {
        let png = encode(&DynamicImage::new_rgb8(6, 3), OutputFormat::Png).unwrap();
        // Insert an eXIf (orientation 6 plus a fake GPS payload) and a tEXt chunk after IHDR.
        let ihdr_end = 8 + 25;
        let mut exif = orientation_tiff(6);
        exif.extend_from_slice(b"GPSGPS");
        let mut tagged = png[..ihdr_end].to_vec();
        tagged.extend_from_slice(&png_chunk(b"eXIf", &exif));
        tagged.extend_from_slice(&png_chunk(b"tEXt", b"Location\x0052.5N 13.4E"));
        tagged.extend_from_slice(&png[ihdr_end..]);
        let stripped = strip_png(&tagged, 6).unwrap();
        assert!(!stripped.windows(3).any(|w| w == b"GPS"));
        assert!(!stripped.windows(8).any(|w| w == b"Location"));
        let decoded = decode(&stripped, ImageKind::Png, 1000).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (3, 6));
        assert!(
            strip_png(&tagged[..tagged.len() - 12], 1).is_err(),
            "no IEND = truncated"
        );
    }

    #[test]
    fn webp_exif_and_xmp_chunks_are_dropped_and_the_file_stays_valid() {
        let simple = encode(&DynamicImage::new_rgba8(5, 4), OutputFormat::Webp).unwrap();
        let vp8l = &simple[12..];
        // VP8X with the EXIF and XMP flags, canvas 5×4, then the image, EXIF and XMP chunks.
        let mut body = b"WEBP".to_vec();
        body.extend_from_slice(b"VP8X");
        body.extend_from_slice(&10u32.to_le_bytes());
        body.extend_from_slice(&[0x08 | 0x04 | 0x10, 0, 0, 0, 4, 0, 0, 3, 0, 0]);
        body.extend_from_slice(vp8l);
        for (fourcc, data) in [
            (&b"EXIF"[..], &b"MM\x00\x2aGPSGPS"[..]),
            (b"XMP ", b"<x:xmpmeta>GPS</x:xmpmeta>"),
        ] {
            body.extend_from_slice(fourcc);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend_from_slice(&body);
        let stripped = strip_webp(&file).unwrap();
        assert!(!stripped.windows(3).any(|w| w == b"GPS"));
        assert_eq!(stripped[20] & 0x0C, 0, "EXIF and XMP flags cleared");
        let decoded = decode(&stripped, ImageKind::Webp, 1000).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (5, 4));
    }
}
