/**
 * Task versions (issue 15): a task's candidate versions are named `<task>@<version>`; an unknown
 * one is refused with what would work, and a candidate's prompt is its own. (That the idempotency key
 * stays the live version's whichever prompt serves: test/integration/canary-rollback.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { promptOf, resolveTaskVersion, versionsOf } from '../../lambda/tasks/registry';
import { ticketTriage } from '../../lambda/tasks/ticket-triage';

const input = { subject: 'Charged twice', body: 'My card was charged twice for the March invoice.' };

describe('resolveTaskVersion', () => {
  it('knows the live version and the candidates', () => {
    expect(versionsOf(ticketTriage)).toEqual(['1', '2']);
    expect(resolveTaskVersion('ticket-triage@1')).toMatchObject({ version: '1', current: true });
    expect(resolveTaskVersion('ticket-triage@2')).toMatchObject({ version: '2', current: false });
  });

  it.each([
    ['ticket-triage', /not <task>@<version>/],
    ['ticket-triage@', /not <task>@<version>/],
    ['nope@1', /no task "nope"; tasks: ticket-triage/],
    ['ticket-triage@3', /no version "3"; registered: 1, 2/],
  ])('refuses %s and says what would work', (name, message) => {
    expect(resolveTaskVersion(name)).toMatch(message);
  });
});

describe('promptOf', () => {
  it('the candidate version has its own prompt; the live version and an unknown one give the live prompt', () => {
    const live = ticketTriage.buildPrompt(input);
    const candidate = promptOf(ticketTriage, '2', input);
    expect(promptOf(ticketTriage, undefined, input)).toEqual(live);
    expect(promptOf(ticketTriage, '1', input)).toEqual(live);
    expect(promptOf(ticketTriage, '9', input)).toEqual(live);
    expect(candidate.system).not.toBe(live.system);
    expect(candidate.system).toContain('Judge the facts, not the tone');
    // The ticket goes in the same way: the candidate changes the instructions, not the data.
    expect(candidate.user).toBe(live.user);
  });
});
