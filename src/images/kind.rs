//! What an upload is (`ImageKind`, decided from its bytes) and why one cannot be used
//! (`ImageProblem`): the vocabulary the container walk, the decoder and the pipeline share.

use image::ImageFormat;

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

    pub(crate) fn format(self) -> ImageFormat {
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
    #[error("the image carries {0}")]
    Ancillary(String),
    #[error(
        "decoding this image needs about {needed_mib} MiB, more than the {budget_mib} MiB of MASTHEAD_IMAGE_MEMORY_BUDGET"
    )]
    OverBudget { needed_mib: u64, budget_mib: u64 },
    #[error("could not encode the image: {0}")]
    Encode(String),
}
