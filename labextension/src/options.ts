import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

/** The `repro-verify` options that make sense from a notebook: tolerance, runs, update. */
export interface IVerifyOptions {
  rtol: number;
  atol: number;
  runs: number | null;
  update: boolean;
}

function field(
  form: HTMLElement,
  name: string,
  label: string,
  input: HTMLInputElement
): HTMLInputElement {
  const row = document.createElement('label');
  row.className = 'jp-ReproOptions-row';
  const text = document.createElement('span');
  text.textContent = label;
  input.name = name;
  row.append(text, input);
  form.appendChild(row);
  return input;
}

function numberInput(value: string, placeholder = ''): HTMLInputElement {
  const input = document.createElement('input');
  input.type = 'number';
  input.min = '0';
  input.step = 'any';
  input.value = value;
  input.placeholder = placeholder;
  return input;
}

/** The dialog body; the server checks the values, as `repro-verify` checks its flags. */
export class OptionsForm
  extends Widget
  implements Dialog.IBodyWidget<IVerifyOptions>
{
  constructor() {
    super();
    this.addClass('jp-ReproOptions');
    this.rtol = field(this.node, 'rtol', '--rtol', numberInput('0'));
    this.atol = field(this.node, 'atol', '--atol', numberInput('0'));
    this.runs = field(
      this.node,
      'runs',
      '--runs',
      numberInput('', '1 with a ledger, 2 without')
    );
    const update = document.createElement('input');
    update.type = 'checkbox';
    this.updateBox = field(
      this.node,
      'update',
      "--update: replace the ledger with this run's records",
      update
    );
  }

  getValue(): IVerifyOptions {
    return {
      rtol: Number(this.rtol.value || 0),
      atol: Number(this.atol.value || 0),
      runs: this.runs.value ? Number(this.runs.value) : null,
      update: this.updateBox.checked
    };
  }

  private rtol: HTMLInputElement;
  private atol: HTMLInputElement;
  private runs: HTMLInputElement;
  private updateBox: HTMLInputElement;
}
