//! An HTTP-only "end user" for the emulators' hosted pages.
//!
//! The emulators render plain HTML forms (no JavaScript), so a person, a real browser and this
//! small client can all click through them. The browser follows redirects only while they stay
//! on the emulator; the first redirect that leaves it (to the app's callback) ends navigation.

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

use utilconnect::{Error, ErrorKind, Operation, Result};

/// Most redirects followed in one navigation.
const MAX_REDIRECTS: usize = 10;

/// Where a navigation ended.
#[derive(Debug, Clone)]
pub enum Page {
    /// A page of the emulator.
    Html {
        /// The page's URL.
        url: Url,
        /// The HTTP status.
        status: u16,
        /// The HTML.
        body: String,
    },
    /// A redirect that left the emulator: the app's callback.
    Left(Url),
}

impl Page {
    /// The form with `id`, if this is a page that has it.
    pub fn form(&self, id: &str) -> Option<Form> {
        let Page::Html { url, body, .. } = self else {
            return None;
        };
        FORM.captures_iter(body).find_map(|caps| {
            let attrs = &caps["attrs"];
            if attr(attrs, "id").as_deref() != Some(id) {
                return None;
            }
            let action = url.join(&attr(attrs, "action").unwrap_or_default()).ok()?;
            let fields = INPUT
                .captures_iter(&caps["inner"])
                .filter_map(|input| {
                    let attrs = &input["attrs"];
                    let name = attr(attrs, "name")?;
                    let kind = attr(attrs, "type").unwrap_or_else(|| "text".into());
                    if kind == "submit" || kind == "radio" {
                        return None;
                    }
                    Some((name, attr(attrs, "value").unwrap_or_default()))
                })
                .collect();
            Some(Form { action, fields })
        })
    }

    /// Whether this is an emulator page whose HTML contains `text`.
    pub fn contains(&self, text: &str) -> bool {
        matches!(self, Page::Html { body, .. } if body.contains(text))
    }

    /// The URL the browser left to, if it left the emulator.
    pub fn left_to(&self) -> Option<&Url> {
        match self {
            Page::Left(url) => Some(url),
            Page::Html { .. } => None,
        }
    }

    /// A short description for error messages: status, page title and the page's error
    /// message (the first `<p class="error">`), if any.
    pub fn describe(&self) -> String {
        match self {
            Page::Left(url) => format!("left to {}", url.path()),
            Page::Html { status, body, .. } => {
                let title = TITLE
                    .captures(body)
                    .map(|c| unescape_html(&c[1]))
                    .unwrap_or_default();
                match ERROR.captures(body) {
                    Some(error) => format!(
                        "HTTP {status} page `{title}`: {}",
                        unescape_html(error[1].trim())
                    ),
                    None => format!("HTTP {status} page `{title}`"),
                }
            }
        }
    }
}

/// A form to fill and submit.
#[derive(Debug, Clone)]
pub struct Form {
    /// Where it posts to.
    pub action: Url,
    /// Its fields, hidden ones pre-filled.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// Sets a field, adding it if the form has none by that name (e.g. a button value).
    pub fn set(mut self, name: &str, value: &str) -> Self {
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
        self
    }
}

/// The HTTP-only end user.
#[derive(Debug, Clone)]
pub struct Browser {
    client: reqwest::Client,
    origin: url::Origin,
}

