//! The emulated hosted Connect web app and the energy provider's login page: plain HTML
//! forms, no JavaScript.
//!
//! Flow: address (skipped when the token carried one) → provider selection → the provider's
//! own login page → back through the token's `connect_url` (the "provider login redirect") →
//! tariff summary with Save / Close / Disconnect. Save, Close and Disconnect (and Close on any
//! page) land on `callback_url?…&fp_cot=…`.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use url::Url;
use utilconnect_sandbox::{Fields, escape_html, field, html_page, problem_html};

use super::emulator::{
    ENERGY_PROVIDERS, Emulator, Finish, PROVIDER_PASSWORD, PROVIDER_USERNAME, Refusal, Session,
    Step,
};

const TOKEN: &str = "fp_cot";

/// `GET /connect-web/?fp_cot=…`: the page for the session's current step.
pub(crate) async fn open(
    State(emulator): State<Emulator>,
    Query(query): Query<Fields>,
) -> Response {
    let token = field(&query, TOKEN);
    match emulator.open_session(token) {
        Ok(session) => render(token, &session, None),
        Err(refusal) => refused(&refusal),
    }
}

/// `POST /connect-web/address`.
pub(crate) async fn address(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    if field(&form, "action") == "close" {
        return finish(&emulator, token, Finish::Close);
    }
    let complete = ["address_line1", "post_code", "country_code"]
        .iter()
        .all(|f| !field(&form, f).trim().is_empty());
    if !complete {
        return match emulator.open_session(token) {
            Ok(session) => render(token, &session, Some("Please enter your full address.")),
            Err(refusal) => refused(&refusal),
        };
    }
    match emulator.update(token, |s| s.has_address = true) {
        Ok(session) => render(token, &session, None),
        Err(refusal) => refused(&refusal),
    }
}

/// `POST /connect-web/provider`: the chosen provider's login page is on its own site.
pub(crate) async fn provider(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    if field(&form, "action") == "close" {
        return finish(&emulator, token, Finish::Close);
    }
    let chosen = field(&form, "provider");
    if !ENERGY_PROVIDERS.iter().any(|(id, _)| *id == chosen) {
        return match emulator.open_session(token) {
            Ok(session) => render(token, &session, Some("Please choose your energy provider.")),
            Err(refusal) => refused(&refusal),
        };
    }
    match emulator.update(token, |s| s.energy_provider = Some(chosen.to_owned())) {
        Ok(_) => {
            let target = format!(
                "/provider-login/?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair(TOKEN, token)
                    .finish()
            );
            Redirect::to(&target).into_response()
        }
        Err(refusal) => refused(&refusal),
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
        Ok(session) => render(token, &session, None),
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

/// `POST /connect-web/summary`: Save, Close or Disconnect.
pub(crate) async fn summary(
    State(emulator): State<Emulator>,
    Form(form): Form<Fields>,
) -> Response {
    let token = field(&form, TOKEN);
    let how = match field(&form, "action") {
        "save" => Finish::Save,
        "disconnect" => Finish::Disconnect,
        _ => Finish::Close,
    };
    if how != Finish::Close {
        match emulator.open_session(token) {
            Ok(session) if session.step() == Step::Summary => {}
            Ok(session) => return render(token, &session, Some("Please finish the steps first.")),
            Err(refusal) => return refused(&refusal),
        }
    }
    finish(&emulator, token, how)
}

fn finish(emulator: &Emulator, token: &str, how: Finish) -> Response {
    match emulator.finish(token, how) {
        Ok(session) => redirect_with_token(Some(&session.callback_url), token),
        Err(refusal) => refused(&refusal),
    }
}

/// Back to the Connect web app after the provider login: the session's `connect_url`, or
/// (2024 tokens created without `connect_web_uri`) the emulator's own pages.
fn back_to_connect(token: &str, session: &Session) -> Response {
    match &session.connect_url {
        Some(connect_url) => redirect_with_token(Some(connect_url), token),
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

fn redirect_with_token(target: Option<&str>, token: &str) -> Response {
    let Some(mut url) = target.and_then(|t| Url::parse(t).ok()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The session has no valid return URL.",
        );
    };
    url.query_pairs_mut().append_pair(TOKEN, token);
    Redirect::to(url.as_str()).into_response()
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

fn render(token: &str, session: &Session, problem: Option<&str>) -> Response {
    if session.step() == Step::ProviderLogin {
        // The user is expected on the provider's site; send them there again.
        return login_page(token, session, problem);
    }
    let problem = problem_html(problem);
    let hidden = hidden_token(token);
    let close = r#"<button type="submit" name="action" value="close">Close</button>"#;
    let (title, body) = match session.step() {
        Step::Address => (
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
        Step::Provider | Step::ProviderLogin => {
            let options: String = ENERGY_PROVIDERS
                .iter()
                .map(|(id, name)| {
                    format!(
                        "  <label><input type=\"radio\" name=\"provider\" value=\"{id}\"> {}</label><br>\n",
                        escape_html(name)
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
        Step::Summary => {
            let provider = session
                .energy_provider
                .as_deref()
                .and_then(|p| ENERGY_PROVIDERS.iter().find(|(id, _)| *id == p))
                .map_or("your provider", |(_, name)| name);
            (
                "Flatpeak Connect - tariff summary",
                format!(
                    r#"<h1>Your tariff</h1>
{problem}<p>Provider: {}</p>
<p>Tariff: Sandbox Flexible (import, commodity)</p>
<form id="summary" method="post" action="/connect-web/summary">
  {hidden}
  <button type="submit" name="action" value="save">Save</button>
  <button type="submit" name="action" value="disconnect">Disconnect</button>
  {close}
</form>"#,
                    escape_html(provider)
                ),
            )
        }
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
