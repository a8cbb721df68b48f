import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';

import { OptionsForm } from './options';
import { ReportPanel } from './panel';
import { Verifier } from './verifier';

const COMMAND = 'repro-magics:verify';
const COMMAND_WITH_OPTIONS = 'repro-magics:verify-with-options';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'repro-magics:plugin',
  description:
    'Restart & verify: a toolbar button, per-cell verdicts and the repro-verify report.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null
  ) => {
    const verifiers = new WeakMap<NotebookPanel, Verifier>();
    let report: ReportPanel | null = null;
    const showReport = (): ReportPanel => {
      if (!report || report.isDisposed) {
        report = new ReportPanel();
        app.shell.add(report, 'right', { rank: 1000 });
      }
      app.shell.activateById(report.id);
      return report;
    };

    class Extension implements DocumentRegistry.IWidgetExtension<
      NotebookPanel,
      INotebookModel
    > {
      createNew(panel: NotebookPanel): IDisposable {
        const verifier = new Verifier(panel, showReport);
        verifiers.set(panel, verifier);
        return verifier;
      }
    }
    app.docRegistry.addWidgetExtension('Notebook', new Extension());

    app.commands.addCommand(COMMAND, {
      label: 'Restart & verify',
      caption:
        'Run the saved notebook in fresh kernels on the server and compare with its ledger',
      isEnabled: () => tracker.currentWidget !== null,
      execute: () => {
        const panel = tracker.currentWidget;
        return panel ? verifiers.get(panel)?.verify() : undefined;
      }
    });
    app.commands.addCommand(COMMAND_WITH_OPTIONS, {
      label: 'Restart & verify with options…',
      caption:
        'Restart & verify with a tolerance, a number of runs, or --update',
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const panel = tracker.currentWidget;
        if (!panel) {
          return;
        }
        const choice = await showDialog({
          title: 'Restart & verify with options',
          body: new OptionsForm(),
          buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Verify' })]
        });
        if (choice.button.accept && choice.value) {
          await verifiers.get(panel)?.verify(choice.value);
        }
      }
    });
    for (const command of [COMMAND, COMMAND_WITH_OPTIONS]) {
      palette?.addItem({ command, category: 'Notebook Operations' });
    }
  }
};

export default plugin;
