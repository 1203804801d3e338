//! The container structure of an upload (PNG chunks, JPEG segments, WebP RIFF chunks), walked
//! before any decoder sees the bytes. The walk enforces [`AncillaryLimits`] on everything that
//! is not pixel data (counts and sizes read from the structure; compressed chunks are inflated
//! into a counter that stops at the limit, so nothing is allocated for them), and it produces
//! the bytes that are stored and decoded from then on: the upload reduced to an allowlist of
//! what rendering needs. EXIF (which may hold GPS positions), XMP, IPTC, text chunks, comments,
//! unknown chunks and anything after the end marker are cut out without re-encoding the
//! pixels; the EXIF orientation is kept as a minimal EXIF block.
//!
//! One file for the three walks (and for writing a packet back, the reverse of the walk): the
//! code is about 650 lines; the unit tests with their hand-built files take it past 700.

use std::io::Read;

use crate::images::kind::{ImageKind, ImageProblem};

/// The raw metadata blocks the container walk found.
#[derive(Debug, Default, Clone)]
pub struct Raw {
    /// The first XMP packet.
    pub xmp: Option<Vec<u8>>,
    /// The Photoshop image resources of JPEG `APP13` segments (after `Photoshop 3.0\0`).
    pub photoshop: Option<Vec<u8>>,
    /// What the walk could not read.
    pub notes: Vec<String>,
}

/// Bounds on what an upload may carry besides its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AncillaryLimits {
    /// All metadata together (EXIF, XMP, IPTC, ICC, text chunks, comments, unknown chunks),
    /// counted after decompression.
    pub max_metadata_bytes: u64,
    /// The ICC colour profile, after decompression.
    pub max_icc_bytes: u64,
    /// Chunks or segments other than pixel data (PNG `IDAT`/`fdAT`, WebP image data).
    pub max_chunks: u32,
}

/// An upload reduced to what rendering needs.
#[derive(Debug)]
pub struct Sanitized {
    /// The bytes to store, decode and serve as the original.
    pub bytes: Vec<u8>,
    /// The EXIF orientation (1–8) of the upload; 1 when it has none.
    pub orientation: u8,
    /// The XMP packet and IPTC-IIM resources found on the way (read by
    /// [`crate::images::embedded`]; never stored).
    pub metadata: Raw,
}

/// Walks `bytes` of `kind` under `limits` and returns what is to be stored. Over a limit is
/// [`ImageProblem::Ancillary`]; a broken structure or a missing end marker is
/// [`ImageProblem::Corrupt`].
pub fn sanitize(bytes: &[u8], kind: ImageKind, limits: AncillaryLimits) -> Result<Sanitized, ImageProblem> {
    let mut tally = Tally {
        limits,
        metadata: 0,
        chunks: 0,
    };
    match kind {
        ImageKind::Jpeg => jpeg(bytes, &mut tally),
        ImageKind::Png => png(bytes, &mut tally),
        ImageKind::Webp => webp(bytes, &mut tally),
        ImageKind::Gif => {
            // GIF metadata (comments, application blocks) is uncompressed and bounded by the
            // upload size; the decoder reads the first frame only. The trailer proves the rest
            // arrived.
            if bytes.last() != Some(&0x3B) {
                return Err(corrupt("the GIF is truncated (no trailer)"));
            }
            Ok(Sanitized {
                bytes: bytes.to_vec(),
                orientation: 1,
                metadata: Raw::default(),
            })
        }
    }
}

fn corrupt(msg: &str) -> ImageProblem {
    ImageProblem::Corrupt(msg.to_owned())
}

/// What the walk has counted so far.
struct Tally {
    limits: AncillaryLimits,
    metadata: u64,
    chunks: u32,
}

impl Tally {
    fn chunk(&mut self) -> Result<(), ImageProblem> {
        self.chunks += 1;
        if self.chunks > self.limits.max_chunks {
            return Err(ImageProblem::Ancillary(format!(
                "more than {} chunks or segments besides the pixel data",
                self.limits.max_chunks
            )));
        }
        Ok(())
    }

    fn remaining(&self) -> u64 {
        self.limits.max_metadata_bytes.saturating_sub(self.metadata)
    }

