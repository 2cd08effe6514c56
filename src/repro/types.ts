/**
 * The vocabulary of the paper's reproductions (`collapse reproduce`): a reproduction declares its settings at two
 * scales, runs in stages that a checkpoint keeps, and returns claims (the paper's statements with the measured
 * number, the theory's, the paper's, and a verdict), figures and raw data.
 */
import type { Engine } from '../engine.js';

/** The two documented scales: `quick` runs on 2 CPU cores in minutes, `paper` is the paper's full size. */
export type ScaleName = 'quick' | 'paper';

/** A setting's value: a number, a list of numbers, or a word. */
export type SettingValue = number | readonly number[] | string;

export interface SettingSpec {
  readonly description: string;
  /** integer / number: one value; list: numbers (a comma list or a linspace a:b:n); integers: a comma list; choice: a word. */
  readonly kind: 'integer' | 'number' | 'list' | 'integers' | 'choice';
  readonly quick: SettingValue;
  readonly paper: SettingValue;
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
}

export type Settings = Readonly<Record<string, SettingValue>>;

/** How a claim fared, judged by a stated test with a stated tolerance. */
export type Verdict = 'reproduced' | 'partly reproduced' | 'not reproduced' | 'inconclusive';

export interface Claim {
  /** Short stable identifier (e.g. `threshold`). */
  readonly id: string;
  /** The paper's statement (or the theorem's prediction) being checked. */
  readonly statement: string;
  /** What this run measured. */
  readonly measured: string;
  /** The closed-form theory's value ('—' where there is none). */
  readonly theory: string;
  /** What the paper reports ('—' where it reports nothing comparable). */
  readonly paper: string;
  readonly verdict: Verdict;
  /** The test that decided the verdict, with its tolerance. */
  readonly test: string;
}

export interface FigureOutput {
  /** File stem: `<name>.png` and `<name>.svg`. */
  readonly name: string;
  readonly title: string;
  /** One or two sentences under the figure in the report. */
  readonly caption: string;
  readonly svg: string;
  readonly png: Uint8Array;
}

export interface DataFile {
  readonly name: string;
  readonly content: string | Uint8Array;
  /** What the file holds (listed in the report). */
  readonly description: string;
}

export interface ReproOutcome {
  readonly claims: readonly Claim[];
  readonly figures: readonly FigureOutput[];
  readonly files: readonly DataFile[];
  /** Markdown sections of measured numbers (tables), in order. */
  readonly sections: readonly { readonly title: string; readonly body: string }[];
  /** Where this run deliberately differs from the paper's code (PAPER.md §6) or setup, one item each. */
  readonly differences: readonly string[];
  /** The headline numbers, machine-readable (into result.json). */
  readonly measured: Readonly<Record<string, unknown>>;
}

/** Progress of a reproduction: the fraction of its planned work, and the stage at work. */
export interface ReproProgress {
  readonly fraction: number;
  readonly stage: string;
  readonly stagesDone: number;
  readonly stages: number;
  /** A short status of the stage (e.g. "step 20000/60000"). */
  readonly note?: string;
}

/** One planned unit of work: a stage key, its relative cost (for progress), and what it does. */
export interface StagePlan {
  readonly key: string;
  readonly work: number;
  readonly label: string;
}

/** What a reproduction's `run` gets. */
export interface ReproContext {
  readonly engine: Engine;
  readonly settings: Settings;
  readonly seed: number;
  readonly signal: AbortSignal;
  /** A folder with the CIFAR binary batches, when the user gave one (--data-dir). */
  readonly dataDir?: string;
  /**
   * Runs a planned stage once: its (JSON) value is kept in the checkpoint, so a resumed run returns it without
   * computing it again. `report(fraction, note)` drives the progress bar. Values go through JSON on every run, so
   * a resumed run and an uninterrupted one see exactly the same values.
   */
  stage<T>(key: string, compute: (report: (fraction: number, note?: string) => void) => Promise<T>): Promise<T>;
  /** The saved intermediate state of a long stage, or undefined (see `save`). */
  load<T>(key: string): T | undefined;
  /** Saves the intermediate state of a long stage into the checkpoint (written at once). */
  save(key: string, value: unknown): void;
  /**
   * Large binary intermediates (trained weights, training checkpoints) kept beside the checkpoint, by name (the
   * CLI: files in DIR/.stages/, removed when the run finishes); undefined when absent.
   */
  readBlob(name: string): Uint8Array | undefined;
  writeBlob(name: string, bytes: Uint8Array): void;
}

export interface Reproduction {
  /** The command's name: fig1, fig2, fig5, toy, ... */
  readonly name: string;
  /** The paper's figure it reproduces ("Fig. 1"). */
  readonly figure: string;
  readonly title: string;
  /** One line for `collapse reproduce list`. */
  readonly summary: string;
  readonly settings: Readonly<Record<string, SettingSpec>>;
  /** The stages a run at these settings goes through, with their relative costs. */
  plan(settings: Settings): StagePlan[];
  run(context: ReproContext): Promise<ReproOutcome>;
}
