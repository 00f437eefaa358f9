#!/usr/bin/env python3
"""Writes template-managed-instances.yaml from template.yaml: the same stack
with the three functions on a Lambda Managed Instances capacity provider.

Run it after changing template.yaml (tests/tests/template/ fails until the
two agree):  python3 scripts/managed-instances-template.py
It edits template.yaml's text (so comments and CloudFormation tags stay as
written) and stops if a piece it edits has changed shape.
"""
import os

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
s=open('template.yaml').read()
def rep(old,new,count=1):
    global s
    assert old in s, old[:60]
    s=s.replace(old,new,count)
rep('''Description: >-
  Employee API: three Rust Lambda functions (get, add, remove employee) behind
  an API Gateway HTTP API, backed by one DynamoDB table. A Lambda-native
  replacement for the Step Functions sample "Invoke Synchronous Express
  Workflows".
''','''Description: >-
  Employee API on Lambda Managed Instances: the three Rust Lambda functions of
  template.yaml, run on EC2 instances in your VPC that Lambda manages, each
  execution environment serving many invocations at once. Everything else
  (table, HTTP API, authorization, logs, alarms) is template.yaml's, and a
  test keeps it so.
''')
rep('''  ExistingTableName:
    Type: String''','''  ManagedInstancesSubnetIds:
    Type: List<AWS::EC2::Subnet::Id>
    # Lambda launches the instances in these subnets. They must reach
    # DynamoDB: a gateway VPC endpoint for DynamoDB (free) or a NAT gateway.
    Description: >-
      Subnets (one per Availability Zone, private) where Lambda launches the
      instances. They must reach DynamoDB, e.g. through a DynamoDB gateway
      VPC endpoint.
  ManagedInstancesSecurityGroupIds:
    Type: List<AWS::EC2::SecurityGroup::Id>
    Description: >-
      Security groups of the instances; they need outbound HTTPS (443) to
      DynamoDB and nothing inbound.
  PerExecutionEnvironmentMaxConcurrency:
    Type: Number
    Default: 32
    MinValue: 1
    MaxValue: 1600
    # Sets AWS_LAMBDA_MAX_CONCURRENCY: the functions then poll this many
    # invocations at once, on a Tokio worker per vCPU. Each invocation spends
    # ~0.25 ms of CPU around a ~5 ms DynamoDB round trip, so one vCPU keeps
    # ~20 invocations busy; 32 leaves room (README, "Lambda Managed Instances").
    Description: >-
      Invocations one execution environment (one process, one vCPU) serves at
      once.
  ManagedInstancesMaxVCpuCount:
    Type: Number
    Default: 16
    MinValue: 2
    Description: >-
      The most vCPUs the capacity provider may run across its instances (an
      upper bound on the EC2 bill).
  ExistingTableName:
    Type: String''')
rep('''    # A Rust binary needs little memory and starts in milliseconds; 128 MB is
    # the cheapest setting and the handlers only wait on DynamoDB.
    MemorySize: 128''','''    # 2 GB is the smallest execution environment Managed Instances run (one
    # vCPU at 2 GiB per vCPU); the process itself needs ~10 MB.
    MemorySize: 2048
    # Managed Instances run published versions: every deployment publishes
    # one and points the alias (and so the API) at it.
    AutoPublishAlias: live
    CapacityProviderConfig:
      # The capacity provider's ARN, from its name (`Ref`): cfn-lint 1.58 does
      # not know AWS::Lambda::CapacityProvider's attributes yet.
      Arn: !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:capacity-provider:${ManagedInstances}
      PerExecutionEnvironmentMaxConcurrency: !Ref PerExecutionEnvironmentMaxConcurrency
      ExecutionEnvironmentMemoryGiBPerVCpu: 2''')
rep('''Resources:
''','''Resources:
  # Where the functions run: instances of the functions' architecture in the
  # given subnets, scaled by Lambda up to ManagedInstancesMaxVCpuCount.
  ManagedInstances:
    Type: AWS::Serverless::CapacityProvider
    Properties:
      VpcConfig:
        SubnetIds: !Ref ManagedInstancesSubnetIds
        SecurityGroupIds: !Ref ManagedInstancesSecurityGroupIds
      InstanceRequirements:
        Architectures:
          - !Ref Architecture
      ScalingConfig:
        MaxVCpuCount: !Ref ManagedInstancesMaxVCpuCount

''')
old='''          - id: CKV_AWS_117
            comment: >-
              The function reaches only DynamoDB, over its public endpoint
              with TLS and SigV4-signed IAM credentials; it has no private
              resource to reach. A VPC would add ENI cold starts and a NAT
              gateway or VPC endpoints to pay for, without protecting any
              traffic that is not already protected.'''
assert s.count(old)==3
s=s.replace(old,'''          - id: CKV_AWS_117
            comment: >-
              On Managed Instances the function runs on instances in the
              capacity provider's subnets (ManagedInstancesSubnetIds), inside
              your VPC; Lambda refuses a VpcConfig on such a function.''')
open('template-managed-instances.yaml','w').write(s)
