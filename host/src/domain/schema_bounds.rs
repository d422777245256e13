//! The bounds a plugin publishes in its config's JSON Schema — `minimum`/`maximum` (and the
//! exclusive ones), `minLength`/`maxLength`, `minItems`/`maxItems`, `enum` — checked by the host
//! before the plugin's own `validate`, so what a form generated from the schema allows and what
//! the server accepts agree. Types, required fields and everything else stay the plugin's to
//! check; `$ref`s are followed into `$defs`, `anyOf`/`oneOf` branches are not judged.

use serde_json::Value;

/// The first bound `config` breaks: (path inside the config, what is wrong).
pub fn check(schema: &Value, config: &Value) -> Option<(String, String)> {
    walk(schema, schema, config, String::new(), 0)
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root["$defs"].get(name))
            .unwrap_or(schema),
        None => schema,
    }
}

/// The values a schema allows when it is a choice: `enum`, or `oneOf`/`anyOf` whose branches
/// are all `const`s or `enum`s (what schemars makes of a documented Rust enum), with `null`
/// when a branch is `{"type": "null"}` (an `Option`).
fn choices(root: &Value, schema: &Value) -> Option<Vec<Value>> {
    if let Some(options) = schema["enum"].as_array() {
        return Some(options.clone());
    }
    let branches = schema["oneOf"]
        .as_array()
        .or_else(|| schema["anyOf"].as_array())?;
    let mut out = Vec::new();
    for branch in branches {
        let branch = resolve(root, branch);
        if let Some(c) = branch.get("const") {
            out.push(c.clone());
        } else if let Some(options) = branch["enum"].as_array() {
            out.extend(options.iter().cloned());
        } else if branch["type"] == "null" {
            out.push(Value::Null);
        } else if let Some(nested) = choices(root, branch) {
            out.extend(nested);
        } else {
            return None;
        }
    }
    Some(out)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(
    root: &Value,
    schema: &Value,
    value: &Value,
    path: String,
    depth: usize,
) -> Option<(String, String)> {
    if depth > 16 {
        return None;
    }
    let schema = resolve(root, schema);
    if let Some(options) = choices(root, schema)
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(Value::to_string).collect();
        return Some((path, format!("must be one of {}", list.join(", "))));
    }
    if let Some(n) = value.as_f64() {
        let bound = |key: &str| schema[key].as_f64();
        if let Some(min) = bound("minimum")
            && n < min
        {
            return Some((path, format!("must be at least {min}, got {n}")));
        }
        if let Some(max) = bound("maximum")
            && n > max
        {
            return Some((path, format!("must be at most {max}, got {n}")));
        }
        if let Some(min) = bound("exclusiveMinimum")
            && n <= min
        {
            return Some((path, format!("must be more than {min}, got {n}")));
        }
        if let Some(max) = bound("exclusiveMaximum")
            && n >= max
        {
            return Some((path, format!("must be less than {max}, got {n}")));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if let Some(min) = schema["minLength"].as_u64()
            && chars < min
        {
            return Some((path, format!("must be at least {min} characters long")));
        }
        if let Some(max) = schema["maxLength"].as_u64()
            && chars > max
        {
            return Some((path, format!("must be at most {max} characters long")));
        }
    }
    if let Some(items) = value.as_array() {
        let n = items.len() as u64;
        if let Some(min) = schema["minItems"].as_u64()
            && n < min
        {
            return Some((path, format!("needs at least {min} items")));
        }
        if let Some(max) = schema["maxItems"].as_u64()
            && n > max
        {
            return Some((path, format!("takes at most {max} items")));
        }
        if schema["items"].is_object() {
            for (i, item) in items.iter().enumerate() {
                if let Some(e) = walk(
                    root,
                    &schema["items"],
                    item,
                    format!("{path}[{i}]"),
                    depth + 1,
                ) {
                    return Some(e);
                }
            }
        }
    }
    if let (Some(map), Some(props)) = (value.as_object(), schema["properties"].as_object()) {
        for (key, v) in map {
            if let Some(s) = props.get(key)
                && let Some(e) = walk(root, s, v, join(&path, key), depth + 1)
            {
                return Some(e);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "digits": {"type": "integer", "minimum": 1, "maximum": 20, "format": "uint32"},
                "ratio": {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                "name": {"type": "string", "minLength": 2, "maxLength": 5},
                "words": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": "string", "maxLength": 4}},
                "match": {"$ref": "#/$defs/Match"},
                "nested": {"type": "object", "properties": {"level": {"type": "integer", "maximum": 3}}},
            "choice": {"anyOf": [{"$ref": "#/$defs/Kind"}, {"type": "null"}]},
                "free": {"anyOf": [{"type": "string"}, {"type": "null"}]}
            },
            "$defs": {
                "Match": {"type": "string", "enum": ["any", "all"]},
                "Kind": {"oneOf": [{"const": "a", "type": "string"}, {"const": "b", "type": "string"}]}
            }
        })
    }

    #[test]
    fn every_kind_of_bound_is_checked_where_it_is_published() {
        let cases = [
            (json!({"digits": 0}), Some(("digits", "at least 1"))),
            (json!({"digits": 21}), Some(("digits", "at most 20"))),
            (json!({"digits": 20}), None),
            (json!({"ratio": 0}), Some(("ratio", "more than 0"))),
            (json!({"ratio": 1.0}), Some(("ratio", "less than 1"))),
            (json!({"ratio": null}), None),
            (json!({"name": "a"}), Some(("name", "at least 2"))),
            (json!({"name": "zażółć"}), Some(("name", "at most 5"))),
            (json!({"name": "żółć"}), None),
            (json!({"words": []}), Some(("words", "at least 1"))),
            (
                json!({"words": ["a", "b", "c", "d"]}),
                Some(("words", "at most 3")),
            ),
            (
                json!({"words": ["ok", "toolong"]}),
                Some(("words[1]", "at most 4")),
            ),
            (
                json!({"match": "sometimes"}),
                Some(("match", "one of \"any\", \"all\"")),
            ),
            (json!({"match": "all"}), None),
            (
                json!({"nested": {"level": 4}}),
                Some(("nested.level", "at most 3")),
            ),
            (
                json!({"choice": "c"}),
                Some(("choice", "one of \"a\", \"b\", null")),
            ),
            (json!({"choice": "b"}), None),
            (json!({"choice": null}), None),
            (json!({"free": "anything"}), None),
            (json!({"unknown": 99, "digits": "five"}), None),
        ];
        for (config, want) in cases {
            let got = check(&schema(), &config);
            match (want, got) {
                (None, None) => {}
                (Some((path, words)), Some((p, m))) => {
                    assert_eq!(p, path, "{config}");
                    assert!(m.contains(words), "{config}: {m}");
                }
                (want, got) => panic!("{config}: want {want:?}, got {got:?}"),
            }
        }
    }
}
