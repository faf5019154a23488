//! `[tools.NAME.params]`: each tool's declared parameters, checked, or else the
//! parameters its calls pass.

use crate::scenario::error::{SourceMap, quoted};
use crate::scenario::model::ScenarioFile;
use crate::scenario::params::{ParamType, ToolParams};

use super::Result;

/// Each tool's parameters, in the order of its `[tools.NAME]` table.
pub(super) fn tool_params(file: &ScenarioFile, map: &SourceMap) -> Result<Vec<ToolParams>> {
    let tools = &file.tools.0;
    let mut out = Vec::with_capacity(tools.len());
    for (name, table) in tools {
        let Some(declared) = &table.params else {
            out.push(ToolParams::default());
            continue;
        };
        let mut params = ToolParams {
            declared: true,
            ..ToolParams::default()
        };
        for (param, type_name) in declared.get_ref() {
            let Some(t) = ParamType::parse(type_name.get_ref()) else {
                let names: Vec<&str> = ParamType::ALL.iter().map(|t| t.as_str()).collect();
                return Err(map.error(
                    type_name.span(),
                    format!(
                        "parameter {} of tool {} has the type {}, which JSON Schema does not have (expected one of: {})",
                        quoted(param),
                        quoted(name.get_ref()),
                        quoted(type_name.get_ref()),
                        names.join(", ")
                    ),
                    "expected a JSON Schema type",
                ));
            };
            params.params.insert(param.clone(), Some(t));
        }
        out.push(params);
    }
    // A tool without a declaration takes what its calls pass.
    let index = |tool: &str| tools.iter().position(|(name, _)| name.get_ref() == tool);
    let passed = file
        .calls
        .iter()
        .map(|c| (c.get_ref().tool.as_ref(), c.get_ref().params.as_ref()))
        .chain(
            file.generate
                .iter()
                .map(|g| (g.get_ref().tool.as_ref(), g.get_ref().params.as_ref())),
        );
    for (tool, params) in passed {
        let (Some(tool), Some(params)) = (tool, params) else {
            continue;
        };
        // An unknown tool is the plan's error to report, at the call.
        if let Some(t) = index(tool.get_ref()).filter(|&t| !out[t].declared) {
            out[t].observe(params.get_ref());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::{ParamType, parse};

    const TOOLS: &str = "name = \"p\"\n\
        [tools.search]\nlatency = { dist = \"constant\", value = \"1ms\" }\n\
        [tools.db]\nlatency = { dist = \"constant\", value = \"1ms\" }\n\
        [tools.db.params]\nsql = \"string\"\nlimit = \"integer\"\n\
        [tools.idle]\nlatency = { dist = \"constant\", value = \"1ms\" }\n";

    #[test]
    fn declared_parameters_win_and_the_others_come_from_the_calls() {
        let text = format!(
            "{TOOLS}[[calls]]\nid = \"s\"\ntool = \"search\"\nparams = {{ query = \"x\" }}\n\
             [[calls]]\nid = \"d\"\ntool = \"db\"\nparams = {{ other = 1 }}\n\
             [[generate]]\ntool = \"search\"\ncount = 2\nid_prefix = \"g\"\nparams = {{ page = 2 }}\n"
        );
        let scenario = parse(&text, Path::new("p.toml")).unwrap();
        let of = |t: usize| -> Vec<(String, Option<ParamType>)> {
            scenario.params[t].params.iter().map(|(k, v)| (k.clone(), *v)).collect()
        };
        assert_eq!(
            of(0),
            [
                ("page".to_string(), Some(ParamType::Integer)),
                ("query".to_string(), Some(ParamType::String))
            ]
        );
        assert!(!scenario.params[0].declared && scenario.params[1].declared);
        assert_eq!(
            of(1),
            [
                ("limit".to_string(), Some(ParamType::Integer)),
                ("sql".to_string(), Some(ParamType::String))
            ]
        );
        assert!(of(2).is_empty());
    }

    #[test]
    fn an_unknown_type_is_located_at_its_value() {
        let text = TOOLS.replace("limit = \"integer\"", "limit = \"int\"");
        let err = parse(
            &format!("{text}[[calls]]\nid = \"a\"\ntool = \"db\"\n"),
            Path::new("p.toml"),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "p.toml:8:9: parameter `limit` of tool `db` has the type `int`, which JSON Schema does not have \
                 (expected one of: string, integer, number, boolean, array, object)"
            ),
            "{err}"
        );
    }
}
