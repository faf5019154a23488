//! The parameters a tool takes, as `parabench serve` lists them in each tool's input
//! schema: declared in `[tools.NAME.params]`, or else those the scenario's calls pass.
//!
//! MCP clients build their tool bindings from the listed schema: some fail on a schema
//! without `properties` (smolagents' adapter), and some refuse to send an argument the
//! schema does not declare, so every tool lists its parameters.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A parameter's JSON Schema type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamType {
    /// `"string"`.
    String,
    /// `"integer"`.
    Integer,
    /// `"number"`.
    Number,
    /// `"boolean"`.
    Boolean,
    /// `"array"`.
    Array,
    /// `"object"`.
    Object,
}

impl ParamType {
    /// Every type, by its JSON Schema name.
    pub const ALL: [ParamType; 6] = [
        ParamType::String,
        ParamType::Integer,
        ParamType::Number,
        ParamType::Boolean,
        ParamType::Array,
        ParamType::Object,
    ];

    /// Its JSON Schema name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array => "array",
            ParamType::Object => "object",
        }
    }

    /// The type named `name` in JSON Schema.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The type of a value a call passes (a date or time is sent as a string).
    pub fn of(value: &toml::Value) -> Self {
        match value {
            toml::Value::String(_) | toml::Value::Datetime(_) => ParamType::String,
            toml::Value::Integer(_) => ParamType::Integer,
            toml::Value::Float(_) => ParamType::Number,
            toml::Value::Boolean(_) => ParamType::Boolean,
            toml::Value::Array(_) => ParamType::Array,
            toml::Value::Table(_) => ParamType::Object,
        }
    }
}

/// One tool's parameters, by name. A parameter with no type (`None`) was passed as
/// values of different types, and takes any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolParams {
    /// Whether they were declared (`[tools.NAME.params]`) rather than seen in calls.
    pub declared: bool,
    /// The parameters.
    pub params: BTreeMap<String, Option<ParamType>>,
}

impl ToolParams {
    /// Adds the parameters of one call's `params`, widening a parameter seen with another
    /// type before: integer and number make number, anything else makes any type.
    pub fn observe(&mut self, params: &toml::Table) {
        for (name, value) in params {
            let seen = ParamType::of(value);
            self.params
                .entry(name.clone())
                .and_modify(|t| {
                    *t = match (*t, seen) {
                        (Some(a), b) if a == b => Some(a),
                        (Some(ParamType::Integer | ParamType::Number), ParamType::Integer | ParamType::Number) => {
                            Some(ParamType::Number)
                        }
                        _ => None,
                    };
                })
                .or_insert(Some(seen));
        }
    }

    /// The JSON Schema of the tool's input: an object whose `properties` (always present)
    /// are the parameters; other properties are accepted too.
    ///
    /// ```
    /// use parabench::scenario::{ParamType, ToolParams};
    /// use serde_json::json;
    ///
    /// let mut params = ToolParams::default();
    /// params.params.insert("query".into(), Some(ParamType::String));
    /// let schema = serde_json::Value::Object(params.input_schema());
    /// assert_eq!(
    ///     schema,
    ///     json!({ "type": "object", "properties": { "query": { "type": "string" } }, "additionalProperties": true })
    /// );
    /// ```
    pub fn input_schema(&self) -> Map<String, Value> {
        let properties: Map<String, Value> = self
            .params
            .iter()
            .map(|(name, t)| {
                let mut property = Map::new();
                if let Some(t) = t {
                    property.insert("type".into(), Value::from(t.as_str()));
                }
                (name.clone(), Value::Object(property))
            })
            .collect();
        let mut schema = Map::new();
        schema.insert("type".into(), Value::from("object"));
        schema.insert("properties".into(), Value::Object(properties));
        schema.insert("additionalProperties".into(), Value::Bool(true));
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_seen_in_calls_widen_to_what_every_call_passed() {
        let mut params = ToolParams::default();
        let table = |text: &str| -> toml::Table { toml::from_str(text).unwrap() };
        params.observe(&table("q = \"a\"\nn = 1\nflag = true\nwhen = 1979-05-27"));
        params.observe(&table("q = \"b\"\nn = 2.5\nflag = \"yes\"\nlist = [1]"));
        let types: Vec<(&str, Option<&str>)> = params
            .params
            .iter()
            .map(|(k, t)| (k.as_str(), t.map(ParamType::as_str)))
            .collect();
        assert_eq!(
            types,
            [
                ("flag", None),
                ("list", Some("array")),
                ("n", Some("number")),
                ("q", Some("string")),
                ("when", Some("string")),
            ]
        );
        let schema = Value::Object(params.input_schema());
        assert_eq!(schema["properties"]["flag"], serde_json::json!({}));
        assert_eq!(schema["properties"]["n"]["type"], "number");
    }

    #[test]
    fn a_tool_without_parameters_still_lists_properties() {
        let schema = ToolParams::default().input_schema();
        assert_eq!(schema["properties"], serde_json::json!({}));
        assert!(ParamType::ALL.iter().all(|&t| ParamType::parse(t.as_str()) == Some(t)));
        assert_eq!(ParamType::parse("str"), None);
    }
}
