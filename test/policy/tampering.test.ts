/**
 * Issue 15 item 7: the gate catches tampering a reviewer would catch. Each test plants one defect
 * into a copy of the default render (the files `npm run synth` writes to dist/) and expects the
 * specific violation; the untouched render passes (render.test.ts).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../charts/lib/service';
import { loadDefaultPlatform } from '../../config';
import { checkPolicy, formatViolation, policyInput } from '../../policy';
import { runPolicy } from '../../policy/cli';
import { captureOutput } from '../support/in-process';
import { defaultRender, parseYamlCached, ROOT } from '../support/render';

type Files = Map<string, string>;

/** A copy of the render with `path` rewritten by `edit`; fails if the edit changed nothing. */
function planted(edits: Record<string, (text: string) => string>): Files {
  const files: Files = new Map(defaultRender());
  for (const [path, edit] of Object.entries(edits)) {
    const before = files.get(path) ?? '';
    const after = edit(before);
    expect(after, `planting into ${path} changed nothing`).not.toBe(before);
    files.set(path, after);
  }
  return files;
}

const editObject = (mutate: (object: KubeObject & Record<string, any>) => void) => (text: string) => {
  const object = parse(text);
  mutate(object);
  return stringify(object);
};

// Parsed through the fixtures' cache: each test edits one or two files of the whole render, and
// parsing the rest again took most of each check's time (docs/decisions/0096-test-run-speed.md).
const violations = (files: Files) => checkPolicy(policyInput(files, loadDefaultPlatform(), parseYamlCached)).map(formatViolation);
const VAULT_POLICY = 'k8s/platform/vault/networkpolicy-allow-vault.yaml';
const INGRESS_POLICY = 'k8s/platform/nginx-ingress/networkpolicy-allow-nginx-ingress.yaml';
const ACL = 'gateway/headscale/acl.hujson';
const HAPROXY = 'gateway/haproxy.cfg';
const NODE = 'nodes/k3s-master/config.yaml';

