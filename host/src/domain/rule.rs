//! Rules as admins write them: trigger, a condition tree (ALL / ANY / NOT over plugin leaves) and
//! ordered actions. Parsed by hand from JSON so every error names its exact place
//! (`conditions.all[2].not.plugin`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The event kinds an event rule may listen to.
pub const EVENT_KINDS: &[&str] = &[
    "ticket_created",
    "customer_message",
    "first_customer_message",
    "agent_message",
    "return_created",
    "tag_added",
    "status_changed",
];

/// When a rule runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// On these events (a set of kinds from [`EVENT_KINDS`]).
    Events(Vec<String>),
    /// As time passes (over every ticket that is not closed).
    Time(Map<String, Value>),
}

/// A node of the condition tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Every child holds (true when empty).
    All(Vec<Condition>),
    /// At least one child holds (false when empty).
    Any(Vec<Condition>),
    /// The child does not hold.
    Not(Box<Condition>),
    /// A condition plugin with its config.
    Leaf(Leaf),
}

/// A use of a plugin with a config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaf {
    /// Plugin name.
    pub plugin: String,
    /// The config, as JSON.
    pub config: Value,
}

/// A rule's definition (what an admin sends and reads back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Whether it runs.
    pub enabled: bool,
    /// When it runs.
    pub trigger: Trigger,
    /// The condition tree.
    pub conditions: Condition,
    /// The actions, in order.
    pub actions: Vec<Leaf>,
    /// Order among the tenant's rules (lower first); None = after the others.
    pub position: Option<i64>,
}

/// A validation error at a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path, e.g. `conditions.all[0].plugin`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// Whether a value had the wrong JSON type (a 400) rather than an invalid value (a 422).
    pub type_error: bool,
}

