#!/usr/bin/env node
// Times an order-3 Ambrosio–Tortorelli decomposition (CART defaults: α = 10, β = 0.01, ε = 0.01, 5 outer
// iterations per level, CG tolerance 1e-6) of a 256×256 RGB image with @nextdetail/decompose on each tfjs backend,
// and the same scheme in NumPy/SciPy (bench/at_numpy.py) as the yardstick.
//
//   node bench/decompose.bench.mjs [--backends wasm,webgpu,cpu] [--runs 3] [--cpu-runs 1] [--size 256]
//                                  [--python /usr/bin/python3] [--timeout-s 600]
//
// --cpu-runs applies to the cpu backend and to webgpu on a software driver (lavapipe/llvmpipe, SwiftShader), which
// are too slow for --runs timed runs within a few minutes.
//
// stdout: one JSON line per measurement. stderr: progress, then a summary table.
// Every backend runs in its own child process (this script with --child NAME) so that one backend's state (compiled
// kernels, memory pools, thread pools) cannot affect another's timing; the children report through a JSON file so
// that whatever tfjs prints cannot corrupt our stdout.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SCRIPT = fileURLToPath(import.meta.url);
const HERE = dirname(SCRIPT);
const REPO_ROOT = resolve(HERE, '../../..');
const ORDER = 3;
const WARMUP_SIZE = 32; // compiles kernels / fills caches without costing much
const UNAVAILABLE = 3; // exit status of a child whose backend (or Python whose numpy) cannot start

const { values: opt } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm,webgpu,cpu' },
    runs: { type: 'string', default: '3' },
    // For the CPU-bound ones, about 1–2 min per decomposition here: cpu, and webgpu on a software Vulkan driver.
    'cpu-runs': { type: 'string', default: '1' },
    size: { type: 'string', default: '256' },
    python: { type: 'string' },
    'timeout-s': { type: 'string', default: '600' },
    child: { type: 'string' },
    image: { type: 'string' },
    out: { type: 'string' },
    result: { type: 'string' },
  },
});
const SIZE = Number(opt.size);
const BENCH = `decompose_at_order3_${SIZE}`;

/**
 * Deterministic [size, size, 3] HWC float32 image in [0, 1]: a disc, a rectangle and a thin ring (edges the smoother
 * must keep) on a gentle ramp, plus a sinusoidal texture (which should end up in the detail layers).
 */
function testImage(size) {
  const img = new Float32Array(size * size * 3);
  const tint = [
    [0.9, 0.5, 0.2], // disc
    [0.2, 0.7, 0.4], // rectangle
    [0.3, 0.3, 0.6], // ring
  ];
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const x = (j + 0.5) / size;
      const y = (i + 0.5) / size;
      const disc = (x - 0.32) ** 2 + (y - 0.38) ** 2 < 0.2 ** 2 ? 1 : 0;
      const rect = x > 0.56 && x < 0.9 && y > 0.52 && y < 0.86 ? 1 : 0;
      const ring = Math.abs(Math.hypot(x - 0.74, y - 0.24) - 0.12) < 0.015 ? 1 : 0;
      const texture = 0.06 * Math.sin(2 * Math.PI * (11 * x + 7 * y));
      for (let c = 0; c < 3; c++) {
        const v = 0.1 + 0.15 * x + 0.05 * c * y + tint[0][c] * 0.5 * disc + tint[1][c] * 0.5 * rect;
        img[(i * size + j) * 3 + c] = Math.min(1, Math.max(0, v + tint[2][c] * ring + texture));
      }
    }
  }
  return img;
}