impl Browser {
    /// A browser that stays on the emulator at `base_url`.
    pub fn new(base_url: &Url) -> Result<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::config(format!("could not build the browser: {e}")))?;
        Ok(Self {
            client,
            origin: base_url.origin(),
        })
    }

    /// Opens `url` and follows redirects.
    pub async fn open(&self, url: &Url) -> Result<Page> {
        if url.origin() != self.origin {
            return Ok(Page::Left(url.clone()));
        }
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(navigation_error)?;
        self.follow(response).await
    }

    /// Submits `form` and follows redirects.
    pub async fn submit(&self, form: &Form) -> Result<Page> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form.fields)
            .finish();
        let response = self
            .client
            .post(form.action.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(navigation_error)?;
        self.follow(response).await
    }

    /// Plays the end user through the hosted pages from `start`: on each emulator page
    /// `choose` says which form to submit (or fails, e.g. on an error page), until the browser
    /// leaves the emulator; that URL (the app's callback) is returned. At most `max_pages`
    /// forms are submitted.
    pub async fn walk(
        &self,
        start: &Url,
        max_pages: usize,
        mut choose: impl FnMut(&Page) -> Result<Form>,
    ) -> Result<Url> {
        let mut page = self.open(start).await?;
        for _ in 0..=max_pages {
            if let Some(url) = page.left_to() {
                return Ok(url.clone());
            }
            let form = choose(&page)?;
            page = self.submit(&form).await?;
        }
        Err(end_user_error(format!(
            "the hosted pages did not finish within {max_pages} pages"
        )))
    }

    async fn follow(&self, mut response: reqwest::Response) -> Result<Page> {
        for _ in 0..MAX_REDIRECTS {
            let url = response.url().clone();
            if !response.status().is_redirection() {
                let status = response.status().as_u16();
                let body = response.text().await.map_err(navigation_error)?;
                return Ok(Page::Html { url, status, body });
            }
            let location = response
                .headers()
                .get(http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unexpected,
                        Operation::Complete,
                        "the hosted page redirected without a valid Location",
                    )
                })?;
            if location.origin() != self.origin {
                return Ok(Page::Left(location));
            }
            response = self
                .client
                .get(location)
                .send()
                .await
                .map_err(navigation_error)?;
        }
        Err(Error::new(
            ErrorKind::Unexpected,
            Operation::Complete,
            format!("the hosted pages redirected more than {MAX_REDIRECTS} times"),
        ))
    }
}

/// The error for an end user who cannot go on (an error page, a page without the expected
/// form, a wrong password accepted).
pub fn end_user_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, Operation::Complete, message)
}

/// The error for an emulator page that offers none of the forms the end user expects.
pub fn no_way_on(page: &Page) -> Error {
    end_user_error(format!(
        "the hosted page showed no way on: {}",
        page.describe()
    ))
}

fn navigation_error(err: reqwest::Error) -> Error {
    Error::new(
        ErrorKind::Network,
        Operation::Complete,
        "the end user could not load the hosted page",
    )
    .with_source(err.without_url())
}

static FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)<form(?P<attrs>[^>]*)>(?P<inner>.*?)</form>").expect("static regex")
});
static INPUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<(?:input|button)(?P<attrs>[^>]*)>").expect("static regex"));
static ERROR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?s)<p class="error">(.*?)</p>"#).expect("static regex"));
static TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<title>(.*?)</title>").expect("static regex"));

static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?P<name>[A-Za-z][A-Za-z0-9_-]*)="(?P<value>[^"]*)""#).expect("static regex")
});

/// The value of attribute `name` in a tag's attribute text.
fn attr(attrs: &str, name: &str) -> Option<String> {
    ATTRIBUTE
        .captures_iter(attrs)
        .find(|c| &c["name"] == name)
        .map(|c| unescape_html(&c["value"]))
}

/// Escapes text for HTML (content and double-quoted attributes); emulators use it for every
/// value they render.
///
/// ```
/// assert_eq!(utilconnect_sandbox::escape_html(r#"<a href="x">&</a>"#),
///            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_html(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_forms_by_id_with_hidden_fields() {
        let page = Page::Html {
            url: Url::parse("http://127.0.0.1:1/pages/start?x=1").unwrap(),
            status: 200,
            body: r#"<title>Log in &amp; go</title><p class="error">Wrong &quot;password&quot;</p>
                <form id="other" method="post" action="/no"></form>
                <form id="login" method="post" action="/pages/login">
                  <input type="hidden" name="session" value="a&amp;b">
                  <input type="text" name="username">
                  <button type="submit" name="action" value="continue">Go</button>
                </form>"#
                .into(),
        };
        let form = page.form("login").expect("form");
        assert_eq!(form.action.as_str(), "http://127.0.0.1:1/pages/login");
        assert_eq!(
            form.fields,
            vec![
                ("session".to_owned(), "a&b".to_owned()),
                ("username".to_owned(), String::new()),
            ],
            "submit buttons are chosen by the caller, not pre-filled"
        );
        let form = form
            .set("username", "user@acme.example")
            .set("action", "continue");
        assert_eq!(form.fields[1].1, "user@acme.example");
        assert_eq!(form.fields[2], ("action".to_owned(), "continue".to_owned()));
        assert!(page.form("missing").is_none());
        assert_eq!(
            page.describe(),
            "HTTP 200 page `Log in & go`: Wrong \"password\""
        );
    }

    #[test]
    fn escape_and_unescape_round_trip() {
        let text = r#"<script>alert("x & 'y'")</script>"#;
        assert_eq!(unescape_html(&escape_html(text)), text);
    }
}
