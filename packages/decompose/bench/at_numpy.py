#!/usr/bin/env python3
"""NumPy/SciPy reference for decompose.bench.mjs: the same order-3 Ambrosio–Tortorelli decomposition as
@nextdetail/decompose (reference-digest §8.2, CART defaults), in float64, one channel at a time.

Per outer iteration (u starts at g, v at 1; both warm-start their CG solve from the previous iterate):
  v-step  [diag(α|Du|² + β/(4ε)) + βε(DxᵀDx + DyᵀDy)] v = β/(4ε)
  u-step  [I + α(Dxᵀ V² Dx + Dyᵀ V² Dy)] u = g
Decomposition: B_0 = I, B_k = AT(B_{k-1}), D_k = B_{k-1} − B_k.

Usage: at_numpy.py --image IMG.f32 --size N --runs R --out B3.f64 --result RESULT.json
IMG is raw float32 [N, N, 3] (HWC); B3 is written as raw float64 [N, N, 3]. Exit status 3: numpy/scipy missing.
"""
import argparse
import inspect
import json
import sys
import time

ALPHA, BETA, EPS, ITERATIONS, ORDER = 10.0, 0.01, 0.01, 5, 3
TOL, MAX_ITER, WARMUP_SIZE = 1e-6, 2000, 32  # as CART_AMBROSIO_TORTORELLI.solver and the node warm-up


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--image", "--out", "--result"):
        p.add_argument(name, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--runs", type=int, default=3)
    return p.parse_args()


args = parse_args()

try:
    import numpy as np
    import scipy
    import scipy.sparse as sp
    from scipy.sparse.linalg import cg
except ImportError as err:
    # The node script reports the reference as unavailable (with an install hint) and still times our backends.
    with open(args.result, "w") as f:
        json.dump({"unavailable": f"{err} (python {sys.executable})"}, f)
    sys.exit(3)

# scipy 1.12 renamed cg's `tol` to `rtol` (1.14 removed `tol`). atol=0 makes the test purely relative,
# ‖b − Ax‖ ≤ tol·‖b‖, like ours; older scipy would otherwise apply its "legacy" atol rule.
TOL_ARG = "rtol" if "rtol" in inspect.signature(cg).parameters else "tol"


def forward_difference(n):
    """(D u)[k] = u[k+1] − u[k] for k < n−1 and 0 at k = n−1 (Neumann)."""
    main = -np.ones(n)
    main[-1] = 0.0
    return sp.diags([main, np.ones(n - 1)], [0, 1], format="csr")


def gradient_operators(h, w):
    """Dx, Dy on row-major images (pixel i·w + j), as in finiteDifferences.ts."""
    dx = sp.kron(sp.identity(h), forward_difference(w), format="csr")
    dy = sp.kron(forward_difference(h), sp.identity(w), format="csr")
    return dx, dy


def solve(a, b, x0, stats):
    """Jacobi-preconditioned CG, warm-started at x0, to ‖r‖ ≤ 1e-6·‖b‖."""
    def count(_):
        stats["cg_iterations"] += 1

    m = sp.diags(1.0 / a.diagonal())
    x, info = cg(a, b, x0=x0, M=m, atol=0.0, maxiter=MAX_ITER, callback=count, **{TOL_ARG: TOL})
    if info != 0:
        stats["not_converged"] += 1
    return x


def ambrosio_tortorelli(g, dx, dy, lap, stats):
    n = g.size
    c = BETA / (4 * EPS)
    identity = sp.identity(n, format="csr")
    u, v = g.copy(), np.ones(n)
    b_v = np.full(n, c)
    for _ in range(ITERATIONS):
        grad2 = (dx @ u) ** 2 + (dy @ u) ** 2
        v = solve(sp.diags(ALPHA * grad2 + c) + (BETA * EPS) * lap, b_v, v, stats)
        w = sp.diags(v * v)
        u = solve(identity + ALPHA * (dx.T @ w @ dx + dy.T @ w @ dy), g, u, stats)
    return u


def decompose(image, stats):
    """Returns (B_3, [D_1, D_2, D_3]) for an [h, w, c] float64 image."""
    h, w, channels = image.shape
    dx, dy = gradient_operators(h, w)
    lap = (dx.T @ dx + dy.T @ dy).tocsr()
    base, details = image, []
    for _ in range(ORDER):
        smoothed = np.stack(
            [ambrosio_tortorelli(base[:, :, k].ravel(), dx, dy, lap, stats).reshape(h, w) for k in range(channels)],
            axis=-1,
        )
        details.append(base - smoothed)
        base = smoothed
    return base, details


def main():
    n = args.size
    image = np.fromfile(args.image, dtype="<f4").reshape(n, n, 3).astype(np.float64)
    decompose(image[:WARMUP_SIZE, :WARMUP_SIZE], {"cg_iterations": 0, "not_converged": 0})
    runs_ms = []
    for r in range(args.runs):
        stats = {"cg_iterations": 0, "not_converged": 0}
        t0 = time.perf_counter()
        base, _ = decompose(image, stats)
        runs_ms.append((time.perf_counter() - t0) * 1000)
        print(f"[numpy-scipy] run {r + 1}/{args.runs}: {runs_ms[-1]:.0f} ms", file=sys.stderr, flush=True)
    base.astype("<f8").tofile(args.out)
    with open(args.result, "w") as f:
        json.dump(
            {
                "runs_ms": runs_ms,
                "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__},
                **stats,  # of the last run: CG iterations summed over all 90 solves, and solves that hit MAX_ITER
            },
            f,
        )


main()
