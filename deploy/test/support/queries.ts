/*
 * Every PromQL expression the dashboard and the alert rules use, in a form an instant query can
 * run: Grafana's variables replaced, an alert's threshold comparison removed (so "returns data"
 * means the metric and its labels exist, not that the alert would fire).
 */

export interface DashboardPanel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { readonly type?: string; readonly uid?: string } | null;
  readonly targets?: readonly { readonly refId?: string; readonly expr?: string; readonly datasource?: { readonly uid?: string } }[];
  readonly panels?: readonly DashboardPanel[];
}

export interface Dashboard {
  readonly uid?: string;
  readonly title?: string;
  readonly panels?: readonly DashboardPanel[];
  readonly templating?: { readonly list?: readonly { readonly name?: string; readonly datasource?: { readonly uid?: string }; readonly definition?: string }[] };
}

export interface NamedQuery {
  /** Where it comes from: a panel title and refId, a variable, an alert name. */
  readonly source: string;
  readonly expr: string;
}

/** Every panel, rows' nested panels included, except the rows themselves. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  const visit = (panels: readonly DashboardPanel[] | undefined): void => {
    for (const panel of panels ?? []) {
      if (panel.type !== "row") out.push(panel);
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  return out;
}

/** Grafana's built-in interval variables and the dashboard's own `$instance` (All = `.*`). */
export function substituteGrafanaVariables(expr: string, rateInterval: string): string {
  return expr
    .replaceAll("$__rate_interval", rateInterval)
    .replaceAll("$__interval", rateInterval)
    .replaceAll("$__range", rateInterval)
    .replaceAll("$instance", ".*");
}

export function dashboardQueries(dashboard: Dashboard, rateInterval: string): NamedQuery[] {
  const queries: NamedQuery[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (target.expr !== undefined) queries.push({ source: `panel "${panel.title}" ${target.refId}`, expr: substituteGrafanaVariables(target.expr, rateInterval) });
    }
  }
  for (const variable of dashboard.templating?.list ?? []) {
    // label_values(<selector>, <label>): the selector must match something for the list to fill.
    const match = /^label_values\((.+),\s*\w+\)$/.exec(variable.definition ?? "");
    if (match?.[1] !== undefined) queries.push({ source: `variable $${variable.name}`, expr: match[1] });
  }
  return queries;
}

export interface AlertRule {
  readonly alert?: string;
  readonly record?: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

export interface RuleFile {
  readonly groups: readonly { readonly name: string; readonly rules: readonly AlertRule[] }[];
}

/**
 * The part of an alert's expression that must return series whenever the metric exists:
 * `X > 0.05` -> `X`, `absent(X == 1)` -> `X == 1` (absent() is empty exactly when X has data).
 */
export function alertDataExpr(expr: string): string {
  let inner = expr.trim();
  const absent = /^absent\((.*)\)$/s.exec(inner);
  if (absent?.[1] !== undefined) return absent[1].trim();
  const comparison = /^(.*?)\s*(==|!=|>=|<=|>|<)\s*-?[\d.]+(e[+-]?\d+)?$/s.exec(inner);
  if (comparison?.[1] !== undefined) inner = comparison[1].trim();
  return inner;
}

export function alertQueries(rules: RuleFile): NamedQuery[] {
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({ source: `alert ${rule.alert ?? rule.record ?? "?"}`, expr: alertDataExpr(rule.expr) })),
  );
}
