"""The app stack's --parameter-overrides for `make deploy`, printed on stdout.

`sam deploy --parameter-overrides` replaces samconfig.toml's list instead of adding to it, so this
merges, later winning: the environment's own overrides (samconfig.toml), the data stack's outputs
that template.yaml declares as parameters (database, cache, network), the migrations hash, and
`--set Name=value` pairs (e.g. ChainRpcUrl). Run with the tools virtualenv (boto3, PyYAML):

    .venv-tools/bin/python -m infra.deploy_parameters --env dev --data-stack gbc-data-dev
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

from devstack.template import load_raw

ROOT = Path(__file__).resolve().parent.parent
USABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE"}


class DeployError(SystemExit):
    """Stops `make deploy` before it builds anything, with what to do instead."""


def samconfig_deploy(env: str, path: Path = ROOT / "samconfig.toml") -> dict[str, Any]:
    config = tomllib.loads(path.read_text())
    try:
        parameters: dict[str, Any] = config[env]["deploy"]["parameters"]
    except KeyError:
        raise DeployError(f"samconfig.toml has no [{env}.deploy.parameters]") from None
    return parameters


def parse_overrides(text: str) -> dict[str, str]:
    """`A=1 B="x y"` (sam's shorthand form) -> {"A": "1", "B": "x y"}."""
    pairs = {}
    for item in shlex.split(text):
        name, sep, value = item.partition("=")
        if not sep:
            raise DeployError(f"not Name=value: {item!r}")
        pairs[name] = value
    return pairs


def data_stack_outputs(stack_name: str, region: str, client: Any = None) -> dict[str, str]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    cfn = client or boto3.client("cloudformation", region_name=region)
    try:
        stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except BotoCoreError as error:  # no credentials, no network
        raise DeployError(f"cannot ask CloudFormation about {stack_name} ({error}): run `aws configure`") from None
    except ClientError as error:
        raise DeployError(
            f"the data stack {stack_name} was not found in {region} ({error.response['Error']['Message']}): "
            f"create it first with `make deploy-data ENV=... DATA_STACK={stack_name}`"
        ) from None
    if stack["StackStatus"] not in USABLE:
        raise DeployError(f"the data stack {stack_name} is {stack['StackStatus']}; deploy it again first")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def merge(own: dict[str, str], outputs: dict[str, str], declared: set[str], extra: dict[str, str]) -> dict[str, str]:
    merged = dict(own)
    merged.update({name: value for name, value in outputs.items() if name in declared})
    merged.update(extra)
    return merged


def render(parameters: dict[str, str]) -> str:
    for name, value in parameters.items():
        if '"' in value:
            raise DeployError(f"{name}: a value cannot contain a double quote")
    return " ".join(f'{name}="{value}"' for name, value in parameters.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True)
    parser.add_argument("--data-stack", required=True)
    parser.add_argument("--migrations-hash", default="")
    parser.add_argument("--check", action="store_true", help="only check that the data stack is usable")
    parser.add_argument("--set", default="", help='extra overrides, "Name=value Name=value"')
    parser.add_argument("--region", default="", help="the data stack's region (default: samconfig.toml's)")
    args = parser.parse_args(argv)

    deploy = samconfig_deploy(args.env)
    declared = set(load_raw(ROOT / "template.yaml")["Parameters"])
    outputs = data_stack_outputs(args.data_stack, args.region or deploy.get("region", "us-east-1"))
    if args.check:
        return 0
    if not args.migrations_hash:
        raise DeployError("--migrations-hash is required (python functions/migrations/scripts_hash.py)")
    extra = {"MigrationsHash": args.migrations_hash, **parse_overrides(args.set)}
    unknown = set(extra) - declared
    if unknown:
        raise DeployError(f"template.yaml has no parameter {', '.join(sorted(unknown))}")
    merged = merge(parse_overrides(deploy.get("parameter_overrides", "")), outputs, declared, extra)
    print(render(merged))
    return 0


if __name__ == "__main__":
    sys.exit(main())
