//! The emulated hosted Connect web app and the energy provider's login page: plain HTML
//! forms, no JavaScript, driving the same conversation as Flatpeak's own web app (see
//! [`super::conversation`]): each form post is one submit, each answer one page.
//!
//! Flow: address (skipped when the token carried one) → provider selection → the provider's
//! own login page → back through the token's `connect_url` (the "provider login redirect") →
//! tariff summary with Save / Close / Disconnect. Save, Close and Disconnect (and Close on any
//! page) land on `callback_url?…&fp_cot=…`.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use utilconnect_sandbox::{Fields, escape_html, field, html_page, problem_html};

use super::conversation::{self, Answer, Links, Submit, TOKEN};
use super::emulator::{
    ENERGY_PROVIDERS, Emulator, PROVIDER_PASSWORD, PROVIDER_USERNAME, Refusal, Session, Step,
};

/// The pages link within the emulator's own origin.
fn links() -> Links {
    Links {
        origin: String::new(),
    }
}

/// `GET /connect-web/?fp_cot=…`: the page for the session's current step.
pub(crate) async fn open(
    State(emulator): State<Emulator>,
    Query(query): Query<Fields>,
) -> Response {
    let token = field(&query, TOKEN);
    show(&emulator, token, Submit::new("session_start", token))
}

/// `POST /connect-web/address`.
pub(crate) async fn address(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    let submit = Submit::new("postal_address_capture", token);
    let submit = if field(&form, "action") == "close" {
        submit.action("CLOSE")
    } else {
        let address: serde_json::Map<String, Value> =
            ["address_line1", "post_code", "country_code"]
                .into_iter()
                .map(|f| (f.to_owned(), json!(field(&form, f).trim())))
                .collect();
        submit.data(json!({"postal_address": address}))
    };
    show(&emulator, token, submit)
}

/// `POST /connect-web/provider`: the chosen provider's login page is on its own site.
pub(crate) async fn provider(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    let submit = Submit::new("provider_select", token);
    let submit = if field(&form, "action") == "close" {
        submit.action("CLOSE")
    } else {
        submit.data(json!({"provider": {"id": field(&form, "provider")}}))
    };
    show(&emulator, token, submit)
}

/// `POST /connect-web/summary`: Save, Close or Disconnect.
pub(crate) async fn summary(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    let action = match field(&form, "action") {
        "save" => "SAVE",
        "disconnect" => "DISCONNECT",
        _ => "CLOSE",
    };
    show(
        &emulator,
        token,
        Submit::new("tariff_summary", token).action(action),
    )
}

/// Submits `submit` and shows the answer: a page, a redirect, or (for a submit the
/// conversation refuses) the current page again with the reason.
fn show(emulator: &Emulator, token: &str, submit: Submit) -> Response {
    match conversation::submit(emulator, &submit, &links()) {
        Answer::Render(page) => render(token, &page, None),
        Answer::Refused(_, body) => {
            let message = body["message"].as_str().unwrap_or("Something went wrong.");
            match emulator.open_session(token) {
                Ok(_) => match conversation::submit(
                    emulator,
                    &Submit::new("session_start", token),
                    &links(),
                ) {
                    Answer::Render(page) => render(token, &page, Some(message)),
                    Answer::Refused(..) => error_page(StatusCode::BAD_REQUEST, message),
                },
                Err(refusal) => refused(&refusal),
            }
        }
    }
}

/// `GET /provider-login/?fp_cot=…`: the energy provider's own login page.
pub(crate) async fn provider_login_page(
    State(emulator): State<Emulator>,
    Query(query): Query<Fields>,
) -> Response {
    let token = field(&query, TOKEN);
    match emulator.open_session(token) {
        Ok(session) if session.step() == Step::ProviderLogin => login_page(token, &session, None),
        Ok(_) => show(&emulator, token, Submit::new("session_start", token)),
        Err(refusal) => refused(&refusal),
    }
}

/// `POST /provider-login/`: on success, back to Connect through the token's `connect_url`.
pub(crate) async fn provider_login(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    let session = match emulator.open_session(token) {
        Ok(session) => session,
        Err(refusal) => return refused(&refusal),
    };
    if field(&form, "action") == "cancel" {
        // Back to Connect without logging in: the user can choose again.
        return match emulator.update(token, |s| s.energy_provider = None) {
            Ok(session) => back_to_connect(token, &session),
            Err(refusal) => refused(&refusal),
        };
    }
    if field(&form, "username") != PROVIDER_USERNAME
        || field(&form, "password") != PROVIDER_PASSWORD
    {
        return login_page(token, &session, Some("Incorrect email or password."));
    }
    match emulator.update(token, |s| s.logged_in = true) {
        Ok(session) => back_to_connect(token, &session),
        Err(refusal) => refused(&refusal),
    }
}