/** A raw little-endian file as a typed array (copied, so that alignment and Buffer pooling do not matter). */
const readTyped = (path, Type) => {
  const b = readFileSync(path);
  return new Type(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------------------------
// Child: one backend, one process.

async function runChild(backend) {
  const report = (obj) => writeFileSync(opt.result, JSON.stringify(obj));
  // Full tfjs before selecting the backend, as nextdetail's Node setup expects.
  const tf = await import('@tensorflow/tfjs');
  const { useBackend } = await import('@nextdetail/core/node');
  let info;
  try {
    info = await useBackend(backend);
  } catch (err) {
    report({ unavailable: err?.reason ?? String(err?.message ?? err) });
    process.exit(UNAVAILABLE);
  }
  const { decompose, disposeDecomposition } = await import('@nextdetail/decompose');

  // Timed: the decomposition until B_3 is on the host. Building the input tensor is not part of it.
  const once = async (pixels, size) => {
    const image = tf.tensor3d(pixels, [size, size, 3]);
    const t0 = performance.now();
    const d = await decompose(image, { order: ORDER });
    const base = await d.base.data(); // also waits for queued GPU work
    const ms = performance.now() - t0;
    image.dispose();
    disposeDecomposition(d);
    return { ms, base };
  };

  await once(testImage(WARMUP_SIZE), WARMUP_SIZE);
  const pixels = readTyped(opt.image, Float32Array);
  const software = info.details.some((d) => /llvmpipe|lavapipe|swiftshader/i.test(d));
  const runs = Number(backend === 'cpu' || software ? opt['cpu-runs'] : opt.runs);
  const runsMs = [];
  let base;
  for (let r = 0; r < runs; r++) {
    ({ ms: runsMs[r], base } = await once(pixels, SIZE));
    process.stderr.write(`[${backend}] run ${r + 1}/${runs}: ${runsMs[r].toFixed(0)} ms\n`);
  }
  writeFileSync(opt.out, new Uint8Array(base.buffer, base.byteOffset, base.byteLength));
  report({ runs_ms: runsMs, details: info.details, software });
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: spawns the children and Python, prints JSON lines and the table.

/** Runs a command with its output on our stderr; returns { status, result } with the JSON it wrote to resultPath. */
function runReporting(command, args, resultPath) {
  rmSync(resultPath, { force: true });
  const p = spawnSync(command, args, { stdio: ['ignore', 2, 2], timeout: Number(opt['timeout-s']) * 1000 });
  if (p.error) return { status: null, error: p.error };
  const result = existsSync(resultPath) ? JSON.parse(readFileSync(resultPath, 'utf8')) : null;
  return { status: p.status, signal: p.signal, result };
}

function runBackend(backend, tmp) {
  const out = join(tmp, `b3-${backend}.f32`);
  const resultPath = join(tmp, `result-${backend}.json`);
  // process.execArgv keeps any --import/--loader flags this script was started with.
  const args = [...process.execArgv, SCRIPT, '--child', backend, '--size', String(SIZE)];
  args.push('--runs', opt.runs, '--cpu-runs', opt['cpu-runs']);
  args.push('--image', join(tmp, 'image.f32'), '--out', out, '--result', resultPath);
  let [command, argv] = [process.execPath, args];
  // Dawn needs a Vulkan driver; without a GPU that is the lavapipe driver installed by scripts/setup-vulkan.sh,
  // whose env.sh must be sourced before the process starts (it may set LD_LIBRARY_PATH).
  const vulkanEnv = join(REPO_ROOT, '.vulkan/env.sh');
  if (backend === 'webgpu' && !process.env.VK_ICD_FILENAMES && existsSync(vulkanEnv)) {
    [command, argv] = ['bash', ['-c', `source "${vulkanEnv}" && exec "$0" "$@"`, process.execPath, ...args]];
  }
  const r = runReporting(command, argv, resultPath);
  if (r.status === 0) return { ...r.result, b3: readTyped(out, Float32Array) };
  if (r.status === UNAVAILABLE) return { unavailable: r.result?.unavailable ?? 'unknown reason' };
  return { failed: `exit status ${r.status ?? r.signal ?? r.error}` };
}

function runNumpy(tmp) {
  const out = join(tmp, 'b3-numpy.f64');
  const resultPath = join(tmp, 'result-numpy.json');
  const args = [join(HERE, 'at_numpy.py'), '--image', join(tmp, 'image.f32'), '--size', String(SIZE)];
  args.push('--runs', opt.runs, '--out', out, '--result', resultPath);
  // The first interpreter with numpy and scipy wins: Debian's (apt python3-numpy python3-scipy), then PATH's.
  const pythons = opt.python ? [opt.python] : ['/usr/bin/python3', 'python3'];
  const reasons = [];
  for (const python of pythons) {
    const r = runReporting(python, args, resultPath);
    if (r.status === 0) return { ...r.result, python, b3: readTyped(out, Float64Array) };
    if (r.status === UNAVAILABLE || r.error?.code === 'ENOENT') {
      reasons.push(r.result?.unavailable ?? `${python}: not found`);
      continue;
    }
    return { failed: `${python} exited with ${r.status ?? r.signal ?? r.error}` };
  }
  return { unavailable: reasons.join('; ') };
}

function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function main() {
  const backends = opt.backends.split(',').map((s) => s.trim()).filter(Boolean);
  const tmp = mkdtempSync(join(tmpdir(), 'nextdetail-bench-'));
  const rows = [];
  let failed = false;
  try {
    writeFileSync(join(tmp, 'image.f32'), testImage(SIZE));
    // NumPy first, so every line of ours can carry its distance to the reference.
    const ref = runNumpy(tmp);
    if (ref.runs_ms) {
      const { runs_ms, versions, cg_iterations, not_converged } = ref;
      const line = { bench: BENCH, impl: 'numpy-scipy', median_ms: median(runs_ms), runs: runs_ms, versions };
      console.log(JSON.stringify({ ...line, cg_iterations, not_converged }));
    }
    rows.push({ name: 'numpy-scipy', ...ref });
    for (const backend of backends) {
      const r = runBackend(backend, tmp);
      if (r.runs_ms) {
        const diff = ref.b3 ? maxAbsDiff(r.b3, ref.b3) : null;
        r.diff = diff;
        const line = { bench: BENCH, impl: `nextdetail-${backend}`, median_ms: median(r.runs_ms), runs: r.runs_ms };
        console.log(JSON.stringify({ ...line, max_abs_diff_b3_vs_numpy: diff, backend_details: r.details }));
      }
      rows.push({ name: backend, ...r });
    }
    failed = rows.some((r) => r.failed);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  printTable(rows);
  process.exitCode = failed ? 1 : 0;
}

function printTable(rows) {
  const s = (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const ref = rows[0];
  const refMs = ref.runs_ms ? median(ref.runs_ms) : null;
  const cpu = cpus();
  const lines = [
    '',
    `${BENCH}: order-3 Ambrosio–Tortorelli (α=10, β=0.01, ε=0.01, 5 iterations/level, CG tol 1e-6), ` +
      `${SIZE}×${SIZE}×3, median time`,
    `machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, node ${process.version}`,
  ];
  for (const r of rows) {
    const label = `  ${r.name}:`.padEnd(16);
    if (r.unavailable || r.failed) {
      lines.push(`${label}${r.unavailable ? 'unavailable' : 'FAILED'} (${r.unavailable ?? r.failed})`);
      if (r === ref && r.unavailable) {
        const hint = 'apt-get install -y python3-numpy python3-scipy (or pip install numpy scipy)';
        lines.push(`${''.padEnd(16)}install: ${hint}, or pass --python /path/to/python3`);
      }
      continue;
    }
    const ms = median(r.runs_ms);
    const driver = r.software ? ', software Vulkan driver' : '';
    const n = `(${r.runs_ms.length} run${r.runs_ms.length > 1 ? 's' : ''}${driver})`;
    if (r === ref) {
      lines.push(`${label}${s(ms)} ${n}, float64, ${r.python}: numpy ${r.versions.numpy}, scipy ${r.versions.scipy}`);
    } else {
      const ratio = refMs ? `, ${(ms / refMs).toFixed(2)}× numpy's time` : '';
      const diff = r.diff == null ? '' : `, max|B3 − B3_numpy| = ${r.diff.toExponential(1)}`;
      lines.push(`${label}${s(ms)} ${n}${ratio}${diff}`);
    }
  }
  process.stderr.write(lines.join('\n') + '\n');
}

if (opt.child) await runChild(opt.child);
else main();
