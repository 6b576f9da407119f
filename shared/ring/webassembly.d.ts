// The subset of the WebAssembly JS API this project uses. TypeScript declares WebAssembly only
// in lib.dom, which would also bring in every browser global; Node provides the API at runtime.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Module {
    constructor(bytes: BufferSource);
  }
  type Exports = Record<string, unknown>;
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Exports;
  }
  type BufferSource = ArrayBufferView | ArrayBuffer;
}
