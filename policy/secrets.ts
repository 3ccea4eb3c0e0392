/**
 * Secret scan over every rendered file (Kubernetes YAML, Terraform JSON, gateway files): private
 * key blocks, AWS access key ids, and long high-entropy tokens. Checksums (hex) and references
 * (`${...}`) are not secrets; a run of base64-like text with high entropy is.
 */
import type { PolicyInput, Violation } from './types';

const PRIVATE_KEY = /-----BEGIN ([A-Z]+ )*PRIVATE KEY( BLOCK)?-----/;
const AWS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;
const CANDIDATE = /[A-Za-z0-9+/_-]{32,}={0,2}/g;
/** Bits per character above which a 32+ character run is treated as a token (random base64 ~ 6). */
const ENTROPY_THRESHOLD = 4.5;

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
  if (/^[0-9a-f]+$/i.test(candidate)) return false; // checksums and ids
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
  }
  return violations;
}
