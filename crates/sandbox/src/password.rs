//! The end user's round with a wrong password, which every emulator's login page offers.

use url::Url;
use utilconnect::Result;

use crate::{Browser, Form, Page, UserAction, end_user_error};

/// What the end user types on a vendor's login page: for
/// [`UserAction::WrongCredentialsThenApprove`], a wrong password once (and the page must say it
/// was refused), then the right one; for every other action, the right one.
///
/// ```
/// use utilconnect_sandbox::{PasswordRound, UserAction};
/// let mut round = PasswordRound::new(UserAction::Approve, "Incorrect password");
/// # let page = utilconnect_sandbox::Page::Left(utilconnect::Url::parse("https://x").unwrap());
/// assert_eq!(round.password(&page, "right"), "right");
/// assert!(round.check().is_ok());
/// ```
#[derive(Debug)]
pub struct PasswordRound {
    wrong_first: bool,
    refusal_text: &'static str,
    typed_wrong: bool,
    refused: bool,
}

/// The password the end user gets wrong.
pub const WRONG_PASSWORD: &str = "wrong-password";

impl PasswordRound {
    /// A round for `action` on a page that shows `refusal_text` after a wrong password.
    pub fn new(action: UserAction, refusal_text: &'static str) -> Self {
        Self {
            wrong_first: action == UserAction::WrongCredentialsThenApprove,
            refusal_text,
            typed_wrong: false,
            refused: false,
        }
    }

    /// The password to type on `page` (a login page): noting whether it refused the last one.
    pub fn password<'a>(&mut self, page: &Page, right: &'a str) -> &'a str {
        if self.typed_wrong {
            self.refused |= page.contains(self.refusal_text);
        }
        if self.wrong_first && !self.typed_wrong {
            self.typed_wrong = true;
            WRONG_PASSWORD
        } else {
            right
        }
    }

    /// An end-user error if a wrong password was meant to be refused and was not.
    pub fn check(&self) -> Result<()> {
        if self.wrong_first && !self.refused {
            return Err(end_user_error("the login page accepted a wrong password"));
        }
        Ok(())
    }
}

/// The end user's whole visit for `action` from `start` on the pages served at `base_url`:
/// `choose` picks each page's form (typing `round.password(…)` on a login page), at most
/// `max_pages` of them, and a wrong password the round typed must have been refused (the
/// page showing `refusal_text`). The URL the browser finally left for: the app's callback.
pub async fn visit_pages(
    base_url: &Url,
    start: &Url,
    max_pages: usize,
    action: UserAction,
    refusal_text: &'static str,
    mut choose: impl FnMut(&Page, &mut PasswordRound) -> Result<Form>,
) -> Result<Url> {
    let mut round = PasswordRound::new(action, refusal_text);
    let callback = Browser::new(base_url)?
        .walk(start, max_pages, |page| choose(page, &mut round))
        .await?;
    round.check()?;
    Ok(callback)
}

#[cfg(test)]
mod tests {
    use utilconnect::Url;

    use super::*;

    fn login_page(body: &str) -> Page {
        Page::Html {
            url: Url::parse("http://127.0.0.1/login").unwrap(),
            status: 200,
            body: body.to_owned(),
        }
    }

    #[test]
    fn a_wrong_password_is_typed_once_and_must_be_refused() {
        let mut round = PasswordRound::new(UserAction::WrongCredentialsThenApprove, "Incorrect");
        assert_eq!(
            round.password(&login_page("<form>"), "right"),
            WRONG_PASSWORD
        );
        assert_eq!(
            round.password(&login_page("Incorrect password <form>"), "right"),
            "right"
        );
        assert!(round.check().is_ok());

        let mut lax = PasswordRound::new(UserAction::WrongCredentialsThenApprove, "Incorrect");
        lax.password(&login_page("<form>"), "right");
        lax.password(&login_page("Welcome back <form>"), "right");
        let err = lax.check().unwrap_err();
        assert!(
            err.to_string().contains("accepted a wrong password"),
            "{err}"
        );
    }
}
