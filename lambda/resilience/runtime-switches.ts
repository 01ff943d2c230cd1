import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { CONTROL, SWITCH_REFRESH_MS, TIER } from '../contract';
import { DependencyError, PipelineError } from '../errors/pipeline-errors';
import { resolveTaskVersion, splitTaskVersionName, type TaskVersionName } from '../tasks/registry';

/*
 * Runtime switches (feature flags) live in the control table, not in AppConfig or SSM Parameter
 * Store through Powertools Parameters. Why: local mode runs on fauxqs and dynalite only, and
 * neither AppConfig nor SSM has an embedded emulator that serves the same API (moto_server does,
 * but it is a Python process that is not on a user's machine and is not part of `npm start`). A
 * switch that works on AWS but is faked locally would make the "flip it during a run" test prove
 * nothing. The control table is already read by every Lambda (the breaker), is emulated faithfully,
 * and one GetItem of one small item per execution environment per refresh interval costs less than
 * an AppConfig session. The caching Powertools Parameters would bring (a TTL, stale value on error)
 * is the dozen lines of `RuntimeSwitches.refresh` below.
 */

/**
 * The switches and how each is named. A name is `<kind>` or `<kind>.<subject>`:
 * - `tier-off.<primary|secondary>` = `true`: the model tier is skipped (the chain goes on to the next tier);
 * - `force-rules.<task>` = `true`: the task's records are served by its rules (or review), no model call;
 * - `stop-task.<task>` = `true`: the task's records go back on the queue, untouched (a deferral);
 * - `canary.percent` = 0–100, with `canary.model` = a model id and/or `canary.version` = `<task>@<version>`
 *   (a candidate version of a task's prompt, `candidateVersions` in its definition): that share of keys
 *   is served by the candidate;
 * - `shadow.percent` = 0–100, with `shadow.model` and/or `shadow.version`: that share of records also asks the candidate.
 */
export const SWITCH = {
  TIER_OFF: 'tier-off',
  FORCE_RULES: 'force-rules',
  STOP_TASK: 'stop-task',
  CANARY_PERCENT: 'canary.percent',
  CANARY_MODEL: 'canary.model',
  CANARY_VERSION: 'canary.version',
  SHADOW_PERCENT: 'shadow.percent',
  SHADOW_MODEL: 'shadow.model',
  SHADOW_VERSION: 'shadow.version',
} as const;

/** Attribute names of the `switches#current` item. */
export const SWITCH_ITEM = {
  /** Map of switch name → value (strings, as `pipectl switch set` validated them). */
  VALUES: 'values',
  /** Incremented by every change: writes are conditional on the version read (no lost update). */
  VERSION: 'version',
  /** The last change, on the item itself so it is written atomically with the value: {name, value?, previous?, by, at, reason}. */
  LAST_CHANGE: 'lastChange',
  UPDATED_AT: 'updatedAt',
} as const;

/** A read of the switches gives up after this long; the environment keeps what it had. */
export const SWITCH_READ_TIMEOUT_MS = 1_000;

/**
 * The first read of an environment may take this long: it starts during the cold start's init
 * (which does not count against the invocation's timeout) and pays for the client's first
 * connection. Until one read has succeeded, every invocation tries again.
 */
export const SWITCH_FIRST_READ_TIMEOUT_MS = 5_000;

/** A switch name or value that is not valid. */
export class SwitchError extends PipelineError {
  override readonly name = 'SwitchError';
  readonly retryable = false;
  constructor(
    message: string,
    readonly switchName: string,
  ) {
    super(message);
  }
}

/** The switches as the processor uses them. */
export interface SwitchSet {
  /** Model tiers turned off. */
  readonly tiersOff: ReadonlySet<string>;
  /** Tasks served by their rules only. */
  readonly forceRules: ReadonlySet<string>;
  /** Tasks whose records wait on the queue. */
  readonly stoppedTasks: ReadonlySet<string>;
  readonly canary: Candidate;
  readonly shadow: Candidate;
  /** The item's version (0: no item). */
  readonly version: number;
}

/** A candidate (a model, a task version, or both) and the share of keys (canary) or records (shadow) it gets. */
export interface Candidate {
  /** 0–100; 0 when neither a model nor a task version is named. */
  readonly percent: number;
  readonly modelId?: string;
  /** A candidate version of one task's prompt: records of that task use it, others their current one. */
  readonly taskVersion?: TaskVersionName;
}

