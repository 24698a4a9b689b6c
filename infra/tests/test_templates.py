"""Offline checks of both deployments of embedcare, run by infra/test.sh:

- every crate under functions/ (but `local`) is exactly one Lambda function,
  with the right routes, in the SAM template and in the CDK synth output;
  the event-driven functions (the stream relay, the rule-driven notifiers,
  the schedules) have none;
- every route of openapi/openapi.json is wired to a function in both;
- drift SAM <-> CDK: functions, routes, runtime settings, environment
  variable names, IAM actions per function (and what each applies to), the
  partition-key prefixes of every DynamoDB statement (dynamodb:LeadingKeys,
  checked against the key formats of the Rust code), the table (both equal
  to infra/table-definition.json), the bus, its archive, the schemas (equal
  to events/schemas/*.json), the example consumer, the relay's event source
  mapping, the patient notifier's rule (retries, dead letters, condition
  HasSesSender), the alarms, the deployment secret and its dynamic
  reference in every function, the per-route throttles, the reserved
  concurrency of the event-driven functions, the parameters they share,
  the patient side (CORS preflight routes, the visit notifier's rule,
  schedule group and scheduler role, the visit sweeper's schedule), and
  the optional WAF (SAM parameter EnableWaf; CDK context enableWaf=true,
  synthesised apart: CDK_WAF_TEMPLATE).

The SAM transform needs AWS to run in full, so the SAM template is read as
written (AWS::Serverless::Function + Globals) and both templates are
normalised to the same shape before they are compared.

    python -m unittest infra/tests/test_templates.py
      (CDK_TEMPLATE=path/to/Embedcare.template.json, CDK_WAF_TEMPLATE=the -c enableWaf=true one)
"""

import fnmatch
import json
import os
import pathlib
import re
import tomllib
import unittest

from cfnlint.decode import decode

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAM_PATH = ROOT / "infra" / "template.yaml"
CDK_PATH = pathlib.Path(
    os.environ.get("CDK_TEMPLATE", ROOT / "infra" / "cdk" / "cdk.out" / "Embedcare.template.json")
)
CDK_WAF_PATH = pathlib.Path(
    os.environ.get("CDK_WAF_TEMPLATE", ROOT / "infra" / "cdk" / "cdk.out.waf" / "Embedcare.template.json")
)

FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")
API_ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
}
RELAY = "outbox-relay"
# Rule target (EventBridge), deployed only with an SES sender (HasSesSender).
NOTIFIER = "patient-notifier"
# On a schedule (an EventBridge rule): the outbox items the relay did not mark relayed.
REDRIVE = "outbox-redrive"
# Events for vendors outside AWS: the SQS-driven dispatcher, the stream's
# WebSocket API function, the HTTP function of endpoints, queues and the list.
DISPATCHER = "event-dispatcher"
STREAM = "event-stream"
V2_EVENTS = "v2-events"
# The visits' live connections: the room pages' WebSocket API, its own.
LIVE = "visit-live"
# Functions with no HTTP API route: driven by the table's stream, a rule, a
# schedule, SQS, or the WebSocket API.
# The patient side's: the visit notifier (a rule on Visit Created|Updated,
# and EventBridge Scheduler's reminders; only with an SES sender), the
# visit sweeper (a schedule).
VISIT_NOTIFIER = "visit-notifier"
VISIT_SWEEPER = "visit-sweeper"
EVENT_DRIVEN = {RELAY, NOTIFIER, REDRIVE, DISPATCHER, STREAM, VISIT_NOTIFIER, VISIT_SWEEPER, LIVE}
# The patient side's API: browser calls with CORS, each path with an
# OPTIONS route (the preflight, answered by the function from the origin
# index: the franchises' origins are data, not API Gateway settings).
CORS_CRATES = {"patient-sso", "rooms", "providers", "intakes", "visits"}
# What the visit notifier is given to arrange reminders (EventBridge Scheduler).
SCHEDULER_ENV = {"EMBEDCARE_SCHEDULE_GROUP", "EMBEDCARE_SCHEDULE_TARGET_ARN", "EMBEDCARE_SCHEDULER_ROLE_ARN"}
# Parameter -> condition of the notifier's resources.
SES_SENDER_PARAMETER = "SesSenderEmail"
SES_CONDITION = "HasSesSender"

# Partition-key prefixes (dynamodb:LeadingKeys, ForAllValues:StringLike) of
# each function's table statement: what it reads and writes, from the
# services and routers it runs. APIKEY#*: API keys (vendor authentication);
# T#*: a franchise (T#{tenant}) and all its data (T#{tenant}#...);
# ACCOUNT#*#USER#*: an account's users. No function touches an account item
# (ACCOUNT#{id}) or gsi1's account partitions: the operator commands only.
VENDOR_KEYS = {"APIKEY#*", "T#*", "ACCOUNT#*#USER#*"}
# The patient side's API: a vendor call's, and CORS#{origin digest}: the
# browser-origin index its preflights read.
CLINIC_KEYS = VENDOR_KEYS | {"CORS#*"}
LEADING_KEYS = {
    "consultation-create": VENDOR_KEYS,
    "consultation-view": VENDOR_KEYS,
    "embeddable-url": VENDOR_KEYS,
    "embed-pages": {"T#*", "ACCOUNT#*#USER#*"},  # launch tokens and sessions, never an API key
    "v2-consultations": VENDOR_KEYS,
    "v2-followups": VENDOR_KEYS,
    "v2-embed": VENDOR_KEYS,
    NOTIFIER: {"T#*"},
    # Outbox items only (T#{tenant}#OUTBOX#...): marked relayed, dead-lettered.
    RELAY: {"T#*"},
    REDRIVE: {"T#*"},
    # Subscriptions, deliveries, outbox items; never a user.
    V2_EVENTS: {"APIKEY#*", "T#*"},
    DISPATCHER: {"T#*"},
    # WSCONN#{connectionId}: a live connection's record.
    STREAM: {"APIKEY#*", "T#*", "WSCONN#*"},
    # A visit's connections in its partition, its chat, a lapse's writes;
    # a provider's key and user; WSCONN#{connectionId}/LIVE: the record.
    LIVE: VENDOR_KEYS | {"WSCONN#*"},
    "patient-sso": CLINIC_KEYS,
    "rooms": CLINIC_KEYS,
    "providers": CLINIC_KEYS,
    "intakes": CLINIC_KEYS,
    "visits": CLINIC_KEYS,
    # Patient tokens and sessions, visits, rooms, join codes: never an API key or a user.
    "patient-app": {"T#*"},
    # A visit, its patient and franchise, its NOTICE#... records (in the visit's partition).
    VISIT_NOTIFIER: {"T#*"},
    # A visit, its room and franchise, its move, its DUE#... task (in the visit's partition).
    VISIT_SWEEPER: {"T#*"},
}
# Index queries: every index partition the listing functions query is a
# franchise's; the re-drive queries gsi1's outbox partitions only
# (OUTBOX#PENDING#{shard}, OUTBOX#DEAD#{shard}).
INDEX_KEYS = {"T#*"}
LISTING = {"embed-pages", "v2-consultations", "v2-followups", V2_EVENTS, "rooms", "providers", "visits", "patient-app"}
OUTBOX_INDEX_KEYS = {"OUTBOX#*"}
# The visit sweeper queries gsi1's due tasks only (DUE#{hour}).
DUE_INDEX_KEYS = {"DUE#*"}
# Route throttles: the public page routes (embed-pages, patient-app) apart from the vendor API.
PUBLIC_CRATES = {"embed-pages", "patient-app"}
THROTTLE_PARAMETERS = {"public": ("PublicRouteBurstLimit", "PublicRouteRateLimit"),
                       "api": ("ApiRouteBurstLimit", "ApiRouteRateLimit")}
# Reserved concurrency: crate -> (parameter, condition, default).
RESERVED = {RELAY: ("OutboxRelayReservedConcurrency", "ReservesRelayConcurrency", 5),
            NOTIFIER: ("PatientNotifierReservedConcurrency", "ReservesNotifierConcurrency", 2),
            DISPATCHER: ("EventDispatcherReservedConcurrency", "ReservesDispatcherConcurrency", 10)}
# What the functions of event delivery get: the work queue, the WebSocket API.
DELIVERY_ENV = {"EMBEDCARE_WORK_QUEUE_URL", "EMBEDCARE_WEBSOCKET_ENDPOINT"}
SECRET_VERSION_PARAMETER = "DeploymentSecretVersionId"
SECRET_CONDITION = "HasSecretVersion"
# CloudFront managed policies (fixed ids): no caching; every viewer header but Host.
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def expected_crates():
    """Lambda crates: functions/*/Cargo.toml, but the local binary."""
    crates = {}
    for manifest in sorted((ROOT / "functions").glob("*/Cargo.toml")):
        if manifest.parent.name == "local":
            continue
        crates[manifest.parent.name] = tomllib.loads(manifest.read_text())["package"]["name"]
    return crates


def load_sam():
    template, matches = decode(str(SAM_PATH))
    assert not matches, matches
    return template


def load_cdk():
    if not CDK_PATH.exists():
        raise unittest.SkipTest(f"no CDK synth output at {CDK_PATH}: run `npx cdk synth` in infra/cdk first")
    return json.loads(CDK_PATH.read_text())


def load_cdk_waf():
    if not CDK_WAF_PATH.exists():
        raise unittest.SkipTest(
            f"no CDK synth output at {CDK_WAF_PATH}: run `npx cdk synth -c enableWaf=true -o cdk.out.waf` in infra/cdk first")
    return json.loads(CDK_WAF_PATH.read_text())


def rust_partition_key_formats():
    """The partition keys the Rust code builds (Key::new(format!("..."), ...)),
    with every {placeholder} as x: e.g. T#x#CONSULTATION#x."""
    found = set()
    for path in sorted((ROOT / "shared" / "src").rglob("*.rs")):
        for fmt in re.findall(r'Key::new\(\s*format!\(\s*"([^"]+)"', path.read_text()):
            found.add(re.sub(r"\{[^}]*\}", "x", fmt))
    return found


