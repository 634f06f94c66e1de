//! Checks of text fields as every front end receives them: lengths are counted
//! in characters.

use crate::error::AppError;

/// Checks a required text field: trimmed, 1..=max characters.
pub fn required_text(what: &str, value: &str, max: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(AppError::Invalid(format!("{what} must not be empty")));
    }
    check_len(what, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// Checks an optional text field's length (in characters).
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
