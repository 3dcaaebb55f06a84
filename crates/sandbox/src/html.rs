//! The HTML every emulator's hosted pages share: the page frame, and the error markup the
//! HTTP-only [`Browser`](super::Browser) reads back (`<p class="error">`).

use super::browser::escape_html;

/// A whole page of `vendor`'s emulated Connect pages, marked as a sandbox.
///
/// ```
/// let page = utilconnect_sandbox::html_page("Pelm", "Log in", "<form></form>");
/// assert!(page.contains("<title>Log in</title>") && page.contains("not the real Pelm"));
/// ```
pub fn html_page(vendor: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n<p><em>{} sandbox: not the real {}.</em></p>\n{body}\n</body>\n</html>\n",
        escape_html(title),
        escape_html(vendor),
        escape_html(vendor),
    )
}

/// The error line of a page (`<p class="error">…</p>`), or nothing.
pub fn problem_html(problem: Option<&str>) -> String {
    problem
        .map(|p| format!("<p class=\"error\">{}</p>\n", escape_html(p)))
        .unwrap_or_default()
}

/// A page that shows only an error (a bad or expired link): no form, so no way on.
pub fn error_html(vendor: &str, message: &str) -> String {
    let body = format!(
        "<h1>Something went wrong</h1>\n{}",
        problem_html(Some(message))
    );
    html_page(vendor, &format!("{vendor} Connect - error"), &body)
}

/// The fields of a posted page form or a page's query.
pub type Fields = std::collections::HashMap<String, String>;

/// One field of a page form (empty when absent, as a browser sends an empty input).
///
/// ```
/// let mut form = utilconnect_sandbox::Fields::new();
/// form.insert("action".into(), "exit".into());
/// assert_eq!(utilconnect_sandbox::field(&form, "action"), "exit");
/// assert_eq!(utilconnect_sandbox::field(&form, "missing"), "");
/// ```
pub fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or_default()
}

/// `vendor`'s error page with `status`, as an axum response.
pub fn error_page(
    vendor: &str,
    status: http::StatusCode,
    message: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (status, axum::response::Html(error_html(vendor, message))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Page;

    #[test]
    fn the_browser_reads_back_the_error_of_an_error_page() {
        let page = Page::Html {
            url: url::Url::parse("http://127.0.0.1:1/").unwrap(),
            status: 400,
            body: error_html("Toy", "This link has <expired>."),
        };
        assert_eq!(
            page.describe(),
            "HTTP 400 page `Toy Connect - error`: This link has <expired>."
        );
    }
}
