import { InvalidArgumentError, NextDetailError } from '../errors.js';
import { type ByteSource, checkRead } from './byteSource.js';

/** An HTTP request for checkpoint bytes failed or was answered in a way a ranged reader cannot use. */
export class HttpReadError extends NextDetailError {
  readonly url: string;
  readonly reason: string;

  constructor(url: string, reason: string) {
    super('ERR_HTTP', `${url}: ${reason}`);
    this.url = url;
    this.reason = reason;
  }
}

export interface UrlSourceOptions {
  /** The fetch to use, e.g. one that adds credentials; default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/**
 * A ByteSource over HTTP: each read is one `Range` request, so a reader pulls a single tensor of a large remote file
 * without downloading the rest. A `Range: bytes=0-0` probe finds the size; a server that ignores Range answers it with
 * the whole body, which is then kept and served from memory (one download in total). Cross-origin servers must
 * expose `Content-Range` (Access-Control-Expose-Headers).
 */
export async function bytesFromUrl(url: string | URL, options: UrlSourceOptions = {}): Promise<ByteSource> {
  const name = String(url);
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new InvalidArgumentError('options.fetch', 'a fetch function (there is no global fetch here)', typeof fetchImpl);
  }

  const get = async (range: string): Promise<Response> => {
    try {
      // identity: a compressed body's ranges would not be the file's ranges.
      return await fetchImpl(name, { headers: { Range: range, 'Accept-Encoding': 'identity' } });
    } catch (err) {
      throw new HttpReadError(name, `request for ${range} failed: ${messageOf(err)}`);
    }
  };
  const body = async (response: Response): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      throw new HttpReadError(name, `reading the response body failed: ${messageOf(err)}`);
    }
  };

  const probe = await get('bytes=0-0');
  let whole: Uint8Array | undefined;
  let size: number;
  if (probe.status === 200) {
    whole = await body(probe);
    size = whole.byteLength;
  } else if (probe.status === 206 || probe.status === 416) {
    // 416 is how servers answer any range of an empty file; its Content-Range is "bytes */0".
    size = totalSize(name, probe);
    await body(probe);
  } else {
    throw new HttpReadError(name, `expected HTTP 200 or 206 for a Range probe, got ${describeStatus(probe)}`);
  }

  let closed = false;
  const source: ByteSource = {
    size,
    name,
    async read(offset, length) {
      checkRead(source, offset, length, closed);
      if (length === 0) return new Uint8Array(0);
      if (!whole) {
        const range = `bytes=${offset}-${offset + length - 1}`;
        const response = await get(range);
        if (response.status === 206) {
          const start = /^bytes (\d+)-/.exec(response.headers.get('Content-Range') ?? '')?.[1];
          const bytes = await body(response);
          if (start !== String(offset) || bytes.byteLength !== length) {
            throw new HttpReadError(name, `expected ${length} bytes at ${offset} for ${range}, got ${bytes.byteLength} at ${start ?? 'an unstated offset'}`);
          }
          return bytes;
        }
        if (response.status !== 200) {
          throw new HttpReadError(name, `expected HTTP 206 for ${range}, got ${describeStatus(response)}`);
        }
        // The server stopped honouring Range: keep the full body so that this happens once.
        const full = await body(response);
        if (full.byteLength !== size) {
          throw new HttpReadError(name, `expected the ${size}-byte file when the server ignored Range, got ${full.byteLength} bytes`);
        }
        whole = full;
      }
      return whole.subarray(offset, offset + length);
    },
    async close() {
      closed = true;
      whole = undefined;
    },
  };
  return source;
}

function totalSize(url: string, response: Response): number {
  const header = response.headers.get('Content-Range');
  const total = /^bytes (?:\d+-\d+|\*)\/(\d+)$/.exec(header?.trim() ?? '')?.[1];
  const size = total === undefined ? NaN : Number(total);
  if (!Number.isSafeInteger(size)) {
    const got = header === null ? 'none (cross-origin servers must expose it)' : JSON.stringify(header);
    throw new HttpReadError(url, `expected a Content-Range header with the total size ("bytes 0-0/N"), got ${got}`);
  }
  return size;
}

function describeStatus(response: Response): string {
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
}

function messageOf(err: unknown): string {
  const cause = (err as { cause?: { message?: unknown } })?.cause?.message;
  const message = err instanceof Error ? err.message : String(err);
  return typeof cause === 'string' ? `${message} (${cause})` : message;
}
