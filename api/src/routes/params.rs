//! Query and path parameters shared by the collections.

use uuid::Uuid;

use crate::problem::ApiError;

/// `?limit=&cursor=` of a collection.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(value_type = Option<super::schemas::CursorName>)]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn to_request(&self) -> Result<persistence::PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(ApiError::validation(
                "/query/limit",
                "must be between 1 and 200",
            ));
        }
        let after = self
            .cursor
            .as_deref()
            .map(|c| {
                Uuid::parse_str(c).map_err(|_| {
                    ApiError::validation("/query/cursor", "is not a cursor from this API")
                })
            })
            .transpose()?;
        Ok(persistence::PageRequest { after, limit })
    }
}

/// A path id that is not a UUID is a 404 (there is no such object), as problem+json.
pub fn parse_id(value: &str, what: &'static str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::NotFound(what))
}
