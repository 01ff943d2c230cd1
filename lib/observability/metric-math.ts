/**
 * The small part of CloudWatch metric math the alarm catalog uses, as a tree instead of a string,
 * so one definition renders to the `Expression` CloudWatch evaluates and is evaluated locally by
 * the same rules (local/alarm-evaluator.ts). No aws-cdk-lib here: `pipectl` and local mode load
 * this without the CDK.
 *
 * Semantics per period, as CloudWatch's "Using metric math" documents them:
 * - arithmetic: "Missing values in a time series are treated as 0" — a value plus a missing value
 *   is the value; both missing is missing; "if the value of a data point causes a function to
 *   attempt to divide by zero, the data point is dropped" (missing);
 * - comparisons: between two series, "the function treats the missing value in the other time
 *   series as 0"; a series against a number has no value where the series has none;
 * - `IF(c, a, b)`: picks `a` where `c` is non-zero, `b` where it is 0; a timestamp whose condition
 *   has no value is dropped; a true condition over a missing `a` is 0 ("has the value of 0, if the
 *   corresponding data point of metric1 is TRUE and the corresponding data point does not exist in
 *   metric2");
 * - `FILL(m, v)` replaces missing values of `m` with `v`. The documentation does not promise that
 *   FILL creates datapoints for a metric with none in the whole range queried (there are no
 *   timestamps to fill), so the local evaluator takes the strict reading: a metric empty over the
 *   whole evaluation range stays empty under FILL (`EvaluationContext.emptyInRange`). The catalog's
 *   alarms are written to mean the same under both readings (test/unit/alarm-missing-data.test.ts).
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
  add: (...terms: Array<MathExpression | string>): MathExpression => terms.map(node).reduce((left, right) => ({ op: '+', left, right })),
  subtract: (left: MathExpression | string | number, right: MathExpression | string | number): MathExpression => ({
    op: '-',
    left: node(left),
    right: node(right),
  }),
  multiply: (left: MathExpression | string | number, right: MathExpression | string | number): MathExpression => ({
    op: '*',
    left: node(left),
    right: node(right),
  }),
  divide: (left: MathExpression | string | number, right: MathExpression | string | number): MathExpression => ({
    op: '/',
    left: node(left),
    right: node(right),
  }),
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

/** What an evaluation knows beyond one period. */
export interface EvaluationContext {
  /**
   * Metric ids with no datapoint anywhere in the alarm's evaluation range: FILL leaves them
   * missing (see the module comment). @default none
   */
  readonly emptyInRange?: ReadonlySet<string>;
}

/** The value of a tree for one period, `undefined` when it is missing. */
export function evaluateExpression(expression: MathExpression, values: PeriodValues, context: EvaluationContext = {}): number | undefined {
  const evaluate = (current: MathExpression): number | undefined => evaluateExpression(current, values, context);
  switch (expression.op) {
    case 'metric':
      return values[expression.id];
    case 'number':
      return expression.value;
    case 'fill': {
      const value = evaluate(expression.arg);
      if (value !== undefined) return value;
      const empty = metricIdsOf(expression.arg).every((id) => context.emptyInRange?.has(id));
      return empty ? undefined : expression.value;
    }
    case 'if': {
      const condition = evaluateCondition(expression.condition, values, context);
      if (condition === undefined) return undefined;
      if (condition) return evaluate(expression.then) ?? 0;
      return evaluate(expression.otherwise);
    }
    default: {
      let left = evaluate(expression.left);
      let right = evaluate(expression.right);
      if (left === undefined && right === undefined) return undefined;
      // A series against a number: no value where the series has none.
      if ((left === undefined && expression.right.op === 'number') || (right === undefined && expression.left.op === 'number')) return undefined;
      left ??= 0;
      right ??= 0;
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

function evaluateCondition(condition: MathCondition, values: PeriodValues, context: EvaluationContext): boolean | undefined {
  if (isLogical(condition)) {
    const left = evaluateCondition(condition.left, values, context);
    const right = evaluateCondition(condition.right, values, context);
    if (left === undefined && right === undefined) return undefined;
    // Between two series the missing side counts as 0 (false).
    return condition.op === 'AND' ? Boolean(left) && Boolean(right) : Boolean(left) || Boolean(right);
  }
  return compare(condition as Comparison, values, context);
}

function compare(condition: Comparison, values: PeriodValues, context: EvaluationContext): boolean | undefined {
  let left = evaluateExpression(condition.left, values, context);
  let right = evaluateExpression(condition.right, values, context);
  if (left === undefined && right === undefined) return undefined;
  if ((left === undefined && condition.right.op === 'number') || (right === undefined && condition.left.op === 'number')) return undefined;
  left ??= 0;
  right ??= 0;
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