/** No switch set: what an environment uses until its first read succeeds. */
export const NO_SWITCHES: SwitchSet = {
  tiersOff: new Set(),
  forceRules: new Set(),
  stoppedTasks: new Set(),
  canary: { percent: 0 },
  shadow: { percent: 0 },
  version: 0,
};

const MODEL_TIERS: ReadonlySet<string> = new Set([TIER.PRIMARY, TIER.SECONDARY]);
/** Task names and model ids: what a switch's subject or value may hold (no spaces, no control characters). */
const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;

/**
 * Validates one switch and returns its canonical value (what is stored). Throws SwitchError
 * naming the switch and the valid values.
 */
export function parseSwitch(name: string, value: string): string {
  const [kind, ...rest] = name.split('.');
  const subject = rest.join('.');
  const percent = () => {
    const number = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(number >= 0 && number <= 100))
      throw new SwitchError(`${name}: "${value}" is not a percentage from 0 to 100`, name);
    return String(number);
  };
  const on = () => {
    if (value !== 'true') throw new SwitchError(`${name}: the only value is "true" (remove the switch with \`pipectl switch unset\` to turn it off)`, name);
    return value;
  };
  switch (name) {
    case SWITCH.CANARY_PERCENT:
    case SWITCH.SHADOW_PERCENT:
      return percent();
    case SWITCH.CANARY_MODEL:
    case SWITCH.SHADOW_MODEL:
      if (!SUBJECT.test(value)) throw new SwitchError(`${name}: "${value}" is not a model id`, name);
      return value;
    case SWITCH.CANARY_VERSION:
    case SWITCH.SHADOW_VERSION: {
      const resolved = resolveTaskVersion(value);
      if (typeof resolved === 'string') throw new SwitchError(`${name}: ${resolved}`, name);
      if (resolved.current) throw new SwitchError(`${name}: ${value} is the live version already; name a candidate version`, name);
      return value;
    }
  }
  switch (kind) {
    case SWITCH.TIER_OFF:
      if (!MODEL_TIERS.has(subject)) throw new SwitchError(`${name}: the tier must be ${[...MODEL_TIERS].join(' or ')}`, name);
      return on();
    case SWITCH.FORCE_RULES:
    case SWITCH.STOP_TASK:
      if (!SUBJECT.test(subject)) throw new SwitchError(`${name}: name a task, e.g. ${kind}.ticket-triage`, name);
      return on();
    default:
      throw new SwitchError(
        `unknown switch "${name}"; valid: tier-off.<primary|secondary>, force-rules.<task>, stop-task.<task>, canary.percent, canary.model, canary.version, shadow.percent, shadow.model, shadow.version`,
        name,
      );
  }
}

/** Throws SwitchError when `name` is not a switch (for `unset`, which has no value to validate). */
export function assertSwitchName(name: string): void {
  const percent = name === SWITCH.CANARY_PERCENT || name === SWITCH.SHADOW_PERCENT;
  const model = name === SWITCH.CANARY_MODEL || name === SWITCH.SHADOW_MODEL;
  if (name === SWITCH.CANARY_VERSION || name === SWITCH.SHADOW_VERSION) return;
  parseSwitch(name, percent ? '0' : model ? 'model' : 'true');
}

/**
 * The switch set of a stored map. An entry that does not validate is skipped rather than trusted
 * (only a hand-edited item can hold one: `pipectl switch set` validates before it writes).
 */
