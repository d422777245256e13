//! The outside world: mailboxes read over IMAP, and every outgoing message delivered (SMTP, SMS
//! gateway, webhooks, Allegro).

pub mod allegro;
pub mod delivery;
pub mod http;
pub mod mail;
pub mod mailbox;
pub mod signature;
