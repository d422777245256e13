//! Inbound MIME: the raw bytes a mailbox hands us, turned into what the mailbox worker imports.
//!
//! Every header is hostile: the parse runs under `catch_unwind` (mail-parser has panicked on
//! crafted input before), control characters are stripped from what we keep, and raw 8-bit
//! headers are decoded with the charset the message declares (or a guess) instead of lossily.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::html_to_text;
use mail_parser::{
    Address, Encoding, Header, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders,
    PartType,
};

/// A file attached to an inbound mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name the sender gave (path components removed), or `attachment`.
    pub name: String,
    /// `type/subtype`, lower-cased; `application/octet-stream` when undeclared.
    pub content_type: String,
    /// The decoded size in bytes.
    pub size: usize,
    /// The decoded content; `None` when `size` is over the attachment limit.
    pub bytes: Option<Vec<u8>>,
}

/// What the mailbox worker imports from one message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedMail {
    /// Message-ID without angle brackets, trimmed; `None` when absent.
    pub message_id: Option<String>,
    /// In-Reply-To ids without brackets.
    pub in_reply_to: Vec<String>,
    /// References ids without brackets, oldest first.
    pub references: Vec<String>,
    /// The display name of the first From address.
    pub from_name: Option<String>,
    /// The first From address, lower-cased.
    pub from_email: Option<String>,
    /// To addresses, lower-cased.
    pub to: Vec<String>,
    /// Cc addresses, lower-cased.
    pub cc: Vec<String>,
    /// The first Reply-To address, lower-cased.
    pub reply_to: Option<String>,
    /// The decoded subject (empty when absent).
    pub subject: String,
    /// The Date header in ms since the epoch, when it parses.
    pub date: Option<i64>,
    /// The full text body: text/plain, else text/html turned into readable text.
    pub text: String,
    /// `text` without the quoted history and the signature (see [`strip_reply`]).
    pub body: String,
    /// Attachments (including inline parts that are not the body, and attached messages).
    pub attachments: Vec<Attachment>,
    /// An automatic message (auto-reply, bulk, list, bounce): never answer it automatically.
    pub auto_generated: bool,
}

/// Why a message could not be parsed; the display is the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses a raw RFC 5322 message. Attachments larger than `attachment_limit` bytes keep their
/// name, type and size but not their content. Never panics.
pub fn parse(raw: &[u8], attachment_limit: usize) -> Result<ParsedMail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError("not a mail message: it is empty".into()));
    }
    if !starts_with_header_line(raw) {
        return Err(ParseError("not a mail message: no header lines".into()));
    }
    match catch_unwind(AssertUnwindSafe(|| parse_checked(raw, attachment_limit))) {
        Ok(parsed) => parsed,
        Err(panic) => {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the parser failed".to_owned());
            Err(ParseError(format!(
                "the message could not be parsed: {reason}"
            )))
        }
    }
}

/// The first line (after an mbox `From ` line) must be `Name: value`.
fn starts_with_header_line(raw: &[u8]) -> bool {
    let mut lines = raw.split(|b| *b == b'\n');
    let mut first = lines.next().unwrap_or_default();
    if first.starts_with(b"From ") {
        first = lines.next().unwrap_or_default();
    }
    let Some(colon) = first.iter().position(|b| *b == b':') else {
        return false;
    };
    colon > 0 && first[..colon].iter().all(|b| (33..=126).contains(b))
}

