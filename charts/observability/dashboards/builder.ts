/**
 * A compact way to write Grafana dashboards in TypeScript: rows of panels on the 24-column grid,
 * queries against the provisioned datasources (by uid), units in Grafana's names. Each dashboard
 * is provisioned from a file, read-only in the UI.
 *
 * @see https://grafana.com/docs/grafana/latest/dashboards/build-dashboards/view-dashboard-json-model/
 */

/** The uids the datasources are provisioned with (grafana.ts). */
export const PROMETHEUS_UID = 'prometheus';
export const LOKI_UID = 'loki';

export interface Query {
  readonly expr: string;
  /** The series name, e.g. "{{node}}". */
  readonly legend?: string;
}

interface PanelBase {
  readonly title: string;
  /** Width in grid columns (of 24). @default 12 */
  readonly width?: number;
  /** Height in grid rows. @default 8 */
  readonly height?: number;
  readonly description?: string;
}

export interface TimeSeriesPanel extends PanelBase {
  readonly kind: 'timeseries';
  readonly queries: readonly Query[];
  /** A Grafana unit id: percentunit, bytes, s, reqps, short, ... @default 'short' */
  readonly unit?: string;
}

export interface StatPanel extends PanelBase {
  readonly kind: 'stat';
  readonly queries: readonly Query[];
  readonly unit?: string;
  /** Values at or above which the stat turns orange and red. */
  readonly thresholds?: readonly [number, number];
}

export interface TablePanel extends PanelBase {
  readonly kind: 'table';
  readonly queries: readonly Query[];
}

export interface LogsPanel extends PanelBase {
  readonly kind: 'logs';
  /** A LogQL query. */
  readonly expr: string;
}

export type Panel = TimeSeriesPanel | StatPanel | TablePanel | LogsPanel;

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly tags: readonly string[];
  readonly description: string;
  /** Rows of panels; a row is laid out left to right. */
  readonly rows: readonly (readonly Panel[])[];
  /** Dashboard variables as `name: query` over Prometheus label values. */
  readonly variables?: Readonly<Record<string, string>>;
}

function target(query: Query, refId: string) {
  return { refId, expr: query.expr, legendFormat: query.legend ?? '__auto', datasource: { type: 'prometheus', uid: PROMETHEUS_UID } };
}

function panelJson(panel: Panel, id: number, x: number, y: number): Record<string, unknown> {
  const gridPos = { x, y, w: panel.width ?? 12, h: panel.height ?? 8 };
  const common = { id, title: panel.title, gridPos, ...(panel.description ? { description: panel.description } : {}) };
  const refId = (i: number) => String.fromCharCode(65 + i);
  switch (panel.kind) {
    case 'timeseries':
      return {
        ...common,
        type: 'timeseries',
        datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
        targets: panel.queries.map((q, i) => target(q, refId(i))),
        fieldConfig: { defaults: { unit: panel.unit ?? 'short', custom: { fillOpacity: 10, showPoints: 'never' } }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'desc' } },
      };
    case 'stat': {
      const [orange, red] = panel.thresholds ?? [];
      return {
        ...common,
        type: 'stat',
        datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
        targets: panel.queries.map((q, i) => target(q, refId(i))),
        fieldConfig: {
          defaults: {
            unit: panel.unit ?? 'short',
            thresholds: {
              mode: 'absolute',
              steps: [{ color: 'green', value: null }, ...(orange !== undefined ? [{ color: 'orange', value: orange }, { color: 'red', value: red }] : [])],
            },
          },
          overrides: [],
        },
        options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' },
      };
    }
    case 'table':
      return {
        ...common,
        type: 'table',
        datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
        targets: panel.queries.map((q, i) => ({ ...target(q, refId(i)), format: 'table', instant: true })),
        options: { showHeader: true },
        transformations: [{ id: 'organize', options: { excludeByName: { Time: true } } }],
      };
    case 'logs':
      return {
        ...common,
        type: 'logs',
        datasource: { type: 'loki', uid: LOKI_UID },
        targets: [{ refId: 'A', expr: panel.expr, datasource: { type: 'loki', uid: LOKI_UID } }],
        options: { showTime: true, wrapLogMessage: true, sortOrder: 'Descending' },
      };
  }
}

/** The dashboard's JSON model. */
export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let y = 0;
  let id = 1;
  for (const row of spec.rows) {
    const width = row.reduce((sum, p) => sum + (p.width ?? 12), 0);
    if (width > 24) throw new Error(`dashboard ${spec.uid}: a row of ${row.map((p) => p.title).join(', ')} is ${width} columns wide; at most 24 fit`);
    let x = 0;
    for (const panel of row) {
      panels.push(panelJson(panel, id++, x, y));
      x += panel.width ?? 12;
    }
    y += Math.max(...row.map((p) => p.height ?? 8));
  }
  const variables = Object.entries(spec.variables ?? {}).map(([name, query]) => ({
    name,
    type: 'query',
    datasource: { type: 'prometheus', uid: PROMETHEUS_UID },
    query: { query, refId: 'variable' },
    refresh: 2,
    includeAll: true,
    multi: true,
    current: { text: 'All', value: '$__all' },
    sort: 1,
  }));
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [...spec.tags],
    editable: false,
    graphTooltip: 1,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'utc',
    schemaVersion: 39,
    templating: { list: variables },
    annotations: { list: [] },
    panels,
  };
}
