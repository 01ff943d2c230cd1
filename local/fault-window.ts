/**
 * Time windows of local mode's faults: `outage=FROM-TO`, and the `/FROM-TO` suffix any rate item
 * of the fault spec may carry (`5xx=0.9/30-150`), so a game day can show the recovery after a
 * fault ends (README, "Fault spec"; docs/fault-spec.md). The model simulator and the
 * infrastructure items share this parser; each counts the window on its own clock (the
 * simulator's first request, the pipeline's fault injection start).
 *
 * FROM and TO are seconds, or carry an `s` or `ms` suffix (a bare TO takes FROM's unit):
 * `30-150`, `1.5s-3s`, `500ms-4500ms`. The window is [FROM, TO): TO must come after FROM.
 */

/** A span of a fault's clock, in ms: the fault injects in [fromMs, toMs) and nothing outside. */
export interface FaultWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

/** A fault that may be confined to a window; without one it lasts the whole run. */
export interface WindowedRate {
  readonly rate: number;
  readonly window?: FaultWindow;
}

/** Bounds that do not parse, or end before they start; the spec parsers prefix the item. */
export class FaultWindowError extends Error {
  override readonly name = 'FaultWindowError';
  constructor(
    message: string,
    /** `shape`: not FROM-TO at all; `order`: TO does not come after FROM. */
    readonly reason: 'shape' | 'order',
  ) {
    super(message);
  }
}

const BOUND = String.raw`\d+(?:\.\d+)?(?:ms|s)?`;
const BOUNDS = /^(\d+(?:\.\d+)?)(ms|s)?-(\d+(?:\.\d+)?)(ms|s)?$/;
/** A window suffix at the very end of an item's value; anything else with a '/' (an ARN) is left alone. */
const WINDOW_SUFFIX = new RegExp(`/(${BOUND}-${BOUND})$`);

/** An example for error messages. */
export const FAULT_WINDOW_EXAMPLE = '30-150 (seconds), 1.5s-3s or 500ms-4500ms';

/**
 * Parses `FROM-TO` (outage's bounds, and a rate item's window).
 * @throws FaultWindowError when it is not FROM-TO, or TO does not come after FROM
 */
export function parseFaultWindow(bounds: string): FaultWindow {
  const match = BOUNDS.exec(bounds.trim());
  if (!match) throw new FaultWindowError(`"${bounds}" is not FROM-TO, e.g. ${FAULT_WINDOW_EXAMPLE}`, 'shape');
  const ms = (amount: string, unit: string | undefined) => Number(amount) * (unit === 'ms' ? 1 : 1000);
  const fromMs = ms(match[1] as string, match[2]);
  const toMs = ms(match[3] as string, match[4] ?? match[2]);
  if (!(toMs > fromMs)) throw new FaultWindowError('the end must come after the start', 'order');
  return { fromMs, toMs };
}

/**
 * Splits an item's value into the value proper and its window, when it ends with `/FROM-TO`:
 * `0.8:2000/30-150` → `0.8:2000` and 30 s to 150 s. A value whose last '/' is followed by
 * anything else (`arn:…:foundation-model/x:0.5`) is returned whole, without a window.
 * @throws FaultWindowError when the suffix has the shape of a window but TO does not come after FROM
 */
export function splitFaultWindow(value: string): { readonly value: string; readonly window?: FaultWindow } {
  const match = WINDOW_SUFFIX.exec(value);
  if (!match) return { value };
  return { value: value.slice(0, match.index), window: parseFaultWindow(match[1] as string) };
}

/** The fault's rate at `elapsedMs` on its clock: its rate inside its window (or without one), 0 outside. */
export function rateAt(fault: WindowedRate | undefined, elapsedMs: number): number {
  if (!fault) return 0;
  const { window } = fault;
  return window === undefined || (elapsedMs >= window.fromMs && elapsedMs < window.toMs) ? fault.rate : 0;
}

/** The window with its bounds multiplied by `timeScale` (local mode runs time faster). */
export function scaleFaultWindow(window: FaultWindow, timeScale: number): FaultWindow {
  return { fromMs: Math.round(window.fromMs * timeScale), toMs: Math.round(window.toMs * timeScale) };
}

/** The fault with its window (if any) scaled; the rest as it was. */
export function scaleWindowed<T extends { readonly window?: FaultWindow }>(fault: T, timeScale: number): T {
  return fault.window ? { ...fault, window: scaleFaultWindow(fault.window, timeScale) } : fault;
}

/**
 * From the earliest start to the latest end of the windows of some faults; `undefined` when there
 * is none, or when one of them has no window (it lasts the whole run, so the faults never end).
 * Faults at rate 0 inject nothing and are left out.
 */
export function spanOfFaults(faults: ReadonlyArray<WindowedRate | FaultWindow | undefined>): FaultWindow | undefined {
  let span: FaultWindow | undefined;
  for (const fault of faults) {
    if (fault === undefined) continue;
    let window: FaultWindow | undefined;
    if ('rate' in fault) {
      if (fault.rate <= 0) continue;
      if (fault.window === undefined) return undefined;
      window = fault.window;
    } else window = fault;
    span = span ? { fromMs: Math.min(span.fromMs, window.fromMs), toMs: Math.max(span.toMs, window.toMs) } : window;
  }
  return span;
}