    fn metadata(&mut self, bytes: u64) -> Result<(), ImageProblem> {
        self.metadata = self.metadata.saturating_add(bytes);
        if self.metadata > self.limits.max_metadata_bytes {
            return Err(self.too_much_metadata());
        }
        Ok(())
    }

    /// Counts uncompressed metadata that is only read, never kept in the stored original (an XMP
    /// packet), if it fits what is left of the limit; `false` means it does not and is to be
    /// skipped: it is already in memory and costs nothing to pass over, so unlike compressed
    /// metadata it need not fail the upload (issue #14: a 10 MB XMP packet is ignored).
    fn read_if_it_fits(&mut self, bytes: u64) -> bool {
        if bytes > self.remaining() {
            return false;
        }
        self.metadata += bytes;
        true
    }

    fn too_much_metadata(&self) -> ImageProblem {
        ImageProblem::Ancillary(format!(
            "more than {} bytes of metadata (after decompression)",
            self.limits.max_metadata_bytes
        ))
    }

    fn too_large_icc(&self) -> ImageProblem {
        ImageProblem::Ancillary(format!(
            "an ICC colour profile larger than {} bytes (after decompression)",
            self.limits.max_icc_bytes
        ))
    }
}

/// The size zlib `data` inflates to, counted without keeping the output; stops as soon as it
/// passes `cap` (then `None`), so a bomb costs at most `cap` bytes of work and no memory.
fn inflated_size(data: &[u8], cap: u64) -> Result<Option<u64>, ImageProblem> {
    let mut limited = flate2::read::ZlibDecoder::new(data).take(cap.saturating_add(1));
    let n = std::io::copy(&mut limited, &mut std::io::sink())
        .map_err(|e| ImageProblem::Corrupt(format!("compressed metadata is corrupt: {e}")))?;
    Ok((n <= cap).then_some(n))
}

/// The EXIF orientation in a TIFF structure (the EXIF payload after `Exif\0\0`), if valid.
fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    image::metadata::Orientation::from_exif_chunk(tiff)
        .map(|o| o.to_exif())
        .filter(|o| (2..=8).contains(o))
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

// --- JPEG ---------------------------------------------------------------------------------

/// The signature of the XMP packet in a JPEG `APP1` segment.
const XMP_JPEG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// The signature of Photoshop image resources (where IPTC-IIM lives) in `APP13`.
const PHOTOSHOP_JPEG: &[u8] = b"Photoshop 3.0\0";

