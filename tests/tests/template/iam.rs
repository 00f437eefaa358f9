//! Least-privilege IAM: the DynamoDB actions each function is granted.

use std::collections::{BTreeMap, BTreeSet};

use employee_api_tests::template::{binary_of, functions, strings_in, template};

#[test]
fn each_function_is_granted_only_the_dynamodb_actions_it_calls_on_its_own_tables() {
    // Per function and table. TransactWriteItems has no action of its own:
    // it is authorized by the actions inside it (UpdateItem, DeleteItem,
    // and PutItem on the idempotency table). Employees are written with
    // UpdateItem only, which leaves other writers' attributes in place.
    let expected: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::from([
        (
            "get-employee",
            BTreeSet::from([
                ("EmployeeTable", "dynamodb:GetItem"),
                ("EmployeeTable", "dynamodb:Query"),
                ("EmployeeTable", "dynamodb:Scan"),
            ]),
        ),
        (
            "add-employee",
            BTreeSet::from([
                ("EmployeeTable", "dynamodb:UpdateItem"),
                ("EmployeeTable", "dynamodb:GetItem"),
                ("IdempotencyTable", "dynamodb:PutItem"),
            ]),
        ),
        (
            "remove-employee",
            BTreeSet::from([
                ("EmployeeTable", "dynamodb:DeleteItem"),
                ("EmployeeTable", "dynamodb:GetItem"),
                ("IdempotencyTable", "dynamodb:PutItem"),
            ]),
        ),
    ]);
    let template = template();
    let functions = functions(&template);
    assert_eq!(functions.len(), 3);
    for (id, function) in functions {
        let binary = binary_of(function);
        let policies = function["Properties"]["Policies"].as_sequence().expect("Policies");
        let mut actions = BTreeSet::new();
        for policy in policies {
            // An inline document, not a SAM policy template (DynamoDBCrudPolicy…).
            let statements = policy["Statement"].as_sequence().unwrap_or_else(|| {
                panic!("{id}: every policy must be an inline statement list, got {policy:?}")
            });
            for statement in statements {
                assert_eq!(statement["Effect"], "Allow", "{id}");
                let mut resource = Vec::new();
                strings_in(&statement["Resource"], &mut resource);
                let table = ["EmployeeTable", "IdempotencyTable"]
                    .into_iter()
                    .find(|table| resource.iter().any(|s| s.contains(table)))
                    .unwrap_or_else(|| {
                        panic!("{id}: resource is not a table of ours: {resource:?}")
                    });
                assert!(
                    resource.iter().all(|s| !s.contains('*')),
                    "{id}: wildcard resource {resource:?}"
                );
                for action in statement["Action"].as_sequence().unwrap() {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{id}: wildcard action {action}");
                    actions.insert((table.to_owned(), action.to_owned()));
                }
            }
        }
        let expected: BTreeSet<(String, String)> = expected[binary.as_str()]
            .iter()
            .map(|(t, a)| ((*t).to_owned(), (*a).to_owned()))
            .collect();
        assert_eq!(actions, expected, "{id}");
    }
}
