// GET /employees/{id} as a typical Node.js 20 Lambda function: the benchmark's baseline.
//
// API Gateway HTTP API (payload 2.0) event in, DynamoDB GetItem, JSON response out.
// The client is built once, at module load, and reused by every invocation. The
// endpoint comes from AWS_ENDPOINT_URL_DYNAMODB (read by the SDK itself) and extra
// trusted CAs from NODE_EXTRA_CA_CERTS (read by Node.js itself).
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const TABLE_NAME = process.env.TABLE_NAME;
const dynamodb = new DynamoDBClient({});

export const handler = async (event) => {
  const employeeId =
    event.pathParameters?.employeeId ??
    decodeURIComponent(event.rawPath.replace(/\/+$/, "").split("/").pop());

  const { Item: item } = await dynamodb.send(
    new GetItemCommand({
      TableName: TABLE_NAME,
      Key: { EmployeeId: { S: employeeId } },
    }),
  );

  if (!item) {
    return response(404, {
      error: "EmployeeDoesNotExist",
      message: `Employee "${employeeId}" does not exist.`,
    });
  }
  return response(200, { employee: item.EmployeeId.S, jobTitle: item.JobTitle.S });
};

const response = (statusCode, body) => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});
