/**
 * The FID-Inception network's conv units in state-dict order (reference-digest §7.1; torchvision's Inception3 with
 * pytorch-fid's FID blocks, mseitzer/pytorch-fid:src/pytorch_fid/inception.py): every unit is a bias-free conv,
 * BatchNorm (eps 0.001) and ReLU. Names are the torchvision/torch-fidelity ones; `pytorchFidName` maps them to
 * pytorch-fid's `InceptionV3` module (`blocks.i.j…`).
 */
export interface ConvUnit {
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: [number, number];
  stride: number;
  /** 'same' only occurs with stride 1 and odd kernels, where it is PyTorch's symmetric padding (k−1)/2. */
  padding: 'valid' | 'same';
}

function unit(name: string, inChannels: number, outChannels: number, kernel: number | [number, number], stride = 1, padding: 'valid' | 'same' = 'valid'): ConvUnit {
  return { name, inChannels, outChannels, kernel: typeof kernel === 'number' ? [kernel, kernel] : kernel, stride, padding };
}

function inceptionA(name: string, c: number, poolFeatures: number): ConvUnit[] {
  return [
    unit(`${name}.branch1x1`, c, 64, 1),
    unit(`${name}.branch5x5_1`, c, 48, 1),
    unit(`${name}.branch5x5_2`, 48, 64, 5, 1, 'same'),
    unit(`${name}.branch3x3dbl_1`, c, 64, 1),
    unit(`${name}.branch3x3dbl_2`, 64, 96, 3, 1, 'same'),
    unit(`${name}.branch3x3dbl_3`, 96, 96, 3, 1, 'same'),
    unit(`${name}.branch_pool`, c, poolFeatures, 1),
  ];
}

function inceptionC(name: string, c7: number): ConvUnit[] {
  return [
    unit(`${name}.branch1x1`, 768, 192, 1),
    unit(`${name}.branch7x7_1`, 768, c7, 1),
    unit(`${name}.branch7x7_2`, c7, c7, [1, 7], 1, 'same'),
    unit(`${name}.branch7x7_3`, c7, 192, [7, 1], 1, 'same'),
    unit(`${name}.branch7x7dbl_1`, 768, c7, 1),
    unit(`${name}.branch7x7dbl_2`, c7, c7, [7, 1], 1, 'same'),
    unit(`${name}.branch7x7dbl_3`, c7, c7, [1, 7], 1, 'same'),
    unit(`${name}.branch7x7dbl_4`, c7, c7, [7, 1], 1, 'same'),
    unit(`${name}.branch7x7dbl_5`, c7, 192, [1, 7], 1, 'same'),
    unit(`${name}.branch_pool`, 768, 192, 1),
  ];
}

function inceptionE(name: string, c: number): ConvUnit[] {
  return [
    unit(`${name}.branch1x1`, c, 320, 1),
    unit(`${name}.branch3x3_1`, c, 384, 1),
    unit(`${name}.branch3x3_2a`, 384, 384, [1, 3], 1, 'same'),
    unit(`${name}.branch3x3_2b`, 384, 384, [3, 1], 1, 'same'),
    unit(`${name}.branch3x3dbl_1`, c, 448, 1),
    unit(`${name}.branch3x3dbl_2`, 448, 384, 3, 1, 'same'),
    unit(`${name}.branch3x3dbl_3a`, 384, 384, [1, 3], 1, 'same'),
    unit(`${name}.branch3x3dbl_3b`, 384, 384, [3, 1], 1, 'same'),
    unit(`${name}.branch_pool`, c, 192, 1),
  ];
}

export const CONV_UNITS: readonly ConvUnit[] = [
  unit('Conv2d_1a_3x3', 3, 32, 3, 2),
  unit('Conv2d_2a_3x3', 32, 32, 3),
  unit('Conv2d_2b_3x3', 32, 64, 3, 1, 'same'),
  unit('Conv2d_3b_1x1', 64, 80, 1),
  unit('Conv2d_4a_3x3', 80, 192, 3),
  ...inceptionA('Mixed_5b', 192, 32),
  ...inceptionA('Mixed_5c', 256, 64),
  ...inceptionA('Mixed_5d', 288, 64),
  unit('Mixed_6a.branch3x3', 288, 384, 3, 2),
  unit('Mixed_6a.branch3x3dbl_1', 288, 64, 1),
  unit('Mixed_6a.branch3x3dbl_2', 64, 96, 3, 1, 'same'),
  unit('Mixed_6a.branch3x3dbl_3', 96, 96, 3, 2),
  ...inceptionC('Mixed_6b', 128),
  ...inceptionC('Mixed_6c', 160),
  ...inceptionC('Mixed_6d', 160),
  ...inceptionC('Mixed_6e', 192),
  unit('Mixed_7a.branch3x3_1', 768, 192, 1),
  unit('Mixed_7a.branch3x3_2', 192, 320, 3, 2),
  unit('Mixed_7a.branch7x7x3_1', 768, 192, 1),
  unit('Mixed_7a.branch7x7x3_2', 192, 192, [1, 7], 1, 'same'),
  unit('Mixed_7a.branch7x7x3_3', 192, 192, [7, 1], 1, 'same'),
  unit('Mixed_7a.branch7x7x3_4', 192, 192, 3, 2),
  ...inceptionE('Mixed_7b', 1280),
  ...inceptionE('Mixed_7c', 2048),
];

/** Classes of the 2015-12-05 graph's softmax head (1000 ImageNet classes plus 8 unused). */
export const NUM_CLASSES = 1008;
export const POOL3_DIM = 2048;

const STEM: Record<string, string> = {
  Conv2d_1a_3x3: 'blocks.0.0',
  Conv2d_2a_3x3: 'blocks.0.1',
  Conv2d_2b_3x3: 'blocks.0.2',
  Conv2d_3b_1x1: 'blocks.1.0',
  Conv2d_4a_3x3: 'blocks.1.1',
};
const MIXED: Record<string, string> = {
  Mixed_5b: 'blocks.2.0',
  Mixed_5c: 'blocks.2.1',
  Mixed_5d: 'blocks.2.2',
  Mixed_6a: 'blocks.2.3',
  Mixed_6b: 'blocks.2.4',
  Mixed_6c: 'blocks.2.5',
  Mixed_6d: 'blocks.2.6',
  Mixed_6e: 'blocks.2.7',
  Mixed_7a: 'blocks.3.0',
  Mixed_7b: 'blocks.3.1',
  Mixed_7c: 'blocks.3.2',
};

/** A unit's name in pytorch-fid's `InceptionV3` state dict (shared/fixtures/eval/fid_inception_state_dict_layout.txt). */
export function pytorchFidName(unitName: string): string {
  const stem = STEM[unitName];
  if (stem) return stem;
  const dot = unitName.indexOf('.');
  return `${MIXED[unitName.slice(0, dot)]}${unitName.slice(dot)}`;
}
