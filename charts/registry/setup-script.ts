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
immutable tags), system robot accounts whose secrets come from Vault (files written by the Vault
agent), one push robot per app with a bounded lifetime, and sign-in through GitLab (OIDC).
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


def read_json_secret(path):
    try:
        return json.loads(read_secret(path))
    except ValueError as error:
        raise HarborError(f"{path} is not the JSON the Vault agent template writes: {error}") from error


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


def robot_permissions(robot):
    permissions = []
    for grant in robot["permissions"]:
        if grant["project"] == "*":
            raise HarborError(f"robot {robot['name']}: a grant on every project (*) is refused; name the projects")
        permissions.append({"kind": "project", "namespace": grant["project"], "access": grant["access"]})
    return permissions


def create_robot(harbor, name, description, duration, permissions, secret):
    # Harbor generates a secret at creation and ignores one in the request (goharbor/harbor
    # v2.15.1 src/controller/robot/controller.go Create): set Vault's right after.
    _, created = harbor.call("POST", "/robots", {
        "name": name,
        "description": description,
        "level": "system",
        "duration": duration,
        "disable": False,
        "permissions": permissions,
    })
    harbor.call("PATCH", f"/robots/{created['id']}", {"secret": secret})
    return created


def ensure_robot(harbor, robot):
    name = robot["name"]
    secret = read_secret(robot["secretFile"])
    permissions = robot_permissions(robot)
    existing = find_robot(harbor, name)
    if existing is None:
        create_robot(harbor, name, robot["description"], -1, permissions, secret)
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


VERSION_MARK = " [vault version "


def described(robot, version):
    """The description with the version of the Vault entry the robot's secret came from."""
    return f"{robot['description']}{VERSION_MARK}{version}]"


def version_of(existing):
    description = existing.get("description") or ""
    if not description.endswith("]") or VERSION_MARK not in description:
        return None
    try:
        return int(description.rsplit(VERSION_MARK, 1)[1][:-1])
    except ValueError:
        return None


def ensure_app_robot(harbor, robot, now):
    """An app's push robot: its own project only, durationDays from its creation. A new version
    of its Vault entry (the operator rotated the secret) re-creates it, which starts a new
    lifetime; an expired robot whose entry was not rotated is reported, never silently renewed
    with the old secret. Returns the problem, or None."""
    name = robot["name"]
    secret = read_json_secret(robot["secretFile"])
    if not isinstance(secret.get("version"), int) or not isinstance(secret.get("password"), str) or not secret["password"]:
        raise HarborError(f"{robot['secretFile']}: needs a version and a password; load the app robot's secret into Vault (README runbook)")
    permissions = robot_permissions(robot)
    if len(permissions) != 1:
        raise HarborError(f"robot {name}: an app robot pushes to its own project only, not to {len(permissions)} projects")
    description = described(robot, secret["version"])
    existing = find_robot(harbor, name)
    if existing is not None and version_of(existing) != secret["version"]:
        harbor.call("DELETE", f"/robots/{existing['id']}", ok=(200,))
        print(f"robot {name}: deleted (Vault holds version {secret['version']}, the robot was made from {version_of(existing)})")
        existing = None
    if existing is None:
        created = create_robot(harbor, name, description, robot["durationDays"], permissions, secret["password"])
        expires = created.get("expires_at", -1)
        print(f"robot {name}: created, expires {time.strftime('%Y-%m-%d', time.gmtime(expires)) if expires > 0 else 'never'}")
        return None
    robot_id = existing["id"]
    # Harbor recomputes expires_at from the creation time when the duration changes
    # (src/server/v2.0/handler/robot.go updateV2Robot); the secret stays the one it was made with.
    harbor.call("PUT", f"/robots/{robot_id}", {
        "id": robot_id,
        "name": existing["name"],
        "description": description,
        "level": "system",
        "duration": robot["durationDays"],
        "disable": False,
        "permissions": permissions,
    })
    _, current = harbor.call("GET", f"/robots/{robot_id}")
    expires = current.get("expires_at", -1)
    if expires <= 0:
        raise HarborError(f"robot {name}: Harbor reports no expiry; it must expire after {robot['durationDays']} days")
    days_left = (expires - now) / 86400
    on = time.strftime("%Y-%m-%d", time.gmtime(expires))
    rotate = f"write a new secret to {robot['vaultPath']} (README runbook: rotate an app's Harbor robot) and sync Harbor"
    if days_left <= 0:
        print(f"robot {name}: expired on {on}")
        return f"robot {name} expired on {on}: the app's builds cannot push; {rotate}"
    if days_left <= robot["noticeDays"]:
        print(f"robot {name}: updated; WARNING: expires on {on}, in {int(days_left)} days; {rotate}")
        return None
    print(f"robot {name}: updated, expires {on}")
    return None


def ensure_oidc(harbor, oidc):
    """Sign-in through GitLab. Harbor changes its auth mode only while no user but the admin
    exists (src/controller/config/controller.go authModeCanBeModified): once set, the mode is
    left out of the request, so later runs only update the OIDC settings. The admin keeps its
    database password in OIDC mode (src/core/auth/authenticator.go Login), so this program and
    the break-glass login go on working."""
    client = read_json_secret(oidc["clientFile"])
    if not client.get("client_id") or not client.get("client_secret"):
        raise HarborError(f"{oidc['clientFile']}: needs client_id and client_secret; register Harbor's application in GitLab and load it into Vault (README runbook)")
    wanted = dict(oidc["configuration"], oidc_client_id=client["client_id"], oidc_client_secret=client["client_secret"])
    _, current = harbor.call("GET", "/configurations")
    mode = ((current or {}).get("auth_mode") or {})
    if mode.get("value") == wanted["auth_mode"]:
        del wanted["auth_mode"]
    elif not mode.get("editable", False):
        raise HarborError(
            f"the auth mode is {mode.get('value')!r} and Harbor refuses to change it while local users other than admin exist; "
            "delete them (README runbook: Harbor sign-in through GitLab) and sync Harbor again"
        )
    harbor.call("PUT", "/configurations", wanted)
    print("sign-in through GitLab: " + ("configured" if "auth_mode" in wanted else "updated"))


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
    now = time.time()
    problems = [problem for robot in config.get("appRobots", []) if (problem := ensure_app_robot(harbor, robot, now))]
    if "oidc" in config:
        ensure_oidc(harbor, config["oidc"])
    if problems:
        raise HarborError("; ".join(problems))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except HarborError as error:
        print(f"harbor-setup: {error}", file=sys.stderr)
        sys.exit(1)
`;
