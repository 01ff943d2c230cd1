import { describe, expect, it } from 'vitest';
import { ENV } from '../../lambda/contract';
import { readRuntimeConfig } from '../../lambda/processor/runtime-config';
import { confidenceOf, policyFor } from '../../lambda/processor/task-policy';

const REQUIRED = {
  [ENV.STAGE]: 'dev',
  [ENV.LEDGER_TABLE]: 'ledger-dev',
  [ENV.CONTROL_TABLE]: 'control-dev',
  [ENV.INPUT_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/input',
  [ENV.INPUT_DLQ_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/input-dlq',
  [ENV.REVIEW_QUEUE_URL]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/review',
} as const;

describe('which model serves which tier (the stage environment → the runtime config)', () => {
  it('reads the primary and the secondary model ids from their own variables, never swapped', () => {
    // Act
    const config = readRuntimeConfig({ ...REQUIRED, [ENV.PRIMARY_MODEL_ID]: 'model-large', [ENV.SECONDARY_MODEL_ID]: 'model-small' });

    // Assess
    expect(config.primaryModelId).toBe('model-large');
    expect(config.secondaryModelId).toBe('model-small');
  });

  it.each([
    ['', undefined],
    ['   ', undefined],
    [' model-small ', 'model-small'],
  ])('a secondary model id of %j means %j (no secondary tier when blank)', (value, expected) => {
    expect(readRuntimeConfig({ ...REQUIRED, [ENV.SECONDARY_MODEL_ID]: value }).secondaryModelId).toBe(expected);
  });
});

describe('policyFor: the fallback chain of a task', () => {
  const config = (taskPolicies: Record<string, { tiers?: Array<'primary' | 'secondary' | 'rules' | 'human'>; minConfidence?: number }>) => ({
    taskPolicies,
    minConfidence: 0.4,
  });

  it('tries every tier in order, with the stage minimum confidence, when the task has no policy', () => {
    expect(policyFor('ticket-triage', config({}))).toEqual({ tiers: ['primary', 'secondary', 'rules', 'human'], minConfidence: 0.4 });
  });

  it("takes the task's own tiers and minimum confidence from the stage's TASK_POLICIES", () => {
    const policy = policyFor('ticket-triage', config({ 'ticket-triage': { tiers: ['rules', 'human'], minConfidence: 0.9 } }));
    expect(policy).toEqual({ tiers: ['rules', 'human'], minConfidence: 0.9 });
  });

  it('keeps the defaults for what a task policy leaves out, and another task is not affected', () => {
    const policies = config({ 'ticket-triage': { tiers: ['secondary'] }, other: { minConfidence: 0 } });
    expect(policyFor('ticket-triage', policies)).toEqual({ tiers: ['secondary'], minConfidence: 0.4 });
    expect(policyFor('other', policies)).toEqual({ tiers: ['primary', 'secondary', 'rules', 'human'], minConfidence: 0 });
  });

  it('reads TASK_POLICIES from the environment into the same chain', () => {
    const runtime = readRuntimeConfig({
      ...REQUIRED,
      [ENV.TASK_POLICIES]: JSON.stringify({ 'ticket-triage': { tiers: ['secondary', 'human'] } }),
      [ENV.MIN_CONFIDENCE]: '0.5',
    });
    expect(policyFor('ticket-triage', runtime)).toEqual({ tiers: ['secondary', 'human'], minConfidence: 0.5 });
  });
});

describe('confidenceOf', () => {
  it.each<[string, unknown, number | undefined]>([
    ['a number in the result', { confidence: 0.75 }, 0.75],
    ['zero', { confidence: 0 }, 0],
    ['no confidence field', { label: 'x' }, undefined],
    ['a string', { confidence: '0.9' }, undefined],
    ['not finite', { confidence: Number.POSITIVE_INFINITY }, undefined],
    ['NaN', { confidence: Number.NaN }, undefined],
    ['null', null, undefined],
    ['undefined (no result at all)', undefined, undefined],
    ['a function carrying a confidence, not a result object', Object.assign(() => 0.5, { confidence: 0.5 }), undefined],
    ['a number, not an object', 0.5, undefined],
  ])('%s → %s', (_name, result, expected) => {
    expect(confidenceOf(result)).toBe(expected);
  });
});
