//! Applying a rule's effects to a ticket in memory (so the whole list is checked before
//! anything is written); the chain writes the result.

use crate::store::{NewMessage, Outgoing, StatusRow, TicketRow};
use ferrule_types::{Effect, Event};

/// What applying effects changed, besides the ticket row itself.
#[derive(Debug, Default)]
pub struct Applied {
    /// Events the changes raise (status changed, tag added).
    pub events: Vec<Event>,
    /// Replies to add to the conversation.
    pub replies: Vec<NewMessage>,
    /// Outgoing e-mails, SMS and notifications.
    pub outbox: Vec<Outgoing>,
    /// Whether the ticket row changed.
    pub changed: bool,
}

/// Apply `effects` to `ticket` in memory. An effect the tenant cannot honour (unknown status,
/// unknown agent) is an error and nothing is applied.
pub fn apply(
    ticket: &mut TicketRow,
    effects: &[Effect],
    statuses: &[StatusRow],
    agent_ids: &[i64],
    rule_id: i64,
    now: i64,
) -> Result<Applied, String> {
    let mut out = Applied::default();
    let mut tags: Vec<String> = serde_json::from_str(&ticket.tags).unwrap_or_default();
    for effect in effects {
        match effect {
            Effect::SetStatus { status } => {
                let Some(s) = statuses.iter().find(|s| s.name == *status) else {
                    let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
                    return Err(format!(
                        "unknown status `{status}`; the tenant's statuses are {}",
                        names.join(", ")
                    ));
                };
                if ticket.status != *status {
                    out.events.push(Event::StatusChanged {
                        from: ticket.status.clone(),
                        to: status.clone(),
                    });
                    ticket.status = status.clone();
                    ticket.status_changed_at = now;
                    ticket.closed_at =
                        matches!(s.category.as_str(), "solved" | "closed").then_some(now);
                    out.changed = true;
                }
            }
            Effect::SetCategory { category } => {
                out.changed |= ticket.category.as_deref() != Some(category.as_str());
                ticket.category = Some(category.clone());
            }
            Effect::SetPriority { priority } => {
                out.changed |= ticket.priority.as_deref() != Some(priority.as_str());
                ticket.priority = Some(priority.clone());
            }
            Effect::AssignAgent { agent } => {
                let id = agent
                    .parse::<i64>()
                    .ok()
                    .filter(|id| agent_ids.contains(id));
                let Some(id) = id else {
                    return Err(format!("unknown agent `{agent}`"));
                };
                if ticket.assignee_id != Some(id) {
                    ticket.assignee_id = Some(id);
                    ticket.assigned_at = Some(now);
                    out.changed = true;
                }
            }
            Effect::Unassign => {
                if ticket.assignee_id.is_some() {
                    ticket.assignee_id = None;
                    ticket.assigned_at = None;
                    out.changed = true;
                }
            }
            Effect::AddTags { tags: add } => {
                for tag in add {
                    let tag = tag.trim().to_lowercase();
                    if !tag.is_empty() && !tags.contains(&tag) {
                        tags.push(tag.clone());
                        out.events.push(Event::TagAdded { tag });
                        out.changed = true;
                    }
                }
            }
            Effect::RemoveTags { tags: remove } => {
                let before = tags.len();
                tags.retain(|t| !remove.iter().any(|r| r.trim().eq_ignore_ascii_case(t)));
                out.changed |= tags.len() != before;
            }
            Effect::Reply {
                body,
                subject,
                language,
            } => {
                out.outbox.push(Outgoing {
                    kind: "reply",
                    channel: reply_channel(&ticket.source),
                    message: Some(out.replies.len()),
                    recipient: reply_recipient(ticket),
                    subject: subject.clone(),
                    body: body.clone(),
                });
                out.replies.push(NewMessage {
                    subject: subject.clone(),
                    language: language.clone(),
                    rule_id: Some(rule_id),
                    ..NewMessage::new("agent", body.clone(), now)
                });
                ticket.last_agent_message_at = Some(now);
                ticket.answered = true;
                out.changed = true;
            }
            Effect::SendEmail { to, subject, body } => {
                out.outbox.push(Outgoing {
                    kind: "email",
                    channel: "smtp",
                    message: None,
                    recipient: to.clone(),
                    subject: Some(subject.clone()),
                    body: body.clone(),
                });
            }
            Effect::NotifyUser {
                user,
                subject,
                body,
            } => {
                let user = if user == "assignee" {
                    ticket
                        .assignee_id
                        .map(|a| a.to_string())
                        .ok_or("notify `assignee`: the ticket has no assignee")?
                } else {
                    user.clone()
                };
                out.outbox.push(Outgoing {
                    kind: "notification",
                    channel: "smtp",
                    message: None,
                    recipient: user,
                    subject: Some(subject.clone()),
                    body: body.clone(),
                });
            }
            Effect::SendSms { to, body } => out.outbox.push(Outgoing {
                kind: "sms",
                channel: "sms",
                message: None,
                recipient: to.clone(),
                subject: None,
                body: body.clone(),
            }),
        }
    }
    ticket.tags = serde_json::to_string(&tags).unwrap_or_else(|_| "[]".into());
    if out.changed {
        ticket.updated_at = now;
    }
    Ok(out)
}

