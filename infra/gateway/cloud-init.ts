/**
 * `dist/gateway/cloud-init.yaml`: the gateway instance's user data. The gateway stack reads this
 * file with Terraform's `file()` and hands it to EC2 gzip-compressed (`base64gzip`, decision 47);
 * cloud-init recognises gzip and boots from exactly this text. On the first boot it installs
 * HAProxy (Debian package, kept on its branch with its security updates), Headscale (its official .deb) and the Tailscale client
 * (pinned, both verified by SHA-256 before anything is installed), puts Headscale's and
 * Tailscale's state on the persistent state volume, writes the rendered configuration and starts
 * the services; then a retrying unit joins the gateway to its own mesh once DNS and Headscale's
 * certificate exist.
 *
 * No secret is in here: the gateway's pre-auth key is created on the gateway by its own Headscale.
 * @see https://cloudinit.readthedocs.io/en/22.4.2/reference/modules.html
 */
import { gzipSync } from 'node:zlib';
import { toYaml } from '../../common/yaml';
import type { Platform } from '../../config';
import { GATEWAY_DOWNLOADS, GATEWAY_PACKAGES } from '../../config/versions';
import { renderHaproxyConfig } from './haproxy';
import { HEADSCALE_PATHS, renderHeadscaleConfig, renderHeadscalePolicy } from './headscale';
import { awsDnsSuffix, FIRST_ADMIN_KEY_EXPIRATION, FIRST_ADMIN_KEY_PARAMETER, MESH_TAGS } from './model';

/** Where the persistent state volume is mounted; Headscale's and Tailscale's state are bind-mounted from it. */
export const STATE_MOUNT = '/var/lib/platform-gateway';
/** The filesystem label that marks the state volume (formatted once, on the first boot that sees it empty). */
export const STATE_LABEL = 'gateway-state';

const SETUP_SCRIPT = '/usr/local/sbin/platform-gateway-setup';
export const HAPROXY_APT_PREFERENCES = '/etc/apt/preferences.d/haproxy';
const JOIN_SCRIPT = '/usr/local/sbin/platform-mesh-join';
const JOIN_UNIT = 'platform-mesh-join.service';
/** The ID of the key the first-admin step stored last, beside Headscale's database on the state volume. */
const FIRST_ADMIN_MARK = `${STATE_MOUNT}/first-admin-key-id`;

/** The upstream branch of the pinned HAProxy (`2.6` of `2.6.12-1+deb12u4`): apt keeps the gateway on it. */
export function haproxyBranch(): string {
  const match = /^(\d+\.\d+)\./.exec(GATEWAY_PACKAGES.haproxy);
  if (!match) throw new Error(`config/versions.ts: GATEWAY_PACKAGES.haproxy: "${GATEWAY_PACKAGES.haproxy}" is not a Debian version such as "2.6.12-1+deb12u4"`);
  return match[1];
}

/**
 * `/etc/apt/preferences.d/haproxy`: apt installs and upgrades HAProxy only within its branch, so a
 * backports or next-release package never replaces it, while every security update of the branch
 * is taken (the version in versions.ts is a floor, not an exact match: Debian's security mirror
 * keeps only its newest build, and an exact pin fails to install once the next one ships).
 * @see https://manpages.debian.org/bookworm/apt/apt_preferences.5.en.html
 */
export function haproxyAptPreferences(): string {
  return [
    '# Rendered by the platform synthesizer: HAProxy stays on its Debian branch and takes its security updates.',
    'Package: haproxy',
    `Pin: version ${haproxyBranch()}.*`,
    'Pin-Priority: 1001',
    '',
  ].join('\n');
}

/**
 * The setup script's check of the installed HAProxy: on the pinned branch and at least the
 * version in versions.ts (an older one means a stale mirror: refuse to serve with it).
 */
export function haproxyVersionCheck(): string {
  const floor = GATEWAY_PACKAGES.haproxy;
  return `installed=$(dpkg-query --showformat='$''{Version}' --show haproxy)
case "$installed" in
  ${haproxyBranch()}.*) ;;
  *) echo "platform-gateway-setup: haproxy $installed is installed, not the ${haproxyBranch()} branch" >&2; exit 1 ;;
esac
if ! dpkg --compare-versions "$installed" ge "${floor}"; then
  echo "platform-gateway-setup: haproxy $installed is older than ${floor} (a stale mirror?)" >&2
  exit 1
fi`;
}

