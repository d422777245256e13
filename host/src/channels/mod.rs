//! The outside world: mailboxes read over IMAP, and every outgoing message delivered (SMTP, SMS
//! gateway, webhooks).

pub mod mail;
