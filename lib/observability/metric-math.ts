/**
 * The small part of CloudWatch metric math the alarm catalog uses, as a tree instead of a string,
 * so one definition renders to the `Expression` CloudWatch evaluates and is evaluated locally by
 * the same rules (local/alarm-evaluator.ts). No aws-cdk-lib here: `pipectl` and local mode load
 * this without the CDK.
 *
 * Semantics per period, as CloudWatch documents them for single values:
 * - a metric with no datapoint in the period is missing; arithmetic or a comparison with a missing
 *   operand is missing (CloudWatch aligns time series and drops timestamps that one side lacks);
 * - `FILL(m, v)` replaces a missing value with `v`;
 * - a comparison is 1 or 0, `AND`/`OR` combine them, `IF(c, a, b)` picks `a` where `c` is non-zero;
 * - division by zero is treated as missing here; the catalog never divides by zero (every ratio is
 *   guarded by `IF(denominator >= minimum, ...)`), so CloudWatch's own handling never matters.
 * The catalog FILLs every counter that can be absent, so its alarms do not depend on how
 * CloudWatch aligns two series with different gaps.
 */

/** A node of a metric math expression. `metric` refers to an id of the alarm's `metrics` map. */
export type MathExpression =
  | { readonly op: 'metric'; readonly id: string }
  | { readonly op: 'number'; readonly value: number }
  | { readonly op: 'fill'; readonly arg: MathExpression; readonly value: number }
  | { readonly op: '+' | '-' | '*' | '/'; readonly left: MathExpression; readonly right: MathExpression }
  | { readonly op: 'if'; readonly condition: MathCondition; readonly then: MathExpression; readonly otherwise: MathExpression };

/** A condition inside `IF(...)`. */
export type MathCondition =
  | { readonly op: '>' | '>=' | '<' | '<=' | '=='; readonly left: MathExpression; readonly right: MathExpression }
  | { readonly op: 'AND' | 'OR'; readonly left: MathCondition; readonly right: MathCondition };

/** CloudWatch metric ids must start with a lowercase letter and hold only letters, digits and `_`. */
export const METRIC_ID_PATTERN = /^[a-z][a-zA-Z0-9_]*$/;

/** Builders, so catalog entries read like the expressions they render to. */
export const math = {
  metric: (id: string): MathExpression => ({ op: 'metric', id }),
  number: (value: number): MathExpression => ({ op: 'number', value }),
  fill: (arg: MathExpression | string, value = 0): MathExpression => ({ op: 'fill', arg: node(arg), value }),
  add: (...terms: Array<MathExpression | string>): MathExpression =>
    terms.map(node).reduce((left, right) => ({ op: '+', left, right })),
  multiply: (left: MathExpression | string | number, right: MathExpression | string | number): MathExpression => ({ op: '*', left: node(left), right: node(right) }),
  divide: (left: MathExpression | string | number, right: MathExpression | string | number): MathExpression => ({ op: '/', left: node(left), right: node(right) }),
  if: (condition: MathCondition, then: MathExpression | string | number, otherwise: MathExpression | string | number): MathExpression => ({
    op: 'if',
    condition,
    // biome-ignore lint/suspicious/noThenProperty: the branches of CloudWatch's IF; this plain data object is never awaited.
    then: node(then),
    otherwise: node(otherwise),
  }),
  compare: (left: MathExpression | string | number, op: '>' | '>=' | '<' | '<=' | '==', right: MathExpression | string | number): MathCondition => ({
    op,
    left: node(left),
    right: node(right),
  }),
  and: (left: MathCondition, right: MathCondition): MathCondition => ({ op: 'AND', left, right }),
} as const;

function node(value: MathExpression | string | number): MathExpression {
  if (typeof value === 'string') return math.metric(value);
  if (typeof value === 'number') return math.number(value);
  return value;
}

/** Binding strength of the arithmetic operators, for minimal parentheses. */
const PRECEDENCE: Readonly<Record<'+' | '-' | '*' | '/', number>> = { '+': 1, '-': 1, '*': 2, '/': 2 };

