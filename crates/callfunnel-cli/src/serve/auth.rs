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
    /// Whether the request's `Authorization` header carries an accepted key.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        match self {
            Access::Open => true,
            Access::Keys(keys) => presented_key(headers).is_some_and(|key| keys.contains(key)),
        }
    }
}

/// The credential as sent (the whole header, trimmed), for rate limiting:
/// empty when there is none.
pub fn credential(headers: &HeaderMap) -> &str {
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
        assert!(access.admits(&headers(Some("Api-Key secret"))));
        assert!(access.admits(&headers(Some("api-key  secret "))));
        assert!(access.admits(&headers(Some("secret"))));
        assert!(!access.admits(&headers(Some("Bearer secret"))));
        assert!(!access.admits(&headers(Some("Api-Key other"))));
        assert!(!access.admits(&headers(Some("Api-Key"))));
        assert!(!access.admits(&headers(None)));
        assert!(Access::Open.admits(&headers(None)));
    }
}
