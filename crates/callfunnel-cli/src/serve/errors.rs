//! The API's error envelope over HTTP (SPEC §2.1, Allo's error-handling guide):
//! `{"error": {"type", "code", "message", "retryable", "param"?, "request_id",
//! "retry_after_seconds"?}}`.
//!
//! A handler returns an [`ApiFailure`]; it travels in the response's
//! extensions to the request pipeline, which writes the body once it knows the
//! request id (see [`ApiFailure::envelope`]).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One error answer: its HTTP status and the envelope's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status.
    pub status: StatusCode,
    /// Error category, e.g. `validation_error`.
    pub error_type: &'static str,
    /// Stable code, e.g. `API_KEY_INVALID`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The offending parameter, when there is one.
    pub param: Option<String>,
    /// Seconds to wait before retrying (rate limits only).
    pub retry_after_seconds: Option<u64>,
}

impl ApiFailure {
    fn new(status: StatusCode, error_type: &'static str, code: &str, message: String) -> Self {
        ApiFailure {
            status,
            error_type,
            code: code.to_string(),
            message,
            param: None,
            retry_after_seconds: None,
        }
    }

    /// The same failure, naming the parameter at fault.
    pub fn with_param(mut self, param: &str) -> Self {
        self.param = Some(param.to_string());
        self
    }

    /// 400 with a validation code, e.g. `INVALID_REQUEST_BODY`.
    pub fn validation(code: &str, param: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "validation_error",
            code,
            message.into(),
        )
        .with_param(param)
    }

    /// 400 from the library's request validation (the same error `metrics` prints).
    pub fn from_request_error(error: &callfunnel::ApiError) -> Self {
        ApiFailure {
            status: StatusCode::BAD_REQUEST,
            error_type: error.error_type,
            code: error.code.to_string(),
            message: error.message.clone(),
            param: error.param.clone(),
            retry_after_seconds: None,
        }
    }

    /// 401 `API_KEY_INVALID`.
    pub fn api_key_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "API_KEY_INVALID",
            "The API key is missing or invalid: send `Authorization: Api-Key YOUR_API_KEY`.".into(),
        )
    }

    /// 404 `ENDPOINT_NOT_FOUND` for a path that no route serves.
    pub fn endpoint_not_found(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found_error",
            "ENDPOINT_NOT_FOUND",
            format!("No endpoint {method} {path}."),
        )
    }

    /// 404 `CONVERSATION_ITEM_NOT_FOUND`.
    pub fn item_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found_error",
            "CONVERSATION_ITEM_NOT_FOUND",
            format!("No call or message found with ID '{id}'."),
        )
        .with_param("id")
    }

    /// 405 `METHOD_NOT_ALLOWED`.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "validation_error",
            "METHOD_NOT_ALLOWED",
            format!("{path} does not accept {method}."),
        )
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "validation_error",
            "PAYLOAD_TOO_LARGE",
            format!("The request body is larger than {limit_bytes} bytes."),
        )
    }

    /// 408 for a body that did not arrive whole within the body timeout.
    pub fn body_timeout(timeout: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "validation_error",
            "REQUEST_TIMEOUT",
            format!(
                "The request body did not arrive within {} s.",
                timeout.as_secs_f64()
            ),
        )
        .with_param("body")
    }

    /// 503 for a connection beyond the connection limit (`retryable`, with
    /// `Retry-After`).
    pub fn too_many_connections(limit: usize) -> Self {
        let mut failure = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            "TOO_MANY_CONNECTIONS",
            format!("The server holds its limit of {limit} connections; retry shortly."),
        );
        failure.retry_after_seconds = Some(1);
        failure
    }

    /// The answer to a request head hyper cannot read: 431
    /// `HEADERS_TOO_LARGE` over the head limit (a URI too long included:
    /// the limit is below hyper's own for URIs), else 400 `MALFORMED_REQUEST`.
    pub fn unreadable_head(status: StatusCode, max_head_bytes: usize) -> Self {
        let (code, message) = match status {
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
                "HEADERS_TOO_LARGE",
                format!(
                    "The request line and headers are larger than {max_head_bytes} bytes, or more than {} headers.",
                    super::connections::MAX_HEADERS
                ),
            ),
            _ => (
                "MALFORMED_REQUEST",
                "The request is not valid HTTP/1.1 (its request line or a header).".to_string(),
            ),
        };
        Self::new(status, "validation_error", code, message)
    }

    /// 415 for a body that is not sent as JSON.
    pub fn unsupported_media_type(content_type: Option<&str>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "validation_error",
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "The body must be JSON (`Content-Type: application/json`), not {}.",
                content_type.map_or("a body without Content-Type".into(), |t| format!("`{t}`"))
            ),
        )
        .with_param("Content-Type")
    }

    /// 429 `RATE_LIMIT_EXCEEDED`.
    pub fn rate_limited(limit: u32, retry_after_seconds: u64) -> Self {
        let mut failure = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "RATE_LIMIT_EXCEEDED",
            format!("You have exceeded the rate limit of {limit} requests per second."),
        );
        failure.retry_after_seconds = Some(retry_after_seconds);
        failure
    }

    /// 429 `RATE_LIMIT_EXCEEDED` injected by `--inject-faults`: the envelope
    /// and headers of a real rate limit.
    pub fn injected_rate_limit(retry_after_seconds: u64) -> Self {
        let mut failure = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "RATE_LIMIT_EXCEEDED",
            format!("Rate limit exceeded (injected by --inject-faults); retry after {retry_after_seconds} s."),
        );
        failure.retry_after_seconds = Some(retry_after_seconds);
        failure
    }

    /// 500 `INTERNAL_ERROR` injected by `--inject-faults` (`retryable: true`).
    pub fn injected_server_error() -> Self {
        Self::internal("A server error injected by --inject-faults; retry the request.")
    }

    /// 500 for a failure inside callfunnel (a defect, logged).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "INTERNAL_ERROR",
            message.into(),
        )
    }

    /// Whether the same request may succeed later (rate limits and internal failures).
    pub fn retryable(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error()
    }

    /// The envelope `{"error": {...}}` for the request `request_id`, as JSON
    /// text with the fields in the API's order.
    pub fn envelope(&self, request_id: &str) -> String {
        let envelope = Envelope {
            error: EnvelopeError {
                error_type: self.error_type,
                code: &self.code,
                message: &self.message,
                retryable: self.retryable(),
                request_id,
                param: self.param.as_deref(),
                retry_after_seconds: self.retry_after_seconds,
            },
        };
        serde_json::to_string(&envelope).expect("error envelopes serialize")
    }
}

