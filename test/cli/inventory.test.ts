import { describe, expect, it } from 'vitest';
import { SERVICE_NAMES, exposureOf, loadDefaultPlatform } from '../../config';
import { servicesOf } from '../../charts/catalogue';
import { defaultRender, singleNodeRender } from '../support/render';

const inventory = () => defaultRender().get('README.md')!;

describe('the rendered inventory (dist/README.md)', () => {
  it('lists every service of every environment with its namespace and pinned chart', () => {
    const platform = loadDefaultPlatform();
    for (const env of ['platform', ...Object.keys(platform.environments)]) {
      for (const service of servicesOf(env, platform)) {
        const row = inventory().split('\n').find((line) => line.startsWith(`| ${env} | ${service.name} | ${service.namespace} |`));
        expect(row, `${env}/${service.name}`).toBeDefined();
        const helm = service.helm?.(platform);
        if (helm) expect(row).toContain(`chart ${helm.chart} ${helm.version}`);
      }
    }
  });

  it('lists every host with its exposure: public ones with their Cloudflare record and HAProxy route, mesh-only ones with their Headscale record only', () => {
    const platform = loadDefaultPlatform();
    const ingress = platform.cluster.ingressAddress;
    const row = (exposure: string) =>
      exposure === 'public' ? `| ${exposure} | A proxied | SNI passthrough :443 | none |` : `| ${exposure} | none | none | A ${ingress} |`;
    let mesh = 0;
    for (const name of SERVICE_NAMES) {
      const entry = platform.services[name];
      if (!entry.host) continue;
      const exposure = exposureOf(entry);
      if (exposure === 'mesh') mesh++;
      expect(inventory()).toContain(`| ${entry.host} | ${name} ${row(exposure)}`);
    }
    // The seed has both kinds, so both row shapes were checked.
    expect(mesh).toBeGreaterThan(0);
    expect(inventory()).toContain(`| ${platform.mesh.headscaleHost} | headscale (mesh control server) | public | A DNS-only, ttl 300 | SNI passthrough :443 | none | on the gateway |`);
  });

  it("lists every app's host per environment, served by the app's Ingress, and the app's URL in its row", () => {
    const platform = loadDefaultPlatform();
    const ingress = platform.cluster.ingressAddress;
    for (const [app, spec] of Object.entries(platform.apps)) {
      for (const [env, deployment] of Object.entries(spec.environments)) {
        const edge = exposureOf(deployment) === 'public' ? 'public | A proxied | SNI passthrough :443 | none' : `mesh | none | none | A ${ingress}`;
        expect(inventory()).toContain(`| ${deployment.host} | app ${app} (${env}) | ${edge} | ${app}-${env}/${app} |`);
        expect(inventory()).toContain(`| ${env} | ${app} | ${app}-${env} | any | https://${deployment.host} | registry.lumetium.com/${spec.image}:${deployment.tag} |`);
      }
    }
  });

  it('lists the environments in the order the pipeline promotes through, with their apps', () => {
    const rows = inventory().split('\n').filter((line) => /^\| (dev|staging|prod) \| letsencrypt-/.test(line));
    expect(rows).toEqual([
      '| dev | letsencrypt-prod | hello | `k8s/dev/bootstrap/` |',
      '| staging | letsencrypt-prod | hello | `k8s/staging/bootstrap/` |',
      '| prod | letsencrypt-prod | hello | `k8s/prod/bootstrap/` |',
    ]);
    expect(inventory()).toContain('"k3s: dev, staging, prod"');
  });

  it('places every service of the model on its node in the diagram, and closes every subgraph', () => {
    const text = inventory();
    const diagram = text.slice(text.indexOf('```mermaid'), text.indexOf('```', text.indexOf('```mermaid') + 3));
    expect(diagram.match(/^\s*subgraph /gm)?.length).toBe(diagram.match(/^\s*end$/gm)?.length);
    const platform = loadDefaultPlatform();
    for (const name of SERVICE_NAMES) {
      const node = platform.services[name].node.replace(/-/g, '_');
      const section = diagram.slice(diagram.indexOf(`subgraph node_${node}[`));
      expect(section.slice(0, section.indexOf('end')), name).toContain(`svc_${name}["${name}"]`);
    }
    expect(diagram).toContain('push["git push"] --> gitlab_d["GitLab"] --> jenkins_d["Jenkins"] --> kaniko_d["Kaniko build"] --> harbor_d["Harbor + Trivy"] --> argocd_d["Argo CD"]');
  });

  it('follows the model: another platform has its own hosts and nodes', () => {
    const text = singleNodeRender().get('README.md')!;
    expect(text).toContain('# The example.net platform');
    expect(text).toContain('subgraph node_solo["solo (server)');
    expect(text).not.toContain('lumetium');
  });
});