def refs(value):
    """Logical ids (with attribute) that a value refers to: Ref, GetAtt, ${X} / ${X.Attr} in Sub."""
    out = []
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            out.append((value["Ref"], None))
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, str):
                target = target.split(".", 1)
            out.append((target[0], target[1]))
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            for name in re.findall(r"\$\{([^}!]+)\}", text):
                lid, _, attr = name.partition(".")
                out.append((lid, attr or None))
        for k, v in value.items():
            if k not in ("Ref", "Fn::GetAtt"):
                out.extend(refs(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(refs(v))
    return out


def tokens(m, value):
    """A string-valued expression as a list of literal strings and the kinds of
    what it refers to (Sub and Join flattened), to compare SAM with CDK."""
    out = []

    def add(piece):
        if isinstance(piece, str):
            if out and isinstance(out[-1], str):
                out[-1] += piece
            elif piece:
                out.append(piece)
        else:
            out.append(piece)

    def walk(v):
        if isinstance(v, str):
            add(v)
        elif isinstance(v, dict) and "Fn::Join" in v:
            sep, items = v["Fn::Join"]
            for i, item in enumerate(items):
                if i:
                    add(sep)
                walk(item)
        elif isinstance(v, dict) and "Fn::Sub" in v and isinstance(v["Fn::Sub"], str):
            for i, part in enumerate(re.split(r"\$\{([^}]+)\}", v["Fn::Sub"])):
                if i % 2 == 0:
                    add(part)
                else:
                    lid, _, attr = part.partition(".")
                    add(("ref", m.ref_kind(lid, attr or None)))
        elif isinstance(v, dict) and "Ref" in v:
            add(("ref", m.ref_kind(v["Ref"], None)))
        elif isinstance(v, dict) and "Fn::GetAtt" in v:
            target = v["Fn::GetAtt"]
            target = target.split(".", 1) if isinstance(target, str) else target
            add(("ref", m.ref_kind(target[0], target[1])))
        else:
            add(("unknown", json.dumps(v, sort_keys=True)))

    walk(value)
    return out


def RESERVED_PARAMETERS():
    return {p for p, _, _ in RESERVED.values()}


def THROTTLE_NAMES():
    return {n for pair in THROTTLE_PARAMETERS.values() for n in pair}


def text_of(value):
    """The literal text of a value (Join/Sub flattened, references dropped)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            return "".join(text_of(v) for v in value["Fn::Join"][1])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return re.sub(r"\$\{[^}]+\}", "", text)
        return ""
    if isinstance(value, list):
        return "".join(text_of(v) for v in value)
    return ""


class Model:
    """A template normalised to what both deployments must agree on."""

    def __init__(self, template):
        self.t = template
        self.res = template["Resources"]
        self.globals = template.get("Globals", {}).get("Function", {})

    def of_type(self, *types):
        return {k: v for k, v in self.res.items() if v["Type"] in types}

    def kind(self, lid, attr, literal=""):
        """What a policy resource or an ARN points at, independent of naming."""
        if lid is None:
            return "*" if literal == "*" else f"literal:{literal}"
        if lid in self.t.get("Parameters", {}):
            # The SES identity of the sender parameter (pseudo parameters,
            # dropped from `literal`, fill partition, region and account).
            if lid == SES_SENDER_PARAMETER and literal == "arn::ses:::identity/":
                return "ses-identity"
            return f"parameter:{lid}:{literal}"
        rtype = self.res.get(lid, {}).get("Type", "?")
        if rtype == "AWS::DynamoDB::Table":
            if attr == "StreamArn":
                return "table-stream"
            return "table-index" if "/index/" in literal else "table"
        if rtype == "AWS::ApiGatewayV2::Api":
            return f"{self.res[lid]['Properties']['ProtocolType'].lower()}-api"
        return {
            "AWS::Events::EventBus": "bus",
            "AWS::SQS::Queue": "queue",
            "AWS::Logs::LogGroup": "own-log-group",
            "AWS::Scheduler::ScheduleGroup": "schedule-group",
            "AWS::IAM::Role": "role",
            "AWS::S3::Bucket": "snapshot-bucket",
        }.get(rtype, rtype)

    def ref_kind(self, lid, attr):
        """What a Ref/GetAtt names, independent of logical ids: parameters and
        pseudo parameters by name, resources by type (and attribute)."""
        if lid.startswith("AWS::") or lid in self.t.get("Parameters", {}):
            return lid
        rtype = self.res.get(lid, {}).get("Type", "?").replace("AWS::Serverless::Function", "AWS::Lambda::Function")
        return f"{rtype}.{attr}" if attr else rtype

    def resource_kinds(self, resource):
        items = resource if isinstance(resource, list) else [resource]
        kinds = set()
        for item in items:
            # Pseudo parameters (AWS::Partition, AWS::Region...) name no resource.
            found = [(lid, attr) for lid, attr in refs(item) if not lid.startswith("AWS::")]
            if not found:
                kinds.add(self.kind(None, None, text_of(item)))
            for lid, attr in found:
                kinds.add(self.kind(lid, attr, text_of(item)))
        return kinds

    def crate_of(self, lid, fn):
        meta = fn.get("Metadata", {})
        if "embedcare:crate" in meta:
            return meta["embedcare:crate"]
        return meta.get("BuildProperties", {}).get("Binary")

    def prop(self, fn, name):
        props = fn["Properties"]
        if name in props:
            return props[name]
        return self.globals.get(name)

    def functions(self):
        """crate -> logical id."""
        out = {}
        for lid, fn in self.of_type(*FUNCTION_TYPES).items():
            crate = self.crate_of(lid, fn)
            assert crate, f"{lid}: no crate (SAM Metadata.BuildProperties.Binary / CDK Metadata embedcare:crate)"
            assert crate not in out, f"two functions for crate {crate}: {out[crate]} and {lid}"
            out[crate] = lid
        return out

    def function_settings(self, lid):
        fn = self.res[lid]
        env = dict(self.globals.get("Environment", {}).get("Variables", {}))
        env.update(fn["Properties"].get("Environment", {}).get("Variables", {}))
        tracing = self.prop(fn, "Tracing") or (self.prop(fn, "TracingConfig") or {}).get("Mode")
        return {
            "runtime": self.prop(fn, "Runtime"),
            "handler": self.prop(fn, "Handler"),
            "memory": self.prop(fn, "MemorySize"),
            "timeout": self.prop(fn, "Timeout"),
            "tracing": tracing,
            "env": sorted(env),
            "log_group": self.kind(*refs(self.prop(fn, "LoggingConfig") or {})[0]) if refs(self.prop(fn, "LoggingConfig") or {}) else None,
        }

    def env_value(self, lid, name):
        env = dict(self.globals.get("Environment", {}).get("Variables", {}))
        env.update(self.res[lid]["Properties"].get("Environment", {}).get("Variables", {}))
        return env.get(name)

    def api_of(self, resource):
        """The logical id of the API a route, integration or stage belongs to."""
        return refs(resource["Properties"]["ApiId"])[0][0]

    def protocol(self, api_lid):
        return self.res[api_lid]["Properties"]["ProtocolType"]

    def http_stage(self):
        (lid, stage), = [(l, st) for l, st in self.of_type("AWS::ApiGatewayV2::Stage").items()
                         if self.protocol(self.api_of(st)) == "HTTP"]
        return lid, stage

    def routes(self, protocol="HTTP"):
        """function logical id -> set of route keys, of the APIs of `protocol`."""
        integrations = {}
        for lid, integ in self.of_type("AWS::ApiGatewayV2::Integration").items():
            if self.protocol(self.api_of(integ)) != protocol:
                continue
            fns = [r for r, _ in refs(integ["Properties"]["IntegrationUri"])
                   if r in self.res and self.res[r]["Type"] in FUNCTION_TYPES]
            assert len(fns) == 1, f"{lid}: integration target unclear: {fns}"
            if protocol == "HTTP":
                assert integ["Properties"].get("PayloadFormatVersion") == "2.0", f"{lid}: payload v2 expected"
            integrations[lid] = fns[0]
        out = {}
        for lid, route in self.of_type("AWS::ApiGatewayV2::Route").items():
            if self.protocol(self.api_of(route)) != protocol:
                continue
            targets = [r for r, _ in refs(route["Properties"]["Target"]) if r in integrations]
            assert len(targets) == 1, f"{lid}: route target unclear"
            out.setdefault(integrations[targets[0]], set()).add(route["Properties"]["RouteKey"])
        # SAM HttpApi events, should a function use them.
        for lid, fn in self.of_type("AWS::Serverless::Function").items():
            for ev in fn["Properties"].get("Events", {}).values():
                if ev["Type"] == "HttpApi":
                    p = ev["Properties"]
                    out.setdefault(lid, set()).add(f"{p['Method'].upper()} {p['Path']}")
        return out

    def statements(self, fn_lid):
        """Every IAM statement of a function's role (inline policies and attached AWS::IAM::Policy)."""
        fn = self.res[fn_lid]
        role_refs = refs(fn["Properties"].get("Role"))
        assert role_refs, f"{fn_lid}: has no explicit role (least privilege needs one)"
        role_lid = role_refs[0][0]
        role = self.res[role_lid]
        assert not role["Properties"].get("ManagedPolicyArns"), f"{role_lid}: managed policies are too broad"
        docs = [p["PolicyDocument"] for p in role["Properties"].get("Policies", [])]
        for plid, pol in self.of_type("AWS::IAM::Policy").items():
            if role_lid in [r for r, _ in refs(pol["Properties"].get("Roles", []))]:
                docs.append(pol["Properties"]["PolicyDocument"])
        out = []
        for doc in docs:
            for st in doc["Statement"]:
                assert st["Effect"] == "Allow"
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                out.append((set(actions), self.resource_kinds(st["Resource"]), st.get("Condition")))
        return out

    def permissions(self, fn_lid):
        """Set of (action, resource kind)."""
        return {(a, k) for actions, kinds, _ in self.statements(fn_lid) for a in actions for k in kinds}

    def leading_keys(self, fn_lid):
        """{resource kind: prefixes} of a function's statements on the table and
        its indexes; fails on a DynamoDB statement without the condition."""
        out = {}
        for actions, kinds, condition in self.statements(fn_lid):
            if not kinds & {"table", "table-index"}:
                continue
            assert len(kinds) == 1, f"{fn_lid}: one statement for the table and its indexes: {kinds}"
            (kind,) = kinds
            assert kind not in out, f"{fn_lid}: two statements on the {kind}"
            assert condition and set(condition) == {"ForAllValues:StringLike"}, \
                f"{fn_lid}: a {kind} statement without ForAllValues:StringLike: {condition}"
            like = condition["ForAllValues:StringLike"]
            assert set(like) == {"dynamodb:LeadingKeys"}, f"{fn_lid}: {like}"
            keys = like["dynamodb:LeadingKeys"]
            out[kind] = set(keys if isinstance(keys, list) else [keys])
        return out

    def env_tokens(self, lid, name):
        """An environment variable as {condition branch: tokens} (one level of Fn::If)."""
        value = self.env_value(lid, name)
        if isinstance(value, dict) and "Fn::If" in value:
            cond, yes, no = value["Fn::If"]
            return {"if": cond, "then": tokens(self, yes), "else": tokens(self, no)}
        return {"value": tokens(self, value)}

    def stream_mappings(self):
        """function logical id -> normalised event source mapping settings."""
        out = {}
        keys = [
            "StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor",
            "FunctionResponseTypes", "BisectBatchOnFunctionError", "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
        ]

        def norm(fn_lid, p, source):
            m = {k: p.get(k) for k in keys}
            m["Source"] = self.resource_kinds(source)
            m["Filters"] = [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])]
            dest = p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            m["OnFailure"] = self.resource_kinds(dest) if dest else None
            m["OnFailureQueue"] = refs(dest)[0][0] if dest else None
            out[fn_lid] = m

        for lid, esm in self.of_type("AWS::Lambda::EventSourceMapping").items():
            if self.resource_kinds(esm["Properties"]["EventSourceArn"]) != {"table-stream"}:
                continue
            fn_lid = refs(esm["Properties"]["FunctionName"])[0][0]
            norm(fn_lid, esm["Properties"], esm["Properties"]["EventSourceArn"])
        for lid, fn in self.of_type("AWS::Serverless::Function").items():
            for ev in fn["Properties"].get("Events", {}).values():
                if ev["Type"] == "DynamoDB":
                    norm(lid, ev["Properties"], ev["Properties"]["Stream"])
        return out

    def sqs_mappings(self):
        """function logical id -> {queue logical id: (batch size, response types)}."""
        out = {}
        for lid, esm in self.of_type("AWS::Lambda::EventSourceMapping").items():
            p = esm["Properties"]
            (queue, _), = refs(p["EventSourceArn"])
            if self.res[queue]["Type"] != "AWS::SQS::Queue":
                continue
            fn_lid = refs(p["FunctionName"])[0][0]
            out.setdefault(fn_lid, {})[queue] = (p.get("BatchSize"), p.get("FunctionResponseTypes"))
        for lid, fn in self.of_type("AWS::Serverless::Function").items():
            for ev in fn["Properties"].get("Events", {}).values():
                if ev["Type"] == "SQS":
                    p = ev["Properties"]
                    (queue, _), = refs(p["Queue"])
                    out.setdefault(lid, {})[queue] = (p.get("BatchSize"), p.get("FunctionResponseTypes"))
        return out

    def table(self):
        tables = self.of_type("AWS::DynamoDB::Table")
        assert len(tables) == 1, f"one table expected, got {list(tables)}"
        (lid, t), = tables.items()
        p = t["Properties"]
        key = lambda schema: {k["KeyType"]: k["AttributeName"] for k in schema}
        return {
            "lid": lid,
            "attributes": {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]},
            "key": key(p["KeySchema"]),
            "gsis": {
                g["IndexName"]: (key(g["KeySchema"]), g["Projection"]["ProjectionType"])
                for g in p.get("GlobalSecondaryIndexes", [])
            },
            "ttl": p.get("TimeToLiveSpecification"),
            "stream": p.get("StreamSpecification", {}).get("StreamViewType"),
            "billing": p.get("BillingMode"),
            "pitr": p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"),
            "sse": p.get("SSESpecification", {}).get("SSEEnabled"),
            "deletion_protection": p.get("DeletionProtectionEnabled"),
            "deletion_policy": t.get("DeletionPolicy"),
        }

    def alarms(self):
        """Set of (namespace, metric, what it watches)."""
        out = set()
        for lid, a in self.of_type("AWS::CloudWatch::Alarm").items():
            p = a["Properties"]
            dims = p.get("Dimensions", [])
            watched = set()
            for d in dims:
                for r, _ in refs(d["Value"]):
                    if r in self.res:
                        rtype = self.res[r]["Type"]
                        if rtype in FUNCTION_TYPES:
                            watched.add(self.crate_of(r, self.res[r]))
                        else:
                            watched.add(rtype)
            if "Metrics" in p:
                # Metric math: the namespace, and the metrics it combines.
                stats = [q["MetricStat"]["Metric"] for q in p["Metrics"] if "MetricStat" in q]
                out.add((stats[0]["Namespace"], "/".join(sorted(x["MetricName"] for x in stats)), "math"))
                continue
            out.add((p["Namespace"], p["MetricName"], ",".join(sorted(watched))))
        return out

    def operator_alarms(self):
        """{metric: (statistic, period, evaluation periods, threshold, comparison,
        missing data, notifies the stack's topic)} of the alarms on the
        application's own metrics (namespace embedcare)."""
        topics = set(self.of_type("AWS::SNS::Topic"))
        out = {}
        for lid, a in self.of_type("AWS::CloudWatch::Alarm").items():
            p = a["Properties"]
            if "Metrics" in p:
                stats = [q for q in p["Metrics"] if "MetricStat" in q]
                if stats[0]["MetricStat"]["Metric"]["Namespace"] != "embedcare":
                    continue
                expr = [q["Expression"] for q in p["Metrics"] if q.get("ReturnData", True) and "Expression" in q]
                metric = expr[0]
                stat, period = stats[0]["MetricStat"]["Stat"], stats[0]["MetricStat"]["Period"]
            elif p["Namespace"] == "embedcare":
                metric, stat, period = p["MetricName"], p["Statistic"], p["Period"]
            else:
                continue
            out[metric] = (stat, int(period), int(p["EvaluationPeriods"]), float(p["Threshold"]),
                           p["ComparisonOperator"], p.get("TreatMissingData"),
                           bool(topics & {r for r, _ in refs(p.get("AlarmActions"))}))
        return out