describe('GIVEN a copy of the default render WHEN someone tampers with it', () => {
  it('fails when a NetworkPolicy ingress rule on Vault admits everyone (ingress: [{}])', () => {
    const found = violations(planted({ [VAULT_POLICY]: editObject((o) => o.spec.ingress.push({})) }));
    expect(found.filter((v) => v.startsWith('K8S-NET-03'))).toEqual([
      expect.stringMatching(/^K8S-NET-03 {2}NetworkPolicy\/vault\/allow-vault {2}ingress\[\d+\] has no from: it admits every source/),
    ]);
  });

  it('fails when an ingress rule lists no peers, an empty peer, every namespace or every address', () => {
    const found = violations(
      planted({
        [VAULT_POLICY]: editObject((o) => {
          o.spec.ingress[0].from = [];
          o.spec.ingress[1].from = [{}];
          o.spec.ingress[2].from = [{ namespaceSelector: {}, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }];
          o.spec.ingress[3].from = [{ ipBlock: { cidr: '0.0.0.0/0' } }];
        }),
      }),
    ).filter((v) => v.startsWith('K8S-NET-03'));
    expect(found).toEqual([
      expect.stringContaining('ingress[0] has no from'),
      expect.stringContaining('ingress[1] has an empty peer {}'),
      expect.stringContaining('ingress[2] admits pods of every namespace (namespaceSelector: {})'),
      expect.stringContaining('ingress[3] admits every address (ipBlock 0.0.0.0/0)'),
    ]);
  });

  it('fails when the declared public entry point is widened beyond its exception (another port)', () => {
    // The open rule is found by what it is (its 0.0.0.0/0 peer), not by its position.
    const isOpen = (rule: { from?: { ipBlock?: { cidr?: string } }[] }) => rule.from?.some((peer) => peer.ipBlock?.cidr === '0.0.0.0/0');
    const found = violations(planted({ [INGRESS_POLICY]: editObject((o) => o.spec.ingress.find(isOpen).ports.push({ port: 8081, protocol: 'TCP' })) }));
    expect(found).toEqual([expect.stringMatching(/^K8S-NET-03 {2}NetworkPolicy\/nginx-ingress\/allow-nginx-ingress {2}ingress\[\d+\] admits every address \(ipBlock 0\.0\.0\.0\/0\)/)]);
  });

  it('fails when the Headscale ACL accepts * -> *:*', () => {
    const found = violations(planted({ [ACL]: (t) => t.replace('"acls": [', '"acls": [\n    {"action":"accept","src":["*"],"dst":["*:*"]},') }));
    expect(found).toEqual([
      'GW-ACL-01  file/-/gateway/headscale/acl.hujson  acls[0] accepts src "*" (every device, including any registered later) to *:*; name a group or tag',
    ]);
  });

  it('fails when a machine tag may reach every device on some port (dst "*:22")', () => {
    const found = violations(planted({ [ACL]: (t) => t.replace('"dst":["tag:k3s:*"]', '"dst":["tag:k3s:*","*:22"]') }));
    expect(found).toEqual([expect.stringMatching(/^GW-ACL-01 {2}file\/-\/gateway\/headscale\/acl\.hujson {2}acls\[\d+\] lets tag:k3s reach every device \(\*:22\)/)]);
  });

  it('fails when the administrators get every port again (*:* as before, or every port of the nodes)', () => {
    const found = violations(
      planted({
        [ACL]: (t) => t.replace('"dst":["ingress:80,443"]', '"dst":["*:*","ingress:80,443"]').replace('"dst":["k3s-api:6443"]', '"dst":["tag:k3s:*","192.168.10.240/28:*"]'),
      }),
    );
    expect(found).toEqual([
      'GW-ACL-01  file/-/gateway/headscale/acl.hujson  acls[0] lets group:admins reach * on every port; name the ports the flow needs (only devices of one tag may reach each other on every port)',
      'GW-ACL-01  file/-/gateway/headscale/acl.hujson  acls[1] lets group:admins reach tag:k3s, 192.168.10.240/28 on every port; name the ports the flow needs (only devices of one tag may reach each other on every port)',
    ]);
  });

  it('fails when a machine reaches another kind of machine on every port, also as a grant', () => {
    const found = violations(
      planted({
        [ACL]: (t) => t.replace('"acls": [', '"grants": [{"src":["tag:gateway"],"dst":["tag:k3s"],"ip":["*"]}],\n  "acls": [\n    {"action":"accept","src":["tag:k3s"],"dst":["tag:gateway:*"]},'),
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(/^GW-ACL-01 {2}file\/-\/gateway\/headscale\/acl\.hujson {2}acls\[0\] lets tag:k3s reach tag:gateway on every port/),
      expect.stringMatching(/^GW-ACL-01 {2}file\/-\/gateway\/headscale\/acl\.hujson {2}grants\[0\] lets tag:gateway reach tag:k3s on every port/),
    ]);
  });

  it('fails when the same is written as a grant, or lets every user device (autogroup:member) reach everything', () => {
    const found = violations(
      planted({
        [ACL]: (t) =>
          t.replace('"acls": [', '"grants": [{"src":["*"],"dst":["*"],"ip":["*"]}],\n  "acls": [\n    {"action":"accept","src":["autogroup:member"],"dst":["*:*"]},'),
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(/^GW-ACL-01 {2}file\/-\/gateway\/headscale\/acl\.hujson {2}acls\[0\] lets autogroup:member reach every device \(\*:\*\)/),
      'GW-ACL-01  file/-/gateway/headscale/acl.hujson  grants[0] accepts src "*" (every device, including any registered later) to *; name a group or tag',
    ]);
  });

  it('fails when a 64-hex-digit token is inlined in a node config', () => {
    const token = 'K10' + '3f9a'.repeat(16) + '::server:' + '0b7c'.repeat(8);
    const found = violations(planted({ [NODE]: (t) => t.replace('token-file: /etc/rancher/k3s/token', `token: ${token}`) }));
    expect(found).toEqual([
      expect.stringMatching(/^SECRET-05 {2}file\/-\/nodes\/k3s-master\/config\.yaml {2}contains a 32-digit hex token "0b7c0b7c\.\.\."/),
      expect.stringMatching(/^SECRET-05 {2}file\/-\/nodes\/k3s-master\/config\.yaml {2}contains a 66-digit hex token "103f9a3f\.\.\."/),
      'SECRET-06  file/-/nodes/k3s-master/config.yaml  sets the k3s join token inline (token); use token-file and put the token on the node (README, "Bootstrap the k3s nodes")',
    ]);
  });

  it('fails when a bare 64-hex-digit secret sits anywhere else (a ConfigMap), but keeps pinned checksums', () => {
    const secret = 'a1b2c3d4e5f60718'.repeat(4);
    const found = violations(planted({ 'k8s/platform/grafana/configmap-grafana-config.yaml': editObject((o) => (o.data['api.ini'] = `key = ${secret}\n`)) }));
    expect(found).toEqual([expect.stringMatching(/^SECRET-05 {2}file\/-\/k8s\/platform\/grafana\/configmap-grafana-config\.yaml {2}contains a 64-digit hex token "a1b2c3d4\.\.\."/)]);
  });

  it.each([
    ['glpat-', 'glpat-' + 'xY9_kL2mN4pQ6rS8tU0v', 'GitLab personal, project or group access token'],
    ['glrt-', 'glrt-' + 't1_AbCdEfGhIjKlMnOpQrSt', 'GitLab runner authentication token'],
    ['gldt-', 'gldt-' + 'AbCdEfGhIjKlMnOpQrSt', 'GitLab deploy token'],
    ['ghp_', 'ghp_' + 'a'.repeat(36), 'GitHub token'],
    ['github_pat_', 'github_pat_' + '11ABCDEFG0'.repeat(3), 'GitHub fine-grained personal access token'],
    ['xoxb-', 'xoxb-' + '1234567890-abcdefghij', 'Slack token'],
  ])('fails when a %s token is anywhere in dist/', (_prefix, token, name) => {
    const found = violations(planted({ 'k8s/platform/grafana/configmap-grafana-config.yaml': editObject((o) => (o.data['grafana.ini'] += `\n; ${token}\n`)) }));
    expect(found.filter((v) => v.startsWith('SECRET-04'))).toEqual([expect.stringContaining(`SECRET-04  file/-/k8s/platform/grafana/configmap-grafana-config.yaml  contains a ${name}`)]);
  });

  it('fails on an AWS access key id and a private key block anywhere in dist/', () => {
    const found = violations(
      planted({
        [HAPROXY]: (t) => `${t}# AKIAIOSFODNN7EXAMPLE\n`,
        'gateway/cloud-init.yaml': (t) => `${t}# -----BEGIN OPENSSH PRIVATE KEY-----\n`,
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(/^SECRET-01 {2}file\/-\/gateway\/cloud-init\.yaml /),
      expect.stringMatching(/^SECRET-02 {2}file\/-\/gateway\/haproxy\.cfg /),
    ]);
  });

  it('fails when automountServiceAccountToken: true is set on a pod whose service account no RoleBinding uses', () => {
    const found = violations(planted({ 'k8s/platform/grafana/deployment-grafana.yaml': editObject((o) => (o.spec.template.spec.automountServiceAccountToken = true)) }));
    expect(found).toEqual(['K8S-SA-01  Deployment/monitoring/grafana  mounts the token of grafana, which no RoleBinding uses; set automountServiceAccountToken: false']);
  });

  it('fails when the pod leaves it unset and the service account default (true) would mount it', () => {
    const found = violations(
      planted({
        'k8s/platform/grafana/deployment-grafana.yaml': editObject((o) => delete o.spec.template.spec.automountServiceAccountToken),
        'k8s/platform/grafana/serviceaccount-grafana.yaml': editObject((o) => delete o.automountServiceAccountToken),
      }),
    );
    expect(found).toEqual(['K8S-SA-01  Deployment/monitoring/grafana  mounts the token of grafana, which no RoleBinding uses; set automountServiceAccountToken: false']);
  });

  it.each(['*:8405', ':8405', '0.0.0.0:8405', ':::8405'])('fails when HAProxy stats bind every interface (bind %s)', (address) => {
    const found = violations(planted({ [HAPROXY]: (t) => t.replace('bind 100.64.0.1:8405 transparent', `bind ${address}`) }));
    expect(found).toEqual([
      `GW-HAPROXY-01  file/-/gateway/haproxy.cfg  frontend metrics serves statistics or metrics on every interface (bind ${address}); bind it to the gateway's mesh address`,
    ]);
  });

  it('fails when a non-public listener binds every interface, or the runtime API listens on TCP', () => {
    const found = violations(
      planted({
        [HAPROXY]: (t) =>
          t
            .replace('stats socket /run/haproxy/admin.sock mode 660 level admin', 'stats socket ipv4@0.0.0.0:9999 level admin')
            .replace('\nbackend ingress_https', '\nlisten debug\n# a comment at column 0 does not end the section\n    bind *:8080\n    server local 127.0.0.1:9\n\nbackend ingress_https'),
      }),
    );
    expect(found).toEqual([
      'GW-HAPROXY-01  file/-/gateway/haproxy.cfg  global stats socket ipv4@0.0.0.0:9999 exposes the runtime API on every interface; use a unix socket or the mesh address',
      "GW-HAPROXY-01  file/-/gateway/haproxy.cfg  listen debug binds *:8080 on every interface, but port 8080 is not one the gateway's security group opens (80, 443); bind it to the mesh or loopback address",
    ]);
  });

  it('npm run policy -- --dir refuses a tampered copy of the committed dist/ with exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-tamper-'));
    try {
      cpSync(join(ROOT, 'dist'), dir, { recursive: true });
      const edit = (path: string, from: string, to: string) => {
        const text = readFileSync(join(dir, path), 'utf8');
        expect(text).toContain(from);
        writeFileSync(join(dir, path), text.replace(from, to));
      };
      edit(ACL, '"acls": [', '"acls": [\n    {"action":"accept","src":["*"],"dst":["*:*"]},');
      edit(HAPROXY, 'bind 100.64.0.1:8405 transparent', 'bind *:8405');
      edit(NODE, 'token-file: /etc/rancher/k3s/token', `token: ${'9e'.repeat(32)}`);
      // In this process (runPolicy, what the entry calls); test/policy/render.test.ts runs it as a process.
      const result = captureOutput(() => runPolicy(['--dir', dir]));
      expect(result.status, result.stdout + result.stderr).toBe(1);
      for (const rule of ['GW-ACL-01  file/-/gateway/headscale/acl.hujson', 'GW-HAPROXY-01  file/-/gateway/haproxy.cfg', 'SECRET-05  file/-/nodes/k3s-master/config.yaml', 'SECRET-06  file/-/nodes/k3s-master/config.yaml']) {
        expect(result.stdout).toContain(rule);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