/// How a reply reaches the customer of a ticket from `source`: e-mail by SMTP, SMS through the
/// gateway, Allegro through its API; sources without a built-in connector (chat, web forms, the
/// API) hand it to the integration as a `delivery.requested` webhook.
pub fn reply_channel(source: &str) -> &'static str {
    match source {
        "email" => "smtp",
        "sms" => "sms",
        s if s.starts_with("allegro") => "allegro",
        _ => "webhook",
    }
}

fn reply_recipient(ticket: &TicketRow) -> String {
    let address = match reply_channel(&ticket.source) {
        "smtp" => ticket.customer_email.clone(),
        "sms" => ticket.customer_phone.clone(),
        _ => None,
    };
    address.unwrap_or_else(|| ticket.customer_name.clone())
}

/// Whether any message text of `effects` asks for the conversation summary.
pub fn mentions_conversation(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| message_text(e).is_some_and(|t| t.contains(ferrule_plugin_sdk_marker())))
}

/// Replace the `{{ticket.conversation}}` marker in every message text with `summary`.
pub fn fill_conversation(effects: &mut [Effect], summary: &str) {
    for e in effects {
        let body = match e {
            Effect::Reply { body, .. }
            | Effect::SendEmail { body, .. }
            | Effect::NotifyUser { body, .. }
            | Effect::SendSms { body, .. } => body,
            _ => continue,
        };
        *body = body.replace(ferrule_plugin_sdk_marker(), summary);
    }
}

fn message_text(e: &Effect) -> Option<&str> {
    match e {
        Effect::Reply { body, .. }
        | Effect::SendEmail { body, .. }
        | Effect::NotifyUser { body, .. }
        | Effect::SendSms { body, .. } => Some(body),
        _ => None,
    }
}

/// The marker the SDK's templates render for `{{ticket.conversation}}` (part of the plugin
/// contract: vendor plugins built with the SDK emit it too).
fn ferrule_plugin_sdk_marker() -> &'static str {
    "{{ticket.conversation}}"
}

/// The conversation as a summary: one paragraph per message, oldest first, newest kept when it
/// is long.
pub fn conversation_summary(messages: &[crate::store::MessageRow], customer: &str) -> String {
    const LIMIT: usize = 20_000;
    let mut paragraphs: Vec<String> = messages
        .iter()
        .map(|m| {
            let when = chrono::DateTime::from_timestamp_millis(m.sent_at)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let who = if m.author == "customer" {
                customer
            } else {
                "Agent"
            };
            format!("{when} {who}: {}", m.body.trim())
        })
        .collect();
    let mut total: usize = paragraphs.iter().map(|p| p.len() + 2).sum();
    let mut dropped = 0;
    while total > LIMIT && paragraphs.len() > 1 {
        total -= paragraphs.remove(0).len() + 2;
        dropped += 1;
    }
    let mut out = String::new();
    if dropped > 0 {
        out.push_str(&format!("({dropped} earlier messages left out)\n\n"));
    }
    out.push_str(&paragraphs.join("\n\n"));
    out
}