function setupScript(): string {
  const { headscale, tailscale } = GATEWAY_DOWNLOADS;
  return `#!/bin/bash
# Rendered by the platform synthesizer. Runs once, on the first boot of a gateway instance.
set -euo pipefail

# 1. The persistent state volume. Terraform attaches it once the instance runs, so wait for it.
root_disk=$(lsblk -ndo PKNAME "$(findmnt -no SOURCE /)")
data_disk=""
for _ in $(seq 1 90); do
  for link in /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol*; do
    case "$link" in *-part*|*_[0-9]) continue ;; esac
    [ -e "$link" ] || continue
    disk=$(readlink -f "$link")
    if [ "$(basename "$disk")" != "$root_disk" ]; then data_disk=$disk; fi
  done
  if [ -n "$data_disk" ]; then break; fi
  sleep 10
done
if [ -z "$data_disk" ]; then
  echo "platform-gateway-setup: the state volume is not attached after 15 minutes" >&2
  exit 1
fi
# Format only an empty volume: a replaced gateway keeps Headscale's database and keys.
if ! blkid "$data_disk" >/dev/null; then
  mkfs.ext4 -q -L ${STATE_LABEL} "$data_disk"
fi
mkdir -p ${STATE_MOUNT}
if ! grep -q "^LABEL=${STATE_LABEL} " /etc/fstab; then
  echo "LABEL=${STATE_LABEL} ${STATE_MOUNT} ext4 defaults,nofail 0 2" >> /etc/fstab
fi
mountpoint -q ${STATE_MOUNT} || mount ${STATE_MOUNT}
for service in headscale tailscale; do
  mkdir -p "${STATE_MOUNT}/$service" "/var/lib/$service"
  if ! grep -q " /var/lib/$service none bind" /etc/fstab; then
    echo "${STATE_MOUNT}/$service /var/lib/$service none bind,nofail,x-systemd.requires-mounts-for=${STATE_MOUNT} 0 0" >> /etc/fstab
  fi
  mountpoint -q "/var/lib/$service" || mount "/var/lib/$service"
done

# 2. Pinned downloads, checked before anything is installed.
fetch() {
  curl --fail --silent --show-error --location --retry 5 --output "$2" "$1"
  echo "$3  $2" | sha256sum --check --strict --quiet -
}
work=$(mktemp -d)
fetch ${headscale.url} "$work/headscale.deb" ${headscale.sha256}
fetch ${tailscale.url} "$work/tailscale.tgz" ${tailscale.sha256}

# Headscale ${headscale.version}: keep the rendered /etc/headscale/config.yaml (written before the package).
apt-get install --yes --no-install-recommends -o Dpkg::Options::=--force-confold "$work/headscale.deb"
chown -R headscale:headscale /var/lib/headscale

# Tailscale ${tailscale.version}: the static build and the systemd unit it ships.
mkdir -p "$work/tailscale"
tar -xzf "$work/tailscale.tgz" -C "$work/tailscale" --strip-components=1
install -m 0755 "$work/tailscale/tailscaled" /usr/sbin/tailscaled
install -m 0755 "$work/tailscale/tailscale" /usr/bin/tailscale
install -m 0644 "$work/tailscale/systemd/tailscaled.service" /etc/systemd/system/tailscaled.service
install -m 0644 "$work/tailscale/systemd/tailscaled.defaults" /etc/default/tailscaled
rm -rf "$work"

# 3. HAProxy comes from the packages module (the newest of its branch, decision 0070).
${haproxyVersionCheck()}

# 4. Start the services; the mesh join retries until DNS and Headscale's certificate exist.
systemctl daemon-reload
systemctl enable --now headscale.service tailscaled.service
systemctl enable haproxy.service
systemctl restart haproxy.service
systemctl enable ${JOIN_UNIT}
systemctl start --no-block ${JOIN_UNIT}
`;
}

