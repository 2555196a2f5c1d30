"""The data stack (infra/data.yaml) and the app stack (template.yaml) fit: the data stack's outputs
are the app's required parameters, every function in the VPC reaches each AWS service it calls (and
the internet, for the chain RPC) from the private subnets, the security groups admit the functions to
the proxy and the cache, and `make deploy` turns the outputs into the app's parameters."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.template import ROOT, load_raw, load_stack
from infra import deploy_parameters

DATA = load_raw(ROOT / "infra" / "data.yaml")
APP = load_raw(ROOT / "template.yaml")
# What the app takes from the data stack; DbName/DbUser have defaults equal to the data stack's.
FROM_DATA_STACK = {"DbProxyEndpoint", "DbSecretArn", "RedisUrl", "SubnetIds", "SecurityGroupIds", "DbName", "DbUser"}
REQUIRED = {"DbProxyEndpoint", "DbSecretArn", "RedisUrl", "SubnetIds", "SecurityGroupIds", "MigrationsHash"}

# SAM policy templates -> the AWS service the function then calls.
POLICY_SERVICES = {
    "SQSSendMessagePolicy": "sqs",
    "SQSPollerPolicy": "sqs",
    "AWSSecretsManagerGetSecretValuePolicy": "secretsmanager",
    "SSMParameterReadPolicy": "ssm",
    "DynamoDBCrudPolicy": "dynamodb",
    "DynamoDBWritePolicy": "dynamodb",
    "DynamoDBReadPolicy": "dynamodb",
    "CloudWatchPutMetricPolicy": "monitoring",
}
# Called from the Lambda service, not from the function's network interface.
NOT_FROM_THE_VPC = {"logs", "xray", "lambda"}


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _ref(value: Any) -> Any:
    return value.get("Ref") if isinstance(value, dict) else None


# ---------------------------------------------------------------- outputs -> parameters


def test_the_data_stacks_outputs_are_the_app_stacks_parameters_and_are_exported():
    outputs, parameters = DATA["Outputs"], APP["Parameters"]
    assert set(outputs) & set(parameters) == FROM_DATA_STACK
    for name in FROM_DATA_STACK:
        assert outputs[name]["Export"]["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}, name
    for name in ("DbName", "DbUser"):
        assert parameters[name]["Default"] == DATA["Parameters"][name]["Default"], name


def test_without_the_data_stack_a_deploy_stops_before_creating_anything():
    parameters = APP["Parameters"]
    assert {name for name in REQUIRED if "Default" in parameters[name]} == set()
    assert "HasVpc" not in APP.get("Conditions", {}), "no trial stack without a VPC: the proxy and cache live in one"
    assert APP["Globals"]["Function"]["VpcConfig"] == {
        "SubnetIds": {"Ref": "SubnetIds"},
        "SecurityGroupIds": {"Ref": "SecurityGroupIds"},
    }
    assert parameters["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert parameters["SecurityGroupIds"]["Type"] == "List<AWS::EC2::SecurityGroup::Id>"


def test_the_outputs_values_pass_the_app_parameters_patterns():
    patterns = {
        name: re.compile(APP["Parameters"][name]["AllowedPattern"])
        for name in ("DbProxyEndpoint", "DbSecretArn", "RedisUrl")
    }
    # What the data stack's outputs look like once deployed (RDS Proxy endpoint, RDS-managed secret).
    assert patterns["DbProxyEndpoint"].match("gbc-data-dev.proxy-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com")
    assert patterns["DbSecretArn"].match("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1b2c3d4e-AbCdEf")
    redis = DATA["Outputs"]["RedisUrl"]["Value"]["Fn::Sub"]
    assert redis.startswith("rediss://"), "TLS in transit"
    assert patterns["RedisUrl"].match(redis)
    assert not patterns["RedisUrl"].match("redis://cache.example:6379/0")
    assert not patterns["DbProxyEndpoint"].match("gbc-proxy.proxy-example.example.com")


def test_the_local_stack_resolves_the_template_without_the_data_stack():
    stack = load_stack()
    assert not {"DB_HOST", "DB_SECRET_ARN", "REDIS_URL"} & set(stack.environment)
    supplied = load_stack(
        parameters={"DbProxyEndpoint": "p.proxy-x.us-east-1.rds.amazonaws.com", "RedisUrl": "rediss://c:6379/0"}
    )
    assert supplied.environment["DB_HOST"] == "p.proxy-x.us-east-1.rds.amazonaws.com"
    assert supplied.environment["REDIS_URL"] == "rediss://c:6379/0"


# ---------------------------------------------------------------- what each VPC function reaches


def _in_the_vpc(props: dict[str, Any]) -> bool:
    vpc = props.get("VpcConfig", APP["Globals"]["Function"]["VpcConfig"])
    return vpc != {"SubnetIds": [], "SecurityGroupIds": []}


def _services_called(logical_id: str, props: dict[str, Any]) -> set[str]:
    services: set[str] = set()
    for policy in props.get("Policies", []):
        assert isinstance(policy, dict), f"{logical_id}: a managed policy by name; map its services here"
        for name, body in policy.items():
            if name == "Statement":
                for statement in body:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    services |= {action.split(":", 1)[0] for action in actions}
            else:
                assert name in POLICY_SERVICES, f"{logical_id}: policy template {name}: add it to POLICY_SERVICES"
                services.add(POLICY_SERVICES[name])
    # A custom resource's function answers CloudFormation on a pre-signed S3 URL.
    for resource in APP["Resources"].values():
        token = resource.get("Properties", {}).get("ServiceToken")
        if resource["Type"].startswith("Custom::") and token == {"Fn::GetAtt": [logical_id, "Arn"]}:
            services.add("s3")
    return services - NOT_FROM_THE_VPC


def _imports_the_rpc_client(handler: str) -> bool:
    module = handler.rsplit(".", 1)[0]
    probe = f"import importlib, sys; importlib.import_module({module!r}); print('gbc.chain.rpc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def _needs() -> dict[str, set[str]]:
    """Per VPC function: the AWS services it calls, plus "internet" when it talks to the chain's RPC."""
    needs = {}
    for logical_id, resource in _resources(APP, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        if not _in_the_vpc(props):
            continue
        needs[logical_id] = _services_called(logical_id, props)
        if _imports_the_rpc_client(props["Handler"]):
            needs[logical_id].add("internet")
    return needs


NEEDS = _needs()


def _private_subnets(data: dict[str, Any]) -> list[str]:
    value = data["Outputs"]["SubnetIds"]["Value"]["Fn::Join"][1]["Fn::If"]
    assert value[0] == "CreateVpc"
    return [_ref(s) for s in value[1]]


def _reachable(data: dict[str, Any], subnet: str) -> set[str]:
    """What a function in this subnet of the created VPC reaches: gateway endpoints on its route
    table, interface endpoints in it, and everything when its default route is a NAT gateway."""
    tables = [
        _ref(a["Properties"]["RouteTableId"])
        for a in _resources(data, "AWS::EC2::SubnetRouteTableAssociation").values()
        if _ref(a["Properties"]["SubnetId"]) == subnet
    ]
    assert len(tables) == 1, subnet
    (table,) = tables
    reachable: set[str] = set()
    for route in _resources(data, "AWS::EC2::Route").values():
        props = route["Properties"]
        default = _ref(props["RouteTableId"]) == table and props.get("DestinationCidrBlock") == "0.0.0.0/0"
        if default and "NatGatewayId" in props:
            reachable.add("everything")
    for endpoint in _resources(data, "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        service = props["ServiceName"]["Fn::Sub"].rsplit(".", 1)[1]
        if props.get("VpcEndpointType") == "Gateway" and table in [_ref(t) for t in props["RouteTableIds"]]:
            reachable.add(service)
        if props.get("VpcEndpointType") == "Interface" and subnet in [_ref(s) for s in props["SubnetIds"]]:
            reachable.add(service)
    return reachable


def _unreachable(data: dict[str, Any]) -> dict[str, set[str]]:
    missing = {}
    for subnet in _private_subnets(data):
        reachable = _reachable(data, subnet)
        for function, needs in NEEDS.items():
            lacking = set() if "everything" in reachable else needs - reachable
            if lacking:
                missing[f"{function} in {subnet}"] = lacking
    return missing


def test_every_vpc_function_reaches_what_it_calls():
    assert "internet" in NEEDS["ChainPollerFunction"], "the poller reads the chain over JSON-RPC"
    assert {"sqs", "secretsmanager", "ssm", "dynamodb"} <= NEEDS["ApiFunction"]
    assert "s3" in NEEDS["MigrationsFunction"]
    assert _unreachable(DATA) == {}


def test_without_the_nat_the_poller_and_the_aws_apis_are_cut_off():
    """The reachability check itself: the gateway endpoints alone leave SQS, Secrets Manager, SSM and
    the chain RPC out of reach."""
    data = copy.deepcopy(DATA)
    for route in _resources(data, "AWS::EC2::Route").values():
        route["Properties"].pop("NatGatewayId", None)
    missing = _unreachable(data)
    assert {"internet"} <= missing["ChainPollerFunction in PrivateSubnetA"]
    assert {"sqs", "secretsmanager", "ssm"} <= missing["ApiFunction in PrivateSubnetB"]
    assert "dynamodb" not in missing["ApiFunction in PrivateSubnetB"], "the gateway endpoint serves the tickets"


def test_each_private_subnet_has_its_own_az_and_a_nat_route():
    subnets = _resources(DATA, "AWS::EC2::Subnet")
    zones = {json.dumps(subnets[s]["Properties"]["AvailabilityZone"]) for s in _private_subnets(DATA)}
    assert len(zones) == 2


# ---------------------------------------------------------------- security groups, database, cache


def _ingress(group: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = DATA["Resources"][group]["Properties"]["SecurityGroupIngress"]
    return rules


def test_the_security_groups_admit_the_functions_to_the_proxy_and_the_cache_only():
    assert _ref(DATA["Outputs"]["SecurityGroupIds"]["Value"]) == "LambdaSecurityGroup"
    assert [(r["FromPort"], r["ToPort"], _ref(r["SourceSecurityGroupId"])) for r in _ingress("ProxySecurityGroup")] == [
        (5432, 5432, "LambdaSecurityGroup")
    ]
    assert [(r["FromPort"], _ref(r["SourceSecurityGroupId"])) for r in _ingress("DatabaseSecurityGroup")] == [
        (5432, "ProxySecurityGroup")
    ]
    assert [(r["FromPort"], _ref(r["SourceSecurityGroupId"])) for r in _ingress("CacheSecurityGroup")] == [
        (6379, "LambdaSecurityGroup")
    ]
    resources = DATA["Resources"]
    assert resources["DatabaseProxy"]["Properties"]["VpcSecurityGroupIds"] == [{"Ref": "ProxySecurityGroup"}]
    assert resources["Database"]["Properties"]["VPCSecurityGroups"] == [{"Ref": "DatabaseSecurityGroup"}]
    assert resources["Cache"]["Properties"]["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
    assert resources["Cache"]["Properties"]["Port"] == 6379
    assert "SecurityGroupIngress" not in resources["LambdaSecurityGroup"]["Properties"]


def test_the_database_is_encrypted_kept_on_delete_and_reached_over_tls_through_the_proxy():
    database = DATA["Resources"]["Database"]
    props = database["Properties"]
    assert (database["DeletionPolicy"], database["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert props["Engine"] == "postgres" and str(props["EngineVersion"]).split(".")[0] == "16"
    assert props["StorageEncrypted"] is True and props["ManageMasterUserPassword"] is True
    assert props["PubliclyAccessible"] is False
    assert props["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}
    secret = {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]}
    proxy = DATA["Resources"]["DatabaseProxy"]["Properties"]
    assert proxy["RequireTLS"] is True
    assert [a["SecretArn"] for a in proxy["Auth"]] == [secret]
    assert DATA["Outputs"]["DbSecretArn"]["Value"] == secret
    assert DATA["Outputs"]["DbProxyEndpoint"]["Value"] == {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}
    role = DATA["Resources"]["ProxyRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert role["Resource"] == secret
    targets = DATA["Resources"]["DatabaseProxyTargets"]["Properties"]
    assert targets["DBInstanceIdentifiers"] == [{"Ref": "Database"}]
    # The app verifies the proxy's certificate and reads the RDS-managed JSON secret.
    assert APP["Globals"]["Function"]["Environment"]["Variables"]["DB_SSL"] == "verify"


def test_the_cache_requires_tls_and_is_not_cluster_mode():
    props = DATA["Resources"]["Cache"]["Properties"]
    assert props["TransitEncryptionEnabled"] is True and props["TransitEncryptionMode"] == "required"
    assert props["AtRestEncryptionEnabled"] is True
    # The cache's Lua scripts build keys inside the script (gbc/cache/scripts.py): no cluster mode,
    # hence no ElastiCache Serverless (always cluster mode) and no NumNodeGroups.
    assert DATA["Resources"]["Cache"]["Type"] == "AWS::ElastiCache::ReplicationGroup"
    assert "NumNodeGroups" not in props


# ---------------------------------------------------------------- migrations on deploy


def test_the_migrations_run_on_deploy_inside_the_vpc_within_lambdas_limit():
    function = APP["Resources"]["MigrationsFunction"]["Properties"]
    resource = APP["Resources"]["Migrations"]
    assert resource["Type"] == "Custom::Migrations"
    assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrationsFunction", "Arn"]}
    assert resource["Properties"]["MigrationsHash"] == {"Ref": "MigrationsHash"}
    assert function["Timeout"] <= 900 and resource["Properties"]["ServiceTimeout"] <= 900
    assert _in_the_vpc(function)
    assert resource.get("DeletionPolicy", "Delete") in ("Delete", "Retain")
    assert list(APP["Resources"])[-2:] == ["MigrationsFunction", "Migrations"], "the block ends Resources"


def test_every_function_that_reaches_the_database_waits_for_the_migrations():
    """On create the schedules and the API start only once the schema exists; on update new code
    arrives only after its migration committed (a failed one rolls back before any code changed)."""
    functions = {
        name: r
        for name, r in APP["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function" and name != "MigrationsFunction"
    }
    in_vpc = {name for name, r in functions.items() if _in_the_vpc(r["Properties"])}
    assert {"ApiFunction", "WorkerFunction", "ChainPollerFunction", "OutboxSweepFunction"} <= in_vpc
    waiting = {name for name, r in functions.items() if "Migrations" in _listed(r.get("DependsOn"))}
    assert waiting == in_vpc


def _listed(value):
    return [value] if isinstance(value, str) else list(value or [])


# ---------------------------------------------------------------- make deploy's parameters

OUTPUTS = {
    "DbProxyEndpoint": "gbc-data-dev.proxy-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
    "DbSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1b2c3d4e-AbCdEf",
    "DbName": "gbc",
    "DbUser": "gbc",
    "RedisUrl": "rediss://master.gbc-data-dev.abc123.use1.cache.amazonaws.com:6379/0",
    "SubnetIds": "subnet-0a1,subnet-0b2",
    "SecurityGroupIds": "sg-0c3",
    "VpcId": "vpc-0d4",
}


def _data_stack_in_moto(client: Any, name: str) -> None:
    template = {
        "Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in OUTPUTS.items()},
    }
    client.create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_make_deploy_passes_the_data_stacks_outputs_with_the_environments_own_parameters():
    with mock_aws():
        client = boto3.client("cloudformation", region_name="us-east-1")
        _data_stack_in_moto(client, "gbc-data-dev")
        outputs = deploy_parameters.data_stack_outputs("gbc-data-dev", "us-east-1", client)
    own = deploy_parameters.parse_overrides(deploy_parameters.samconfig_deploy("dev")["parameter_overrides"])
    merged = deploy_parameters.merge(own, outputs, set(APP["Parameters"]), {"MigrationsHash": "a" * 64})
    assert "VpcId" not in merged, "only what template.yaml declares"
    assert {k: merged[k] for k in FROM_DATA_STACK} == {k: OUTPUTS[k] for k in FROM_DATA_STACK}
    assert merged["Environment"] == "dev" and merged["SignerKeyParameterName"] == own["SignerKeyParameterName"]
    assert set(merged) >= REQUIRED
    rendered = deploy_parameters.render(merged)
    assert deploy_parameters.parse_overrides(rendered) == merged
    assert 'SubnetIds="subnet-0a1,subnet-0b2"' in rendered


def test_make_deploy_without_the_data_stack_says_what_to_run():
    with mock_aws():
        client = boto3.client("cloudformation", region_name="us-east-1")
        with pytest.raises(deploy_parameters.DeployError, match="make deploy-data"):
            deploy_parameters.data_stack_outputs("gbc-data-dev", "us-east-1", client)
