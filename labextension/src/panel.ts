import { Widget } from '@lumino/widgets';

import { IJob } from './request';

function element(tag: string, className: string, text = ''): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}

/**
 * The side panel: the lines `repro-verify` prints and the `--json` report it
 * writes, for the last verification that ended. Nothing else is said here.
 */
export class ReportPanel extends Widget {
  constructor() {
    super();
    this.id = 'repro-magics-report';
    this.addClass('jp-ReproReport');
    this.title.label = 'Reproducibility';
    this.title.caption = 'The repro-verify report of the last Restart & verify';
    this.title.closable = true;
    this.node.appendChild(
      element(
        'p',
        'jp-ReproReport-empty',
        'Run Restart & verify on a notebook to see its report here.'
      )
    );
  }

  showJob(job: IJob): void {
    this.node.replaceChildren();
    this.node.appendChild(element('h2', 'jp-ReproReport-title', job.notebook));
    if (job.state !== 'done') {
      this.node.appendChild(
        element('p', 'jp-ReproReport-message', job.message ?? job.state)
      );
      return;
    }
    this.node.appendChild(
      element(
        'p',
        'jp-ReproReport-status',
        `repro-verify exit status ${job.exit_status} (${job.verdict})`
      )
    );
    this.node.appendChild(
      element('pre', 'jp-ReproReport-lines', (job.lines ?? []).join('\n'))
    );
    const json = document.createElement('details');
    json.className = 'jp-ReproReport-json';
    json.appendChild(element('summary', '', 'repro-verify --json report'));
    json.appendChild(element('pre', '', JSON.stringify(job.report, null, 1)));
    this.node.appendChild(json);
  }
}
