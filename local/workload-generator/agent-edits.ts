/**
 * What a support agent does to a ticket between two classifications (issue 16): fixes a typo, adds
 * a signature, rewrites the subject. And, for contrast, genuinely new content about the same
 * entity. Used by the workload generator (agent edits and loopers) and by the labelled set that
 * measures the small-edit rule's precision and recall.
 */
import { pick, seededRandom, type Random } from '../../lambda/shared/seeded-random';
import { textOf } from '../../lambda/resilience/text-similarity';
import type { TicketInput } from '../../lambda/tasks/ticket-triage';
import { generateTicket, type TicketCategory } from './ticket-generator';
import { COMPANIES, FIRST_NAMES, LAST_NAMES } from './ticket-templates';

/** The small edits an agent makes; each should reuse the entity's last decision. */
export const SMALL_EDIT_KINDS = ['typo-fix', 'signature', 'subject-change', 'typo-and-signature'] as const;
export type SmallEditKind = (typeof SMALL_EDIT_KINDS)[number];

/** New content about the same entity; each should be classified again. */
export const NEW_CONTENT_KINDS = ['new-same-category', 'new-any-category'] as const;
export type NewContentKind = (typeof NEW_CONTENT_KINDS)[number];

/** A misspelling of a word: a transposed, dropped or doubled letter, as hurried typing makes them. */
function misspell(random: Random, word: string): string {
  if (word.length < 4) return word;
  const at = 1 + Math.floor(random() * (word.length - 2));
  switch (Math.floor(random() * 3)) {
    case 0:
      return word.slice(0, at) + (word[at + 1] ?? '') + word[at] + word.slice(at + 2);
    case 1:
      return word.slice(0, at) + word.slice(at + 1);
    default:
      return word.slice(0, at) + word[at] + word.slice(at);
  }
}

/**
 * A typo fix: one or two words of the body differ by a letter. (Which side had the typo does not
 * matter to a symmetric measure: the edit touches the same words either way.)
 */
function typoFix(random: Random, input: TicketInput): TicketInput {
  const words = input.body.split(' ');
  const candidates = words.map((word, index) => ({ word, index })).filter(({ word }) => /^[A-Za-z]{5,}$/.test(word));
  const fixes = Math.min(candidates.length, 1 + Math.floor(random() * 2));
  for (let i = 0; i < fixes; i += 1) {
    const { index, word } = pick(random, candidates);
    words[index] = misspell(random, word);
  }
  return { ...input, body: words.join(' ') };
}

const SIGN_OFFS = ['Best regards,', 'Kind regards,', 'Thanks,', 'Cheers,', 'Regards,'] as const;
const AGENT_TITLES = ['Support Agent', 'Customer Success', 'Tier 2 Support', 'Billing Specialist', 'Support Team Lead'] as const;

/** An agent's signature block appended to the body. */
function signature(random: Random, input: TicketInput): TicketInput {
  const name = `${pick(random, FIRST_NAMES)} ${pick(random, LAST_NAMES)}`;
  const block = `${pick(random, SIGN_OFFS)}\n${name}\n${pick(random, AGENT_TITLES)} | ${pick(random, COMPANIES)}`;
  return { ...input, body: `${input.body}\n\n${block}` };
}

const SUBJECT_PREFIXES = ['[Escalated] ', 'Re: ', 'Fwd: ', '[Agent] ', 'Follow-up: '] as const;
const SUBJECT_REWRITES = ['Customer follow-up', 'Needs attention', 'Reopened by agent', 'Customer issue (updated)', 'Pending customer reply'] as const;

/** The subject changed: prefixed, or replaced by an agent's own words. */
function subjectChange(random: Random, input: TicketInput): TicketInput {
  const subject = random() < 0.5 ? `${pick(random, SUBJECT_PREFIXES)}${input.subject}` : pick(random, SUBJECT_REWRITES);
  return { ...input, subject };
}

/** An agent's small edit of `input`. */
export function smallEdit(random: Random, input: TicketInput, kind: SmallEditKind): TicketInput {
  switch (kind) {
    case 'typo-fix':
      return typoFix(random, input);
    case 'signature':
      return signature(random, input);
    case 'subject-change':
      return subjectChange(random, input);
    case 'typo-and-signature':
      return signature(random, typoFix(random, input));
  }
}

/** New content about the same entity: a different ticket of the same category (the hard case: shared template phrases), or of any. */
export function newContent(random: Random, category: TicketCategory, kind: NewContentKind): TicketInput {
  return generateTicket(random, kind === 'new-same-category' ? { category } : {}).input;
}

/** One labelled pair: the entity's last decided input, the new input, and whether the new one is a small edit. */
export interface LabelledPair {
  readonly kind: SmallEditKind | NewContentKind;
  readonly smallEdit: boolean;
  readonly previous: string;
  readonly next: string;
}

/**
 * The labelled set: `count` pairs, half small edits (each kind equally often), half new content
 * (half of it from the same category). Seeded: the same arguments give the same pairs.
 */
export function labelledPairs(count: number, seed: number): LabelledPair[] {
  const random = seededRandom(seed);
  const pairs: LabelledPair[] = [];
  for (let i = 0; i < count; i += 1) {
    const original = generateTicket(random);
    const positive = i % 2 === 0;
    if (positive) {
      const kind = SMALL_EDIT_KINDS[(i / 2) % SMALL_EDIT_KINDS.length] as SmallEditKind;
      pairs.push({ kind, smallEdit: true, previous: textOf(original.input), next: textOf(smallEdit(random, original.input, kind)) });
    } else {
      const kind = NEW_CONTENT_KINDS[((i - 1) / 2) % NEW_CONTENT_KINDS.length] as NewContentKind;
      pairs.push({ kind, smallEdit: false, previous: textOf(original.input), next: textOf(newContent(random, original.expected.category, kind)) });
    }
  }
  return pairs;
}
