import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateTickets } from '../../local/workload-generator/ticket-generator';
import { seededRandom } from '../../lambda/shared/seeded-random';
import { classifyTicketByRules, type TicketInput, TicketTriage } from '../../lambda/tasks/ticket-triage';

type Category = TicketTriage['category'];
type Priority = TicketTriage['priority'];

describe('classifyTicketByRules: hand-written tickets', () => {
  // Written by hand, not by the generator, so the rules are checked against text they were
  // not tuned on. Tier is left out unless the row is about the tier policy.
  it.each<[string, string, string, Category]>([
    ['billing: double charge', 'Charged twice this month', 'My card was charged twice for the same subscription.', 'billing'],
    ['billing: refund', 'Refund please', 'I cancelled last week, please refund the last payment.', 'billing'],
    ['billing: VAT invoice', 'VAT number on invoices', 'Our accountant needs the VAT number printed on every invoice.', 'billing'],
    ['shipping: late parcel', 'Parcel not here yet', 'The tracking page has said "in transit" for ten days. Which courier has it?', 'shipping'],
    ['shipping: damaged', 'Box damaged', 'The package was delivered soaking wet and the item is damaged.', 'shipping'],
    ['shipping: customs', 'Customs fees?', 'My shipment is held at customs. Do I have to pay import duties?', 'shipping'],
    ['account: password', 'Password reset', 'The password reset link says it expired the moment I open it.', 'account'],
    ['account: 2FA', 'Lost phone', 'New phone, and my authenticator codes are gone. How do I log in now?', 'account'],
    ['account: SSO', 'SSO problem', 'Since we switched to Okta, sign in with SSO just reloads the login page.', 'account'],
    ['technical: crash', 'App crash', 'The desktop app crashes on launch with an exception in the console.', 'technical'],
    ['technical: API', 'API errors', 'About a third of our API calls return HTTP 502 since this morning.', 'technical'],
    ['technical: sync', 'Sync stuck', 'The calendar sync has not run since Monday; reinstalling did not help.', 'technical'],
    ['feature: dark mode', 'Dark mode?', 'Would love a dark mode for late-night work. Is it on the roadmap?', 'feature_request'],
    ['feature: suggestion', 'Suggestion', 'Suggestion: let us pin favourite reports to the top of the sidebar.', 'feature_request'],
    ['other: press', 'Interview', 'I write for a local newspaper and would like to interview your founder.', 'other'],
    ['other: thanks', 'Thank you', 'Your colleague Maria was lovely on the phone yesterday.', 'other'],
    ['other: no keywords at all', 'Hello', 'Is anyone reading this mailbox?', 'other'],
  ])('%s', (_name, subject, body, category) => {
    expect(classifyTicketByRules({ subject, body }).category).toBe(category);
  });

  it.each<[string, TicketInput, Priority]>([
    ['urgent: production down', { subject: 'Production is down', body: 'Every request fails.' }, 'urgent'],
    ['urgent: security', { subject: 'Hacked?', body: 'Someone I do not know logged into my account.' }, 'urgent'],
    ['urgent: asap', { subject: 'Invoice wrong', body: 'Please fix the invoice ASAP, our audit is tomorrow.' }, 'urgent'],
    ['high: blocked', { subject: 'Export fails', body: 'I cannot export anything and my team is blocked.' }, 'high'],
    ['high: locked out', { subject: 'Locked out', body: 'I am locked out of my account.' }, 'high'],
    ['medium: plain question', { subject: 'Receipt', body: 'Could you send me the receipt for March?' }, 'medium'],
    ['low: no rush', { subject: 'Tracking', body: 'When will my order ship? No rush.' }, 'low'],
    // "not urgent" contains "urgent": the negation must win.
    ['low: "not urgent" is not urgent', { subject: 'Small bug', body: 'The footer overlaps on mobile. Not urgent.' }, 'low'],
    ['low: feature request by default', { subject: 'Feature idea', body: 'Please add tags to projects.' }, 'low'],
    ['high: enterprise tier lifts medium', { subject: 'Receipt', body: 'Could you send the receipt?', customerTier: 'enterprise' }, 'high'],
    ['low: enterprise tier leaves low alone', { subject: 'Idea', body: 'Would love a calendar view.', customerTier: 'enterprise' }, 'low'],
  ])('priority %s', (_name, input, priority) => {
    expect(classifyTicketByRules(input).priority).toBe(priority);
  });

  it.each<[string, string]>([
    ['"api" inside "rapid"', 'We saw rapid growth in capital this year.'],
    ['"vat" inside "private"', 'This is a private message for the team.'],
    ['"sso" inside "lesson"', 'A lesson for everyone in the association.'],
  ])('matches whole words only: %s', (_name, body) => {
    expect(classifyTicketByRules({ subject: 'Note', body }).category).toBe('other');
  });
});

