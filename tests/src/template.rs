//! template.yaml read as CloudFormation deploys it for given parameters:
//! parameter defaults and overrides, conditions, `Fn::If` and `AWS::NoValue`
//! (see [`Deployment`]), with helpers to find functions, routes and
//! intrinsics in either YAML form (`!If` tags or `{"Fn::If": ...}` mappings).

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

/// template.yaml, parsed.
pub fn template() -> Value {
    let text = std::fs::read_to_string(crate::workspace_root().join("template.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

/// The `Resources` section of a template.
pub fn resources(template: &Value) -> &serde_yaml_ng::Mapping {
    template["Resources"].as_mapping().expect("Resources")
}

/// `(logical id, resource)` of every `AWS::Serverless::Function`.
pub fn functions(template: &Value) -> Vec<(String, &Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r))
        .collect()
}

/// The cargo-lambda binary a function is built from.
pub fn binary_of(function: &Value) -> String {
    function["Metadata"]["BuildProperties"]["Binary"].as_str().expect("Binary").to_owned()
}

/// Strings anywhere inside a value (through `!If`, `!Sub` and other tags).
pub fn strings_in(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|v| strings_in(v, out)),
        Value::Mapping(map) => map.iter().for_each(|(k, v)| {
            strings_in(k, out);
            strings_in(v, out);
        }),
        Value::Tagged(tagged) => {
            out.push(tagged.tag.to_string());
            strings_in(&tagged.value, out);
        }
        _ => {}
    }
}

/// The name and arguments of an intrinsic function, in either YAML form:
/// `!If [...]` or `{"Fn::If": [...]}` (and `!Ref x` or `{"Ref": x}`).
pub fn intrinsic(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let name = tagged.tag.to_string();
            let name = name.trim_start_matches('!');
            Some((
                if name == "Ref" { name.to_owned() } else { format!("Fn::{name}") },
                &tagged.value,
            ))
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, arguments) = map.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key.starts_with("Fn::") || key == "Condition")
                .then(|| (key.to_owned(), arguments))
        }
        _ => None,
    }
}

/// Whether `value` is `!Ref <name>`.
pub fn is_ref(value: &Value, name: &str) -> bool {
    intrinsic(value).is_some_and(|(f, target)| f == "Ref" && target == name)
}

/// `Resource.Attribute` of a `!GetAtt`, in either form.
pub fn get_att(value: &Value) -> Option<String> {
    match intrinsic(value)? {
        (f, Value::String(dotted)) if f == "Fn::GetAtt" => Some(dotted.clone()),
        (f, Value::Sequence(parts)) if f == "Fn::GetAtt" => {
            Some(format!("{}.{}", parts.first()?.as_str()?, parts.get(1)?.as_str()?))
        }
        _ => None,
    }
}

/// A YAML value written inline (panics on invalid YAML).
pub fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

/// What CloudFormation knows when it deploys the template: the parameter
/// values (defaults, then overrides) and so the conditions.
pub struct Deployment<'a> {
    template: &'a Value,
    /// A string, or for a `CommaDelimitedList` the list of strings.
    parameters: BTreeMap<String, Value>,
}

impl<'a> Deployment<'a> {
    pub fn new(template: &'a Value, overrides: &[(&str, &str)]) -> Self {
        let declared = template["Parameters"].as_mapping().expect("Parameters");
        let mut parameters = BTreeMap::new();
        for (name, declaration) in declared {
            let name = name.as_str().unwrap();
            let given = overrides.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
            let text = given.unwrap_or_else(|| match &declaration["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("parameter {name} has no usable default: {other:?}"),
            });
            let value = if declaration["Type"] == "CommaDelimitedList" {
                Value::Sequence(text.split(',').map(|s| Value::String(s.to_owned())).collect())
            } else {
                Value::String(text)
            };
            parameters.insert(name.to_owned(), value);
        }
        for (name, _) in overrides {
            assert!(parameters.contains_key(*name), "no parameter {name}");
        }
        Deployment { template, parameters }
    }

    fn scalar(&self, value: &Value) -> String {
        match (value, intrinsic(value)) {
            (Value::String(s), _) => s.clone(),
            (Value::Number(n), _) => n.to_string(),
            (Value::Bool(b), _) => b.to_string(),
            (_, Some((f, Value::String(name)))) if f == "Ref" => self.parameters[name]
                .as_str()
                .unwrap_or_else(|| panic!("{name} is a list"))
                .to_owned(),
            (_, Some((f, Value::Sequence(args)))) if f == "Fn::Join" => {
                self.list(&args[1]).join(args[0].as_str().unwrap())
            }
            _ => panic!("cannot evaluate {value:?}"),
        }
    }

    fn list(&self, value: &Value) -> Vec<String> {
        match (value, intrinsic(value)) {
            (Value::Sequence(items), _) => items.iter().map(|i| self.scalar(i)).collect(),
            (_, Some((f, Value::String(name)))) if f == "Ref" => self.parameters[name]
                .as_sequence()
                .unwrap_or_else(|| panic!("{name} is not a list"))
                .iter()
                .map(|i| i.as_str().unwrap().to_owned())
                .collect(),
            _ => panic!("cannot evaluate {value:?} as a list"),
        }
    }

