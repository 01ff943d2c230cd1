/*
 * Which function made each AWS request local mode's emulators received, and on what: what
 * test/infra/iam-covers-calls.test.ts compares with the roles of the synthesized template. Local
 * mode never enforces IAM, so a Lambda whose code makes a call its role does not allow works here
 * and fails on AWS with AccessDenied; recording the calls is how a local run can tell.
 *
 * How a request names its function: local mode sets the SDK's standard `AWS_SDK_UA_APP_ID` in each
 * function's environment (and the event source's client sets the same app id), so the bundled code
 * is unchanged and every SDK request it makes carries `app/<id>` in its User-Agent:
 *
 *   [<observer mark>-]fn.<logicalId>[.event-source]
 *
 * `fn.<logicalId>` is the function's logical id in the template; the optional prefix is the
 * observer mark the request counter excludes (the monitors' requests cost per schedule, not per
 * message); `.event-source` marks the requests the event source mapping makes, which on AWS run
 * with the function's role too. Requests without such an app id (the producer's sends, the
 * report's reads, pipectl) are not attributed.
 *
 * Recording is off unless `startLocalPipeline({ attributeCalls: true })` asks for it: it parses
 * each attributed request's JSON body, which the benchmark's request counts need not pay for.
 */

/** The part of an app id that names the function: `fn.<logicalId>`. */
const FUNCTION_MARK = 'fn.';
/** The suffix of the event source mapping's requests. */
const EVENT_SOURCE_SUFFIX = '.event-source';
/** The SDK refuses (warns about) longer app ids. */
const MAX_APP_ID_LENGTH = 50;
const APP_ID_PATTERN = /(?:^|\s)app\/(\S+)/;
/** Powertools appends its own mark to the app id (`-PT-…`): the function's part ends at a `-` or the end. */
const FUNCTION_APP_ID_PATTERN = /(?:^|-)fn\.([A-Za-z0-9]+)(\.event-source)?(?:-|$)/;

/** Who made a request: the function's logical id, and whether its event source made it on its behalf. */
export interface CallOrigin {
  readonly functionId: string;
  readonly via?: 'event-source';
}

/**
 * The `AWS_SDK_UA_APP_ID` of a function's SDK clients in local mode.
 * @param observerMark the request counter's observer mark, for requests it must not count per message
 */
export function functionAppId(origin: CallOrigin, observerMark?: string): string {
  const id = `${observerMark ? `${observerMark}-` : ''}${FUNCTION_MARK}${origin.functionId}${origin.via ? EVENT_SOURCE_SUFFIX : ''}`;
  if (!/^[A-Za-z0-9]+$/.test(origin.functionId)) throw new Error(`not a logical id: ${origin.functionId}`);
  if (id.length > MAX_APP_ID_LENGTH) throw new Error(`user agent app id ${id} is longer than the SDK's ${MAX_APP_ID_LENGTH} characters`);
  return id;
}

/** The function a request's User-Agent names, if any. */
export function callOriginOf(userAgent: string): CallOrigin | undefined {
  const appId = APP_ID_PATTERN.exec(userAgent)?.[1];
  const match = appId ? FUNCTION_APP_ID_PATTERN.exec(appId) : undefined;
  if (!match?.[1]) return undefined;
  return match[2] ? { functionId: match[1], via: 'event-source' } : { functionId: match[1] };
}

/** One kind of request a function made: service, operation and resource, with how often. */
export interface AttributedCall extends CallOrigin {
  readonly service: 'dynamodb' | 'sqs';
  /** The API operation, as the JSON protocol's X-Amz-Target names it (`GetItem`, `ChangeMessageVisibilityBatch`). */
  readonly operation: string;
  /** DynamoDB: the table. */
  readonly tableName?: string;
  /** DynamoDB Query/Scan: the index, when one was named. */
  readonly indexName?: string;
  /** SQS: the queue's URL as the request named it. */
  readonly queueUrl?: string;
  readonly count: number;
}

type CallKey = Omit<AttributedCall, 'count'>;

/** The requests functions made, by (function, operation, resource), as the emulators received them. */
export class CallAttribution {
  private readonly calls = new Map<string, { call: CallKey; count: number }>();

  /**
   * Records one request. `body` is its JSON-protocol body, parsed (fauxqs hands it over parsed) or
   * as received (dynalite's raw stream); a body that is not JSON is recorded without a resource.
   */
  record(service: 'dynamodb' | 'sqs', origin: CallOrigin, target: string, body: unknown): void {
    const operation = target.slice(target.lastIndexOf('.') + 1) || 'Unknown';
    for (const resource of resourcesOf(service, parseBody(body))) {
      const call: CallKey = { ...origin, service, operation, ...resource };
      const key = JSON.stringify([call.functionId, call.via, service, operation, call.tableName, call.indexName, call.queueUrl]);
      const entry = this.calls.get(key);
      if (entry) entry.count += 1;
      else this.calls.set(key, { call, count: 1 });
    }
  }

  /** Every distinct call so far, in a stable order. */
  list(): AttributedCall[] {
    return [...this.calls.values()].map(({ call, count }) => ({ ...call, count })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }

  reset(): void {
    this.calls.clear();
  }
}

function parseBody(body: unknown): Record<string, unknown> {
  if (body && typeof body === 'object' && !Buffer.isBuffer(body)) return body as Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(String(body ?? ''));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

type Resource = Pick<CallKey, 'tableName' | 'indexName' | 'queueUrl'>;

/** The resources a request acts on: one, or one per table of a batch or transaction. */
function resourcesOf(service: 'dynamodb' | 'sqs', body: Record<string, unknown>): Resource[] {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  if (service === 'sqs') {
    const queueUrl = text(body.QueueUrl) ?? text(body.QueueName);
    return [queueUrl ? { queueUrl } : {}];
  }
  const tableName = text(body.TableName);
  if (tableName) return [{ tableName, ...(text(body.IndexName) ? { indexName: text(body.IndexName) } : {}) }];
  // BatchGetItem / BatchWriteItem name their tables as keys; a transaction names one per item.
  const batch = body.RequestItems && typeof body.RequestItems === 'object' ? Object.keys(body.RequestItems) : [];
  const transaction = Array.isArray(body.TransactItems)
    ? body.TransactItems.flatMap((item: Record<string, { TableName?: unknown }>) => Object.values(item ?? {}).map((action) => text(action?.TableName)))
    : [];
  const tables = [...new Set([...batch, ...transaction].filter((name): name is string => name !== undefined))];
  return tables.length > 0 ? tables.map((name) => ({ tableName: name })) : [{}];
}
