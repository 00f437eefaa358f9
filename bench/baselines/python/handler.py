"""GET /employees/{id} as a typical Python Lambda function: the benchmark's baseline.

API Gateway HTTP API (payload 2.0) event in, DynamoDB GetItem, JSON response out.
The client is built once, at import, and reused by every invocation. The endpoint
comes from AWS_ENDPOINT_URL_DYNAMODB and the trusted CAs from AWS_CA_BUNDLE, both
read by botocore itself.
"""

import json
import os
from urllib.parse import unquote

import boto3

TABLE_NAME = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def handler(event, context):
    employee_id = (event.get("pathParameters") or {}).get("employeeId")
    if employee_id is None:
        employee_id = unquote(event["rawPath"].rstrip("/").rsplit("/", 1)[-1])

    item = dynamodb.get_item(
        TableName=TABLE_NAME,
        Key={"EmployeeId": {"S": employee_id}},
    ).get("Item")

    if item is None:
        return _response(
            404,
            {
                "error": "EmployeeDoesNotExist",
                "message": f'Employee "{employee_id}" does not exist.',
            },
        )
    return _response(
        200,
        {"employee": item["EmployeeId"]["S"], "jobTitle": item["JobTitle"]["S"]},
    )


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }
