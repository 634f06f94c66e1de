//! The one check of a reporter's email address and of a district's email domain: the
//! agent checks what the teacher types in Setup and the policy's `email_domain`, the
//! server checks what a device sent before a help desk is asked to write to it.
//!
//! Deliberately plain: one `@`, a non-empty local part, a domain of dot-separated labels
//! (letters, digits, hyphens; at least two labels), no spaces, at most 254 characters.
//! It catches typing mistakes; whether the mailbox exists only a mail server can say.

use std::fmt;

/// The longest address accepted (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;

/// Why an email address or domain was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    /// Not of the form `name@school.example`.
    Malformed,
}

impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmailError::Empty => write!(f, "the email address is empty"),
            EmailError::TooLong => {
                write!(
                    f,
                    "the email address is longer than {MAX_EMAIL_CHARS} characters"
                )
            }
            EmailError::Malformed => {
                write!(f, "that is not an email address like name@school.example")
            }
        }
    }
}

impl std::error::Error for EmailError {}

/// `s` trimmed, when it is a plausible email address.
pub fn check_email(s: &str) -> Result<&str, EmailError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(EmailError::Empty);
    }
    if s.chars().count() > MAX_EMAIL_CHARS {
        return Err(EmailError::TooLong);
    }
    if s.matches('@').count() != 1 {
        return Err(EmailError::Malformed);
    }
    let (local, domain) = s.split_once('@').ok_or(EmailError::Malformed)?;
    let local_ok = !local.is_empty()
        && local.chars().count() <= 64
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@<>()[],;:\\\"".contains(c));
    if !local_ok || check_email_domain(domain).is_err() {
        return Err(EmailError::Malformed);
    }
    Ok(s)
}

/// `s` trimmed, lowercased and without a leading `@`, when it is a plausible mail
/// domain (`school.example`).
pub fn check_email_domain(s: &str) -> Result<String, EmailError> {
    let s = s.trim();
    let s = s.strip_prefix('@').unwrap_or(s);
    if s.is_empty() {
        return Err(EmailError::Empty);
    }
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) || s.len() > 253 {
        return Err(EmailError::Malformed);
    }
    Ok(s.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_addresses_pass_and_typing_mistakes_do_not() {
        assert_eq!(
            check_email("  ana@lincoln.k12.example "),
            Ok("ana@lincoln.k12.example")
        );
        assert_eq!(
            check_email("j.o'neil+it@school.example"),
            Ok("j.o'neil+it@school.example")
        );
        for bad in [
            "ana",
            "ana@",
            "@school.example",
            "ana@school",
            "ana@@school.example",
            "ana smith@school.example",
            "ana@school..example",
            "ana@-school.example",
            "<ana@school.example>",
        ] {
            assert_eq!(check_email(bad), Err(EmailError::Malformed), "{bad}");
        }
        assert_eq!(check_email("  "), Err(EmailError::Empty));
        let long = format!("{}@school.example", "a".repeat(250));
        assert_eq!(check_email(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn a_domain_is_lowercased_and_may_start_with_at() {
        assert_eq!(
            check_email_domain("@Lincoln.K12.Example").as_deref(),
            Ok("lincoln.k12.example")
        );
        assert!(check_email_domain("localhost").is_err());
        assert!(check_email_domain("a b.example").is_err());
        assert!(check_email_domain("").is_err());
    }
}