/// Walks every JPEG segment, scans included, up to the end-of-image marker. Kept: the frame,
/// tables, scans, restart markers, JFIF `APP0`, `ICC_PROFILE` `APP2` and Adobe `APP14` (it
/// says how colours are transformed). Dropped: every other `APPn` (EXIF with GPS, XMP, IPTC,
/// MPF previews…), comments, and whatever follows the end-of-image marker.
fn jpeg(bytes: &[u8], tally: &mut Tally) -> Result<Sanitized, ImageProblem> {
    if bytes.len() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8 {
        return Err(corrupt("missing JPEG start marker"));
    }
    let mut body = Vec::with_capacity(bytes.len());
    let mut orientation = None;
    let mut icc = 0u64;
    let mut metadata = Raw::default();
    let mut i = 2;
    loop {
        // Fill bytes (0xFF padding) may precede a marker.
        while i + 1 < bytes.len() && bytes[i] == 0xFF && bytes[i + 1] == 0xFF {
            i += 1;
        }
        if i + 2 > bytes.len() || bytes[i] != 0xFF {
            return Err(corrupt("the JPEG is truncated (no end-of-image marker)"));
        }
        let marker = bytes[i + 1];
        match marker {
            0xD9 => {
                body.extend_from_slice(&bytes[i..i + 2]);
                break;
            }
            0xD8 => return Err(corrupt("a second JPEG start marker")),
            0xD0..=0xD7 | 0x01 => {
                body.extend_from_slice(&bytes[i..i + 2]);
                i += 2;
                continue;
            }
            _ => {}
        }
        if i + 4 > bytes.len() {
            return Err(corrupt("JPEG segments are truncated"));
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let end = i + 2 + len;
        if len < 2 || end > bytes.len() {
            return Err(corrupt("a JPEG segment runs past the end of the file"));
        }
        tally.chunk()?;
        let payload = &bytes[i + 4..end];
        match marker {
            0xE0..=0xEF | 0xFE => {
                tally.metadata(len as u64)?;
                let keep = match marker {
                    0xE0 => payload.starts_with(b"JFIF\0"),
                    0xE2 if payload.starts_with(b"ICC_PROFILE\0") => {
                        icc += payload.len().saturating_sub(14) as u64;
                        if icc > tally.limits.max_icc_bytes {
                            return Err(tally.too_large_icc());
                        }
                        true
                    }
                    0xEE => payload.starts_with(b"Adobe"),
                    0xE1 if payload.starts_with(XMP_JPEG) => {
                        if metadata.xmp.is_none() {
                            metadata.xmp = Some(payload[XMP_JPEG.len()..].to_vec());
                        }
                        false
                    }
                    0xED if payload.starts_with(PHOTOSHOP_JPEG) => {
                        // Resources larger than one segment continue in the next APP13.
                        metadata
                            .photoshop
                            .get_or_insert_with(Vec::new)
                            .extend_from_slice(&payload[PHOTOSHOP_JPEG.len()..]);
                        false
                    }
                    0xE1 => {
                        if orientation.is_none()
                            && let Some(tiff) = payload.strip_prefix(b"Exif\0\0")
                        {
                            orientation = Some(exif_orientation(tiff).unwrap_or(1));
                        }
                        false
                    }
                    _ => false,
                };
                if keep {
                    body.extend_from_slice(&bytes[i..end]);
                }
                i = end;
            }
            0xDA => {
                // Start of scan: the header, then entropy-coded data up to the next marker
                // (0xFF followed by anything but a stuffed 0x00 or a restart marker).
                body.extend_from_slice(&bytes[i..end]);
                let data_end = (end..bytes.len().saturating_sub(1))
                    .find(|&k| bytes[k] == 0xFF && !matches!(bytes[k + 1], 0x00 | 0xD0..=0xD7))
                    .ok_or_else(|| corrupt("the JPEG is truncated (no end-of-image marker)"))?;
                body.extend_from_slice(&bytes[end..data_end]);
                i = data_end;
            }
            _ => {
                body.extend_from_slice(&bytes[i..end]);
                i = end;
            }
        }
    }
    let orientation = orientation.unwrap_or(1);
    let mut out = Vec::with_capacity(body.len() + 40);
    out.extend_from_slice(&[0xFF, 0xD8]);
    if orientation > 1 {
        let mut payload = b"Exif\x00\x00".to_vec();
        payload.extend_from_slice(&orientation_tiff(orientation));
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&payload);
    }
    out.extend_from_slice(&body);
    Ok(Sanitized {
        bytes: out,
        orientation,
        metadata,
    })
}

/// `bytes` with an XMP packet added: a JPEG `APP1` after the start marker, a PNG `iTXt` after
/// `IHDR`, a WebP `XMP ` chunk at the end (with a `VP8X` header). `None` for other kinds or a
/// packet too large for one JPEG segment. Used
/// to give generated pictures (the demo's) the metadata an agency's files carry.
pub fn with_xmp(bytes: &[u8], kind: ImageKind, packet: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() + packet.len() + 64);
    match kind {
        ImageKind::Jpeg if bytes.starts_with(&[0xFF, 0xD8]) => {
            let len = u16::try_from(XMP_JPEG.len() + packet.len() + 2).ok()?;
            // After the leading JFIF/EXIF segments, which readers expect first.
            let mut at = 2;
            while bytes.len() > at + 4 && bytes[at] == 0xFF && matches!(bytes[at + 1], 0xE0 | 0xE1) {
                at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
            }
            let at = at.min(bytes.len());
            out.extend_from_slice(&bytes[..at]);
            out.extend_from_slice(&[0xFF, 0xE1]);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(XMP_JPEG);
            out.extend_from_slice(packet.as_bytes());
            out.extend_from_slice(&bytes[at..]);
        }
        ImageKind::Png if bytes.len() > 33 && &bytes[12..16] == b"IHDR" => {
            let mut body = b"iTXtXML:com.adobe.xmp\0\0\0\0\0".to_vec();
            body.extend_from_slice(packet.as_bytes());
            out.extend_from_slice(&bytes[..33]);
            out.extend_from_slice(&u32::try_from(body.len() - 4).ok()?.to_be_bytes());
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc32(&body).to_be_bytes());
            out.extend_from_slice(&bytes[33..]);
        }
        ImageKind::Webp => return webp_with_xmp(bytes, packet),
        _ => return None,
    }
    Some(out)
}

