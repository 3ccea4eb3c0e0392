/**
 * Renders the cdktf stacks into `terraform/<stack>/cdk.tf.json` plus `terraform/manifest.json`,
 * the manifest `cdktf synth` reads (its paths point at our layout rather than cdktf's `stacks/`).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'cdktf';
import type { Platform } from '../config';
import { stackFolder } from './lib/layout';
import { DnsStack } from './stacks/dns';
import { GatewayStack } from './stacks/gateway';
import { StateStack } from './stacks/state';
import { VaultStack } from './stacks/vault';
import { BackupStack } from './stacks/backup';

/**
 * Stack names, in the order they are applied (`vault` only when the model sets vault.autoUnseal,
 * `backup` only when it sets backups.offsite).
 */
export const STACKS = ['state', 'gateway', 'dns', 'vault', 'backup'] as const;

interface CdktfManifest {
  version: string;
  stacks: Record<string, { synthesizedStackPath: string; workingDirectory: string; stackMetadataPath?: string; [key: string]: unknown }>;
}

export function renderTerraform(platform: Platform): Map<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), 'platform-cdktf-'));
  try {
    const app = new App({ outdir, skipBackendValidation: false, hclOutput: false });
    new StateStack(app, 'state', platform);
    new GatewayStack(app, 'gateway', platform);
    new DnsStack(app, 'dns', platform);
    if (platform.vault.autoUnseal) new VaultStack(app, 'vault', platform);
    if (platform.backups.offsite) new BackupStack(app, 'backup', platform);
    app.synth();

    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as CdktfManifest;
    const files = new Map<string, string>();
    for (const name of Object.keys(manifest.stacks).sort()) {
      const stack = manifest.stacks[name];
      const json = readFileSync(join(outdir, stack.synthesizedStackPath), 'utf8');
      files.set(`${stackFolder(name)}/cdk.tf.json`, json.endsWith('\n') ? json : `${json}\n`);
      stack.synthesizedStackPath = `${name}/cdk.tf.json`;
      stack.workingDirectory = name;
      delete stack.stackMetadataPath;
    }
    files.set('terraform/manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    return files;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