fn parse_checked(raw: &[u8], attachment_limit: usize) -> Result<ParsedMail, ParseError> {
    let mut message = MessageParser::new()
        .parse(raw)
        .filter(|m| !m.parts.is_empty() && !m.headers().is_empty())
        .ok_or_else(|| ParseError("not a mail message: no header lines".into()))?;

    let charset = declared_charset(&message);
    let from = header_address(&message, raw, "From", charset.as_deref());
    let first_from = from.as_ref().and_then(|a| a.first());
    let from_name = first_from
        .and_then(|a| a.name.as_deref())
        .map(clean)
        .filter(|n| !n.is_empty());
    let from_email = first_from
        .and_then(|a| a.address.as_deref())
        .and_then(email);
    let subject = header_text(&message, raw, "Subject", charset.as_deref()).unwrap_or_default();
    let text = body_text(&message, raw);

    let mut parsed = ParsedMail {
        message_id: message
            .message_id()
            .map(clean_id)
            .filter(|id| !id.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        from_name,
        from_email,
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        reply_to: addresses(message.reply_to()).into_iter().next(),
        subject,
        date: message
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp().saturating_mul(1000)),
        body: strip_reply(&text),
        text,
        attachments: Vec::new(),
        auto_generated: is_auto_generated(&message, raw),
    };

    let ids = message.attachments.clone();
    for id in ids {
        let Some(part) = message.parts.get_mut(id as usize) else {
            continue;
        };
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_owned(),
            })
            .map(|ct| clean(&ct).to_ascii_lowercase())
            .filter(|ct| !ct.is_empty())
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let nested_subject = part.message().and_then(|m| m.subject()).map(clean);
        let name = part
            .attachment_name()
            .map(file_name)
            .filter(|n| !n.is_empty())
            .or_else(|| nested_subject.map(|s| format!("{}.eml", file_name(&s))))
            .filter(|n| n != ".eml")
            .unwrap_or_else(|| "attachment".to_owned());
        // Moved out, not copied: a 20 MB attachment exists once (decoded) next to the raw bytes.
        let bytes: Vec<u8> = match std::mem::take(&mut part.body) {
            PartType::Text(t) | PartType::Html(t) => t.into_owned().into_bytes(),
            PartType::Binary(b) | PartType::InlineBinary(b) => b.into_owned(),
            PartType::Message(m) => m.raw_message.into_owned(),
            PartType::Multipart(_) => continue,
        };
        let size = bytes.len();
        parsed.attachments.push(Attachment {
            name,
            content_type,
            size,
            bytes: (size <= attachment_limit).then_some(bytes),
        });
    }
    Ok(parsed)
}

/// The text of every body part in order, html parts turned into text.
fn body_text(message: &Message<'_>, raw: &[u8]) -> String {
    let mut out = String::new();
    for id in &message.text_body {
        let Some(part) = message.parts.get(*id as usize) else {
            continue;
        };
        let text = match &part.body {
            PartType::Text(t) => undeclared_8bit(part, raw)
                .unwrap_or_else(|| t.to_string())
                .replace("\r\n", "\n"),
            PartType::Html(h) => {
                let html = undeclared_8bit(part, raw).unwrap_or_else(|| h.to_string());
                tidy_html_text(&html_to_text(&html))
            }
            _ => continue,
        };
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(text.trim_end());
    }
    if out.is_empty() {
        // An html-only message whose html part was not listed as a text body.
        for id in &message.html_body {
            if let Some(PartType::Html(h)) = message.parts.get(*id as usize).map(|p| &p.body) {
                out.push_str(tidy_html_text(&html_to_text(h)).trim_end());
                break;
            }
        }
    }
    out
}

/// A raw 8-bit text part that declares no charset and is not UTF-8 (mail-parser would decode
/// it lossily), decoded with the likeliest legacy charset.
fn undeclared_8bit(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .is_some();
    if declared || part.encoding != Encoding::None {
        return None;
    }
    let bytes = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    std::str::from_utf8(bytes)
        .is_err()
        .then(|| decode_legacy(bytes, None))
}

/// Trailing spaces off each line and at most one blank line in a row.
fn tidy_html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.replace("\r\n", "\n").lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim().to_owned()
}

/// The charset the message declares: the root Content-Type, else the first part's.
fn declared_charset(message: &Message<'_>) -> Option<String> {
    message
        .parts
        .iter()
        .filter_map(|p| p.content_type()?.attribute("charset"))
        .map(|c| c.trim().to_ascii_lowercase())
        .find(|c| !c.is_empty())
}

fn root_header<'m, 'x>(message: &'m Message<'x>, name: &str) -> Option<&'m Header<'x>> {
    message
        .headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
}

