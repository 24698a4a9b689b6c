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

import jsonschema_rs
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

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
_valid_user = jsonschema_rs.validator_for(_user_schema, validate_formats=True)


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


@schemathesis.hook
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
