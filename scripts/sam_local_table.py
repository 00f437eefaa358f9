"""The employee table on DynamoDB Local, for scripts/sam-local.sh and its checks.

    python sam_local_table.py create ENDPOINT TABLE   create it, with the schema of
                                                      template.yaml's EmployeeTable
    python sam_local_table.py reset ENDPOINT TABLE [ID=JOB_TITLE...]
                                                      empty it, then put these items

Runs on the SAM CLI's virtualenv (.tools/venv), which has boto3 and SAM's YAML
reader (for the template's `!Ref`-style tags).
"""

import pathlib
import sys

import boto3
from botocore.config import Config
from samcli.yamlhelper import yaml_parse

ROOT = pathlib.Path(__file__).resolve().parent.parent


def client(endpoint):
    # DynamoDB Local (-sharedDb) takes any region and credentials.
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30),
    )


def table_schema():
    """EmployeeTable's key schema, attributes and indexes, as template.yaml declares them."""
    template = yaml_parse((ROOT / "template.yaml").read_text())
    properties = template["Resources"]["EmployeeTable"]["Properties"]
    schema = {
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": properties["BillingMode"],
    }
    if properties.get("GlobalSecondaryIndexes"):
        schema["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    return schema


def create(endpoint, table):
    dynamodb = client(endpoint)
    dynamodb.create_table(TableName=table, **table_schema())
    dynamodb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})


def reset(endpoint, table, items):
    """Deletes every item, then puts `items`: {employee id: job title}."""
    dynamodb = client(endpoint)
    for page in dynamodb.get_paginator("scan").paginate(
        TableName=table, ProjectionExpression="EmployeeId"
    ):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=table, Key={"EmployeeId": item["EmployeeId"]})
    for employee, job_title in items.items():
        dynamodb.put_item(
            TableName=table,
            Item={"EmployeeId": {"S": employee}, "JobTitle": {"S": job_title}},
        )


def items(endpoint, table):
    """Every item, as {employee id: job title}."""
    dynamodb = client(endpoint)
    found = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            found[item["EmployeeId"]["S"]] = item["JobTitle"]["S"]
    return found


def main(argv):
    if len(argv) >= 3 and argv[0] == "create":
        create(argv[1], argv[2])
    elif len(argv) >= 3 and argv[0] == "reset":
        reset(argv[1], argv[2], dict(a.split("=", 1) for a in argv[3:]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