/** The CloudWatch `Expression` string of a tree, with parentheses only where precedence needs them. */
export function renderExpression(expression: MathExpression): string {
  switch (expression.op) {
    case 'metric':
      return expression.id;
    case 'number':
      return String(expression.value);
    case 'fill':
      return `FILL(${renderExpression(expression.arg)}, ${expression.value})`;
    case 'if':
      return `IF(${renderCondition(expression.condition, true)}, ${renderExpression(expression.then)}, ${renderExpression(expression.otherwise)})`;
    default: {
      const precedence = PRECEDENCE[expression.op];
      // Left-associative: a left operand of the same strength needs no parentheses, a right one does (a - (b - c)).
      const left = operand(expression.left, (inner) => inner < precedence);
      const right = operand(expression.right, (inner) => inner <= precedence);
      return `${left} ${expression.op} ${right}`;
    }
  }
}

function operand(expression: MathExpression, needsParentheses: (innerPrecedence: number) => boolean): string {
  const text = renderExpression(expression);
  const isBinary = expression.op === '+' || expression.op === '-' || expression.op === '*' || expression.op === '/';
  return isBinary && needsParentheses(PRECEDENCE[expression.op as keyof typeof PRECEDENCE]) ? `(${text})` : text;
}

type LogicalCondition = Extract<MathCondition, { readonly op: 'AND' | 'OR' }>;
type Comparison = Exclude<MathCondition, LogicalCondition>;

function isLogical(condition: MathCondition): condition is LogicalCondition {
  return condition.op === 'AND' || condition.op === 'OR';
}

function renderCondition(condition: MathCondition, top = false): string {
  const text = isLogical(condition)
    ? `${renderCondition(condition.left)} ${condition.op} ${renderCondition(condition.right)}`
    : `${renderExpression((condition as Comparison).left)} ${condition.op} ${renderExpression((condition as Comparison).right)}`;
  return top ? text : `(${text})`;
}

/** Every metric id a tree refers to, in order of first use. */
export function metricIdsOf(expression: MathExpression): string[] {
  const ids = new Set<string>();
  const visit = (current: MathExpression | MathCondition): void => {
    switch (current.op) {
      case 'metric':
        ids.add(current.id);
        return;
      case 'number':
        return;
      case 'fill':
        visit(current.arg);
        return;
      case 'if':
        visit(current.condition);
        visit(current.then);
        visit(current.otherwise);
        return;
      default:
        visit(current.left);
        visit(current.right);
    }
  };
  visit(expression);
  return [...ids];
}

/** One period's values of the metrics an expression uses; `undefined` is a missing datapoint. */
export type PeriodValues = Readonly<Record<string, number | undefined>>;

/** The value of a tree for one period, `undefined` when it is missing. */
export function evaluateExpression(expression: MathExpression, values: PeriodValues): number | undefined {
  switch (expression.op) {
    case 'metric':
      return values[expression.id];
    case 'number':
      return expression.value;
    case 'fill':
      return evaluateExpression(expression.arg, values) ?? expression.value;
    case 'if': {
      const condition = evaluateCondition(expression.condition, values);
      if (condition === undefined) return undefined;
      return evaluateExpression(condition ? expression.then : expression.otherwise, values);
    }
    default: {
      const left = evaluateExpression(expression.left, values);
      const right = evaluateExpression(expression.right, values);
      if (left === undefined || right === undefined) return undefined;
      switch (expression.op) {
        case '+':
          return left + right;
        case '-':
          return left - right;
        case '*':
          return left * right;
        case '/':
          return right === 0 ? undefined : left / right;
      }
    }
  }
}

function evaluateCondition(condition: MathCondition, values: PeriodValues): boolean | undefined {
  if (isLogical(condition)) {
    const left = evaluateCondition(condition.left, values);
    const right = evaluateCondition(condition.right, values);
    if (left === undefined || right === undefined) return undefined;
    return condition.op === 'AND' ? left && right : left || right;
  }
  return compare(condition as Comparison, values);
}

function compare(condition: Comparison, values: PeriodValues): boolean | undefined {
  const left = evaluateExpression(condition.left, values);
  const right = evaluateExpression(condition.right, values);
  if (left === undefined || right === undefined) return undefined;
  switch (condition.op) {
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '==':
      return left === right;
  }
}
