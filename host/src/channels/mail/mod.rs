//! E-mail: reading mailboxes (IMAP), parsing what arrives (MIME), composing and sending replies
//! (SMTP).

pub mod compose;
pub mod imap;
pub mod parse;
pub mod smtp;
