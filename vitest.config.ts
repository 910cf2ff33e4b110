import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Numeric tests are written once and run once per backend: each backend is a vitest project whose setup file starts
// that backend. `NEXTDETAIL_TEST_BACKENDS` (e.g. "cpu,webgpu,wasm") picks them; by default cpu and wasm run, and
// webgpu runs where Dawn finds an adapter. A backend named explicitly must start, or its tests fail.
const root = fileURLToPath(new URL('.', import.meta.url));

function webgpuAdapterPresent(): boolean {
  const probe = `import('webgpu').then(async ({ create }) => {
    const adapter = await create([]).requestAdapter();
    console.log(adapter ? 'adapter' : 'none');
    process.exit(0);
  }).catch(() => { console.log('none'); process.exit(0); });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8', timeout: 60_000 });
  return r.stdout?.includes('adapter') ?? false;
}

const requested = process.env.NEXTDETAIL_TEST_BACKENDS;
const backends = requested
  ? requested.split(',').map((s) => s.trim()).filter(Boolean)
  : ['cpu', 'wasm', ...(webgpuAdapterPresent() ? ['webgpu'] : [])];

const alias = [
  { find: /^@nextdetail\/([a-z]+)\/node$/, replacement: `${root}packages/$1/src/node.ts` },
  { find: /^@nextdetail\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` },
];

export default defineConfig({
  test: {
    projects: [
      ...backends.map((backend) => ({
        resolve: { alias },
        test: {
          name: backend,
          include: ['packages/*/test/**/*.test.ts'],
          setupFiles: [`${root}test/setupBackend.ts`],
          env: { NEXTDETAIL_BACKEND: backend },
          pool: 'forks' as const,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      })),
      {
        test: {
          name: 'packaging',
          include: ['test/packaging/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
          pool: 'forks' as const,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
