//! One error type for every handler, answered as the wire `ApiError` body.

use crate::store::StoreError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use handraise_wire::{ApiError, EnrollRefusal};

/// Everything a handler can answer other than success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or unknown credentials")]
    Unauthorized,
    /// `POST /enroll` refused: the token is unknown, revoked, expired or used up, or
    /// the computer was revoked (401, or 403 for the computer; the code says which).
    #[error("{0}")]
    EnrollRefused(EnrollRefusal),
    #[error("this device has been revoked; enroll it again")]
    DeviceRevoked,
    /// Authenticated, but the role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Invalid(String),
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// A device's daily quota is used up (the message names which).
    #[error("{message}")]
    QuotaExceeded {
        message: String,
        retry_after_secs: u64,
    },
    #[error("the request took too long")]
    Timeout,
    #[error("the server is shutting down; retry shortly")]
    ShuttingDown,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A server fault; the cause is logged, the answer is generic.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client should wait after a 503 during shutdown.
pub const SHUTDOWN_RETRY_AFTER_SECS: u64 = 5;

impl AppError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        AppError::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::EnrollRefused(r) => {
                StatusCode::from_u16(r.status()).unwrap_or(StatusCode::UNAUTHORIZED)
            }
            AppError::DeviceRevoked => StatusCode::FORBIDDEN,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } | AppError::QuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Timeout => StatusCode::REQUEST_TIMEOUT,
            AppError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the wire `ApiError`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::EnrollRefused(r) => r.code(),
            AppError::DeviceRevoked => "device_revoked",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict(_) => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Invalid(_) => "invalid",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::QuotaExceeded { .. } => "quota_exceeded",
            AppError::Timeout => "timeout",
            AppError::ShuttingDown => "shutting_down",
            AppError::MethodNotAllowed => "method_not_allowed",
            AppError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "internal server error".to_owned()
            }
            other => other.to_string(),
        };
        let body = ApiError {
            code: self.code().to_owned(),
            message,
        };
        let mut response = (status, axum::Json(body)).into_response();
        let retry_after = match self {
            AppError::RateLimited { retry_after_secs }
            | AppError::QuotaExceeded {
                retry_after_secs, ..
            } => Some(retry_after_secs.max(1)),
            AppError::ShuttingDown => Some(SHUTDOWN_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::NotFound => AppError::NotFound,
            StoreError::Invalid(m) => AppError::Invalid(m),
            other => AppError::internal(other),
        }
    }
}

/// A field a teacher filled in broke the wire's limit (422).
impl From<handraise_wire::TextError> for AppError {
    fn from(e: handraise_wire::TextError) -> Self {
        AppError::Invalid(e.to_string())
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "expected a request body with Content-Type: application/json".into(),
            ),
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(e.body_text()),
            JsonRejection::JsonDataError(e) => AppError::BadRequest(e.body_text()),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge("the request body is too large".into())
            }
            other if other.status().is_client_error() => AppError::BadRequest(other.body_text()),
            other => AppError::internal(other.body_text()),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        if r.status().is_server_error() {
            AppError::internal(r.body_text())
        } else {
            AppError::BadRequest(r.body_text())
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(r.body_text())
    }
}

/// `axum::Json` whose rejections answer the `ApiError` shape: malformed → 400,
/// wrong content type → 415, too large → 413.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` answering 400 `bad_request` on a bad segment.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` answering 400 `bad_request` on a bad query.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_answer_a_generic_message() {
        let r = AppError::internal("disk on fire at /var/secret").into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(AppError::internal("x").code(), "internal");
        assert_eq!(AppError::DeviceRevoked.code(), "device_revoked");
        let r = AppError::EnrollRefused(EnrollRefusal::MachineRevoked);
        assert_eq!(
            (r.status(), r.code()),
            (StatusCode::FORBIDDEN, "machine_revoked")
        );
        let r = AppError::EnrollRefused(EnrollRefusal::TokenExpired);
        assert_eq!(
            (r.status(), r.code()),
            (StatusCode::UNAUTHORIZED, "token_expired")
        );
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let r = AppError::RateLimited {
            retry_after_secs: 3,
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            r.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(3u64))
        );
    }
}