/// A WebP with an `XMP ` chunk at its end and the XMP flag set in its `VP8X` header, adding
/// that header (with the canvas size read from the `VP8 `/`VP8L` bitstream) to a simple WebP.
/// `None` if the file is not a RIFF WebP this understands.
fn webp_with_xmp(bytes: &[u8], packet: &str) -> Option<Vec<u8>> {
    const XMP_FLAG: u8 = 0x04;
    const ALPHA_FLAG: u8 = 0x10;
    if bytes.len() < 20 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return None;
    }
    let first = &bytes[12..16];
    let first_len = usize::try_from(u32::from_le_bytes(bytes[16..20].try_into().ok()?)).ok()?;
    let first_data = bytes.get(20..20 + first_len)?;
    let mut chunks = Vec::with_capacity(bytes.len() + packet.len() + 32);
    match first {
        b"VP8X" => {
            chunks.extend_from_slice(&bytes[12..]);
            *chunks.get_mut(8)? |= XMP_FLAG;
        }
        b"VP8 " | b"VP8L" => {
            let (width, height, alpha) = if first == b"VP8 " {
                // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
                if first_data.get(3..6)? != [0x9d, 0x01, 0x2a] {
                    return None;
                }
                let w = u32::from(u16::from_le_bytes([first_data[6], *first_data.get(7)?]) & 0x3fff);
                let h = u32::from(u16::from_le_bytes([*first_data.get(8)?, *first_data.get(9)?]) & 0x3fff);
                (w, h, false)
            } else {
                // Signature 0x2f, then width-1 and height-1 in 14 bits each, then the alpha bit.
                if *first_data.first()? != 0x2f {
                    return None;
                }
                let bits = u32::from_le_bytes(first_data.get(1..5)?.try_into().ok()?);
                (
                    (bits & 0x3fff) + 1,
                    ((bits >> 14) & 0x3fff) + 1,
                    bits & (1 << 28) != 0,
                )
            };
            if width == 0 || height == 0 {
                return None;
            }
            let mut vp8x = [0u8; 10];
            vp8x[0] = XMP_FLAG | if alpha { ALPHA_FLAG } else { 0 };
            vp8x[4..7].copy_from_slice(&(width - 1).to_le_bytes()[..3]);
            vp8x[7..10].copy_from_slice(&(height - 1).to_le_bytes()[..3]);
            chunks.extend_from_slice(b"VP8X");
            chunks.extend_from_slice(&10u32.to_le_bytes());
            chunks.extend_from_slice(&vp8x);
            chunks.extend_from_slice(&bytes[12..]);
        }
        _ => return None,
    }
    chunks.extend_from_slice(b"XMP ");
    chunks.extend_from_slice(&u32::try_from(packet.len()).ok()?.to_le_bytes());
    chunks.extend_from_slice(packet.as_bytes());
    if packet.len() % 2 == 1 {
        chunks.push(0);
    }
    let mut out = Vec::with_capacity(chunks.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&u32::try_from(chunks.len() + 4).ok()?.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    Some(out)
}

// --- PNG ----------------------------------------------------------------------------------

/// PNG chunks that rendering needs and that carry nothing about the photographer or place:
/// kept as they are (besides `iCCP`, which is kept once its inflated size is checked).
const PNG_KEEP: [&[u8; 4]; 16] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD", b"pHYs",
    b"cICP", b"mDCv", b"cLLi", b"acTL", b"fcTL",
];

