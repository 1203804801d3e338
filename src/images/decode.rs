//! Decoding with the least memory each format allows, and what it costs (for the budget in
//! `budget.rs`). A rendition never needs more pixels than the box it fills, so:
//! - JPEG (baseline or progressive, 8-bit grey or YCbCr) is decoded at 1/2, 1/4 or 1/8 scale
//!   inside the inverse DCT (`jpeg-decoder`): a 50-megapixel photo becomes a thumbnail without
//!   ever holding its full-size pixels;
//! - non-interlaced PNG is read one row at a time and averaged down by an integer factor as
//!   the rows stream in (a box filter), so only a few rows and the reduced picture are held;
//! - everything else (WebP, GIF, interlaced PNG, CMYK or 12-bit JPEG) is decoded whole by
//!   `image` under `Limits`, and priced accordingly.
//!
//! The header is read by hand (PNG `IHDR`, JPEG `SOFn`) from the first bytes of the file, so
//! the cost is known before the whole original is even read.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageDecoder, ImageReader, Limits};

use crate::images::kind::{ImageKind, ImageProblem};

const MIB: u64 = 1024 * 1024;
/// Decoder state, row buffers, the zlib window and the like.
const SLACK: u64 = 2 * MIB;

/// What an image's header says: enough to choose a decoding path and price it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// As coded, before any EXIF orientation (the pixel count is what matters here).
    pub width: u32,
    pub height: u32,
    kind: ImageKind,
    /// JPEG: colour components; PNG: channels.
    channels: u32,
    /// JPEG: progressive (its coefficients are held for the whole image while decoding).
    progressive: bool,
    /// The JPEG path can take it: 8-bit baseline/extended/progressive Huffman, grey or YCbCr.
    jpeg_scalable: bool,
    /// PNG: Adam7 interlacing (rows of the final image do not arrive in order).
    interlaced: bool,
    /// Bytes per sample of a full decode (2 for 16-bit PNG).
    sample_bytes: u32,
}

/// How an image is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// JPEG scaled by 1/`scale` in the DCT (1, 2, 4 or 8).
    Jpeg { scale: u32 },
    /// PNG rows averaged in `factor`×`factor` blocks as they stream in.
    PngRows { factor: u32 },
    /// `image` decodes it whole.
    Full,
}

/// Reads the header from the first bytes of a file; `None` if they do not hold it (then use
/// [`cost_without_header`]).
pub fn header(bytes: &[u8], kind: ImageKind) -> Option<Header> {
    match kind {
        ImageKind::Png => png_header(bytes),
        ImageKind::Jpeg => jpeg_header(bytes),
        ImageKind::Webp | ImageKind::Gif => {
            let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
            reader.no_limits();
            let (width, height) = reader.into_dimensions().ok()?;
            Some(Header {
                width,
                height,
                kind,
                channels: 4,
                progressive: false,
                jpeg_scalable: false,
                interlaced: false,
                sample_bytes: 1,
            })
        }
    }
}

fn png_header(bytes: &[u8]) -> Option<Header> {
    let ihdr = bytes.get(8..8 + 25)?;
    if &ihdr[4..8] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([ihdr[i], ihdr[i + 1], ihdr[i + 2], ihdr[i + 3]]);
    let (depth, color, interlace) = (ihdr[16], ihdr[17], ihdr[20]);
    let channels = match color {
        0 => 1,
        2 => 3,
        3 => 4, // palette, expanded (with transparency at most RGBA)
        4 => 2,
        6 => 4,
        _ => return None,
    };
    Some(Header {
        width: be(8),
        height: be(12),
        kind: ImageKind::Png,
        channels,
        progressive: false,
        jpeg_scalable: false,
        interlaced: interlace != 0,
        sample_bytes: if depth == 16 { 2 } else { 1 },
    })
}

