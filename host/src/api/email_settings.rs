//! The `email` block of an inbox and the `smtp` block of the tenant's settings, as the API
//! takes them: checked field by field, with the write-only passwords split off.

use super::error::ApiError;
use crate::domain::channels::{Email, Imap, Smtp, Tls};
use crate::store::Secret;
use schemars::JsonSchema;
use serde::Deserialize;

/// An IMAP account.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImapBody {
    /// Host name.
    pub host: String,
    /// Port (143, 993).
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: Tls,
    /// User name.
    pub username: String,
    /// Password (write-only; left out: unchanged).
    #[serde(default)]
    pub password: Option<String>,
    /// Mailbox (default `INBOX`).
    #[serde(default)]
    pub mailbox: Option<String>,
}

/// An SMTP server.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpBody {
    /// Host name.
    pub host: String,
    /// Port (25, 465, 587).
    pub port: u16,
    /// `none`, `starttls` or `tls`.
    pub tls: Tls,
    /// User name (none: no authentication).
    #[serde(default)]
    pub username: Option<String>,
    /// Password (write-only; left out: unchanged).
    #[serde(default)]
    pub password: Option<String>,
    /// Sender address (tenant settings only; an inbox sends from its own address).
    #[serde(default)]
    pub from: Option<String>,
}

/// An inbox's `email` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    /// The inbox's address.
    pub address: String,
    /// The mailbox read for new mail.
    #[serde(default)]
    pub imap: Option<ImapBody>,
    /// The server replies go through (default: the tenant's, `PUT /settings`).
    #[serde(default)]
    pub smtp: Option<SmtpBody>,
    /// Seconds between looks when the server has no IMAP IDLE (default 30).
    #[serde(default)]
    pub poll_seconds: Option<u32>,
    /// Addresses never put in CC.
    #[serde(default)]
    pub no_cc: Vec<String>,
    /// Replies ask the customer to answer the assigned agent.
    #[serde(default)]
    pub reply_to_agent: bool,
}

/// An e-mail address (lower-cased), or an error naming `field`.
pub fn address(field: &str, text: &str) -> Result<String, ApiError> {
    let a = text.trim().to_lowercase();
    let ok = a.len() <= 320
        && a.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !a.contains(char::is_whitespace)
        && !a.contains(['<', '>', ',', ';']);
    if ok {
        Ok(a)
    } else {
        Err(ApiError::invalid(
            field,
            format!("`{text}` is not an e-mail address"),
        ))
    }
}

fn host(field: &str, text: &str) -> Result<String, ApiError> {
    let h = text.trim();
    if h.is_empty() || h.len() > 253 || h.contains(char::is_whitespace) || h.contains('/') {
        return Err(ApiError::invalid(
            field,
            format!("`{text}` is not a host name"),
        ));
    }
    Ok(h.to_owned())
}

fn port(field: &str, port: u16) -> Result<u16, ApiError> {
    if port == 0 {
        return Err(ApiError::invalid(field, "a port is 1 to 65535"));
    }
    Ok(port)
}

fn secret(field: &str, given: Option<String>) -> Result<Secret, ApiError> {
    match given {
        None => Ok(Secret::Keep),
        Some(p) if p.is_empty() => Err(ApiError::invalid(
            field,
            "must not be empty (leave it out to keep the stored one)",
        )),
        Some(p) => Ok(Secret::Set(Some(p))),
    }
}

/// Check an SMTP block at `field`: the settings and the password change.
pub fn smtp(field: &str, b: SmtpBody) -> Result<(Smtp, Secret), ApiError> {
    let from = match &b.from {
        Some(f) => Some(address(&format!("{field}.from"), f)?),
        None => None,
    };
    let smtp = Smtp {
        host: host(&format!("{field}.host"), &b.host)?,
        port: port(&format!("{field}.port"), b.port)?,
        tls: b.tls,
        username: b.username.filter(|u| !u.trim().is_empty()),
        from,
    };
    Ok((smtp, secret(&format!("{field}.password"), b.password)?))
}

/// Check an inbox's `email` block: the settings and the IMAP and SMTP password changes.
pub fn email(b: EmailBody) -> Result<(Email, Secret, Secret), ApiError> {
    let imap = match b.imap {
        Some(i) => {
            let mailbox = i.mailbox.unwrap_or_else(|| "INBOX".into());
            if mailbox.trim().is_empty() {
                return Err(ApiError::invalid("email.imap.mailbox", "must not be empty"));
            }
            if i.username.trim().is_empty() {
                return Err(ApiError::invalid(
                    "email.imap.username",
                    "must not be empty",
                ));
            }
            let pw = secret("email.imap.password", i.password)?;
            let imap = Imap {
                host: host("email.imap.host", &i.host)?,
                port: port("email.imap.port", i.port)?,
                tls: i.tls,
                username: i.username.trim().to_owned(),
                mailbox,
            };
            (Some(imap), pw)
        }
        None => (None, Secret::Set(None)),
    };
    let smtp = match b.smtp {
        Some(s) => {
            if s.from.is_some() {
                return Err(ApiError::invalid(
                    "email.smtp.from",
                    "an inbox sends from its own `email.address`; `from` is for PUT /settings",
                ));
            }
            let (smtp, pw) = smtp("email.smtp", s)?;
            (Some(smtp), pw)
        }
        None => (None, Secret::Set(None)),
    };
    let poll_seconds = b.poll_seconds.unwrap_or(30);
    if !(1..=3600).contains(&poll_seconds) {
        return Err(ApiError::invalid(
            "email.poll_seconds",
            "between 1 and 3600",
        ));
    }
    let no_cc = b
        .no_cc
        .iter()
        .enumerate()
        .map(|(i, a)| address(&format!("email.no_cc[{i}]"), a))
        .collect::<Result<Vec<_>, _>>()?;
    let email = Email {
        address: address("email.address", &b.address)?,
        imap: imap.0,
        smtp: smtp.0,
        poll_seconds,
        no_cc,
        reply_to_agent: b.reply_to_agent,
    };
    Ok((email, imap.1, smtp.1))
}
