/**
 * `dist/README.md`, rendered with every run from the model and the render itself: what runs
 * where (namespace, node, public URL, chart or image with its pinned version, storage, secrets by
 * name), the environments, the public hosts with their DNS record and HAProxy route, and a
 * Mermaid diagram of the architecture and the delivery flow. Everything in it is read off the
 * same render that goes to Git, so it cannot drift from what is deployed.
 */
import { parse } from 'yaml';
import type { KubeObject } from '../charts/lib/service';
import { servicesOf } from '../charts/catalogue';
import { PLATFORM_ENV, SERVICE_NAMES, exposureOf, type Platform, type ServiceName } from '../config';
import { byCodePoint } from '../config/order';
import { KV_MOUNT, secretPath } from '../charts/lib/vault';
import { UNMESHED_NAMESPACES, isMeshed, serviceMeshEnabled } from '../charts/lib/service-mesh';
import { CONTROL_PLANE_TARGETS, MESH_CERTIFICATES, PROXY_JOB } from '../charts/observability/mesh';

interface PodTemplate {
  spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] };
}

const isServiceName = (name: string): name is ServiceName => (SERVICE_NAMES as readonly string[]).includes(name);
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const id = (text: string) => text.replace(/[^A-Za-z0-9]/g, '_');

function imagesOf(objects: readonly KubeObject[]): string[] {
  const images = new Set<string>();
  for (const object of objects) {
    const spec = object.spec as { template?: PodTemplate; jobTemplate?: { spec?: { template?: PodTemplate } } } | undefined;
    const template = spec?.template ?? spec?.jobTemplate?.spec?.template;
    for (const c of [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])]) if (c.image) images.add(c.image);
  }
  return [...images].sort(byCodePoint);
}

function storageOf(objects: readonly KubeObject[]): string[] {
  const claims: string[] = [];
  for (const object of objects) {
    if (object.kind === 'PersistentVolumeClaim') {
      const spec = object.spec as { resources?: { requests?: { storage?: string } }; storageClassName?: string };
      claims.push(`${object.metadata.name} ${spec.resources?.requests?.storage ?? '?'} (${spec.storageClassName ?? 'default'})`);
    }
    const templates = (object.spec as { volumeClaimTemplates?: KubeObject[] } | undefined)?.volumeClaimTemplates ?? [];
    for (const t of templates) {
      const spec = t.spec as { resources?: { requests?: { storage?: string } }; storageClassName?: string };
      claims.push(`${t.metadata.name} ${spec.resources?.requests?.storage ?? '?'} (${spec.storageClassName ?? 'default'})`);
    }
  }
  return claims;
}

interface DnsRecord {
  name?: string;
  proxied?: boolean;
  ttl?: number;
  type?: string;
}