fn jpeg_header(bytes: &[u8]) -> Option<Header> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    loop {
        while bytes.get(i) == Some(&0xFF) && bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(i + 1)?;
        if matches!(marker, 0xD0..=0xD7 | 0x01) {
            i += 2;
            continue;
        }
        if matches!(marker, 0xDA | 0xD9) {
            return None; // scan data before any frame header
        }
        let len = usize::from(u16::from_be_bytes([*bytes.get(i + 2)?, *bytes.get(i + 3)?]));
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let sof = bytes.get(i + 4..i + 2 + len)?;
            let (precision, height, width, components) = (
                sof.first().copied()?,
                u16::from_be_bytes([*sof.get(1)?, *sof.get(2)?]),
                u16::from_be_bytes([*sof.get(3)?, *sof.get(4)?]),
                u32::from(*sof.get(5)?),
            );
            return Some(Header {
                width: u32::from(width),
                height: u32::from(height),
                kind: ImageKind::Jpeg,
                channels: components.max(1),
                progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                jpeg_scalable: matches!(marker, 0xC0..=0xC2) && precision == 8 && matches!(components, 1 | 3),
                interlaced: false,
                sample_bytes: if precision > 8 { 2 } else { 1 },
            });
        }
        i += 2 + len;
    }
}

impl Header {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }

    /// The path for a wanted reduction: each side may be divided by up to `shrink`.
    fn path(&self, shrink: u32) -> Path {
        match self.kind {
            ImageKind::Jpeg if self.jpeg_scalable => Path::Jpeg {
                scale: [8, 4, 2, 1].into_iter().find(|&s| s <= shrink).unwrap_or(1),
            },
            ImageKind::Png if !self.interlaced && shrink > 1 => Path::PngRows { factor: shrink },
            _ => Path::Full,
        }
    }

    /// Width and height after decoding with [`decode`] and this `shrink`.
    pub fn reduced_size(&self, shrink: u32) -> (u32, u32) {
        match self.path(shrink) {
            Path::Jpeg { scale: s } | Path::PngRows { factor: s } => {
                (self.width.div_ceil(s), self.height.div_ceil(s))
            }
            Path::Full => (self.width, self.height),
        }
    }

    /// Peak memory of [`decode`] with this `shrink`, in bytes: the decoder's buffers, the
    /// pixels it returns and one copy of them (orientation, conversions).
    pub fn decode_cost(&self, shrink: u32) -> u64 {
        let (rw, rh) = self.reduced_size(shrink);
        let reduced = u64::from(rw) * u64::from(rh);
        let channels = u64::from(self.channels);
        match self.path(shrink) {
            Path::Jpeg { .. } => {
                // Component planes and the interleaved output, both at the reduced size; a
                // progressive file also keeps every DCT coefficient (2 bytes) at full size.
                let coefficients = if self.progressive {
                    self.pixels() * channels * 2
                } else {
                    0
                };
                reduced * channels * 3 + coefficients + SLACK
            }
            Path::PngRows { .. } => {
                let row = u64::from(self.width) * channels * u64::from(self.sample_bytes);
                // Two rows in the decoder, one sum row (u32), the reduced picture and a copy.
                row * 2 + u64::from(rw) * channels * 4 + reduced * channels * 2 + SLACK
            }
            Path::Full => {
                let bpp = u64::from(self.channels.max(3)) * u64::from(self.sample_bytes);
                self.pixels() * bpp * 2 + SLACK
            }
        }
    }
}

/// Peak memory of decoding an image whose header could not be read from the first bytes:
/// the worst case of its size.
pub fn cost_without_header(width: u32, height: u32) -> u64 {
    u64::from(width) * u64::from(height) * 16 + SLACK
}

fn corrupt<E: std::fmt::Display>(e: E) -> ImageProblem {
    ImageProblem::Corrupt(e.to_string())
}

