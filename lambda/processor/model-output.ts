import type * as z from '../shared/zod-mini';
import { InvalidModelOutputError } from '../errors/pipeline-errors';

const FENCED = /^\s*```(?:json)?\s*\n?([\s\S]*?)\n?```\s*$/i;

/**
 * Model output is untrusted input: parse it as JSON (a fenced ```json block is tolerated) and
 * validate it against the task's output schema. Throws `InvalidModelOutputError` saying why.
 */
export function parseModelOutput<O>(text: string, schema: z.ZodMiniType<O>, finishReason: string): O {
  if (finishReason === 'length') {
    throw new InvalidModelOutputError('the model output was truncated (finish reason "length")');
  }
  const body = FENCED.exec(text)?.[1] ?? text;
  let document: unknown;
  try {
    document = JSON.parse(body);
  } catch {
    throw new InvalidModelOutputError(`the model output is not JSON: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const result = schema.safeParse(document);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new InvalidModelOutputError(`the model output does not match the schema: ${issues.join('; ')}`);
  }
  return result.data;
}
