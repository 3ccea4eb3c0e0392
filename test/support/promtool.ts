/**
 * Runs Prometheus' and Alertmanager's own validators on rendered configuration: the files go into
 * a temporary folder together with every file they reference (placeholders at the same relative
 * paths), since promtool checks that referenced files exist.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { hasCommand, requireValidator } from './validators';

export const hasPromtool = () => requireValidator('promtool', hasCommand('promtool'), 'apt-get install prometheus');
export const hasAmtool = () => requireValidator('amtool', hasCommand('amtool'), 'apt-get install prometheus-alertmanager');

export interface ToolResult {
  readonly status: number | null;
  readonly output: string;
}

function run(command: string, args: string[], cwd: string): ToolResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * Debian's Prometheus is built without Kubernetes service discovery, so its promtool rejects
 * `kubernetes_sd_configs` as an unknown field. Each such block is swapped for an empty
 * `file_sd_configs` (same job, same relabelling); the Kubernetes blocks are asserted separately.
 */
export function withoutKubernetesDiscovery(config: Record<string, any>, dir: string): Record<string, any> {
  const copy = structuredClone(config);
  for (const job of copy.scrape_configs ?? []) {
    if (!job.kubernetes_sd_configs) continue;
    delete job.kubernetes_sd_configs;
    const file = join(dir, 'sd', `${job.job_name}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '[]\n');
    job.file_sd_configs = [{ files: [file] }];
  }
  return copy;
}

/** Points every absolute `*_file` path and the rule files into `dir`, creating placeholders. */
function relocateFiles(config: Record<string, any>, dir: string, rules: Record<string, string>): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith('_file') && typeof value === 'string' && value.startsWith('/')) {
        const file = join(dir, 'root', value);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, 'placeholder\n');
        (node as Record<string, unknown>)[key] = file;
      } else {
        visit(value);
      }
    }
  };
  visit(config);
  mkdirSync(join(dir, 'rules'), { recursive: true });
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, 'rules', name), text);
  config.rule_files = [join(dir, 'rules', '*.yaml')];
}

/** `promtool check config` on prometheus.yml (text as rendered) with its rule files. */
export function promtoolCheckConfig(prometheusYml: string, rules: Record<string, string>): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-'));
  const config = withoutKubernetesDiscovery(parse(prometheusYml), dir);
  relocateFiles(config, dir, rules);
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config, { aliasDuplicateObjects: false }));
  return run('promtool', ['check', 'config', 'prometheus.yml'], dir);
}

export function promtoolCheckRules(rules: Record<string, string>): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-rules-'));
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, name), text);
  return run('promtool', ['check', 'rules', ...Object.keys(rules).sort()], dir);
}

/** `promtool test rules` with the rule files and one test file (promtool's unit-test format). */
export function promtoolTestRules(rules: Record<string, string>, tests: Record<string, unknown>): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), 'promtool-test-'));
  for (const [name, text] of Object.entries(rules)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: Object.keys(rules).sort(), ...tests }, { aliasDuplicateObjects: false, lineWidth: 0 }));
  return run('promtool', ['test', 'rules', 'tests.yaml'], dir);
}

/**
 * Debian's amtool (0.25) predates `webhook_configs[].url_file` (Alertmanager 0.26; the pinned
 * image is newer). Each `url_file` is swapped for a placeholder `url` so the older validator checks
 * the rest; the heartbeat receiver's `url_file` is asserted separately.
 */
function withoutWebhookUrlFiles(alertmanagerYml: string): string {
  const config = parse(alertmanagerYml) as { receivers?: { webhook_configs?: Record<string, unknown>[] }[] };
  for (const receiver of config.receivers ?? []) {
    for (const webhook of receiver.webhook_configs ?? []) {
      if (typeof webhook.url_file !== 'string') continue;
      delete webhook.url_file;
      webhook.url = 'https://heartbeat.invalid/placeholder';
    }
  }
  return stringify(config, { lineWidth: 0 });
}

export function amtoolCheckConfig(alertmanagerYml: string): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), 'amtool-'));
  writeFileSync(join(dir, 'alertmanager.yml'), withoutWebhookUrlFiles(alertmanagerYml));
  return run('amtool', ['check-config', 'alertmanager.yml'], dir);
}

/** `amtool config routes test`: the receivers an alert with these labels reaches, comma-separated. */
export function amtoolRoutesTest(alertmanagerYml: string, labels: Readonly<Record<string, string>>): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), 'amtool-routes-'));
  writeFileSync(join(dir, 'alertmanager.yml'), withoutWebhookUrlFiles(alertmanagerYml));
  return run('amtool', ['config', 'routes', 'test', '--config.file=alertmanager.yml', ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)], dir);
}
