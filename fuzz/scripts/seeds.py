#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/{filter,path,patch}/ from the IdP replays and the
hand-written cases below.

Seeds are what IdPs really send, so the fuzzer starts from the grammar's busy corners rather than
from nothing: filters from the replays' `filter=` query parameters and /.search bodies, paths from
their PATCH operations (and the paths they assert absent), bodies from their PATCH, POST and PUT
requests (the patch target also runs POST/PUT normalisation). `${user_id}`-style placeholders are
filled with fixed ids. Each file is named by the SHA-1 of its content, as libFuzzer names the
inputs it finds, so a seed is never written twice.

Run from anywhere: python3 fuzz/scripts/seeds.py   (it replaces the three seed directories)
"""

import glob
from itertools import zip_longest
import hashlib
import json
import os
import re
import shutil
import urllib.parse

FUZZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPLAYS = os.path.join(FUZZ, "..", "tests", "replays")
MAX_PER_TARGET = 100

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"

# Filters IdPs send (Okta, Entra incl. its validator, Ping, OneLogin, JumpCloud) and the RFC 7644
# §3.4.2.2 grammar the replays do not reach: every operator, `pr`, `not`, precedence, value paths,
# URN-qualified names, escapes, numbers, booleans, null, dateTimes.
FILTERS = [
    'userName eq "bjensen"',
    'userName Eq "alice.ping@example.com"',  # Ping capitalises the operator
    'userName EQ "x" AND active eq TRUE',
    'emails[type eq "work"].value eq "bjorn@contoso.com"',  # Entra
    'emails[type eq "work" and value co "@contoso.com"]',
    'emails[primary eq true]',
    'emails.value eq "bjorn@contoso.com"',
    'emails co "contoso"',
    'externalId eq "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"',
    'id eq "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"',
    'displayName eq "Engineering"',
    'displayName sw "Eng" or displayName ew "ring"',
    'members[value eq "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]',
    'members.value eq "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"',
    'name.familyName co "O\'Malley"',
    'name.givenName sw "Bj\\u00f8rn"',
    'title pr',
    'title pr and userType eq "Employee"',
    'not (active eq false)',
    'not(userName eq "a") and not (userName eq "b")',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    '(a eq 1 or b eq 2) and c eq 3',
    'userName ne "x" or nickName ne null',
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2024-05-02T11:30:00.5+02:00"',
    'meta.created lt "2024-05-01T10:00:00Z" and meta.created le "2024-05-01T10:00:00.000Z"',
    'meta.resourceType eq "User"',
    f"{ENTERPRISE}:employeeNumber eq \"701984\"",
    f"{ENTERPRISE}:manager.value eq \"0190a1b2-0000-7000-8000-000000000001\"",
    f"{ENTERPRISE}:manager pr",
    f"{CORE_USER}:userName eq \"bjensen\"",
    "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME eq \"bjensen\"",
    'urn:example:custom:2.0:User:badge eq "x"',
    'phoneNumbers[type eq "mobile" and value sw "+1"]',
    'addresses[type eq "work" and (locality eq "Oslo" or country eq "NO")].locality pr',
    'x509Certificates.value pr',
    'active eq "True"',
    'active eq true',
    'userName eq null',
    'userName gt 12 or userName lt -1.5e3',
    'userName eq "a\\"b\\\\c\\/d\\n\\t\\ud83d\\ude00"',
    'userName eq "Zoë Ström 名前"',
    'userName eq ""',
    '  userName   eq   "spaces"  ',
    'filter=userName eq "x"',  # the whole query parameter, as a sloppy client passes it
    'userName eq "x"]',
    'emails[type eq "work"',
    'userName eq',
    'userName eq "unterminated',
    "(((((((((((userName pr)))))))))))",
    "not (not (not (active pr)))",
]

# PATCH paths (RFC 7644 §3.5.2) beyond those in the replays.
PATHS = [
    "userName",
    "active",
    "name.givenName",
    "NAME.FAMILYNAME",
    'emails[type eq "work"].value',  # Entra
    'Emails[TYPE Eq "work"].VALUE',
    'emails[type eq "work" and primary eq true]',
    'emails[value ew "@contoso.com"]',
    'phoneNumbers[type eq "mobile"].value',
    'addresses[type eq "work"].streetAddress',
    'addresses[type eq "work"].formatted',
    "members",
    'members[value eq "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"]',
    'members[value eq "a" or value eq "b"]',
    "displayName",
    "externalId",
    "password",
    "groups",
    "meta.lastModified",
    f"{ENTERPRISE}:manager",
    f"{ENTERPRISE}:manager.value",
    f"{ENTERPRISE}:employeeNumber",
    "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Manager.Value",
    f"{CORE_USER}:name.familyName",
    "urn:example:custom:2.0:User:badge",
    "urn:ietf:params:scim:schemas:extension:custom:2.0:User:costCenter",
    'roles[primary eq "True"].display',
    'x509Certificates[value pr]',
    'emails[not (type eq "home")]',
    "userName[type eq \"x\"]",
    "name.nope",
    'emails[type eq "work"',
    "emails[]",
    "",
    ".",
]

USER = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


# Bodies the replays do not cover: Entra's path-less dotted/URN keys, string booleans, the v1
# partial-resource forms Okta and Ping send, and shapes that must be rejected, not crash.
BODIES = [
    ops({"op": "Add", "value": {"nickName": "Babs", "name.givenName": "Barbara",
                                f"{ENTERPRISE}:manager": USER,
                                'emails[type eq "work"].value': "babs@contoso.com"}}),
    ops({"op": "Replace", "value": {"active": "False"}}),
    ops({"op": "replace", "path": "active", "value": "True"}),
    ops({"op": "add", "path": f"{ENTERPRISE}:manager", "value": USER}),
    ops({"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": USER}}),
    ops({"op": "remove", "path": f"{ENTERPRISE}:manager"}),
    ops({"op": "remove", "path": 'emails[type eq "home"]'}),
    ops({"op": "remove", "path": 'emails[type eq "work"].primary'}),
    ops({"op": "add", "path": 'phoneNumbers[type eq "fax"].value', "value": "+1 555 0199"}),
    ops({"op": "replace", "path": "emails", "value": [
        {"type": "work", "value": "a@b.c", "primary": True},
        {"type": "home", "value": "d@e.f", "primary": True}]}),
    ops({"op": "add", "path": "members", "value": [{"value": USER}, {"value": "g2"}]}),
    ops({"op": "remove", "path": f'members[value eq "{USER}"]'}),
    ops({"op": "remove", "path": "members", "value": [{"value": USER}]}),
    ops({"op": "remove", "path": "members"}),
    ops({"op": "replace", "path": "members", "value": []}),
    ops({"op": "replace", "value": {"displayName": "Eng", "members": [{"value": USER}]}}),
    ops({"op": "replace", "path": "password", "value": "hunter2"}),
    ops({"op": "replace", "value": {"Password": "hunter2", "id": USER, "meta": {"version": "W/\"1\""}}}),
    ops({"op": "replace", "path": "urn:example:custom:2.0:User:badge", "value": 42}),
    ops({"op": "replace", "value": {"schemas": [CORE_USER, "urn:example:custom:2.0:User"],
                                    "urn:example:custom:2.0:User": {"badge": 42}}}),
    ops({"op": "replace", "path": "userName", "value": None}),
    ops({"op": "replace", "path": "userName", "value": ["a", "b"]}),
    ops({"op": "move", "path": "userName", "value": "x"}),
    ops({"op": "replace", "path": "id", "value": "other"}),
    ops({"op": "remove"}),
    ops(),
    {"Operations": {"op": "add"}},
    {"schemas": [PATCH_OP]},
    [],
    "PATCH",
    {"userName": "v1.user@example.com", "active": False,
     "emails": [{"value": "old@example.com", "operation": "delete"},
                {"value": "new@example.com", "type": "work", "primary": True}],
     "meta": {"attributes": ["nickName", "name.middleName"]}},
    {"schemas": ["urn:scim:schemas:core:1.0"],
     "members": [{"value": USER}, {"value": "g2", "operation": "delete"}]},
    {"schemas": ["urn:scim:schemas:core:1.0", "urn:scim:schemas:extension:enterprise:1.0"],
     "urn:scim:schemas:extension:enterprise:1.0": {"employeeNumber": "7", "manager": {"managerId": USER}}},
    {"members": [{"value": "a\"b\\c", "operation": "delete"}]},
]


def fill_placeholders(text):
    return re.sub(r"\$\{[A-Za-z0-9_]+\}", USER, text)


def replay_requests():
    for f in sorted(glob.glob(os.path.join(REPLAYS, "*", "*.json"))):
        with open(f, encoding="utf-8") as fh:
            step = json.loads(fill_placeholders(fh.read()))
        req = step.get("request") or {}
        yield req, step.get("expect") or {}


def collect():
    filters, paths, patch_bodies, resource_bodies = list(FILTERS), list(PATHS), [], []
    for req, expect in replay_requests():
        method, url, body = req.get("method"), req.get("path", ""), req.get("body")
        if "?" in url:
            query = urllib.parse.parse_qs(url.split("?", 1)[1])
            filters += query.get("filter", [])
        if isinstance(body, dict) and isinstance(body.get("filter"), str):
            filters.append(body["filter"])
        if method == "PATCH" and body is not None:
            patch_bodies.append(body)
            for op in body.get("Operations", []) if isinstance(body, dict) else []:
                if isinstance(op, dict) and isinstance(op.get("path"), str):
                    paths.append(op["path"])
        elif method in ("POST", "PUT") and isinstance(body, dict) and "filter" not in body:
            resource_bodies.append(body)
        paths += [p for p in expect.get("absent", []) if isinstance(p, str)]
    # Alternate PATCH and POST/PUT bodies so that the cap keeps both kinds.
    replayed = zip_longest(distinct_shapes(patch_bodies), distinct_shapes(resource_bodies))
    return filters, paths, BODIES + [b for pair in replayed for b in pair if b is not None]


def shape(x):
    """A body with its strings blanked: replay bodies that differ only in names and ids are one
    seed's worth to the fuzzer (keys and operators are kept, since they steer the parser)."""
    if isinstance(x, dict):
        return {k: (v if k in ("op", "path", "operation") else shape(v)) for k, v in x.items()}
    if isinstance(x, list):
        return [shape(v) for v in x]
    return "" if isinstance(x, str) else x


def distinct_shapes(bodies):
    seen, out = [], []
    for b in bodies:
        if shape(b) not in seen:
            seen.append(shape(b))
            out.append(b)
    return out


def write(target, items, as_json):
    out = os.path.join(FUZZ, "corpus", target)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    seeds = []
    for item in items:
        data = (json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                if as_json else item.encode("utf-8"))
        if data not in seeds:
            seeds.append(data)
    # Hand-written seeds come first, so the cap only drops replay near-duplicates.
    for data in seeds[:MAX_PER_TARGET]:
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as fh:
            fh.write(data)
    print(f"corpus/{target}: {min(len(seeds), MAX_PER_TARGET)} seeds ({len(seeds)} distinct)")


def main():
    filters, paths, bodies = collect()
    write("filter", filters, as_json=False)
    write("path", paths, as_json=False)
    write("patch", bodies, as_json=True)


if __name__ == "__main__":
    main()