/// An error answer written straight to a connection, outside hyper: status
/// line, the headers every error answer carries, `Connection: close`, and the
/// envelope.
pub fn raw_answer(failure: &ApiFailure, request_id: &str) -> Vec<u8> {
    let body = failure.envelope(request_id);
    let retry_after = failure
        .retry_after_seconds
        .map_or(String::new(), |seconds| {
            format!("retry-after: {seconds}\r\n")
        });
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: {request_id}\r\n{retry_after}connection: close\r\ndate: {}\r\n\r\n{body}",
        failure.status.as_u16(),
        failure.status.canonical_reason().unwrap_or_default(),
        body.len(),
        chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT"),
    )
    .into_bytes()
}

/// `{"error": {...}}`.
#[derive(Serialize)]
struct Envelope<'a> {
    error: EnvelopeError<'a>,
}

/// The fields of the envelope, in the order Allo prints them; `param` is
/// `null` when no parameter is at fault, as in the envelope `metrics` prints.
#[derive(Serialize)]
struct EnvelopeError<'a> {
    #[serde(rename = "type")]
    error_type: &'a str,
    code: &'a str,
    message: &'a str,
    retryable: bool,
    request_id: &'a str,
    param: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after_seconds: Option<u64>,
}

impl IntoResponse for ApiFailure {
    /// An empty response carrying the failure; the pipeline writes its body.
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_envelope_has_the_api_fields_in_order() {
        let envelope = ApiFailure::item_not_found("cll-x").envelope("req_abcdefabcdef");
        assert_eq!(
            envelope,
            r#"{"error":{"type":"not_found_error","code":"CONVERSATION_ITEM_NOT_FOUND","message":"No call or message found with ID 'cll-x'.","retryable":false,"request_id":"req_abcdefabcdef","param":"id"}}"#
        );
    }

    #[test]
    fn rate_limits_are_retryable_and_say_when() {
        let text = ApiFailure::rate_limited(5, 1).envelope("req_000000000000");
        let envelope: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(envelope["error"]["retryable"], json!(true));
        assert_eq!(envelope["error"]["retry_after_seconds"], json!(1));
        assert_eq!(
            envelope["error"]["message"],
            json!("You have exceeded the rate limit of 5 requests per second.")
        );
    }
}
