//! Parsing configs with errors that name the wrong part, and their JSON Schema.

use ferrule_types::PluginError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;

/// Parse a config from JSON text. The error names the JSON path of the wrong value
/// (`phrases[1]`) and says what was expected.
pub fn parse<T: DeserializeOwned>(json: &str) -> Result<T, PluginError> {
    // Configs were validated when the rule was saved, so the fast parse nearly always succeeds;
    // only a failure pays for tracking the path.
    if let Ok(config) = serde_json::from_str(json) {
        return Ok(config);
    }
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let message = e.inner().to_string();
        // serde_json appends " at line 1 column 17"; the path already says where.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        PluginError::invalid_config(path, message)
    })
}

/// The JSON Schema of a config type.
pub fn schema<T: JsonSchema>() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Phrases {
        phrases: Vec<String>,
    }

    #[test]
    fn errors_name_the_path_of_the_wrong_value() {
        let e = parse::<Phrases>(r#"{"phrases": ["a", 3]}"#).unwrap_err();
        let PluginError::InvalidConfig { path, message } = e else {
            panic!()
        };
        assert_eq!(path, "phrases[1]");
        assert!(message.contains("expected a string"), "{message}");
    }

    #[test]
    fn unknown_keys_and_missing_keys_are_errors() {
        let e = parse::<Phrases>(r#"{"phrase": ["a"]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `phrase`"), "{e}");
        let e = parse::<Phrases>("{}").unwrap_err();
        assert!(e.to_string().contains("missing field `phrases`"), "{e}");
    }

    #[test]
    fn schema_lists_the_fields() {
        let s = schema::<Phrases>();
        assert!(s["properties"]["phrases"].is_object(), "{s}");
    }
}
