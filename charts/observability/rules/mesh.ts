/**
 * The service mesh's rules (issue 18 item 5, docs/decisions/0125), present only when the mesh is on:
 *  - `service-mesh-traffic` records, per meshed workload (deployment, statefulset, daemonset), the
 *    inbound request rate, response rate by classification, success ratio and p50/p95/p99
 *    latency from the proxies' metrics: what the Service mesh dashboard reads;
 *  - `service-mesh` alerts when the trust chain's certificates are not renewed in time, measured
 *    against each certificate's own renewal window (cert-manager's renewal and expiry
 *    timestamps: renewal time = expiry - renewBefore), and when a control-plane component has no
 *    target up.
 */
import type { AlertingRule, RecordingRule, RuleContext, RuleGroup } from '../../lib/rule-group';
import { serviceMeshEnabled } from '../../lib/service-mesh';
import { CONTROL_PLANE_TARGETS, IDENTITY_ISSUER_CERTIFICATE, MESH_CERTIFICATES, PROXY_JOB } from '../mesh';
import { LINKERD_DESTINATION, LINKERD_IDENTITY, LINKERD_PROXY_INJECTOR } from '../../lib/service-mesh';

/** The labels every recorded series keeps: which workload it measures. */
export const WORKLOAD_LABELS = 'namespace, workload_kind, workload';
/** The latency quantiles the dashboard shows. */
export const LATENCY_QUANTILES = ['0.5', '0.95', '0.99'] as const;

/** Recorded series (level:metric:operations, as Prometheus' naming practice has it). */
export const RECORDED = {
  requests: 'workload:linkerd_inbound_requests:rate5m',
  responses: 'workload:linkerd_inbound_responses:rate5m',
  success: 'workload:linkerd_inbound_success:ratio5m',
  latency: 'workload:linkerd_inbound_response_latency_ms:quantile5m',
} as const;

/**
 * Share of its renewal window a certificate may run past cert-manager's renewal time before the
 * warning (a tenth of the window: 2.5 h for the identity issuer of Linkerd's guide, 25 h before
 * expiry) and before the critical alert (half the window).
 */
export const RENEWAL_LATE_WARNING = 0.1;
export const RENEWAL_LATE_CRITICAL = 0.5;

/** The rule groups' names (one rule file each, `<name>.yaml`). */
export const MESH_TRAFFIC_GROUP = 'service-mesh-traffic';
export const MESH_ALERT_GROUP = 'service-mesh';

const inbound = `job="${PROXY_JOB}", direction="inbound", workload!=""`;

/** The recording rules the dashboard reads; undefined when the mesh is off. */
export function meshTrafficRules({ platform }: Pick<RuleContext, 'platform'>): RuleGroup | undefined {
  if (!serviceMeshEnabled(platform)) return undefined;
  const rate = (selector: string) => `rate(response_total{${selector}}[5m])`;
  const rules: RecordingRule[] = [
    { record: RECORDED.requests, expr: `sum by (${WORKLOAD_LABELS}) (rate(request_total{${inbound}}[5m]))` },
    { record: RECORDED.responses, expr: `sum by (${WORKLOAD_LABELS}, classification) (${rate(inbound)})` },
    { record: RECORDED.success, expr: `sum by (${WORKLOAD_LABELS}) (${rate(`${inbound}, classification="success"`)}) / sum by (${WORKLOAD_LABELS}) (${rate(inbound)})` },
    // The latency histogram has no classification (the proxy records it at the first byte).
    ...LATENCY_QUANTILES.map((quantile) => ({
      record: RECORDED.latency,
      expr: `histogram_quantile(${quantile}, sum by (${WORKLOAD_LABELS}, le) (rate(response_latency_ms_bucket{${inbound}}[5m])))`,
      labels: { quantile },
    })),
  ];
  return { name: MESH_TRAFFIC_GROUP, rules };
}

const selector = (cert: { namespace: string; name: string }) => `{namespace="${cert.namespace}", name="${cert.name}"}`;

