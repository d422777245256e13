//! The parts of Allegro's REST resources ferrule reads, as Allegro publishes them
//! (`application/vnd.allegro.public.v1+json` for /me and the message center,
//! `application/vnd.allegro.beta.v1+json` for post-purchase issues and customer returns).
//! Allegro marks almost nothing as required, so everything but ids is optional here.

use serde::Deserialize;

/// `GET /me`.
#[derive(Debug, Deserialize)]
pub struct Me {
    /// The seller's id.
    pub id: String,
    /// The seller's login.
    pub login: String,
}

/// `{"id": …}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Id {
    /// The id.
    pub id: String,
}

/// `GET /messaging/threads`.
#[derive(Debug, Deserialize)]
pub struct ThreadsPage {
    /// Newest change first.
    pub threads: Vec<Thread>,
}

/// A message-center thread.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// Id.
    pub id: String,
    /// When its last message was written (absent for a thread without messages).
    pub last_message_date_time: Option<String>,
    /// The buyer.
    pub interlocutor: Option<Interlocutor>,
}

/// The other side of a thread.
#[derive(Debug, Deserialize)]
pub struct Interlocutor {
    /// Login.
    pub login: Option<String>,
}

/// `GET /messaging/threads/{id}/messages`.
#[derive(Debug, Deserialize)]
pub struct MessagesPage {
    /// Newest first.
    pub messages: Vec<Message>,
}

/// A message-center message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Id.
    pub id: String,
    /// When it was written.
    pub created_at: String,
    /// Who wrote it.
    pub author: Author,
    /// Text.
    pub text: Option<String>,
    /// Subject (mails only).
    pub subject: Option<String>,
    /// The offer or order it is about.
    pub relates_to: Option<RelatesTo>,
    /// Attached files.
    #[serde(default)]
    pub attachments: Option<Vec<Attachment>>,
}

/// The author of a message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Author {
    /// Login.
    pub login: Option<String>,
    /// True when the buyer wrote it (the seller's side is not the interlocutor).
    pub is_interlocutor: bool,
}

/// What a message is about.
#[derive(Debug, Deserialize)]
pub struct RelatesTo {
    /// The order.
    pub order: Option<Id>,
}

/// An attached file (kept as metadata).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// File name.
    pub file_name: String,
    /// MIME type.
    pub mime_type: Option<String>,
}

/// `GET /sale/issues`.
#[derive(Debug, Deserialize)]
pub struct IssuesPage {
    /// Newest opened first.
    pub issues: Vec<Issue>,
}

/// A post-purchase issue: a discussion (DISPUTE) or a claim (CLAIM).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// Id.
    pub id: String,
    /// DISPUTE or CLAIM (a dispute may become a claim).
    #[serde(rename = "type")]
    pub kind: String,
    /// Subject.
    pub subject: Option<String>,
    /// The number the buyer sees.
    pub reference_number: Option<String>,
    /// The buyer.
    pub buyer: Option<Interlocutor>,
    /// The order.
    pub checkout_form: Option<Id>,
    /// Its chat in short.
    pub chat: Option<ChatSummary>,
    /// When it was opened.
    pub opened_date: Option<String>,
}

/// How much an issue's chat holds.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSummary {
    /// Messages in the chat.
    pub messages_count: Option<i64>,
    /// The last one.
    pub last_message: Option<LastMessage>,
}

/// The last message of an issue's chat.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastMessage {
    /// When it was written.
    pub created_at: Option<String>,
}

/// `GET /sale/issues/{id}/chat`.
#[derive(Debug, Deserialize)]
pub struct ChatPage {
    /// The chat's messages.
    pub chat: Vec<ChatMessage>,
}

/// A message of an issue's chat.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    /// Id.
    pub id: String,
    /// Text.
    pub text: Option<String>,
    /// Who wrote it.
    pub author: ChatAuthor,
    /// When.
    pub created_at: String,
    /// Attached files.
    #[serde(default)]
    pub attachments: Option<Vec<IssueAttachment>>,
}

/// The author of a chat message (no login for ADMIN, SYSTEM and FULFILLMENT).
#[derive(Debug, Deserialize)]
pub struct ChatAuthor {
    /// Login.
    pub login: Option<String>,
    /// BUYER, SELLER, ADMIN, SYSTEM or FULFILLMENT.
    pub role: String,
}

/// A file attached to an issue's message.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssueAttachment {
    /// File name.
    pub file_name: String,
}

/// `GET /order/customer-returns`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnsPage {
    /// Oldest first.
    pub customer_returns: Vec<CustomerReturn>,
}

/// A customer return.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerReturn {
    /// Id.
    pub id: String,
    /// When it was created.
    pub created_at: String,
    /// The number the buyer sees.
    pub reference_number: Option<String>,
    /// The order.
    pub order_id: String,
    /// The buyer.
    pub buyer: Option<ReturnBuyer>,
    /// What comes back.
    #[serde(default)]
    pub items: Option<Vec<ReturnItem>>,
}

/// The buyer of a return.
#[derive(Debug, Deserialize)]
pub struct ReturnBuyer {
    /// Login.
    pub login: Option<String>,
    /// E-mail (Allegro's relay address).
    pub email: Option<String>,
}

/// A returned item.
#[derive(Debug, Deserialize)]
pub struct ReturnItem {
    /// Name.
    pub name: Option<String>,
    /// How many.
    pub quantity: Option<i64>,
    /// Why.
    pub reason: Option<ReturnReason>,
}

/// Why an item comes back.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnReason {
    /// The reason's code.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The buyer's words.
    pub user_comment: Option<String>,
}

/// A message written through the API (message center or issue chat).
#[derive(Debug, Deserialize)]
pub struct Posted {
    /// Its id.
    pub id: String,
    /// Its thread (message center).
    pub thread: Option<Id>,
}