export function renderInventory(platform: Platform, files: ReadonlyMap<string, string>, objects: ReadonlyMap<string, KubeObject>): string {
  // The model's order: the order the pipeline promotes through (dev, then staging, then prod).
  const envs = [PLATFORM_ENV, ...Object.keys(platform.environments)];
  const objectsIn = (folder: string) => [...objects].filter(([path]) => path.startsWith(`${folder}/`)).map(([, object]) => object);
  const lines: string[] = [
    '<!-- Rendered by `npm run synth` from the platform model; do not edit: change the model or the code. -->',
    `# The ${platform.domain} platform`,
    '',
    `Rendered from the platform model. Argo CD syncs \`k8s/\` from ${platform.git.repoURL} (branch \`${platform.git.targetRevision}\`);`,
    'Terraform applies `terraform/`; `gateway/` is the gateway\'s user data and `nodes/` the k3s node configs.',
    '',
    '## Architecture',
    '',
    ...mermaid(platform, envs),
    '',
    '## Services',
    '',
    '| environment | service | namespace | node | public URL | chart or images (pinned) | storage | secrets (Vault, by name) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const env of envs) {
    for (const service of servicesOf(env, platform)) {
      const rendered = objectsIn(`k8s/${env}/${service.name}`);
      const helm = service.helm?.(platform);
      const model = isServiceName(service.name) ? platform.services[service.name] : undefined;
      const host = model?.host ?? (env !== PLATFORM_ENV ? platform.apps[service.name]?.environments[env]?.host : undefined);
      const software = [...(helm ? [`chart ${helm.chart} ${helm.version}`] : []), ...imagesOf(rendered)].join('<br>') || '(configuration only)';
      // The KV entry each secret is read from (`secret/data/<entry>`), once even if two files come from it.
      const secrets = [...new Set((service.secretConsumers?.(platform) ?? []).flatMap((c) => c.secrets.map((s) => secretPath(c, s).slice(`${KV_MOUNT}/data/`.length))))];
      lines.push(
        `| ${env} | ${service.name} | ${service.namespace} | ${model?.node ?? 'any'} | ${host ? `https://${host}` : ''} | ${cell(software)} | ${cell(storageOf(rendered).join('<br>'))} | ${cell(secrets.join('<br>'))} |`,
      );
    }
  }

  lines.push(
    '',
    '## Environments',
    '',
    'In the order the pipeline promotes through; each app runs in every environment, in its own namespace and Argo CD project `<app>-<env>`.',
    '',
    '| environment | certificate issuer | apps | root Application |',
    '|---|---|---|---|',
  );
  for (const env of Object.keys(platform.environments)) {
    // Names only: each app's image and tag are in its row of the services table.
    const apps = Object.keys(platform.apps).sort(byCodePoint);
    lines.push(`| ${env} | ${platform.environments[env].certificateIssuer} | ${apps.join(', ') || '(none)'} | \`k8s/${env}/bootstrap/\` |`);
  }

  const dnsStack = files.get('terraform/dns/cdk.tf.json');
  const records = Object.values((dnsStack ? (JSON.parse(dnsStack) as { resource?: Record<string, Record<string, DnsRecord>> }).resource?.cloudflare_dns_record : undefined) ?? {});
  const haproxy = files.get('gateway/haproxy.cfg') ?? '';
  const ingressHosts = new Map<string, string>();
  for (const object of objects.values()) {
    if (object.kind !== 'Ingress') continue;
    for (const rule of (object.spec as { rules?: { host?: string }[] }).rules ?? []) if (rule.host) ingressHosts.set(rule.host, `${object.metadata.namespace}/${object.metadata.name}`);
  }
  // Mesh-only hosts (decision 0099) are answered by Headscale's DNS on the mesh, nowhere public.
  const headscale = files.get('gateway/headscale/config.yaml');
  const meshRecords = ((headscale ? (parse(headscale) as { dns?: { extra_records?: { name: string; type: string; value: string }[] } }) : undefined)?.dns?.extra_records ?? []);
  lines.push('', '## Hosts', '', '| host | serves | exposure | Cloudflare record | HAProxy route | mesh DNS (Headscale) | Ingress |', '|---|---|---|---|---|---|---|');
  const hosts: [string, string, string][] = [
    ...SERVICE_NAMES.flatMap((name): [string, string, string][] => {
      const entry = platform.services[name];
      return entry.host ? [[entry.host, name, exposureOf(entry)]] : [];
    }),
    ...Object.entries(platform.apps).flatMap(([app, spec]) =>
      Object.entries(spec.environments).map(([env, deployment]): [string, string, string] => [deployment.host, `app ${app} (${env})`, exposureOf(deployment)]),
    ),
    [platform.mesh.headscaleHost, 'headscale (mesh control server)', 'public'],
  ];
  for (const [host, what, exposure] of hosts.sort(([a], [b]) => byCodePoint(a, b))) {
    const record = records.find((r) => r.name === host);
    const dns = record ? `${record.type} ${record.proxied ? 'proxied' : `DNS-only, ttl ${record.ttl}`}` : 'none';
    const route = new RegExp(`req\\.ssl_sni -i ${host.replace(/\./g, '\\.')}\\b`).test(haproxy) ? 'SNI passthrough :443' : 'none';
    const meshRecord = meshRecords.find((r) => r.name === host);
    const meshDns = meshRecord ? `${meshRecord.type} ${meshRecord.value}` : 'none';
    lines.push(`| ${host} | ${what} | ${exposure} | ${dns} | ${route} | ${meshDns} | ${ingressHosts.get(host) ?? (what.startsWith('headscale') ? 'on the gateway' : 'not rendered yet')} |`);
  }
  lines.push(...meshInventory(platform, objects));
  lines.push('');
  return lines.join('\n');
}

/** The heading of the service mesh's section: the section runs from it to the next `## ` heading. */
export const MESH_SECTION_HEADING = '## Service mesh';

/**
 * The service mesh's section (issue 18 item 6), read off the render: the Linkerd chart and version
 * of the Application that installs it, the meshed namespaces with their injection annotation, the
 * unmeshed ones with their reasons, the trust chain's Certificates and what Prometheus watches.
 * Nothing when the mesh is off, so that render stays as it was.
 */