/// Back to the Connect web app after the provider login: the session's `connect_url`, or
/// (2024 tokens created without `connect_web_uri`) the emulator's own pages.
fn back_to_connect(token: &str, session: &Session) -> Response {
    match &session.connect_url {
        Some(connect_url) => match conversation::with_token(connect_url, token) {
            Some(target) => Redirect::to(&target).into_response(),
            None => error_page(
                StatusCode::BAD_REQUEST,
                "The session has no valid return URL.",
            ),
        },
        None => {
            let target = format!(
                "/connect-web/?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair(TOKEN, token)
                    .finish()
            );
            Redirect::to(&target).into_response()
        }
    }
}

fn refused(refusal: &Refusal) -> Response {
    error_page(StatusCode::BAD_REQUEST, refusal.message())
}

fn error_page(status: StatusCode, message: &str) -> Response {
    utilconnect_sandbox::error_page("Flatpeak", status, message)
}

fn hidden_token(token: &str) -> String {
    format!(
        r#"<input type="hidden" name="{TOKEN}" value="{}">"#,
        escape_html(token)
    )
}

/// One answer of the conversation as the browser gets it: a page, or a redirect.
fn render(token: &str, page: &Value, problem: Option<&str>) -> Response {
    let data = &page["data"];
    let route = page["route"].as_str().unwrap_or_default();
    if let Some(target) = match route {
        "session_redirect" => data["redirect_url"].as_str(),
        "complete_tariff" => data["callback_url"].as_str(),
        _ => None,
    } {
        return Redirect::to(target).into_response();
    }
    let problem = problem_html(problem);
    let hidden = hidden_token(token);
    let close = r#"<button type="submit" name="action" value="close">Close</button>"#;
    let (title, body) = match route {
        "postal_address_capture" => (
            "Flatpeak Connect - your address",
            format!(
                r#"<h1>Where is your property?</h1>
{problem}<form id="address" method="post" action="/connect-web/address">
  {hidden}
  <label>Address <input type="text" name="address_line1"></label><br>
  <label>Post code <input type="text" name="post_code"></label><br>
  <label>Country <input type="text" name="country_code" value="GB"></label><br>
  <button type="submit" name="action" value="continue">Continue</button>
  {close}
</form>"#
            ),
        ),
        "provider_select" => {
            let options: String = data["providers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "  <label><input type=\"radio\" name=\"provider\" value=\"{}\"> {}</label><br>\n",
                        escape_html(p["id"].as_str().unwrap_or_default()),
                        escape_html(p["display_name"].as_str().unwrap_or_default())
                    )
                })
                .collect();
            (
                "Flatpeak Connect - choose your energy provider",
                format!(
                    r#"<h1>Who supplies your energy?</h1>
{problem}<form id="provider" method="post" action="/connect-web/provider">
  {hidden}
{options}  <button type="submit" name="action" value="continue">Continue</button>
  {close}
</form>"#
                ),
            )
        }
        "tariff_summary" => (
            "Flatpeak Connect - tariff summary",
            format!(
                r#"<h1>Your tariff</h1>
{problem}<p>Provider: {}</p>
<p>Tariff: {} ({})</p>
<form id="summary" method="post" action="/connect-web/summary">
  {hidden}
  <button type="submit" name="action" value="save">Save</button>
  <button type="submit" name="action" value="disconnect">Disconnect</button>
  {close}
</form>"#,
                escape_html(
                    data["provider"]["display_name"]
                        .as_str()
                        .unwrap_or("your provider")
                ),
                escape_html(data["tariff"]["name"].as_str().unwrap_or_default()),
                escape_html(
                    &page["direction"]
                        .as_str()
                        .unwrap_or_default()
                        .to_lowercase()
                ),
            ),
        ),
        _ => return error_page(StatusCode::BAD_REQUEST, "This page is not available."),
    };
    Html(layout(title, &body)).into_response()
}

fn login_page(token: &str, session: &Session, problem: Option<&str>) -> Response {
    let provider = session
        .energy_provider
        .as_deref()
        .and_then(|p| ENERGY_PROVIDERS.iter().find(|(id, _)| *id == p))
        .map_or("Energy provider", |(_, name)| name);
    let body = format!(
        r#"<h1>{} - log in</h1>
{}<p>Sandbox login: <code>{PROVIDER_USERNAME}</code> / <code>{PROVIDER_PASSWORD}</code></p>
<form id="provider-login" method="post" action="/provider-login/">
  {}
  <label>Email <input type="text" name="username"></label><br>
  <label>Password <input type="password" name="password"></label><br>
  <button type="submit" name="action" value="login">Log in</button>
  <button type="submit" name="action" value="cancel">Cancel</button>
</form>"#,
        escape_html(provider),
        problem_html(problem),
        hidden_token(token),
    );
    Html(layout(&format!("{provider} - log in"), &body)).into_response()
}

fn layout(title: &str, body: &str) -> String {
    html_page("Flatpeak", title, body)
}