    /// A condition, a rule's condition or a rule's assertion.
    pub fn holds(&self, value: &Value) -> bool {
        let (f, args) = intrinsic(value).unwrap_or_else(|| panic!("not a condition: {value:?}"));
        let arg = |i: usize| &args.as_sequence().unwrap()[i];
        match f.as_str() {
            "Fn::Equals" => self.scalar(arg(0)) == self.scalar(arg(1)),
            "Fn::Not" => !self.holds(arg(0)),
            "Fn::And" => args.as_sequence().unwrap().iter().all(|c| self.holds(c)),
            "Fn::Or" => args.as_sequence().unwrap().iter().any(|c| self.holds(c)),
            "Fn::Contains" => self.list(arg(0)).contains(&self.scalar(arg(1))),
            "Condition" => self.condition(args.as_str().unwrap()),
            other => panic!("unsupported condition function {other}"),
        }
    }

    fn condition(&self, name: &str) -> bool {
        let condition = &self.template["Conditions"][name];
        assert!(!condition.is_null(), "no condition {name}");
        self.holds(condition)
    }

    /// `value` with every `Fn::If` chosen and every `AWS::NoValue` removed;
    /// `None` when the whole value is `AWS::NoValue`.
    fn resolve(&self, value: &Value) -> Option<Value> {
        if is_ref(value, "AWS::NoValue") {
            return None;
        }
        if let Some((f, args)) = intrinsic(value)
            && f == "Fn::If"
        {
            let args = args.as_sequence().unwrap();
            let branch =
                if self.condition(args[0].as_str().unwrap()) { &args[1] } else { &args[2] };
            return self.resolve(branch);
        }
        Some(match value {
            Value::Sequence(items) => items.iter().filter_map(|i| self.resolve(i)).collect(),
            Value::Mapping(map) => Value::Mapping(
                map.iter().filter_map(|(k, v)| Some((k.clone(), self.resolve(v)?))).collect(),
            ),
            Value::Tagged(tagged) => Value::Tagged(Box::new(serde_yaml_ng::value::TaggedValue {
                tag: tagged.tag.clone(),
                value: self.resolve(&tagged.value)?,
            })),
            other => other.clone(),
        })
    }

    /// The resources CloudFormation creates, as it sees them.
    pub fn resources(&self) -> serde_yaml_ng::Mapping {
        resources(self.template)
            .iter()
            .filter(|(_, r)| r["Condition"].as_str().is_none_or(|c| self.condition(c)))
            .map(|(id, r)| (id.clone(), self.resolve(r).unwrap()))
            .collect()
    }
}

/// `(METHOD, path, event)` of every HttpApi event of every function.
pub fn routes(template: &Value) -> Vec<(String, String, &Value)> {
    functions(template)
        .into_iter()
        .flat_map(|(_, function)| function["Properties"]["Events"].as_mapping().unwrap().values())
        .map(|event| {
            let properties = &event["Properties"];
            let method = properties["Method"].as_str().unwrap().to_uppercase();
            (method, properties["Path"].as_str().unwrap().to_owned(), event)
        })
        .collect()
}

/// The OpenAPI document of the deployed API.
pub fn api_definition(resources: &serde_yaml_ng::Mapping) -> &Value {
    let api = &resources["EmployeeApi"];
    assert_eq!(api["Type"], "AWS::Serverless::HttpApi");
    &api["Properties"]["DefinitionBody"]
}

/// The `security` requirement of one route in the deployed API.
pub fn security<'a>(definition: &'a Value, method: &str, path: &str) -> &'a Value {
    let operation = &definition["paths"][path][method.to_lowercase().as_str()];
    assert!(operation.is_mapping(), "{method} {path} is not in the API definition");
    &operation["security"]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Mode: {Type: String, Default: small}
  Origins: {Type: CommaDelimitedList, Default: ""}
Conditions:
  IsBig: !Equals [!Ref Mode, big]
  IsSmall: {"Fn::Not": [{Condition: IsBig}]}
Resources:
  Always:
    Type: AWS::SNS::Topic
    Properties:
      Size: !If [IsBig, large, tiny]
      Name: {"Fn::If": [IsSmall, small-topic, !Ref AWS::NoValue]}
      Tags: [!If [IsBig, !Ref AWS::NoValue, small-tag], kept]
  OnlyWhenBig:
    Type: AWS::SNS::Topic
    Condition: IsBig
"#;

    #[test]
    fn conditions_follow_the_default_unless_overridden() {
        let template = yaml(TEMPLATE);
        let default = Deployment::new(&template, &[]);
        assert!(!default.condition("IsBig"));
        assert!(default.condition("IsSmall"));
        let big = Deployment::new(&template, &[("Mode", "big")]);
        assert!(big.condition("IsBig"));
        assert!(!big.holds(&yaml("{Condition: IsSmall}")));
        assert!(big.holds(&yaml("!Contains [!Ref Origins, '']")));
    }

    #[test]
    fn if_chooses_a_branch_in_either_form_and_no_value_is_removed() {
        let template = yaml(TEMPLATE);
        let small = Deployment::new(&template, &[]).resources();
        assert_eq!(
            small["Always"]["Properties"],
            yaml("{Size: tiny, Name: small-topic, Tags: [small-tag, kept]}")
        );
        let big = Deployment::new(&template, &[("Mode", "big")]).resources();
        assert_eq!(big["Always"]["Properties"], yaml("{Size: large, Tags: [kept]}"));
    }

    #[test]
    fn a_resource_whose_condition_is_false_is_left_out() {
        let template = yaml(TEMPLATE);
        let ids = |overrides: &[(&str, &str)]| {
            let resources = Deployment::new(&template, overrides).resources();
            resources.keys().map(|k| k.as_str().unwrap().to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&[]), ["Always"]);
        assert_eq!(ids(&[("Mode", "big")]), ["Always", "OnlyWhenBig"]);
        assert_eq!(resources(&template).len(), 2);
    }
}
