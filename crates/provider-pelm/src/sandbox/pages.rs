//! The emulated hosted Connect pages: plain HTML forms, no JavaScript, so a person, a real
//! browser and the HTTP-only end user all click through the same way.
//!
//! Create mode (a `user_id` never connected before): terms → utility → credentials.
//! Update mode: utility → credentials. A token that named a utility skips the utility page.
//! Every page has an "Exit" button that returns to `redirect_uri` with the state and no code.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use url::Url;
use utilconnect_sandbox::{Fields, escape_html, field, html_page, problem_html};

use super::emulator::{
    Emulator, PageRefusal, PageSession, SANDBOX_PASSWORD, SANDBOX_USERNAME, Step, UTILITIES,
};

/// `GET /connect/?redirect_uri=…&connect_token=…&state=…`.
pub(crate) async fn open(
    State(emulator): State<Emulator>,
    Query(query): Query<Fields>,
) -> Response {
    let (Some(redirect_uri), Some(token)) = (query.get("redirect_uri"), query.get("connect_token"))
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This Connect link is missing redirect_uri or connect_token.",
        );
    };
    if parse_redirect(redirect_uri).is_none() {
        return error_page(StatusCode::BAD_REQUEST, "redirect_uri is not a valid URL.");
    }
    match emulator.open_pages(token, redirect_uri, query.get("state").map(String::as_str)) {
        Ok((id, session)) => render(&id, &session, None),
        Err(refusal) => refused(&refusal),
    }
}

/// `POST /connect/terms`.
pub(crate) async fn terms(State(emulator): State<Emulator>, Form(form): Form<Fields>) -> Response {
    let id = field(&form, "session");
    if field(&form, "action") == "exit" {
        return exit(&emulator, id);
    }
    match emulator.page(id).and_then(|_| emulator.advance(id, None)) {
        Ok(session) => render(id, &session, None),
        Err(refusal) => refused(&refusal),
    }
}

/// `POST /connect/utility`.
pub(crate) async fn utility(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let id = field(&form, "session");
    if field(&form, "action") == "exit" {
        return exit(&emulator, id);
    }
    let session = match emulator.page(id) {
        Ok(session) => session,
        Err(refusal) => return refused(&refusal),
    };
    match emulator.utility_by(Some(field(&form, "utility")), None) {
        Some(slug) => match emulator.advance(id, Some(slug)) {
            Ok(session) => render(id, &session, None),
            Err(refusal) => refused(&refusal),
        },
        None => render(id, &session, Some("Please choose your utility.")),
    }
}

/// `POST /connect/credentials`.
pub(crate) async fn credentials(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let id = field(&form, "session");
    if field(&form, "action") == "exit" {
        return exit(&emulator, id);
    }
    let session = match emulator.page(id) {
        Ok(session) => session,
        Err(refusal) => return refused(&refusal),
    };
    if field(&form, "username") != SANDBOX_USERNAME || field(&form, "password") != SANDBOX_PASSWORD
    {
        return render(
            id,
            &session,
            Some("Incorrect username or password. Please try again."),
        );
    }
    match emulator.issue_code(id) {
        Ok((code, session)) => back_to_app(&session, Some(&code)),
        Err(refusal) => refused(&refusal),
    }
}

fn exit(emulator: &Emulator, id: &str) -> Response {
    match emulator.exit(id) {
        Ok(session) => back_to_app(&session, None),
        Err(refusal) => refused(&refusal),
    }
}

fn back_to_app(session: &PageSession, code: Option<&str>) -> Response {
    let Some(mut url) = parse_redirect(&session.redirect_uri) else {
        return error_page(StatusCode::BAD_REQUEST, "redirect_uri is not a valid URL.");
    };
    {
        let mut pairs = url.query_pairs_mut();
        if let Some(code) = code {
            pairs.append_pair("code", code);
        }
        if let Some(state) = &session.state {
            pairs.append_pair("state", state);
        }
    }
    Redirect::to(url.as_str()).into_response()
}

fn parse_redirect(uri: &str) -> Option<Url> {
    Url::parse(uri)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

fn refused(refusal: &PageRefusal) -> Response {
    error_page(StatusCode::BAD_REQUEST, refusal.message())
}

fn error_page(status: StatusCode, message: &str) -> Response {
    utilconnect_sandbox::error_page("Pelm", status, message)
}

fn render(id: &str, session: &PageSession, problem: Option<&str>) -> Response {
    let problem = problem_html(problem);
    let id = escape_html(id);
    let exit = r#"<button type="submit" name="action" value="exit">Exit</button>"#;
    let (title, body) = match session.step {
        Step::Terms => (
            "Pelm Connect - terms of service",
            format!(
                r#"<h1>Connect your utility account</h1>
{problem}<p>Pelm will access your utility data on behalf of this app. By continuing you accept
Pelm's terms of service.</p>
<form id="terms" method="post" action="/connect/terms">
  <input type="hidden" name="session" value="{id}">
  <button type="submit" name="action" value="accept">Accept and continue</button>
  {exit}
</form>"#
            ),
        ),
        Step::Utility => {
            let options: String = UTILITIES
                .iter()
                .map(|(slug, _, name)| {
                    format!(
                        "  <label><input type=\"radio\" name=\"utility\" value=\"{slug}\"> {}</label><br>\n",
                        escape_html(name)
                    )
                })
                .collect();
            (
                "Pelm Connect - choose your utility",
                format!(
                    r#"<h1>Choose your utility</h1>
{problem}<form id="utility" method="post" action="/connect/utility">
  <input type="hidden" name="session" value="{id}">
{options}  <button type="submit" name="action" value="continue">Continue</button>
  {exit}
</form>"#
                ),
            )
        }
        Step::Credentials => {
            let utility = session
                .utility
                .as_deref()
                .and_then(|slug| UTILITIES.iter().find(|(s, _, _)| *s == slug))
                .map_or("your utility", |(_, _, name)| name);
            (
                "Pelm Connect - log in to your utility",
                format!(
                    r#"<h1>Log in to {}</h1>
{problem}<p>Sandbox login: <code>{SANDBOX_USERNAME}</code> / <code>{SANDBOX_PASSWORD}</code></p>
<form id="credentials" method="post" action="/connect/credentials">
  <input type="hidden" name="session" value="{id}">
  <label>Username <input type="text" name="username"></label><br>
  <label>Password <input type="password" name="password"></label><br>
  <button type="submit" name="action" value="submit">Connect</button>
  {exit}
</form>"#,
                    escape_html(utility)
                ),
            )
        }
    };
    Html(layout(title, &body)).into_response()
}

fn layout(title: &str, body: &str) -> String {
    html_page("Pelm", title, body)
}
