import { CheckpointFormatError } from './checkpointErrors.js';
import { UnsafePickleError } from './pickleErrors.js';

/**
 * A restricted unpickler for the `data.pkl` of a `torch.save` archive: a small pickle VM that builds plain
 * containers, numbers and strings, and otherwise knows only the few globals a state dict is made of. Like
 * `torch.load(weights_only=True)` it never imports or calls anything: a global outside the allow-list is refused the
 * moment its opcode is read. Every size a pickle declares is checked against the bytes that are really there before
 * anything is allocated, and the memo, the stack and the opcode count are bounded, so hostile input fails fast with
 * a typed error.
 */

/** Element types of the torch storages this reader understands. */
export type TorchDType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

export const TORCH_ITEM_BYTES: Readonly<Record<TorchDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** An allow-listed global that ended up as a value, e.g. `torch.float32` in a config dict. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** `persistent_load(('storage', <T>Storage, key, location, numel))`: the bytes are the archive's `data/<key>`. */
export class TorchStorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    /** Where torch kept it ("cpu", "cuda:0"); informative only, everything is read to the host. */
    readonly location: string,
    /** Elements the storage declares; the archive entry must hold numel × item bytes. */
    readonly numel: number,
  ) {}
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage. Nothing is read until asked for. */
export class TorchTensorRef {
  readonly storage: TorchStorageRef;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  readonly requiresGrad: boolean;
  readonly numel: number;
  /** Elements from `storageOffset` through the last one the view reaches; 0 for an empty tensor. */
  readonly span: number;

  constructor(init: {
    storage: TorchStorageRef;
    storageOffset: number;
    shape: readonly number[];
    stride: readonly number[];
    requiresGrad: boolean;
    numel: number;
    span: number;
  }) {
    this.storage = init.storage;
    this.storageOffset = init.storageOffset;
    this.shape = Object.freeze([...init.shape]);
    this.stride = Object.freeze([...init.stride]);
    this.requiresGrad = init.requiresGrad;
    this.numel = init.numel;
    this.span = init.span;
  }

  get dtype(): TorchDType {
    return this.storage.dtype;
  }
}

/** Dict keys a checkpoint may use; Python's other hashables (tuples, frozensets) are refused. */
export type PickleKey = string | number | bigint | boolean | null;

/**
 * What an unpickled checkpoint is made of. Dicts (and OrderedDicts) are Maps, so keys such as "__proto__" stay plain
 * data; lists are arrays and tuples frozen arrays; `bytes` are Uint8Arrays; ints beyond 2^53 are bigints.
 */
export type PickleValue =
  | PickleKey
  | Uint8Array
  | PickleValue[]
  | readonly PickleValue[]
  | Map<PickleKey, PickleValue>
  | PickleGlobal
  | TorchStorageRef
  | TorchTensorRef;

export interface UnpickleLimits {
  /** Opcodes executed. */
  maxOps: number;
  /** Values on the stack plus open MARKs: bounds nesting depth. */
  maxStack: number;
  /** Distinct memo slots. */
  maxMemo: number;
}

// A large model's state dict takes about 100 opcodes and 10 memo slots per tensor and nests a few levels deep.
export const DEFAULT_UNPICKLE_LIMITS: Readonly<UnpickleLimits> = {
  maxOps: 100_000_000,
  maxStack: 1_000_000,
  maxMemo: 10_000_000,
};

export interface UnpickledCheckpoint {
  root: PickleValue;
  /** Every tensor the pickle built, in order, including ones only reachable through lists or the memo. */
  tensors: readonly TorchTensorRef[];
  /** The first string dict key each tensor was stored under. */
  names: ReadonlyMap<TorchTensorRef, string>;
}

const STORAGE_DTYPES: ReadonlyMap<string, TorchDType> = new Map([
  ['torch.DoubleStorage', 'float64'],
  ['torch.FloatStorage', 'float32'],
  ['torch.HalfStorage', 'float16'],
  ['torch.BFloat16Storage', 'bfloat16'],
  ['torch.LongStorage', 'int64'],
  ['torch.IntStorage', 'int32'],
  ['torch.ShortStorage', 'int16'],
  ['torch.CharStorage', 'int8'],
  ['torch.ByteStorage', 'uint8'],
  ['torch.BoolStorage', 'bool'],
  ['torch.UntypedStorage', 'uint8'],
]);

