//! Allegro's OAuth 2 for a device without a browser (RFC 8628): `POST {auth}/auth/oauth/device`
//! hands out a user code the seller confirms on allegro.pl while ferrule polls
//! `{auth}/auth/oauth/token`; refresh tokens are single-use (each refresh voids the old pair).
//! No token or secret ever goes into an error's words.

use super::super::http;
use super::Allegro;
use crate::store::{Tokens, now_ms};
use serde::Deserialize;

/// A device code to confirm.
#[derive(Debug, Deserialize)]
pub struct DeviceCode {
    /// What ferrule polls with (secret).
    pub device_code: String,
    /// What the seller types.
    pub user_code: String,
    /// Where the seller types it.
    pub verification_uri: String,
    /// The same, with the code filled in.
    pub verification_uri_complete: String,
    /// Seconds the code lives.
    pub expires_in: i64,
    /// Seconds between polls.
    #[serde(default = "default_interval")]
    pub interval: i64,
}

fn default_interval() -> i64 {
    5
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
}

/// What a poll of the token endpoint said.
#[derive(Debug)]
pub enum Poll {
    /// Not confirmed yet.
    Pending,
    /// Polled too often: wait longer.
    SlowDown,
    /// The seller refused.
    Denied,
    /// The code expired.
    Expired,
    /// Confirmed: the first token pair.
    Granted(Tokens),
    /// Something else, in words (try again later).
    Failed(String),
}

/// Why a refresh failed.
#[derive(Debug)]
pub enum RefreshError {
    /// Allegro refused the refresh token: the account must be connected again.
    Refused(String),
    /// No usable answer (try again later).
    Transient(String),
}

fn tokens(a: TokenAnswer) -> Tokens {
    Tokens {
        access: a.access_token,
        refresh: a.refresh_token,
        access_expires_at: now_ms() + a.expires_in.max(0) * 1000,
        revision: 0,
    }
}

fn oauth_error(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<OAuthError>(body)
        .ok()
        .map(|e| e.error)
}

impl Allegro {
    async fn auth_post(&self, url: &str, form: String) -> Result<http::Response, String> {
        let headers = [
            ("authorization", self.basic()),
            (
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("accept", "application/json".to_owned()),
        ];
        self.budget.take().await;
        http::call(http::Method::POST, url, &headers, form.into_bytes())
            .await
            .map_err(|e| e.0)
    }

    /// Start the device flow.
    pub async fn start_device(&self, auth_base: &str) -> Result<DeviceCode, String> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .finish();
        let url = format!("{auth_base}/auth/oauth/device");
        let answer = self.auth_post(&url, form).await?;
        match answer.status {
            200 => serde_json::from_slice(&answer.body).map_err(|e| {
                format!("Allegro's device endpoint answered with something that is not a device code: {e}")
            }),
            401 => Err(format!(
                "Allegro refused this server's client credentials (401{}): check --allegro-client-id and FERRULE_ALLEGRO_CLIENT_SECRET",
                oauth_error(&answer.body).map(|e| format!(" {e}")).unwrap_or_default()
            )),
            status => Err(format!(
                "Allegro's device endpoint answered {status}{}",
                oauth_error(&answer.body).map(|e| format!(" ({e})")).unwrap_or_default()
            )),
        }
    }

    /// Ask once whether the seller confirmed the device code.
    pub async fn poll_device(&self, auth_base: &str, device_code: &str) -> Poll {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:device_code")
            .append_pair("device_code", device_code)
            .finish();
        let url = format!("{auth_base}/auth/oauth/token?{query}");
        let answer = match self.auth_post(&url, String::new()).await {
            Ok(a) => a,
            Err(e) => return Poll::Failed(e),
        };
        if answer.status == 200 {
            return match serde_json::from_slice::<TokenAnswer>(&answer.body) {
                Ok(t) => Poll::Granted(tokens(t)),
                Err(e) => Poll::Failed(format!(
                    "Allegro's token endpoint answered with something that is not a token: {e}"
                )),
            };
        }
        match oauth_error(&answer.body).as_deref() {
            Some("authorization_pending") => Poll::Pending,
            Some("slow_down") => Poll::SlowDown,
            Some("access_denied") => Poll::Denied,
            Some("expired_token") => Poll::Expired,
            Some(other) => Poll::Failed(format!(
                "Allegro's token endpoint answered {} ({other})",
                answer.status
            )),
            None => Poll::Failed(format!(
                "Allegro's token endpoint answered {}",
                answer.status
            )),
        }
    }

    /// Trade a refresh token for a new pair (the old one is void afterwards, whatever happens
    /// to the answer).
    pub(super) async fn refresh_grant(
        &self,
        auth_base: &str,
        refresh_token: &str,
    ) -> Result<Tokens, RefreshError> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("refresh_token", refresh_token)
            .finish();
        let url = format!("{auth_base}/auth/oauth/token?{query}");
        let answer = self
            .auth_post(&url, String::new())
            .await
            .map_err(RefreshError::Transient)?;
        match answer.status {
            200 => serde_json::from_slice::<TokenAnswer>(&answer.body)
                .map(tokens)
                .map_err(|e| {
                    RefreshError::Transient(format!(
                        "Allegro's token endpoint answered a refresh with something that is not a token: {e}"
                    ))
                }),
            400 | 401 => Err(RefreshError::Refused(format!(
                "Allegro refused the refresh token ({}): connect the account again (POST /accounts)",
                oauth_error(&answer.body).unwrap_or_else(|| answer.status.to_string())
            ))),
            status => Err(RefreshError::Transient(format!(
                "Allegro's token endpoint answered a refresh with {status}"
            ))),
        }
    }
}