class Both(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.crates = expected_crates()
        cls.sam = Model(load_sam())
        cls.cdk = Model(load_cdk())
        cls.models = {"SAM": cls.sam, "CDK": cls.cdk}
        cls.definition = json.loads((ROOT / "infra" / "table-definition.json").read_text())

    # ------------------------------------------------------------ functions
    def test_every_crate_is_exactly_one_function(self):
        self.assertIn(RELAY, self.crates, "functions/outbox-relay is expected (the stream relay)")
        for crate, package in self.crates.items():
            self.assertEqual(crate, package, f"functions/{crate}: binary (package) name differs from the directory")
        for name, m in self.models.items():
            with self.subTest(template=name):
                self.assertEqual(set(m.functions()), set(self.crates), f"{name}: functions differ from functions/*/Cargo.toml")

    def test_sam_functions_build_their_crate(self):
        for crate, lid in self.sam.functions().items():
            fn = self.sam.res[lid]
            self.assertEqual(fn["Metadata"]["BuildMethod"], "rust-cargolambda", lid)
            self.assertEqual(fn["Properties"]["CodeUri"], f"../functions/{crate}", lid)

    def test_function_settings(self):
        for name, m in self.models.items():
            for crate, lid in m.functions().items():
                with self.subTest(template=name, crate=crate):
                    s = m.function_settings(lid)
                    self.assertEqual(s["runtime"], "provided.al2023")
                    self.assertEqual(s["handler"], "bootstrap")
                    self.assertEqual(s["tracing"], "Active")
                    self.assertEqual(s["log_group"], "own-log-group")
                    self.assertEqual(s["memory"], 256)
                    self.assertEqual(s["timeout"], {RELAY: 60, NOTIFIER: 30, REDRIVE: 60, DISPATCHER: 30, VISIT_NOTIFIER: 30, VISIT_SWEEPER: 60}.get(crate, 10))
                    expected_env = {"EMBEDCARE_STORE", "EMBEDCARE_TABLE", "EMBEDCARE_APP_BASE_URL",
                                    "EMBEDCARE_LAUNCH_TTL_SECONDS", "EMBEDCARE_LOG", "EMBEDCARE_SECRET"}
                    if crate == RELAY:
                        expected_env.add("EMBEDCARE_EVENT_BUS")
                    if crate == REDRIVE:
                        expected_env |= {"EMBEDCARE_EVENT_BUS", "EMBEDCARE_REDRIVE_AFTER_MINUTES"}
                    if crate == NOTIFIER:
                        expected_env |= {"EMBEDCARE_SES_SENDER", "EMBEDCARE_ANSWER_LINK_TTL_SECONDS"}
                    if crate in (V2_EVENTS, STREAM, DISPATCHER):
                        expected_env |= DELIVERY_ENV
                    if crate == DISPATCHER:
                        expected_env.add("EMBEDCARE_SES_SENDER")
                    if crate in (LIVE, "visits"):
                        expected_env.add("EMBEDCARE_VISIT_LIVE_ENDPOINT")
                    if crate == VISIT_NOTIFIER:
                        expected_env |= {"EMBEDCARE_SES_SENDER"} | SCHEDULER_ENV
                    if crate == "visits":
                        expected_env |= {"EMBEDCARE_VIDEO", "EMBEDCARE_SNAPSHOT_BUCKET", "EMBEDCARE_SES_SENDER"}
                    if crate in ("patient-app", "embed-pages"):
                        expected_env.add("EMBEDCARE_VISIT_LIVE_URL")
                    self.assertEqual(set(s["env"]), expected_env)
                    self.assertEqual(m.env_value(lid, "EMBEDCARE_STORE"), "dynamodb")
                    table_ref = refs(m.env_value(lid, "EMBEDCARE_TABLE"))
                    self.assertEqual(m.res[table_ref[0][0]]["Type"], "AWS::DynamoDB::Table")
        sam = {c: self.sam.function_settings(l) for c, l in self.sam.functions().items()}
        cdk = {c: self.cdk.function_settings(l) for c, l in self.cdk.functions().items()}
        self.assertEqual(sam, cdk)

    def test_log_groups_have_retention(self):
        for name, m in self.models.items():
            for lid, lg in m.of_type("AWS::Logs::LogGroup").items():
                with self.subTest(template=name, log_group=lid):
                    self.assertEqual(refs(lg["Properties"].get("RetentionInDays")), [("LogRetentionDays", None)])

    # ---------------------------------------------------------------- routes
    def function_routes(self, m):
        routes = m.routes()
        return {crate: routes.get(lid, set()) for crate, lid in m.functions().items()}

    def test_routes_match_between_templates(self):
        self.assertEqual(self.function_routes(self.sam), self.function_routes(self.cdk))

    def test_routes(self):
        for name, m in self.models.items():
            with self.subTest(template=name):
                r = self.function_routes(m)
                self.assertEqual(r["consultation-create"], {"POST /embeddable/consultation/create"})
                self.assertEqual(r["consultation-view"], {"POST /embeddable/consultation/view"})
                self.assertEqual(r["embed-pages"], {"ANY /{locale}/embed/{proxy+}", "GET /embed/static/{proxy+}",
                                                    "GET /sdk/{proxy+}"})
                self.assertEqual(r["v2-consultations"], {
                    "GET /v2/consultation-reasons", "GET /v2/consultations", "POST /v2/consultations",
                    "GET /v2/consultations/{consultationId}", "POST /v2/consultations/{consultationId}/cancel"})
                self.assertEqual(r["v2-followups"], {
                    "GET /v2/followups", "POST /v2/followups", "GET /v2/followups/{followupId}",
                    "POST /v2/followups/{followupId}/cancel"})
                self.assertEqual(r["v2-embed"], {
                    "POST /v2/embed/consultation/answer", "POST /v2/embed/consultation/details",
                    "POST /v2/embed/followup/answer", "POST /v2/embed/followup/details"})
                self.assertEqual(r[V2_EVENTS], {
                    "POST /v2/webhook-endpoints", "GET /v2/webhook-endpoints", "GET /v2/webhook-endpoints/{endpointId}",
                    "PATCH /v2/webhook-endpoints/{endpointId}", "DELETE /v2/webhook-endpoints/{endpointId}",
                    "POST /v2/webhook-endpoints/{endpointId}/rotate-secret",
                    "GET /v2/webhook-endpoints/{endpointId}/deliveries", "GET /v2/events",
                    "POST /v2/events/{eventId}/redeliver", "GET /v2/events/subscribe", "POST /v2/event-queues",
                    "GET /v2/event-queues", "GET /v2/event-queues/{queueName}", "DELETE /v2/event-queues/{queueName}"})
                # The patient side: its API (each move its own route, not a
                # {move} template; an OPTIONS route per path), its pages.
                api = lambda *keys: set(keys) | {f"OPTIONS {k.split(' ', 1)[1]}" for k in keys}
                self.assertEqual(r["patient-sso"], api(
                    "POST /v2/patients/sso", "DELETE /v2/patients/sso/{tokenId}", "POST /v2/patients/logout"))
                self.assertEqual(r["rooms"], api(
                    "GET /v2/rooms", "POST /v2/rooms", "GET /v2/rooms/{code}", "PATCH /v2/rooms/{code}",
                    "GET /v2/availability"))
                self.assertEqual(r["providers"], api(
                    "GET /v2/providers", "PUT /v2/providers/{userId}", "GET /v2/providers/{userId}/availability",
                    "PUT /v2/providers/{userId}/availability"))
                self.assertEqual(r["intakes"], api(
                    "POST /v2/intakes", "GET /v2/intakes/{intakeId}", "PATCH /v2/intakes/{intakeId}",
                    "GET /v2/concerns", "POST /v2/concerns"))
                self.assertEqual(r["visits"], api(
                    "GET /v2/visits", "POST /v2/visits", "POST /v2/visits/walkin", "POST /v2/visits/econsult",
                    "GET /v2/visits/{visitId}", "POST /v2/visits/{visitId}/accept", "POST /v2/visits/{visitId}/start",
                    "POST /v2/visits/{visitId}/complete", "POST /v2/visits/{visitId}/no-show",
                    "POST /v2/visits/{visitId}/cancel", "GET /v2/visits/{visitId}/messages",
                    "POST /v2/visits/{visitId}/messages",
                    "GET /v2/visits/{visitId}/participants", "POST /v2/visits/{visitId}/participants",
                    "GET /v2/visits/{visitId}/participants/{participantId}",
                    "PATCH /v2/visits/{visitId}/participants/{participantId}",
                    "POST /v2/visits/{visitId}/participants/{participantId}/tokens",
                    "DELETE /v2/visits/{visitId}/participants/{participantId}/invitation",
                    "POST /v2/visits/{visitId}/participants/{participantId}/dismiss",
                    "GET /v2/visits/{visitId}/participants/{participantId}/video-key",
                    "POST /v2/visits/{visitId}/end", "POST /v2/visits/{visitId}/fulfil",
                    "PUT /v2/visits/{visitId}/intake", "GET /v2/statistics/visits",
                    "GET /v2/visits/{visitId}/snapshots", "POST /v2/visits/{visitId}/snapshots",
                    "GET /v2/visits/{visitId}/snapshots/{snapshotId}",
                    "DELETE /v2/visits/{visitId}/snapshots/{snapshotId}",
                    "PUT /v2/visits/{visitId}/alive", "GET /v2/visits/{visitId}/connection-status"))
                self.assertFalse([k for k in r["visits"] if "{move}" in k])
                self.assertEqual(r["patient-app"], {
                    "ANY /auth", "ANY /u/clinic", "ANY /visits/{proxy+}", "ANY /members/appointment/{visitId}", "ANY /members/invitation/{visitId}",
                    "GET /clinic/static/{proxy+}"})
                for crate in EVENT_DRIVEN:
                    self.assertEqual(r[crate], set(), f"{crate} is event-driven: no route")
                self.assertTrue(r["embeddable-url"])
                self.assertTrue(all(k.startswith("GET /embeddable/") for k in r["embeddable-url"]))
                every = [k for v in r.values() for k in v]
                self.assertEqual(len(every), len(set(every)), "a route is wired twice")
                for crate, keys in r.items():
                    if crate not in EVENT_DRIVEN:
                        self.assertTrue(keys, f"{crate} has no route")

    def test_every_openapi_route_is_wired(self):
        spec = json.loads((ROOT / "openapi" / "openapi.json").read_text())
        documented = {
            f"{method.upper()} {p}"
            for p, item in spec["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }
        wanted = documented
        self.assertTrue(wanted)
        for name, m in self.models.items():
            with self.subTest(template=name):
                wired = {k for v in self.function_routes(m).values() for k in v}
                self.assertLessEqual(wanted, wired, f"{name}: OpenAPI routes not wired")
                # Preflights (OPTIONS) are CORS, not operations of the document.
                api_routes = {k for k in wired if (" /embeddable/" in k or " /v2/" in k) and not k.startswith("OPTIONS ")}
                self.assertEqual(api_routes, wanted, f"{name}: /embeddable or /v2 routes not in the OpenAPI document")

    def test_cors_preflight_routes(self):
        """The patient side's API answers browsers: every path of its functions
        has an OPTIONS route to the same function (API Gateway answers no
        preflight itself: the allowed origins are the franchises' data);
        nothing else has one."""
        for name, m in self.models.items():
            for crate, keys in self.function_routes(m).items():
                with self.subTest(template=name, crate=crate):
                    options = {k.split(" ", 1)[1] for k in keys if k.startswith("OPTIONS ")}
                    paths = {k.split(" ", 1)[1] for k in keys if not k.startswith("OPTIONS ")}
                    self.assertEqual(options, paths if crate in CORS_CRATES else set())

    def test_api_stage(self):
        for name, m in self.models.items():
            with self.subTest(template=name):
                p = m.http_stage()[1]["Properties"]
                self.assertEqual(p["StageName"], "$default")
                self.assertTrue(p["AutoDeploy"])
                fmt = json.loads(p["AccessLogSettings"]["Format"])
                self.assertEqual(fmt["requestId"], "$context.requestId")
                self.assertEqual(fmt["routeKey"], "$context.routeKey")
                self.assertEqual(fmt["status"], "$context.status")
                self.assertIn("$context.responseLatency", fmt.values())
                self.assertFalse([v for v in fmt.values() if "path" in v or "querystring" in v.lower()])
                self.assertGreater(p["DefaultRouteSettings"]["ThrottlingBurstLimit"], 0)
                self.assertGreater(p["DefaultRouteSettings"]["ThrottlingRateLimit"], 0)
                sam_p = self.sam.http_stage()[1]["Properties"]
                self.assertEqual(json.loads(sam_p["AccessLogSettings"]["Format"]), fmt)
                self.assertEqual(sam_p["DefaultRouteSettings"], p["DefaultRouteSettings"])

    # ------------------------------------------------------------------- IAM
    def test_least_privilege(self):
        expected = {
            "consultation-create": {(a, "table") for a in API_ITEM_ACTIONS},
            "consultation-view": {(a, "table") for a in API_ITEM_ACTIONS},
            "embeddable-url": {(a, "table") for a in API_ITEM_ACTIONS},
            # Item actions on the table (DeleteItem: a provider's move removes
            # the visit's due task), Query on the table (a visit's chat, the
            # visits' statistics rows, the franchise's concerns) and the indexes.
            "embed-pages": {(a, "table") for a in API_ITEM_ACTIONS | {"dynamodb:DeleteItem", "dynamodb:Query"}}
            | {("dynamodb:Query", "table-index")},
            "v2-consultations": {(a, "table") for a in API_ITEM_ACTIONS} | {("dynamodb:Query", "table-index")},
            "v2-followups": {(a, "table") for a in API_ITEM_ACTIONS} | {("dynamodb:Query", "table-index")},
            "v2-embed": {(a, "table") for a in API_ITEM_ACTIONS},
            # The stream; updates of its outbox items (marked relayed, dead-lettered).
            RELAY: {(a, "table-stream") for a in ("dynamodb:DescribeStream", "dynamodb:GetRecords",
                                                  "dynamodb:GetShardIterator", "dynamodb:ListStreams")}
            | {("dynamodb:UpdateItem", "table"), ("events:PutEvents", "bus"), ("sqs:SendMessage", "queue")},
            # gsi1's outbox partitions, the bus, updates of outbox items.
            REDRIVE: {("dynamodb:Query", "table-index"), ("dynamodb:UpdateItem", "table"), ("events:PutEvents", "bus")},
            # The sender's identity only; sqs:SendMessage: its own DLQ (failed
            # asynchronous invocations, sent by Lambda with the role).
            NOTIFIER: {(a, "table") for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")}
            | {("ses:SendEmail", "ses-identity"), ("sqs:SendMessage", "queue")},
            # Keyed reads and writes and Query on the table (subscriptions,
            # deliveries), Query on gsi1 (the event list); redeliveries to the
            # work queue; a deleted queue's client disconnected.
            V2_EVENTS: {(a, "table") for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query")}
            | {("dynamodb:Query", "table-index"), ("sqs:SendMessage", "queue"),
               ("execute-api:ManageConnections", "websocket-api")},
            # Its two SQS sources, the work it sends, the stream's frames, the
            # operator's e-mail (only with a sender).
            DISPATCHER: {(a, "table") for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                                                "dynamodb:DeleteItem", "dynamodb:Query")}
            | {(a, "queue") for a in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                      "sqs:ChangeMessageVisibility", "sqs:SendMessage")}
            | {("execute-api:ManageConnections", "websocket-api"), ("ses:SendEmail", "ses-identity")},
            STREAM: {(a, "table") for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")}
            | {("sqs:SendMessage", "queue"), ("execute-api:ManageConnections", "websocket-api")},
            # Keyed reads and writes, Query of a visit's partition (its
            # connections); frames to its connections.
            LIVE: {(a, "table") for a in ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem",
                                          "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query")}
            | {("execute-api:ManageConnections", "websocket-api")},
            # The patient side. DeleteItem: a revoked or burnt token, a move's
            # due task and released cells; Query on the table: a visit's chat,
            # a provider's cells.
            "patient-sso": {(a, "table") for a in API_ITEM_ACTIONS | {"dynamodb:DeleteItem"}},
            "rooms": {(a, "table") for a in API_ITEM_ACTIONS | {"dynamodb:Query"}} | {("dynamodb:Query", "table-index")},
            "providers": {(a, "table") for a in API_ITEM_ACTIONS} | {("dynamodb:Query", "table-index")},
            # The franchise's own concerns: Query of T#{tenant}#CONCERNS.
            "intakes": {(a, "table") for a in API_ITEM_ACTIONS} | {("dynamodb:Query", "table")},
            # Chime SDK meetings of its account and region (the video keys); frames
            # to the visits' connections (moves, chat, presence, a dismissal's close).
            "visits": {(a, "table") for a in API_ITEM_ACTIONS | {"dynamodb:DeleteItem", "dynamodb:Query"}}
            | {("dynamodb:Query", "table-index"), ("execute-api:ManageConnections", "websocket-api")}
            | {(a, "literal:arn::chime:::meeting/*")
               for a in ("chime:CreateMeeting", "chime:CreateAttendee", "chime:DeleteMeeting")}
            # ... and the snapshots' objects (t/* of the bucket; asserted in test_snapshot_bucket);
            # the invitations' e-mail (only with a sender).
            | {(a, "snapshot-bucket") for a in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject")}
            | {("ses:SendEmail", "ses-identity")},
            "patient-app": {(a, "table") for a in API_ITEM_ACTIONS | {"dynamodb:DeleteItem", "dynamodb:Query"}}
            | {("dynamodb:Query", "table-index")},
            # Its messages' records; SES on the sender's identity; the
            # schedules of its group; the scheduler's role passed; its DLQ.
            VISIT_NOTIFIER: {(a, "table") for a in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")}
            | {("ses:SendEmail", "ses-identity"), ("sqs:SendMessage", "queue"),
               ("scheduler:CreateSchedule", "schedule-group"), ("scheduler:DeleteSchedule", "schedule-group"),
               ("iam:PassRole", "role")},
            # The lapses' moves (with their events) and due tasks; gsi1's DUE# partitions.
            VISIT_SWEEPER: {(a, "table") for a in API_ITEM_ACTIONS | {"dynamodb:DeleteItem"}}
            | {("dynamodb:Query", "table-index")},
        }
        common = {("logs:CreateLogStream", "own-log-group"), ("logs:PutLogEvents", "own-log-group"),
                  ("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
        for name, m in self.models.items():
            for crate, lid in m.functions().items():
                with self.subTest(template=name, crate=crate):
                    perms = m.permissions(lid)
                    for action, _ in perms:
                        self.assertNotIn("*", action, "wildcard action")
                        self.assertNotEqual(action.lower(), "dynamodb:scan")
                    # New crates must be listed here with their permissions.
                    self.assertIn(crate, expected, f"{crate}: add its expected permissions to this test")
                    self.assertEqual(perms, expected[crate] | common)
                    # "*" only for X-Ray, which has no resource-level permissions.
                    self.assertEqual({a for a, k in perms if k == "*"}, {"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
                    # The deployment secret is resolved by CloudFormation: no role reads it.
                    self.assertFalse([a for a, _ in perms if a.startswith("secretsmanager:")])
        # Each function writes to its own log group, and only to it.
        for name, m in self.models.items():
            for crate, lid in m.functions().items():
                with self.subTest(template=name, crate=crate):
                    own = refs(m.res[lid]["Properties"]["LoggingConfig"])[0][0]
                    fn_role = refs(m.res[lid]["Properties"]["Role"])[0][0]
                    docs = json.dumps(m.res[fn_role]["Properties"].get("Policies", []))
                    self.assertIn(f'"{own}"', docs)

    def test_dynamodb_leading_keys(self):
        """Every DynamoDB statement on the table or its indexes is limited to the
        partition-key prefixes its function touches, the same in SAM and CDK."""
        found = {}
        for name, m in self.models.items():
            for crate, lid in m.functions().items():
                with self.subTest(template=name, crate=crate):
                    keys = m.leading_keys(lid)
                    self.assertIn(crate, LEADING_KEYS, f"{crate}: add its partition-key prefixes to LEADING_KEYS")
                    expected = {"table": LEADING_KEYS[crate]}
                    if crate in LISTING:
                        expected["table-index"] = INDEX_KEYS
                    if crate == REDRIVE:
                        expected["table-index"] = OUTBOX_INDEX_KEYS
                    if crate == VISIT_SWEEPER:
                        expected["table-index"] = DUE_INDEX_KEYS
                    self.assertEqual(keys, expected)
                    found[(name, crate)] = keys
        for crate in self.crates:
            if ("SAM", crate) in found and ("CDK", crate) in found:
                self.assertEqual(found[("SAM", crate)], found[("CDK", crate)], crate)

    def test_leading_keys_match_the_rust_key_formats(self):
        """The prefixes are those of the keys the Rust code builds: each one
        matches a key it builds, every tenant, API-key and user key is covered,
        and no function may touch an account item (ACCOUNT#{id})."""
        formats = rust_partition_key_formats()
        self.assertGreaterEqual(len(formats), 8, f"partition key formats not found in shared/src: {formats}")
        roots = {f.split("#", 1)[0] for f in formats}
        # WSCONN#: a live connection of the subscription stream, by API
        # Gateway's connection id (event-stream and event-dispatcher only).
        # CORS#: the browser-origin index of the patient endpoints' preflight
        # (written by the operator's tooling with a franchise's origins).
        self.assertEqual(roots, {"T", "ACCOUNT", "APIKEY", "WSCONN", "CORS"},
                         "a new partition key root: decide which functions touch it (LEADING_KEYS, both templates)")
        globs = set().union(*LEADING_KEYS.values(), INDEX_KEYS)
        for glob in globs:
            self.assertTrue([f for f in formats if fnmatch.fnmatchcase(f, glob)], f"{glob} matches no key the code builds")
        for fmt in formats:
            covered = any(fnmatch.fnmatchcase(fmt, g) for g in globs)
            if fmt.startswith(("T#", "APIKEY#", "WSCONN#")) or "#USER#" in fmt:
                self.assertTrue(covered, f"{fmt}: no function may touch it")
        self.assertIn("ACCOUNT#x", formats)
        self.assertFalse([g for g in globs if fnmatch.fnmatchcase("ACCOUNT#x", g)], "account items are the operator's")
        # The outbox index partitions the re-drive queries are those the code builds.
        keys_rs = (ROOT / "shared" / "src" / "store" / "keys.rs").read_text()
        built = {re.sub(r"\{[^}]*\}", "x", f) for f in re.findall(r'format!\("(OUTBOX#[^"]+)"', keys_rs)}
        self.assertTrue(built, "keys.rs builds no OUTBOX# index partition")
        for glob in OUTBOX_INDEX_KEYS:
            self.assertTrue(all(fnmatch.fnmatchcase(f, glob) for f in built), f"{glob}: {built}")
        # So are the due tasks' the sweeper queries (gsi1 DUE#{hour}).
        due = {re.sub(r"\{[^}]*\}", "x", f) for f in re.findall(r'format!\("(DUE#[^"]+)"', keys_rs)}
        self.assertTrue(due, "keys.rs builds no DUE# index partition")
        for glob in DUE_INDEX_KEYS:
            self.assertTrue(all(fnmatch.fnmatchcase(f, glob) for f in due), f"{glob}: {due}")

    # ---------------------------------------------------------------- secret
    def secret(self, name, m):
        secrets = m.of_type("AWS::SecretsManager::Secret")
        self.assertEqual(len(secrets), 1, f"{name}: one secret")
        (lid, s), = secrets.items()
        # Retained: a new value would orphan the cursors and patient-key hashes.
        self.assertEqual(s.get("DeletionPolicy"), "Retain")
        self.assertEqual(s.get("UpdateReplacePolicy"), "Retain")
        gen = s["Properties"]["GenerateSecretString"]
        self.assertEqual(int(gen["PasswordLength"]), 64)
        self.assertIs(gen["ExcludePunctuation"], True)
        self.assertFalse(gen.get("IncludeSpace", False))
        self.assertNotIn("SecretString", s["Properties"])
        # Never rotated automatically.
        self.assertFalse(m.of_type("AWS::SecretsManager::RotationSchedule"), f"{name}: no rotation")
        self.assertEqual(m.t["Conditions"][SECRET_CONDITION],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": SECRET_VERSION_PARAMETER}, ""]}]})
        # Every function gets it as a dynamic reference: resolved by
        # CloudFormation, never read at run time.
        secret_kind = ("ref", "AWS::SecretsManager::Secret")
        expected = {
            "if": SECRET_CONDITION,
            "then": ["{{resolve:secretsmanager:", secret_kind, ":SecretString:::", ("ref", SECRET_VERSION_PARAMETER), "}}"],
            "else": ["{{resolve:secretsmanager:", secret_kind, ":SecretString}}"],
        }
        for crate, fn in m.functions().items():
            self.assertEqual(m.env_tokens(fn, "EMBEDCARE_SECRET"), expected, f"{name}: {crate}")
        p = m.t["Parameters"][SECRET_VERSION_PARAMETER]
        return {"generate": {k: str(v) for k, v in gen.items()},
                "parameter": {k: str(v) for k, v in p.items() if k != "Description"}}

    def test_deployment_secret(self):
        found = {name: self.secret(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])
        self.assertEqual(found["SAM"]["parameter"]["Default"], "")

    # ----------------------------------------------------------- rate limits
    def throttles(self, name, m):
        """route key -> "public" | "api", from the stage's RouteSettings."""
        stage_lid, stage = m.http_stage()
        settings = stage["Properties"].get("RouteSettings", {})
        routes = self.function_routes(m)
        every = {k for keys in routes.values() for k in keys}
        self.assertEqual(set(settings), every, f"{name}: RouteSettings must list every route")
        kinds = {}
        for key, s in settings.items():
            kind = "public" if any(key in routes[c] for c in PUBLIC_CRATES) else "api"
            burst, rate = THROTTLE_PARAMETERS[kind]
            self.assertEqual(s, {"ThrottlingBurstLimit": {"Ref": burst}, "ThrottlingRateLimit": {"Ref": rate}}, key)
            kinds[key] = kind
        self.assertEqual({k for k, v in kinds.items() if v == "public"},
                         {"ANY /{locale}/embed/{proxy+}", "GET /embed/static/{proxy+}", "GET /sdk/{proxy+}",
                          "ANY /auth", "ANY /u/clinic", "ANY /visits/{proxy+}", "ANY /members/appointment/{visitId}", "ANY /members/invitation/{visitId}",
                          "GET /clinic/static/{proxy+}"})
        # The routes must exist before the stage names them.
        depends = stage.get("DependsOn", [])
        depends = set([depends] if isinstance(depends, str) else depends)
        route_lids = {lid for lid, r in m.of_type("AWS::ApiGatewayV2::Route").items()
                      if m.protocol(m.api_of(r)) == "HTTP"}
        self.assertLessEqual(route_lids, depends, f"{name}: the stage depends on every route")
        params = {}
        for pair in THROTTLE_PARAMETERS.values():
            for pname in pair:
                p = m.t["Parameters"][pname]
                self.assertEqual(p["Type"], "Number")
                params[pname] = (int(p["Default"]), int(p["MinValue"]))
        return kinds, params

    def test_route_throttles(self):
        found = {name: self.throttles(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])
        _, params = found["SAM"]
        # The public pages get less than the vendor API by default.
        self.assertLess(params["PublicRouteRateLimit"][0], params["ApiRouteRateLimit"][0])

    def test_reserved_concurrency(self):
        found = {}
        for name, m in self.models.items():
            for crate, lid in m.functions().items():
                with self.subTest(template=name, crate=crate):
                    reserved = m.res[lid]["Properties"].get("ReservedConcurrentExecutions")
                    if crate not in RESERVED:
                        self.assertIsNone(reserved, "API functions are unreserved (route throttling bounds them)")
                        continue
                    param, cond, default = RESERVED[crate]
                    self.assertEqual(reserved, {"Fn::If": [cond, {"Ref": param}, {"Ref": "AWS::NoValue"}]})
                    self.assertEqual(m.t["Conditions"][cond], {"Fn::Not": [{"Fn::Equals": [{"Ref": param}, "0"]}]})
                    p = m.t["Parameters"][param]
                    self.assertEqual((p["Type"], int(p["Default"]), int(p["MinValue"])), ("Number", default, 0))
                    found[(name, crate)] = {k: str(v) for k, v in p.items() if k != "Description"}
        for crate in RESERVED:
            self.assertEqual(found[("SAM", crate)], found[("CDK", crate)])

    def test_shared_parameters_match(self):
        """A parameter in both templates has the same type, default and bounds."""
        keys = ("Type", "Default", "MinValue", "MaxValue", "AllowedValues", "AllowedPattern")
        norm = lambda p: {k: [str(x) for x in p[k]] if isinstance(p[k], list) else str(p[k]) for k in keys if k in p}
        sam, cdk = self.sam.t["Parameters"], self.cdk.t["Parameters"]
        shared = set(sam) & set(cdk)
        self.assertGreaterEqual(shared, {SECRET_VERSION_PARAMETER, *RESERVED_PARAMETERS(), *THROTTLE_NAMES()})
        for pname in shared:
            self.assertEqual(norm(sam[pname]), norm(cdk[pname]), pname)

    # ------------------------------------------------------------- ordering
    def test_relay_claims_no_order(self):
        """The relay delivers at least once, in stream order per item only:
        nothing may promise consumers ordered events."""
        files = [ROOT / "infra" / "template.yaml", ROOT / "infra" / "cdk" / "lib" / "embedcare-stack.ts",
                 ROOT / "infra" / "README.md"]
        for path in files:
            with self.subTest(file=path.name):
                text = re.sub(r"\s+", " ", path.read_text())
                self.assertIsNone(re.search(r"(?i)keeps? (the )?events[^.]* in order", text), "an order claim")
                self.assertTrue("data.version" in text, "say consumers order an entity's events by data.version")
                self.assertTrue(re.search(r"(?i)at least once", text), "say delivery is at least once")

    # ------------------------------------------------------------------- WAF
    def waf(self, name, m, sam):
        """The CloudFront distribution and web ACL, normalised."""
        dists = m.of_type("AWS::CloudFront::Distribution")
        acls = m.of_type("AWS::WAFv2::WebACL")
        self.assertEqual((len(dists), len(acls)), (1, 1), name)
        (dist_lid, dist), = dists.items()
        (acl_lid, acl), = acls.items()
        self.assertEqual(dist.get("Condition"), "WafEnabled" if sam else None)
        self.assertEqual(acl.get("Condition"), "CreateWebAcl")
        self.assertEqual(m.t["Conditions"]["CreateWebAcl"]["Fn::And"][-2:], [
            {"Fn::Equals": [{"Ref": "WebAclArn"}, ""]}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}])
        rule = m.t["Rules"]["WafNeedsWebAclOutsideUsEast1"]
        self.assertEqual(rule["Assertions"][0]["Assert"], {"Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebAclArn"}, ""]}]},
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]})
        c = dist["Properties"]["DistributionConfig"]
        self.assertEqual(c["WebACLId"], {"Fn::If": ["CreateWebAcl", {"Fn::GetAtt": [acl_lid, "Arn"]}, {"Ref": "WebAclArn"}]})
        (origin,) = c["Origins"]
        b = c["DefaultCacheBehavior"]
        self.assertEqual(b["TargetOriginId"], origin["Id"])
        # HTTPS only on both sides; nothing cached; every header but Host forwarded.
        self.assertEqual(b["ViewerProtocolPolicy"], "https-only")
        self.assertEqual(origin["CustomOriginConfig"]["OriginProtocolPolicy"], "https-only")
        self.assertEqual(b["CachePolicyId"], CACHING_DISABLED)
        self.assertEqual(b["OriginRequestPolicyId"], ALL_VIEWER_EXCEPT_HOST_HEADER)
        self.assertEqual(set(b["AllowedMethods"]), {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"})
        self.assertNotIn("ForwardedValues", b)
        self.assertEqual(tokens(m, origin["DomainName"]), [
            ("ref", "AWS::ApiGatewayV2::Api"), ".execute-api.", ("ref", "AWS::Region"), ".", ("ref", "AWS::URLSuffix")])
        p = acl["Properties"]
        self.assertEqual(p["Scope"], "CLOUDFRONT")
        self.assertEqual(p["DefaultAction"], {"Allow": {}})
        self.assertTrue(p["VisibilityConfig"]["CloudWatchMetricsEnabled"])
        rules = {r["Name"]: r for r in p["Rules"]}
        rate = rules["RateLimitPerIp"]
        self.assertEqual(rate["Action"], {"Block": {}})
        self.assertEqual(rate["Statement"]["RateBasedStatement"],
                         {"AggregateKeyType": "IP", "Limit": {"Ref": "WafRateLimit"}, "EvaluationWindowSec": 300})
        self.assertEqual(rules["AWSManagedRulesKnownBadInputsRuleSet"]["OverrideAction"], {"None": {}})
        self.assertEqual(rules["AWSManagedRulesCommonRuleSet"]["OverrideAction"], {"Count": {}})
        for r in p["Rules"]:
            self.assertTrue(r["VisibilityConfig"]["CloudWatchMetricsEnabled"], r["Name"])
        self.assertEqual(len({r["Priority"] for r in p["Rules"]}), len(p["Rules"]))
        # The pages are served through the distribution (unless AppBaseUrl).
        base = m.env_value(next(iter(m.functions().values())), "EMBEDCARE_APP_BASE_URL")
        self.assertIn((dist_lid, "DomainName"), refs(base))
        # Output: the distribution's domain.
        out = m.t["Outputs"]["CloudFrontDomainName"]
        self.assertEqual(out["Value"], {"Fn::GetAtt": [dist_lid, "DomainName"]})
        self.assertEqual(out.get("Condition"), "WafEnabled" if sam else None)
        params = {k: {x: str(y) for x, y in m.t["Parameters"][k].items() if x != "Description"}
                  for k in ("WebAclArn", "WafRateLimit")}
        rules_norm = sorted((r["Priority"], r["Name"], json.dumps(r.get("Action") or r.get("OverrideAction")),
                             json.dumps(r["Statement"], sort_keys=True)) for r in p["Rules"])
        behavior = {k: v for k, v in b.items() if k != "TargetOriginId"}
        config = {k: v for k, v in c.items() if k not in ("Origins", "DefaultCacheBehavior", "WebACLId", "Comment")}
        return {"params": params, "rules": rules_norm, "behavior": behavior, "config": config,
                "origin": origin["CustomOriginConfig"]}

    def test_optional_waf(self):
        sam = self.sam.t
        self.assertEqual(sam["Parameters"]["EnableWaf"]["Default"], "false")
        self.assertEqual(sorted(sam["Parameters"]["EnableWaf"]["AllowedValues"]), ["false", "true"])
        self.assertEqual(sam["Parameters"]["WebAclArn"]["Default"], "")
        self.assertEqual(sam["Conditions"]["WafEnabled"], {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]})
        self.assertEqual(sam["Conditions"]["CreateWebAcl"]["Fn::And"][0], {"Condition": "WafEnabled"})
        self.assertEqual(sam["Rules"]["WafNeedsWebAclOutsideUsEast1"]["RuleCondition"],
                         {"Fn::Equals": [{"Ref": "EnableWaf"}, "true"]})
        # Off by default in CDK: nothing of it in the default synth.
        self.assertFalse(self.cdk.of_type("AWS::CloudFront::Distribution", "AWS::WAFv2::WebACL"))
        self.assertNotIn("WebAclArn", self.cdk.t["Parameters"])
        cdk_waf = Model(load_cdk_waf())
        found = {"SAM": self.waf("SAM", self.sam, True), "CDK": self.waf("CDK", cdk_waf, False)}
        self.assertEqual(found["SAM"], found["CDK"])
        # With the WAF, the CDK stack is the default one plus the WAF.
        added = set(cdk_waf.res) - set(self.cdk.res)
        self.assertEqual({cdk_waf.res[lid]["Type"] for lid in added},
                         {"AWS::CloudFront::Distribution", "AWS::WAFv2::WebACL"})

    # ----------------------------------------------------------------- table
    def test_table_matches_the_definition(self):
        d = self.definition
        for name, m in self.models.items():
            with self.subTest(template=name):
                t = m.table()
                self.assertEqual(t["attributes"], {a: "S" for a in d["stringAttributes"]})
                self.assertEqual(t["key"], {"HASH": d["partitionKey"], "RANGE": d["sortKey"]})
                self.assertEqual(
                    t["gsis"],
                    {g["indexName"]: ({"HASH": g["partitionKey"], "RANGE": g["sortKey"]}, g["projection"])
                     for g in d["globalSecondaryIndexes"]},
                )
                self.assertEqual(t["ttl"], {"AttributeName": d["ttlAttribute"], "Enabled": True})
                self.assertEqual(t["stream"], d["stream"])
                self.assertEqual(t["billing"], d["billingMode"])
                self.assertEqual(t["pitr"], d["pointInTimeRecovery"])
                self.assertEqual(t["sse"], d["serverSideEncryption"])
                self.assertTrue(t["deletion_protection"])
                self.assertEqual(t["deletion_policy"], "Retain")

    # ---------------------------------------------------------------- events
    def test_bus_archive_and_schemas(self):
        files = {f.stem: json.loads(f.read_text()) for f in sorted((ROOT / "events" / "schemas").glob("*.json"))}
        self.assertTrue(files)
        for name, m in self.models.items():
            with self.subTest(template=name):
                buses = m.of_type("AWS::Events::EventBus")
                self.assertEqual(len(buses), 1)
                bus = next(iter(buses))
                archives = list(m.of_type("AWS::Events::Archive").values())
                self.assertEqual(len(archives), 1)
                self.assertEqual(refs(archives[0]["Properties"]["SourceArn"])[0][0], bus)
                self.assertEqual(archives[0]["Properties"]["EventPattern"], {"source": ["embedcare"]})
                self.assertEqual(len(m.of_type("AWS::EventSchemas::Registry")), 1)
                schemas = {}
                for lid, s in m.of_type("AWS::EventSchemas::Schema").items():
                    p = s["Properties"]
                    self.assertEqual(p["Type"], "JSONSchemaDraft4")
                    schemas[p["SchemaName"].split("@", 1)[1]] = json.loads(p["Content"])
                self.assertEqual(schemas.keys(), files.keys(),
                                 "one AWS::EventSchemas::Schema per events/schemas/*.json (SAM: copy the file into Content)")
                for stem in files:
                    self.assertEqual(schemas[stem], files[stem], f"{name}: schema {stem} differs from events/schemas/{stem}.json")
                relay = m.functions()[RELAY]
                self.assertEqual(refs(m.env_value(relay, "EMBEDCARE_EVENT_BUS"))[0][0], bus)

    def test_example_consumer(self):
        for name, m in self.models.items():
            with self.subTest(template=name):
                # The rule(s) that send to a queue (the notifier's rule targets a function).
                # (The dispatcher's rule sends every event to its own queue: test_dispatcher.)
                dispatched = {q for qs in m.sqs_mappings().values() for q in qs}
                rules = {lid: r for lid, r in m.of_type("AWS::Events::Rule").items()
                         if any(m.res[refs(t["Arn"])[0][0]]["Type"] == "AWS::SQS::Queue"
                                and refs(t["Arn"])[0][0] not in dispatched for t in r["Properties"]["Targets"])}
                self.assertEqual(len(rules), 1)
                (rule_lid, rule), = rules.items()
                p = rule["Properties"]
                self.assertEqual(p["EventPattern"], {"source": ["embedcare"], "detail-type": ["Consultation Updated"],
                                                     "detail": {"status": ["TO_BE_ANALYZED"]}})
                self.assertEqual(m.res[refs(p["EventBusName"])[0][0]]["Type"], "AWS::Events::EventBus")
                (target,) = p["Targets"]
                queue = refs(target["Arn"])[0][0]
                self.assertEqual(m.res[queue]["Type"], "AWS::SQS::Queue")
                self.assertTrue(m.res[queue]["Properties"].get("SqsManagedSseEnabled"))
                policies = [q for q in m.of_type("AWS::SQS::QueuePolicy").values()
                            if queue in [r for r, _ in refs(q["Properties"]["Queues"])]]
                self.assertEqual(len(policies), 1)
                allows = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
                self.assertEqual(len(allows), 1)
                self.assertEqual(allows[0]["Principal"], {"Service": "events.amazonaws.com"})
                self.assertEqual(refs(allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"]), [(rule_lid, "Arn")])

    # ----------------------------------------------------------------- relay
    def test_relay_mapping(self):
        mappings = {}
        for name, m in self.models.items():
            with self.subTest(template=name):
                ms = m.stream_mappings()
                relay = m.functions()[RELAY]
                self.assertEqual(set(ms), {relay}, "only the relay reads the stream")
                r = dict(ms[relay])
                self.assertEqual(r["Source"], {"table-stream"})
                self.assertEqual(r["FunctionResponseTypes"], ["ReportBatchItemFailures"])
                self.assertTrue(r["BisectBatchOnFunctionError"])
                self.assertTrue(0 < r["MaximumRetryAttempts"] <= 10)
                self.assertTrue(60 <= r["MaximumRecordAgeInSeconds"] <= 86400)
                self.assertEqual(r["StartingPosition"], "TRIM_HORIZON")
                self.assertTrue(1 <= r["BatchSize"] <= 1000)
                self.assertEqual(r["Filters"], [{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": ["outbox"]}}}}])
                self.assertEqual(r["OnFailure"], {"queue"})
                dlq = m.res[r.pop("OnFailureQueue")]
                self.assertTrue(dlq["Properties"].get("SqsManagedSseEnabled") or dlq["Properties"].get("KmsMasterKeyId"))
                mappings[name] = r
        self.assertEqual(mappings["SAM"], mappings["CDK"])

    # --------------------------------------------------------------- redrive
    def redrive(self, name, m):
        """The re-drive's schedule: one rule, invoked from it only; what both must agree on."""
        fn = m.functions()[REDRIVE]
        rules = {lid: r for lid, r in m.of_type("AWS::Events::Rule").items()
                 if any(refs(t["Arn"])[0][0] == fn for t in r["Properties"]["Targets"])}
        self.assertEqual(len(rules), 1, f"{name}: one rule targets the re-drive")
        (rule_lid, rule), = rules.items()
        p = rule["Properties"]
        self.assertNotIn("EventBusName", p, "a schedule, on the default bus")
        self.assertNotIn("EventPattern", p)
        permissions = [x for x in m.of_type("AWS::Lambda::Permission").values()
                       if fn in [r for r, _ in refs(x["Properties"]["FunctionName"])]]
        self.assertEqual(len(permissions), 1, name)
        self.assertEqual(permissions[0]["Properties"]["Principal"], "events.amazonaws.com")
        self.assertEqual(refs(permissions[0]["Properties"]["SourceArn"]), [(rule_lid, "Arn")])
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_REDRIVE_AFTER_MINUTES")), [("RedriveAfterMinutes", None)])
        bus = next(iter(m.of_type("AWS::Events::EventBus")))
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_EVENT_BUS"))[0][0], bus)
        after = m.t["Parameters"]["RedriveAfterMinutes"]
        return {
            "schedule": p["ScheduleExpression"],
            "state": p.get("State", "ENABLED"),
            "targets": len(p["Targets"]),
            "after": {k: str(after[k]) for k in ("Type", "Default", "MinValue", "MaxValue")},
        }

    def test_outbox_redrive(self):
        found = {name: self.redrive(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])
        self.assertEqual(found["SAM"]["schedule"], "rate(5 minutes)")
        self.assertEqual(found["SAM"]["after"]["Default"], "10")

    # -------------------------------------------------------------- notifier
    def notifier(self, name, m):
        """Checks the patient notifier's wiring in one template; returns what both must agree on."""
        fn = m.functions()[NOTIFIER]
        fn_props = m.res[fn]["Properties"]
        rules = {lid: r for lid, r in m.of_type("AWS::Events::Rule").items()
                 if any(refs(t["Arn"])[0][0] == fn for t in r["Properties"]["Targets"])}
        self.assertEqual(len(rules), 1, f"{name}: one rule targets the notifier")
        (rule_lid, rule), = rules.items()
        p = rule["Properties"]
        self.assertEqual(m.res[refs(p["EventBusName"])[0][0]]["Type"], "AWS::Events::EventBus")
        self.assertEqual(p["EventPattern"], {"source": ["embedcare"],
                                             "detail-type": ["Consultation Created", "Consultation Updated"],
                                             "detail": {"status": ["SENT"]}})
        (target,) = p["Targets"]
        retry = target["RetryPolicy"]
        self.assertTrue(0 < retry["MaximumRetryAttempts"] <= 185)
        self.assertTrue(60 <= retry["MaximumEventAgeInSeconds"] <= 86400)
        # Dead letters: what the rule could not deliver and what Lambda gave
        # up on (asynchronous invocation), in one encrypted queue.
        (dlq, _), = refs(target["DeadLetterConfig"]["Arn"])
        self.assertEqual(m.res[dlq]["Type"], "AWS::SQS::Queue")
        self.assertTrue(m.res[dlq]["Properties"].get("SqsManagedSseEnabled"))
        fn_dlq = fn_props.get("DeadLetterQueue", {}).get("TargetArn") or fn_props.get("DeadLetterConfig", {}).get("TargetArn")
        self.assertEqual(refs(fn_dlq), [(dlq, "Arn")], f"{name}: the function's DLQ is the rule's")
        policies = {lid: q for lid, q in m.of_type("AWS::SQS::QueuePolicy").items()
                    if dlq in [r for r, _ in refs(q["Properties"]["Queues"])]}
        self.assertEqual(len(policies), 1)
        allows = [s for q in policies.values() for s in q["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
        self.assertEqual(len(allows), 1)
        self.assertEqual(allows[0]["Principal"], {"Service": "events.amazonaws.com"})
        self.assertEqual(allows[0]["Action"], "sqs:SendMessage")
        self.assertEqual(refs(allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"]), [(rule_lid, "Arn")])
        # Invoked by this rule only: one permission, events.amazonaws.com, SourceArn the rule.
        permissions = {lid: x for lid, x in m.of_type("AWS::Lambda::Permission").items()
                       if fn in [r for r, _ in refs(x["Properties"]["FunctionName"])]}
        self.assertEqual(len(permissions), 1, f"{name}: {sorted(permissions)}")
        (perm_lid, perm), = permissions.items()
        self.assertEqual(perm["Properties"]["Principal"], "events.amazonaws.com")
        self.assertEqual(perm["Properties"]["Action"], "lambda:InvokeFunction")
        self.assertEqual(refs(perm["Properties"]["SourceArn"]), [(rule_lid, "Arn")])
        # The dead-letter queue is alarmed.
        dlq_alarms = [lid for lid, a in m.of_type("AWS::CloudWatch::Alarm").items()
                      if a["Properties"].get("Namespace") == "AWS/SQS"
                      and dlq in [r for d in a["Properties"].get("Dimensions", []) for r, _ in refs(d["Value"])]]
        self.assertEqual(len(dlq_alarms), 1)
        # Sender and link life from the parameters.
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_SES_SENDER")), [(SES_SENDER_PARAMETER, None)])
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_ANSWER_LINK_TTL_SECONDS")), [("AnswerLinkTtlSeconds", None)])
        ttl = m.t["Parameters"]["AnswerLinkTtlSeconds"]
        self.assertEqual((ttl["Type"], int(ttl["Default"]), int(ttl["MinValue"]), int(ttl["MaxValue"])),
                         ("Number", 604800, 300, 2592000))
        # Deployed only with a sender: exactly the notifier's resources carry
        # the condition (so the SES permission exists only with the sender).
        self.assertEqual(m.t["Conditions"][SES_CONDITION],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": SES_SENDER_PARAMETER}, ""]}]})
        role = refs(fn_props["Role"])[0][0]
        log_group = refs(fn_props["LoggingConfig"])[0][0]
        fn_alarms = [lid for lid, a in m.of_type("AWS::CloudWatch::Alarm").items()
                     if fn in [r for d in a["Properties"].get("Dimensions", []) for r, _ in refs(d["Value"])]]
        role_policies = [lid for lid, x in m.of_type("AWS::IAM::Policy").items()
                         if role in [r for r, _ in refs(x["Properties"].get("Roles", []))]]
        notifier_resources = {fn, role, log_group, rule_lid, perm_lid, dlq, *policies, *dlq_alarms, *fn_alarms, *role_policies}
        # The dispatcher's e-mail to the operator: its SES policy exists
        # exactly when the sender does, too.
        # So do the visits' invitations (the visits function's policy).
        email = set()
        for crate in (DISPATCHER, "visits"):
            crate_role = refs(m.res[m.functions()[crate]]["Properties"]["Role"])[0][0]
            found = {lid for lid, x in m.of_type("AWS::IAM::Policy").items()
                     if crate_role in [r for r, _ in refs(x["Properties"].get("Roles", []))]
                     and any("ses:SendEmail" in json.dumps(st) for st in x["Properties"]["PolicyDocument"]["Statement"])}
            self.assertEqual(len(found), 1, f"{name}: the {crate} function's e-mail policy")
            email |= found
        self.assertEqual(refs(m.env_value(m.functions()["visits"], "EMBEDCARE_SES_SENDER")),
                         [(SES_SENDER_PARAMETER, None)])
        conditional = {lid for lid, r in m.res.items() if r.get("Condition") == SES_CONDITION}
        # The visit notifier's block too (test_visit_notifier).
        visit = {lid for lid in m.res if lid.startswith("VisitNotifier")}
        self.assertIn(m.functions()[VISIT_NOTIFIER], visit)
        self.assertEqual(conditional, notifier_resources | email | visit, f"{name}: resources under {SES_CONDITION}")
        self.assertEqual(len(fn_alarms), 2)
        return {
            "pattern": p["EventPattern"],
            "retry": retry,
            "state": p.get("State", "ENABLED"),
            "types": sorted(m.res[lid]["Type"].replace("AWS::Serverless::Function", "AWS::Lambda::Function")
                            for lid in notifier_resources if m.res[lid]["Type"] != "AWS::IAM::Policy"),
        }

    def test_patient_notifier(self):
        found = {}
        for name, m in self.models.items():
            with self.subTest(template=name):
                found[name] = self.notifier(name, m)
        self.assertEqual(found["SAM"], found["CDK"])

    # ------------------------------------------------------- the patient side
    def visit_notifier(self, name, m):
        """The visit notifier: the rule on scheduled visits' events, and the
        reminders' schedules (their group, the role the scheduler assumes,
        which may invoke the notifier only); what both templates must agree on."""
        fn = m.functions()[VISIT_NOTIFIER]
        props = m.res[fn]["Properties"]
        self.assertEqual(m.res[fn].get("Condition"), SES_CONDITION)
        rules = {lid: r for lid, r in m.of_type("AWS::Events::Rule").items()
                 if any(refs(t["Arn"])[0][0] == fn for t in r["Properties"]["Targets"])}
        self.assertEqual(len(rules), 1, f"{name}: one rule targets the visit notifier")
        (rule_lid, rule), = rules.items()
        p = rule["Properties"]
        self.assertEqual(m.res[refs(p["EventBusName"])[0][0]]["Type"], "AWS::Events::EventBus")
        (target,) = p["Targets"]
        (dlq, _), = refs(target["DeadLetterConfig"]["Arn"])
        self.assertTrue(m.res[dlq]["Properties"].get("SqsManagedSseEnabled"))
        fn_dlq = props.get("DeadLetterQueue", {}).get("TargetArn") or props.get("DeadLetterConfig", {}).get("TargetArn")
        self.assertEqual(refs(fn_dlq), [(dlq, "Arn")])
        # Invoked by the rule (a permission) and by the scheduler (its role): nothing else.
        permissions = [x for x in m.of_type("AWS::Lambda::Permission").values()
                       if fn in [r for r, _ in refs(x["Properties"]["FunctionName"])]]
        self.assertEqual(len(permissions), 1, name)
        self.assertEqual(permissions[0]["Properties"]["Principal"], "events.amazonaws.com")
        self.assertEqual(refs(permissions[0]["Properties"]["SourceArn"]), [(rule_lid, "Arn")])
        # Its schedules' group, and the role they invoke it with.
        groups = m.of_type("AWS::Scheduler::ScheduleGroup")
        self.assertEqual(len(groups), 1, name)
        (group,) = groups
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_SCHEDULE_GROUP")), [(group, None)])
        (role, attr), = refs(m.env_value(fn, "EMBEDCARE_SCHEDULER_ROLE_ARN"))
        self.assertEqual((m.res[role]["Type"], attr), ("AWS::IAM::Role", "Arn"))
        trust = m.res[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual([s["Principal"] for s in trust], [{"Service": "scheduler.amazonaws.com"}])
        self.assertEqual(trust[0]["Condition"], {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}})
        self.assertFalse(m.res[role]["Properties"].get("ManagedPolicyArns"))
        role_statements = [s for pol in m.res[role]["Properties"]["Policies"] for s in pol["PolicyDocument"]["Statement"]]
        role_statements += [s for x in m.of_type("AWS::IAM::Policy").values()
                            if role in [r for r, _ in refs(x["Properties"].get("Roles", []))]
                            for s in x["Properties"]["PolicyDocument"]["Statement"]]
        self.assertEqual(len(role_statements), 1, f"{name}: the scheduler's role may invoke the notifier only")
        (invoke,) = role_statements
        self.assertEqual(invoke["Action"], "lambda:InvokeFunction")
        # The function's own ARN (its fixed name): what the schedules target.
        target_arn = tokens(m, m.env_value(fn, "EMBEDCARE_SCHEDULE_TARGET_ARN"))
        self.assertEqual(tokens(m, invoke["Resource"]), target_arn)
        self.assertEqual(tokens(m, props["FunctionName"]), [("ref", "AWS::StackName"), "-visit-notifier"])
        self.assertEqual(target_arn, ["arn:", ("ref", "AWS::Partition"), ":lambda:", ("ref", "AWS::Region"), ":",
                                      ("ref", "AWS::AccountId"), ":function:", ("ref", "AWS::StackName"), "-visit-notifier"])
        # Its own role: the group's schedules only, that role only (to the scheduler only).
        by_action = {}
        for actions, _, condition in m.statements(fn):
            for a in actions:
                by_action[a] = condition
        st = [s for doc in [pol["PolicyDocument"] for pol in m.res[refs(props["Role"])[0][0]]["Properties"]["Policies"]]
              for s in doc["Statement"] if "iam:PassRole" in json.dumps(s["Action"])]
        self.assertEqual(len(st), 1)
        self.assertEqual(refs(st[0]["Resource"]), [(role, "Arn")])
        self.assertEqual(st[0]["Condition"], {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}})
        sched = [s for doc in [pol["PolicyDocument"] for pol in m.res[refs(props["Role"])[0][0]]["Properties"]["Policies"]]
                 for s in doc["Statement"] if "scheduler:CreateSchedule" in json.dumps(s["Action"])]
        self.assertEqual(len(sched), 1)
        self.assertEqual(tokens(m, sched[0]["Resource"]), [
            "arn:", ("ref", "AWS::Partition"), ":scheduler:", ("ref", "AWS::Region"), ":", ("ref", "AWS::AccountId"),
            ":schedule/", ("ref", "AWS::Scheduler::ScheduleGroup"), "/*"])
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_SES_SENDER")), [(SES_SENDER_PARAMETER, None)])
        for lid in (rule_lid, dlq, group, role):
            self.assertEqual(m.res[lid].get("Condition"), SES_CONDITION, f"{name}: {lid}")
        dlq_alarms = [lid for lid, a in m.of_type("AWS::CloudWatch::Alarm").items()
                      if a["Properties"].get("Namespace") == "AWS/SQS"
                      and dlq in [r for d in a["Properties"].get("Dimensions", []) for r, _ in refs(d["Value"])]]
        self.assertEqual(len(dlq_alarms), 1)
        self.assertEqual(tokens(m, m.res[group]["Properties"]["Name"]), [("ref", "AWS::StackName"), "-visits"])
        return {"pattern": p["EventPattern"], "retry": target["RetryPolicy"], "state": p.get("State", "ENABLED")}

    def test_visit_notifier(self):
        found = {name: self.visit_notifier(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])
        self.assertEqual(found["SAM"]["pattern"], {"source": ["embedcare"], "detail-type": ["Visit Created", "Visit Updated"],
                                                   "detail": {"data": {"type": ["SCHEDULED"]}}})
        retry = found["SAM"]["retry"]
        self.assertTrue(0 < retry["MaximumRetryAttempts"] <= 185)
        self.assertTrue(60 <= retry["MaximumEventAgeInSeconds"] <= 86400)

    def visit_sweeper(self, name, m):
        fn = m.functions()[VISIT_SWEEPER]
        self.assertIsNone(m.res[fn].get("Condition"), "the sweeper needs no sender")
        rules = {lid: r for lid, r in m.of_type("AWS::Events::Rule").items()
                 if any(refs(t["Arn"])[0][0] == fn for t in r["Properties"]["Targets"])}
        self.assertEqual(len(rules), 1, f"{name}: one rule targets the sweeper")
        (rule_lid, rule), = rules.items()
        p = rule["Properties"]
        self.assertNotIn("EventBusName", p, "a schedule, on the default bus")
        self.assertNotIn("EventPattern", p)
        permissions = [x for x in m.of_type("AWS::Lambda::Permission").values()
                       if fn in [r for r, _ in refs(x["Properties"]["FunctionName"])]]
        self.assertEqual(len(permissions), 1, name)
        self.assertEqual(permissions[0]["Properties"]["Principal"], "events.amazonaws.com")
        self.assertEqual(refs(permissions[0]["Properties"]["SourceArn"]), [(rule_lid, "Arn")])
        # Its index statement: gsi1 only.
        for actions, kinds, _ in m.statements(fn):
            if kinds == {"table-index"}:
                st = [s for pol in m.res[refs(m.res[fn]["Properties"]["Role"])[0][0]]["Properties"]["Policies"]
                      for s in pol["PolicyDocument"]["Statement"] if s.get("Sid") == "Indexes"]
                self.assertEqual(len(st), 1)
                self.assertEqual(text_of(st[0]["Resource"]), "/index/gsi1")
        return {"schedule": p["ScheduleExpression"], "state": p.get("State", "ENABLED"), "targets": len(p["Targets"])}

    def test_visit_sweeper(self):
        found = {name: self.visit_sweeper(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])
        self.assertEqual(found["SAM"]["schedule"], "rate(5 minutes)")

    # ------------------------------------------------- events outside AWS
    def dispatcher(self, name, m):
        """The dispatcher's wiring in one template; what both must agree on."""
        fn = m.functions()[DISPATCHER]
        props = m.res[fn]["Properties"]
        mappings = m.sqs_mappings()
        self.assertEqual(set(mappings), {fn}, f"{name}: only the dispatcher reads SQS")
        queues = mappings[fn]
        self.assertEqual(len(queues), 2, f"{name}: the events queue and the work queue")
        for q, (batch, types) in queues.items():
            self.assertEqual(types, ["ReportBatchItemFailures"], q)
            self.assertTrue(1 <= batch <= 10, q)
        # The rule: every embedcare event, to the events queue.
        rules = {lid: r for lid, r in m.of_type("AWS::Events::Rule").items()
                 if any(refs(t["Arn"])[0][0] in queues for t in r["Properties"]["Targets"])}
        self.assertEqual(len(rules), 1, f"{name}: one rule feeds the dispatcher")
        (rule_lid, rule), = rules.items()
        self.assertEqual(rule["Properties"]["EventPattern"], {"source": ["embedcare"]})
        (target,) = rule["Properties"]["Targets"]
        events_q = refs(target["Arn"])[0][0]
        (work_q,) = set(queues) - {events_q}
        self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_WORK_QUEUE_URL")), [(work_q, None)])
        policies = [q for q in m.of_type("AWS::SQS::QueuePolicy").values()
                    if events_q in [r for r, _ in refs(q["Properties"]["Queues"])]]
        allows = [st for q in policies for st in q["Properties"]["PolicyDocument"]["Statement"] if st["Effect"] == "Allow"]
        self.assertEqual(len(allows), 1)
        self.assertEqual(allows[0]["Principal"], {"Service": "events.amazonaws.com"})
        self.assertEqual(refs(allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"]), [(rule_lid, "Arn")])
        timeout = int(m.prop(m.res[fn], "Timeout"))
        out = {"retry": target["RetryPolicy"]}
        for kind, q in (("events", events_q), ("work", work_q)):
            qp = m.res[q]["Properties"]
            self.assertTrue(qp.get("SqsManagedSseEnabled"), q)
            # Visibility at least six times the function's timeout.
            self.assertGreaterEqual(int(qp["VisibilityTimeout"]), 6 * timeout, q)
            # Kept beyond the three days of webhook retries.
            self.assertGreater(int(qp["MessageRetentionPeriod"]), 3 * 24 * 3600, q)
            redrive = qp["RedrivePolicy"]
            dlq = refs(redrive["deadLetterTargetArn"])[0][0]
            self.assertTrue(m.res[dlq]["Properties"].get("SqsManagedSseEnabled"))
            alarmed = [a for a in m.of_type("AWS::CloudWatch::Alarm").values()
                       if a["Properties"].get("Namespace") == "AWS/SQS"
                       and dlq in [r for d in a["Properties"]["Dimensions"] for r, _ in refs(d["Value"])]]
            self.assertEqual(len(alarmed), 1, f"{name}: {dlq} is alarmed")
            out[kind] = {"receives": int(redrive["maxReceiveCount"]), "visibility": int(qp["VisibilityTimeout"]),
                         "retention": int(qp["MessageRetentionPeriod"])}
        # A fan-out failure dead-letters fast; a webhook attempt is retried for days.
        self.assertLessEqual(out["events"]["receives"], 10)
        self.assertGreaterEqual(out["work"]["receives"], 500)
        # What it may do to the queues: read both, send and retry later on the work queue only.
        by_action = {}
        role = refs(props["Role"])[0][0]
        docs = [p["PolicyDocument"] for p in m.res[role]["Properties"]["Policies"]]
        for doc in docs:
            for st in doc["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                for a in actions:
                    if a.startswith("sqs:"):
                        by_action.setdefault(a, set()).update(lid for lid, _ in refs(st["Resource"]))
        self.assertEqual(by_action["sqs:SendMessage"], {work_q})
        self.assertEqual(by_action["sqs:ReceiveMessage"], {events_q, work_q})
        return out

    def test_dispatcher(self):
        found = {name: self.dispatcher(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])

    def stream_api(self, name, m, crate=STREAM, posters=(V2_EVENTS, STREAM, DISPATCHER),
                   endpoint_var="EMBEDCARE_WEBSOCKET_ENDPOINT"):
        apis = {lid: a for lid, a in m.of_type("AWS::ApiGatewayV2::Api").items()
                if a["Properties"]["ProtocolType"] == "WEBSOCKET"}
        self.assertEqual(len(apis), 2, f"{name}: two WebSocket APIs (the stream's, the visits')")
        routes = m.routes("WEBSOCKET")
        fn = m.functions()[crate]
        self.assertEqual(routes.get(fn), {"$connect", "$disconnect", "$default"}, f"{name}: {crate}'s routes")
        self.assertEqual(set(routes), {m.functions()[STREAM], m.functions()[LIVE]})
        integ_api = {m.api_of(i) for i in m.of_type("AWS::ApiGatewayV2::Integration").values()
                     if fn in [r for r, _ in refs(i["Properties"]["IntegrationUri"])]}
        self.assertEqual(len(integ_api), 1)
        api_lid = integ_api.pop()
        api = apis[api_lid]
        for lid, r in m.of_type("AWS::ApiGatewayV2::Route").items():
            if m.api_of(r) == api_lid:
                self.assertEqual(r["Properties"]["AuthorizationType"], "NONE", "the function authenticates at $connect")
        (stage_lid, stage), = [(l, st) for l, st in m.of_type("AWS::ApiGatewayV2::Stage").items() if m.api_of(st) == api_lid]
        sp = stage["Properties"]
        self.assertTrue(sp["AutoDeploy"])
        fmt = json.loads(sp["AccessLogSettings"]["Format"])
        self.assertFalse([v for v in fmt.values() if "path" in v or "querystring" in v.lower()])
        self.assertEqual(refs(sp["DefaultRouteSettings"]["ThrottlingRateLimit"]), [("ApiRouteRateLimit", None)])
        # The endpoint every function posts frames to is this API's stage.
        for poster in posters:
            value = m.env_value(m.functions()[poster], endpoint_var)
            endpoint = tokens(m, value)
            self.assertEqual(endpoint, ["https://", ("ref", "AWS::ApiGatewayV2::Api"), ".execute-api.",
                                        ("ref", "AWS::Region"), ".", ("ref", "AWS::URLSuffix"), f"/{sp['StageName']}"],
                             f"{name}: {poster}")
            self.assertIn(api_lid, [r for r, _ in refs(value)], f"{name}: {poster} posts to {crate}'s API")
        # Invoked by this API only.
        perms = [x for x in m.of_type("AWS::Lambda::Permission").values()
                 if fn in [r for r, _ in refs(x["Properties"]["FunctionName"])]]
        self.assertEqual(len(perms), 1)
        self.assertEqual(perms[0]["Properties"]["Principal"], "apigateway.amazonaws.com")
        self.assertIn(api_lid, [r for r, _ in refs(perms[0]["Properties"]["SourceArn"])])
        # ManageConnections only on this API.
        for poster in posters:
            for actions, kinds, _ in m.statements(m.functions()[poster]):
                if "execute-api:ManageConnections" in actions:
                    self.assertEqual(kinds, {"websocket-api"}, f"{name}: {poster}")
        return {"selection": api["Properties"]["RouteSelectionExpression"], "stage": sp["StageName"], "log": fmt}

    def test_stream_api(self):
        found = {name: self.stream_api(name, m) for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])

    def test_visit_live_api(self):
        found = {name: self.stream_api(name, m, LIVE, (LIVE, "visits"), "EMBEDCARE_VISIT_LIVE_ENDPOINT")
                 for name, m in self.models.items()}
        self.assertEqual(found["SAM"], found["CDK"])
        self.assertEqual(found["SAM"]["stage"], "live")

    def test_no_function_may_reach_loopback(self):
        """Local mode's exception (webhooks to 127.0.0.1) is the local binary's:
        no deployed function is given it."""
        for name, m in self.models.items():
            for crate, lid in m.functions().items():
                with self.subTest(template=name, crate=crate):
                    self.assertIsNone(m.env_value(lid, "EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK"))
                    self.assertNotIn("EMBEDCARE_WEBHOOK_ALLOW_LOOPBACK", json.dumps(m.res[lid]))

    # ---------------------------------------------------------------- alarms
    def test_alarms(self):
        for name, m in self.models.items():
            with self.subTest(template=name):
                alarms = m.alarms()
                for crate in self.crates:
                    self.assertIn(("AWS/Lambda", "Errors", crate), alarms)
                    self.assertIn(("AWS/Lambda", "Throttles", crate), alarms)
                self.assertIn(("AWS/Lambda", "IteratorAge", RELAY), alarms)
                self.assertIn(("AWS/SQS", "ApproximateNumberOfMessagesVisible", ""), alarms | {
                    (ns, mt, "") for ns, mt, _ in alarms if ns == "AWS/SQS"})
                self.assertIn(("AWS/ApiGateway", "5xx", "AWS::ApiGatewayV2::Api"), alarms)
        strip = lambda s: {(ns, mt, w.replace("AWS::Serverless::Function", "")) for ns, mt, w in s}
        self.assertEqual(strip(self.sam.alarms()), strip(self.cdk.alarms()))

    def test_operator_alarms_dashboard_and_topic(self):
        """What an operator sees: the alarms of the metrics contract
        (shared/src/metrics/names.rs) on the stack's SNS topic, every DLQ
        alarmed at its first message, every alarm notifying the topic, a
        dashboard with every metric of the contract."""
        source = (ROOT / "shared/src/metrics/names.rs").read_text()
        # The arms of every `fn name(self)`: the CloudWatch metric names.
        bodies = re.findall(r"fn name\(self\) -> &'static str \{(.*?)\n    \}", source, re.S)
        contract = {n for b in bodies for n in re.findall(r'=> "([A-Za-z0-9]+)"', b)}
        self.assertGreaterEqual(len(contract), 13, contract)
        found = {}
        for name, m in self.models.items():
            with self.subTest(template=name):
                topics = m.of_type("AWS::SNS::Topic")
                self.assertEqual(len(topics), 1, f"{name}: one alarm topic")
                ((topic, t),) = topics.items()
                (key, _), = refs(t["Properties"]["KmsMasterKeyId"])
                self.assertEqual(m.res[key]["Type"], "AWS::KMS::Key")
                self.assertTrue(m.res[key]["Properties"]["EnableKeyRotation"])
                for lid, a in m.of_type("AWS::CloudWatch::Alarm").items():
                    self.assertIn(topic, [r for r, _ in refs(a["Properties"].get("AlarmActions"))], f"{name}: {lid}")
                ops = m.operator_alarms()
                self.assertEqual(ops["OutboxOldestPending"],
                                 ("Maximum", 300, 2, 300.0, "GreaterThanThreshold", "missing", True))
                self.assertEqual(ops["Http5xx"], ("Sum", 300, 1, 0.0, "GreaterThanThreshold", "notBreaching", True))
                rate = [k for k in ops if "failures / deliveries" in k]
                self.assertEqual(len(rate), 1, ops)
                self.assertEqual(ops[rate[0]], ("Sum", 900, 1, 0.2, "GreaterThanThreshold", "notBreaching", True))
                # Every dead-letter queue: alarmed at its first visible message.
                dlqs = {lid for lid in m.of_type("AWS::SQS::Queue") if "Dlq" in lid}
                self.assertGreaterEqual(len(dlqs), 5, dlqs)
                for q in m.of_type("AWS::SQS::Queue").values():
                    redrive = q["Properties"].get("RedrivePolicy")
                    if redrive:
                        self.assertIn(refs(redrive["deadLetterTargetArn"])[0][0], dlqs)
                for dlq in dlqs:
                    watching = [a["Properties"] for a in m.of_type("AWS::CloudWatch::Alarm").values()
                                if dlq in [r for d in a["Properties"].get("Dimensions", []) for r, _ in refs(d["Value"])]]
                    self.assertEqual([(w["MetricName"], float(w["Threshold"]), w["ComparisonOperator"]) for w in watching],
                                     [("ApproximateNumberOfMessagesVisible", 0.0, "GreaterThanThreshold")], f"{name}: {dlq}")
                boards = m.of_type("AWS::CloudWatch::Dashboard")
                self.assertEqual(len(boards), 1, name)
                body = json.dumps(next(iter(boards.values()))["Properties"]["DashboardBody"])
                for metric in contract:
                    self.assertIn(f'\\"{metric}\\"', body, f"{name}: {metric} not on the dashboard")
                found[name] = ops
        self.assertEqual(found["SAM"], found["CDK"])

    def test_stacks_stay_below_the_resource_limit(self):
        """CloudFormation refuses a stack of more than 500 resources: each
        stack keeps a margin (at most 450). The SAM template's count after
        its transform is bounded from above: its resources, plus two for each
        event of a function (a rule or a mapping, and its permission)."""
        sam = self.sam.res
        events = sum(len(r["Properties"].get("Events", {}) or {})
                     for r in sam.values() if r["Type"] == "AWS::Serverless::Function")
        estimate = len(sam) + 2 * events
        print(f"template.yaml: {len(sam)} resources, {events} function events: at most {estimate} deployed")
        self.assertLessEqual(estimate, 450)
        for path in (CDK_PATH, CDK_WAF_PATH):
            if not path.exists():
                self.skipTest(f"no CDK synth output at {path}")
            for tpl in sorted(path.parent.glob("*.template.json")):
                count = len(json.loads(tpl.read_text())["Resources"])
                print(f"{tpl.relative_to(path.parent.parent)}: {count} resources")
                self.assertLessEqual(count, 450, tpl.name)

    def test_snapshot_bucket(self):
        """The snapshots' bucket: private, encrypted, versioned, a lifecycle
        rule, TLS only; the visits function reaches its t/* objects only and
        is told its name."""
        found = {}
        for name, m in self.models.items():
            with self.subTest(template=name):
                buckets = m.of_type("AWS::S3::Bucket")
                self.assertEqual(len(buckets), 1, f"{name}: one bucket")
                ((lid, b),) = buckets.items()
                self.assertEqual(b.get("DeletionPolicy"), "Retain")
                p = b["Properties"]
                (enc,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                self.assertEqual(enc["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms")
                self.assertTrue(enc["BucketKeyEnabled"])
                self.assertEqual(p["PublicAccessBlockConfiguration"],
                                 {k: True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                                    "RestrictPublicBuckets")})
                self.assertEqual(p["OwnershipControls"], {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
                self.assertEqual(p["VersioningConfiguration"], {"Status": "Enabled"})
                (rule,) = p["LifecycleConfiguration"]["Rules"]
                self.assertEqual(rule["Status"], "Enabled")
                self.assertEqual(rule["NoncurrentVersionExpiration"], {"NoncurrentDays": 30})
                self.assertEqual(rule["AbortIncompleteMultipartUpload"], {"DaysAfterInitiation": 1})
                self.assertNotIn("ExpirationInDays", rule, "current snapshots live as long as their record")
                policies = [r for r in m.of_type("AWS::S3::BucketPolicy").values()
                            if refs(r["Properties"]["Bucket"])[0][0] == lid]
                self.assertEqual(len(policies), 1)
                (st,) = policies[0]["Properties"]["PolicyDocument"]["Statement"]
                self.assertEqual((st["Effect"], st["Action"]), ("Deny", "s3:*"))
                self.assertEqual(st["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
                self.assertEqual(len(st["Resource"]), 2, "the bucket and its objects")
                fn = m.functions()["visits"]
                self.assertEqual(refs(m.env_value(fn, "EMBEDCARE_SNAPSHOT_BUCKET")), [(lid, None)])
                role = refs(m.res[fn]["Properties"]["Role"])[0][0]
                docs = [d["PolicyDocument"] for d in m.res[role]["Properties"].get("Policies", [])]
                docs += [d["Properties"]["PolicyDocument"] for d in m.of_type("AWS::IAM::Policy").values()
                         if role in [r for r, _ in refs(d["Properties"].get("Roles", []))]]
                s3 = []
                for doc in docs:
                    for st in doc["Statement"]:
                        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                        if any(a.startswith("s3:") for a in actions):
                            s3.append((actions, st["Resource"]))
                self.assertEqual(len(s3), 1)
                self.assertEqual(text_of(s3[0][1]), "/t/*", "the tenants' objects only")
                self.assertEqual(refs(s3[0][1])[0][0], lid)
                for crate, other in m.functions().items():
                    if crate != "visits":
                        self.assertFalse([a for a, _ in m.permissions(other) if a.startswith("s3:")], crate)
                found[name] = (rule["NoncurrentVersionExpiration"], sorted(s3[0][0]))
        self.assertEqual(found["SAM"], found["CDK"])

    def test_outputs(self):
        for name, m in self.models.items():
            with self.subTest(template=name):
                self.assertLessEqual({"ApiUrl", "EventBusName", "EventBusArn", "TableName", "TableStreamArn",
                                      "DeploymentSecretArn", "EventStreamUrl", "EventsDlqUrl", "WorkDlqUrl",
                                      "VisitLiveUrl"},
                                     set(m.t["Outputs"]))


if __name__ == "__main__":
    unittest.main()
