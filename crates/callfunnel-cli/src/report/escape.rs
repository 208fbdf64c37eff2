//! Escaping text for HTML and SVG (both XML-safe).

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities, so it is safe
/// in element content and in quoted attribute values of HTML and SVG.
///
/// ```
/// use callfunnel_cli::report::escape;
///
/// assert_eq!(escape(r#"<Zoë & "Bob">'s"#), "&lt;Zoë &amp; &quot;Bob&quot;&gt;&#39;s");
/// ```
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
