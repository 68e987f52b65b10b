import { previewExamples } from '../src/train/data/preview';
import { datasetStats } from '../src/train/data/stats';
import type { DataTokenizer } from '../src/train/data/tokenize';
import { prepareDataset } from '../src/train/runSetup';
import { tokenizerFingerprint } from '../src/model/tokenizer';
import type { DatasetRequest, DatasetSummary } from './api';
import { requireModel, session } from './session';

/** Parses, tokenizes with the loaded model's tokenizer and chat template, splits, and summarises (the run set-up's pipeline). */
export async function loadDataset(req: DatasetRequest): Promise<DatasetSummary> {
  const { tokenizer } = requireModel();
  const tok = tokenizer as unknown as DataTokenizer;
  const data = prepareDataset(
    req.text,
    { fileName: req.fileName, onError: req.onError, columns: req.columns, maxLength: req.maxLength, validationFraction: req.validationFraction, seed: req.seed, tokenizerFingerprint: tokenizerFingerprint(tokenizer) },
    tok,
  );
  const stats = datasetStats(data.examples, { maxLength: req.maxLength, truncatedCount: data.truncated, droppedCount: data.dropped });
  const summary: DatasetSummary = {
    fileName: req.fileName,
    format: data.format,
    records: data.records,
    trainExamples: data.train.length,
    validationExamples: data.validation.length,
    issues: data.issues,
    issueCount: data.malformedRecords + data.dropped,
    stats,
    preview: previewExamples(data.examples, tok, 8),
    fingerprint: data.fingerprint,
  };
  session.dataset = { summary, maxLength: req.maxLength, validationFraction: req.validationFraction, train: data.train, validation: data.validation, malformedRecords: data.malformedRecords, dropped: data.dropped };
  return summary;
}
