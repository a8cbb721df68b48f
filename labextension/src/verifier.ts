import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { CellBadges } from './badges';
import { IVerifyOptions } from './options';
import { ReportPanel } from './panel';
import { IJob, IProgress, RequestError, requestAPI } from './request';
import { NOTEBOOK_OUTCOMES } from './verdicts';

const POLL_MS = 500;
const SAVE_AND_VERIFY = 'Save and verify';

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Short, so that the toolbar keeps it in view beside an open side panel. */
function progressText(progress: IProgress | null, elapsed: number): string {
  const seconds = `${Math.round(elapsed)} s`;
  if (!progress) {
    return `Verifying · ${seconds}`;
  }
  const run = `run ${progress.run}/${progress.runs}`;
  if (!progress.cell) {
    return `Verifying ${run} · starting a kernel · ${seconds}`;
  }
  return `Verifying ${run} · cell ${progress.cell}/${progress.cells} · ${seconds}`;
}

/** The button, the progress and the cancel of one notebook's toolbar, and its badges. */
export class Verifier implements IDisposable {
  constructor(
    private panel: NotebookPanel,
    private report: () => ReportPanel
  ) {
    this.badges = new CellBadges(panel);
    this.button = new ToolbarButton({
      label: 'Restart & verify',
      className: 'jp-ReproVerifyButton',
      tooltip:
        'Run the saved notebook in fresh kernels on the server and compare with its ledger, as repro-verify does',
      onClick: () => void this.verify()
    });
    this.status = new Widget();
    this.status.addClass('jp-ReproStatus');
    this.cancelButton = new ToolbarButton({
      label: 'Cancel',
      className: 'jp-ReproCancelButton',
      tooltip: 'Stop the verification now: its kernel is shut down',
      onClick: () => void this.cancel()
    });
    this.cancelButton.hide();
    panel.toolbar.insertItem(10, 'reproVerify', this.button);
    panel.toolbar.insertItem(11, 'reproStatus', this.status);
    panel.toolbar.insertItem(12, 'reproCancel', this.cancelButton);
    void panel.context.ready.then(() => this.markStale());
    panel.context.saveState.connect((_, state) => {
      if (state === 'completed' && !this.job) {
        void this.markStale();
      }
    });
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    this._isDisposed = true;
    this.button.dispose();
    this.status.dispose();
    this.cancelButton.dispose();
  }

  async verify(options: Partial<IVerifyOptions> = {}): Promise<void> {
    if (this.job?.state === 'running') {
      return;
    }
    const context = this.panel.context;
    if (context.model.dirty) {
      const choice = await showDialog({
        title: 'Save before verifying?',
        body: 'Restart & verify runs the saved file in fresh kernels on the server. This notebook has unsaved changes.',
        buttons: [
          Dialog.cancelButton(),
          Dialog.okButton({ label: 'Verify the saved version' }),
          Dialog.okButton({ label: SAVE_AND_VERIFY })
        ]
      });
      if (!choice.button.accept) {
        return;
      }
      if (choice.button.label === SAVE_AND_VERIFY) {
        await context.save();
      }
    }
    this.badges.clear();
    let job: IJob;
    try {
      job = await requestAPI<IJob>('verifications', {
        method: 'POST',
        body: JSON.stringify({ ...options, path: context.path })
      });
    } catch (error) {
      if (error instanceof RequestError && error.job) {
        job = error.job; // already running (another tab): follow that one
      } else {
        await showErrorMessage('Restart & verify', (error as Error).message);
        return;
      }
    }
    await this.follow(job);
  }

  async cancel(): Promise<void> {
    if (this.job?.state === 'running') {
      this.setStatus('Cancelling…');
      await requestAPI<IJob>(`verifications/${this.job.id}`, {
        method: 'DELETE'
      });
    }
  }

  private async follow(job: IJob): Promise<void> {
    this.job = job;
    this.button.enabled = false;
    this.cancelButton.show();
    while (job.state === 'running' && !this._isDisposed) {
      this.setStatus(progressText(job.progress, job.elapsed));
      await sleep(POLL_MS);
      try {
        job = await requestAPI<IJob>(`verifications/${job.id}`);
      } catch (error) {
        this.setStatus(`Lost the verification: ${(error as Error).message}`);
        break;
      }
      this.job = job;
    }
    this.button.enabled = true;
    this.cancelButton.hide();
    if (this._isDisposed) {
      return;
    }
    if (job.state === 'done') {
      this.badges.show(job.cells, job.stale);
      this.setStatus(
        `${NOTEBOOK_OUTCOMES[job.verdict ?? ''] ?? job.verdict} · ${Math.round(job.elapsed)} s`
      );
    } else {
      this.setStatus(job.state === 'cancelled' ? 'Cancelled' : 'Failed');
    }
    if (job.state !== 'running') {
      this.report().showJob(job);
    }
    this.job = null;
  }

  private async markStale(): Promise<void> {
    try {
      const answer = await requestAPI<{ stale: IJob['stale'] }>(
        `stale?path=${encodeURIComponent(this.panel.context.path)}`
      );
      if (Object.keys(answer.stale).length) {
        this.badges.show(null, answer.stale);
      }
    } catch {
      // Not a notebook this server can verify; the button will say why.
    }
  }

  private setStatus(text: string): void {
    this.status.node.textContent = text;
  }

  private badges: CellBadges;
  private button: ToolbarButton;
  private status: Widget;
  private cancelButton: ToolbarButton;
  private job: IJob | null = null;
  private _isDisposed = false;
}