pub fn crc32(data: &[u8]) -> u32 {
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

/// The zlib stream of a compressed PNG text or profile chunk: after the keyword's NUL and the
/// fields listed in `skip` (compression flag/method, language tag, translated keyword).
fn png_zlib_part<'a>(data: &'a [u8], kind: &[u8]) -> Result<Option<&'a [u8]>, ImageProblem> {
    let bad = || ImageProblem::Corrupt(format!("a malformed {} chunk", String::from_utf8_lossy(kind)));
    let nul = data.iter().position(|&b| b == 0).ok_or_else(bad)?;
    let rest = &data[nul + 1..];
    match kind {
        // keyword NUL, method, zlib data
        b"iCCP" | b"zTXt" => rest.get(1..).map(Some).ok_or_else(bad),
        // keyword NUL, flag, method, language NUL, translated keyword NUL, text
        _ => {
            let (&flag, rest) = rest.split_first().ok_or_else(bad)?;
            if flag == 0 {
                return Ok(None);
            }
            let rest = rest.get(1..).ok_or_else(bad)?;
            let lang = rest.iter().position(|&b| b == 0).ok_or_else(bad)?;
            let rest = &rest[lang + 1..];
            let translated = rest.iter().position(|&b| b == 0).ok_or_else(bad)?;
            Ok(Some(&rest[translated + 1..]))
        }
    }
}

/// Walks the PNG chunks. Kept: [`PNG_KEEP`], the first `iCCP` and `fdAT` (APNG frames).
/// Dropped: `eXIf`, text chunks (`tEXt`, `zTXt`, `iTXt`), `tIME` and any chunk not known.
/// Compressed chunks are inflated into a counter bounded by the limits before anything else.
fn png(bytes: &[u8], tally: &mut Tally) -> Result<Sanitized, ImageProblem> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !bytes.starts_with(SIGNATURE) {
        return Err(corrupt("missing PNG signature"));
    }
    let mut out = Vec::with_capacity(bytes.len() + 40);
    out.extend_from_slice(SIGNATURE);
    let mut orientation = 1;
    let mut metadata = Raw::default();
    let mut seen_iccp = false;
    let mut image_data = false;
    let mut i = SIGNATURE.len();
    loop {
        if i + 12 > bytes.len() {
            return Err(corrupt("PNG has no IEND chunk"));
        }
        let len = u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
        let end = i
            .checked_add(12)
            .and_then(|v| v.checked_add(len))
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| corrupt("a PNG chunk runs past the end of the file"))?;
        let kind: &[u8; 4] = bytes[i + 4..i + 8]
            .try_into()
            .map_err(|_| corrupt("a PNG chunk is truncated"))?;
        let data = &bytes[i + 8..i + 8 + len];
        let whole = &bytes[i..end];
        if i == SIGNATURE.len() && kind != b"IHDR" {
            return Err(corrupt("the PNG does not start with IHDR"));
        }
        i = end;
        if matches!(kind, b"IDAT" | b"fdAT" | b"fcTL") && !image_data {
            image_data = true;
            if orientation > 1 {
                // eXIf must come before the image data.
                let tiff = orientation_tiff(orientation);
                let mut body = b"eXIf".to_vec();
                body.extend_from_slice(&tiff);
                out.extend_from_slice(&(tiff.len() as u32).to_be_bytes());
                out.extend_from_slice(&body);
                out.extend_from_slice(&crc32(&body).to_be_bytes());
            }
        }
        if kind == b"IDAT" || kind == b"fdAT" {
            out.extend_from_slice(whole);
            continue;
        }
        tally.chunk()?;
        if PNG_KEEP.contains(&kind) {
            out.extend_from_slice(whole);
            if kind == b"IEND" {
                break;
            }
            continue;
        }
        match kind {
            b"iCCP" => {
                let cap = tally.limits.max_icc_bytes.min(tally.remaining());
                let zlib = png_zlib_part(data, kind)?.unwrap_or_default();
                let size = inflated_size(zlib, cap)?.ok_or_else(|| {
                    if tally.remaining() < tally.limits.max_icc_bytes {
                        tally.too_much_metadata()
                    } else {
                        tally.too_large_icc()
                    }
                })?;
                tally.metadata(size)?;
                // A second profile is invalid; decoders use the first.
                if !seen_iccp {
                    out.extend_from_slice(whole);
                    seen_iccp = true;
                }
            }
            b"zTXt" | b"iTXt" => {
                let xmp =
                    kind == b"iTXt" && data.starts_with(b"XML:com.adobe.xmp\0") && metadata.xmp.is_none();
                match png_zlib_part(data, kind)? {
                    Some(zlib) => {
                        let size = inflated_size(zlib, tally.remaining())?
                            .ok_or_else(|| tally.too_much_metadata())?;
                        tally.metadata(size + (data.len() - zlib.len()) as u64)?;
                        if xmp {
                            // Within the limit just measured, so the output is bounded.
                            metadata.xmp = inflate(zlib, size);
                        }
                    }
                    None if xmp => {
                        if tally.read_if_it_fits(data.len() as u64) {
                            metadata.xmp = png_itxt_text(data).map(<[u8]>::to_vec);
                        }
                    }
                    None => tally.metadata(data.len() as u64)?,
                }
            }
            b"eXIf" => {
                tally.metadata(data.len() as u64)?;
                // Only an orientation read before the image data can be written back before it.
                if !image_data {
                    orientation = exif_orientation(data).unwrap_or(orientation);
                }
            }
            _ if kind[0].is_ascii_uppercase() => {
                return Err(corrupt("the PNG has an unknown critical chunk"));
            }
            _ => tally.metadata(data.len() as u64)?,
        }
    }
    Ok(Sanitized {
        bytes: out,
        orientation,
        metadata,
    })
}

