//! Outbound mail: a reply to an e-mail ticket's customer, or a `send-email` / `notify-user`
//! message, built with lettre's typed headers so mail clients thread it.

use std::time::{Duration, SystemTime};

use lettre::Message;
use lettre::message::header::{ContentType, InReplyTo, References};
use lettre::message::{Mailbox, MessageBuilder};
use sha2::{Digest, Sha256};

/// The message being answered, quoted under the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// Who wrote it (a name or an address).
    pub author: String,
    /// When it was sent, ms since the epoch.
    pub sent_at: i64,
    /// Its text.
    pub text: String,
}

/// One outgoing mail, as a delivery stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The sender's display name.
    pub from_name: Option<String>,
    /// The inbox or tenant address it is sent from.
    pub from: String,
    /// Recipients: addresses or `Name <address>`.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Where answers should go, when not `from`.
    pub reply_to: Option<String>,
    /// The subject (see [`reply_subject`] for replies).
    pub subject: String,
    /// The plain-text body.
    pub body: String,
    /// Appended as a sign-off line when set.
    pub agent_name: Option<String>,
    /// Appended as "On <date>, <author> wrote:" and `> ` lines when set.
    pub quote: Option<Quote>,
    /// Message-ID without brackets; the same on every retry (see [`message_id`]).
    pub message_id: String,
    /// The id of the message answered, without brackets.
    pub in_reply_to: Option<String>,
    /// The thread's ids, oldest first, without brackets.
    pub references: Vec<String>,
    /// The Date header, ms since the epoch.
    pub date: i64,
    /// `Auto-Submitted` (RFC 3834): `auto-replied` for a rule's reply, `auto-generated` for a
    /// rule's notification, so other robots do not answer it (mail loops).
    pub auto_submitted: Option<&'static str>,
}

/// The `Auto-Submitted` header.
#[derive(Debug, Clone)]
struct AutoSubmitted(String);

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Builds the message; the error names the field ("to: `x` is not an e-mail address").
pub fn compose(mail: &OutgoingMail) -> Result<Message, String> {
    let from = mailbox("from", &mail.from)?;
    let from = match mail
        .from_name
        .as_deref()
        .map(one_line)
        .filter(|n| !n.is_empty())
    {
        Some(name) => Mailbox::new(Some(name), from.email),
        None => from,
    };
    if mail.to.is_empty() {
        return Err("to: there is no recipient".into());
    }
    let mut builder = Message::builder()
        .from(from)
        .subject(one_line(&mail.subject))
        .date(system_time(mail.date))
        .message_id(Some(bracketed("message_id", &mail.message_id)?))
        .header(ContentType::TEXT_PLAIN);
    for to in &mail.to {
        builder = builder.to(mailbox("to", to)?);
    }
    for cc in &mail.cc {
        builder = builder.cc(mailbox("cc", cc)?);
    }
    if let Some(reply_to) = &mail.reply_to {
        builder = builder.reply_to(mailbox("reply_to", reply_to)?);
    }
    builder = threading(builder, mail)?;
    if let Some(value) = mail.auto_submitted {
        builder = builder.header(AutoSubmitted(value.to_owned()));
    }
    builder
        .body(body_text(mail))
        .map_err(|e| format!("the message could not be built: {e}"))
}