impl FieldError {
    /// An invalid value at `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            type_error: false,
        }
    }

    /// A key the shape does not have (a 400, like unknown keys in every other body).
    pub fn unknown_key(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            type_error: true,
        }
    }

    /// A value of the wrong JSON type at `field`.
    pub fn wrong_type(field: impl Into<String>, expected: &str, found: &Value) -> Self {
        FieldError {
            field: field.into(),
            message: format!("expected {expected}, found {}", kind_of(found)),
            type_error: true,
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, FieldError> {
    v.as_object()
        .ok_or_else(|| FieldError::wrong_type(field, "an object", v))
}

fn string(v: &Value, field: &str) -> Result<String, FieldError> {
    v.as_str()
        .map(str::to_owned)
        .ok_or_else(|| FieldError::wrong_type(field, "a string", v))
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Most condition leaves in one rule (each is a sandboxed call per event, and a line of its run
/// record).
pub const MAX_LEAVES: usize = 100;
/// Deepest nesting of ALL / ANY / NOT groups.
pub const MAX_DEPTH: usize = 8;
/// Most actions in one rule.
pub const MAX_ACTIONS: usize = 20;

impl Condition {
    /// Parse a condition node at `path`.
    pub fn parse(v: &Value, path: &str) -> Result<Condition, FieldError> {
        Condition::parse_at(v, path, 0)
    }

    fn parse_at(v: &Value, path: &str, depth: usize) -> Result<Condition, FieldError> {
        let map = object(v, path)?;
        if map.contains_key("plugin") {
            return Ok(Condition::Leaf(Leaf::parse(v, path)?));
        }
        if map.len() != 1 {
            return Err(FieldError::new(
                path,
                "a condition is {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or {\"plugin\": …, \"config\": {...}}",
            ));
        }
        let (key, inner) = map.iter().next().expect("one key");
        let here = join(path, key);
        if depth >= MAX_DEPTH && ["all", "any", "not"].contains(&key.as_str()) {
            return Err(FieldError::new(
                &here,
                format!("groups nest at most {MAX_DEPTH} deep (ALL / ANY / NOT)"),
            ));
        }
        match key.as_str() {
            "all" | "any" => {
                let items = inner
                    .as_array()
                    .ok_or_else(|| FieldError::wrong_type(&here, "an array", inner))?;
                let children = items
                    .iter()
                    .enumerate()
                    .map(|(i, c)| Condition::parse_at(c, &format!("{here}[{i}]"), depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if key == "all" {
                    Condition::All(children)
                } else {
                    Condition::Any(children)
                })
            }
            "not" => Ok(Condition::Not(Box::new(Condition::parse_at(
                inner,
                &here,
                depth + 1,
            )?))),
            other => Err(FieldError::unknown_key(
                &here,
                format!("unknown key `{other}`; use all, any, not or plugin"),
            )),
        }
    }

    /// Back to the JSON shape.
    pub fn to_json(&self) -> Value {
        match self {
            Condition::All(c) => {
                serde_json::json!({"all": c.iter().map(Condition::to_json).collect::<Vec<_>>()})
            }
            Condition::Any(c) => {
                serde_json::json!({"any": c.iter().map(Condition::to_json).collect::<Vec<_>>()})
            }
            Condition::Not(c) => serde_json::json!({"not": c.to_json()}),
            Condition::Leaf(l) => serde_json::json!({"plugin": l.plugin, "config": l.config}),
        }
    }

    /// Every leaf with its JSON path, in evaluation order.
    pub fn leaves(&self, path: &str, out: &mut Vec<(String, Leaf)>) {
        match self {
            Condition::All(c) | Condition::Any(c) => {
                let key = if matches!(self, Condition::All(_)) {
                    "all"
                } else {
                    "any"
                };
                for (i, child) in c.iter().enumerate() {
                    child.leaves(&format!("{}[{i}]", join(path, key)), out);
                }
            }
            Condition::Not(c) => c.leaves(&join(path, "not"), out),
            Condition::Leaf(l) => out.push((path.to_owned(), l.clone())),
        }
    }
}

impl Leaf {
    /// Parse `{"plugin": "name", "config": {...}}` at `path`.
    pub fn parse(v: &Value, path: &str) -> Result<Leaf, FieldError> {
        let map = object(v, path)?;
        for key in map.keys() {
            if key != "plugin" && key != "config" {
                return Err(FieldError::unknown_key(
                    join(path, key),
                    format!("unknown key `{key}`; a plugin use has `plugin` and `config`"),
                ));
            }
        }
        let plugin = string(
            map.get("plugin").unwrap_or(&Value::Null),
            &join(path, "plugin"),
        )?;
        if plugin.trim().is_empty() {
            return Err(FieldError::new(join(path, "plugin"), "name a plugin"));
        }
        let config = map
            .get("config")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        object(&config, &join(path, "config"))?;
        Ok(Leaf { plugin, config })
    }
}

/// A directory object (agent or inbox) a built-in plugin's config names.
#[derive(Debug, Clone)]
pub struct Named {
    /// Where, e.g. `actions[0].config.agent`.
    pub field: String,
    /// The value written there.
    pub value: Value,
    /// `agent` or `inbox`.
    pub kind: &'static str,
}

impl Named {
    /// The id, written as a number or a string of digits.
    pub fn id(&self) -> Option<i64> {
        self.value
            .as_i64()
            .or_else(|| self.value.as_str().and_then(|t| t.trim().parse().ok()))
    }
}

impl RuleSpec {
    /// The agents and inboxes the built-in plugins' configs name (`assign-agent`, `notify-user`,
    /// `assignee`, `inbox`).
    pub fn directory_names(&self) -> Vec<Named> {
        let mut leaves = Vec::new();
        self.conditions.leaves("conditions", &mut leaves);
        for (i, action) in self.actions.iter().enumerate() {
            leaves.push((format!("actions[{i}]"), action.clone()));
        }
        let mut named = Vec::new();
        for (path, leaf) in &leaves {
            let config = &leaf.config;
            let one = |key: &str, kind| Named {
                field: format!("{path}.config.{key}"),
                value: config[key].clone(),
                kind,
            };
            match leaf.plugin.as_str() {
                "assign-agent" => named.push(one("agent", "agent")),
                "notify-user" if config["user"] != "assignee" => named.push(one("user", "agent")),
                "assignee" | "inbox" => {
                    let kind = if leaf.plugin == "inbox" {
                        "inbox"
                    } else {
                        "agent"
                    };
                    for (j, v) in config["is"].as_array().into_iter().flatten().enumerate() {
                        named.push(Named {
                            field: format!("{path}.config.is[{j}]"),
                            value: v.clone(),
                            kind,
                        });
                    }
                }
                _ => {}
            }
        }
        named
    }

    /// Parse and check a rule from its JSON body.
    pub fn parse(v: &Value) -> Result<RuleSpec, FieldError> {
        let map = object(v, "")?;
        const KEYS: &[&str] = &[
            "name",
            "description",
            "enabled",
            "trigger",
            "conditions",
            "actions",
            "position",
        ];
        for key in map.keys() {
            if !KEYS.contains(&key.as_str()) {
                return Err(FieldError::unknown_key(
                    key,
                    format!("unknown key `{key}`; a rule has {}", KEYS.join(", ")),
                ));
            }
        }
        let name = string(map.get("name").unwrap_or(&Value::Null), "name")?;
        if name.trim().is_empty() || name.len() > 200 {
            return Err(FieldError::new(
                "name",
                "give a name of 1 to 200 characters",
            ));
        }
        let description = match map.get("description") {
            None | Some(Value::Null) => String::new(),
            Some(d) => string(d, "description")?,
        };
        if description.chars().count() > 2000 {
            return Err(FieldError::new(
                "description",
                "give a description of at most 2000 characters",
            ));
        }
        let enabled = match map.get("enabled") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(FieldError::wrong_type("enabled", "a boolean", other)),
        };
        let trigger = parse_trigger(map.get("trigger").unwrap_or(&Value::Null))?;
        let conditions = match map.get("conditions") {
            None | Some(Value::Null) => Condition::All(Vec::new()),
            Some(c) => Condition::parse(c, "conditions")?,
        };
        let mut leaves = Vec::new();
        conditions.leaves("conditions", &mut leaves);
        if leaves.len() > MAX_LEAVES {
            return Err(FieldError::new(
                "conditions",
                format!(
                    "a rule has at most {MAX_LEAVES} conditions; this one has {}",
                    leaves.len()
                ),
            ));
        }
        let actions_value = map.get("actions").unwrap_or(&Value::Null);
        let actions = actions_value
            .as_array()
            .ok_or_else(|| FieldError::wrong_type("actions", "an array of actions", actions_value))?
            .iter()
            .enumerate()
            .map(|(i, a)| Leaf::parse(a, &format!("actions[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        if actions.is_empty() {
            return Err(FieldError::new(
                "actions",
                "a rule needs at least one action",
            ));
        }
        if actions.len() > MAX_ACTIONS {
            return Err(FieldError::new(
                "actions",
                format!(
                    "a rule has at most {MAX_ACTIONS} actions; this one has {}",
                    actions.len()
                ),
            ));
        }
        let position = match map.get("position") {
            None | Some(Value::Null) => None,
            Some(p) => Some(
                p.as_i64()
                    .ok_or_else(|| FieldError::wrong_type("position", "an integer", p))?,
            ),
        };
        Ok(RuleSpec {
            name: name.trim().to_owned(),
            description,
            enabled,
            trigger,
            conditions,
            actions,
            position,
        })
    }

    /// Back to the JSON shape.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "trigger": self.trigger,
            "conditions": self.conditions.to_json(),
            "actions": self.actions,
        })
    }

    /// Whether the rule listens to this event kind.
    pub fn listens_to(&self, kind: &str) -> bool {
        matches!(&self.trigger, Trigger::Events(kinds) if kinds.iter().any(|k| k == kind))
    }
}

fn parse_trigger(v: &Value) -> Result<Trigger, FieldError> {
    let map = object(v, "trigger")?;
    match (map.get("events"), map.get("time")) {
        (Some(events), None) if map.len() == 1 => {
            let list = events
                .as_array()
                .ok_or_else(|| FieldError::wrong_type("trigger.events", "an array", events))?;
            if list.is_empty() {
                return Err(FieldError::new("trigger.events", "list at least one event"));
            }
            let mut kinds = Vec::new();
            for (i, e) in list.iter().enumerate() {
                let field = format!("trigger.events[{i}]");
                let kind = string(e, &field)?;
                if !EVENT_KINDS.contains(&kind.as_str()) {
                    return Err(FieldError::new(
                        field,
                        format!(
                            "unknown event `{kind}`; events are {}",
                            EVENT_KINDS.join(", ")
                        ),
                    ));
                }
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            Ok(Trigger::Events(kinds))
        }
        (None, Some(time)) if map.len() == 1 => {
            let options = object(time, "trigger.time")?;
            // No options yet; refusing unknown ones keeps room to add them later.
            if let Some(key) = options.keys().next() {
                return Err(FieldError::new(
                    format!("trigger.time.{key}"),
                    "a time trigger takes no options yet: write {\"time\": {}}; the conditions say when",
                ));
            }
            Ok(Trigger::Time(options.clone()))
        }
        _ => Err(FieldError::new(
            "trigger",
            "give {\"events\": [...]} or {\"time\": {}}",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(conditions: Value) -> Value {
        json!({"name": "r", "trigger": {"events": ["ticket_created"]}, "conditions": conditions,
               "actions": [{"plugin": "set-status", "config": {"status": "open"}}]})
    }

    #[test]
    fn parses_the_design_example() {
        let v = json!({
            "name": "Customer silent for 36 h", "description": "Thulium's example", "enabled": true,
            "trigger": {"time": {}},
            "conditions": {"all": [
                {"plugin": "status", "config": {"is": ["waiting-for-customer"]}},
                {"not": {"plugin": "source", "config": {"is": ["allegro-discussions"]}}},
                {"any": [{"plugin": "tag", "config": {"is": ["vip"]}}, {"plugin": "priority", "config": {"is": ["high"]}}]}
            ]},
            "actions": [{"plugin": "set-status", "config": {"status": "new"}}, {"plugin": "add-tags", "config": {"tags": ["decision"]}}]
        });
        let r = RuleSpec::parse(&v).unwrap();
        assert_eq!(r.trigger, Trigger::Time(Map::new()));
        let mut leaves = Vec::new();
        r.conditions.leaves("conditions", &mut leaves);
        let paths: Vec<&str> = leaves.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "conditions.all[0]",
                "conditions.all[1].not",
                "conditions.all[2].any[0]",
                "conditions.all[2].any[1]"
            ]
        );
        assert_eq!(
            RuleSpec::parse(&r.to_json()).unwrap().conditions,
            r.conditions,
            "round trip"
        );
    }

    #[test]
    fn errors_name_the_exact_place() {
        let cases = [
            (
                rule(json!({"all": [{"plugin": "source"}, {"nope": []}]})),
                "conditions.all[1].nope",
            ),
            (
                rule(json!({"all": [{"not": {"plugin": 5}}]})),
                "conditions.all[0].not.plugin",
            ),
            (rule(json!({"any": {}})), "conditions.any"),
            (
                rule(json!({"all": [{"plugin": "source", "config": []}]})),
                "conditions.all[0].config",
            ),
            (
                json!({"name": "r", "trigger": {"events": ["ticket_updated"]}, "actions": [{"plugin": "x"}]}),
                "trigger.events[0]",
            ),
            (
                json!({"name": "r", "trigger": {"events": ["ticket_created"]}, "actions": []}),
                "actions",
            ),
            (
                json!({"name": "", "trigger": {"time": {}}, "actions": [{"plugin": "x"}]}),
                "name",
            ),
            (
                json!({"name": "r", "trigger": {"time": {}}, "actions": [{"plugin": "x", "cfg": {}}]}),
                "actions[0].cfg",
            ),
            (
                json!({"name": "r", "trigger": {"time": {}}, "actions": [{"plugin": "x"}], "enabled": "yes"}),
                "enabled",
            ),
            (
                json!({"name": "r", "trigger": {}, "actions": [{"plugin": "x"}]}),
                "trigger",
            ),
        ];
        for (body, field) in cases {
            let e = RuleSpec::parse(&body).unwrap_err();
            assert_eq!(e.field, field, "{body}: {}", e.message);
        }
    }

    #[test]
    fn missing_conditions_mean_always_and_duplicates_collapse() {
        let v = json!({"name": "r", "trigger": {"events": ["tag_added", "tag_added"]}, "actions": [{"plugin": "x"}]});
        let r = RuleSpec::parse(&v).unwrap();
        assert_eq!(r.conditions, Condition::All(vec![]));
        assert_eq!(r.trigger, Trigger::Events(vec!["tag_added".into()]));
        assert_eq!(r.actions[0].config, json!({}));
    }
}