export function meshInventory(platform: Platform, objects: ReadonlyMap<string, KubeObject>): string[] {
  if (!serviceMeshEnabled(platform)) return [];
  const all = [...objects.values()];
  const charts = all.flatMap((o) => {
    if (o.kind !== 'Application') return [];
    const spec = o.spec as { source?: { chart?: string; targetRevision?: string }; sources?: { chart?: string; targetRevision?: string }[] };
    return (spec.sources ?? (spec.source ? [spec.source] : [])).filter((s) => s.chart?.startsWith('linkerd')).map((s) => `${s.chart} ${s.targetRevision}`);
  });
  const namespaces = all.filter((o) => o.kind === 'Namespace').map((o) => o.metadata).sort((a, b) => byCodePoint(a.name, b.name));
  const inject = (m: KubeObject['metadata']) => (m.annotations as Record<string, string> | undefined)?.['linkerd.io/inject'] ?? 'not annotated';
  const certificates = all
    .filter((o) => o.kind === 'Certificate' && MESH_CERTIFICATES.some((c) => c.namespace === o.metadata.namespace && c.name === o.metadata.name))
    .map((o) => {
      const spec = o.spec as { issuerRef?: { kind?: string; name?: string }; duration?: string; renewBefore?: string; isCA?: boolean };
      return `| ${o.metadata.namespace}/${o.metadata.name} | ${spec.issuerRef?.kind ?? '?'} ${spec.issuerRef?.name ?? '?'} | ${spec.duration ?? 'default'} | ${spec.renewBefore ?? 'default'} | ${spec.isCA ? 'yes' : 'no'} |`;
    });
  return [
    '',
    MESH_SECTION_HEADING,
    '',
    `Linkerd is on: ${charts.length ? charts.sort(byCodePoint).join(', ') : 'no Application installs its charts in this render'}. See docs/decisions/0125 for what Prometheus watches.`,
    '',
    '| namespace | meshed | linkerd.io/inject | reason |',
    '|---|---|---|---|',
    ...namespaces.map((m) => `| ${m.name} | ${isMeshed(platform, m.name) ? 'yes' : 'no'} | ${inject(m)} | ${cell(UNMESHED_NAMESPACES[m.name] ?? '')} |`),
    ...Object.entries(UNMESHED_NAMESPACES)
      .filter(([name]) => !namespaces.some((m) => m.name === name))
      .map(([name, reason]) => `| ${name} | no | (not rendered here) | ${cell(reason)} |`),
    '',
    'Trust chain (cert-manager Certificates; alerts MeshCertificateRenewalOverdue and MeshCertificateExpiring measure each against its own renewal window):',
    '',
    '| certificate | issuer | duration | renewBefore | CA |',
    '|---|---|---|---|---|',
    ...(certificates.length ? certificates : [`| ${MESH_CERTIFICATES.map((c) => `${c.namespace}/${c.name}`).join(', ')} | not rendered yet | | | |`]),
    '',
    `Prometheus scrapes the proxies (job \`${PROXY_JOB}\`) and the control plane (jobs ${CONTROL_PLANE_TARGETS.map(([w]) => `\`${w.name}\``).join(', ')}); Grafana's dashboard "Service mesh" shows each workload's success rate and latency.`,
  ];
}

function mermaid(platform: Platform, envs: readonly string[]): string[] {
  const out = ['```mermaid', 'flowchart LR'];
  out.push('  internet(("Internet"))');
  out.push('  cloudflare["Cloudflare DNS and proxy"]');
  out.push(`  subgraph aws["AWS ${platform.gateway.region}"]`);
  out.push(`    gateway["gateway EC2 ${platform.gateway.instanceType}<br>HAProxy SNI passthrough<br>Headscale ${platform.mesh.headscaleHost}"]`);
  out.push('  end');
  out.push('  subgraph cluster["k3s cluster"]');
  out.push(`    ingress["NGINX ingress ${platform.cluster.ingressAddress} (MetalLB)"]`);
  for (const [name, node] of Object.entries(platform.nodes).sort(([a], [b]) => byCodePoint(a, b))) {
    out.push(`    subgraph ${id(`node_${name}`)}["${name} (${node.role}) ${node.meshAddress}"]`);
    const placed = SERVICE_NAMES.filter((s) => platform.services[s].node === name);
    for (const service of placed) out.push(`      ${id(`svc_${service}`)}["${service}"]`);
    out.push('    end');
  }
  out.push('  end');
  out.push('  internet --> cloudflare --> gateway');
  out.push(`  gateway -- "mesh ${platform.mesh.cidr} (${platform.mesh.interface})" --> ingress`);
  for (const service of SERVICE_NAMES.filter((s) => platform.services[s].host)) out.push(`  ingress --> ${id(`svc_${service}`)}`);
  out.push('  ceph[("external Ceph: RBD volumes, RGW backups")]');
  out.push('  cluster --- ceph');
  out.push('  subgraph delivery["delivery flow"]');
  out.push('    direction LR');
  out.push('    push["git push"] --> gitlab_d["GitLab"] --> jenkins_d["Jenkins"] --> kaniko_d["Kaniko build"] --> harbor_d["Harbor + Trivy"] --> argocd_d["Argo CD"] --> k3s_d["k3s: ' + envs.filter((e) => e !== PLATFORM_ENV).join(', ') + '"]');
  out.push('  end');
  out.push('```');
  return out;
}
