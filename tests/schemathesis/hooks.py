"""schemathesis hooks of tests/schemathesis/run.sh (loaded by SCHEMATHESIS_HOOKS).

schemathesis draws a `contentEncoding: base64` + `contentMediaType:
application/json` string as base64 of *any* JSON value: it does not read
`contentSchema`. The `x-integration-user` header of openapi/openapi.json
says its decoded content is an `IntegrationUser` object, so a positive case
holding base64 of `5` or of `{}` is not a valid request of the document.
This hook makes positive cases honour `contentSchema`: a header value whose
decoded content does not validate is replaced by base64 of a user that does
(built from the drawn value, so cases still differ). Negative cases are left
alone: the server must refuse them, and does (`400`).
"""

import base64
import hashlib
import json
import os
import unicodedata

import jsonschema_rs
import schemathesis
from hypothesis.internal import lambda_sources
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

# CPython 3.11.7's ast.parse, called deep in a stack, can raise SystemError
# ("AST constructor recursion depth mismatch", a CPython bug); hypothesis
# calls it only to *describe* a lambda of a strategy (for a repr), and the
# error then aborts the example's generation. A description is not needed.
_describe = lambda_sources.lambda_description


def _lambda_description(f, *args, **kwargs):
    try:
        return _describe(f, *args, **kwargs)
    except SystemError:
        return "lambda: <source not read>"


lambda_sources.lambda_description = _lambda_description

HEADER = "x-integration-user"
_DOC = os.environ.get(
    "SCHEMATHESIS_DOCUMENT",
    os.path.join(os.path.dirname(__file__), "..", "..", "openapi", "openapi.json"),
)
with open(_DOC, encoding="utf-8") as f:
    _document = json.load(f)
_param = _document["components"]["parameters"]["IntegrationUser"]["schema"]
_ref = _param["contentSchema"]["$ref"]
assert _param["contentEncoding"] == "base64" and _param["contentMediaType"] == "application/json"
_user_schema = _document
for part in _ref.lstrip("#/").split("/"):
    _user_schema = _user_schema[part]
# The user schema refers to other components (`#/components/...`): they
# are resolved from the root of the schema the validator is built from.
_valid_user = jsonschema_rs.validator_for(
    {**_user_schema, "components": _document["components"]}, validate_formats=True
)


# The characters Rust's `str::trim` removes (Unicode White_Space), which is
# how the server reads "blank" and trims text. Python's `str.strip()` also
# removes U+001C..U+001F (the information separators), which the server
# keeps: a query parameter of one U+001F is given, not blank.
_WHITE_SPACE = "".join(
    [chr(c) for c in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680)]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + [chr(c) for c in (0x2028, 0x2029, 0x202F, 0x205F, 0x3000)]
)


def _trim(value):
    return str(value).strip(_WHITE_SPACE)


def _decoded(value):
    try:
        raw = value.strip()
        raw += "=" * (-len(raw) % 4)
        return json.loads(base64.b64decode(raw.replace("-", "+").replace("_", "/"), validate=True))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def _user_from(value):
    """A valid user derived from a drawn value: an id only (a clone, or an
    existing user), or the full details (a creation), picked by its hash."""
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    printable = "".join(c for c in value if c.isprintable()).strip()[:40]
    user = {"userId": f"{printable or 'u'}-{digest[:8]}"}
    kind = int(digest[8], 16) % 4
    if kind == 1:
        user["preferredLanguage"] = "EN" if int(digest[9], 16) % 2 else "FR"
    elif kind >= 2:
        user.update(
            firstName=f"First {digest[10:14]}",
            lastName=f"Last {digest[14:18]}",
            email=f"user.{digest[18:26]}@example.com",
        )
        if kind == 3:
            user["licenseNumber"] = f"MD{digest[26:32]}"
    assert _valid_user.is_valid(user), user
    return user


def _positive_headers(case):
    meta = case.meta
    if meta is None:
        return True
    info = meta.components.get(ParameterLocation.HEADER)
    return info is None or info.mode == GenerationMode.POSITIVE


def map_case(context, case):
    headers = case.headers
    if not headers or HEADER not in headers or not _positive_headers(case):
        return case
    value = headers[HEADER]
    if isinstance(value, str) and _valid_user.is_valid(_decoded(value)):
        return case
    encoded = base64.b64encode(json.dumps(_user_from(str(value))).encode()).decode()
    headers[HEADER] = encoded
    case.headers = headers
    return case


@schemathesis.hook("map_case")
def _map_case(context, case):
    return _keep_state_rules(map_case(context, case))


