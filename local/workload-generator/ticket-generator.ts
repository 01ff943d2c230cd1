/**
 * A seeded generator of realistic support tickets for the `ticket-triage` task.
 *
 * Each ticket carries the label the generator meant it to have (`expected`), so a classifier's
 * answers can be scored. The text comes from hand-written templates (ticket-templates.ts) plus
 * random names, amounts, order numbers and error codes, so that tens of thousands of tickets are
 * almost all distinct while staying readable. All randomness flows from one `Random`, so the
 * same seed always gives the same tickets.
 */
import { pick, seededRandom, type Random } from '../../lambda/shared/seeded-random';
import { TICKET_CATEGORIES, type TicketInput } from '../../lambda/tasks/ticket-triage';
import {
  ADDONS,
  ANGRY,
  BROWSERS,
  CARRIERS,
  CATEGORY_TEMPLATES,
  CHARITIES,
  CITIES,
  CLOSINGS,
  COMPANIES,
  COMPETITORS,
  CONSOLE_ERRORS,
  CONTEXT_PARAGRAPHS,
  COUNTRIES,
  ENDPOINTS,
  ERROR_MESSAGES,
  EVENTS,
  FEATURE_NAMES,
  FIRST_NAMES,
  GREETINGS,
  HARDWARE_IDEAS,
  HTTP_STATUSES,
  IDENTITY_PROVIDERS,
  INDUSTRIES,
  INTEGRATIONS,
  JOB_TITLES,
  LAST_NAMES,
  LOG_MESSAGES,
  LOG_SERVICES,
  MONTHS,
  NON_ASCII_EXTRAS,
  ONE_LINE_FRAMES,
  OPERATING_SYSTEMS,
  PHYSICAL_ITEMS,
  PLANS,
  POLITE,
  PRIORITY_PHRASES,
  QUOTED_REPLIES,
  SOFTWARE_PRODUCTS,
  STREETS,
  TIMEZONES,
  TOPICS,
  UPDATES,
  UX_IDEAS,
  WEEKDAYS,
  type Scenario,
  type TicketCategory,
  type TicketPriority,
} from './ticket-templates';

export type { TicketCategory, TicketPriority } from './ticket-templates';

/** A generated ticket: the producer's input, and the label the generator intended. */
export interface GeneratedTicket {
  readonly input: TicketInput;
  readonly expected: { readonly category: TicketCategory; readonly priority: TicketPriority };
  /** Set when the ticket also mentions a second category, so it is genuinely ambiguous. */
  readonly alsoMentions?: TicketCategory;
}

/** Knobs of the generator; the defaults give the everyday mix of the example workload. */
export interface TicketGeneratorOptions {
  /**
   * A category to over-represent, for drift experiments: with `share` 1 (the default when
   * `category` is set) every ticket is of this category.
   */
  readonly category?: TicketCategory;
  /** Fraction (0..1) of tickets forced to `category`; the rest follow the everyday mix. */
  readonly share?: number;
}

/**
 * The everyday category mix. Technical and billing dominate a real support inbox; feature
 * requests and "other" are the long tail.
 */
export const CATEGORY_MIX: Readonly<Record<TicketCategory, number>> = {
  technical: 25,
  billing: 22,
  account: 18,
  shipping: 15,
  feature_request: 10,
  other: 10,
};

/** How long a ticket is: a hurried one-liner, a short note, an email, or a long report. */
const LENGTH_MIX = { oneLine: 12, short: 38, medium: 35, long: 15 } as const;
/** Customer tiers; `none` is a producer that does not send the field. */
const TIER_MIX = { free: 38, pro: 30, enterprise: 17, none: 15 } as const;
const CURRENCY_MIX = { $: 70, '€': 20, '£': 10 } as const;

/** Share of tickets that mention a second category, which makes them genuinely ambiguous. */
const AMBIGUOUS_SHARE = 0.15;
/** Bodies are kept under this many characters: long enough to exercise the pipeline, far below limits. */
const MAX_BODY_CHARS = 1_500;

/** One key of `weights`, drawn with probability proportional to its weight. Allocation-free: it runs millions of times. */
function weighted<T extends string>(random: Random, weights: Readonly<Record<T, number>>): T {
  let total = 0;
  for (const key in weights) total += weights[key];
  let roll = random() * total;
  const keys = Object.keys(weights) as T[];
  for (const key of keys) {
    roll -= weights[key];
    if (roll < 0) return key;
  }
  // Rounding can leave a sliver of the roll: the last key takes it.
  const last = keys.at(-1);
  if (last === undefined) throw new Error('weighted() needs at least one weight');
  return last;
}

