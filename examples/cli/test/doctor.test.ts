import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextdetail, usageError } from './runCli';

interface DoctorJson {
  usable: boolean;
  checks: { name: string; ok: boolean; detail: string; required: boolean }[];
}

let empty: string;

beforeAll(() => {
  empty = mkdtempSync(join(tmpdir(), 'nextdetail-doctor-'));
});

afterAll(() => rmSync(empty, { recursive: true, force: true }));

function doctor(...args: string[]): { status: number | null; report: DoctorJson } {
  const r = nextdetail('doctor', '--json', ...args);
  return { status: r.status, report: JSON.parse(r.stdout) as DoctorJson };
}

const check = (report: DoctorJson, name: string) => report.checks.find((c) => c.name === name)!;

describe('nextdetail doctor', () => {
  it('reports versions, the backends that start and the shipped assets, and exits 0 when usable', () => {
    const { status, report } = doctor();
    expect(report.usable).toBe(true);
    expect(status).toBe(0);
    expect(check(report, 'tfjs').detail).toBe('4.22.0');
    expect(check(report, 'backend cpu').ok).toBe(true);
    expect(check(report, 'backend wasm')).toMatchObject({ ok: true, detail: expect.stringMatching(/^wasm \(/) });
    // webgpu starts where Dawn finds an adapter; either way the check says why.
    expect(check(report, 'backend webgpu').detail).toMatch(/adapter/);
    expect(check(report, 'asset sample.png')).toMatchObject({ ok: true, detail: '256×256' });
    expect(check(report, 'asset classifier')).toMatchObject({ ok: true, detail: expect.stringMatching(/^test accuracy \d+\.\d\d %$/) });
    expect(check(report, 'fashion-mnist').ok).toBe(true);
  });

  it('missing Fashion-MNIST is reported but does not make the installation unusable', () => {
    const { status, report } = doctor('--data', empty);
    expect(check(report, 'fashion-mnist')).toMatchObject({ ok: false, required: false, detail: expect.stringContaining('train-images-idx3-ubyte.gz') });
    expect(status).toBe(0);
  });

  it('prints one line per check without --json', () => {
    const r = nextdetail('doctor');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+backend cpu\s+cpu/m);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('usable');
  });

  it('rejects unknown flags with one line naming the flag', () => {
    expect(usageError(nextdetail('doctor', '--verbose'))).toMatch(/--verbose/);
  });
});