/// In-Reply-To and References (the thread's ids, then the one answered), each in `<>`.
fn threading(builder: MessageBuilder, mail: &OutgoingMail) -> Result<MessageBuilder, String> {
    let in_reply_to = match &mail.in_reply_to {
        Some(id) => Some(bracketed("in_reply_to", id)?),
        None => None,
    };
    let mut references = Vec::new();
    for id in &mail.references {
        references.push(bracketed("references", id)?);
    }
    references.extend(in_reply_to.clone());
    let mut unique: Vec<String> = Vec::with_capacity(references.len());
    for id in references {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    let mut builder = builder;
    if let Some(id) = in_reply_to {
        builder = builder.header(InReplyTo::from(id));
    }
    if !unique.is_empty() {
        builder = builder.header(References::from(unique.join(" ")));
    }
    Ok(builder)
}

/// `<id>` after checking the id is one token of visible ASCII.
fn bracketed(field: &str, id: &str) -> Result<String, String> {
    let bare = id.trim().trim_start_matches('<').trim_end_matches('>');
    let valid = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>'));
    if valid {
        Ok(format!("<{bare}>"))
    } else {
        Err(format!("{field}: `{id}` is not a message id"))
    }
}

fn mailbox(field: &str, text: &str) -> Result<Mailbox, String> {
    let text = text.trim();
    if text.contains(['\r', '\n']) {
        return Err(format!(
            "{field}: `{}` is not an e-mail address",
            text.escape_default()
        ));
    }
    text.parse::<Mailbox>()
        .map_err(|_| format!("{field}: `{text}` is not an e-mail address"))
}

/// Line breaks and other control characters become spaces: a header is one line.
fn one_line(text: &str) -> String {
    let replaced: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    replaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn system_time(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// `Re: <subject> [#<number>]`: one reply prefix (an existing "Re:", "RE:", "Odp:", "AW:", … is
/// not repeated) and the ticket token once.
pub fn reply_subject(number: i64, subject: &str) -> String {
    let token = format!("[#{number}]");
    let mut rest = one_line(&subject.replace(&token, " "));
    loop {
        let trimmed = rest.trim_start();
        let prefix = trimmed.find(':').filter(|&colon| {
            let word = trimmed[..colon].trim_end();
            // "Re", "RE", "Odp", "AW", "SV", "Antw", and numbered forms like "Re[2]" or "Re(2)".
            let base = word.split(['[', '(']).next().unwrap_or_default();
            matches!(
                base.to_lowercase().as_str(),
                "re" | "odp" | "aw" | "sv" | "antw" | "ответ"
            )
        });
        match prefix {
            Some(colon) => rest = trimmed[colon + 1..].to_owned(),
            None => break,
        }
    }
    let rest = one_line(&rest);
    if rest.is_empty() {
        format!("Re: {token}")
    } else {
        format!("Re: {rest} {token}")
    }
}

/// `ferrule.<delivery_id>.<hash>@<domain of from>`: the same for the same inputs, so every retry
/// of a delivery sends the same Message-ID.
pub fn message_id(delivery_id: i64, from: &str) -> String {
    let address = from
        .rsplit('<')
        .next()
        .unwrap_or(from)
        .trim_end_matches('>')
        .trim();
    let domain: String = address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_ascii_lowercase())
        .filter(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let digest = Sha256::digest(format!("{delivery_id}\n{}", address.to_ascii_lowercase()));
    let hash: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
    format!("ferrule.{delivery_id}.{hash}@{domain}")
}

/// The full text [`compose`] puts in the body: the body, the sign-off, then the quote.
pub fn body_text(mail: &OutgoingMail) -> String {
    let mut text = mail.body.replace("\r\n", "\n").trim_end().to_owned();
    if let Some(agent) = mail
        .agent_name
        .as_deref()
        .map(one_line)
        .filter(|a| !a.is_empty())
    {
        text.push_str("\n\n");
        text.push_str(&agent);
    }
    if let Some(quote) = &mail.quote {
        let when = chrono::DateTime::from_timestamp_millis(quote.sent_at)
            .map(|d| d.format("%a, %d %b %Y %H:%M UTC").to_string())
            .unwrap_or_default();
        text.push_str(&format!(
            "\n\nOn {when}, {} wrote:\n",
            one_line(&quote.author)
        ));
        for line in quote.text.replace("\r\n", "\n").trim_end().lines() {
            if line.is_empty() {
                text.push_str(">\n");
            } else {
                text.push_str("> ");
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn reply() -> OutgoingMail {
        OutgoingMail {
            from_name: Some("Sklep Reklamacje".into()),
            from: "reklamacje@sklep.pl".into(),
            to: vec!["Jan Kowalski <jan@example.com>".into()],
            cc: vec!["szef@sklep.pl".into()],
            reply_to: Some("odpowiedzi@sklep.pl".into()),
            subject: reply_subject(42, "Reklamacja zamówienia – żółć"),
            body: "Dzień dobry,\nprzesyłka wyszła dziś.".into(),
            agent_name: Some("Anna Nowak".into()),
            quote: Some(Quote {
                author: "Jan Kowalski".into(),
                sent_at: 1_709_542_800_000,
                text: "Gdzie jest paczka?\n\nJan".into(),
            }),
            message_id: message_id(17, "reklamacje@sklep.pl"),
            in_reply_to: Some("customer.1@example.com".into()),
            references: vec!["first@example.com".into(), "customer.1@example.com".into()],
            date: 1_709_546_400_000,
            auto_submitted: Some("auto-replied"),
        }
    }

    fn header<'a>(formatted: &'a str, name: &str) -> Option<&'a str> {
        formatted
            .split("\r\n\r\n")
            .next()?
            .split("\r\n")
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
    }

    #[test]
    fn threading_headers_are_present_and_bracketed() {
        let mail = reply();
        let formatted = String::from_utf8(compose(&mail).unwrap().formatted()).unwrap();
        let id = header(&formatted, "Message-ID").unwrap();
        assert_eq!(id, format!("<{}>", mail.message_id));
        assert_eq!(
            header(&formatted, "In-Reply-To"),
            Some("<customer.1@example.com>")
        );
        assert_eq!(
            header(&formatted, "References"),
            Some("<first@example.com> <customer.1@example.com>")
        );
        assert_eq!(
            header(&formatted, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        assert!(
            header(&formatted, "Reply-To")
                .unwrap()
                .contains("odpowiedzi@sklep.pl")
        );
        assert!(header(&formatted, "Date").unwrap().contains("2024"));
    }

    #[test]
    fn a_polish_subject_round_trips_through_the_parser() {
        let mail = reply();
        let formatted = compose(&mail).unwrap().formatted();
        let subject_line = String::from_utf8_lossy(&formatted)
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap()
            .to_owned();
        assert!(subject_line.is_ascii(), "encoded: {subject_line}");
        let parsed = parse::parse(&formatted, 1 << 20).unwrap();
        assert_eq!(parsed.subject, "Re: Reklamacja zamówienia – żółć [#42]");
        assert_eq!(parsed.message_id.as_deref(), Some(mail.message_id.as_str()));
        assert_eq!(parsed.in_reply_to, ["customer.1@example.com"]);
        assert_eq!(parsed.from_name.as_deref(), Some("Sklep Reklamacje"));
        assert_eq!(parsed.to, ["jan@example.com"]);
        assert_eq!(parsed.text, body_text(&mail).trim_end());
        assert_eq!(parse::subject_token(&parsed.subject), Some(42));
        assert_eq!(
            parsed.body,
            "Dzień dobry,\nprzesyłka wyszła dziś.\n\nAnna Nowak"
        );
    }

    #[test]
    fn the_body_has_the_sign_off_and_the_quote() {
        let text = body_text(&reply());
        assert_eq!(
            text,
            "Dzień dobry,\nprzesyłka wyszła dziś.\n\nAnna Nowak\n\n\
             On Mon, 04 Mar 2024 09:00 UTC, Jan Kowalski wrote:\n> Gdzie jest paczka?\n>\n> Jan\n"
        );
        let plain = OutgoingMail {
            agent_name: None,
            quote: None,
            ..reply()
        };
        assert_eq!(body_text(&plain), "Dzień dobry,\nprzesyłka wyszła dziś.\n");
    }

    #[test]
    fn reply_subject_has_one_prefix_and_one_token() {
        assert_eq!(reply_subject(5, "Zwrot"), "Re: Zwrot [#5]");
        assert_eq!(reply_subject(5, "Re: Zwrot"), "Re: Zwrot [#5]");
        assert_eq!(reply_subject(5, "RE: Re: Zwrot [#5]"), "Re: Zwrot [#5]");
        assert_eq!(reply_subject(5, "Odp: AW: [#5] Zwrot"), "Re: Zwrot [#5]");
        assert_eq!(reply_subject(5, "Re[2]: Zwrot"), "Re: Zwrot [#5]");
        assert_eq!(
            reply_subject(5, "Reklamacja: towar"),
            "Re: Reklamacja: towar [#5]"
        );
        assert_eq!(reply_subject(5, "Fwd: Zwrot"), "Re: Fwd: Zwrot [#5]");
        assert_eq!(reply_subject(5, ""), "Re: [#5]");
        assert_eq!(
            reply_subject(5, "Zwrot\r\nBcc: x@y"),
            "Re: Zwrot Bcc: x@y [#5]"
        );
    }

    #[test]
    fn message_id_is_stable_and_on_the_sender_domain() {
        let id = message_id(17, "Reklamacje <reklamacje@Sklep.PL>");
        assert_eq!(id, message_id(17, "reklamacje@sklep.pl"));
        assert!(
            id.starts_with("ferrule.17.") && id.ends_with("@sklep.pl"),
            "{id}"
        );
        assert_ne!(id, message_id(18, "reklamacje@sklep.pl"));
        assert!(message_id(1, "nobody").ends_with("@localhost"));
    }

    #[test]
    fn a_bad_address_is_an_error_naming_the_field() {
        let bad_to = OutgoingMail {
            to: vec!["jan@example.com".into(), "x".into()],
            ..reply()
        };
        assert_eq!(
            compose(&bad_to).unwrap_err(),
            "to: `x` is not an e-mail address"
        );
        let bad_from = OutgoingMail {
            from: "sklep.pl".into(),
            ..reply()
        };
        assert_eq!(
            compose(&bad_from).unwrap_err(),
            "from: `sklep.pl` is not an e-mail address"
        );
        let bad_cc = OutgoingMail {
            cc: vec!["a@b.pl\r\nBcc: c@d.pl".into()],
            ..reply()
        };
        assert!(compose(&bad_cc).unwrap_err().starts_with("cc: "));
        let no_to = OutgoingMail {
            to: vec![],
            ..reply()
        };
        assert_eq!(compose(&no_to).unwrap_err(), "to: there is no recipient");
        let bad_id = OutgoingMail {
            in_reply_to: Some("a b".into()),
            ..reply()
        };
        assert!(
            compose(&bad_id)
                .unwrap_err()
                .starts_with("in_reply_to: `a b`")
        );
    }
}
