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