function chance(random: Random, probability: number): boolean {
  return random() < probability;
}

function integer(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function digits(random: Random, count: number): string {
  let text = '';
  for (let i = 0; i < count; i += 1) text += String(Math.floor(random() * 10));
  return text;
}

function alphanumeric(random: Random, count: number): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789';
  let text = '';
  for (let i = 0; i < count; i += 1) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
}

/** Folds accents and a few letters NFD cannot split, so names can become email addresses. */
function asciiFold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L')
    .replace(/ø/g, 'o')
    .replace(/ş/g, 's');
}

function slug(text: string): string {
  return asciiFold(text)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

/** A price in the ticket's currency; one ticket never mixes dollars and euros. */
function amount(random: Random, currency: string): string {
  const base = pick(random, [9, 12, 19, 29, 49, 79, 99, 149, 199, 249, 499, 1200]);
  const quantity = chance(random, 0.4) ? integer(random, 2, 40) : 1;
  const tax = pick(random, [0, 0, 0.07, 0.19, 0.2, 0.21]);
  const value = (base * quantity * (1 + tax)).toFixed(2);
  return currency === '$' ? `$${value}` : currency === '£' ? `£${value}` : `${value.replace('.', ',')} €`;
}

function orderNumber(random: Random): string {
  switch (integer(random, 0, 2)) {
    case 0:
      return `#${digits(random, integer(random, 5, 7))}`;
    case 1:
      return `ORD-${integer(random, 2023, 2025)}-${digits(random, 5)}`;
    default:
      return `${digits(random, 4)}-${digits(random, 4)}`;
  }
}

function trackingNumber(random: Random): string {
  switch (integer(random, 0, 2)) {
    case 0:
      return `1Z${alphanumeric(random, 16)}`;
    case 1:
      return digits(random, 12);
    default:
      return `JD01${digits(random, 16)}`;
  }
}

function errorCode(random: Random): string {
  switch (integer(random, 0, 3)) {
    case 0:
      return `ERR_${digits(random, 4)}`;
    case 1:
      return `E-${digits(random, 4)}`;
    case 2:
      return `0x8007${alphanumeric(random, 4)}`;
    default:
      return `NW-${integer(random, 100, 999)}`;
  }
}

function date(random: Random): string {
  const month = pick(random, MONTHS);
  const day = integer(random, 1, 28);
  switch (integer(random, 0, 4)) {
    case 0:
      return `${month} ${day}`;
    case 1:
      return `${day} ${month}`;
    case 2:
      return `2025-${String(MONTHS.indexOf(month) + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    case 3:
      return `${pick(random, WEEKDAYS)}`;
    default:
      return `the ${day}${day === 1 || day === 21 ? 'st' : day === 2 || day === 22 ? 'nd' : day === 3 || day === 23 ? 'rd' : 'th'}`;
  }
}

function logLines(random: Random): string {
  const lines: string[] = [];
  const count = integer(random, 3, 8);
  let second = integer(random, 0, 3000);
  const day = `2025-${pick(random, ['01', '02', '03', '04', '05', '06'])}-${String(integer(random, 10, 28))}`;
  for (let i = 0; i < count; i += 1) {
    second += integer(random, 1, 90);
    const hh = String(8 + Math.floor(second / 3600)).padStart(2, '0');
    const mm = String(Math.floor(second / 60) % 60).padStart(2, '0');
    const ss = String(second % 60).padStart(2, '0');
    const message = pick(random, LOG_MESSAGES)
      .replace('{n_small}', String(integer(random, 1, 5)))
      .replace('{http_status}', pick(random, HTTP_STATUSES))
      .replace('{seats}', String(integer(random, 2, 90)));
    lines.push(`${day}T${hh}:${mm}:${ss}Z ${pick(random, ['ERROR', 'WARN', 'ERROR', 'INFO'])} ${pick(random, LOG_SERVICES)}: ${message}`);
  }
  return lines.join('\n');
}

/** Makes a slot's value; `get` reads another slot of the same ticket (a name's email address). */
type SlotMaker = (random: Random, get: (slot: string) => string) => string;

/**
 * The value makers of the template slots. A ticket asks each slot once and keeps the answer,
 * so "{order}" in the subject and in the body name the same order. The table is built once:
 * closures made per ticket were the generator's main cost.
 */
const SLOT_MAKERS: Readonly<Record<string, SlotMaker>> = {
  first_name: (random) => pick(random, FIRST_NAMES),
  last_name: (random) => pick(random, LAST_NAMES),
  name: (_random, get) => `${get('first_name')} ${get('last_name')}`,
  company: (random) => pick(random, COMPANIES),
  domain: (random, get) => `${slug(get('company')).slice(0, 18)}.${pick(random, ['com', 'de', 'co.uk', 'io', 'fr', 'pl', 'jp'])}`,
  email: (random, get) => `${slug(get('first_name'))}${pick(random, ['.', '', '_'])}${slug(get('last_name'))}@${get('domain')}`,
  email2: (random, get) =>
    `${slug(get('first_name'))}${integer(random, 1, 99)}@${pick(random, ['gmail.com', 'outlook.com', 'proton.me', 'yahoo.co.jp', 'web.de'])}`,
  username: (random, get) => `${slug(get('first_name'))}${pick(random, ['', '_', '.'])}${integer(random, 1, 9999)}`,
  colleague: (random) => `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`,
  agent: (random) => pick(random, ['Sarah', 'Miguel', 'Aiko', 'Tomás', 'Jess', 'Kwame', 'Elena']),
  job_title: (random) => pick(random, JOB_TITLES),
  company_us: () => 'Northwind',
  app_product: (random) => pick(random, SOFTWARE_PRODUCTS),
  item: (random) => pick(random, PHYSICAL_ITEMS),
  item2: (random, get) => {
    let other = pick(random, PHYSICAL_ITEMS);
    while (other === get('item')) other = pick(random, PHYSICAL_ITEMS);
    return other;
  },
  plan: (random) => pick(random, PLANS.slice(1)),
  plan2: (random, get) => {
    let other = pick(random, PLANS);
    while (other === get('plan')) other = pick(random, PLANS);
    return other;
  },
  addon: (random) => pick(random, ADDONS),
  currency: (random) => weighted(random, CURRENCY_MIX),
  amount: (random, get) => amount(random, get('currency')),
  amount2: (random, get) => amount(random, get('currency')),
  order: (random) => orderNumber(random),
  order2: (random) => orderNumber(random),
  invoice: (random) => `INV-${integer(random, 2023, 2025)}-${digits(random, 5)}`,
  vat_id: (random) => `${pick(random, ['DE', 'FR', 'PL', 'IE', 'NL'])}${digits(random, 9)}`,
  last4: (random) => digits(random, 4),
  tracking: (random) => trackingNumber(random),
  carrier: (random) => pick(random, CARRIERS),
  address: (random) => `${integer(random, 1, 240)} ${pick(random, STREETS)}, ${pick(random, CITIES)}`,
  date: (random) => date(random),
  month: (random) => pick(random, MONTHS),
  month2: (random) => pick(random, MONTHS),
  weekday: (random) => pick(random, WEEKDAYS),
  year: (random) => String(integer(random, 2016, 2024)),
  time: (random) => `${String(integer(random, 0, 23)).padStart(2, '0')}:${String(integer(random, 0, 59)).padStart(2, '0')}`,
  days: (random) => String(integer(random, 2, 21)),
  n_small: (random) => String(integer(random, 2, 6)),
  n_small2: (random) => String(integer(random, 1, 9)),
  seats: (random) => String(pick(random, [3, 5, 8, 12, 15, 25, 40, 60, 120, 250])),
  percent: (random) => String(integer(random, 5, 95)),
  seconds: (random) => String(pick(random, [10, 15, 20, 30, 45, 60, 90, 120])),
  size: (random) => String(pick(random, [10, 25, 50, 100, 200, 500])),
  row: (random) => String(integer(random, 2, 9000)),
  version: (random) => `${integer(random, 3, 7)}.${integer(random, 0, 19)}.${integer(random, 0, 9)}`,
  os: (random) => pick(random, OPERATING_SYSTEMS),
  browser: (random) => `${pick(random, BROWSERS)} ${integer(random, 100, 131)}`,
  error_code: (random) => errorCode(random),
  error_message: (random) => pick(random, ERROR_MESSAGES),
  console_error: (random) => pick(random, CONSOLE_ERRORS),
  http_status: (random) => pick(random, HTTP_STATUSES),
  endpoint: (random) => pick(random, ENDPOINTS),
  request_id: (random) => `req_${alphanumeric(random, 12).toLowerCase()}`,
  request_id2: (random) => `req_${alphanumeric(random, 12).toLowerCase()}`,
  log_lines: (random) => logLines(random),
  integration: (random) => pick(random, INTEGRATIONS),
  idp: (random) => pick(random, IDENTITY_PROVIDERS),
  timezone: (random) => pick(random, TIMEZONES),
  country: (random) => pick(random, COUNTRIES),
  city: (random) => pick(random, CITIES),
  feature_name: (random) => pick(random, FEATURE_NAMES),
  competitor: (random) => pick(random, COMPETITORS),
  topic: (random) => pick(random, TOPICS),
  event: (random) => pick(random, EVENTS),
  charity: (random) => pick(random, CHARITIES),
  industry: (random) => pick(random, INDUSTRIES),
  ux_idea: (random) => pick(random, UX_IDEAS),
  hardware_idea: (random) => pick(random, HARDWARE_IDEAS),
};

/** Expands one template against the ticket's slots; see ticket-templates.ts for the syntax. */
function expandTemplate(template: string, random: Random, slot: (name: string) => string): string {
  let out = '';
  let i = 0;
  for (let open = template.indexOf('{'); open !== -1; open = template.indexOf('{', i)) {
    out += template.slice(i, open);
    // Find the matching brace and the top-level `|` separators, so alternatives can nest.
    let depth = 0;
    let end = open;
    const cuts: number[] = [];
    for (; end < template.length; end += 1) {
      const c = template[end];
      if (c === '{') depth += 1;
      else if (c === '}') {
        depth -= 1;
        if (depth === 0) break;
      } else if (c === '|' && depth === 1) cuts.push(end);
    }
    if (depth !== 0) throw new Error(`Unbalanced braces in template: ${template}`);
    const inner = template.slice(open + 1, end);
    if (cuts.length > 0) {
      const bounds = [open, ...cuts, end];
      const choice = Math.floor(random() * (bounds.length - 1));
      out += expandTemplate(template.slice((bounds[choice] ?? open) + 1, bounds[choice + 1]), random, slot);
    } else if (/^[a-z_0-9]+$/.test(inner)) {
      out += slot(inner);
    } else {
      throw new Error(`Braces without alternatives or a slot name in template: {${inner}}`);
    }
    i = end + 1;
  }
  return out + template.slice(i);
}

/** The first sentence of a text: what a customer writing one line would have sent. */
function firstSentence(text: string): string {
  const match = /^.*?[.?!](?=\s|$)/s.exec(text);
  return (match ? match[0] : text).trim();
}

/**
 * Joins sentences into paragraph text. A multi-line block (a log excerpt, numbered steps) stands
 * on its own, so the next sentence does not run on from its last line.
 */
function joinSentences(sentences: readonly string[]): string {
  let text = '';
  for (const sentence of sentences) {
    const block = sentence.includes('\n');
    if (text === '') text = sentence;
    else text += block || text.endsWith('\n') ? `\n\n${sentence}` : ` ${sentence}`;
    if (block) text += '\n';
  }
  return text.trimEnd();
}

function pickCategory(random: Random, options: TicketGeneratorOptions): TicketCategory {
  if (options.category && chance(random, options.share ?? 1)) return options.category;
  return weighted(random, CATEGORY_MIX);
}

/**
 * The support policy for the intended label: enterprise contracts promise a faster response, so
 * a medium enterprise ticket is handled as high. A label policy, not a text feature.
 */
function applyTierPolicy(priority: TicketPriority, tier: TicketInput['customerTier']): TicketPriority {
  return tier === 'enterprise' && priority === 'medium' ? 'high' : priority;
}

/** What one ticket is about, decided before any text is written. */
interface TicketPlan {
  readonly category: TicketCategory;
  readonly scenario: Scenario;
  readonly basePriority: TicketPriority;
  readonly angry: boolean;
  readonly isReply: boolean;
  readonly alsoMentions: TicketCategory | undefined;
  /** Expands a template with this ticket's slot values. */
  readonly fill: (template: string) => string;
}

function writeSubject(random: Random, plan: TicketPlan): { subject: string; isReply: boolean } {
  // Most subjects name the scenario; some are as vague as real ones ("Billing question").
  const pool = chance(random, 0.8) ? plan.scenario.subjects : CATEGORY_TEMPLATES[plan.category].genericSubjects;
  let subject = plan.fill(pick(random, pool));
  const style = random();
  const isReply = style < 0.06;
  if (isReply) subject = `Re: ${subject}`;
  else if (style < 0.09) subject = `Fwd: ${subject}`;
  else if (style < 0.13) subject = subject.toLowerCase();
  if (plan.basePriority === 'urgent' && chance(random, 0.3)) subject = `URGENT: ${subject}`;
  if (plan.angry && chance(random, 0.3)) subject = `${subject.replace(/[.?!]$/, '')}${pick(random, ['!!', '!!!', '?!'])}`;
  return { subject, isReply };
}

function writeBody(random: Random, plan: TicketPlan): string {
  const { fill, scenario, basePriority } = plan;
  const templates = CATEGORY_TEMPLATES[plan.category];
  const severe = basePriority === 'urgent' || basePriority === 'high';
  const core = fill(pick(random, severe && scenario.severe ? scenario.severe : scenario.mild));
  const mention = plan.alsoMentions ? fill(pick(random, CATEGORY_TEMPLATES[plan.alsoMentions].mentions)) : undefined;
  const lengthClass = weighted(random, LENGTH_MIX);
  if (lengthClass === 'oneLine') {
    // A short core goes whole; a long one is cut to its first sentence, as a hurried writer would.
    const line = core.length <= 160 ? core : firstSentence(core);
    const text = mention ? `${line} ${mention}` : line;
    // A replacer function, so a "$" in the text (an amount) is never read as a replacement pattern.
    return fill(pick(random, ONE_LINE_FRAMES)).replace('$LINE', () => text);
  }

  const budget = lengthClass === 'short' ? 350 : lengthClass === 'medium' ? 800 : MAX_BODY_CHARS;
  const opening = chance(random, 0.8) ? fill(pick(random, GREETINGS)) : undefined;
  const closing = chance(random, 0.75) ? fill(pick(random, CLOSINGS)) : undefined;

  // The problem: the core, then as many details as the length class allows. Distinct details
  // only: a customer does not give the same tracking number twice.
  const detailPool = scenario.allowDetails === false ? [] : [...(scenario.details ?? []), ...templates.details];
  const detailCount = lengthClass === 'short' ? integer(random, 0, 1) : lengthClass === 'medium' ? integer(random, 1, 3) : integer(random, 2, 5);
  const details = new Set<string>();
  for (let d = 0; d < detailCount && detailPool.length > 0; d += 1) details.add(pick(random, detailPool));
  const problem = [core, ...[...details].map(fill)];
  if (mention) problem.push(mention);

  const phrase = fill(pick(random, PRIORITY_PHRASES[basePriority]));
  const tone = plan.angry ? fill(pick(random, ANGRY)) : chance(random, 0.4) ? fill(pick(random, POLITE)) : '';
  const ask = [phrase, tone].filter((text) => text.length > 0).join(' ');

  // Each part has a drop rank: when the body is over the length budget, the highest rank goes
  // first. The core paragraph (rank 0) always stays; a greeting outlives the context paragraph.
  const parts: Array<{ text: string; rank: number }> = [];
  if (opening) parts.push({ text: opening, rank: 2 });
  if (lengthClass === 'long' && chance(random, 0.7)) parts.push({ text: fill(pick(random, CONTEXT_PARAGRAPHS)), rank: 5 });
  // Details go into their own paragraph in longer tickets, the way people write emails.
  const split = lengthClass === 'short' ? problem.length : integer(random, 1, problem.length);
  parts.push({ text: joinSentences(problem.slice(0, split)), rank: 0 });
  if (split < problem.length) parts.push({ text: joinSentences(problem.slice(split)), rank: 4 });
  if (lengthClass === 'long' && chance(random, 0.6)) {
    const steps = new Set<string>();
    const stepCount = integer(random, 2, 4);
    for (let k = 0; k < stepCount; k += 1) steps.add(pick(random, templates.tried));
    const bullets = [...steps].map((step) => `- ${fill(step)}`).join('\n');
    parts.push({ text: `${pick(random, ['What I have tried so far:', 'Things I already tried:', 'So far I have:'])}\n${bullets}`, rank: 4 });
  }
  if (lengthClass !== 'short' && chance(random, lengthClass === 'long' ? 0.5 : 0.15)) parts.push({ text: fill(pick(random, UPDATES)), rank: 5 });
  if (ask) parts.push({ text: ask, rank: 3 });
  if (closing) parts.push({ text: closing, rank: 1 });
  // A reply quotes the support team's earlier answer below the customer's text, as mail clients do.
  if (plan.isReply || (lengthClass === 'long' && chance(random, 0.4))) {
    const agent = fill('{agent}');
    const quote = fill(pick(random, QUOTED_REPLIES));
    parts.push({ text: fill(`On {date}, ${agent} from {company_us} Support wrote:\n> ${quote}\n>\n> Best,\n> ${agent}`), rank: 6 });
  }

  const length = (): number => parts.reduce((sum, part) => sum + part.text.length + 2, -2);
  while (length() > budget) {
    const highest = parts.reduce((best, part, index) => (part.rank > parts[best].rank ? index : best), 0);
    if (parts[highest].rank === 0) break;
    parts.splice(highest, 1);
  }
  return parts.map((part) => part.text).join('\n\n');
}

/**
 * Generates one ticket, drawing every choice from `random`.
 *
 * @param random - The seeded stream (see `seededRandom`); the ticket is a pure function of it.
 * @param options - Force or over-represent a category (drift experiments); everyday mix by default.
 * @returns The producer input and the category and priority the generator meant it to have.
 */
export function generateTicket(random: Random, options: TicketGeneratorOptions = {}): GeneratedTicket {
  const category = pickCategory(random, options);
  const templates = CATEGORY_TEMPLATES[category];
  const scenario = pick(random, templates.scenarios);
  const basePriority = weighted(random, scenario.priorityWeights ?? templates.priorityWeights);

  const memo = new Map<string, string>();
  const get = (name: string): string => {
    let value = memo.get(name);
    if (value === undefined) {
      const make = SLOT_MAKERS[name];
      if (!make) throw new Error(`Unknown template slot: {${name}}`);
      value = make(random, get);
      memo.set(name, value);
    }
    return value;
  };

  const tier = weighted(random, TIER_MIX);
  const customerTier = tier === 'none' ? undefined : tier;
  const angry = chance(random, basePriority === 'urgent' || basePriority === 'high' ? 0.35 : 0.08);

  // Ambiguity: a second category comes up in passing. Never the same category, never "other"
  // (an aside about the weather is not ambiguity).
  let alsoMentions: TicketCategory | undefined;
  if (chance(random, AMBIGUOUS_SHARE))
    alsoMentions = pick(
      random,
      TICKET_CATEGORIES.filter((c) => c !== category && c !== 'other'),
    );

  const draft = { category, scenario, basePriority, angry, alsoMentions, fill: (t: string) => expandTemplate(t, random, get) };
  const { subject, isReply } = writeSubject(random, { ...draft, isReply: false });
  let body = writeBody(random, { ...draft, isReply });

  // A few tickets carry an emoji or a line in another script, as real inboxes do.
  if (chance(random, 0.05)) body = `${body} ${pick(random, NON_ASCII_EXTRAS.emoji)}`;
  if (chance(random, 0.02)) body = `${body}\n\n${pick(random, NON_ASCII_EXTRAS.cjk)}`;
  // Cut on code points, not UTF-16 units, so an emoji is never split into a lone surrogate.
  if (body.length > MAX_BODY_CHARS)
    body = `${Array.from(body)
      .slice(0, MAX_BODY_CHARS - 1)
      .join('')
      .trimEnd()}…`;

  const input: TicketInput = customerTier === undefined ? { subject, body } : { subject, body, customerTier };
  const expected = { category, priority: applyTierPolicy(basePriority, customerTier) };
  return alsoMentions ? { input, expected, alsoMentions } : { input, expected };
}

/**
 * Generates `count` tickets from `seed`: the same arguments always give the same tickets.
 *
 * @param count - How many tickets.
 * @param seed - The seed of the random stream.
 * @param options - See `TicketGeneratorOptions`.
 */
export function generateTickets(count: number, seed: number, options: TicketGeneratorOptions = {}): GeneratedTicket[] {
  const random = seededRandom(seed);
  const tickets: GeneratedTicket[] = [];
  for (let i = 0; i < count; i += 1) tickets.push(generateTicket(random, options));
  return tickets;
}