describe('classifyTicketByRules: output contract', () => {
  it('always passes the TicketTriage schema, and keeps the summary within 280 characters', () => {
    const long = { subject: 'S'.repeat(300), body: 'invoice '.repeat(2_000) };
    const answer = classifyTicketByRules(long);
    expect(TicketTriage.safeParse(answer).success).toBe(true);
    expect(answer.summary.length).toBeLessThanOrEqual(280);
  });

  it('passes the schema for 1,000 generated tickets and mangled versions of them', () => {
    // Fuzz from realistic text: slices, case changes and doubled bodies of generated tickets.
    const random = seededRandom(42);
    const failures: TicketInput[] = [];
    for (const { input } of generateTickets(1_000, 9)) {
      const start = Math.floor(random() * input.body.length);
      const variants: TicketInput[] = [
        input,
        { ...input, body: input.body.slice(start) || 'x' },
        { subject: input.subject.toUpperCase(), body: input.body.toUpperCase() },
        { subject: input.body.slice(0, 300).trim() || 'x', body: `${input.body}\n${input.body}` },
      ];
      for (const variant of variants) {
        if (!TicketTriage.safeParse(classifyTicketByRules(variant)).success) failures.push(variant);
      }
    }
    expect(failures).toEqual([]);
  });

  it('passes the schema for arbitrary unicode input', () => {
    const inputs = fc.record(
      {
        subject: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }).filter((s) => s.trim().length > 0),
        body: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 2_000 }),
        customerTier: fc.constantFrom('free', 'pro', 'enterprise'),
      },
      { requiredKeys: ['subject', 'body'] },
    );
    fc.assert(
      fc.property(inputs, (input) => {
        expect(TicketTriage.safeParse(classifyTicketByRules(input)).success).toBe(true);
      }),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('classifyTicketByRules against the generator', () => {
  const tickets = generateTickets(2_000, 1);
  const answers = tickets.map((ticket) => classifyTicketByRules(ticket.input));

  // Measured: 94.1% category agreement (priority: 81.9%). The keyword lists hold general
  // support vocabulary; they were not derived from the generator's labels.
  it('agrees with the intended category on at least 85% of 2,000 tickets (seed 1; measured 94.1%)', () => {
    const agreeing = answers.filter((answer, i) => answer.category === tickets[i]!.expected.category).length;
    expect(agreeing / tickets.length).toBeGreaterThanOrEqual(0.85);
  });

  it('is less confident on tickets that mention two categories (measured mean 0.67 vs 0.82)', () => {
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
    const ambiguous = answers.filter((_, i) => tickets[i]!.alsoMentions !== undefined).map((a) => a.confidence);
    const clear = answers.filter((_, i) => tickets[i]!.alsoMentions === undefined).map((a) => a.confidence);
    expect(ambiguous.length).toBeGreaterThan(200);
    expect(mean(ambiguous)).toBeLessThan(mean(clear) - 0.1);
    // Confidence varies: not one or two values for the whole set.
    expect(new Set(answers.map((a) => a.confidence)).size).toBeGreaterThan(10);
  });
});
