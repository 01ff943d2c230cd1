/**
 * Reading the processor's (or the baseline's) `--cpu-prof` files: self time per frame, mapped to
 * sources through the bundle's source map, and summed by area (our lambda/ code, the AWS SDK,
 * Powertools, zod, Node.js internals). Used by `npm run bench` and bench/profile-side-by-side.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { join } from 'node:path';

export interface CpuProfileSummary {
  readonly frames: Frame[];
  readonly byArea: Record<string, number>;
  readonly totalMs: number;
}

export interface Frame {
  readonly name: string;
  readonly source: string;
  readonly selfMs: number;
  readonly share: number;
}

/** Top self-time frames of the processor's CPU profiles, mapped to sources through the bundle's source map. */
export function topFrames(profileDir: string, bundlePath: string, top = 12): CpuProfileSummary {
  const map = new SourceMap(JSON.parse(readFileSync(`${bundlePath}.map`, 'utf8')));
  const selfMs = new Map<string, { name: string; source: string; ms: number }>();
  const byArea: Record<string, number> = {};
  let totalMs = 0;
  for (const file of readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as {
      nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
      samples: number[];
      timeDeltas: number[];
    };
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, index) => {
      const node = nodes.get(id);
      if (!node) return;
      const ms = (profile.timeDeltas[index] ?? 0) / 1000;
      const { functionName, url, lineNumber, columnNumber } = node.callFrame;
      let name = functionName || '(anonymous)';
      let source = url || functionName;
      if (url.endsWith('index.js') && lineNumber >= 0) {
        const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number; name?: string };
        if (entry.originalSource) {
          // A package's path holds node_modules/, except in a bundle that itself lives under
          // node_modules (the synth cache), where it is relative to it: ../../../../@smithy/….
          source = `${entry.originalSource
            .replace(/^.*node_modules\//, '')
            .replace(/^.*?\/(lambda|bench)\//, '$1/')
            .replace(/^(\.\.\/)+/, '')}:${(entry.originalLine ?? 0) + 1}`;
          if (entry.name) name = entry.name;
        }
      } else if (url.startsWith('node:')) source = url;
      if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') source = name;
      if (name === '(idle)') return;
      totalMs += ms;
      const area = areaOf(source);
      byArea[area] = (byArea[area] ?? 0) + ms;
      const key = `${name} ${source}`;
      const entry = selfMs.get(key) ?? { name, source, ms: 0 };
      entry.ms += ms;
      selfMs.set(key, entry);
    });
  }
  const frames = [...selfMs.values()]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
    .map((entry) => ({ name: entry.name, source: entry.source, selfMs: entry.ms, share: entry.ms / totalMs }));
  return { frames, byArea, totalMs };
}

export function areaOf(source: string): string {
  if (source.startsWith('lambda/')) return 'pipeline code (lambda/)';
  if (source.startsWith('@aws-sdk/') || source.startsWith('@smithy/')) return 'AWS SDK';
  if (source.startsWith('@aws-lambda-powertools/')) return 'Powertools';
  if (source.startsWith('zod/')) return 'zod';
  if (source.startsWith('node:') || source === '') return 'Node.js internals';
  if (source.startsWith('(')) return source;
  return 'other libraries / native';
}
