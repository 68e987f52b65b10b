import { datasetFingerprint } from '../src/train/data/fingerprint';
import { parseDataset } from '../src/train/data/parse';
import { previewExamples } from '../src/train/data/preview';
import { splitTrainValidation } from '../src/train/data/split';
import { datasetStats } from '../src/train/data/stats';
import { tokenizeExamples } from '../src/train/data/tokenize';
import type { DataTokenizer } from '../src/train/data/tokenize';
import type { DatasetRequest, DatasetSummary } from './api';
import { requireModel, session } from './session';

/** Parses, tokenizes with the loaded model's tokenizer and chat template, splits, and summarises. */
export async function loadDataset(req: DatasetRequest): Promise<DatasetSummary> {
  const { tokenizer } = requireModel();
  const parsed = parseDataset(req.text, { onError: req.onError, fileName: req.fileName, columns: req.columns });
  const tok = tokenizeExamples(parsed.examples, tokenizer as unknown as DataTokenizer, { maxLength: req.maxLength });
  const split = splitTrainValidation(tok.examples, { validationFraction: req.validationFraction, seed: req.seed });
  const stats = datasetStats(tok.examples, { maxLength: req.maxLength, truncatedCount: tok.truncatedCount, droppedCount: tok.droppedCount });
  const summary: DatasetSummary = {
    fileName: req.fileName,
    format: parsed.format,
    records: parsed.examples.length,
    trainExamples: split.train.length,
    validationExamples: split.validation.length,
    issues: [...parsed.issues, ...tok.dropped],
    issueCount: parsed.issueCount + tok.droppedCount,
    stats,
    preview: previewExamples(tok.examples, tokenizer as unknown as DataTokenizer, 8),
    fingerprint: datasetFingerprint(req.text, { maxLength: req.maxLength, validationFraction: req.validationFraction, seed: req.seed, columns: req.columns ?? null }),
  };
  session.dataset = { summary, maxLength: req.maxLength, validationFraction: req.validationFraction, train: split.train, validation: split.validation };
  return summary;
}