# The rules between query parameters (`x-query-schema`, `x-query-range` of
# an operation; see the document's info.description): schemathesis draws
# each parameter alone, so a positive case may break them (`subSystem`
# without `patientKey`, `to` before `from`). Such a case is not a valid
# request of the document: it is dropped (the server answers it `400`, which
# tests/openapi checks).
_query_rules = {}
for _path, _ops in _document["paths"].items():
    for _method, _op in _ops.items():
        if isinstance(_op, dict) and ("x-query-schema" in _op or "x-query-range" in _op):
            schema = _op.get("x-query-schema")
            _query_rules[(_method.upper(), _path)] = (
                jsonschema_rs.validator_for(schema) if schema else None,
                _op.get("x-query-range"),
            )

_DAY_MS = 86_400_000


def _instant(value, end):
    """A bound as the server reads it (UTC here: the franchise's zone moves
    a day's bounds by hours, never across the checks below by more than one
    day, which the margin of a day covers)."""
    from datetime import datetime, timezone

    v = _trim(value)
    try:
        if "T" not in v:
            day = datetime.strptime(v, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            return day.timestamp() * 1000 + (_DAY_MS - 1 if end else 0)
        return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() * 1000
    except (ValueError, OverflowError, OSError):
        return None


def _query_ok(case):
    rules = _query_rules.get((case.method.upper(), case.operation.path))
    if rules is None:
        return True
    meta = case.meta
    info = meta.components.get(ParameterLocation.QUERY) if meta else None
    if info is not None and info.mode != GenerationMode.POSITIVE:
        return True
    query = {k: str(v) for k, v in (case.query or {}).items() if _trim(v)}
    validator, rng = rules
    if validator is not None and not validator.is_valid(query):
        return False
    if rng:
        lo, hi = query.get(rng["from"]), query.get(rng["to"])
        if lo is None and hi is not None and rng.get("fromDefault") == "now":
            import time

            lo = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if lo is not None and hi is not None:
            a, b = _instant(lo, False), _instant(hi, True)
            if a is None or b is None:
                return True
            if b < a + _DAY_MS:
                return False
            if "maxDays" in rng and (a < _DAY_MS or b - a >= (rng["maxDays"] - 1) * _DAY_MS):
                return False
    return True


@schemathesis.hook
def filter_case(context, case):
    return _query_ok(case)



# Rules of the document that hold between components (a header and the
# body) or depend on the server's state, which no schema can carry; a
# positive case is made to keep them (a negative one is left alone):
#
# - the user is sent in the `x-integration-user` header or in the body's
#   `user`, never both (IntegrationUser's description: `400`): the header
#   is dropped when the body has a user;
# - a `cursor` (an `after` of GET /v2/events) is opaque: only the
#   `nextCursor` of an earlier page is valid (parameter Cursor), so a drawn
#   one is dropped;
# - an `Idempotency-Key` is unique per intended creation (parameter
#   IdempotencyKey: the same key with another body is `422`): it is made
#   from the body;
# - a patient the franchise does not have yet needs `firstName` and
#   `lastName` (schema Patient): they are added when absent;
# - a patient's keys are distinct as the server reads them, trimmed and in
#   NFC, a whole number as its digits (schema Patient): `uniqueItems`
#   compares them as sent (with any other member), so keys that differ only
#   by surrounding spaces, `0.0` against `0` or an extra member are dropped
#   but the first;
# - a provider the franchise does not have yet needs a `displayName`
#   (`PUT /v2/providers/{userId}`; blank is "not given"): one is added when
#   absent or blank;
# - with the API key, `POST /v2/intakes` names the patient (`patientId`,
#   schema IntakeCreateRequest): one is added when absent;
# - a webhook endpoint's `url` must resolve to a public address (schema
#   WebhookEndpointCreateRequest), which depends on DNS, not on the
#   document: a positive case gets a loopback URL (allowed on the local
#   server);
# - a room's opening hours (schema WeeklyHours) are intervals whose `end`
#   is after their `start`, in order, not overlapping: a comparison no
#   schema keyword makes; the other intervals are dropped.
#
# And one rule a negative case is made to keep:
#
# - IntegrationUser's `if`/`then` (first name, last name and e-mail
#   together) is the rule for a user the franchise does not have: an
#   existing user may be updated field by field (its description). A user
#   that gives some of those fields with a valid `userId` is made a new
#   user (a `userId` unique to the case), so that the case tests the rule
#   the schema states.
_CURSORS = {"cursor"}
_NAME_FIELDS = ("firstName", "lastName", "email", "licenseNumber")


def _as_new_user(user):
    """`user` with a `userId` no other case uses, when it gives name fields
    and its own `userId` is valid; else None."""
    if not isinstance(user, dict) or not isinstance(user.get("userId"), str):
        return None
    if not any(isinstance(user.get(f), str) for f in _NAME_FIELDS):
        return None
    if not _valid_user.is_valid({"userId": user["userId"]}):
        return None
    digest = hashlib.sha256(json.dumps(user, sort_keys=True, default=str).encode()).hexdigest()
    return {**user, "userId": f"st-new-{digest[:24]}"}


def _negative_users_new(case):
    body = case.body if isinstance(case.body, dict) else None
    if body is not None and not _positive(case, ParameterLocation.BODY):
        new = _as_new_user(body.get("user"))
        if new is not None:
            body["user"] = new
            case.body = body
    headers = case.headers
    if headers and HEADER in headers and not _positive(case, ParameterLocation.HEADER):
        value = headers[HEADER]
        # Only a canonical encoding is re-encoded (a violation may be in
        # the encoding itself).
        if isinstance(value, str) and _canonical_base64(value):
            new = _as_new_user(_decoded(value))
            if new is not None:
                headers[HEADER] = base64.b64encode(json.dumps(new).encode()).decode()
                case.headers = headers


def _canonical_base64(value):
    try:
        return base64.b64encode(base64.b64decode(value, validate=True)).decode() == value
    except ValueError:
        return False


def _key_text(v):
    """A patient key's part as the server reads it: text trimmed and in
    NFC; a whole number as its digits (`0.0` and `0` are one key)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer():
        return str(int(v))
    return unicodedata.normalize("NFC", _trim(v))


def _positive(case, location):
    meta = case.meta
    info = meta.components.get(location) if meta else None
    return info is None or info.mode == GenerationMode.POSITIVE


def _keep_state_rules(case):
    _negative_users_new(case)
    body = case.body if isinstance(case.body, dict) else None
    body_positive = _positive(case, ParameterLocation.BODY)
    if case.headers and body is not None and body.get("user") is not None and body_positive:
        if HEADER in case.headers and _positive(case, ParameterLocation.HEADER):
            headers = case.headers
            del headers[HEADER]
            case.headers = headers
    if case.query and _positive(case, ParameterLocation.QUERY):
        drop = set(_CURSORS)
        if case.operation.path == "/v2/events":
            drop.add("after")
        if drop & set(case.query):
            case.query = {k: v for k, v in case.query.items() if k not in drop}
    if body is not None and body_positive:
        patient = body.get("patient")
        if isinstance(patient, dict) and isinstance(patient.get("keys"), list):
            for field, value in (("firstName", "Sam"), ("lastName", "Fuzz")):
                v = patient.get(field)
                if not isinstance(v, str) or not _trim(v):
                    patient[field] = value
            seen, kept = set(), []
            for k in patient["keys"]:
                if isinstance(k, dict):
                    read = tuple(_key_text(k.get(f, "")) for f in ("subSystem", "key"))
                    if read in seen:
                        continue
                    seen.add(read)
                kept.append(k)
            patient["keys"] = kept
            case.body = body
        if case.method.upper() == "PUT" and case.operation.path == "/v2/providers/{userId}":
            v = body.get("displayName")
            if not isinstance(v, str) or not _trim(v):
                body["displayName"] = "Dr Fuzz"
                case.body = body
        if case.method.upper() == "POST" and case.operation.path == "/v2/intakes":
            if not body.get("patientId"):
                body["patientId"] = "no-such-patient"
                case.body = body
    if body is not None and body_positive and case.operation.path.startswith("/v2/webhook-endpoints"):
        if "url" in body:
            body["url"] = "http://127.0.0.1:9/hook"
            case.body = body
    if body is not None and body_positive and isinstance(body.get("hours"), dict):
        for day, intervals in body["hours"].items():
            if isinstance(intervals, list):
                kept, last = [], ""
                for i in sorted(
                    (i for i in intervals if isinstance(i, dict)),
                    key=lambda i: str(i.get("start")),
                ):
                    start, end = str(i.get("start")), str(i.get("end"))
                    if start < end and start >= last:
                        kept.append(i)
                        last = end
                body["hours"][day] = kept
        case.body = body
    if case.headers and "Idempotency-Key" in case.headers and _positive(case, ParameterLocation.HEADER):
        acting = case.headers.get(HEADER, "")
        payload = json.dumps([case.path, acting, case.body], sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode()).hexdigest()
        headers = case.headers
        headers["Idempotency-Key"] = f"st-{digest[:32]}"
        case.headers = headers
    return case


@schemathesis.hook
def before_add_examples(context, examples):
    # The examples phase: the same rules as the generated cases.
    kept = []
    for case in examples:
        case = _keep_state_rules(map_case(context, case))
        if _query_ok(case):
            kept.append(case)
    examples[:] = kept
