//! `notify-user` — send an internal notification to a helpdesk user: an agent by id, or
//! `"assignee"` for whoever the ticket is assigned to. `subject` and `body` are templates with
//! placeholders (`{{ticket.number}}`, `{{agent.name}}`, …), checked when the rule is saved.
//!
//! With `"assignee"` the effect keeps `user: "assignee"` and the host resolves it when it applies
//! the rule's effects (so it names the assignee as of that moment). If the ticket the action runs
//! on has nobody assigned, the action fails with a clear error instead of notifying no one.

use ferrule_plugin_sdk::prelude::*;

/// `{"user": "assignee", "subject": "Klient czeka: #{{ticket.number}}", "body": "{{customer.name}} czeka na odpowiedź."}`
/// (`user` may also be an agent id: `"7"` or `7`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// An agent id, or `assignee`.
    #[schemars(with = "String")]
    pub user: User,
    /// Subject; may use placeholders.
    pub subject: String,
    /// Body; may use placeholders.
    pub body: String,
}

/// A user written as a string (`"7"`, `"assignee"`) or a number (`7`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum User {
    /// `"7"` or `"assignee"`.
    Text(String),
    /// `7`.
    Number(u64),
}

/// The value of `user` that means the ticket's assignee.
const ASSIGNEE: &str = "assignee";

impl User {
    fn text(&self) -> String {
        match self {
            User::Text(t) if t.trim().eq_ignore_ascii_case(ASSIGNEE) => ASSIGNEE.to_owned(),
            User::Text(t) => t.trim().to_owned(),
            User::Number(n) => n.to_string(),
        }
    }
}

/// The action.
pub struct NotifyUser;

impl Action for NotifyUser {
    type Config = Config;
    const NAME: &'static str = "notify-user";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const SUMMARY: &'static str = "Notify a helpdesk user (an agent, or the ticket's assignee) with a text with placeholders.";
    const CAPABILITIES: &'static [&'static str] = &["directory"];

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.user.text().is_empty() {
            return Err(PluginError::invalid_config(
                "user",
                "name an agent id or `assignee`",
            ));
        }
        if config.subject.trim().is_empty() {
            return Err(PluginError::invalid_config(
                "subject",
                "the subject is empty",
            ));
        }
        Template::parse("subject", &config.subject)?;
        if config.body.trim().is_empty() {
            return Err(PluginError::invalid_config("body", "the message is empty"));
        }
        Template::parse("body", &config.body)?;
        Ok(())
    }

    fn execute(config: &Config, ctx: &Context) -> Result<Vec<Effect>, PluginError> {
        let user = config.user.text();
        let unassigned = ctx
            .ticket
            .assignee
            .as_deref()
            .is_none_or(|a| a.trim().is_empty());
        if user == ASSIGNEE && unassigned {
            return Err(PluginError::failed(format!(
                "notify-user: the notification goes to the assignee, but ticket #{} is not \
                 assigned to anyone",
                ctx.ticket.number
            )));
        }
        Ok(vec![Effect::NotifyUser {
            user,
            subject: Template::parse("subject", &config.subject)?.render(ctx),
            body: Template::parse("body", &config.body)?.render(ctx),
        }])
    }
}

export_action!(NotifyUser);

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: &str = r#""subject": "Klient czeka: #{{ticket.number}}", "body": "{{customer.name}} czeka na odpowiedź.""#;

    fn config(user: &str) -> String {
        format!(r#"{{"user": {user}, {TEXTS}}}"#)
    }

    fn notified(user: &str, ctx: &Context) -> Effect {
        let mut effects = testing::execute::<NotifyUser>(&config(user), ctx).unwrap();
        assert_eq!(effects.len(), 1);
        effects.remove(0)
    }

    #[test]
    fn notifies_an_agent_by_id_with_filled_in_texts() {
        assert_eq!(
            notified(r#""7""#, &testing::context()),
            Effect::NotifyUser {
                user: "7".into(),
                subject: "Klient czeka: #1042".into(),
                body: "Jan Kowalski czeka na odpowiedź.".into(),
            }
        );
        assert!(matches!(
            notified("7", &testing::context()),
            Effect::NotifyUser { user, .. } if user == "7"
        ));
    }

    #[test]
    fn notifies_the_assignee_when_there_is_one() {
        let mut ctx = testing::context();
        ctx.ticket.assignee = Some("3".into());
        assert!(matches!(
            notified(r#"" Assignee ""#, &ctx),
            Effect::NotifyUser { user, .. } if user == "assignee"
        ));
    }

    #[test]
    fn fails_clearly_when_the_assignee_is_asked_for_and_nobody_is_assigned() {
        let e = testing::execute::<NotifyUser>(&config(r#""assignee""#), &testing::context())
            .unwrap_err();
        assert!(
            matches!(&e, PluginError::Failed { message } if message.contains("not assigned") && message.contains("#1042")),
            "{e:?}"
        );
    }

    #[test]
    fn the_assignees_name_fills_agent_placeholders() {
        let mut ctx = testing::context();
        ctx.ticket.assignee = Some("3".into());
        testing::Directory::new().agent("3", "Anna Nowak").install();
        let config = r##"{"user": "assignee", "subject": "#{{ticket.number}}", "body": "{{agent.name}}, klient czeka."}"##;
        assert!(matches!(
            &testing::execute::<NotifyUser>(config, &ctx).unwrap()[..],
            [Effect::NotifyUser { body, .. }] if body == "Anna Nowak, klient czeka."
        ));
    }

    #[test]
    fn rejects_blank_users_texts_and_unknown_placeholders() {
        let path = |c: &str| match testing::validate_action::<NotifyUser>(c) {
            Err(PluginError::InvalidConfig { path, .. }) => path,
            other => panic!("{c}: {other:?}"),
        };
        assert_eq!(path(&config(r#"" ""#)), "user");
        assert_eq!(path(&config("true")), "user");
        assert_eq!(
            path(r#"{"user": "7", "subject": " ", "body": "x"}"#),
            "subject"
        );
        assert_eq!(path(r#"{"user": "7", "subject": "x", "body": ""}"#), "body");
        assert_eq!(
            path(r#"{"user": "7", "subject": "{{tiket.number}}", "body": "x"}"#),
            "subject"
        );
        assert_eq!(
            path(r#"{"user": "7", "subject": "x", "body": "{{agent.nam}}"}"#),
            "body"
        );
        assert!(
            testing::validate_action::<NotifyUser>(r#"{"user": "7", "subject": "x"}"#).is_err()
        );
        assert!(testing::validate_action::<NotifyUser>(&config(r#""assignee""#)).is_ok());
        assert!(testing::validate_action::<NotifyUser>(&config("12")).is_ok());
    }
}
