"""Reads template.yaml into what the local stack needs: functions, API routes, the authorizer,
queues, SQS event source mappings and schedules. A small resolver handles the intrinsics the
template uses (!Ref, !Sub, !GetAtt, !If, !Join, ...) with local values."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
STACK_NAME = "gbc-local"
REGION = "us-east-1"
ACCOUNT = "123456789012"


class _Tag:
    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


class _Loader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_Loader.add_multi_constructor("!", _construct_tag)


def load_raw(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as fh:
        raw: dict[str, Any] = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass with CFN tags only
        return raw


class Unresolvable(Exception):
    """A value that only exists in AWS (e.g. a secret's ARN); the local stack supplies its own."""


@dataclass
class Resolver:
    raw: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    endpoint: str = "http://localhost:9324"

    def queue_name(self, logical_id: str) -> str:
        return str(self.resolve(self.raw["Resources"][logical_id]["Properties"]["QueueName"]))

    def _ref(self, name: str) -> Any:
        pseudo = {"AWS::StackName": STACK_NAME, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::NoValue":
            return None
        if name in self.parameters:
            return self.parameters[name]
        if name in self.raw.get("Parameters", {}):
            spec = self.raw["Parameters"][name]
            if "Default" not in spec:  # a required parameter (the data stack's outputs): only AWS has it
                raise Unresolvable(name)
            return spec["Default"]
        resource = self.raw["Resources"].get(name)
        if resource and resource["Type"] == "AWS::SQS::Queue":
            return f"{self.endpoint}/{ACCOUNT}/{self.queue_name(name)}"
        if resource and resource["Type"] == "AWS::DynamoDB::Table":
            return self.resolve(resource["Properties"]["TableName"])
        raise Unresolvable(name)

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.raw["Resources"].get(logical_id, {})
        if resource.get("Type") == "AWS::SQS::Queue":
            name = self.queue_name(logical_id)
            return {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", "QueueName": name}[attribute]
        if resource.get("Type") == "AWS::Serverless::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
        raise Unresolvable(f"{logical_id}.{attribute}")

    def _condition(self, name: str) -> bool:
        return bool(self.resolve(self.raw["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::GetAtt":
            return self._get_att(*arg)
        if key == "Fn::Sub":
            text, names = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: str(names[m.group(1)] if m.group(1) in names else self._sub_var(m.group(1))),
                text,
            )
        if key == "Fn::If":
            name, then, otherwise = arg
            return self.resolve(then if self._condition(name) else otherwise)
        if key == "Fn::Equals":
            left, right = self.resolve(arg)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::Join":
            sep, items = arg
            resolved = self.resolve(items)
            return sep.join(str(i) for i in (resolved if isinstance(resolved, list) else [resolved]))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(index)]
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(sep)
        return {key: self.resolve(arg)}

    def _sub_var(self, name: str) -> Any:
        if "." in name:
            return self._get_att(*name.split(".", 1))
        return self._ref(name)


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str  # module.function, importable through the code paths
    timeout: int
    memory: int


@dataclass(frozen=True)
class Route:
    method: str  # upper case, or ANY
    path: str  # API Gateway resource path, e.g. /api/game/{gameId}
    function: str
    authorizer: str | None


@dataclass(frozen=True)
class Authorizer:
    name: str
    function: str
    header: str
    ttl: int


@dataclass(frozen=True)
class GatewayResponse:
    """An API Gateway response (GatewayResponses): status, static headers, the JSON body template."""

    status: int | None
    headers: dict[str, str]
    template: str | None


@dataclass(frozen=True)
class Cors:
    """The Api's Cors: the preflight API Gateway answers itself (static headers) on every path."""

    allow_origin: str
    allow_headers: str
    allow_methods: str
    max_age: str | None

    def preflight_headers(self) -> list[tuple[str, str]]:
        headers = [
            ("Access-Control-Allow-Origin", self.allow_origin),
            ("Access-Control-Allow-Headers", self.allow_headers),
            ("Access-Control-Allow-Methods", self.allow_methods),
        ]
        return headers + ([("Access-Control-Max-Age", self.max_age)] if self.max_age else [])


@dataclass(frozen=True)
class WebSocketRoute:
    """A route of a WebSocket API ($connect, $disconnect, an action): the function it invokes, and
    whether the function's answer goes back to the client (a route response)."""

    key: str
    function: str
    answers: bool


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: what create_table needs, and its TTL attribute."""

    logical_id: str
    name: str
    key_schema: list[dict[str, str]]
    attributes: list[dict[str, str]]
    ttl_attribute: str | None


@dataclass(frozen=True)
class Queue:
    logical_id: str
    name: str
    attributes: dict[str, str]


@dataclass(frozen=True)
class SqsMapping:
    function: str
    queue: str  # logical id
    batch_size: int
    batching_window: int
    report_failures: bool
    max_concurrency: int


@dataclass(frozen=True)
class Schedule:
    name: str  # FunctionLogicalId.EventName
    function: str
    expression: str
    input: dict[str, Any] | None


@dataclass
class Stack:
    functions: dict[str, Function]
    routes: list[Route]
    authorizers: dict[str, Authorizer]
    queues: dict[str, Queue]
    mappings: list[SqsMapping]
    schedules: list[Schedule]
    environment: dict[str, str]
    resolver: Resolver
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)
    cors: Cors | None = None
    tables: dict[str, Table] = field(default_factory=dict)
    websocket_routes: dict[str, WebSocketRoute] = field(default_factory=dict)


def background_functions(stack: Stack) -> frozenset[str]:
    """The functions no client waits for: not behind an API route, an authorizer or a WebSocket route."""
    facing = {r.function for r in stack.routes} | {a.function for a in stack.authorizers.values()}
    facing |= {w.function for w in stack.websocket_routes.values()}
    return frozenset(stack.functions) - facing


def _static(value: Any, resolver: Resolver) -> str:
    """A mapping expression's static value: '1' is the string 1."""
    return str(resolver.resolve(value)).strip("'")


def _queue_attributes(props: dict[str, Any], resolver: Resolver) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds"):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        policy = resolver.resolve(props["RedrivePolicy"])
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": policy["deadLetterTargetArn"], "maxReceiveCount": int(policy["maxReceiveCount"])}
        )
    return attributes


def load_stack(path: Path = TEMPLATE, parameters: dict[str, Any] | None = None, sqs_endpoint: str = "") -> Stack:
    raw = load_raw(path)
    resolver = Resolver(raw, parameters or {}, sqs_endpoint or "http://localhost:9324")
    globals_fn = raw.get("Globals", {}).get("Function", {})
    resources: dict[str, Any] = raw["Resources"]

    environment: dict[str, str] = {}
    for key, value in globals_fn.get("Environment", {}).get("Variables", {}).items():
        try:
            resolved = resolver.resolve(value)
        except Unresolvable:
            continue
        if resolved is not None:
            environment[key] = str(resolved)

    functions: dict[str, Function] = {}
    routes: list[Route] = []
    mappings: list[SqsMapping] = []
    schedules: list[Schedule] = []
    authorizers: dict[str, Authorizer] = {}
    queues: dict[str, Queue] = {}
    default_authorizer: dict[str, str | None] = {}
    gateway_responses: dict[str, GatewayResponse] = {}
    cors: Cors | None = None
    tables: dict[str, Table] = {}

    for logical_id, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue":
            queues[logical_id] = Queue(logical_id, resolver.queue_name(logical_id), _queue_attributes(props, resolver))
        elif resource["Type"] == "AWS::DynamoDB::Table":
            ttl = props.get("TimeToLiveSpecification", {})
            tables[logical_id] = Table(
                logical_id,
                str(resolver.resolve(props["TableName"])),
                props["KeySchema"],
                props["AttributeDefinitions"],
                ttl.get("AttributeName") if ttl.get("Enabled") else None,
            )
        elif resource["Type"] == "AWS::Serverless::Api":
            auth = props.get("Auth", {})
            default_authorizer[logical_id] = auth.get("DefaultAuthorizer")
            for kind, spec in props.get("GatewayResponses", {}).items():
                headers = spec.get("ResponseParameters", {}).get("Headers", {})
                gateway_responses[kind] = GatewayResponse(
                    status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
                    # Header values are mapping expressions: a static value is quoted ('1').
                    headers={name: _static(value, resolver) for name, value in headers.items()},
                    template=spec.get("ResponseTemplates", {}).get("application/json"),
                )
            if "Cors" in props:
                spec = props["Cors"]
                cors = Cors(
                    allow_origin=_static(spec["AllowOrigin"], resolver),
                    allow_headers=_static(spec.get("AllowHeaders", "''"), resolver),
                    allow_methods=_static(spec.get("AllowMethods", "'*'"), resolver),
                    max_age=_static(spec["MaxAge"], resolver) if "MaxAge" in spec else None,
                )
            for name, spec in auth.get("Authorizers", {}).items():
                identity = spec.get("Identity", {})
                authorizers[name] = Authorizer(
                    name=name,
                    function=spec["FunctionArn"]["Fn::GetAtt"][0],
                    header=identity.get("Header", "Authorization"),
                    ttl=int(identity.get("ReauthorizeEvery", 300)),
                )

    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        functions[logical_id] = Function(
            logical_id,
            props["Handler"],
            int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
        )
        for event_name, event in props.get("Events", {}).items():
            ep = event.get("Properties", {})
            if event["Type"] == "Api":
                api_id = ep.get("RestApiId", {}).get("Ref")
                authorizer = ep.get("Auth", {}).get("Authorizer", default_authorizer.get(api_id))
                routes.append(
                    Route(ep["Method"].upper(), ep["Path"], logical_id, None if authorizer == "NONE" else authorizer)
                )
            elif event["Type"] == "SQS":
                mappings.append(
                    SqsMapping(
                        function=logical_id,
                        queue=ep["Queue"]["Fn::GetAtt"][0],
                        batch_size=int(ep.get("BatchSize", 10)),
                        batching_window=int(ep.get("MaximumBatchingWindowInSeconds", 0)),
                        report_failures="ReportBatchItemFailures" in ep.get("FunctionResponseTypes", []),
                        max_concurrency=int(ep.get("ScalingConfig", {}).get("MaximumConcurrency", 2)),
                    )
                )
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                expression = ep.get("Schedule") or ep.get("ScheduleExpression")
                event_input = json.loads(ep["Input"]) if "Input" in ep else None
                schedules.append(Schedule(f"{logical_id}.{event_name}", logical_id, expression, event_input))

    websocket_routes = _websocket_routes(resources)
    return Stack(
        functions,
        routes,
        authorizers,
        queues,
        mappings,
        schedules,
        environment,
        resolver,
        gateway_responses,
        cors,
        tables,
        websocket_routes,
    )


def _websocket_routes(resources: dict[str, Any]) -> dict[str, WebSocketRoute]:
    """AWS::ApiGatewayV2::Route -> its integration (Target: integrations/${Integration}) -> the
    function in the integration's URI (${Function.Arn})."""
    routes: dict[str, WebSocketRoute] = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::ApiGatewayV2::Route":
            continue
        props = resource["Properties"]
        target = props.get("Target", {}).get("Fn::Sub", "")
        integration = re.search(r"\$\{(\w+)\}", target)
        if integration is None:
            continue
        uri = resources[integration.group(1)]["Properties"]["IntegrationUri"].get("Fn::Sub", "")
        function = re.search(r"\$\{(\w+)\.Arn\}", uri)
        if function is not None:
            key = props["RouteKey"]
            routes[key] = WebSocketRoute(key, function.group(1), "RouteResponseSelectionExpression" in props)
    return routes