/// Decodes `bytes`, reducing each side by up to `shrink` where the format allows it, and
/// applies the EXIF orientation. Over `max_pixels` is refused from the header.
pub fn decode(
    bytes: &[u8],
    kind: ImageKind,
    max_pixels: u64,
    shrink: u32,
) -> Result<DynamicImage, ImageProblem> {
    let Some(header) = header(bytes, kind) else {
        return decode_full(bytes, kind, max_pixels);
    };
    if header.pixels() > max_pixels || header.width == 0 || header.height == 0 {
        return Err(ImageProblem::TooManyPixels {
            width: header.width,
            height: header.height,
            pixels: header.pixels(),
            limit: max_pixels,
        });
    }
    let limit = header.decode_cost(shrink);
    let image = match header.path(shrink) {
        Path::Jpeg { scale } => decode_jpeg(bytes, &header, scale, limit)?,
        Path::PngRows { factor } => decode_png_rows(bytes, factor, limit)?,
        Path::Full => return decode_full(bytes, kind, max_pixels),
    };
    let mut image = match image {
        Some(image) => image,
        None => return decode_full(bytes, kind, max_pixels),
    };
    image.apply_orientation(orientation(bytes, kind));
    Ok(image)
}

/// Decodes the whole image with `image` under limits, EXIF orientation applied.
pub fn decode_full(bytes: &[u8], kind: ImageKind, max_pixels: u64) -> Result<DynamicImage, ImageProblem> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    let mut limits = Limits::default();
    // Each side may be at most the whole pixel budget; the product is checked below.
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // RGBA with 16 bits per channel is 8 bytes a pixel; leave room for the decoder's own state.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(16 * MIB));
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
        Err(e) => corrupt(e),
    }
}

/// The EXIF orientation of a stored (sanitized) file, read from its header only.
pub fn orientation(bytes: &[u8], kind: ImageKind) -> image::metadata::Orientation {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), kind.format());
    reader.no_limits();
    reader
        .into_decoder()
        .ok()
        .and_then(|mut d| d.orientation().ok())
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

/// JPEG scaled in the DCT; `None` when the decoder reports a format this path does not take.
fn decode_jpeg(
    bytes: &[u8],
    header: &Header,
    scale: u32,
    limit: u64,
) -> Result<Option<DynamicImage>, ImageProblem> {
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(usize::try_from(limit).unwrap_or(usize::MAX));
    decoder.read_info().map_err(corrupt)?;
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    if u32::from(info.width) != header.width || u32::from(info.height) != header.height {
        return Ok(None);
    }
    if scale > 1 {
        let want = |side: u32| u16::try_from(side.div_ceil(scale)).unwrap_or(u16::MAX).max(1);
        decoder
            .scale(want(header.width), want(header.height))
            .map_err(corrupt)?;
    }
    let pixels = decoder.decode().map_err(corrupt)?;
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    let image = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => ImageBuffer::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
        jpeg_decoder::PixelFormat::L8 => ImageBuffer::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        _ => None,
    };
    Ok(image)
}