/// The text of an uncompressed `iTXt` chunk: after the keyword, flag, method, language tag
/// and translated keyword.
fn png_itxt_text(data: &[u8]) -> Option<&[u8]> {
    let nul = data.iter().position(|&b| b == 0)?;
    let rest = data.get(nul + 3..)?;
    let lang = rest.iter().position(|&b| b == 0)?;
    let rest = &rest[lang + 1..];
    let translated = rest.iter().position(|&b| b == 0)?;
    Some(&rest[translated + 1..])
}

/// Inflates zlib `data` already measured at `size` bytes (at most that many are kept).
fn inflate(data: &[u8], size: u64) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(usize::try_from(size).ok()?);
    flate2::read::ZlibDecoder::new(data)
        .take(size)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

// --- WebP ---------------------------------------------------------------------------------

/// Walks the RIFF chunks of a WebP file. Kept: `VP8X` (its EXIF and XMP flags cleared),
/// `VP8 `, `VP8L`, `ALPH`, `ANIM`, `ANMF` and `ICCP` (within the ICC limit). Dropped: `EXIF`,
/// `XMP ` and unknown chunks, and anything after the RIFF length.
fn webp(bytes: &[u8], tally: &mut Tally) -> Result<Sanitized, ImageProblem> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WEBP" {
        return Err(corrupt("missing RIFF/WEBP header"));
    }
    let riff_len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let file_end = riff_len
        .checked_add(8)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| corrupt("the WebP is truncated (shorter than its RIFF length)"))?;
    let mut body = Vec::with_capacity(file_end);
    body.extend_from_slice(b"WEBP");
    let mut metadata = Raw::default();
    let mut i = 12;
    while i + 8 <= file_end {
        let len = u32::from_le_bytes([bytes[i + 4], bytes[i + 5], bytes[i + 6], bytes[i + 7]]) as usize;
        if i + 8 + len > file_end {
            return Err(corrupt("a WebP chunk runs past the end of the file"));
        }
        let end = (i + 8 + len + (len & 1)).min(file_end);
        let fourcc = &bytes[i..i + 4];
        match fourcc {
            b"VP8 " | b"VP8L" | b"ALPH" | b"ANMF" => body.extend_from_slice(&bytes[i..end]),
            b"VP8X" if len >= 1 => {
                tally.chunk()?;
                let start = body.len();
                body.extend_from_slice(&bytes[i..end]);
                body[start + 8] &= !(0x08 | 0x04);
            }
            b"ICCP" => {
                tally.chunk()?;
                if len as u64 > tally.limits.max_icc_bytes {
                    return Err(tally.too_large_icc());
                }
                tally.metadata(len as u64)?;
                body.extend_from_slice(&bytes[i..end]);
            }
            b"ANIM" => {
                tally.chunk()?;
                body.extend_from_slice(&bytes[i..end]);
            }
            b"XMP " => {
                tally.chunk()?;
                if tally.read_if_it_fits(len as u64) && metadata.xmp.is_none() {
                    metadata.xmp = Some(bytes[i + 8..i + 8 + len].to_vec());
                }
            }
            _ => {
                tally.chunk()?;
                tally.metadata(len as u64)?;
            }
        }
        i = end;
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(Sanitized {
        bytes: out,
        orientation: 1,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::process::{OutputFormat, decode_full, encode};
    use image::DynamicImage;

    const LIMITS: AncillaryLimits = AncillaryLimits {
        max_metadata_bytes: 64 * 1024,
        max_icc_bytes: 16 * 1024,
        max_chunks: 50,
    };

    fn png_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
        out
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A small PNG with `extra` chunks inserted right after IHDR.
    fn png_with(extra: &[Vec<u8>]) -> Vec<u8> {
        let png = encode(&DynamicImage::new_rgb8(6, 3), OutputFormat::Png).unwrap();
        let ihdr_end = 8 + 25;
        let mut out = png[..ihdr_end].to_vec();
        for chunk in extra {
            out.extend_from_slice(chunk);
        }
        out.extend_from_slice(&png[ihdr_end..]);
        out
    }

    #[test]
    fn crc32_matches_the_png_reference() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn jpeg_app1_and_trailing_data_are_dropped_and_orientation_kept() {
        let jpeg = encode(&DynamicImage::new_rgb8(8, 4), OutputFormat::Jpeg).unwrap();
        let mut with_exif = jpeg[..2].to_vec();
        let mut payload = b"Exif\x00\x00".to_vec();
        payload.extend_from_slice(&orientation_tiff(6));
        payload.extend_from_slice(b"GPSGPSGPS");
        with_exif.extend_from_slice(&[0xFF, 0xE1]);
        with_exif.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        with_exif.extend_from_slice(&payload);
        with_exif.extend_from_slice(&jpeg[2..]);
        with_exif.extend_from_slice(b"appended GPS archive");
        let out = sanitize(&with_exif, ImageKind::Jpeg, LIMITS).unwrap();
        assert_eq!(out.orientation, 6);
        assert!(!out.bytes.windows(3).any(|w| w == b"GPS"));
        assert!(out.bytes.ends_with(&[0xFF, 0xD9]), "nothing after end of image");
        let decoded = decode_full(&out.bytes, ImageKind::Jpeg, 1000).unwrap();
        assert_eq!(
            (decoded.width(), decoded.height()),
            (4, 8),
            "rotated by the kept orientation"
        );
    }

    #[test]
    fn jpeg_icc_profiles_and_segment_counts_are_bounded() {
        let jpeg = encode(&DynamicImage::new_rgb8(8, 4), OutputFormat::Jpeg).unwrap();
        let segment = |marker: u8, payload: &[u8]| {
            let mut s = vec![0xFF, marker];
            s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
            s.extend_from_slice(payload);
            s
        };
        let mut icc = jpeg[..2].to_vec();
        for n in 1..=2u8 {
            let mut p = b"ICC_PROFILE\0".to_vec();
            p.extend_from_slice(&[n, 2]);
            p.extend_from_slice(&[0u8; 10_000]);
            icc.extend_from_slice(&segment(0xE2, &p));
        }
        icc.extend_from_slice(&jpeg[2..]);
        assert!(matches!(
            sanitize(&icc, ImageKind::Jpeg, LIMITS),
            Err(ImageProblem::Ancillary(_))
        ));
        let mut comments = jpeg[..2].to_vec();
        for _ in 0..60 {
            comments.extend_from_slice(&segment(0xFE, b"hi"));
        }
        comments.extend_from_slice(&jpeg[2..]);
        assert!(matches!(
            sanitize(&comments, ImageKind::Jpeg, LIMITS),
            Err(ImageProblem::Ancillary(_))
        ));
    }

    #[test]
    fn png_text_and_exif_chunks_are_dropped_and_orientation_kept() {
        let mut exif = orientation_tiff(6);
        exif.extend_from_slice(b"GPSGPS");
        let tagged = png_with(&[
            png_chunk(b"eXIf", &exif),
            png_chunk(b"tEXt", b"Location\x0052.5N 13.4E"),
            png_chunk(b"prVt", b"private GPS"),
        ]);
        let out = sanitize(&tagged, ImageKind::Png, LIMITS).unwrap();
        assert!(!out.bytes.windows(3).any(|w| w == b"GPS"));
        assert!(!out.bytes.windows(8).any(|w| w == b"Location"));
        let decoded = decode_full(&out.bytes, ImageKind::Png, 1000).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (3, 6));
        assert!(
            sanitize(&tagged[..tagged.len() - 12], ImageKind::Png, LIMITS).is_err(),
            "no IEND = truncated"
        );
    }

    #[test]
    fn png_compressed_chunks_are_measured_before_anything_is_kept() {
        // A small profile passes and is kept.
        let mut iccp = b"sRGB\0\0".to_vec();
        iccp.extend_from_slice(&zlib(&[7u8; 4000]));
        let ok = sanitize(&png_with(&[png_chunk(b"iCCP", &iccp)]), ImageKind::Png, LIMITS).unwrap();
        assert!(ok.bytes.windows(4).any(|w| w == b"iCCP"));
        // A bomb: 40 KB of zlib that would inflate to 40 MB.
        let mut bomb = b"evil\0\0".to_vec();
        bomb.extend_from_slice(&zlib(&vec![0u8; 40 * 1024 * 1024]));
        assert!(bomb.len() < 64 * 1024);
        let err = sanitize(&png_with(&[png_chunk(b"iCCP", &bomb)]), ImageKind::Png, LIMITS).unwrap_err();
        assert!(err.to_string().contains("ICC"), "{err}");
        // The same in text chunks, compressed zTXt and iTXt.
        let mut ztxt = b"Comment\0\0".to_vec();
        ztxt.extend_from_slice(&zlib(&vec![b'a'; 1024 * 1024]));
        let mut itxt = b"Comment\0\x01\0en\0\0".to_vec();
        itxt.extend_from_slice(&zlib(&vec![b'a'; 1024 * 1024]));
        for chunk in [png_chunk(b"zTXt", &ztxt), png_chunk(b"iTXt", &itxt)] {
            let err = sanitize(&png_with(&[chunk]), ImageKind::Png, LIMITS).unwrap_err();
            assert!(matches!(err, ImageProblem::Ancillary(_)), "{err}");
        }
        // Many small chunks.
        let many: Vec<Vec<u8>> = (0..60).map(|_| png_chunk(b"tEXt", b"a\0b")).collect();
        assert!(matches!(
            sanitize(&png_with(&many), ImageKind::Png, LIMITS),
            Err(ImageProblem::Ancillary(_))
        ));
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
        let stripped = sanitize(&file, ImageKind::Webp, LIMITS).unwrap().bytes;
        assert!(!stripped.windows(3).any(|w| w == b"GPS"));
        assert_eq!(stripped[20] & 0x0C, 0, "EXIF and XMP flags cleared");
        let decoded = decode_full(&stripped, ImageKind::Webp, 1000).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (5, 4));
    }

    #[test]
    fn a_simple_webp_gets_a_vp8x_header_and_its_xmp_and_still_decodes() {
        let picture = image::DynamicImage::new_rgba8(7, 5);
        let mut webp = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut webp), image::ImageFormat::WebP)
            .expect("encodes");
        assert_eq!(&webp[12..16], b"VP8L", "a simple lossless WebP to start from");
        let with = super::with_xmp(&webp, ImageKind::Webp, "<x:xmpmeta>Reuters</x:xmpmeta>").expect("a WebP");
        assert_eq!(&with[12..16], b"VP8X");
        assert_eq!(with[20] & 0x04, 0x04, "the XMP flag");
        let size = u32::from_le_bytes(with[4..8].try_into().expect("4 bytes")) as usize;
        assert_eq!(size + 8, with.len(), "the RIFF size");
        let decoded = image::load_from_memory(&with).expect("still decodes");
        assert_eq!((decoded.width(), decoded.height()), (7, 5));
        assert!(with.windows(7).any(|w| w == b"Reuters"));
    }
}
