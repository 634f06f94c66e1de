//! Checks of free text as every front end receives it. Lengths count
//! Unicode scalar values (`char`s).

use crate::error::AppError;
use handraise_wire as wire;

/// Checks a required text field: trimmed, 1..=max characters.
pub fn required_text(what: &str, value: &str, max: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::Invalid(format!("{what} must not be empty")));
    }
    check_len(what, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// Checks a text field's length (in characters).
pub fn check_len(what: &str, value: &str, max: usize) -> Result<(), AppError> {
    if value.chars().count() > max {
        return Err(AppError::Invalid(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(())
}

/// An optional text field: trimmed, empty becomes `None`, at most `max`.
pub fn optional_text(
    what: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, AppError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => {
            check_len(what, v, max)?;
            Ok(Some(v.to_owned()))
        }
        None => Ok(None),
    }
}

/// Checks a message body (a reply, a note, a teacher's message, an
/// announcement): not blank, at most the wire limit. What is stored is what was counted:
/// the text without surrounding white space (inner lines kept as written).
pub fn message_body(body: &str) -> Result<String, AppError> {
    Ok(wire::check_text(wire::TextField::Message, body)?
        .unwrap_or_default()
        .to_owned())
}

/// Serialises a value for a JSON column.
pub fn to_json<T: serde::Serialize>(v: &T) -> Result<String, AppError> {
    serde_json::to_string(v).map_err(AppError::internal)
}
