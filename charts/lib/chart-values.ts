/**
 * Chart values typed by the chart itself: `npm run import` generates a type per pinned chart from
 * its values.schema.json / values.yaml (imports/charts/), and a service's `helm()` must return
 * values of that type, so a misspelt key, a wrong nesting or a map where the chart wants a list
 * fails `npm run typecheck` (docs/decisions/0057-typed-chart-values.md).
 */
import type { CHARTS } from '../../config/versions';
import type { ChartValues } from '../../imports/charts';
import type { HelmChartSource } from './argocd';

/** The name of every chart config/versions.ts pins. */
export type PinnedChart = (typeof CHARTS)[keyof typeof CHARTS]['chart'];

/**
 * The values type of `chart`. A pinned chart without a generated type (not imported yet) takes any
 * object; test/charts/chart-values.test.ts lists those, so the gap stays visible.
 */
export type ChartValuesOf<C extends string> = C extends keyof ChartValues ? ChartValues[C] : Record<string, unknown>;

/** A Helm source of one pinned chart with values of that chart's type (discriminated by `chart`). */
export type PinnedHelmChartSource = {
  [C in PinnedChart]: Omit<HelmChartSource, 'chart' | 'values'> & { readonly chart: C; readonly values: ChartValuesOf<C> };
}[PinnedChart];
