import { Cell } from '@jupyterlab/cells';

/**
 * The mark on the cell after which the fresh runs' states first differ
 * (a plain cell too); the server says which, and the badge's title carries
 * the report's words.
 */
export function markOrigin(cell: Cell, badge: HTMLElement): void {
  const mark = document.createElement('span');
  mark.className = 'jp-ReproOrigin';
  mark.textContent = ' · origin';
  badge.appendChild(mark);
  badge.dataset.origin = 'true';
  cell.addClass('jp-ReproCell-origin');
}