/**
 * The mesh join, on every boot (a retrying unit). First the gateway joins its own Headscale, with
 * a single-use tagged key it creates locally; a replaced gateway finds its node key on the state
 * volume and is already logged in. Then the first admin (decision 45): the Headscale users of
 * `mesh.admins` are created, and while none of them owns a registered device, one single-use key
 * of the first admin waits in SSM Parameter Store for the admin to read with their AWS credentials.
 * The mark (the ID of the key stored last) lives beside Headscale's database on the state volume,
 * so a reboot or a replacement stores no second key while the first is unused and valid.
 *
 * Headscale 0.28+ (pinned: 0.29): `preauthkeys create --user` takes the user's numeric ID; a key
 * without tags registers a device the user owns, so the policy's `group:admins` applies to it;
 * tagged devices carry tags and no admin. The CLI prints Go's JSON of its API types: empty fields
 * omitted, `null` for an empty list. The IMDSv2 credentials and the key reach curl through pipes,
 * never on a command line, and curl (7.75+, Debian 12 has 7.88) signs the request (`--aws-sigv4`).
 * `KeyId` names the AWS managed key, which SSM may use for any principal of the account: the
 * role needs `ssm:PutParameter` only. A key that could not be stored is deleted again.
 * @see https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
 * @see https://headscale.net/stable/ref/registration/
 */
function joinScript(platform: Platform): string {
  const { admins, headscaleHost } = platform.mesh;
  const { region } = platform.gateway;
  const body = `{"Name":"${FIRST_ADMIN_KEY_PARAMETER}","Type":"SecureString","KeyId":"alias/aws/ssm","Overwrite":True,"Value":d["key"]}`;
  return `#!/bin/bash
# Rendered by the platform synthesizer. Joins the gateway to its own Headscale, then lets the first
# admin join: see README, "The gateway", and docs/decisions/0045-first-admin-joins-the-mesh.md.
set -euo pipefail
py() { python3 -c "import json,sys,time;d=json.load(sys.stdin) or [];a=sys.argv[2:];print($1)" "$@"; }
hs() { headscale "$@" --output json; }
if ! tailscale status --peers=false >/dev/null 2>&1; then
  # A single-use key, valid for minutes, created locally: no secret ever leaves the gateway.
  k=$(hs preauthkeys create --tags ${MESH_TAGS.gateway} --expiration 10m | py 'd["key"]')
  tailscale up --login-server=https://${headscaleHost} --auth-key="$k" \\
    --hostname=gateway --advertise-tags=${MESH_TAGS.gateway} --accept-routes --ssh --accept-dns=false
fi
# The users of mesh.admins; until one of them owns a device (untagged), a key of ${admins[0]} in SSM.
new=$(hs users list | py '" ".join(n for n in a if n not in [u["name"] for u in d])' ${admins.join(' ')})
for u in $new; do hs users create "$u" >/dev/null; done
n=$(hs nodes list | py 'sum((n.get("user") or {}).get("name") in a and not n.get("tags") for n in d)' ${admins.join(' ')})
[ "$n" = 0 ] || exit 0
m=${FIRST_ADMIN_MARK}
if [ -s $m ]; then
  n=$(hs preauthkeys list | py 'sum(str(k["id"])==a[0] and not k.get("used") and k["expiration"]["seconds"]>time.time() for k in d)' "$(cat $m)")
  [ "$n" = 0 ] || exit 0
fi
i=http://169.254.169.254/latest/
h="X-aws-ec2-metadata-token: $(curl -sSf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "$i"api/token)"
c=$(curl -sSf -H "$h" "$i"meta-data/iam/security-credentials/)
c=$(curl -sSf -H "$h" "$i"meta-data/iam/security-credentials/"$c")
u=$(hs users list | py '[u["id"] for u in d if u["name"]==a[0]][0]' ${admins[0]})
k=$(hs preauthkeys create --user "$u" --expiration ${FIRST_ADMIN_KEY_EXPIRATION})
if ! py 'json.dumps(${body})' <<<"$k" | curl -sS --fail-with-body --aws-sigv4 aws:amz:${region}:ssm \\
  -K <(py '"user = \\"%(AccessKeyId)s:%(SecretAccessKey)s\\"\\nheader = \\"x-amz-security-token: %(Token)s\\"" % d' <<<"$c") \\
  -H 'X-Amz-Target: AmazonSSM.PutParameter' -H 'Content-Type: application/x-amz-json-1.1' \\
  --data-binary @- https://ssm.${region}.${awsDnsSuffix(region)}/; then
  hs preauthkeys delete --id "$(py 'd["id"]' <<<"$k")" >/dev/null
  exit 1
fi
py 'd["id"]' <<<"$k" >$m
`;
}

