//! API keys, read as Allo reads them: `Authorization: Api-Key KEY` or the bare
//! key. A `Bearer` token, a missing header or an unknown key is refused.

use std::collections::HashSet;

use axum::http::{header, HeaderMap};

/// Who may call the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Only these keys.
    Keys(HashSet<String>),
    /// Anyone (`--no-auth`).
    Open,
}

impl Access {
    /// Who the request's `Authorization` header admits, as the rate limits
    /// count it: the accepted key (one of the configured ones, so that what
    /// is counted per client stays as few as the keys), or `""` for everyone
    /// when access is open; `None` when refused.
    pub fn admit(&self, headers: &HeaderMap) -> Option<&str> {
        match self {
            Access::Open => Some(""),
            Access::Keys(keys) => keys.get(presented_key(headers)?).map(String::as_str),
        }
    }
}

/// The `Authorization` header as sent, trimmed: empty when there is none.
fn credential(headers: &HeaderMap) -> &str {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map_or("", str::trim)
}

/// The key of an `Api-Key KEY` or bare `KEY` header; `None` for a missing
/// header or another scheme such as `Bearer`.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let value = credential(headers);
    if value.is_empty() {
        return None;
    }
    match value.split_once(char::is_whitespace) {
        None => Some(value),
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("Api-Key") => Some(key.trim()),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(authorization: Option<&'static str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn api_key_and_bare_forms_are_accepted_others_are_not() {
        let access = Access::Keys(HashSet::from(["secret".to_string()]));
        assert_eq!(
            access.admit(&headers(Some("Api-Key secret"))),
            Some("secret")
        );
        assert_eq!(
            access.admit(&headers(Some("api-key  secret "))),
            Some("secret")
        );
        assert_eq!(access.admit(&headers(Some("secret"))), Some("secret"));
        assert_eq!(access.admit(&headers(Some("Bearer secret"))), None);
        assert_eq!(access.admit(&headers(Some("Api-Key other"))), None);
        assert_eq!(access.admit(&headers(Some("Api-Key"))), None);
        assert_eq!(access.admit(&headers(None)), None);
        assert_eq!(
            Access::Open.admit(&headers(Some("Api-Key anyone"))),
            Some("")
        );
    }
}
