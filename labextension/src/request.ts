import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { CellVerdict } from './verdicts';

/** Where one verification stands; the server computes everything, the browser only shows it. */
export interface IProgress {
  run: number;
  runs: number;
  cell: number;
  cells: number;
  cell_id: string | null;
  source: string;
}

export interface ICellVerdict {
  verdict: CellVerdict;
  detail: string;
  /** Only on the cell after which the runs' states first differ: the report's origin line. */
  origin?: string;
}

export interface IJob {
  id: string;
  notebook: string;
  state: 'running' | 'done' | 'cancelled' | 'error';
  elapsed: number;
  progress: IProgress | null;
  message: string | null;
  stale: { [cellId: string]: string };
  exit_status: number | null;
  verdict: string | null;
  lines: string[] | null;
  report: unknown;
  cells: { [cellId: string]: ICellVerdict } | null;
}

/** An answer other than 2xx: the server's one-sentence message, and the running job for a 409. */
export class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly job?: IJob
  ) {
    super(message);
  }
}

/** Call the server extension's REST API, with the server's authentication. */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'repro-magics', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    throw new RequestError(
      response.status,
      data.message ?? response.statusText,
      data.job
    );
  }
  return data as T;
}
