import { Cell } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';

import { markOrigin } from './origin';
import { ICellVerdict, IJob } from './request';
import { BADGE_LABELS, verdictSlug } from './verdicts';

const CELL_CLASS = 'jp-ReproCell';

/**
 * The verdicts of one verification on the cells of one notebook, next to
 * their prompts. A badge goes when its cell is edited or a new
 * verification starts; closing the notebook takes them all.
 */
export class CellBadges {
  constructor(private panel: NotebookPanel) {}

  /** Badges for a finished verification, or only the stale marks (nothing ran); other cells keep theirs. */
  show(
    cells: { [cellId: string]: ICellVerdict } | null,
    stale: IJob['stale']
  ): void {
    for (const cell of this.panel.content.widgets) {
      const id = cell.model.id;
      const verdict = cells?.[id];
      if (cell.model.type !== 'code' || (!verdict && !stale[id])) {
        continue;
      }
      this.badge(cell, verdict, stale[id]);
    }
  }

  clear(): void {
    for (const cell of this.panel.content.widgets) {
      this.clearCell(cell);
    }
  }

  private badge(
    cell: Cell,
    verdict: ICellVerdict | undefined,
    stale: string | undefined
  ): void {
    this.clearCell(cell);
    const badge = document.createElement('div');
    const kind = verdict ? verdictSlug(verdict.verdict) : 'stale';
    badge.className = `jp-ReproBadge jp-ReproBadge-${kind}`;
    badge.dataset.verdict = verdict ? verdict.verdict : 'stale';
    const label = verdict
      ? (BADGE_LABELS[verdict.verdict] ?? verdict.verdict)
      : '';
    badge.textContent = stale ? `${label}${label ? ' · ' : ''}stale` : label;
    const details = [verdict?.origin, verdict?.detail, stale]
      .filter(Boolean)
      .join('\n');
    badge.title = details;
    const detail = document.createElement('div');
    detail.className = 'jp-ReproDetail';
    detail.textContent = details;
    detail.hidden = true;
    badge.onclick = () => {
      detail.hidden = !detail.hidden;
    };
    if (verdict?.origin) {
      markOrigin(cell, badge);
    }
    cell.addClass(CELL_CLASS);
    cell.addClass(`${CELL_CLASS}-${kind}`);
    cell.node.appendChild(badge);
    cell.node.appendChild(detail);
    const onChange = (_: unknown, change: { sourceChange?: unknown }) => {
      if (change.sourceChange) {
        this.clearCell(cell);
      }
    };
    cell.model.sharedModel.changed.connect(onChange);
    this.disconnects.set(cell, () =>
      cell.model.sharedModel.changed.disconnect(onChange)
    );
  }

  private clearCell(cell: Cell): void {
    this.disconnects.get(cell)?.();
    this.disconnects.delete(cell);
    cell.node
      .querySelectorAll(':scope > .jp-ReproBadge, :scope > .jp-ReproDetail')
      .forEach(node => node.remove());
    for (const name of Array.from(cell.node.classList)) {
      if (name.startsWith(CELL_CLASS)) {
        cell.removeClass(name);
      }
    }
  }

  private disconnects = new Map<Cell, () => void>();
}
