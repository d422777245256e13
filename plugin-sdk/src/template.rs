//! Message templates with placeholders: `Dzień dobry {{customer.name}}, zgłoszenie
//! #{{ticket.number}} …`. Placeholders are checked when the config is validated, so a typo is an
//! error when the rule is saved, never a silent blank in a message to a customer.

use crate::directory;
use ferrule_types::{Context, PluginError};

/// Every placeholder a template may use, with what it renders.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("ticket.id", "the ticket's id"),
    ("ticket.number", "the ticket's number"),
    ("ticket.subject", "the ticket's subject"),
    ("ticket.status", "the ticket's status"),
    (
        "ticket.category",
        "the ticket's category (empty when unset)",
    ),
    (
        "ticket.priority",
        "the ticket's priority (empty when unset)",
    ),
    ("ticket.type", "the ticket's type (empty when unset)"),
    ("ticket.source", "the channel the ticket came from"),
    (
        "ticket.account",
        "the connected account of the channel (empty when unset)",
    ),
    (
        "ticket.created_at",
        "when the ticket was created (YYYY-MM-DD HH:MM, UTC)",
    ),
    ("customer.name", "the customer's name"),
    (
        "customer.email",
        "the customer's e-mail (empty when unknown)",
    ),
    (
        "customer.phone",
        "the customer's phone (empty when unknown)",
    ),
    (
        "agent.name",
        "the assigned agent's name (empty when unassigned)",
    ),
    (
        "agent.email",
        "the assigned agent's e-mail (empty when unknown)",
    ),
    ("message.body", "the latest message's text"),
    (
        "ticket.conversation",
        "the whole conversation, oldest first, one message per paragraph (filled in by the host when the message is stored)",
    ),
];

/// What a rendered template carries for `{{ticket.conversation}}`: the conversation is not in
/// a plugin's context, so the host replaces this marker when it stores the message.
pub const CONVERSATION_MARKER: &str = "{{ticket.conversation}}";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(Vec<Part>);

impl Template {
    /// Parse `text`; `field` is the config key it came from, used in the error's path.
    pub fn parse(field: &str, text: &str) -> Result<Template, PluginError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| {
                PluginError::invalid_config(
                    field,
                    "a placeholder opened with `{{` is never closed with `}}`",
                )
            })?;
            let name = after[..close].trim();
            let known = PLACEHOLDERS
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = PLACEHOLDERS.iter().map(|(n, _)| *n).collect();
                    PluginError::invalid_config(
                        field,
                        format!(
                            "unknown placeholder `{{{{{name}}}}}`; known: {}",
                            names.join(", ")
                        ),
                    )
                })?;
            parts.push(Part::Field(known.0));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template(parts))
    }

    /// Whether the template uses a placeholder.
    pub fn uses(&self, name: &str) -> bool {
        self.0
            .iter()
            .any(|p| matches!(p, Part::Field(f) if *f == name))
    }

    /// Render with the values of `ctx`. `agent.*` are looked up in the tenant's directory.
    pub fn render(&self, ctx: &Context) -> String {
        let agent = if self.uses("agent.name") || self.uses("agent.email") {
            ctx.ticket.assignee.as_deref().and_then(directory::agent)
        } else {
            None
        };
        let t = &ctx.ticket;
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(s) => out.push_str(s),
                Part::Field(f) => {
                    let value = match *f {
                        "ticket.id" => t.id.clone(),
                        "ticket.number" => t.number.to_string(),
                        "ticket.subject" => t.subject.clone(),
                        "ticket.status" => t.status.clone(),
                        "ticket.category" => t.category.clone().unwrap_or_default(),
                        "ticket.priority" => t.priority.clone().unwrap_or_default(),
                        "ticket.type" => t.ticket_type.clone().unwrap_or_default(),
                        "ticket.source" => t.source.clone(),
                        "ticket.account" => t.account.clone().unwrap_or_default(),
                        "ticket.created_at" => t.created_at.format("%Y-%m-%d %H:%M").to_string(),
                        "customer.name" => t.customer.name.clone(),
                        "customer.email" => t.customer.email.clone().unwrap_or_default(),
                        "customer.phone" => t.customer.phone.clone().unwrap_or_default(),
                        "agent.name" => agent.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
                        "agent.email" => agent
                            .as_ref()
                            .and_then(|a| a.email.clone())
                            .unwrap_or_default(),
                        "message.body" => ctx
                            .latest_message
                            .as_ref()
                            .map(|m| m.body.clone())
                            .unwrap_or_default(),
                        "ticket.conversation" => CONVERSATION_MARKER.to_owned(),
                        _ => String::new(),
                    };
                    out.push_str(&value);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn leaves_the_conversation_for_the_host_to_fill_in() {
        let t = Template::parse("body", "Summary:\n{{ ticket.conversation }}").unwrap();
        assert_eq!(
            t.render(&testing::context()),
            format!("Summary:\n{CONVERSATION_MARKER}")
        );
    }

    #[test]
    fn fills_ticket_and_customer_placeholders() {
        let ctx = testing::context();
        let t = Template::parse(
            "body",
            "Dzień dobry {{customer.name}}, zgłoszenie #{{ ticket.number }}: {{ticket.subject}}",
        )
        .unwrap();
        assert_eq!(
            t.render(&ctx),
            format!(
                "Dzień dobry {}, zgłoszenie #{}: {}",
                ctx.ticket.customer.name, ctx.ticket.number, ctx.ticket.subject
            )
        );
    }

    #[test]
    fn agent_name_comes_from_the_directory() {
        let mut ctx = testing::context();
        ctx.ticket.assignee = Some("a1".into());
        testing::Directory::new()
            .agent("a1", "Anna Nowak")
            .install();
        let t = Template::parse("body", "{{agent.name}}").unwrap();
        assert_eq!(t.render(&ctx), "Anna Nowak");
        ctx.ticket.assignee = None;
        assert_eq!(t.render(&ctx), "");
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_config_errors() {
        let e = Template::parse("body", "Hi {{customer.nmae}}").unwrap_err();
        let PluginError::InvalidConfig { path, message } = e else {
            panic!()
        };
        assert_eq!(path, "body");
        assert!(message.contains("customer.nmae"), "{message}");
        assert!(Template::parse("subject", "Hi {{ticket.number").is_err());
    }

    #[test]
    fn text_without_placeholders_is_kept() {
        let ctx = testing::context();
        assert_eq!(
            Template::parse("b", "Thanks! {not a placeholder}")
                .unwrap()
                .render(&ctx),
            "Thanks! {not a placeholder}"
        );
    }
}
