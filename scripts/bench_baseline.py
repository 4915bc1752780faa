#!/usr/bin/env python3
"""The sequential extraction a user would write, as the benchmark's baseline.

One request at a time, `$top=100`: users, then groups, then each group's /members and
/owners, group by group, following @odata.nextLink. Python's standard library only.

    ENTRA_EXTRACT_CLIENT_SECRET=... bench_baseline.py --base URL --tenant T --client-id C
        [--sample N] [--out FILE]

`--sample N` reads the members and owners of only N groups (every k-th in list order); the
benchmark harness extrapolates the rest from the per-request timings written to --out
(`requests`: phase, seconds, items). Prints the summary JSON on stdout.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

USER_SELECT = "id,userPrincipalName,displayName,mail,accountEnabled,userType,department"
GROUP_SELECT = "id,displayName,mail,mailNickname,groupTypes,securityEnabled"
EDGE_SELECT = "id,displayName,userPrincipalName"


class Graph:
    """A token and a GET that waits out 429/503 as a careful script would."""

    def __init__(self, base, tenant, client_id, secret):
        self.base = base.rstrip("/")
        form = urllib.parse.urlencode(
            {
                "client_id": client_id,
                "client_secret": secret,
                "scope": "https://graph.microsoft.com/.default",
                "grant_type": "client_credentials",
            }
        ).encode()
        url = f"{self.base}/{tenant}/oauth2/v2.0/token"
        with urllib.request.urlopen(urllib.request.Request(url, data=form)) as r:
            self.token = json.load(r)["access_token"]
        self.requests = []

    def get(self, phase, url):
        while True:
            req = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
            started = time.monotonic()
            try:
                with urllib.request.urlopen(req) as r:
                    body = json.load(r)
                    items = len(body.get("value", []))
                    self.requests.append((phase, time.monotonic() - started, items))
                    return body
            except urllib.error.HTTPError as e:
                self.requests.append((phase, time.monotonic() - started, 0))
                if e.code in (429, 503, 504):
                    time.sleep(float(e.headers.get("Retry-After") or 1))
                    continue
                if e.code in (403, 404):
                    return {"value": []}
                raise

    def all_pages(self, phase, path):
        url = f"{self.base}/v1.0{path}"
        out = []
        while url:
            page = self.get(phase, url)
            out.extend(page.get("value", []))
            url = page.get("@odata.nextLink")
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--sample", type=int, default=0, help="groups to read (0 = all)")
    ap.add_argument("--out", help="write per-request timings here (JSON)")
    args = ap.parse_args()
    secret = os.environ.get("ENTRA_EXTRACT_CLIENT_SECRET")
    if not secret:
        sys.exit("set ENTRA_EXTRACT_CLIENT_SECRET")

    started = time.monotonic()
    g = Graph(args.base, args.tenant, args.client_id, secret)
    users = g.all_pages("users", f"/users?$top=100&$select={USER_SELECT}")
    groups = g.all_pages("groups", f"/groups?$top=100&$select={GROUP_SELECT}")
    chosen = groups
    if 0 < args.sample < len(groups):
        step = len(groups) / args.sample
        chosen = [groups[int(i * step)] for i in range(args.sample)]
    members = owners = 0
    for group in chosen:
        gid = group["id"]
        members += len(g.all_pages("members", f"/groups/{gid}/members?$top=100&$select={EDGE_SELECT}"))
        owners += len(g.all_pages("owners", f"/groups/{gid}/owners?$top=100&$select={EDGE_SELECT}"))
    wall = time.monotonic() - started

    summary = {
        "wallSeconds": wall,
        "users": len(users),
        "groups": len(groups),
        "groupsRead": len(chosen),
        "sampledGroupIds": [c["id"] for c in chosen] if len(chosen) < len(groups) else None,
        "memberEdges": members,
        "ownerEdges": owners,
        "requests": len(g.requests),
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump({**summary, "timings": g.requests}, f)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
