/**
 * Secret scan over every rendered file (Kubernetes YAML, Terraform JSON, gateway files, node
 * configs): private key blocks, AWS access key ids, tokens with a well-known prefix, long hex
 * runs, long high-entropy tokens, and join tokens written inline into a k3s node config.
 * Checksums (hex the render can account for) and references (`${...}`) are not secrets.
 */
import { GATEWAY_DOWNLOADS } from '../config/versions';
import type { PolicyInput, Violation } from './types';

const PRIVATE_KEY = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----/;
const AWS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;
const CANDIDATE = /[A-Za-z0-9+/_-]{32,}={0,2}/g;
/** Bits per character above which a 32+ character run is treated as a token (random base64 ~ 6). */
const ENTROPY_THRESHOLD = 4.5;

/**
 * Tokens whose vendor gives them a fixed prefix so that scanners can find them. Prefixes and
 * body lengths as gitleaks (gitleaks/gitleaks config/gitleaks.toml) and the vendors document them:
 * GitLab "Token prefixes" (doc/security/tokens/index.md), GitHub's token formats
 * (github.blog 2021-04-05 "Behind GitHub's new authentication token formats"), Slack's token
 * types (api.slack.com/authentication/token-types). A body of 20+ characters keeps prose that
 * only names a prefix ("a glpat- token") out.
 */
export const KNOWN_TOKENS: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: 'GitLab personal, project or group access token (glpat-)', pattern: /\bglpat-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitLab runner authentication token (glrt-)', pattern: /\bglrt-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitLab runner registration token (GR1348941)', pattern: /\bGR1348941[A-Za-z0-9_-]{20,}/ },
  { name: 'GitLab deploy token (gldt-)', pattern: /\bgldt-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitLab pipeline trigger token (glptt-)', pattern: /\bglptt-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitLab CI/CD job token (glcbt-)', pattern: /\bglcbt-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitLab OAuth application secret (gloas-)', pattern: /\bgloas-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitLab feed, incoming mail or agent token (glft-, glimt-, glagent-)', pattern: /\b(glft|glimt|glagent)-[A-Za-z0-9_.-]{20,}/ },
  { name: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_)', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}/ },
  { name: 'GitHub fine-grained personal access token (github_pat_)', pattern: /\bgithub_pat_[A-Za-z0-9_]{22,}/ },
  { name: 'Slack token (xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxe-)', pattern: /\bxox[abeprs]-[A-Za-z0-9-]{10,}/ },
  { name: 'Slack app-level token (xapp-)', pattern: /\bxapp-\d-[A-Za-z0-9-]{10,}/ },
];

/**
 * A run of 32+ hex digits (128 bits or more): a k3s join token (`K10<64 hex>::server:<32 hex>`),
 * an API key, a session secret. Hex runs are also what checksums look like, so a run is only
 * accepted where the render can account for it (`accountedHex`).
 */
const HEX_RUN = /[0-9a-fA-F]{32,}/g;
/** A key that names its value a checksum or digest: `config-checksum: <hex>`, `sha256: <hex>`. */
const CHECKSUM_KEY = /(checksum|sha-?(1|224|256|384|512)(sum)?|digest|hash)["']?\s*[:=]\s*["']?$/i;

/** Checksums of pinned downloads (config/versions.ts): cloud-init verifies the files with them. */
const PINNED_CHECKSUMS = new Set<string>(Object.values(GATEWAY_DOWNLOADS).map((d) => d.sha256.toLowerCase()));

/** Whether a hex run at `index` of `text` is a checksum, digest or image tag the render can account for. */
export function accountedHex(text: string, index: number, hex: string): boolean {
  if (PINNED_CHECKSUMS.has(hex.toLowerCase())) return true;
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  const before = text.slice(lineStart, index);
  if (/@sha(256|512):$/.test(before)) return true; // an image digest
  // An image tag (delivery tags images by commit id): `registry/team/app:<hex>`, `image: app:<hex>`.
  if (/(^|[\s"'|])[a-z0-9][a-z0-9._-]*(:\d+)?(\/[a-z0-9._-]+)+:$/i.test(before) || /\bimage:\s*["']?[a-z0-9][a-z0-9._-]*:$/i.test(before)) return true;
  return CHECKSUM_KEY.test(before);
}

/**
 * k3s reads its join token from `token` / `agent-token` (or the matching `--token` flags) when it
 * is not given a `token-file` / `agent-token-file` (k3s-io/docs docs/cli/server.md, docs/cli/agent.md).
 * The rendered node configs name the file the operator fills in; a token written inline would be
 * in Git, whatever it looks like.
 */
const NODE_CONFIG = /^nodes\/[^/]+\/config\.ya?ml$/;
const INLINE_JOIN_TOKEN = /^(token|agent-token)\s*:\s*(\S.*)$/m;

export function shannonEntropy(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** A long token that looks random: mixed case and digits, not hex, not a path or a name. */
export function looksLikeToken(candidate: string): boolean {
  if (/^[0-9a-f]+$/i.test(candidate)) return false; // hex runs have their own rule (SECRET-05)
  if (!/[a-z]/.test(candidate) || !/[A-Z]/.test(candidate) || !/[0-9]/.test(candidate)) return false;
  if (/^[A-Za-z]+([-_/][A-Za-z0-9]+)+$/.test(candidate) && !/[0-9]{3,}/.test(candidate)) return false; // paths, kebab names
  return shannonEntropy(candidate) >= ENTROPY_THRESHOLD;
}

export function secretScan(input: PolicyInput): Violation[] {
  const violations: Violation[] = [];
  for (const [path, text] of input.files) {
    const ref = `file/-/${path}`;
    if (PRIVATE_KEY.test(text)) violations.push({ rule: 'SECRET-01', ref, message: 'contains a private key block; keys are generated where they are used or loaded from Vault' });
    if (AWS_KEY_ID.test(text)) violations.push({ rule: 'SECRET-02', ref, message: 'contains an AWS access key id; use the instance role or a Terraform variable' });
    for (const match of text.matchAll(CANDIDATE)) {
      if (looksLikeToken(match[0])) {
        violations.push({ rule: 'SECRET-03', ref, message: `contains a high-entropy token "${match[0].slice(0, 8)}..."; secrets come from Vault or Terraform variables` });
      }
    }
    for (const { name, pattern } of KNOWN_TOKENS) {
      const found = pattern.exec(text);
      if (found) violations.push({ rule: 'SECRET-04', ref, message: `contains a ${name} "${found[0].slice(0, 10)}..."; revoke it, and take it from Vault or a Terraform variable` });
    }
    for (const match of text.matchAll(HEX_RUN)) {
      const hex = match[0];
      if (!/[0-9]/.test(hex) || !/[a-f]/i.test(hex) || accountedHex(text, match.index, hex)) continue;
      violations.push({
        rule: 'SECRET-05',
        ref,
        message: `contains a ${hex.length}-digit hex token "${hex.slice(0, 8)}..." that is neither a pinned checksum (config/versions.ts) nor the value of a checksum or digest key; secrets come from Vault, token files or Terraform variables`,
      });
    }
    if (NODE_CONFIG.test(path)) {
      const inline = INLINE_JOIN_TOKEN.exec(text);
      if (inline) {
        violations.push({ rule: 'SECRET-06', ref, message: `sets the k3s join token inline (${inline[1]}); use ${inline[1]}-file and put the token on the node (README, "Bootstrap the k3s nodes")` });
      }
    }
  }
  return violations;
}
