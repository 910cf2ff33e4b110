// Checks every public package as it would be published: publint --strict, "are the types wrong" on the packed
// tarball, and an import of the packed package, as ESM and as CJS, from a scratch project outside the workspace.
// Run after `turbo run build` (npm test does that first).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Manifest {
  name: string;
  private?: boolean;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({ dir: join(root, 'packages', dir), manifest: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as Manifest }))
  .filter((p) => !p.manifest.private);

// Third-party runtime dependencies a package may have: well kept, each for what it does well. zip.js is browser-safe;
// the others are reached only from Node entries and CLIs (the browser-safety check below covers the main entries):
// PNG/JPEG codecs for image folders, argument parsing and progress bars for `nextdetail-eval`.
const APPROVED_RUNTIME_DEPENDENCIES = ['@zip.js/zip.js', 'pngjs', 'jpeg-js', 'commander', 'cli-progress'];

// What each entry point must export: one runtime name per entry proves the right module was loaded.
const EXPECTED_EXPORT: Record<string, string> = {
  '@nextdetail/core': 'useBackend',
  '@nextdetail/core/node': 'useBackendFromEnv',
  '@nextdetail/decompose': 'decompose',
  '@nextdetail/tokenizers': 'fromPretrained',
  '@nextdetail/transformer': 'VarGenerator',
  '@nextdetail/tokenizers/node': 'fromPretrained',
  '@nextdetail/eval': 'frechetDistance',
  '@nextdetail/eval/node': 'listImageFiles',
  '@nextdetail/samplers': 'generate',
};

function run(cmd: string, args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('packaging', () => {
  let scratch: string;

  beforeAll(() => {
    // A scratch project whose node_modules holds the packed tarballs of our packages and links to tfjs.
    scratch = mkdtempSync(join(tmpdir(), 'nextdetail-pack-'));
    const modules = join(scratch, 'node_modules');
    mkdirSync(join(modules, '@nextdetail'), { recursive: true });
    mkdirSync(join(modules, '@tensorflow'), { recursive: true });
    for (const { dir, manifest } of packages) {
      const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop()!;
      const target = join(modules, manifest.name);
      mkdirSync(target, { recursive: true });
      execFileSync('tar', ['-xzf', join(scratch, tarball), '-C', target, '--strip-components=1']);
    }
    for (const dep of readdirSync(join(root, 'node_modules', '@tensorflow'))) {
      symlinkSync(join(root, 'node_modules', '@tensorflow', dep), join(modules, '@tensorflow', dep));
    }
    // Third-party runtime dependencies come from the workspace's install, as npm would install them.
    for (const dep of new Set(packages.flatMap(({ manifest }) => Object.keys(manifest.dependencies ?? {})))) {
      if (dep.startsWith('@nextdetail/')) continue;
      mkdirSync(join(modules, dep, '..'), { recursive: true });
      symlinkSync(join(root, 'node_modules', dep), join(modules, dep));
    }
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
  }, 300_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('nextdetail-doctor lists every backend, each with a verdict and a reason', () => {
    const r = run(process.execPath, [join(root, 'packages', 'core', 'dist', 'doctor.js')], root);
    expect(r.status, r.output).toBe(0);
    for (const name of ['tensorflow', 'webgpu', 'wasm', 'cpu']) expect(r.output).toMatch(new RegExp(`^[✔✘] ${name}\\s+\\S`, 'm'));
    expect(r.output).toMatch(/^✔ cpu/m);
    expect(r.output).toMatch(/^✘ tensorflow .*not installed/m);
    expect(r.output).toMatch(/\d+ backend\(s\) available\./);
  });

  it('there are public packages to check', () => {
    expect(packages.map((p) => p.manifest.name)).toContain('@nextdetail/decompose');
  });

  for (const { dir, manifest } of packages) {
    describe(manifest.name, () => {
      it('is built', () => expect(existsSync(join(dir, 'dist'))).toBe(true));

      it('passes publint --strict', () => {
        const r = run(bin('publint'), ['--strict'], dir);
        expect(r.output).not.toMatch(/warning|error|suggestion/i);
        expect(r.status, r.output).toBe(0);
      });

      it('passes @arethetypeswrong/cli --pack', () => {
        // Our CJS entries are real CommonJS, so the node16-from-ESM "CJS resolves to ESM" check does not apply.
        const r = run(bin('attw'), ['--pack', '.', '--format', 'ascii'], dir);
        expect(r.status, r.output).toBe(0);
      });

      it('keeps tfjs a peer dependency and the runtime dependencies small', () => {
        expect(manifest.peerDependencies?.['@tensorflow/tfjs-core']).toBeDefined();
        const deps = Object.keys(manifest.dependencies ?? {});
        expect(deps.filter((d) => d.startsWith('@tensorflow/'))).toEqual([]);
        expect(deps.filter((d) => !d.startsWith('@nextdetail/') && !APPROVED_RUNTIME_DEPENDENCIES.includes(d))).toEqual([]);
      });

      const entries = Object.keys(manifest.exports ?? {}).filter((k) => k !== './package.json');
      for (const entry of entries) {
        const specifier = entry === '.' ? manifest.name : `${manifest.name}/${entry.slice(2)}`;
        const name = EXPECTED_EXPORT[specifier];

        it(`${specifier} has an expected export listed in this test`, () => expect(name).toBeDefined());

        it(`${specifier} imports as ESM from a scratch project`, () => {
          const r = run(process.execPath, ['--input-type=module', '-e', `import * as m from '${specifier}'; console.log(typeof m.${name});`], scratch);
          expect(r.output.trim().split('\n')[0], r.output).toBe('function');
        });

        it(`${specifier} requires as CJS from a scratch project`, () => {
          const r = run(process.execPath, ['-e', `const m = require('${specifier}'); console.log(typeof m.${name});`], scratch);
          expect(r.output.trim().split('\n')[0], r.output).toBe('function');
        });

        if (!entry.includes('node')) {
          it(`${specifier} is browser-safe: no Node built-ins in its ESM build`, () => {
            const target = (manifest.exports![entry] as { import: { default: string } }).import.default;
            const files = [join(dir, target), ...readdirSync(join(dir, 'dist')).filter((f) => /^chunk-.*\.js$/.test(f)).map((f) => join(dir, 'dist', f))];
            for (const file of files) {
              expect(readFileSync(file, 'utf8'), file).not.toMatch(/from\s+["'](node:|fs["']|path["']|child_process)|require\(["']node:/);
            }
          });
        }
      }
    });
  }
});