/** Per trust-chain certificate: time left is less than `(1 - late)` of its renewal window. */
function renewalLate(late: number): string {
  return MESH_CERTIFICATES.map((cert) => {
    const expiry = `certmanager_certificate_expiration_timestamp_seconds${selector(cert)}`;
    const renewal = `certmanager_certificate_renewal_timestamp_seconds${selector(cert)}`;
    // A renewal time of 0 means cert-manager has not scheduled one (not issued yet): no window to measure.
    return `(${expiry} - time() < ${1 - late} * (${expiry} - ${renewal}) and ${renewal} > 0)`;
  }).join(' or ');
}

const WHAT_FAILS: Record<string, string> = {
  [LINKERD_PROXY_INJECTOR.name]:
    'The injector webhook fails open (the chart\'s webhookFailurePolicy: Ignore): pods created now start WITHOUT a proxy, unmeshed and unauthorized by identity. When it is back, restart the pods created meanwhile (`kubectl get pods -A -l \'!linkerd.io/control-plane-ns\'` in meshed namespaces).',
  [LINKERD_IDENTITY.name]:
    'Proxies cannot obtain or renew their workload certificates (24 h lifetime): new meshed pods never become ready and running ones fail mTLS within a day.',
  [LINKERD_DESTINATION.name]:
    'Proxies cannot resolve endpoints or fetch policy: new meshed pods never become ready and running ones keep stale endpoints.',
};

/** The alerts; undefined when the mesh is off. */
export function meshAlertRules({ platform }: Pick<RuleContext, 'platform'>): RuleGroup | undefined {
  if (!serviceMeshEnabled(platform)) return undefined;
  const issuer = `certmanager_certificate_expiration_timestamp_seconds${selector(IDENTITY_ISSUER_CERTIFICATE)}`;
  const certificates: AlertingRule[] = [
    {
      alert: 'MeshCertificateRenewalOverdue',
      expr: renewalLate(RENEWAL_LATE_WARNING),
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Mesh certificate {{ $labels.namespace }}/{{ $labels.name }} is past its renewal time',
        description:
          'cert-manager should have renewed {{ $labels.name }} in {{ $labels.namespace }} (part of Linkerd\'s trust chain) and has not. Check `kubectl describe certificate -n {{ $labels.namespace }} {{ $labels.name }}`, its CertificateRequest and its issuer (README "Service mesh").',
      },
    },
    {
      alert: 'MeshCertificateExpiring',
      expr: renewalLate(RENEWAL_LATE_CRITICAL),
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: 'Mesh certificate {{ $labels.namespace }}/{{ $labels.name }} has used half its renewal window unrenewed',
        description:
          'When {{ $labels.name }} in {{ $labels.namespace }} expires, Linkerd\'s identity controller can no longer issue proxy certificates and meshed traffic fails. Fix the renewal now (see MeshCertificateRenewalOverdue).',
      },
    },
    {
      alert: 'MeshIdentityIssuerCertificateMissing',
      expr: `absent(${issuer})`,
      for: '30m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'cert-manager reports no identity issuer certificate for Linkerd',
        description: `cert-manager exports no expiry for Certificate ${IDENTITY_ISSUER_CERTIFICATE.namespace}/${IDENTITY_ISSUER_CERTIFICATE.name}: it is missing, renamed, or cert-manager is not scraped. Its renewal is then unwatched.`,
      },
    },
  ];
  const controlPlane: AlertingRule[] = CONTROL_PLANE_TARGETS.map(([workload]) => {
    const name = workload.name.split('-').map((part) => part[0].toUpperCase() + part.slice(1)).join('');
    return {
      alert: `Linkerd${name}Down`,
      // No target at all counts as down: the component's pods are gone.
      expr: `(sum(up{job="${workload.name}"}) or vector(0)) == 0`,
      for: '5m',
      labels: { severity: 'critical' },
      annotations: {
        summary: `Linkerd's ${workload.name} has no ready target`,
        description: `No ${workload.name} pod of namespace ${workload.namespace} answers Prometheus. ${WHAT_FAILS[workload.name]} Check \`kubectl -n ${workload.namespace} get pods -l ${workload.selectorLabel}=${workload.name}\`.`,
      },
    };
  });
  return { name: MESH_ALERT_GROUP, rules: [...certificates, ...controlPlane] };
}
