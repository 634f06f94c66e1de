//! Why `POST /api/v1/enroll` refuses: the `code` of its [`ApiError`](crate::ApiError),
//! shared so the server answers and the agent explains with the same words for each.

/// Length of [`EnrollRequest::machine_id`](crate::EnrollRequest::machine_id): a hex SHA-256.
pub const MACHINE_ID_HEX_CHARS: usize = 64;

/// A refused enrollment. The server answers 401 for the token refusals and 403 for
/// [`EnrollRefusal::MachineRevoked`]; the agent shows [`EnrollRefusal::plain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnrollRefusal {
    /// No enrollment token has this value (or it was blank).
    InvalidToken,
    /// An admin revoked the token.
    TokenRevoked,
    /// The token's expiry has passed.
    TokenExpired,
    /// The token enrolled as many devices as it allows.
    TokenUsedUp,
    /// A device of this computer was revoked and no admin has allowed it back.
    MachineRevoked,
}

impl EnrollRefusal {
    pub const ALL: &[EnrollRefusal] = &[
        EnrollRefusal::InvalidToken,
        EnrollRefusal::TokenRevoked,
        EnrollRefusal::TokenExpired,
        EnrollRefusal::TokenUsedUp,
        EnrollRefusal::MachineRevoked,
    ];

    /// The stable `code` of the error body.
    pub const fn code(self) -> &'static str {
        match self {
            EnrollRefusal::InvalidToken => "invalid_token",
            EnrollRefusal::TokenRevoked => "token_revoked",
            EnrollRefusal::TokenExpired => "token_expired",
            EnrollRefusal::TokenUsedUp => "token_used_up",
            EnrollRefusal::MachineRevoked => "machine_revoked",
        }
    }

    /// The refusal whose [`code`](Self::code) this is.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// The HTTP status the server answers with.
    pub const fn status(self) -> u16 {
        match self {
            EnrollRefusal::MachineRevoked => 403,
            _ => 401,
        }
    }

    /// What it means, for the person enrolling the computer.
    pub const fn plain(self) -> &'static str {
        match self {
            EnrollRefusal::InvalidToken => {
                "the server does not know this enrollment token; check it, or ask your \
                 district's IT for the current one"
            }
            EnrollRefusal::TokenRevoked => {
                "this enrollment token was withdrawn by your district's IT; ask them for a new one"
            }
            EnrollRefusal::TokenExpired => {
                "this enrollment token has expired; ask your district's IT for a new one"
            }
            EnrollRefusal::TokenUsedUp => {
                "this enrollment token has already enrolled as many computers as it allows; \
                 ask your district's IT for a new one"
            }
            EnrollRefusal::MachineRevoked => {
                "this computer was removed by your district's IT; ask them to allow it again"
            }
        }
    }
}

impl std::fmt::Display for EnrollRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.plain())
    }
}

impl std::error::Error for EnrollRefusal {}