/// Non-interlaced PNG, rows averaged in `factor`×`factor` blocks as they are decoded
/// (16-bit samples are reduced to 8 and palettes expanded by the decoder).
fn decode_png_rows(bytes: &[u8], factor: u32, limit: u64) -> Result<Option<DynamicImage>, ImageProblem> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: usize::try_from(limit).unwrap_or(usize::MAX),
        },
    );
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    if reader.info().interlaced {
        return Ok(None);
    }
    let (width, height) = (reader.info().width, reader.info().height);
    let (color, _) = reader.output_color_type();
    let channels = color.samples();
    let k = factor as usize;
    let (ow, oh) = (width.div_ceil(factor) as usize, height.div_ceil(factor) as usize);
    let mut sums = vec![0u32; ow * channels];
    let mut out = Vec::with_capacity(ow * oh * channels);
    let mut rows_in_block = 0u32;
    let flush = |sums: &mut [u32], rows: u32, out: &mut Vec<u8>| {
        for (bx, block) in sums.chunks_mut(channels).enumerate() {
            let cols = (width as usize - bx * k).min(k) as u32;
            let n = cols * rows;
            for s in block.iter_mut() {
                out.push(((*s + n / 2) / n) as u8);
                *s = 0;
            }
        }
    };
    while let Some(row) = reader.next_row().map_err(corrupt)? {
        for (x, px) in row.data().chunks_exact(channels).enumerate() {
            let base = (x / k) * channels;
            for (c, &v) in px.iter().enumerate() {
                sums[base + c] += u32::from(v);
            }
        }
        rows_in_block += 1;
        if rows_in_block == factor {
            flush(&mut sums, rows_in_block, &mut out);
            rows_in_block = 0;
        }
    }
    if rows_in_block > 0 {
        flush(&mut sums, rows_in_block, &mut out);
    }
    if out.len() != ow * oh * channels {
        return Err(ImageProblem::Corrupt(
            "the PNG has fewer rows than its header says".into(),
        ));
    }
    let (ow, oh) = (ow as u32, oh as u32);
    let image = match color {
        png::ColorType::Grayscale => ImageBuffer::from_raw(ow, oh, out).map(DynamicImage::ImageLuma8),
        png::ColorType::GrayscaleAlpha => ImageBuffer::from_raw(ow, oh, out).map(DynamicImage::ImageLumaA8),
        png::ColorType::Rgb => ImageBuffer::from_raw(ow, oh, out).map(DynamicImage::ImageRgb8),
        png::ColorType::Rgba => ImageBuffer::from_raw(ow, oh, out).map(DynamicImage::ImageRgba8),
        png::ColorType::Indexed => None,
    };
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::process::{OutputFormat, encode};
    use image::{GenericImageView, Rgb, RgbImage};

    fn stripes(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, _| {
            if x < w / 2 {
                Rgb([200, 10, 10])
            } else {
                Rgb([10, 10, 200])
            }
        }))
    }

    #[test]
    fn jpeg_is_decoded_at_a_fraction_of_its_size_for_a_fraction_of_the_memory() {
        let jpeg = encode(&stripes(800, 600), OutputFormat::Jpeg).unwrap();
        let header = header(&jpeg, ImageKind::Jpeg).unwrap();
        assert_eq!((header.width, header.height), (800, 600));
        let small = decode(&jpeg, ImageKind::Jpeg, 1_000_000, 8).unwrap();
        assert_eq!(small.dimensions(), (100, 75));
        assert_eq!(
            header.reduced_size(5),
            (200, 150),
            "the largest DCT scale not above 5 is 4"
        );
        assert!((header.decode_cost(8) - SLACK) * 20 < header.decode_cost(1) - SLACK);
        let left = small.to_rgb8().get_pixel(10, 30).0;
        assert!(left[0] > 150 && left[2] < 60, "{left:?}");
    }

    #[test]
    fn png_rows_are_averaged_down_as_they_stream_in() {
        let png = encode(&stripes(803, 401), OutputFormat::Png).unwrap();
        let header = header(&png, ImageKind::Png).unwrap();
        let small = decode(&png, ImageKind::Png, 1_000_000, 10).unwrap();
        assert_eq!(small.dimensions(), (81, 41));
        assert_eq!(header.reduced_size(10), (81, 41));
        assert!((header.decode_cost(10) - SLACK) * 20 < header.decode_cost(1) - SLACK);
        let rgb = small.to_rgb8();
        assert_eq!(rgb.get_pixel(5, 5).0, [200, 10, 10]);
        assert_eq!(rgb.get_pixel(75, 40).0, [10, 10, 200]);
        // A PNG that ends early is refused, not padded.
        assert!(decode(&png[..png.len() / 2], ImageKind::Png, 1_000_000, 10).is_err());
    }

    #[test]
    fn the_pixel_limit_is_checked_from_the_header() {
        let png = encode(&stripes(100, 100), OutputFormat::Png).unwrap();
        assert!(matches!(
            decode(&png, ImageKind::Png, 9_999, 4),
            Err(ImageProblem::TooManyPixels { pixels: 10_000, .. })
        ));
    }
}
