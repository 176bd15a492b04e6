"""Runs scim2-tester and judges it and scim-sanity against infra/conformance-deviations.txt.

    python infra/conformance.py DEVIATIONS SANITY_JSON     (env: SCIM_URL, SCIM_TOKEN)

scim2-tester runs in-process: this is what `scim2 --url URL -h "Authorization: Bearer T" test`
(scim2-cli) does -- an httpx2 client on the base URL, discovery, then `check_server` -- but scim2-cli
needs click>=8.5 while aws-sam-cli pins click==8.1.8, and the library gives each result its resource
type and attribute, so allowed deviations can be named exactly. SANITY_JSON is the output of
`scim-sanity probe URL --token T --i-accept-side-effects --json-output`.

Check ids (first two columns of the deviations file):
  scim2-tester  [ResourceType/]check_name[attribute]   e.g. User/check_remove_attribute[active]
  scim-sanity   the result name                        e.g. PATCH /Groups/{id}
Exit status 1 when a check failed that the file does not allow, 2 when the run itself broke.
"""

import json
import os
import sys

# scim2-tester statuses: MUST-level failures and SHOULD-level deviations both count as failed.
# scim-sanity's "warn" (a tolerated deviation; it does not fail the probe either) is shown, not failed.
PASS = {"SUCCESS", "COMPLIANT", "ACCEPTABLE", "pass", "warn"}
SKIP = {"SKIPPED", "skip"}


def load_deviations(path):
    allowed = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = [x.strip() for x in line.split("|")]
            if len(fields) != 4 or not all(fields) or "RFC" not in fields[2]:
                print(f"{path}:{n}: want 'checker | check id | RFC section | reason'")
                sys.exit(2)
            allowed[(fields[0], fields[1])] = fields[2]
    return allowed


def scim2_tester_results(url, token):
    from httpx2 import Client
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import check_server

    client = SyncSCIMClient(Client(base_url=url, headers={"Authorization": f"Bearer {token}"}))
    try:
        client.discover()
    except Exception as exc:  # the CLI stops here too ("Could not discover the server")
        return [("discovery", "ERROR", str(exc))]
    out = []
    for r in check_server(client):
        cid = f"{r.resource_type}/{r.title}" if r.resource_type else str(r.title)
        if isinstance(r.data, dict) and isinstance(r.data.get("urn"), str):
            cid += f"[{r.data['urn']}]"
        out.append((cid, r.status.name, r.reason or ""))
    return out


def scim_sanity_results(path):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except ValueError as exc:
        print(f"scim-sanity: no JSON report ({exc})")
        sys.exit(2)
    return [(r["name"], r["status"], r.get("message", "")) for r in report["results"]]


def judge(checker, results, allowed):
    counts = {"passed": 0, "failed": 0, "skipped": 0, "allowed": 0}
    for cid, status, reason in results:
        if status in PASS:
            counts["passed"] += 1
            if status == "warn":
                print(f"  WARN    {checker} {cid}: {reason[:300]}")
            continue
        if status in SKIP:
            counts["skipped"] += 1
            print(f"  SKIPPED {checker} {cid}: {reason[:300]}")
            continue
        rfc = allowed.get((checker, cid))
        kind = "allowed" if rfc else "failed"
        counts[kind] += 1
        note = f" (deviation, {rfc})" if rfc else ""
        print(f"  {kind.upper():7} {checker} {cid}: {status} {reason[:300]}{note}")
    failing = {cid for cid, status, _ in results if status not in PASS | SKIP}
    for c, cid in allowed:
        if c == checker and cid not in failing:
            print(f"  note: allowed deviation '{cid}' of {checker} did not fail (stale entry?)")
    return counts


def main():
    deviations, sanity_json = sys.argv[1:3]
    allowed = load_deviations(deviations)
    runs = [
        ("scim2-tester", scim2_tester_results(os.environ["SCIM_URL"], os.environ["SCIM_TOKEN"])),
        ("scim-sanity", scim_sanity_results(sanity_json)),
    ]
    scores, ok = [], True
    for checker, results in runs:
        if not results:
            print(f"{checker}: produced no results")
            sys.exit(2)
        c = judge(checker, results, allowed)
        ok = ok and c["failed"] == 0
        scores.append(
            f"{checker}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped, "
            f"{c['allowed']} allowed deviations"
        )
    print("\n".join(scores))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