/// The raw bytes of a header value, when they are not valid UTF-8 (raw 8-bit in a legacy
/// charset), decoded to a string; `None` when mail-parser's own decoding is trustworthy.
fn raw_8bit(header: &Header<'_>, raw: &[u8], charset: Option<&str>) -> Option<String> {
    let bytes = raw.get(header.offset_start as usize..header.offset_end as usize)?;
    if std::str::from_utf8(bytes).is_ok() {
        return None;
    }
    Some(decode_legacy(bytes, charset))
}

/// Decodes bytes in the declared charset, or in the likeliest of the usual legacy ones.
fn decode_legacy(bytes: &[u8], charset: Option<&str>) -> String {
    let declared = charset
        .filter(|c| !matches!(*c, "utf-8" | "utf8" | "us-ascii" | "ascii"))
        .and_then(|c| charset_decoder(c.as_bytes()));
    if let Some(decode) = declared {
        return decode(bytes);
    }
    const GUESSES: [&str; 5] = [
        "windows-1250",
        "iso-8859-2",
        "koi8-r",
        "windows-1251",
        "windows-1252",
    ];
    GUESSES
        .iter()
        .filter_map(|c| charset_decoder(c.as_bytes()))
        .map(|decode| decode(bytes))
        .enumerate()
        // Highest score wins; on a tie the earlier guess.
        .max_by_key(|(i, text)| (plausibility(text), std::cmp::Reverse(*i)))
        .map(|(_, text)| text)
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned())
}

/// How much a decoding looks like words: each word of letters of one script with a usual case
/// pattern (lower, UPPER, Capitalised) scores its non-ASCII letters; mixed scripts, odd case
/// changes and non-letter symbols outside ASCII cost.
fn plausibility(text: &str) -> i64 {
    let mut score = 0i64;
    for word in text.split(|c: char| !c.is_alphabetic()) {
        let non_ascii = word.chars().filter(|c| !c.is_ascii()).count() as i64;
        if non_ascii == 0 {
            continue;
        }
        let cyrillic = word
            .chars()
            .filter(|c| ('\u{400}'..='\u{4ff}').contains(c))
            .count();
        let one_script = cyrillic == 0 || cyrillic == word.chars().count();
        let mut chars = word.chars();
        let first_upper = chars.next().is_some_and(char::is_uppercase);
        let rest: Vec<char> = chars.collect();
        let usual_case = rest.iter().all(|c| c.is_lowercase())
            || (first_upper && rest.iter().all(|c| c.is_uppercase()));
        score += if one_script && usual_case {
            non_ascii
        } else {
            -2 * non_ascii
        };
    }
    let symbols = text
        .chars()
        .filter(|c| {
            !c.is_ascii() && !c.is_alphabetic() && !matches!(c, '–' | '—' | '„' | '”' | '«' | '»')
        })
        .count() as i64;
    score - 2 * symbols
}

/// An unstructured header, decoded (RFC 2047 and raw 8-bit), control characters removed.
fn header_text(
    message: &Message<'_>,
    raw: &[u8],
    name: &str,
    charset: Option<&str>,
) -> Option<String> {
    let header = root_header(message, name)?;
    let text = match raw_8bit(header, raw, charset) {
        Some(decoded) => {
            let line = format!("Subject: {}\r\n\r\n", decoded.trim());
            let reparsed = MessageParser::new().parse(line.as_bytes());
            reparsed.and_then(|m| m.subject().map(str::to_owned))?
        }
        None => header.value().as_text()?.to_owned(),
    };
    Some(clean(&text))
}

/// An address header, decoded like [`header_text`] when it holds raw 8-bit names.
fn header_address(
    message: &Message<'_>,
    raw: &[u8],
    name: &str,
    charset: Option<&str>,
) -> Option<Address<'static>> {
    let header = root_header(message, name)?;
    match raw_8bit(header, raw, charset) {
        Some(decoded) => {
            let line = format!("From: {}\r\n\r\n", decoded.trim());
            let reparsed = MessageParser::new().parse(line.as_bytes())?;
            reparsed.from().cloned().map(Address::into_owned)
        }
        None => header
            .value()
            .as_address()
            .cloned()
            .map(Address::into_owned),
    }
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|a| a.address.as_deref())
                .filter_map(email)
                .collect()
        })
        .unwrap_or_default()
}