const JOIN_UNIT_TEXT = `# Rendered by the platform synthesizer.
[Unit]
Description=Join the gateway to its own Headscale mesh, then let the first admin join
Wants=network-online.target
After=network-online.target headscale.service tailscaled.service
RequiresMountsFor=${STATE_MOUNT}

[Service]
Type=oneshot
ExecStart=${JOIN_SCRIPT}
# Until the dns stack is applied and Headscale has its certificate, joining fails: try again.
Restart=on-failure
RestartSec=30

[Install]
WantedBy=multi-user.target
`;

export function renderCloudInit(platform: Platform): string {
  const config = {
    package_update: true,
    // Security updates at first boot; unattended-upgrades keeps applying them afterwards.
    package_upgrade: true,
    // HAProxy without a version: the apt pin written below (write_files runs first) keeps it on its branch.
    packages: ['haproxy', 'curl', 'ca-certificates', 'python3'],
    // Amazon Time Sync, a link-local service: no NTP egress through the security group.
    ntp: { enabled: true, ntp_client: 'chrony', servers: ['169.254.169.123'] },
    ssh_pwauth: false,
    disable_root: true,
    // Owner root:root and mode 0644 are cloud-init's defaults: only other modes are written out.
    write_files: [
      { path: HAPROXY_APT_PREFERENCES, content: haproxyAptPreferences() },
      { path: '/etc/haproxy/haproxy.cfg', content: renderHaproxyConfig(platform) },
      { path: HEADSCALE_PATHS.config, content: renderHeadscaleConfig(platform) },
      { path: HEADSCALE_PATHS.policy, content: renderHeadscalePolicy(platform) },
      { path: `/etc/systemd/system/${JOIN_UNIT}`, content: JOIN_UNIT_TEXT },
      { path: JOIN_SCRIPT, permissions: '0755', content: joinScript(platform) },
      { path: SETUP_SCRIPT, permissions: '0755', content: setupScript() },
    ],
    runcmd: [[SETUP_SCRIPT]],
  };
  // Sequences not indented under their key: two bytes less on every line of the rendered files.
  const text = `#cloud-config\n${toYaml(config, { indentSequences: false })}`;
  const compressed = compressedUserDataBytes(text);
  if (compressed > USER_DATA_BUDGET) {
    throw new Error(
      `${CLOUD_INIT_FILE}: ${compressed} bytes gzip-compressed (${Buffer.byteLength(text)} raw), more than ${USER_DATA_BUDGET}: EC2 accepts at most ${EC2_USER_DATA_LIMIT} bytes of user data and Terraform's gzip may come out up to ${USER_DATA_SAFETY_MARGIN * 100}% larger than this estimate; declare fewer public hosts or shorten the rendered files`,
    );
  }
  return text;
}

/** The user data file, relative to `dist/`: the gateway stack reads it from there. */
export const CLOUD_INIT_FILE = 'gateway/cloud-init.yaml';

/**
 * EC2 accepts at most 16 KiB of user data, counted before base64: the gzip-compressed bytes,
 * since the stack hands EC2 `base64gzip(file(...))`.
 * @see https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html
 */
export const EC2_USER_DATA_LIMIT = 16384;

/**
 * Terraform compresses the file at plan time with Go's compress/gzip; the render can only
 * estimate that with Node's zlib. Go 1.23 (Terraform 1.11) produced 5,313 bytes where zlib
 * produced 5,309 for the seed, but Go 1.27 rewrote its encoder and made some inputs up to 36%
 * larger (golang/go#81024). The estimate may therefore use at most 1 / 1.4 of the limit; the
 * stack's precondition checks Terraform's real bytes at plan time, before anything is replaced.
 */
export const USER_DATA_SAFETY_MARGIN = 0.4;

/** The most gzip bytes (Node's estimate) the render accepts: 11,702. */
export const USER_DATA_BUDGET = Math.floor(EC2_USER_DATA_LIMIT / (1 + USER_DATA_SAFETY_MARGIN));

/** Node's estimate of what EC2 receives: the text gzip-compressed at the default level (6, as Terraform's). */
export function compressedUserDataBytes(text: string): number {
  return gzipSync(text).length;
}

/** The scripts the user data runs, by path (for shellcheck in the tests). */
export function cloudInitScripts(platform: Platform): Map<string, string> {
  return new Map([
    [SETUP_SCRIPT, setupScript()],
    [JOIN_SCRIPT, joinScript(platform)],
  ]);
}