// torch.dtype objects pickle as these globals; they are inert values here.
const DTYPE_GLOBALS: ReadonlySet<string> = new Set(Object.keys(TORCH_ITEM_BYTES).map((d) => `torch.${d}`));

const ORDERED_DICT = 'collections.OrderedDict';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor';
const REBUILD_TENSOR_V2 = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const REBUILD_PARAMETER_WITH_STATE = 'torch._utils._rebuild_parameter_with_state';
type Callable =
  | typeof ORDERED_DICT
  | typeof REBUILD_TENSOR
  | typeof REBUILD_TENSOR_V2
  | typeof REBUILD_PARAMETER
  | typeof REBUILD_PARAMETER_WITH_STATE;
const CALLABLES: ReadonlySet<string> = new Set<Callable>([
  ORDERED_DICT,
  REBUILD_TENSOR,
  REBUILD_TENSOR_V2,
  REBUILD_PARAMETER,
  REBUILD_PARAMETER_WITH_STATE,
]);

const ALLOW_LIST_REASON =
  'only tensors, storages, OrderedDict and plain containers may be loaded (the torch.load(weights_only=True) allow-list); nothing was imported or run';

/** Longest module or attribute name a GLOBAL line may hold; real ones are a few dozen characters. */
const MAX_GLOBAL_LINE = 1024;

