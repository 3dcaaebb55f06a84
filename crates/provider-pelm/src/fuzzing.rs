//! Entry points for the fuzz targets in `fuzz/` (not a stable API): Pelm's own decoding and
//! error mapping of one vendor answer, as the provider runs them after each call.

use utilconnect::http::Response;
use utilconnect::{Error, Operation};

use crate::errors::map_error;
use crate::wire::{ConnectTokenResponse, TokenResponse};

/// What the provider makes of `response` as the answer to each of its calls: `Ok` when it
/// decodes, else the error an app would see.
pub fn outcomes(response: &Response) -> Vec<Result<(), Error>> {
    [Operation::CreateToken, Operation::Complete]
        .into_iter()
        .map(|operation| {
            if !response.status().is_success() {
                return Err(map_error(response, operation));
            }
            match operation {
                Operation::CreateToken => response
                    .json::<ConnectTokenResponse>(crate::NAME, operation)
                    .map(drop),
                _ => response
                    .json::<TokenResponse>(crate::NAME, operation)
                    .map(drop),
            }
        })
        .collect()
}
