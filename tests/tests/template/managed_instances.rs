//! template-managed-instances.yaml: template.yaml but for where the
//! functions run, with what Lambda Managed Instances require.

use employee_api_tests::template::{functions, is_ref, resources, strings_in, template};
use employee_api_tests::workspace_root;
use serde_yaml_ng::Value;

fn managed_instances_template() -> Value {
    let text =
        std::fs::read_to_string(workspace_root().join("template-managed-instances.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("template-managed-instances.yaml is YAML")
}

/// `section` of both templates, without the keys in `only_in_managed`
/// (which must be in the Managed Instances template's section and not in
/// template.yaml's).
fn section_without(
    name: &str,
    only_in_managed: &[&str],
) -> (serde_yaml_ng::Mapping, serde_yaml_ng::Mapping) {
    let main = template()[name].as_mapping().cloned().unwrap_or_default();
    let mut managed = managed_instances_template()[name].as_mapping().cloned().unwrap_or_default();
    for key in only_in_managed {
        assert!(
            managed.remove(*key).is_some(),
            "{name}.{key} is missing from the managed template"
        );
        assert!(!main.contains_key(*key), "{name}.{key} is in template.yaml too");
    }
    (main, managed)
}

/// The Managed Instances template is template.yaml with the functions moved
/// onto a capacity provider: every parameter, condition, rule, output and
/// resource of template.yaml is in it unchanged, and the functions differ
/// only in where they run. After a change to template.yaml, rewrite it with
/// `python3 scripts/managed-instances-template.py`.
#[test]
fn the_managed_instances_template_is_the_main_one_but_where_the_functions_run() {
    let new_parameters = [
        "ManagedInstancesSubnetIds",
        "ManagedInstancesSecurityGroupIds",
        "PerExecutionEnvironmentMaxConcurrency",
        "ManagedInstancesMaxVCpuCount",
    ];
    let (main, managed) = section_without("Parameters", &new_parameters);
    assert_eq!(main, managed, "Parameters");
    for name in ["Conditions", "Rules", "Outputs"] {
        let (main, managed) = section_without(name, &[]);
        assert_eq!(main, managed, "{name}");
    }
    let globals = |t: &Value| t["Globals"]["Function"].as_mapping().cloned().unwrap();
    let mut managed_globals = globals(&managed_instances_template());
    for key in ["AutoPublishAlias", "CapacityProviderConfig"] {
        assert!(managed_globals.remove(key).is_some(), "Globals.Function.{key}");
    }
    managed_globals.insert("MemorySize".into(), 128.into());
    assert_eq!(globals(&template()), managed_globals, "Globals.Function");

    let (main, managed) = section_without("Resources", &["ManagedInstances"]);
    assert_eq!(main.len(), managed.len());
    for (id, resource) in &main {
        let mut counterpart = managed[id].clone();
        if resource["Type"] == "AWS::Serverless::Function" {
            // Only the reason for running in a VPC differs.
            let skips = |r: &mut Value| {
                r["Metadata"]["checkov"]["skip"].as_sequence_mut().map(std::mem::take)
            };
            let mut main_function = resource.clone();
            let (a, b) = (skips(&mut main_function).unwrap(), skips(&mut counterpart).unwrap());
            let ids = |s: &[Value]| s.iter().map(|skip| skip["id"].clone()).collect::<Vec<_>>();
            assert_eq!(ids(&a), ids(&b), "{id:?}: checkov skips");
            assert_eq!(main_function, counterpart, "{id:?}");
        } else {
            assert_eq!(resource, &counterpart, "{id:?}");
        }
    }
}

/// What Lambda Managed Instances require of a function, and what this
/// project sets: 2 GB or more, published versions, JSON logs, the capacity
/// provider with the concurrency that becomes AWS_LAMBDA_MAX_CONCURRENCY,
/// and instances of the functions' architecture in the user's subnets.
#[test]
fn managed_instances_run_published_versions_with_2_gb_json_logs_and_the_set_concurrency() {
    let template = managed_instances_template();
    let globals = &template["Globals"]["Function"];
    assert!(
        globals["MemorySize"].as_u64().is_some_and(|m| m >= 2048),
        "{:?}",
        globals["MemorySize"]
    );
    assert_eq!(globals["AutoPublishAlias"], "live");
    let config = &globals["CapacityProviderConfig"];
    assert!(is_ref(
        &config["PerExecutionEnvironmentMaxConcurrency"],
        "PerExecutionEnvironmentMaxConcurrency"
    ));
    let mut arn = Vec::new();
    strings_in(&config["Arn"], &mut arn);
    assert!(arn.iter().any(|s| s.contains(":capacity-provider:${ManagedInstances}")), "{arn:?}");
    for (id, function) in functions(&template) {
        assert_eq!(function["Properties"]["LoggingConfig"]["LogFormat"], "JSON", "{id}");
        assert!(function["Properties"].get("VpcConfig").is_none(), "{id}");
    }
    let provider = &resources(&template)["ManagedInstances"];
    assert_eq!(provider["Type"], "AWS::Serverless::CapacityProvider");
    let properties = &provider["Properties"];
    assert!(is_ref(&properties["VpcConfig"]["SubnetIds"], "ManagedInstancesSubnetIds"));
    assert!(is_ref(
        &properties["VpcConfig"]["SecurityGroupIds"],
        "ManagedInstancesSecurityGroupIds"
    ));
    assert!(is_ref(&properties["InstanceRequirements"]["Architectures"][0], "Architecture"));
    assert!(is_ref(&properties["ScalingConfig"]["MaxVCpuCount"], "ManagedInstancesMaxVCpuCount"));
}
