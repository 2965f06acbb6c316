//! The JSON body extractor of the API: the body size limit, malformed JSON and wrong types all become
//! [`ApiError`]s that say what was wrong and where (line and column, field), instead of axum's plain-text
//! rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body deserialized into `T`. An empty body is read as `{}`, so endpoints whose fields are all
/// optional accept a bare POST.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", rejection.body_text())
            } else {
                ApiError::new(rejection.status(), "invalid_request", rejection.body_text())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses a body, telling malformed JSON (`malformed_json`) from well-formed JSON of the wrong shape
/// (`invalid_request`).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("malformed JSON body: {e}"))
        } else {
            ApiError::invalid(format!("invalid request body: {e}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Open {
        env: String,
        task: Option<String>,
    }

    #[test]
    fn syntax_errors_and_wrong_shapes_are_told_apart_and_located() {
        let e = parse::<Open>(b"{\"env\": ").unwrap_err();
        assert_eq!(e.code, "malformed_json");
        assert!(e.message.contains("line 1"), "{}", e.message);
        let e = parse::<Open>(b"{\"env\": 3}").unwrap_err();
        assert_eq!(e.code, "invalid_request");
        assert!(e.message.contains("expected a string"), "{}", e.message);
        let e = parse::<Open>(b"{\"env\": \"shop\", \"tsak\": \"t1\"}").unwrap_err();
        assert!(e.message.contains("tsak"), "{}", e.message);
        assert_eq!(parse::<Open>(b"{\"env\": \"shop\"}").unwrap().env, "shop");
        assert_eq!(parse::<Option<Open>>(b"  ").map(|_| ()).unwrap_err().code, "invalid_request");
    }
}
