//! template.yaml against the code: the routes the local router serves, the
//! table the tests create, least-privilege IAM, and the API's security
//! settings (authorization, throttling, access logs, CORS) as CloudFormation
//! deploys them for given parameters. (cfn-lint, `sam validate --lint` and
//! `sam build` run from scripts/test.sh; checkov from scripts/checkov.sh.)

mod alarms;
mod api;
mod functions;
mod iam;
mod managed_instances;
mod routes;
mod tables;
