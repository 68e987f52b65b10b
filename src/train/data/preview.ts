import type { DataTokenizer } from './tokenize';
import { IGNORE_INDEX } from './types';
import type { TokenizedExample } from './types';

/** A run of consecutive tokens that are all supervised or all masked, decoded to text. */
export interface PreviewSegment {
  text: string;
  supervised: boolean;
  tokenCount: number;
}

export interface ExamplePreview {
  line: number;
  block?: number;
  tokenCount: number;
  supervisedCount: number;
  segments: PreviewSegment[];
}

/**
 * For the UI's label-mask view: the first k examples as decoded segments flagged supervised or not.
 * Each segment's text is the difference between decodes of growing prefixes, so a character split
 * across a segment boundary (byte-level BPE) is shown whole in the segment where it completes.
 */
export function previewExamples(examples: readonly TokenizedExample[], tokenizer: Pick<DataTokenizer, 'decode'>, k = 5): ExamplePreview[] {
  const decode = (ids: number[]) => (ids.length === 0 ? '' : tokenizer.decode(ids, { skip_special_tokens: false }));
  return examples.slice(0, Math.max(0, k)).map((e) => {
    const segments: PreviewSegment[] = [];
    let prefixText = '';
    let start = 0;
    let supervisedCount = 0;
    for (let t = 0; t <= e.inputIds.length; t++) {
      const sup = t < e.labels.length && e.labels[t] !== IGNORE_INDEX;
      if (t < e.inputIds.length && sup) supervisedCount++;
      const runSup = start < e.labels.length && e.labels[start] !== IGNORE_INDEX;
      if (t === e.inputIds.length || (t > start && sup !== runSup)) {
        if (t > start) {
          // A prefix ending inside a multi-token character decodes to trailing U+FFFD: leave that
          // character to the next segment, where it completes.
          let upTo = decode(e.inputIds.slice(0, t));
          if (t < e.inputIds.length) upTo = upTo.replace(/\uFFFD+$/, '');
          const text = upTo.startsWith(prefixText) ? upTo.slice(prefixText.length) : decode(e.inputIds.slice(start, t));
          segments.push({ text, supervised: runSup, tokenCount: t - start });
          prefixText = upTo;
        }
        start = t;
      }
    }
    const preview: ExamplePreview = { line: e.line, tokenCount: e.inputIds.length, supervisedCount, segments };
    if (e.block !== undefined) preview.block = e.block;
    return preview;
  });
}
