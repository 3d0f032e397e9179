use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::model::Issue;

/// Every refusal the service can give, each with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    #[error("not authenticated: {message}")]
    Unauthenticated { message: String },
    #[error("forbidden: {message}")]
    Forbidden { message: String },
    #[error("not found: {message}")]
    NotFound { message: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error(
        "conflict: {} changed since you read it (now at version {}); reload it and apply your change again",
        current.key, current.version
    )]
    Conflict { current: Box<Issue> },
    #[error("rate limited: too many requests; retry in {retry_after_ms} ms")]
    RateLimited { retry_after_ms: u64 },
    #[error("unavailable: {message}")]
    Unavailable { message: String },
    #[error("internal error: {message}")]
    Internal { message: String },
}

impl ApiError {
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::Unauthenticated {
            message: message.into(),
        }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::NotFound {
            message: message.into(),
        }
    }
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::Unavailable {
            message: message.into(),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::Internal {
            message: message.into(),
        }
    }

    /// A short, stable name for the kind of error, for scripts and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated { .. } => "unauthenticated",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Invalid { .. } => "invalid",
            ApiError::Conflict { .. } => "conflict",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal { .. } => "internal",
        }
    }
}