export function toSwitchSet(values: Readonly<Record<string, unknown>>, version: number): SwitchSet {
  const tiersOff = new Set<string>();
  const forceRules = new Set<string>();
  const stoppedTasks = new Set<string>();
  const valid = new Map<string, string>();
  for (const [name, raw] of Object.entries(values)) {
    if (typeof raw !== 'string') continue;
    try {
      valid.set(name, parseSwitch(name, raw));
    } catch {
      continue;
    }
    const [kind, ...rest] = name.split('.');
    const subject = rest.join('.');
    if (kind === SWITCH.TIER_OFF) tiersOff.add(subject);
    else if (kind === SWITCH.FORCE_RULES) forceRules.add(subject);
    else if (kind === SWITCH.STOP_TASK) stoppedTasks.add(subject);
  }
  const candidate = (percentName: string, modelName: string, versionName: string): Candidate => {
    const modelId = valid.get(modelName);
    const version = valid.get(versionName);
    const taskVersion = version ? splitTaskVersionName(version) : undefined;
    // A percentage without a model or a version serves nobody: 0, so routing never has to check twice.
    if (!modelId && !taskVersion) return { percent: 0 };
    return { percent: Number(valid.get(percentName) ?? '0'), ...(modelId ? { modelId } : {}), ...(taskVersion ? { taskVersion } : {}) };
  };
  return {
    tiersOff,
    forceRules,
    stoppedTasks,
    canary: candidate(SWITCH.CANARY_PERCENT, SWITCH.CANARY_MODEL, SWITCH.CANARY_VERSION),
    shadow: candidate(SWITCH.SHADOW_PERCENT, SWITCH.SHADOW_MODEL, SWITCH.SHADOW_VERSION),
    version,
  };
}

/** Where the switches are read from. */
export interface SwitchSource {
  read(signal: AbortSignal): Promise<SwitchSet>;
}

/** The control table's `switches#current` item: one strongly consistent GetItem reads every switch. */
export class DynamoDbSwitchSource implements SwitchSource {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(signal: AbortSignal): Promise<SwitchSet> {
    try {
      const { Item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [CONTROL.PARTITION_KEY]: { S: CONTROL.SWITCHES_ITEM } }, ConsistentRead: true }),
        { abortSignal: signal },
      );
      if (!Item) return NO_SWITCHES;
      const item = unmarshall(Item);
      const values = (item[SWITCH_ITEM.VALUES] ?? {}) as Record<string, unknown>;
      return toSwitchSet(values, typeof item[SWITCH_ITEM.VERSION] === 'number' ? item[SWITCH_ITEM.VERSION] : 0);
    } catch (error) {
      throw new DependencyError('dynamodb', `reading the runtime switches failed: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** Options of {@link RuntimeSwitches}. */
export interface RuntimeSwitchesOptions {
  /** At most one read per this many ms. @default SWITCH_REFRESH_MS */
  readonly refreshMs?: number;
  /** A read gives up after this long. @default SWITCH_READ_TIMEOUT_MS */
  readonly readTimeoutMs?: number;
  /** The first read (until one succeeds) gives up after this long. @default SWITCH_FIRST_READ_TIMEOUT_MS */
  readonly firstReadTimeoutMs?: number;
  /** Told when a read fails (the previous switches stay in force). */
  readonly onReadFailed?: (error: Error) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The switches of one execution environment: `current()` is a field read, and `refresh()`, called
 * once per invocation, reads the control table at most once per `refreshMs` (and awaits at most
 * `readTimeoutMs`). So a change reaches every warm environment within `refreshMs` plus one
 * invocation, and a cold one at its first invocation; the happy path pays one GetItem per
 * environment per 15 s, nothing per record. A failed read keeps the previous switches (the last
 * value known is safer than none: a stopped task must not start again because a read failed).
 */
export class RuntimeSwitches {
  private switches: SwitchSet = NO_SWITCHES;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inFlight?: Promise<void>;
  private succeeded = false;
  private readonly refreshMs: number;
  private readonly readTimeoutMs: number;
  private readonly firstReadTimeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly source: SwitchSource,
    private readonly options: RuntimeSwitchesOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? SWITCH_REFRESH_MS;
    this.readTimeoutMs = options.readTimeoutMs ?? SWITCH_READ_TIMEOUT_MS;
    this.firstReadTimeoutMs = options.firstReadTimeoutMs ?? SWITCH_FIRST_READ_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
  }

  /** The switches as last read. */
  current(): SwitchSet {
    return this.switches;
  }

  /**
   * Reads the switches if the last attempt is older than `refreshMs`, or if no read has succeeded
   * yet (a stopped task must not run because the first read failed); never throws.
   */
  refresh(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (this.succeeded && this.now() - this.lastAttempt < this.refreshMs) return Promise.resolve();
    this.lastAttempt = this.now();
    this.inFlight = this.source
      .read(AbortSignal.timeout(this.succeeded ? this.readTimeoutMs : this.firstReadTimeoutMs))
      .then(
        (switches) => {
          this.switches = switches;
          this.succeeded = true;
        },
        (error: Error) => this.options.onReadFailed?.(error),
      )
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