const OP = {
  MARK: 0x28,
  STOP: 0x2e,
  POP: 0x30,
  POP_MARK: 0x31,
  BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43,
  BINFLOAT: 0x47,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  NONE: 0x4e,
  BINPERSID: 0x51,
  REDUCE: 0x52,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
  BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  BUILD: 0x62,
  GLOBAL: 0x63,
  DICT: 0x64,
  APPENDS: 0x65,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  LIST: 0x6c,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  SETITEM: 0x73,
  TUPLE: 0x74,
  SETITEMS: 0x75,
  EMPTY_TUPLE: 0x29,
  EMPTY_DICT: 0x7d,
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

/**
 * Runs `bytes` (a `data.pkl`) on the restricted VM. `file` names the checkpoint in errors. Throws an
 * UnsafePickleError for anything outside the allow-list and a CheckpointFormatError for malformed or truncated input
 * or a limit exceeded.
 */
export function unpickleStateDict(
  bytes: Uint8Array,
  file: string,
  limits: Partial<UnpickleLimits> = {},
): UnpickledCheckpoint {
  return new Unpickler(bytes, file, { ...DEFAULT_UNPICKLE_LIMITS, ...limits }).run();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Unpickler {
  private readonly view: DataView;
  private pos = 0;
  private opStart = 0;
  private readonly stack: PickleValue[] = [];
  /** Stack heights at each open MARK. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  private readonly storages = new Map<string, TorchStorageRef>();
  private readonly tensors: TorchTensorRef[] = [];
  private readonly names = new Map<TorchTensorRef, string>();
  /** Only OrderedDicts accept BUILD, as in torch's weights-only unpickler. */
  private readonly orderedDicts = new WeakSet<Map<PickleKey, PickleValue>>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    private readonly limits: UnpickleLimits,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): UnpickledCheckpoint {
    for (let ops = 1; ; ops++) {
      if (this.pos >= this.bytes.length) throw this.fail('the pickle ends before its STOP opcode (truncated)');
      if (ops > this.limits.maxOps) throw this.fail(`more than ${this.limits.maxOps} opcodes (limits.maxOps)`);
      this.opStart = this.pos;
      const op = this.u8();
      if (op === OP.STOP) {
        return { root: this.pop(), tensors: this.tensors, names: this.names };
      }
      this.step(op);
    }
  }

  private step(op: number): void {
    switch (op) {
      case OP.PROTO: {
        const version = this.u8();
        if (version < 2 || version > 5) throw this.fail(`pickle protocol ${version}: expected 2 to 5`);
        return;
      }
      case OP.FRAME: {
        // Frames only group opcodes for buffered reading; the whole pickle is in memory already.
        const length = this.u64();
        if (length > this.remaining()) {
          throw this.fail(`FRAME declares ${length} bytes, but only ${this.remaining()} remain`);
        }
        return;
      }
      case OP.MARK:
        this.checkDepth();
        this.marks.push(this.stack.length);
        return;
      case OP.POP:
        this.pop();
        return;
      case OP.POP_MARK:
        this.popMark();
        return;
      case OP.NONE:
        return this.push(null);
      case OP.NEWTRUE:
        return this.push(true);
      case OP.NEWFALSE:
        return this.push(false);
      case OP.BININT:
        return this.push(this.view.getInt32(this.need(4), true));
      case OP.BININT1:
        return this.push(this.u8());
      case OP.BININT2:
        return this.push(this.view.getUint16(this.need(2), true));
      case OP.LONG1:
        return this.push(this.long(this.u8()));
      case OP.BINFLOAT:
        return this.push(this.view.getFloat64(this.need(8), false));
      case OP.SHORT_BINUNICODE:
        return this.push(this.text(this.u8()));
      case OP.BINUNICODE:
        return this.push(this.text(this.u32()));
      case OP.BINUNICODE8:
        return this.push(this.text(this.u64()));
      case OP.SHORT_BINSTRING:
        return this.push(this.text(this.u8()));
      case OP.BINSTRING: {
        const length = this.view.getInt32(this.need(4), true);
        if (length < 0) throw this.fail(`BINSTRING with a negative length ${length}`);
        return this.push(this.text(length));
      }
      case OP.SHORT_BINBYTES:
        return this.push(this.raw(this.u8()).slice());
      case OP.BINBYTES:
        return this.push(this.raw(this.u32()).slice());
      case OP.BINBYTES8:
        return this.push(this.raw(this.u64()).slice());
      case OP.EMPTY_LIST:
        return this.push([]);
      case OP.EMPTY_DICT:
        return this.push(new Map());
      case OP.EMPTY_TUPLE:
        return this.push(Object.freeze([]));
      case OP.TUPLE1:
        return this.push(Object.freeze(this.popN(1)));
      case OP.TUPLE2:
        return this.push(Object.freeze(this.popN(2)));
      case OP.TUPLE3:
        return this.push(Object.freeze(this.popN(3)));
      case OP.TUPLE:
        return this.push(Object.freeze(this.popMark()));
      case OP.LIST:
        return this.push(this.popMark());
      case OP.DICT: {
        const dict = new Map<PickleKey, PickleValue>();
        this.setItems(dict, this.popMark());
        return this.push(dict);
      }
      case OP.APPEND: {
        const value = this.pop();
        this.list(this.top(), 'APPEND').push(value);
        return;
      }
      case OP.APPENDS: {
        const values = this.popMark();
        const list = this.list(this.top(), 'APPENDS');
        // A loop, not push(...values): spreading a million arguments overflows the call stack.
        for (const value of values) list.push(value);
        return;
      }
      case OP.SETITEM: {
        const value = this.pop();
        const key = this.pop();
        this.setItems(this.dict(this.top(), 'SETITEM'), [key, value]);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark();
        this.setItems(this.dict(this.top(), 'SETITEMS'), items);
        return;
      }
      case OP.BINPUT:
        return this.put(this.u8());
      case OP.LONG_BINPUT:
        return this.put(this.u32());
      case OP.MEMOIZE:
        return this.put(this.memo.size);
      case OP.BINGET:
        return this.get(this.u8());
      case OP.LONG_BINGET:
        return this.get(this.u32());
      case OP.GLOBAL: {
        const module = this.line('module');
        const name = this.line('name');
        return this.push(this.global(module, name));
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          const got = `${describePickleValue(module)} and ${describePickleValue(name)}`;
          throw this.fail(`STACK_GLOBAL: expected a module and a name string, got ${got}`);
        }
        return this.push(this.global(module, name));
      }
      case OP.REDUCE: {
        const args = this.pop();
        const callable = this.pop();
        return this.push(this.call(callable, args));
      }
      case OP.NEWOBJ: {
        const args = this.pop();
        const cls = this.pop();
        if (!(cls instanceof PickleGlobal) || cls.qualifiedName !== ORDERED_DICT) {
          const target = `NEWOBJ of ${describePickleValue(cls)}`;
          throw new UnsafePickleError(this.file, target, `only ${ORDERED_DICT} may be instantiated`);
        }
        return this.push(this.orderedDict(args));
      }
      case OP.BUILD: {
        const state = this.pop();
        const target = this.top();
        if (!(target instanceof Map) || !this.orderedDicts.has(target)) {
          throw this.fail(`BUILD on ${describePickleValue(target)}: only an OrderedDict's attributes may be set`);
        }
        // The state is the OrderedDict's `__dict__`: torch keeps module versions there (`_metadata`), which only
        // load_state_dict hooks use.
        if (state !== null && !(state instanceof Map)) {
          throw this.fail(`BUILD on an OrderedDict: expected a dict or None as its state, got ${describePickleValue(state)}`);
        }
        return;
      }
      case OP.BINPERSID:
        return this.push(this.persistentLoad(this.pop()));
      default:
        throw this.fail(`unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }

  /** The allow-list check: before this returns, nothing the pickle names has been looked up, let alone run. */
  private global(module: string, name: string): PickleGlobal {
    const qualified = `${module}.${name}`;
    if (!CALLABLES.has(qualified) && !STORAGE_DTYPES.has(qualified) && !DTYPE_GLOBALS.has(qualified)) {
      throw new UnsafePickleError(this.file, `the global ${qualified}`, ALLOW_LIST_REASON);
    }
    return new PickleGlobal(module, name);
  }

  private call(callable: PickleValue, args: PickleValue): PickleValue {
    if (!(callable instanceof PickleGlobal) || !CALLABLES.has(callable.qualifiedName)) {
      throw new UnsafePickleError(this.file, `a call of ${describePickleValue(callable)}`, ALLOW_LIST_REASON);
    }
    const name = callable.qualifiedName as Callable;
    const a = this.tuple(args, name);
    switch (name) {
      case ORDERED_DICT:
        return this.orderedDict(args);
      case REBUILD_TENSOR:
        this.arity(name, a, 4, 4);
        return this.rebuildTensor(a[0], a[1], a[2], a[3], false);
      case REBUILD_TENSOR_V2: {
        // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata]). The hooks are an OrderedDict
        // of callables, which the allow-list already keeps out. torch adds metadata only when it is not empty (lazy
        // negation or conjugation bits), and ignoring it would give wrong values, so it is refused.
        this.arity(name, a, 6, 7);
        const metadata = a[6];
        if (metadata !== undefined && metadata !== null && !(metadata instanceof Map && metadata.size === 0)) {
          throw this.fail(`${name}: expected no tensor metadata, got ${describePickleValue(metadata)}`);
        }
        return this.rebuildTensor(a[0], a[1], a[2], a[3], this.bool(a[4], name, 'requires_grad'));
      }
      case REBUILD_PARAMETER:
      case REBUILD_PARAMETER_WITH_STATE: {
        // (data, requires_grad, backward_hooks[, state]); the state holds Python attributes of a Parameter subclass.
        this.arity(name, a, name === REBUILD_PARAMETER ? 3 : 4, name === REBUILD_PARAMETER ? 3 : 4);
        const data = a[0];
        if (!(data instanceof TorchTensorRef)) {
          throw this.fail(`${name}: expected a tensor as data, got ${describePickleValue(data)}`);
        }
        const parameter = new TorchTensorRef({ ...data, requiresGrad: this.bool(a[1], name, 'requires_grad') });
        this.tensors.push(parameter);
        return parameter;
      }
    }
  }

  private orderedDict(args: PickleValue): Map<PickleKey, PickleValue> {
    const a = this.tuple(args, ORDERED_DICT);
    if (a.length !== 0) {
      throw this.fail(`${ORDERED_DICT}: expected no arguments (items come by SETITEMS), got ${a.length}`);
    }
    const dict = new Map<PickleKey, PickleValue>();
    this.orderedDicts.add(dict);
    return dict;
  }

  private rebuildTensor(
    storage: PickleValue | undefined,
    offset: PickleValue | undefined,
    size: PickleValue | undefined,
    stride: PickleValue | undefined,
    requiresGrad: boolean,
  ): TorchTensorRef {
    const where = 'a tensor rebuild';
    if (!(storage instanceof TorchStorageRef)) {
      throw this.fail(`${where}: expected a storage, got ${describePickleValue(storage)}`);
    }
    const storageOffset = this.count(offset, `${where}: storage_offset`);
    const shape = this.counts(size, `${where}: size`);
    const strides = this.counts(stride, `${where}: stride`);
    if (shape.length !== strides.length) {
      throw this.fail(`${where}: expected as many strides as dims, got size (${shape.join(', ')}) and stride (${strides.join(', ')})`);
    }
    // numel and the furthest element are checked against 2^53 as they grow: they decide how many bytes to read.
    let numel = 1;
    let last = storageOffset;
    for (let i = 0; i < shape.length; i++) {
      const dim = shape[i]!;
      numel *= dim;
      last += (dim === 0 ? 0 : dim - 1) * strides[i]!;
      if (!Number.isSafeInteger(numel) || !Number.isSafeInteger(last)) {
        throw this.fail(`${where}: size (${shape.join(', ')}) with stride (${strides.join(', ')}) exceeds 2^53 elements`);
      }
    }
    const tensor = new TorchTensorRef({
      storage,
      storageOffset,
      shape,
      stride: strides,
      requiresGrad,
      numel,
      span: numel === 0 ? 0 : last - storageOffset + 1,
    });
    this.tensors.push(tensor);
    return tensor;
  }

  /** torch's persistent ids: ('storage', storage class, key, location, numel). */
  private persistentLoad(pid: PickleValue): TorchStorageRef {
    const where = 'persistent id';
    if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      throw this.fail(`${where}: expected ('storage', type, key, location, numel), got ${describePickleValue(pid)}`);
    }
    const [, type, key, location, numel] = pid;
    const dtype = type instanceof PickleGlobal ? STORAGE_DTYPES.get(type.qualifiedName) : undefined;
    if (dtype === undefined) throw this.fail(`${where}: expected a storage class, got ${describePickleValue(type)}`);
    if (typeof key !== 'string') throw this.fail(`${where}: expected a string key, got ${describePickleValue(key)}`);
    if (typeof location !== 'string') {
      throw this.fail(`${where}: expected a string location, got ${describePickleValue(location)}`);
    }
    const n = this.count(numel, `${where} of storage ${JSON.stringify(key)}: numel`);
    const seen = this.storages.get(key);
    if (seen) {
      // Views share one storage; torch writes the same record for each of them.
      if (seen.dtype !== dtype || seen.numel !== n) {
        throw this.fail(`storage ${JSON.stringify(key)}: expected one dtype and size, got ${seen.dtype}×${seen.numel} and ${dtype}×${n}`);
      }
      return seen;
    }
    const storage = new TorchStorageRef(key, dtype, location, n);
    this.storages.set(key, storage);
    return storage;
  }

  private setItems(dict: Map<PickleKey, PickleValue>, items: readonly PickleValue[]): void {
    if (items.length % 2 !== 0) throw this.fail(`expected key/value pairs, got ${items.length} items`);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]!;
      const value = items[i + 1]!;
      if (!isKey(key)) throw this.fail(`dict key: expected a str, int, bool or None, got ${describePickleValue(key)}`);
      if (value instanceof TorchTensorRef && typeof key === 'string' && !this.names.has(value)) {
        this.names.set(value, key);
      }
      dict.set(key, value);
    }
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemo) {
      throw this.fail(`more than ${this.limits.maxMemo} memo entries (limits.maxMemo)`);
    }
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    const value = this.memo.get(index);
    if (value === undefined) throw this.fail(`memo slot ${index} read before it was written`);
    this.push(value);
  }

  private push(value: PickleValue): void {
    this.checkDepth();
    this.stack.push(value);
  }

  private checkDepth(): void {
    if (this.stack.length + this.marks.length >= this.limits.maxStack) {
      throw this.fail(`more than ${this.limits.maxStack} values and marks on the stack (limits.maxStack)`);
    }
  }

  /** Values above the innermost MARK belong to it: popping into them is a stack underflow. */
  private floor(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
  }

  private pop(): PickleValue {
    if (this.stack.length <= this.floor()) throw this.fail('stack underflow');
    return this.stack.pop()!;
  }

  private top(): PickleValue {
    if (this.stack.length <= this.floor()) throw this.fail('stack underflow');
    return this.stack[this.stack.length - 1]!;
  }

  private popN(n: number): PickleValue[] {
    if (this.stack.length - n < this.floor()) throw this.fail('stack underflow');
    return this.stack.splice(this.stack.length - n, n);
  }

  private popMark(): PickleValue[] {
    const mark = this.marks.pop();
    if (mark === undefined) throw this.fail('an opcode that needs a MARK, with none open');
    return this.stack.splice(mark);
  }

  private list(value: PickleValue, op: string): PickleValue[] {
    if (!Array.isArray(value) || Object.isFrozen(value)) {
      throw this.fail(`${op} on ${describePickleValue(value)}: expected a list`);
    }
    return value;
  }

  private dict(value: PickleValue, op: string): Map<PickleKey, PickleValue> {
    if (!(value instanceof Map)) throw this.fail(`${op} on ${describePickleValue(value)}: expected a dict`);
    return value;
  }

  private tuple(value: PickleValue, callable: string): readonly PickleValue[] {
    if (!isTuple(value)) throw this.fail(`${callable}: expected an argument tuple, got ${describePickleValue(value)}`);
    return value;
  }

  private arity(name: string, args: readonly PickleValue[], min: number, max: number): void {
    if (args.length < min || args.length > max) {
      const expected = min === max ? `${min}` : `${min} or ${max}`;
      throw this.fail(`${name}: expected ${expected} arguments, got ${args.length}`);
    }
  }

  private bool(value: PickleValue | undefined, callable: string, argument: string): boolean {
    if (typeof value !== 'boolean') {
      throw this.fail(`${callable}: ${argument}: expected a bool, got ${describePickleValue(value)}`);
    }
    return value;
  }

  private count(value: PickleValue | undefined, what: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw this.fail(`${what}: expected a non-negative integer, got ${describePickleValue(value)}`);
    }
    return value;
  }

  private counts(value: PickleValue | undefined, what: string): number[] {
    if (value === undefined || !isTuple(value)) {
      throw this.fail(`${what}: expected a tuple of integers, got ${describePickleValue(value)}`);
    }
    return value.map((v, i) => this.count(v, `${what}[${i}]`));
  }

  // --- reading operands; each checks the bytes are there before it touches them ---

  private remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Claims `n` bytes and returns where they start. */
  private need(n: number, what = 'an operand'): number {
    if (n > this.remaining()) {
      throw this.fail(`${what} of ${n} bytes, but only ${this.remaining()} remain (truncated or corrupt)`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private u8(): number {
    return this.bytes[this.need(1)]!;
  }

  private u32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  /** An 8-byte length; anything past 2^53 cannot fit in the remaining bytes, so it is reported as such. */
  private u64(): number {
    const at = this.need(8);
    const value = this.view.getBigUint64(at, true);
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Infinity : Number(value);
  }

  private raw(length: number): Uint8Array {
    const at = this.need(length, 'a string');
    return this.bytes.subarray(at, at + length);
  }

  private text(length: number): string {
    const bytes = this.raw(length);
    try {
      return utf8.decode(bytes);
    } catch {
      throw this.fail(`a string that is not valid UTF-8`);
    }
  }

  /** LONG1: a little-endian two's-complement integer of `n` bytes. */
  private long(n: number): number | bigint {
    const bytes = this.raw(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
    if (n > 0 && bytes[n - 1]! & 0x80) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  /** A GLOBAL operand: text up to a newline. */
  private line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > MAX_GLOBAL_LINE) {
      throw this.fail(`GLOBAL: expected a ${what} of at most ${MAX_GLOBAL_LINE} bytes ending in a newline`);
    }
    const text = this.text(end - this.pos);
    this.pos += 1;
    return text;
  }

  private fail(reason: string): CheckpointFormatError {
    return new CheckpointFormatError(this.file, `data.pkl at byte ${this.opStart}: ${reason}`);
  }
}

function isTuple(value: PickleValue | undefined): value is readonly PickleValue[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

function isKey(value: PickleValue): value is PickleKey {
  return value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

/** A short, bounded description of a value for error messages: pickles are untrusted and may be huge. */
export function describePickleValue(value: PickleValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return `bool ${value ? 'True' : 'False'}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `number ${value}`;
  if (typeof value === 'string') {
    return `str ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  }
  if (value instanceof Uint8Array) return `bytes of length ${value.length}`;
  if (value instanceof Map) return `dict of ${value.size} items`;
  if (value instanceof PickleGlobal) return value.qualifiedName;
  if (value instanceof TorchStorageRef) return `storage ${JSON.stringify(value.key)}`;
  if (value instanceof TorchTensorRef) return `tensor of shape (${value.shape.join(', ')})`;
  return `${Object.isFrozen(value) ? 'tuple' : 'list'} of length ${value.length}`;
}
