import { TASKS } from '../tasks/registry';
import type { Prompt } from '../tasks/task-definition';
import { seededRandom, seedFromString } from '../shared/seeded-random';

/**
 * The simulated model's answer to a prompt, deterministic for a seed: it finds the data block
 * (`<tag>{json}</tag>`) in the user message, runs the rules of the task whose input schema
 * accepts it (the ground truth), and varies the confidence with a seeded stream per prompt.
 * Shared by the in-process provider and the HTTP simulator (local/model-simulator). With a model
 * id, each model gets its own stream, so a secondary model's confidences differ from the primary's.
 */
export function simulateAnswer(prompt: Prompt, seed: number, modelId?: string): { text: string; tokensIn: number; tokensOut: number } {
  const tokensIn = estimateTokens(prompt.system) + estimateTokens(prompt.user);
  const data = extractDataBlock(prompt.user);
  const random = seededRandom(seedFromString(modelId ? `${modelId}\n${prompt.user}` : prompt.user, seed));
  for (const task of Object.values(TASKS)) {
    if (!task.rules || data === undefined) continue;
    const input = task.inputSchema.safeParse(data);
    if (!input.success) continue;
    const answer = task.rules(input.data) as Record<string, unknown>;
    if (typeof answer.confidence === 'number') {
      // A model is usually more sure than keyword rules: lift confidence by 0.0–0.3, capped at 0.99.
      answer.confidence = Math.min(0.99, Math.round((answer.confidence + random() * 0.3) * 100) / 100);
    }
    const text = JSON.stringify(answer);
    return { text, tokensIn, tokensOut: estimateTokens(text) };
  }
  const text = JSON.stringify({ error: 'the simulator found no task input in the prompt' });
  return { text, tokensIn, tokensOut: estimateTokens(text) };
}

function extractDataBlock(text: string): unknown {
  const match = /<([a-z][\w-]*)>([\s\S]*)<\/\1>/.exec(text);
  if (!match) return undefined;
  try {
    return JSON.parse(match[2] as string);
  } catch {
    return undefined;
  }
}

/** About four characters a token, as most tokenizers average on English text. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
