/**
 * The Harbor setup Job's program (Python 3, standard library only), kept as text so the render
 * can put it into a ConfigMap without reading files. It configures Harbor through its API from
 * the JSON the render derives from the model (`harbor.json`), and it is idempotent: a project or
 * robot that exists is updated to the declared state, one that is missing is created, nothing
 * else is touched. Run it as often as Argo CD syncs.
 *
 * Harbor has no CRDs for projects, their policies or robot accounts, hence a Job.
 * @see https://goharbor.io/docs/main/build-customize-contribute/configure-swagger/ (API v2.0)
 */
export const SETUP_SCRIPT = `#!/usr/bin/env python3
"""Configure Harbor from the platform model: projects (scan on push, blocked vulnerable pulls,
immutable tags)
and system robot accounts whose secrets come from Vault (files written by the Vault agent).
Rendered by the platform synthesizer (charts/registry/setup-script.ts)."""
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class HarborError(Exception):
    pass


def read_secret(path):
    with open(path, encoding="utf-8") as handle:
        value = handle.read().rstrip("\\n")
    if not value:
        raise HarborError(f"{path} is empty; load the secret into Vault (README runbook)")
    return value


class Harbor:
    def __init__(self, url, user, password):
        self.api = url.rstrip("/") + "/api/v2.0"
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}

    def call(self, method, path, body=None, ok=(200, 201), by_name=False):
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if by_name:
            headers["X-Is-Resource-Name"] = "true"
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        if status not in ok:
            raise HarborError(f"{method} {path}: HTTP {status}: {raw.decode(errors='replace')[:300]}")
        text = raw.decode() if raw else ""
        return status, (json.loads(text) if text.strip().startswith(("{", "[")) else text)

    def wait_until_ready(self, timeout_seconds):
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                self.call("GET", "/ping")
                return
            except (HarborError, OSError) as error:
                if time.monotonic() > deadline:
                    raise HarborError(f"Harbor did not answer within {timeout_seconds}s: {error}") from error
                time.sleep(5)


def ensure_project(harbor, project):
    name = project["name"]
    metadata = {
        "public": str(project["public"]).lower(),
        "auto_scan": str(project["autoScan"]).lower(),
        "prevent_vul": str(project["preventVulnerable"]).lower(),
        "severity": project["severity"],
    }
    quoted = urllib.parse.quote(name, safe="")
    status, _ = harbor.call("GET", f"/projects/{quoted}", ok=(200, 404), by_name=True)
    if status == 404:
        harbor.call("POST", "/projects", {"project_name": name, "metadata": metadata})
        print(f"project {name}: created")
    else:
        harbor.call("PUT", f"/projects/{quoted}", {"metadata": metadata}, by_name=True)
        print(f"project {name}: updated")


# Every tag of every repository: once pushed, a tag keeps its digest (a re-push is refused), so
# one app's build can never replace an image another environment or app deploys by that tag.
# goharbor/harbor v2.15.1: api/v2.0/swagger.yaml /projects/{project_name_or_id}/immutabletagrules,
# src/pkg/immutable/model/rule.go (kind doublestar), src/lib/selector/selectors/doublestar
# (repoMatches, matches), src/server/middleware/immutable/pushmf.go (the push it refuses).
IMMUTABLE_ALL = {
    "action": "immutable",
    "template": "immutable_template",
    "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]},
    "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "**"}],
}


def is_immutable_all(rule):
    repositories = (rule.get("scope_selectors") or {}).get("repository") or []
    tags = rule.get("tag_selectors") or []
    return (
        rule.get("action") == "immutable"
        and [(s.get("decoration"), s.get("pattern")) for s in repositories] == [("repoMatches", "**")]
        and [(s.get("decoration"), s.get("pattern")) for s in tags] == [("matches", "**")]
    )


def ensure_immutable_tags(harbor, project):
    name = project["name"]
    quoted = urllib.parse.quote(name, safe="")
    _, rules = harbor.call("GET", f"/projects/{quoted}/immutabletagrules?page_size=100", by_name=True)
    existing = next((rule for rule in rules or [] if is_immutable_all(rule)), None)
    if existing is None:
        harbor.call("POST", f"/projects/{quoted}/immutabletagrules", dict(IMMUTABLE_ALL, disabled=False), by_name=True)
        print(f"project {name}: tags made immutable")
    elif existing.get("disabled"):
        rule_id = existing["id"]
        harbor.call("PUT", f"/projects/{quoted}/immutabletagrules/{rule_id}", dict(existing, disabled=False), by_name=True)
        print(f"project {name}: immutable tag rule enabled again")
    else:
        print(f"project {name}: tags already immutable")


def find_robot(harbor, name):
    page = 1
    while True:
        _, robots = harbor.call("GET", f"/robots?page={page}&page_size=100")
        for robot in robots or []:
            if robot.get("level") == "system" and robot.get("name") in (name, "robot$" + name):
                return robot
        if not robots or len(robots) < 100:
            return None
        page += 1


def ensure_robot(harbor, robot):
    name = robot["name"]
    secret = read_secret(robot["secretFile"])
    permissions = [
        {"kind": "project", "namespace": grant["project"], "access": grant["access"]}
        for grant in robot["permissions"]
    ]
    existing = find_robot(harbor, name)
    if existing is None:
        harbor.call("POST", "/robots", {
            "name": name,
            "description": robot["description"],
            "level": "system",
            "duration": -1,
            "disable": False,
            "permissions": permissions,
            "secret": secret,
        })
        print(f"robot {name}: created")
        return
    robot_id = existing["id"]
    harbor.call("PUT", f"/robots/{robot_id}", {
        "id": robot_id,
        "name": existing["name"],
        "description": robot["description"],
        "level": "system",
        "duration": -1,
        "disable": False,
        "permissions": permissions,
    })
    # The secret Vault holds is the one that counts: set it again (a no-op when unchanged).
    harbor.call("PATCH", f"/robots/{robot_id}", {"secret": secret})
    print(f"robot {name}: updated")


def main(argv):
    if len(argv) != 2:
        print("usage: setup.py HARBOR_JSON", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    harbor = Harbor(os.environ["HARBOR_URL"], "admin", read_secret(config["adminPasswordFile"]))
    harbor.wait_until_ready(int(os.environ.get("HARBOR_WAIT_SECONDS", "600")))
    for project in config["projects"]:
        ensure_project(harbor, project)
        if project["immutableTags"]:
            ensure_immutable_tags(harbor, project)
    for robot in config["robots"]:
        ensure_robot(harbor, robot)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except HarborError as error:
        print(f"harbor-setup: {error}", file=sys.stderr)
        sys.exit(1)
`;
