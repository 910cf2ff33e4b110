// jiaosiyu1999/FlexVAR@04462cb:models/flexvar.py (pos_1LC init, reference-digest §2.3): div_j = exp(2j·(−ln 10000/C)),
// pe[y, x, 2j] = sin(y·div_j), pe[y, x, 2j+1] = cos(x·div_j), stored channel-first.
/** FlexVAR's 2-D sin-cos initial position table, PyTorch layout [1, C, side, side] as a flat float32 array. */
export function sinCos2dTable(channels: number, side: number): Float32Array {
  const out = new Float32Array(channels * side * side);
  const half = Math.floor(channels / 2);
  for (let j = 0; j < half; j++) {
    // torch evaluates the frequencies in float32: exp(arange(0, C, 2) · (−ln 10000 / C)).
    const div = Math.fround(Math.exp(Math.fround(2 * j * Math.fround(-Math.log(10000) / channels))));
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        out[((2 * j) * side + y) * side + x] = Math.sin(Math.fround(y * div));
        out[((2 * j + 1) * side + y) * side + x] = Math.cos(Math.fround(x * div));
      }
    }
  }
  return out;
}
