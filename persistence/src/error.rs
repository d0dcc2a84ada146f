use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Database failures, classified so that nothing above this crate matches on diesel.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference rule refused the change; the text names the rule.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Stored data that does not parse into the domain type.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => {
                    StoreError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
                }
                DatabaseErrorKind::ForeignKeyViolation => {
                    StoreError::Conflict(info.constraint_name().unwrap_or("reference").to_owned())
                }
                DatabaseErrorKind::ClosedConnection => {
                    StoreError::Unavailable(info.message().to_owned())
                }
                _ => StoreError::Other(info.message().to_owned()),
            },
            other => StoreError::Other(other.to_string()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

/// The value itself stays out of the message: it may be personal data.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}
