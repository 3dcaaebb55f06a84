//! Entry points for the fuzz targets in `fuzz/` (not a stable API): Flatpeak's own decoding
//! and error mapping of one vendor answer, as the provider runs them after each call.

use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use utilconnect::http::Response;
use utilconnect::{ConnectToken, Error, Operation, PendingSession, State, TokenRequest, Url};

use crate::client::{outcome_of, session_created};
use crate::errors::map_error;
use crate::wire::{CreateTokenResponse, LoginResponse};

/// What the provider makes of `response` as the answer to each of its calls (login, token,
/// retrieve of a flow whose connect token is `token`, and busbar's session create): `Ok`
/// when it decodes, else the error an app would see.
pub fn outcomes(response: &Response, token: &SecretString) -> Vec<Result<(), Error>> {
    // The retrieve request carries the token in its query, so its answer is scrubbed of it.
    let mut secrets = response.known_secrets();
    secrets.add(token.clone());
    let retrieved = Response::from_parts(
        response.status(),
        response.headers().clone(),
        response.body().clone(),
        secrets,
    );
    let mut outcomes: Vec<Result<(), Error>> = [
        Operation::Authenticate,
        Operation::CreateToken,
        Operation::Complete,
    ]
    .into_iter()
    .map(|operation| {
        let response = if operation == Operation::Complete {
            &retrieved
        } else {
            response
        };
        if !response.status().is_success() {
            return Err(map_error(response, operation));
        }
        match operation {
            Operation::Authenticate => response
                .json::<LoginResponse>(crate::NAME, operation)
                .map(drop),
            Operation::CreateToken => response
                .json::<CreateTokenResponse>(crate::NAME, operation)
                .map(drop),
            _ => outcome_of(&session(token), response, token).map(drop),
        }
    })
    .collect();
    // busbar's create answer (a session whose `id` is the token), when it is a success.
    if response.status().is_success() {
        outcomes.push(session_created(response, SystemTime::UNIX_EPOCH).map(drop));
    }
    outcomes
}

fn session(token: &SecretString) -> PendingSession {
    let request = TokenRequest::new(
        "fuzz-user",
        Url::parse("https://app.example/cb").expect("constant URL"),
        State::parse("fuzzstate").expect("constant state"),
    )
    .expect("constant request");
    let token = ConnectToken::new(token.clone(), Duration::from_secs(60));
    PendingSession::new(crate::NAME, &request, &token, SystemTime::UNIX_EPOCH)
}
