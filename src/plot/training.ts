/** The training curves: loss and accuracy against step, train and test side by side. */
import type { TopLevelSpec } from 'vega-lite';
import type { MetricsRow } from '../train/train.js';
import { SERIES_COLORS } from './collapse.js';
import { renderFigure, type Figure } from './render.js';

export interface TrainingFigureOptions {
  /** First line of the title (e.g. "mnist-cnn on mnist"). */
  readonly title: string;
  /** Second line (the settings). */
  readonly subtitle?: string;
}

export function trainingSpec(history: readonly MetricsRow[], options: TrainingFigureOptions): TopLevelSpec {
  const rows = history.flatMap((r) => [
    { step: r.step, set: 'train', loss: r.trainLoss, accuracy: 100 * r.trainAccuracy },
    { step: r.step, set: 'test', loss: r.testLoss, accuracy: 100 * r.testAccuracy },
  ]);
  const color = { field: 'set', type: 'nominal', title: null, scale: { domain: ['train', 'test'], range: SERIES_COLORS.slice(0, 2) }, legend: { orient: 'bottom', symbolType: 'stroke' } };
  const x = { field: 'step', type: 'quantitative', title: 'step', scale: { nice: false } };
  const point = history.length <= 40 ? { size: 20 } : false;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title, ...(options.subtitle ? { subtitle: options.subtitle } : {}) },
    data: { values: rows },
    hconcat: [
      { width: 340, height: 240, mark: { type: 'line', strokeWidth: 2, point }, encoding: { x, y: { field: 'loss', type: 'quantitative', title: 'cross-entropy loss', scale: { type: 'log' } }, color } },
      { width: 340, height: 240, mark: { type: 'line', strokeWidth: 2, point }, encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy (%)', scale: { zero: false } }, color } },
    ],
  } as TopLevelSpec;
}

/** {@link trainingSpec} rendered as SVG and PNG. */
export async function trainingFigure(history: readonly MetricsRow[], options: TrainingFigureOptions): Promise<Figure> {
  return renderFigure(trainingSpec(history, options));
}
