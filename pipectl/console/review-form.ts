import { z } from 'zod';
import { findTask } from '../../lambda/tasks/registry';
import { UsageError } from '../errors';

/** One input of the resolve form, derived from a property of the task's output schema. */
export interface FormField {
  readonly name: string;
  readonly kind: 'select' | 'number' | 'integer' | 'text' | 'textarea' | 'checkbox' | 'json';
  readonly required: boolean;
  readonly options?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
}

interface JsonSchemaProperty {
  readonly type?: string | readonly string[];
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
}

/**
 * The resolve form of a task: one input per property of its output schema (zod's own JSON
 * Schema export, so the form follows the schema a task plug-in declares, not a copy of it). The
 * browser checks what the HTML attributes can say (required, min, max, lengths); the server then
 * validates the whole result with the CLI's `validateResolution`, the one check that counts.
 * A property the form cannot express (an object, an array) is a JSON text field.
 *
 * @returns undefined for a task this pipectl does not know.
 */
export function formFieldsOf(taskName: string): FormField[] | undefined {
  const task = findTask(taskName);
  if (!task) return undefined;
  const schema = z.toJSONSchema(task.outputSchema as z.ZodType, { unrepresentable: 'any' }) as {
    properties?: Record<string, JsonSchemaProperty>;
    required?: readonly string[];
  };
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const base = { name, required: required.has(name) };
    const type = Array.isArray(property.type) ? property.type.find((candidate) => candidate !== 'null') : property.type;
    if (property.enum?.every((value) => typeof value === 'string')) return { ...base, kind: 'select', options: property.enum as string[] };
    if (type === 'number' || type === 'integer') return { ...base, kind: type, min: property.minimum, max: property.maximum };
    if (type === 'boolean') return { ...base, kind: 'checkbox', required: false };
    if (type === 'string') {
      return {
        ...base,
        kind: (property.maxLength ?? Number.POSITIVE_INFINITY) > 120 ? 'textarea' : 'text',
        minLength: property.minLength,
        maxLength: property.maxLength,
      };
    }
    return { ...base, kind: 'json' };
  });
}

/**
 * The result a submitted form describes, as JSON text for `validateResolution` (which parses it
 * as it parses the CLI's `--result`). Empty optional fields are left out; numbers stay numbers.
 */
export function resultJsonFromForm(fields: readonly FormField[], form: URLSearchParams): string {
  const result: Record<string, unknown> = {};
  for (const field of fields) {
    const raw = form.get(`field.${field.name}`);
    if (field.kind === 'checkbox') {
      result[field.name] = raw === 'on';
      continue;
    }
    if (raw === null || raw === '') continue;
    if (field.kind === 'number' || field.kind === 'integer') {
      const value = Number(raw);
      // Left as text when not a number: the schema check then names the field.
      result[field.name] = Number.isFinite(value) ? value : raw;
    } else if (field.kind === 'json') {
      try {
        result[field.name] = JSON.parse(raw);
      } catch (error) {
        throw new UsageError(`${field.name} is not JSON: ${(error as Error).message}`);
      }
    } else result[field.name] = raw;
  }
  return JSON.stringify(result);
}