/// A plausible address, trimmed and lower-cased.
fn email(address: &str) -> Option<String> {
    let address = clean(address).to_lowercase();
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty() && !address.contains(char::is_whitespace))
        .then_some(address)
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .flat_map(|t| t.split_whitespace())
        .map(clean_id)
        .filter(|id| !id.is_empty())
        .collect()
}

fn clean_id(id: &str) -> String {
    clean(id)
        .trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
        .to_owned()
}

/// Control characters (CR, LF, NUL, …) become spaces; runs of spaces collapse; trimmed.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end().to_owned()
}

/// A file name without directories or control characters.
fn file_name(name: &str) -> String {
    let name = clean(name);
    name.rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Auto-Submitted other than `no`, Precedence bulk/junk/list, X-Autoreply / X-Autorespond, and
/// bounces (a `multipart/report` or an empty Return-Path).
fn is_auto_generated(message: &Message<'_>, raw: &[u8]) -> bool {
    message.headers().iter().any(|h| {
        let value = || {
            raw.get(h.offset_start as usize..h.offset_end as usize)
                .map(|v| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
                .unwrap_or_default()
        };
        let name = h.name();
        if name.eq_ignore_ascii_case("auto-submitted") {
            let value = value();
            let first = value.split(';').next().unwrap_or_default().trim();
            !first.is_empty() && first != "no"
        } else if name.eq_ignore_ascii_case("precedence") {
            matches!(value().as_str(), "bulk" | "junk" | "list" | "auto_reply")
        } else if name.eq_ignore_ascii_case("x-autoreply")
            || name.eq_ignore_ascii_case("x-autorespond")
        {
            !matches!(value().as_str(), "no" | "false" | "0")
        } else if name.eq_ignore_ascii_case("return-path") {
            value() == "<>"
        } else if name.eq_ignore_ascii_case("content-type") {
            value().starts_with("multipart/report")
        } else {
            false
        }
    })
}

/// The customer's new words: the text cut at the first quote header ("On … wrote:", "W dniu …
/// napisał(a):", "Dnia … napisał", "… написал(а):", Outlook's "-----Original Message-----" or a
/// "From: … Sent: …" block), without trailing `>` lines and without the signature after `-- `.
/// If nothing would remain, the whole text trimmed.
pub fn strip_reply(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    let lines: Vec<&str> = normalized.lines().collect();
    let mut end = lines.len();
    if let Some(cut) = (0..lines.len()).find(|&i| is_quote_header(&lines, i)) {
        end = cut;
    }
    if let Some(sig) = lines[..end].iter().position(|l| l.trim_end() == "--") {
        end = sig;
    }
    // Trailing quoted lines, blank lines and separator rules ("____", "----").
    while end > 0 {
        let line = lines[end - 1].trim();
        let rule = line.len() >= 4 && line.chars().all(|c| c == '_' || c == '-');
        if line.is_empty() || line.starts_with('>') || rule {
            end -= 1;
        } else {
            break;
        }
    }
    let kept = lines[..end].join("\n");
    let kept = kept.trim();
    if kept.is_empty() {
        normalized.trim().to_owned()
    } else {
        kept.to_owned()
    }
}

/// Whether line `i` starts the quoted history (a header may wrap onto the next line).
fn is_quote_header(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    let joined = match lines.get(i + 1) {
        Some(next) => format!("{line} {}", next.trim()),
        None => line.to_owned(),
    };
    let lower = line.to_lowercase();
    let joined_lower = joined.to_lowercase();
    let header_end =
        |end: &str| lower.ends_with(end) || (joined_lower.ends_with(end) && !lower.is_empty());

    // "On Mon, 4 Mar 2024 at 10:00, Jan <jan@x.pl> wrote:" (Gmail wraps it onto two lines).
    if lower.starts_with("on ") && header_end("wrote:") {
        return true;
    }
    // German clients: "Am 04.03.2024 um 10:00 schrieb Jan:".
    if lower.starts_with("am ")
        && (lower.contains("schrieb") || joined_lower.contains("schrieb"))
        && header_end(":")
    {
        return true;
    }
    // Polish: "W dniu 4.03.2024 o 10:00, Jan <jan@x.pl> napisał(a):", "Dnia 4 marca 2024 Jan napisał:".
    if (lower.starts_with("w dniu ") || lower.starts_with("dnia "))
        && (lower.contains("napisał") || joined_lower.contains("napisał"))
    {
        return true;
    }
    // Russian: "4 марта 2024 г., в 10:00, Иван <ivan@x.ru> написал(а):".
    if (lower.contains("написал") && lower.ends_with(':'))
        || (!lower.is_empty()
            && joined_lower.contains("написал")
            && joined_lower.ends_with(':')
            && !lower.ends_with(':'))
    {
        return true;
    }
    // Outlook separators.
    let bare = lower.trim_matches('-').trim();
    if lower.starts_with("-----")
        && matches!(
            bare,
            "original message"
                | "wiadomość oryginalna"
                | "oryginalna wiadomość"
                | "исходное сообщение"
                | "ursprüngliche nachricht"
        )
    {
        return true;
    }
    // Outlook header blocks: "From: …" followed within a few lines by "Sent: …".
    const FROM: [&str; 4] = ["from:", "od:", "от:", "von:"];
    const SENT: [&str; 6] = [
        "sent:",
        "date:",
        "wysłano:",
        "data:",
        "отправлено:",
        "gesendet:",
    ];
    if FROM.iter().any(|f| lower.starts_with(f)) {
        return lines
            .iter()
            .skip(i + 1)
            .take(4)
            .map(|l| l.trim().to_lowercase())
            .any(|l| SENT.iter().any(|s| l.starts_with(s)));
    }
    false
}

/// The ticket number from a `[#123]` token anywhere in the subject.
pub fn subject_token(subject: &str) -> Option<i64> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty()
            && after[digits.len()..].starts_with(']')
            && let Ok(number) = digits.parse()
        {
            return Some(number);
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 1 << 20;

    /// `parts` joined; `&str` pieces as UTF-8, hex pieces (`x:…`) as raw bytes.
    fn raw(parts: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in parts {
            match part.strip_prefix("x:") {
                Some(hex) => out.extend(
                    (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()),
                ),
                None => out.extend_from_slice(part.as_bytes()),
            }
        }
        out
    }

    const PLAIN: &str = "Return-Path: <jan@example.com>\r\n\
        Message-ID:  <abc.123@mail.example.com> \r\n\
        From: \"Jan Kowalski\" <Jan.Kowalski@Example.COM>\r\n\
        To: reklamacje@sklep.pl, Biuro <Biuro@Sklep.pl>\r\n\
        Cc: szef@sklep.pl\r\n\
        Reply-To: jan.prywatny@example.com\r\n\
        Subject: Where is my order? [#42]\r\n\
        Date: Mon, 04 Mar 2024 10:00:00 +0100\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        \r\n\
        Hello,\r\nmy parcel has not arrived.\r\n\r\n-- \r\nJan Kowalski\r\ntel. 123\r\n";

    #[test]
    fn a_plain_mail_gives_its_headers_text_and_stripped_body() {
        let mail = parse(PLAIN.as_bytes(), LIMIT).unwrap();
        assert_eq!(mail.message_id.as_deref(), Some("abc.123@mail.example.com"));
        assert_eq!(mail.from_name.as_deref(), Some("Jan Kowalski"));
        assert_eq!(mail.from_email.as_deref(), Some("jan.kowalski@example.com"));
        assert_eq!(mail.to, ["reklamacje@sklep.pl", "biuro@sklep.pl"]);
        assert_eq!(mail.cc, ["szef@sklep.pl"]);
        assert_eq!(mail.reply_to.as_deref(), Some("jan.prywatny@example.com"));
        assert_eq!(mail.subject, "Where is my order? [#42]");
        assert_eq!(mail.date, Some(1_709_542_800_000));
        assert!(mail.text.contains("tel. 123"));
        assert_eq!(mail.body, "Hello,\nmy parcel has not arrived.");
        assert!(mail.attachments.is_empty());
        assert!(!mail.auto_generated);
        assert!(mail.in_reply_to.is_empty() && mail.references.is_empty());
    }

    fn with_attachment(content: &[u8]) -> Vec<u8> {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let mut lines = String::new();
        for chunk in encoded.as_bytes().chunks(76) {
            lines.push_str(std::str::from_utf8(chunk).unwrap());
            lines.push_str("\r\n");
        }
        format!(
            "From: anna@example.com\r\nSubject: faktura\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n\
             --XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nW załączniku faktura.\r\n\
             --XYZ\r\nContent-Type: application/pdf; name=\"faktura.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"../../etc/faktura.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{lines}--XYZ--\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_multipart_mail_gives_the_attachment_name_type_size_and_bytes() {
        let content: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mail = parse(&with_attachment(&content), LIMIT).unwrap();
        assert_eq!(mail.text, "W załączniku faktura.");
        assert_eq!(mail.attachments.len(), 1);
        let file = &mail.attachments[0];
        assert_eq!(file.name, "faktura.pdf");
        assert_eq!(file.content_type, "application/pdf");
        assert_eq!(file.size, 5000);
        assert_eq!(file.bytes.as_deref(), Some(&content[..]));
    }

    #[test]
    fn an_attachment_over_the_limit_keeps_its_size_but_not_its_bytes() {
        let content = vec![7u8; 4096];
        let mail = parse(&with_attachment(&content), 4095).unwrap();
        assert_eq!(mail.attachments[0].size, 4096);
        assert_eq!(mail.attachments[0].bytes, None);
    }

    #[test]
    fn a_20_mb_attachment_over_the_limit_parses_and_keeps_only_its_size() {
        let content = vec![0x5au8; 20 << 20];
        let raw = with_attachment(&content);
        let mail = parse(&raw, 1 << 20).unwrap();
        assert_eq!(mail.attachments[0].size, 20 << 20);
        assert!(mail.attachments[0].bytes.is_none());
    }

    #[test]
    fn an_html_only_mail_becomes_readable_text() {
        let raw = "From: a@b.pl\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                   <html><head><style>p {color: red}</style></head><body><p>Dzień dobry,</p>\
                   <p>proszę o <b>zwrot</b> pieniędzy.</p></body></html>\r\n";
        let mail = parse(raw.as_bytes(), LIMIT).unwrap();
        assert!(mail.text.contains("Dzień dobry,"), "{:?}", mail.text);
        assert!(
            mail.text.contains("proszę o zwrot pieniędzy."),
            "{:?}",
            mail.text
        );
        assert!(
            !mail.text.contains('<') && !mail.text.contains("color"),
            "{:?}",
            mail.text
        );
    }

    #[test]
    fn rfc_2047_subjects_in_cp1250_and_koi8_r_decode() {
        let polish = "From: a@b.pl\r\nSubject: =?windows-1250?B?UmVrbGFtYWNqYSB6YW3zd2llbmlhIJYgv/Oz5g==?=\r\n\r\nx\r\n";
        assert_eq!(
            parse(polish.as_bytes(), LIMIT).unwrap().subject,
            "Reklamacja zamówienia – żółć"
        );
        let russian = "From: a@b.ru\r\nSubject: =?koi8-r?B?98/a19LB1CDUz9fB0sE=?=\r\n\r\nx\r\n";
        assert_eq!(
            parse(russian.as_bytes(), LIMIT).unwrap().subject,
            "Возврат товара"
        );
        let quoted = "From: a@b.pl\r\nSubject: =?ISO-8859-2?Q?Zwrot_=BF=F3=B3ci?=\r\n\r\nx\r\n";
        assert_eq!(
            parse(quoted.as_bytes(), LIMIT).unwrap().subject,
            "Zwrot żółci"
        );
    }

    #[test]
    fn raw_8bit_cp1250_headers_decode_with_the_declared_charset() {
        let raw = raw(&[
            "From: ",
            "x:50617765b320aff3b36b696577736b69",
            " <pawel@example.pl>\r\nSubject: ",
            "x:52656b6c616d61636a61207a616df37769656e6961209620bff3b3e6",
            "\r\n",
            "Content-Type: text/plain; charset=windows-1250\r\n\r\n",
            "Tre",
            "x:9c",
            "\u{107}\r\n",
        ]);
        let mail = parse(&raw, LIMIT).unwrap();
        assert_eq!(mail.subject, "Reklamacja zamówienia – żółć");
        assert_eq!(mail.from_name.as_deref(), Some("Paweł Żółkiewski"));
        assert_eq!(mail.from_email.as_deref(), Some("pawel@example.pl"));
    }

    #[test]
    fn raw_8bit_koi8_r_headers_decode_with_the_declared_charset() {
        let raw = raw(&[
            "From: \"",
            "x:e9d7c1ce20f0c5d4d2cfd7",
            "\" <ivan@example.ru>\r\nSubject: ",
            "x:f7cfdad7d2c1d420d4cfd7c1d2c1",
            "\r\n",
            "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n",
            "--b\r\nContent-Type: text/plain; charset=KOI8-R\r\n\r\n",
            "x:f7cfdad7d2c1d4",
            "\r\n--b--\r\n",
        ]);
        let mail = parse(&raw, LIMIT).unwrap();
        assert_eq!(mail.subject, "Возврат товара");
        assert_eq!(mail.from_name.as_deref(), Some("Иван Петров"));
        assert_eq!(mail.text, "Возврат");
    }

    #[test]
    fn raw_8bit_headers_without_a_declared_charset_are_guessed() {
        let polish = raw(&[
            "From: a@b.pl\r\nSubject: ",
            "x:52656b6c616d61636a61207a616df37769656e6961209620bff3b3e6",
            "\r\n\r\nx\r\n",
        ]);
        assert_eq!(
            parse(&polish, LIMIT).unwrap().subject,
            "Reklamacja zamówienia – żółć"
        );
        let russian = raw(&[
            "From: a@b.ru\r\nSubject: ",
            "x:f7cfdad7d2c1d420d4cfd7c1d2c1",
            "\r\n\r\nx\r\n",
        ]);
        assert_eq!(parse(&russian, LIMIT).unwrap().subject, "Возврат товара");
    }

    #[test]
    fn a_raw_8bit_body_without_a_charset_is_guessed_not_mangled() {
        let raw = raw(&[
            "From: a@b.pl\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\nProsz",
            "x:ea",
            " o zwrot, ",
            "x:bff3b3e6",
            ".\r\n",
        ]);
        assert_eq!(parse(&raw, LIMIT).unwrap().text, "Proszę o zwrot, żółć.");
    }

    #[test]
    fn a_missing_message_id_is_none_not_an_error() {
        let mail = parse(b"From: a@b.pl\r\nSubject: hi\r\n\r\nbody\r\n", LIMIT).unwrap();
        assert_eq!(mail.message_id, None);
        assert_eq!(mail.date, None);
        assert_eq!(mail.body, "body");
    }

    #[test]
    fn in_reply_to_and_references_give_bare_ids_in_order() {
        let raw = "From: a@b.pl\r\nMessage-ID: <new@b.pl>\r\nIn-Reply-To: <ferrule.17.ab12@sklep.pl>\r\n\
                   References: <first@b.pl>\r\n <ferrule.17.ab12@sklep.pl>\r\nSubject: Re: x\r\n\r\nok\r\n";
        let mail = parse(raw.as_bytes(), LIMIT).unwrap();
        assert_eq!(mail.in_reply_to, ["ferrule.17.ab12@sklep.pl"]);
        assert_eq!(mail.references, ["first@b.pl", "ferrule.17.ab12@sklep.pl"]);
    }

    #[test]
    fn automatic_mail_is_flagged() {
        for header in [
            "Auto-Submitted: auto-replied",
            "Precedence: bulk",
            "Precedence: list",
            "X-Autoreply: yes",
            "X-Autorespond: Out of office",
            "Return-Path: <>",
        ] {
            let raw = format!("From: a@b.pl\r\n{header}\r\nSubject: x\r\n\r\nbody\r\n");
            assert!(
                parse(raw.as_bytes(), LIMIT).unwrap().auto_generated,
                "{header}"
            );
        }
        let human = "From: a@b.pl\r\nAuto-Submitted: no\r\nPrecedence: first-class\r\n\r\nbody\r\n";
        assert!(!parse(human.as_bytes(), LIMIT).unwrap().auto_generated);
    }

    #[test]
    fn garbage_is_a_parse_error_never_a_panic() {
        let err = parse(b"", LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "not a mail message: it is empty");
        let err = parse(b"\x00\xff\xfe binary junk\n\x01\x02", LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "not a mail message: no header lines");
        assert!(parse(b"just some words without a colon\r\n\r\n", LIMIT).is_err());
        // Shapes that have panicked mail-parser (issues #145, #155) and a pseudo-random corpus.
        let _ = parse(b"Received:\n\t", LIMIT);
        let _ = parse(b"Received: from x by y;\r\n\t", LIMIT);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..300 {
            let mut bytes =
                b"Content-Type: multipart/mixed; boundary=a\r\nSubject: =?utf-8?q?".to_vec();
            for _ in 0..200 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let alphabet = b"-a\r\n:=?;\"<>@ \tQBq\x80\xff";
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&bytes, LIMIT);
        }
    }

    #[test]
    fn strip_reply_cuts_an_english_quote() {
        let text = "Thanks, that works.\n\nOn Mon, 4 Mar 2024 at 10:00, Sklep <reklamacje@sklep.pl>\nwrote:\n> Please try again.\n";
        assert_eq!(strip_reply(text), "Thanks, that works.");
        let one_line = "Yes.\r\nOn 2024-03-04 Sklep wrote:\r\n> Is it ok?\r\n";
        assert_eq!(strip_reply(one_line), "Yes.");
    }

    #[test]
    fn strip_reply_cuts_polish_quotes() {
        let text = "Dziękuję.\n\nW dniu 4.03.2024 o 10:00, Sklep <reklamacje@sklep.pl> napisał(a):\n> Prosimy o numer.\n";
        assert_eq!(strip_reply(text), "Dziękuję.");
        let dnia = "Numer 123.\nDnia 4 marca 2024 Sklep napisał:\n> Jaki numer?\n";
        assert_eq!(strip_reply(dnia), "Numer 123.");
    }

    #[test]
    fn strip_reply_cuts_a_russian_quote() {
        let text = "Спасибо!\n\n4 марта 2024 г., в 10:00, Магазин <shop@x.ru> написал(а):\n> Ваш заказ отправлен.\n";
        assert_eq!(strip_reply(text), "Спасибо!");
    }

    #[test]
    fn strip_reply_cuts_outlook_blocks() {
        let original =
            "See attached.\n\n-----Original Message-----\nFrom: Sklep\nSent: Monday\nOld text\n";
        assert_eq!(strip_reply(original), "See attached.");
        let polish = "Proszę.\n-----Wiadomość oryginalna-----\nOd: Sklep\n";
        assert_eq!(strip_reply(polish), "Proszę.");
        let block = "Fine by me.\n\n________________________________\nFrom: Sklep <reklamacje@sklep.pl>\nSent: Monday, March 4, 2024 10:00\nTo: Jan\nSubject: Re: x\n\nOld\n";
        assert_eq!(strip_reply(block), "Fine by me.");
        let not_a_block = "From: my side all is well.\nBye";
        assert_eq!(strip_reply(not_a_block), not_a_block);
    }

    #[test]
    fn strip_reply_drops_the_signature_and_trailing_quotes() {
        assert_eq!(strip_reply("Hi\n-- \nJan\n+48 123"), "Hi");
        assert_eq!(strip_reply("Hi\n--\nJan"), "Hi");
        assert_eq!(
            strip_reply("> quoted first\nmy answer\n\n> old\n> older\n"),
            "> quoted first\nmy answer"
        );
        assert_eq!(strip_reply("  only text  "), "only text");
        assert_eq!(
            strip_reply("On Mon, Jan wrote:\n> all quoted\n"),
            "On Mon, Jan wrote:\n> all quoted"
        );
    }

    #[test]
    fn subject_token_finds_the_ticket_number_anywhere() {
        assert_eq!(subject_token("Re: Zwrot [#123]"), Some(123));
        assert_eq!(subject_token("[#7] Re: x"), Some(7));
        assert_eq!(subject_token("Re: [#abc] [# 5] [#88]"), Some(88));
        assert_eq!(subject_token("Order #123"), None);
        assert_eq!(subject_token("[#99999999999999999999]"), None);
        assert_eq!(subject_token("[#12"), None);
    }
}
