//! The limits and checks of what a teacher sends, in one place: the tray app's form, the
//! agent and the server all call these (the UI through the constants `cargo xtask codegen`
//! writes into its bindings), so they agree by construction.
//!
//! Text is trimmed, then counted in Unicode scalar values (Rust's `chars()`, the
//! UI's `[...s].length`), never in bytes or UTF-16 units.

use std::fmt;

/// Largest accepted `summary`, in characters.
pub const MAX_SUMMARY_CHARS: usize = 200;
/// Largest accepted `details`, in characters.
pub const MAX_DETAILS_CHARS: usize = 20_000;
/// Largest accepted room name (on a ticket or a "me too"), in characters.
pub const MAX_ROOM_CHARS: usize = 200;
/// Largest accepted message body, in characters.
pub const MAX_MESSAGE_CHARS: usize = 20_000;
/// Largest accepted screenshot upload, in bytes (10 MiB).
pub const MAX_SCREENSHOT_BYTES: usize = 10 * 1024 * 1024;

/// The length of `s` as every limit counts it: Unicode scalar values.
pub fn char_count(s: &str) -> usize {
    s.chars().count()
}

/// A free-text field a teacher fills in, with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    Summary,
    Details,
    Room,
    Message,
}

impl TextField {
    /// Every field, in the order the generated TypeScript lists them.
    pub const ALL: &'static [TextField] = &[
        TextField::Summary,
        TextField::Details,
        TextField::Room,
        TextField::Message,
    ];

    /// The field's name in JSON and in the UI's `TEXT_LIMITS`.
    pub fn key(self) -> &'static str {
        match self {
            TextField::Summary => "summary",
            TextField::Details => "details",
            TextField::Room => "room",
            TextField::Message => "message",
        }
    }

    /// The longest accepted value, in characters (after trimming).
    pub fn max_chars(self) -> usize {
        match self {
            TextField::Summary => MAX_SUMMARY_CHARS,
            TextField::Details => MAX_DETAILS_CHARS,
            TextField::Room => MAX_ROOM_CHARS,
            TextField::Message => MAX_MESSAGE_CHARS,
        }
    }

    /// A required field may not be empty (or only spaces).
    pub fn required(self) -> bool {
        matches!(self, TextField::Summary | TextField::Message)
    }

    /// The field in a sentence, with its verb: "the summary is".
    fn subject(self) -> &'static str {
        match self {
            TextField::Summary => "the summary is",
            TextField::Details => "the details are",
            TextField::Room => "the room name is",
            TextField::Message => "the message is",
        }
    }
}

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// A required field is empty or only spaces.
    Empty(TextField),
    /// Longer than the field's limit (`count` characters after trimming).
    TooLong { field: TextField, count: usize },
}

impl TextError {
    pub fn field(&self) -> TextField {
        match self {
            TextError::Empty(f) | TextError::TooLong { field: f, .. } => *f,
        }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Empty(TextField::Summary) => {
                f.write_str("the summary is empty: say in a few words what is wrong")
            }
            TextError::Empty(field) => write!(f, "{} empty", field.subject()),
            TextError::TooLong {
                field: TextField::Summary,
                count,
            } => write!(
                f,
                "the summary is {count} characters long; keep it to {MAX_SUMMARY_CHARS} \
                 and put the rest in the details"
            ),
            TextError::TooLong { field, count } => write!(
                f,
                "{} {count} characters long; the limit is {}",
                field.subject(),
                field.max_chars()
            ),
        }
    }
}

impl std::error::Error for TextError {}

/// Checks one field: trims it, refuses an empty required field and anything longer than the
/// field's limit. `Ok(None)` is an empty optional field; `Ok(Some(text))` is the trimmed text.
pub fn check_text(field: TextField, value: &str) -> Result<Option<&str>, TextError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return if field.required() {
            Err(TextError::Empty(field))
        } else {
            Ok(None)
        };
    }
    let count = char_count(trimmed);
    if count > field.max_chars() {
        return Err(TextError::TooLong { field, count });
    }
    Ok(Some(trimmed))
}

/// [`check_text`] for a field that may be absent.
pub fn check_optional_text(
    field: TextField,
    value: Option<&str>,
) -> Result<Option<&str>, TextError> {
    match value {
        Some(v) => check_text(field, v),
        None if field.required() => Err(TextError::Empty(field)),
        None => Ok(None),
    }
}

/// The image types a screenshot may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Png,
    Jpeg,
}

impl ImageType {
    pub const ALL: &'static [ImageType] = &[ImageType::Png, ImageType::Jpeg];

    /// The MIME type sent and stored.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
        }
    }

    /// The type the file's first bytes (its magic number) say, if it is one of ours.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else {
            None
        }
    }

    /// The type a `Content-Type` value names (parameters and case ignored; `image/jpg`
    /// is taken for `image/jpeg`), if it is one of ours.
    pub fn from_content_type(value: &str) -> Option<ImageType> {
        let mime = value.split(';').next().unwrap_or_default().trim();
        if mime.eq_ignore_ascii_case("image/png") {
            Some(ImageType::Png)
        } else if mime.eq_ignore_ascii_case("image/jpeg") || mime.eq_ignore_ascii_case("image/jpg")
        {
            Some(ImageType::Jpeg)
        } else {
            None
        }
    }

    /// The bytes are an image of the type `content_type` declares.
    pub fn matches(content_type: &str, bytes: &[u8]) -> bool {
        ImageType::from_content_type(content_type)
            .is_some_and(|t| ImageType::sniff(bytes) == Some(t))
    }
}

/// Widest and tallest accepted screenshot, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 16_384;
/// Largest accepted screenshot area, in pixels (100 megapixels).
pub const MAX_IMAGE_PIXELS: u64 = 100_000_000;

/// An image's width and height as its header states them: a PNG's IHDR or a
/// JPEG's first start-of-frame marker. `None` when the header cannot be read.
pub fn image_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    match ImageType::sniff(bytes)? {
        ImageType::Png => png_dimensions(bytes),
        ImageType::Jpeg => jpeg_dimensions(bytes),
    }
}

/// The image is within [`MAX_IMAGE_SIDE`] a side and [`MAX_IMAGE_PIXELS`] in all.
pub fn image_dimensions_ok(width: u32, height: u32) -> bool {
    width <= MAX_IMAGE_SIDE
        && height <= MAX_IMAGE_SIDE
        && u64::from(width) * u64::from(height) <= MAX_IMAGE_PIXELS
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Signature (8), chunk length (4), `IHDR` (4), width (4), height (4).
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be_u32(bytes, 16)?, be_u32(bytes, 20)?))
}

/// Walks the markers after SOI to the first SOFn (C0–CF but C4 DHT, C8 JPG
/// and CC DAC): length (2), precision (1), height (2), width (2).
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            // Fill bytes before a marker.
            0xFF => at += 1,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => at += 2,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be_u16(bytes, at + 5)?;
                let width = be_u16(bytes, at + 7)?;
                return Some((u32::from(width), u32::from(height)));
            }
            // Start of scan or end of image before any frame: no size.
            0xD9 | 0xDA => return None,
            _ => at += 2 + usize::from(be_u16(bytes, at + 2)?),
        }
    }
}
