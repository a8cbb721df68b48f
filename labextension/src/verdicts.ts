/**
 * The verdicts the server sends, in the words of
 * repro_magics/verify/verdicts.py (CellVerdict) and of the report's notebook
 * verdicts. tests/test_layout.py checks that the values here are exactly the
 * Python enum's; the browser only chooses how each one looks.
 */

/** One code cell's verdict in one verification. */
export enum CellVerdict {
  Identical = 'identical',
  WithinTolerance = 'within tolerance',
  Diverged = 'diverged',
  NothingRecorded = 'nothing recorded',
  Recorded = 'recorded',
  NotRecorded = 'not recorded',
  Failed = 'failed to run',
  NotRun = 'not run'
}

/** The label of each cell's badge. */
export const BADGE_LABELS: { [verdict in CellVerdict]: string } = {
  [CellVerdict.Identical]: '✓ bitwise',
  [CellVerdict.WithinTolerance]: '≈ tolerance',
  [CellVerdict.Diverged]: '✗ diverged',
  [CellVerdict.NothingRecorded]: 'nothing recorded',
  [CellVerdict.Recorded]: 'recorded',
  [CellVerdict.NotRecorded]: 'not recorded',
  [CellVerdict.Failed]: '✗ failed',
  [CellVerdict.NotRun]: 'not run'
};

/** What the toolbar says of a whole notebook's verdict (the report's `verdict`). */
export const NOTEBOOK_OUTCOMES: { [verdict: string]: string } = {
  identical: '✓ reproduced',
  'within tolerance': '≈ reproduced within tolerance',
  diverged: '✗ diverged',
  'failed to run': '✗ failed to run',
  'nothing recorded': 'nothing recorded',
  recorded: 'recorded'
};

/** A verdict as a CSS class suffix: `within tolerance` -> `within-tolerance`. */
export function verdictSlug(verdict: string): string {
  return verdict.replace(/ /g, '-');
}
