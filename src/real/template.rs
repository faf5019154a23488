//! What flows between real calls: `${ID.FIELD}` in a call's params replaced by the result
//! of the call it names, and `${env.NAME}` in a header by the environment's value.
//!
//! `${ID.result}` is the result's whole text (an MCP result's text content, an HTTP
//! response's body). Any other field reads that text as a JSON object: a string value
//! goes in as it is, any other value as its JSON.

use serde_json::Value;

use super::RealError;

/// Replaces every `${ID.FIELD}` in the strings of `params` (however deeply nested) with
/// the result `result_of(ID)` gives, `None` for an id that is not a dependency (left as
/// it is: text such as `${HOME}` is no reference).
///
/// # Errors
///
/// [`RealError::Params`] when a referenced result has no such field.
pub fn resolve(params: &Value, result_of: &dyn Fn(&str) -> Option<String>) -> Result<Value, RealError> {
    Ok(match params {
        Value::String(s) => Value::String(resolve_str(s, result_of)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, result_of)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), resolve(v, result_of)?)))
                .collect::<Result<_, RealError>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_str(text: &str, result_of: &dyn Fn(&str) -> Option<String>) -> Result<String, RealError> {
    substitute(text, "${", |inner| reference(inner, result_of))
}

/// `text` with every `OPEN...}` replaced by what `value` gives for the text between them
/// (`None`: left as it was).
fn substitute<E>(
    text: &str,
    open: &str,
    mut value: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<String, E> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        let after = &rest[start + open.len()..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        match value(inner)? {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[start..start + open.len() + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of `ID.FIELD` (the longest id with a result wins, as ids may hold dots).
fn reference(inner: &str, result_of: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, RealError> {
    let dots = inner.match_indices('.').map(|(i, _)| i).rev();
    for dot in dots {
        let (id, field) = (&inner[..dot], &inner[dot + 1..]);
        if field.is_empty() {
            continue;
        }
        let Some(result) = result_of(id) else { continue };
        if field == "result" {
            return Ok(Some(result));
        }
        let object: Option<serde_json::Map<String, Value>> = serde_json::from_str(&result).ok();
        return match object.as_ref().and_then(|o| o.get(field)) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Ok(Some(other.to_string())),
            None => Err(RealError::Params(format!(
                "${{{inner}}}: the result of {id} has no field `{field}` (it is not a JSON object with it; \
                 `${{{id}.result}}` is its whole text)"
            ))),
        };
    }
    Ok(None)
}

/// Replaces `${env.NAME}` in `value` with the environment variable NAME.
///
/// # Errors
///
/// The name of a variable that is not set.
pub fn with_env(value: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    substitute(value, "${env.", |name| {
        env(name).map(Some).ok_or_else(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn results(id: &str) -> Option<String> {
        match id {
            "s1" => Some("rust async".into()),
            "page.v2" => Some(r#"{"title": "Tokio", "words": 42}"#.into()),
            _ => None,
        }
    }

    #[test]
    fn references_are_replaced_by_the_results_they_name_however_deep() {
        let params = json!({
            "q": "${s1.result}",
            "deep": [{ "title": "about ${page.v2.title}", "n": "${page.v2.words}" }],
            "home": "${HOME} and ${other.result}",
            "n": 3
        });
        let resolved = resolve(&params, &results).unwrap();
        assert_eq!(
            resolved,
            json!({
                "q": "rust async",
                "deep": [{ "title": "about Tokio", "n": "42" }],
                "home": "${HOME} and ${other.result}",
                "n": 3
            })
        );
        let err = resolve(&json!("${s1.title}"), &results).unwrap_err();
        assert!(
            err.to_string().contains("the result of s1 has no field `title`"),
            "{err}"
        );
    }

    #[test]
    fn environment_variables_fill_headers_and_a_missing_one_is_named() {
        let env = |name: &str| (name == "TOKEN").then(|| "s3cret".to_string());
        assert_eq!(with_env("Bearer ${env.TOKEN}", &env).unwrap(), "Bearer s3cret");
        assert_eq!(with_env("plain", &env).unwrap(), "plain");
        assert_eq!(with_env("${env.NOPE}", &env).unwrap_err(), "NOPE");
    }
}
