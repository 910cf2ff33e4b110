// A minimal `torch.save` zip writer for tests: an OrderedDict of tensors pickled with protocol 2 the way torch does
// (persistent-id storages rebuilt by torch._utils._rebuild_tensor_v2), each storage in archive/data/<key>.
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

export interface TorchEntry {
  name: string;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

class PickleBytes {
  private parts: number[] = [];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.op(0x58, b.length & 255, (b.length >> 8) & 255, (b.length >> 16) & 255, b.length >>> 24, ...b);
  }
  int(v: number): this {
    return this.op(0x4a, v & 255, (v >> 8) & 255, (v >> 16) & 255, (v >>> 24) & 255);
  }
  tuple(values: number[]): this {
    if (values.length === 0) return this.op(0x29);
    this.op(0x28);
    for (const v of values) this.int(v);
    return this.op(0x74);
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export async function writeTorchZip(entries: TorchEntry[]): Promise<Uint8Array> {
  const p = new PickleBytes().op(0x80, 2).global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  entries.forEach((e, i) => {
    const numel = e.shape.reduce((a, b) => a * b, 1);
    const stride = e.shape.map((_, k) => e.shape.slice(k + 1).reduce((a, b) => a * b, 1));
    p.str(e.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).str('storage').global('torch', e.data instanceof Float32Array ? 'FloatStorage' : 'LongStorage').str(String(i)).str('cpu').int(numel).op(0x74, 0x51);
    p.int(0).tuple(e.shape).tuple(stride).op(0x89).global('collections', 'OrderedDict').op(0x29, 0x52);
    p.op(0x74, 0x52);
  });
  p.op(0x75, 0x2e);
  const zip = new ZipWriter(new Uint8ArrayWriter(), { useWebWorkers: false, level: 0 });
  await zip.add('archive/data.pkl', new Uint8ArrayReader(p.bytes()));
  for (const [i, e] of entries.entries()) {
    await zip.add(`archive/data/${i}`, new Uint8ArrayReader(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength)));
  }
  await zip.add('archive/version', new Uint8ArrayReader(new TextEncoder().encode('3\n')));
  return zip.close();
}
